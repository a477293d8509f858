// The process model end to end: config checks, socket handling, workers replaced after a
// crash, and stopping without losing a request or leaving anything behind.
#include "support/fcgi_client.hpp"
#include "support/stack.hpp"

#include <boost/test/unit_test.hpp>

#include <csignal>
#include <future>
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

// Runs wfhookd with `args` to completion (for -t and start-up failures).
Run run_wfhookd(const TempDir& dir, const std::vector<std::string>& args) {
    std::vector<std::string> argv{wfhookd_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    const std::string out = dir.file("run.out");
    std::remove(out.c_str());
    Process p(argv, out);
    const int status = p.wait(15s);
    return {status, read_file(out)};
}

int exit_code(int status) {
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int count_lines(const std::string& s) {
    int n = 0;
    for (const char c : s)
        n += c == '\n';
    return n;
}

int make_listening_socket(const std::string& path) {
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
    if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(fd, 16) != 0)
        return -1;
    return fd;
}

Params service_info_params() {
    return {{"REQUEST_METHOD", "GET"}, {"DOCUMENT_URI", "/serviceInfo"}, {"QUERY_STRING", ""}};
}

} // namespace

BOOST_AUTO_TEST_SUITE(lifecycle)

BOOST_AUTO_TEST_CASE(config_check_exits_0_when_valid) {
    TempDir dir;
    Wfhookd w(dir, {});
    const Run r = run_wfhookd(dir, {"-t", "-c", w.config_path()});
    BOOST_TEST(exit_code(r.status) == 0);
    BOOST_TEST(r.output.find("is valid") != std::string::npos, r.output);
    BOOST_TEST(!file_exists(w.socket_path())); // -t never binds
}

BOOST_AUTO_TEST_CASE(config_check_exits_1_with_one_line_per_problem_and_the_daemon_refuses) {
    TempDir dir;
    WfhookdOptions o;
    o.server = "workers = many\nspeed = fast\n";
    o.actions = "[action:archive]\ntype = exec\ncommand = relative/script\n";
    Wfhookd w(dir, o);
    const std::string c = w.config_path();
    const Run check = run_wfhookd(dir, {"-t", "-c", c});
    BOOST_TEST(exit_code(check.status) == 1);
    BOOST_TEST(check.output.find(c + ": [server] workers: \"many\" is not a whole number") !=
                   std::string::npos,
               check.output);
    BOOST_TEST(check.output.find(c + ": [server] speed: unknown key") != std::string::npos);
    BOOST_TEST(check.output.find(c + ": [action:archive] command: \"relative/script\" is not an "
                                     "absolute path") != std::string::npos);
    BOOST_TEST(count_lines(check.output) == 4); // three problems and the summary line

    const Run start = run_wfhookd(dir, {"-c", c});
    BOOST_TEST(exit_code(start.status) == 1);
    BOOST_TEST(start.output == check.output);
    BOOST_TEST(!file_exists(w.socket_path()));
}

BOOST_AUTO_TEST_CASE(missing_config_file_is_reported) {
    TempDir dir;
    const Run r = run_wfhookd(dir, {"-t", "-c", dir.file("nope.conf")});
    BOOST_TEST(exit_code(r.status) == 1);
    BOOST_TEST(r.output.find(dir.file("nope.conf") +
                             ": cannot read the configuration: No such file or directory") !=
                   std::string::npos,
               r.output);
}

// The loader never blocks and never reads without bound: a FIFO or /dev/zero named by
// mistake is an error at once, naming the file; a key file that is a FIFO only refuses keys.
BOOST_AUTO_TEST_CASE(check_never_blocks_on_what_is_not_a_regular_file) {
    TempDir dir;
    mkfifo(dir.file("fifo.conf").c_str(), 0600);
    for (const std::string& config : {dir.file("fifo.conf"), std::string("/dev/zero")}) {
        const Run r = run_wfhookd(dir, {"-t", "-c", config});
        BOOST_TEST(exit_code(r.status) == 1, config); // -1 would be a hang (timeout)
        BOOST_TEST(r.output.find(config + ": cannot read the configuration: not a regular file") !=
                       std::string::npos,
                   r.output);
    }
    mkfifo(dir.file("keys.fifo").c_str(), 0600);
    dir.write("fifo-keys.conf", "[auth]\napi_key_file = " + dir.file("keys.fifo") + "\n");
    const Run keys = run_wfhookd(dir, {"-t", "-c", dir.file("fifo-keys.conf")});
    BOOST_TEST(exit_code(keys.status) == 0, keys.output);
    BOOST_TEST(keys.output.find(dir.file("keys.fifo") +
                                " cannot be read (not a regular file): every request with an API "
                                "key is refused (403) until it holds a key") != std::string::npos,
               keys.output);
}

BOOST_AUTO_TEST_CASE(worker_killed_with_sigkill_is_replaced) {
    WfhookdOptions o;
    o.server = "workers = 2\n";
    Stack s(o);
    BOOST_TEST_REQUIRE(wait_until([&] { return s.wfhookd.workers().size() == 2; }));
    const pid_t victim = s.wfhookd.workers().at(0);
    kill(victim, SIGKILL);
    BOOST_TEST(wait_until([&] {
        const auto w = s.wfhookd.workers();
        return w.size() == 2 && std::find(w.begin(), w.end(), victim) == w.end();
    }));
    BOOST_TEST(s.wfhookd.log().find("worker " + std::to_string(victim) + " killed by signal 9") !=
               std::string::npos);
    for (int i = 0; i < 10; ++i)
        BOOST_TEST(s.get("/serviceInfo").status == 200);
}

