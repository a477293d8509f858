// Running under systemd, without systemd as PID 1: the socket-activation protocol driven by
// systemd-socket-activate (the unit's own command lines), the sd_notify messages a
// Type=notify unit needs, and the unit files themselves checked by systemd-analyze (syntax,
// and a sandbox exposure of at most 1.0).
#include "support/fcgi_client.hpp"
#include "support/stack.hpp"

#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <cstring>
#include <map>
#include <optional>
#include <poll.h>
#include <regex>
#include <sstream>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace wftest;

namespace {

struct Run {
    int status;
    std::string output;
};

int exit_code(int status) {
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Runs argv to completion with stdout and stderr in one string.
Run run(const TempDir& dir, const std::vector<std::string>& argv,
        const std::vector<std::string>& env = {}) {
    const std::string out = dir.file("run.out");
    std::remove(out.c_str());
    Process p(argv, out, env);
    const int status = p.wait(60s);
    return {status, read_file(out)};
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (std::size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
        s.replace(p, from.size(), to);
    return s;
}

std::vector<std::string> split_words(const std::string& s) {
    std::istringstream in(s);
    std::vector<std::string> out;
    for (std::string w; in >> w;)
        out.push_back(w);
    return out;
}

// A unit file as "Section.Key" -> every value given, in order (comments and blank lines
// dropped). Enough for the plain files we ship (no line continuations).
using Unit = std::map<std::string, std::vector<std::string>>;

Unit parse_unit(const std::string& path) {
    Unit unit;
    std::istringstream in(read_file(path));
    std::string line, section;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#' || line[0] == ';') continue;
        if (line[0] == '[') {
            section = line.substr(1, line.find(']') - 1);
            continue;
        }
        const auto eq = line.find('=');
        if (eq == std::string::npos) continue;
        unit[section + "." + line.substr(0, eq)].push_back(line.substr(eq + 1));
    }
    return unit;
}

std::string one(const Unit& u, const std::string& key) {
    const auto it = u.find(key);
    return it == u.end() || it->second.size() != 1 ? "(not exactly once)" : it->second[0];
}

std::string service_unit() {
    return source_dir() + "/systemd/wfhookd.service";
}
std::string socket_unit() {
    return source_dir() + "/systemd/wfhookd.socket";
}

// systemd's notification socket, played by the test: a datagram socket in `dir`.
class NotifySocket {
public:
    explicit NotifySocket(const TempDir& dir) : path_(dir.file("notify.sock")) {
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path_.c_str());
        if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
            throw std::runtime_error("cannot bind " + path_);
    }
    ~NotifySocket() { close(fd_); }
    std::string env() const { return "NOTIFY_SOCKET=" + path_; }

    // Receives datagrams until one contains `needle` (true) or `timeout` passes (false).
    // Everything received is kept in messages().
    bool wait_for(const std::string& needle, std::chrono::milliseconds timeout = 15s) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return false;
            pollfd p{fd_, POLLIN, 0};
            if (poll(&p, 1, static_cast<int>(left.count())) != 1) continue;
            char buf[1024];
            const ssize_t n = recv(fd_, buf, sizeof buf, 0);
            if (n < 0) continue;
            messages_.emplace_back(buf, static_cast<std::size_t>(n));
            if (messages_.back().find(needle) != std::string::npos) return true;
        }
    }
    const std::vector<std::string>& messages() const { return messages_; }
    std::string all() const {
        std::string s;
        for (const std::string& m : messages_)
            s += "[" + m + "] ";
        return s;
    }

private:
    std::string path_;
    int fd_ = -1;
    std::vector<std::string> messages_;
};

Params service_info() {
    return {{"REQUEST_METHOD", "GET"}, {"DOCUMENT_URI", "/serviceInfo"}, {"QUERY_STRING", ""}};
}

