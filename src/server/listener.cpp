#include "server/listener.hpp"

#include "util/log.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace wfhookd {

namespace {

std::string errno_text(int e) {
    return std::strerror(e);
}

bool is_listening_stream_socket(int fd) {
    int accepting = 0, type = 0;
    socklen_t len = sizeof accepting;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) != 0 || !accepting)
        return false;
    len = sizeof type;
    return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
}

bool prepare(int fd, std::string& error) {
    const int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
        error = fmt::format("cannot set up the listening socket: {}", errno_text(errno));
        return false;
    }
    return true;
}

// systemd socket activation: LISTEN_PID is us, LISTEN_FDS counts sockets from fd 3.
int systemd_socket(std::string& error) {
    const char* pid = std::getenv("LISTEN_PID");
    const char* fds = std::getenv("LISTEN_FDS");
    if (pid == nullptr || fds == nullptr || std::atol(pid) != getpid()) return -1;
    const long n = std::atol(fds);
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    if (n < 1) return -1;
    if (n > 1) log(Level::warning, "systemd passed {} sockets; serving the first (fd 3)", n);
    if (!is_listening_stream_socket(3)) {
        error = "LISTEN_FDS is set but fd 3 is not a listening stream socket";
        return -2;
    }
    return 3;
}

// A socket file is left behind by a crash, or belongs to a server that is running: only the
// first may be replaced, and only a refused connection proves it (a busy server answers EAGAIN
// to this non-blocking probe; one we may not reach, EACCES). Empty, or why not.
std::string why_not_stale(const std::string& path, const sockaddr_un& sa) {
    const int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (probe < 0) return fmt::format("cannot check {}: socket: {}", path, errno_text(errno));
    const int rc = connect(probe, reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
    const int probe_errno = errno;
    close(probe);
    if (rc == 0 || probe_errno == EAGAIN)
        return fmt::format("another server is already listening on {}", path);
    if (probe_errno != ECONNREFUSED)
        return fmt::format("cannot tell whether a server is listening on {} ({}); remove the "
                           "file if none is",
                           path, errno_text(probe_errno));
    return {};
}

bool bind_unix(const ServerConfig& server, Listener& out, std::string& error) {
    const std::string& path = server.listen.path;
    const std::string dir = path.substr(0, std::max<std::size_t>(1, path.rfind('/')));
    if (mkdir(dir.c_str(), 0755) == 0) log(Level::notice, "created directory {}", dir);

    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
    struct stat st {};
    if (lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            error = fmt::format("{} exists and is not a socket; refusing to replace it", path);
            return false;
        }
        if (error = why_not_stale(path, sa); !error.empty()) return false;
        unlink(path.c_str());
    }

    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    // Create the socket file with no more access than socket_mode, then set it exactly.
    const mode_t old = umask(~server.socket_mode & 0777);
    const int rc = bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    const int bind_errno = errno;
    umask(old);
    if (rc != 0) {
        error = fmt::format("cannot bind {}: {}", path, errno_text(bind_errno));
        close(fd);
        return false;
    }
    out.unlink_path = path;
    if (stat(path.c_str(), &st) == 0) out.unlink_inode = st.st_ino;
    if (chmod(path.c_str(), server.socket_mode) != 0) {
        error = fmt::format("cannot chmod {}: {}", path, errno_text(errno));
        close(fd);
        return false;
    }
    if (!server.socket_group.empty()) {
        const group* g = getgrnam(server.socket_group.c_str());
        if (g == nullptr || chown(path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0) {
            error = fmt::format("cannot give {} to group {}: {}", path, server.socket_group,
                                g == nullptr ? "no such group" : errno_text(errno));
            close(fd);
            return false;
        }
    }
    if (listen(fd, server.backlog) != 0) {
        error = fmt::format("cannot listen on {}: {}", path, errno_text(errno));
        close(fd);
        return false;
    }
    out.fd = fd;
    out.description = server.listen.to_string();
    return true;
}

bool bind_tcp(const ServerConfig& server, Listener& out, std::string& error) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    const std::string port = std::to_string(server.listen.port);
    if (const int rc = getaddrinfo(server.listen.host.c_str(), port.c_str(), &hints, &res);
        rc != 0) {
        error = fmt::format("cannot resolve {}: {}", server.listen.host, gai_strerror(rc));
        return false;
    }
    error.clear();
    for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
        const int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) continue;
        const int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, server.backlog) == 0) {
            sockaddr_storage bound{};
            socklen_t len = sizeof bound;
            getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
            char host[NI_MAXHOST] = "", serv[NI_MAXSERV] = "";
            getnameinfo(reinterpret_cast<sockaddr*>(&bound), len, host, sizeof host, serv,
                        sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV);
            out.fd = fd;
            out.description = bound.ss_family == AF_INET6 ? fmt::format("tcp:[{}]:{}", host, serv)
                                                          : fmt::format("tcp:{}:{}", host, serv);
            freeaddrinfo(res);
            return true;
        }
        error =
            fmt::format("cannot listen on {}: {}", server.listen.to_string(), errno_text(errno));
        close(fd);
    }
    freeaddrinfo(res);
    if (error.empty()) error = fmt::format("no usable address for {}", server.listen.to_string());
    return false;
}

} // namespace

bool open_listener(const ServerConfig& server, Listener& out, std::string& error) {
    out = Listener{};
    const int sd = systemd_socket(error);
    if (sd == -2) return false;
    if (sd >= 0) {
        if (server.listen.kind != ListenAddress::Kind::inherited)
            log(Level::notice, "using the socket passed by systemd instead of listen = {}",
                server.listen.to_string());
        out.fd = sd;
        out.description = "socket from systemd (LISTEN_FDS)";
        return prepare(out.fd, error);
    }
    switch (server.listen.kind) {
    case ListenAddress::Kind::unix_path:
        return bind_unix(server, out, error);
    case ListenAddress::Kind::tcp:
        return bind_tcp(server, out, error);
    case ListenAddress::Kind::inherited:
        break;
    }
    if (!is_listening_stream_socket(0)) {
        error = "no socket: [server] listen is not set, systemd passed none (LISTEN_FDS), and "
                "standard input is not a listening socket";
        return false;
    }
    // Move the socket off fd 0 so that fd 0 is /dev/null like in any other daemon.
    out.fd = fcntl(0, F_DUPFD_CLOEXEC, 3);
    const int null = open("/dev/null", O_RDONLY);
    if (out.fd < 0 || null < 0 || dup2(null, 0) < 0) {
        error = fmt::format("cannot move the inherited socket off fd 0: {}", errno_text(errno));
        return false;
    }
    if (null != 0) close(null);
    out.description = "inherited socket on standard input";
    return prepare(out.fd, error);
}

void close_listener(Listener& l) {
    if (l.fd >= 0) close(l.fd);
    l.fd = -1;
    // Only our own socket file: a server started after us may have replaced it.
    struct stat st {};
    if (!l.unlink_path.empty() && stat(l.unlink_path.c_str(), &st) == 0 &&
        st.st_ino == l.unlink_inode)
        unlink(l.unlink_path.c_str());
    l.unlink_path.clear();
}

} // namespace wfhookd