BOOST_AUTO_TEST_CASE(sigterm_finishes_the_request_in_flight_then_leaves_nothing_behind) {
    TempDir out;
    WfhookdOptions o;
    o.server = "workers = 2\n";
    o.actions = exec_action("slow", "sleep.sh", "1 " + out.file("pid"), 10);
    Stack s(o);
    const pid_t master = s.wfhookd.pid();
    const std::vector<pid_t> workers = s.wfhookd.workers();
    BOOST_TEST_REQUIRE(workers.size() == 2u);

    auto call = std::async(std::launch::async,
                           [&] { return s.get("/customAction?name=slow&documentId=1", s.auth()); });
    BOOST_TEST_REQUIRE(wait_until([&] { return file_exists(out.file("pid")); }));
    s.wfhookd.process().signal(SIGTERM);
    const HttpResponse r = call.get();
    BOOST_TEST(r.status == 200, r.body);
    BOOST_TEST(r.body == R"({"status":"success"})");

    const int status = s.wfhookd.process().wait(15s);
    BOOST_TEST(WIFEXITED(status));
    BOOST_TEST(WEXITSTATUS(status) == 0);
    BOOST_TEST(!process_alive(master));
    for (const pid_t w : workers)
        BOOST_TEST(!process_alive(w));
    BOOST_TEST(processes_in_group(master).empty());
    BOOST_TEST(!file_exists(s.wfhookd.socket_path()));
    BOOST_TEST(s.wfhookd.log().find("stopped") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(sigint_stops_like_sigterm) {
    TempDir dir;
    Wfhookd w(dir, {});
    w.start();
    const std::vector<pid_t> workers = w.workers();
    w.process().signal(SIGINT);
    const int status = w.process().wait(15s);
    BOOST_TEST(WIFEXITED(status));
    BOOST_TEST(WEXITSTATUS(status) == 0);
    for (const pid_t p : workers)
        BOOST_TEST(!process_alive(p));
    BOOST_TEST(!file_exists(w.socket_path()));
}

BOOST_AUTO_TEST_CASE(refuses_to_take_over_a_socket_in_use) {
    TempDir dir;
    Wfhookd first(dir, {}, "a");
    first.start();
    // A second instance pointed at the first one's socket.
    dir.write("b.conf", "[server]\nlisten = unix:" + first.socket_path() +
                            "\n[auth]\napi_key_file = " + dir.file("a.api-keys") + "\n");
    const Run r = run_wfhookd(dir, {"-c", dir.file("b.conf")});
    BOOST_TEST(exit_code(r.status) == 1);
    BOOST_TEST(r.output.find("another server is already listening on " + first.socket_path()) !=
                   std::string::npos,
               r.output);
    BOOST_TEST(fcgi_call(first.socket_path(), service_info_params()).status == 200);
}

BOOST_AUTO_TEST_CASE(replaces_a_stale_socket_file_but_not_other_files) {
    TempDir dir;
    Wfhookd w(dir, {});
    const int fd = make_listening_socket(w.socket_path());
    BOOST_TEST_REQUIRE(fd >= 0);
    close(fd); // the file stays, nobody listens: what a crash leaves behind
    w.start();
    BOOST_TEST(fcgi_call(w.socket_path(), service_info_params()).status == 200);
    w.stop();

    dir.write("wfhookd.sock", "not a socket");
    const Run r = run_wfhookd(dir, {"-c", w.config_path()});
    BOOST_TEST(exit_code(r.status) == 1);
    BOOST_TEST(r.output.find("exists and is not a socket") != std::string::npos, r.output);
    BOOST_TEST(read_file(w.socket_path()) == "not a socket");
}

BOOST_AUTO_TEST_CASE(serves_a_socket_inherited_on_stdin) {
    TempDir dir;
    WfhookdOptions o;
    o.listen = false;
    Wfhookd w(dir, o);
    const std::string path = dir.file("inherited.sock");
    const int fd = make_listening_socket(path);
    BOOST_TEST_REQUIRE(fd >= 0);
    Process p({wfhookd_binary(), "-c", w.config_path()}, dir.file("inherited.log"), {}, fd);
    close(fd);
    BOOST_TEST_REQUIRE(wait_until(
        [&] { return read_file(dir.file("inherited.log")).find("ready:") != std::string::npos; }));
    BOOST_TEST(read_file(dir.file("inherited.log")).find("inherited socket on standard input") !=
               std::string::npos);
    BOOST_TEST(fcgi_call(path, service_info_params()).status == 200);
    p.stop(SIGTERM);
    BOOST_TEST(file_exists(path)); // not ours to remove
}

BOOST_AUTO_TEST_CASE(no_socket_at_all_is_an_error) {
    TempDir dir;
    WfhookdOptions o;
    o.listen = false;
    Wfhookd w(dir, o);
    const Run r = run_wfhookd(dir, {"-c", w.config_path()});
    BOOST_TEST(exit_code(r.status) == 1);
    BOOST_TEST(r.output.find("no socket: [server] listen is not set") != std::string::npos,
               r.output);
}

BOOST_AUTO_TEST_SUITE_END()