// GET /serviceInfo on a socket that systemd-socket-activate has bound but may not have put in
// listening state yet (connect() is refused until then): retried until a reply is complete.
FcgiReply first_call(const std::string& sock) {
    FcgiReply reply;
    wait_until([&] { return (reply = fcgi_call(sock, service_info())).complete; });
    return reply;
}

} // namespace

BOOST_AUTO_TEST_SUITE(systemd)

// What systemd does for wfhookd.socket + wfhookd.service, with systemd-socket-activate in
// its place: the unit's ExecStartPre (-t) passes, the unit's ExecStart serves the socket
// passed as fd 3 (LISTEN_FDS/LISTEN_PID), tells NOTIFY_SOCKET READY=1, reloads on the
// unit's ExecReload signal, and stops on SIGTERM leaving the socket (systemd's) in place.
BOOST_AUTO_TEST_CASE(the_units_command_lines_serve_the_socket_systemd_passes) {
    TempDir dir;
    WfhookdOptions o;
    o.listen = false;
    o.actions = "[action:ping]\ntype = noop\n";
    Wfhookd w(dir, o);
    NotifySocket notify(dir);
    const Unit service = parse_unit(service_unit());
    const Unit socket = parse_unit(socket_unit());
    const auto localize = [&](const std::string& cmd) {
        return split_words(replace_all(replace_all(cmd, "/usr/sbin/wfhookd", wfhookd_binary()),
                                       "/etc/wfhookd/wfhookd.conf", w.config_path()));
    };
    const std::string sock = dir.file(
        one(socket, "Socket.ListenStream").substr(std::strlen("/run/wfhookd/"))); // wfhookd.sock

    const Run pre = run(dir, localize(one(service, "Service.ExecStartPre")));
    BOOST_TEST(exit_code(pre.status) == 0, pre.output);

    std::vector<std::string> argv{"/usr/bin/systemd-socket-activate", "-l", sock, "-E",
                                  notify.env()};
    for (const std::string& a : localize(one(service, "Service.ExecStart")))
        argv.push_back(a);
    Process activator(argv, dir.file("activate.log"));
    BOOST_TEST_REQUIRE(wait_until([&] { return file_exists(sock) || !activator.running(); }));
    // systemd-socket-activate starts the service on the first connection, like systemd does
    // for a socket unit whose service is not running yet: this request waits in the backlog.
    const FcgiReply first = first_call(sock);
    BOOST_TEST(first.complete);
    BOOST_TEST(first.status == 200, first.stdout_raw);
    BOOST_TEST(first.body.find("\"customActions\":[{\"name\":\"ping\"") != std::string::npos,
               first.body);
    BOOST_TEST(notify.wait_for("READY=1"), notify.all());
    const std::string log = read_file(dir.file("activate.log"));
    BOOST_TEST(log.find("listening on socket from systemd (LISTEN_FDS)") != std::string::npos, log);
    BOOST_TEST(log.find("ready: 4 workers accepting requests") != std::string::npos, log);

    // ExecReload: `wfhookd -t` then `kill -HUP $MAINPID`.
    const std::vector<std::string> reload = service.at("Service.ExecReload");
    BOOST_TEST_REQUIRE(reload.size() == 2u);
    BOOST_TEST(exit_code(run(dir, localize(reload[0])).status) == 0);
    BOOST_TEST(reload[1] == "/bin/kill -HUP $MAINPID");
    activator.signal(SIGHUP);
    BOOST_TEST(notify.wait_for("RELOADING=1"), notify.all());
    BOOST_TEST(notify.wait_for("READY=1"), notify.all());
    const FcgiReply after = fcgi_call(sock, service_info());
    BOOST_TEST(after.complete);
    BOOST_TEST(after.status == 200);

    activator.signal(SIGTERM);
    BOOST_TEST(notify.wait_for("STOPPING=1"), notify.all());
    const int status = activator.wait(15s);
    BOOST_TEST(exit_code(status) == 0);
    BOOST_TEST(processes_in_group(activator.pid()).empty());
    BOOST_TEST(file_exists(sock)); // the socket unit's, not ours to remove
}

