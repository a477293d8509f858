#include "server/listener.hpp"

#include "support/capture_stderr.hpp"
#include "support/fcgi_client.hpp"
#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using wfhookd::ListenAddress;
using wfhookd::Listener;
using wfhookd::ServerConfig;

namespace {

ServerConfig listen_on(const std::string& address) {
    ServerConfig s;
    std::string error;
    if (!wfhookd::parse_listen_address(address, s.listen, error))
        throw std::invalid_argument(error);
    return s;
}

bool is_listening(int fd) {
    int accepting = 0;
    socklen_t len = sizeof accepting;
    return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) == 0 && accepting;
}

bool nonblocking_cloexec(int fd) {
    return (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
}

sockaddr_un unix_address(const std::string& path) {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strcpy(sa.sun_path, path.c_str());
    return sa;
}

// A listening unix socket bound at `path` by the test itself.
int bind_unix(const std::string& path) {
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const sockaddr_un sa = unix_address(path);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 || listen(fd, 8) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int listening_tcp_socket() {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    listen(fd, 8);
    return fd;
}

std::uint16_t port_of(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    return ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                    : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

// Runs `body` in a forked child (for tests that rearrange fds 0 and 3 or the environment)
// and returns its exit status: 0 when every check in it held, else the number of the first
// failed check.
int in_child(const std::function<int()>& body) {
    const pid_t pid = fork();
    if (pid == 0) _exit(body());
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}

struct Umask {
    mode_t old;
    explicit Umask(mode_t m) : old(umask(m)) {}
    ~Umask() { umask(old); }
};

} // namespace

BOOST_AUTO_TEST_SUITE(listener)

BOOST_AUTO_TEST_CASE(binds_a_unix_socket_with_exact_mode) {
    wftest::TempDir dir;
    const std::string path = dir.file("run/wfhookd.sock"); // the directory is created
    for (const unsigned mode : {0600u, 0660u, 0666u}) {
        Umask strict(077);
        ServerConfig s = listen_on("unix:" + path);
        s.socket_mode = mode;
        Listener l;
        std::string error;
        bool opened = false;
        const std::string log =
            wftest::capture_stderr([&] { opened = wfhookd::open_listener(s, l, error); });
        BOOST_TEST_REQUIRE(opened, error);
        if (mode == 0600u) // the first round creates the directory, and says so
            BOOST_TEST(log.ends_with(" notice: created directory " + dir.file("run") + "\n"), log);
        else
            BOOST_TEST(log.empty(), log);
        BOOST_TEST(l.description == "unix:" + path);
        BOOST_TEST(is_listening(l.fd));
        BOOST_TEST(nonblocking_cloexec(l.fd));
        struct stat st {};
        BOOST_TEST_REQUIRE(stat(path.c_str(), &st) == 0);
        BOOST_TEST(S_ISSOCK(st.st_mode));
        BOOST_TEST((st.st_mode & 07777) == mode);
        const int client = wftest::connect_unix(path);
        BOOST_TEST(client >= 0);
        if (client >= 0) close(client);
        wfhookd::close_listener(l);
        BOOST_TEST(l.fd == -1);
        BOOST_TEST(access(path.c_str(), F_OK) != 0); // our socket file is removed
    }
}

BOOST_AUTO_TEST_CASE(refuses_to_replace_a_file) {
    wftest::TempDir dir;
    const std::string path = dir.write("not-a-socket", "precious");
    Listener l;
    std::string error;
    BOOST_TEST(!wfhookd::open_listener(listen_on("unix:" + path), l, error));
    BOOST_TEST(error == path + " exists and is not a socket; refusing to replace it");
    BOOST_TEST(wftest::read_file(path) == "precious");
    BOOST_TEST(l.fd == -1);
}

BOOST_AUTO_TEST_CASE(refuses_a_socket_someone_listens_on) {
    wftest::TempDir dir;
    const std::string path = dir.file("busy.sock");
    const int other = bind_unix(path);
    BOOST_TEST_REQUIRE(other >= 0);
    Listener l;
    std::string error;
    BOOST_TEST(!wfhookd::open_listener(listen_on("unix:" + path), l, error));
    BOOST_TEST(error == "another server is already listening on " + path);
    // The other server still has its socket.
    const int client = wftest::connect_unix(path);
    BOOST_TEST(client >= 0);
    if (client >= 0) close(client);
    close(other);
}

BOOST_AUTO_TEST_CASE(refuses_a_socket_whose_server_is_too_busy_to_accept) {
    // A full backlog: a blocking probe would hang the start, and the socket is not stale.
    wftest::TempDir dir;
    const std::string path = dir.file("busy.sock");
    const int other = bind_unix(path);
    BOOST_TEST_REQUIRE(other >= 0);
    std::vector<int> queued;
    bool full = false;
    const sockaddr_un sa = unix_address(path);
    while (!full && queued.size() < 64) {
        queued.push_back(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        full = connect(queued.back(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 &&
               errno == EAGAIN;
    }
    BOOST_TEST_REQUIRE(full); // else this test would not show anything
    const int rc = in_child([&] {
        alarm(10); // without a non-blocking probe the child would hang here
        Listener l;
        std::string error;
        if (wfhookd::open_listener(listen_on("unix:" + path), l, error)) return 1;
        return error == "another server is already listening on " + path ? 0 : 2;
    });
    BOOST_TEST(rc == 0);
    BOOST_TEST(access(path.c_str(), F_OK) == 0);
    for (const int c : queued)
        close(c);
    close(other);
}

BOOST_AUTO_TEST_CASE(keeps_a_socket_it_cannot_probe) {
    // connect() refused for lack of permission says nothing about whether a server is there.
    wftest::TempDir dir;
    BOOST_TEST_REQUIRE(chmod(dir.path().c_str(), 0777) == 0);
    const std::string path = dir.file("private.sock");
    const int other = bind_unix(path);
    BOOST_TEST_REQUIRE(other >= 0);
    BOOST_TEST_REQUIRE(chmod(path.c_str(), 0600) == 0);
    const int rc = in_child([&] {
        if (setgid(65534) != 0 || setuid(65534) != 0) return 1; // nobody
        Listener l;
        std::string error;
        if (wfhookd::open_listener(listen_on("unix:" + path), l, error)) return 2;
        return error.starts_with("cannot tell whether a server is listening on " + path +
                                 " (Permission denied)")
                   ? 0
                   : 3;
    });
    BOOST_TEST(rc == 0);
    BOOST_TEST(access(path.c_str(), F_OK) == 0);
    close(other);
}

BOOST_AUTO_TEST_CASE(replaces_a_stale_socket_file) {
    wftest::TempDir dir;
    const std::string path = dir.file("stale.sock");
    close(bind_unix(path)); // left behind by a crash: the file exists, nobody listens
    BOOST_TEST_REQUIRE(access(path.c_str(), F_OK) == 0);
    Listener l;
    std::string error;
    BOOST_TEST_REQUIRE(wfhookd::open_listener(listen_on("unix:" + path), l, error), error);
    const int client = wftest::connect_unix(path);
    BOOST_TEST(client >= 0);
    if (client >= 0) close(client);
    wfhookd::close_listener(l);
}

BOOST_AUTO_TEST_CASE(close_leaves_a_socket_file_that_is_not_ours) {
    wftest::TempDir dir;
    const std::string path = dir.file("shared.sock");
    Listener l;
    std::string error;
    BOOST_TEST_REQUIRE(wfhookd::open_listener(listen_on("unix:" + path), l, error), error);
    // A newer server took the path over.
    unlink(path.c_str());
    const int newer = bind_unix(path);
    BOOST_TEST_REQUIRE(newer >= 0);
    wfhookd::close_listener(l);
    BOOST_TEST(access(path.c_str(), F_OK) == 0);
    const int client = wftest::connect_unix(path);
    BOOST_TEST(client >= 0);
    if (client >= 0) close(client);
    close(newer);
}

BOOST_AUTO_TEST_CASE(socket_group_that_does_not_exist) {
    wftest::TempDir dir;
    const std::string path = dir.file("g.sock");
    ServerConfig s = listen_on("unix:" + path);
    s.socket_group = "no-such-group-wfhookd";
    Listener l;
    std::string error;
    BOOST_TEST(!wfhookd::open_listener(s, l, error));
    BOOST_TEST(error == "cannot give " + path + " to group no-such-group-wfhookd: no such group");
    BOOST_TEST(l.fd == -1);
}

BOOST_AUTO_TEST_CASE(binds_tcp) {
    for (const char* address : {"tcp:127.0.0.1:0", "tcp:[::1]:0"}) {
        const ServerConfig s = listen_on(address);
        Listener l;
        std::string error;
        BOOST_TEST_REQUIRE(wfhookd::open_listener(s, l, error), address << ": " << error);
        const std::uint16_t port = port_of(l.fd);
        BOOST_TEST(port != 0);
        const std::string host = s.listen.host.find(':') == std::string::npos
                                     ? s.listen.host
                                     : "[" + s.listen.host + "]";
        BOOST_TEST(l.description == "tcp:" + host + ":" + std::to_string(port));
        BOOST_TEST(is_listening(l.fd));
        BOOST_TEST(nonblocking_cloexec(l.fd));
        BOOST_TEST(l.unlink_path.empty());
        wfhookd::close_listener(l);
    }
}

BOOST_AUTO_TEST_CASE(tcp_port_in_use) {
    const int other = listening_tcp_socket();
    const std::uint16_t port = port_of(other);
    const ServerConfig s = listen_on("tcp:127.0.0.1:" + std::to_string(port));
    Listener l;
    std::string error;
    BOOST_TEST(!wfhookd::open_listener(s, l, error));
    BOOST_TEST(error == "cannot listen on tcp:127.0.0.1:" + std::to_string(port) +
                            ": Address already in use");
    close(other);
}

BOOST_AUTO_TEST_CASE(inherited_socket_on_standard_input) {
    const int status = in_child([] {
        const int sock = listening_tcp_socket();
        if (dup2(sock, 0) != 0) return 1;
        if (sock != 0) close(sock);
        unsetenv("LISTEN_PID");
        Listener l;
        std::string error;
        if (!wfhookd::open_listener(ServerConfig{}, l, error)) return 2;
        if (l.fd < 3 || !is_listening(l.fd) || !nonblocking_cloexec(l.fd)) return 3;
        if (l.description != "inherited socket on standard input") return 4;
        char target[64] = {};
        if (readlink("/proc/self/fd/0", target, sizeof target - 1) < 0 ||
            std::string(target) != "/dev/null")
            return 5; // fd 0 is /dev/null again
        return 0;
    });
    BOOST_TEST(status == 0);
}

BOOST_AUTO_TEST_CASE(no_socket_at_all) {
    const int status = in_child([] {
        const int null = open("/dev/null", O_RDONLY);
        dup2(null, 0);
        unsetenv("LISTEN_PID");
        Listener l;
        std::string error;
        if (wfhookd::open_listener(ServerConfig{}, l, error)) return 1;
        if (error != "no socket: [server] listen is not set, systemd passed none (LISTEN_FDS), "
                     "and standard input is not a listening socket")
            return 2;
        return 0;
    });
    BOOST_TEST(status == 0);
}

BOOST_AUTO_TEST_CASE(systemd_socket_activation) {
    const int status = in_child([] {
        const int sock = listening_tcp_socket();
        if (dup2(sock, 3) != 3) return 1;
        if (sock != 3) close(sock);
        setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
        setenv("LISTEN_FDS", "1", 1);
        setenv("LISTEN_FDNAMES", "wfhookd.socket", 1);
        Listener l;
        std::string error;
        // systemd's socket wins over `listen =`.
        bool opened = false;
        const std::string log = wftest::capture_stderr(
            [&] { opened = wfhookd::open_listener(listen_on("tcp:127.0.0.1:1"), l, error); });
        if (!opened) return 2;
        if (!log.ends_with(" notice: using the socket passed by systemd instead of listen = "
                           "tcp:127.0.0.1:1\n"))
            return 6;
        if (l.fd != 3 || l.description != "socket from systemd (LISTEN_FDS)") return 3;
        if (!nonblocking_cloexec(3)) return 4;
        // The variables are for us only, not for anything we start.
        if (std::getenv("LISTEN_PID") || std::getenv("LISTEN_FDS") || std::getenv("LISTEN_FDNAMES"))
            return 5;
        return 0;
    });
    BOOST_TEST(status == 0);
}

BOOST_AUTO_TEST_CASE(systemd_variables_for_another_process_are_ignored) {
    wftest::TempDir dir;
    const std::string path = dir.file("own.sock");
    const int status = in_child([&] {
        setenv("LISTEN_PID", std::to_string(getppid()).c_str(), 1);
        setenv("LISTEN_FDS", "1", 1);
        Listener l;
        std::string error;
        if (!wfhookd::open_listener(listen_on("unix:" + path), l, error)) return 1;
        if (l.description != "unix:" + path) return 2;
        wfhookd::close_listener(l);
        return 0;
    });
    BOOST_TEST(status == 0);
}

BOOST_AUTO_TEST_CASE(systemd_fd_3_that_is_not_a_listening_socket) {
    const int status = in_child([] {
        const int null = open("/dev/null", O_RDONLY);
        if (dup2(null, 3) != 3) return 1;
        setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
        setenv("LISTEN_FDS", "1", 1);
        Listener l;
        std::string error;
        if (wfhookd::open_listener(ServerConfig{}, l, error)) return 2;
        if (error != "LISTEN_FDS is set but fd 3 is not a listening stream socket") return 3;
        return 0;
    });
    BOOST_TEST(status == 0);
}

BOOST_AUTO_TEST_SUITE_END()