BOOST_AUTO_TEST_CASE(a_socket_passed_by_systemd_wins_over_listen) {
    TempDir dir;
    WfhookdOptions o; // listen = unix:<dir>/wfhookd.sock
    Wfhookd w(dir, o);
    const std::string sock = dir.file("activated.sock");
    Process activator(
        {"/usr/bin/systemd-socket-activate", "-l", sock, wfhookd_binary(), "-c", w.config_path()},
        dir.file("activate.log"));
    BOOST_TEST_REQUIRE(wait_until([&] { return file_exists(sock) || !activator.running(); }));
    const FcgiReply reply = first_call(sock);
    BOOST_TEST(reply.complete);
    BOOST_TEST(reply.status == 200);
    const std::string log = read_file(dir.file("activate.log"));
    BOOST_TEST(log.find("using the socket passed by systemd instead of listen = unix:" +
                        w.socket_path()) != std::string::npos,
               log);
    BOOST_TEST(!file_exists(w.socket_path()));
    activator.stop(SIGTERM);
}

// Type=notify: READY=1 only once the workers accept, RELOADING=1 then READY=1 around a reload
// (also one that fails: systemd must not wait for it forever), STOPPING=1 on stop.
BOOST_AUTO_TEST_CASE(notifies_ready_reloading_and_stopping) {
    TempDir dir;
    NotifySocket notify(dir);
    WfhookdOptions o;
    o.server = "workers = 2\n";
    Wfhookd w(dir, o);
    w.start({notify.env()});
    BOOST_TEST_REQUIRE(notify.wait_for("READY=1"), notify.all());
    BOOST_TEST(notify.messages().size() == 1u, notify.all());
    BOOST_TEST(notify.messages()[0].find("STATUS=serving with 2 workers") != std::string::npos);
    BOOST_TEST(w.log().find("ready: 2 workers accepting requests") != std::string::npos);

    w.process().signal(SIGHUP);
    BOOST_TEST_REQUIRE(notify.wait_for("RELOADING=1"), notify.all());
    BOOST_TEST(notify.messages().back().find("MONOTONIC_USEC=") != std::string::npos);
    BOOST_TEST_REQUIRE(notify.wait_for("READY=1"), notify.all());
    BOOST_TEST(w.log().find("reload complete") != std::string::npos);

    o.server = "workers = many\n";
    w.write_config(o);
    w.process().signal(SIGHUP);
    BOOST_TEST_REQUIRE(notify.wait_for("RELOADING=1"), notify.all());
    BOOST_TEST_REQUIRE(notify.wait_for("READY=1"), notify.all());
    BOOST_TEST(notify.messages().back().find("STATUS=reload failed") != std::string::npos,
               notify.all());

    w.process().signal(SIGTERM);
    BOOST_TEST(notify.wait_for("STOPPING=1"), notify.all());
    BOOST_TEST(exit_code(w.process().wait(15s)) == 0);
}

// What the issue asks of the units, read from the files.
BOOST_AUTO_TEST_CASE(units_have_the_settings_deployment_relies_on) {
    const Unit socket = parse_unit(socket_unit());
    const Unit service = parse_unit(service_unit());
    BOOST_TEST(one(socket, "Socket.ListenStream") == "/run/wfhookd/wfhookd.sock");
    BOOST_TEST(one(socket, "Socket.SocketGroup") == "www-data");
    BOOST_TEST(one(socket, "Socket.SocketMode") == "0660");
    BOOST_TEST(one(socket, "Install.WantedBy") == "sockets.target");
    // The socket lives in a directory the service does not own: a RuntimeDirectory is
    // removed when the service stops, while the socket unit keeps listening.
    BOOST_TEST(service.count("Service.RuntimeDirectory") == 0u);
    BOOST_TEST(one(service, "Unit.Requires") == "wfhookd.socket");
    BOOST_TEST(one(service, "Service.Type") == "notify");
    BOOST_TEST(one(service, "Service.NotifyAccess") == "main");
    BOOST_TEST(one(service, "Service.ExecStartPre") ==
               "/usr/sbin/wfhookd -t -c /etc/wfhookd/wfhookd.conf");
    BOOST_TEST(one(service, "Service.ExecStart") ==
               "/usr/sbin/wfhookd -c /etc/wfhookd/wfhookd.conf");
    BOOST_TEST(one(service, "Service.KillMode") == "mixed");
    BOOST_TEST(one(service, "Service.Restart") == "on-failure");
    BOOST_TEST(one(service, "Service.User") == "wfhookd");
    BOOST_TEST(one(service, "Install.WantedBy") == "multi-user.target");
}

// `systemd-analyze verify` needs the programs and the man page a unit names to exist; it
// gets them in a root that looks like an installed system: the host's units, ours, the
// binary under test as /usr/sbin/wfhookd, kill, and wfhookd(8).
BOOST_AUTO_TEST_CASE(units_pass_systemd_analyze_verify) {
    TempDir root;
    const std::string units = root.file("lib/systemd/system");
    BOOST_TEST_REQUIRE(
        exit_code(run(root, {"/bin/mkdir", "-p", root.file("lib/systemd"), root.file("usr/sbin"),
                             root.file("usr/bin"), root.file("usr/share/man/man8")})
                      .status) == 0);
    BOOST_TEST_REQUIRE(
        exit_code(run(root, {"/bin/cp", "-a", "/lib/systemd/system", root.file("lib/systemd/")})
                      .status) == 0);
    BOOST_TEST_REQUIRE(exit_code(run(root, {"/bin/cp", socket_unit(), service_unit(),
                                            wfhookd_binary(), "/usr/bin/kill", root.path()})
                                     .status) == 0);
    BOOST_TEST_REQUIRE(
        std::rename(root.file("wfhookd.socket").c_str(), (units + "/wfhookd.socket").c_str()) == 0);
    BOOST_TEST_REQUIRE(std::rename(root.file("wfhookd.service").c_str(),
                                   (units + "/wfhookd.service").c_str()) == 0);
    BOOST_TEST_REQUIRE(
        std::rename(root.file("wfhookd").c_str(), root.file("usr/sbin/wfhookd").c_str()) == 0);
    BOOST_TEST_REQUIRE(std::rename(root.file("kill").c_str(), root.file("usr/bin/kill").c_str()) ==
                       0);
    BOOST_TEST_REQUIRE(symlink("usr/bin", root.file("bin").c_str()) == 0);
    root.write("usr/share/man/man8/wfhookd.8", read_file(source_dir() + "/man/wfhookd.8"), 0644);

    const Run r = run(root,
                      {"/usr/bin/systemd-analyze", "verify", "--root=" + root.path(),
                       "wfhookd.socket", "wfhookd.service"},
                      {"MANPATH=" + root.file("usr/share/man")});
    BOOST_TEST(exit_code(r.status) == 0, r.output);
    BOOST_TEST(r.output == "", r.output);
}

// The sandbox: `systemd-analyze security` rates the service at most 1.0 ("--threshold" is
// on a 0-100 scale: 10 means 1.0).
BOOST_AUTO_TEST_CASE(service_exposure_is_at_most_1_0) {
    TempDir dir;
    const Run r = run(dir, {"/usr/bin/systemd-analyze", "security", "--offline=yes",
                            "--threshold=10", service_unit()});
    BOOST_TEST(exit_code(r.status) == 0, r.output);
    std::smatch m;
    BOOST_TEST_REQUIRE(
        std::regex_search(r.output, m,
                          std::regex(R"(Overall exposure level for wfhookd\.service: ([0-9.]+))")),
        r.output);
    BOOST_TEST(std::stod(m[1]) <= 1.0, r.output);
}

BOOST_AUTO_TEST_SUITE_END()
