#include "actions/action.hpp"

#include "support/temp_dir.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace bdata = boost::unit_test::data;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using wfhookd::ActionCall;
using wfhookd::ActionConfig;
using wfhookd::ActionResult;
using wfhookd::run_exec;

namespace {

ActionConfig exec_action(const std::string& command, const std::string& timeout = "20",
                         const std::string& directory = "/", const std::string& umask = "027") {
    ActionConfig a;
    a.name = "run";
    a.display_name = "Run";
    a.type = wfhookd::find_action_type("exec");
    a.settings = {
        {"command", command}, {"timeout", timeout}, {"directory", directory}, {"umask", umask}};
    return a;
}

// A field of /proc/PID/status ("Umask", "Groups"), without its name.
std::string proc_status_field(pid_t pid, const std::string& name) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.starts_with(name + ":")) {
            const auto start = line.find_first_not_of(" \t", name.size() + 1);
            return start == std::string::npos ? std::string() : line.substr(start);
        }
    return "<none>";
}

ActionCall call_for(std::string_view document_id = "doc-1", std::string_view username = "alice") {
    ActionCall c;
    c.action = "run";
    c.document_id = document_id;
    c.username = username;
    return c;
}

// Polls `condition` until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        if (condition()) return true;
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(2ms);
    }
}

// "S", "Z", ... from /proc/PID/stat, or "" when the process does not exist.
std::string proc_state(pid_t pid, pid_t* ppid = nullptr, pid_t* pgrp = nullptr) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    if (!std::getline(in, stat)) return "";
    const auto close = stat.rfind(')');
    if (close == std::string::npos) return "";
    std::istringstream rest(stat.substr(close + 2));
    std::string state;
    pid_t parent = 0, group = 0;
    rest >> state >> parent >> group;
    if (ppid != nullptr) *ppid = parent;
    if (pgrp != nullptr) *pgrp = group;
    return state;
}

// Dead: gone, or a zombie waiting for whoever inherited it.
bool dead(pid_t pid) {
    const std::string s = proc_state(pid);
    return s.empty() || s == "Z" || s == "X";
}

std::vector<pid_t> children_of_this_process() {
    std::vector<pid_t> out;
    DIR* d = opendir("/proc");
    if (d == nullptr) return out;
    while (const dirent* e = readdir(d)) {
        const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
        if (pid <= 0) continue;
        pid_t ppid = 0;
        if (!proc_state(pid, &ppid).empty() && ppid == getpid()) out.push_back(pid);
    }
    closedir(d);
    return out;
}

// run_exec must reap everything it started: no zombie, no child left running.
void check_no_children() {
    errno = 0;
    const pid_t r = waitpid(-1, nullptr, WNOHANG);
    BOOST_TEST((r == -1 && errno == ECHILD), "waitpid(-1) returned " << r);
    BOOST_TEST(children_of_this_process().empty());
}

pid_t read_pid(const std::string& path) {
    pid_t pid = 0;
    eventually([&] {
        pid = static_cast<pid_t>(std::atoi(wftest::read_file(path).c_str()));
        return pid > 0;
    });
    return pid;
}

struct Scripts {
    wftest::TempDir dir;
    // A /bin/sh script with `body`, mode 0755.
    std::string script(const std::string& name, const std::string& body) const {
        return dir.write(name, "#!/bin/sh\n" + body + "\n", 0755);
    }
};

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// ------------------------------------------------------------------------------------------

struct FailCase {
    std::string name;
    std::string body;
    std::string error; // shown to the user
    std::string what;  // "exit status N": the detail, after "<script>: " when error is a line
    bool error_is_line = true;
};

std::ostream& operator<<(std::ostream& os, const FailCase& c) {
    return os << c.name;
}

const FailCase kFailures[] = {
    {"exit status without output", "exit 3", "exit status 3", "exit status 3", false},
    {"stdout is not the error", "echo 'to stdout'\nexit 4", "exit status 4", "exit status 4",
     false},
    {"whitespace-only stderr", "printf '  \\n\\t\\n\\n' >&2\nexit 5", "exit status 5",
     "exit status 5", false},
    {"last line of stderr", "printf 'first line\\nthe real problem\\n' >&2\nexit 1",
     "the real problem", "exit status 1"},
    {"trailing blank lines and spaces",
     "printf 'early\\nthe real problem  \\n\\n  \\n\\t\\n' >&2\nexit 1", "the real problem",
     "exit status 1"},
    {"leading spaces trimmed", "printf '   \\tindented\\n' >&2\nexit 2", "indented",
     "exit status 2"},
    {"CRLF line end", "printf 'windows line\\r\\n' >&2\nexit 1", "windows line", "exit status 1"},
    {"no final newline", "printf 'no newline' >&2\nexit 1", "no newline", "exit status 1"},
    {"inner spaces kept", "echo 'a  b   c' >&2\nexit 1", "a  b   c", "exit status 1"},
    {"exactly 300 bytes", "head -c 300 /dev/zero | tr '\\0' y >&2\nexit 1", std::string(300, 'y'),
     "exit status 1"},
    {"long line capped", "head -c 1000 /dev/zero | tr '\\0' x >&2\nexit 1",
     std::string(300, 'x') + "...", "exit status 1"},
    {"last line after megabytes of stderr",
     "yes 'noise line' | head -n 300000 >&2\necho 'final words' >&2\nexit 1", "final words",
     "exit status 1"},
    {"last line after a huge line",
     "printf 'ok\\n' >&2\nhead -c 20000 /dev/zero | tr '\\0' z >&2\nexit 1",
     std::string(300, 'z') + "...", "exit status 1"},
    {"exit 255", "exit 255", "exit status 255", "exit status 255", false},
};

struct EnvCase {
    std::string name;
    bool has_version;
    std::string version;
    std::string store_id = {}; // the document's file in the store (empty: not in it)
};

std::ostream& operator<<(std::ostream& os, const EnvCase& c) {
    return os << c.name;
}

const EnvCase kEnvCases[] = {
    {"without documentVersionId", false, ""},
    {"with documentVersionId", true, "v-2"},
    {"with an empty documentVersionId", true, ""},
    {"version ignored when not flagged", false, "v-3"},
    {"a document sent to the store", false, "", "AbCdEfGhIjKlMnOpQrStUv"},
};

std::multiset<std::string> environ_of_script(const std::string& dump) {
    std::multiset<std::string> out;
    std::size_t start = 0;
    for (std::size_t nul; (nul = dump.find('\0', start)) != std::string::npos; start = nul + 1)
        out.insert(dump.substr(start, nul - start));
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(exec)

BOOST_AUTO_TEST_CASE(exit_zero_is_success) {
    Scripts s;
    const ActionResult r =
        run_exec(exec_action(s.script("ok", "echo fine\necho 'noise' >&2\nexit 0")), call_for());
    BOOST_TEST(r.ok);
    BOOST_TEST(r.error.empty());
    BOOST_TEST(r.detail.empty());
    check_no_children();
}

BOOST_DATA_TEST_CASE(failures_report_the_last_stderr_line, bdata::make(kFailures), c) {
    Scripts s;
    const std::string path = s.script("fail", c.body);
    const ActionResult r = run_exec(exec_action(path), call_for());
    BOOST_TEST(!r.ok);
    BOOST_TEST(r.error == c.error);
    BOOST_TEST(r.detail == (c.error_is_line ? path + ": " + c.what : path));
    check_no_children();
}

BOOST_AUTO_TEST_CASE(killed_by_a_signal) {
    Scripts s;
    const ActionResult quiet =
        run_exec(exec_action(s.script("term", "kill -TERM $$\nsleep 5")), call_for());
    BOOST_TEST(!quiet.ok);
    BOOST_TEST(quiet.error == std::string("killed by signal 15 (") + strsignal(SIGTERM) + ")");

    const std::string path = s.script("kill", "echo 'about to die' >&2\nkill -KILL $$\nsleep 5");
    const ActionResult loud = run_exec(exec_action(path), call_for());
    BOOST_TEST(!loud.ok);
    BOOST_TEST(loud.error == "about to die");
    BOOST_TEST(loud.detail == path + ": killed by signal 9 (" + strsignal(SIGKILL) + ")");
    check_no_children();
}

BOOST_AUTO_TEST_CASE(missing_program_cannot_start) {
    Scripts s;
    const std::string path = s.dir.file("missing");
    const ActionResult r = run_exec(exec_action(path + " arg"), call_for());
    BOOST_TEST(!r.ok);
    BOOST_TEST(r.error == "could not start the action");
    BOOST_TEST(r.detail == "start " + path + ": No such file or directory");
    check_no_children();
}

BOOST_DATA_TEST_CASE(environment_is_exactly_the_request, bdata::make(kEnvCases), c) {
    Scripts s;
    const std::string out = s.dir.file("environ");
    const std::string path = s.script("env", "cat /proc/$$/environ > \"$1\"");
    ActionCall call = call_for("doc-1", "alice@example.com");
    call.has_document_version_id = c.has_version;
    call.document_version_id = c.version;
    call.store_id = c.store_id;
    if (!c.store_id.empty()) call.store_path = "/srv/wfhookd/Contracts/a b.pdf";
    const ActionResult r = run_exec(exec_action(path + " " + out), call);
    BOOST_TEST_REQUIRE(r.ok, r.error);
    std::multiset<std::string> expected = {
        "PATH=/usr/local/bin:/usr/bin:/bin",
        "WF_ACTION=run",
        "WF_DOCUMENT_ID=doc-1",
        "WF_USERNAME=alice@example.com",
    };
    if (c.has_version) expected.insert("WF_DOCUMENT_VERSION_ID=" + c.version);
    if (!c.store_id.empty()) {
        expected.insert("WF_STORE_ID=" + c.store_id);
        expected.insert("WF_STORE_PATH=/srv/wfhookd/Contracts/a b.pdf");
    }
    BOOST_TEST(environ_of_script(wftest::read_file(out)) == expected,
               boost::test_tools::per_element());
    check_no_children();
}

BOOST_AUTO_TEST_CASE(request_values_arrive_byte_for_byte_and_never_run) {
    Scripts s;
    const std::string out = s.dir.file("environ");
    const std::string marker = s.dir.file("pwned");
    const std::string document_id = "$(touch " + marker + "); rm -rf / `touch " + marker +
                                    "`|&;<>*?\"'\\\n\t\xE2\x9C\x93 ${HOME} %s %n";
    const std::string username = "a b'c\"d$(touch " + marker + ")\xC3\xA9";
    const std::string version = "v;touch " + marker;
    const std::string path = s.script("env", "cat /proc/$$/environ > \"$1\"");
    ActionCall call = call_for(document_id, username);
    call.has_document_version_id = true;
    call.document_version_id = version;
    const ActionResult r = run_exec(exec_action(path + " " + out), call);
    BOOST_TEST_REQUIRE(r.ok, r.error);
    const auto env = environ_of_script(wftest::read_file(out));
    BOOST_TEST(env.count("WF_DOCUMENT_ID=" + document_id) == 1u);
    BOOST_TEST(env.count("WF_USERNAME=" + username) == 1u);
    BOOST_TEST(env.count("WF_DOCUMENT_VERSION_ID=" + version) == 1u);
    BOOST_TEST(access(marker.c_str(), F_OK) != 0, "something ran a request value");
    check_no_children();
}

BOOST_AUTO_TEST_CASE(argv_is_split_on_whitespace_without_a_shell) {
    Scripts s;
    const std::string out = s.dir.file("args");
    const std::string path =
        s.script("args", "out=$1\nshift\nprintf '%s\\n' \"$0\" > \"$out\"\n"
                         "for a in \"$@\"; do printf '%s\\n' \"$a\"; done >> \"$out\"");
    const ActionResult r =
        run_exec(exec_action(path + "  " + out + "  a\tb   --flag=#1 \"quoted arg\" $HOME * ;ls\n"),
                 call_for());
    BOOST_TEST_REQUIRE(r.ok, r.error);
    BOOST_TEST(wftest::read_file(out) ==
               path + "\na\nb\n--flag=#1\n\"quoted\narg\"\n$HOME\n*\n;ls\n");
    check_no_children();
}

BOOST_AUTO_TEST_CASE(stdin_is_dev_null) {
    Scripts s;
    const std::string out = s.dir.file("stdin");
    const std::string path = s.script("stdin", "if read -r line; then echo \"got: $line\"; else "
                                               "echo eof; fi > \"$1\"\nreadlink /proc/$$/fd/0 >> "
                                               "\"$1\"");
    const auto start = Clock::now();
    const ActionResult r = run_exec(exec_action(path + " " + out), call_for());
    BOOST_TEST(r.ok, r.error);
    BOOST_TEST(seconds_since(start) < 5.0);
    BOOST_TEST(wftest::read_file(out) == "eof\n/dev/null\n");
    check_no_children();
}

BOOST_AUTO_TEST_CASE(megabytes_of_output_do_not_deadlock) {
    Scripts s;
    // 20 MB, alternating between stdout and stderr in pieces larger than a pipe buffer. Every
    // write must succeed (a program must never see EAGAIN on its stdout or stderr).
    const std::string path = s.script(
        "loud", "i=0\nwhile [ $i -lt 64 ]; do\n  head -c 131072 /dev/zero || exit 9\n"
                "  head -c 131072 /dev/zero >&2 || exit 9\n  i=$((i+1))\ndone\n"
                "head -c 4000000 /dev/zero >&2 || exit 9\nyes | head -c 4000000 || exit 9\n"
                "exit 0");
    const auto start = Clock::now();
    const ActionResult r = run_exec(exec_action(path, "60"), call_for());
    BOOST_TEST(r.ok, r.detail);
    BOOST_TEST(seconds_since(start) < 30.0);
    check_no_children();
}

BOOST_AUTO_TEST_CASE(timeout_kills_the_whole_process_group) {
    Scripts s;
    const std::string pidfile = s.dir.file("grandchild.pid");
    const std::string path = s.script("slow", "sleep 30 &\necho $! > \"$1\"\nsleep 30");
    const auto start = Clock::now();
    const ActionResult r = run_exec(exec_action(path + " " + pidfile, "1"), call_for());
    const double took = seconds_since(start);
    BOOST_TEST(!r.ok);
    BOOST_TEST(r.error == "timed out after 1 s");
    BOOST_TEST(r.detail == path + " killed after 1 s");
    BOOST_TEST(took >= 0.9);
    BOOST_TEST(took < 5.0);
    const pid_t grandchild = read_pid(pidfile);
    BOOST_TEST_REQUIRE(grandchild > 0);
    BOOST_TEST(eventually([&] { return dead(grandchild); }),
               "grandchild " << grandchild << " survived");
    check_no_children();
}

BOOST_AUTO_TEST_CASE(exit_does_not_wait_for_background_processes) {
    Scripts s;
    const std::string pidfile = s.dir.file("grandchild.pid");
    // The background sleep keeps stdout and stderr open; the action is over when its program
    // exits, and whatever it left behind is killed.
    const std::string path = s.script("leaves", "sleep 30 &\necho $! > \"$1\"\nexit 0");
    const auto start = Clock::now();
    const ActionResult r = run_exec(exec_action(path + " " + pidfile, "20"), call_for());
    BOOST_TEST(r.ok, r.error);
    BOOST_TEST(seconds_since(start) < 5.0);
    const pid_t grandchild = read_pid(pidfile);
    BOOST_TEST_REQUIRE(grandchild > 0);
    BOOST_TEST(eventually([&] { return dead(grandchild); }),
               "grandchild " << grandchild << " survived");
    check_no_children();
}

// Watches a running program from outside: its process group is published while it runs, it
// leads a group of its own, inherits none of our descriptors, and starts with default signal
// handling and nothing blocked.
BOOST_AUTO_TEST_CASE(directory_and_umask_settings) {
    Scripts s;
    const std::string script =
        s.dir.write("where.sh", "#!/bin/sh\npwd > \"$1\"\numask >> \"$1\"\n", 0755);
    const std::string out = s.dir.file("where.out");
    const ActionResult r =
        run_exec(exec_action(script + " " + out, "20", s.dir.path(), "077"), call_for());
    BOOST_TEST_REQUIRE(r.ok, r.error);
    BOOST_TEST(wftest::read_file(out) == s.dir.path() + "\n0077\n");
    check_no_children();
}

BOOST_AUTO_TEST_CASE(child_process_setup_and_process_group) {
    Scripts s;
    const std::string marker_path = s.dir.write("marker", "x");
    const int marker = open(marker_path.c_str(), O_RDONLY); // deliberately without O_CLOEXEC
    BOOST_TEST_REQUIRE(marker >= 0);
    // Something ignored and something blocked, for the child not to inherit.
    struct sigaction ignore {};
    struct sigaction old_pipe {};
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ignore, &old_pipe);
    // And a signal glibc reserves (32), which only the kernel's call can set: a parent
    // process may leave it ignored, and glibc's sigaction cannot reset it.
    struct {
        void* handler;
        unsigned long flags = 0;
        void* restorer = nullptr;
        unsigned long mask = 0;
    } raw_ignore{reinterpret_cast<void*>(SIG_IGN)}, raw_old{};
    BOOST_TEST_REQUIRE(syscall(SYS_rt_sigaction, 32, &raw_ignore, &raw_old, 8) == 0);

    std::atomic<pid_t> group{0};
    ActionResult result;
    std::thread runner([&] {
        sigset_t block;
        sigemptyset(&block);
        sigaddset(&block, SIGUSR2);
        pthread_sigmask(SIG_BLOCK, &block, nullptr);
        ActionCall call = call_for();
        call.process_group = &group;
        result = run_exec(exec_action("/bin/sleep 30", "20"), call);
    });

    BOOST_TEST(eventually([&] { return group.load() != 0; }));
    const pid_t pid = group.load();
    std::set<std::string> fds;
    bool saw_marker = false;
    const auto list_fds = [&] {
        fds.clear();
        const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
        DIR* d = opendir(dir.c_str());
        if (d == nullptr) return false;
        while (const dirent* e = readdir(d)) {
            if (e->d_name[0] == '.') continue;
            char target[4096] = {};
            const ssize_t n = readlink((dir + "/" + e->d_name).c_str(), target, sizeof target - 1);
            const std::string t(target, n > 0 ? static_cast<std::size_t>(n) : 0);
            saw_marker |= t == marker_path;
            fds.insert(std::string(e->d_name) + " " + t.substr(0, t.find(':')));
        }
        closedir(d);
        return fds == std::set<std::string>{"0 /dev/null", "1 pipe", "2 pipe"};
    };
    if (pid > 0) {
        BOOST_TEST(
            eventually(list_fds), "fds of the child:" << [&] {
                std::string all;
                for (const std::string& f : fds)
                    all += " [" + f + "]";
                return all;
            }());
        BOOST_TEST(!saw_marker);
        pid_t pgrp = 0;
        proc_state(pid, nullptr, &pgrp);
        BOOST_TEST(pgrp == pid); // leads its own process group
        std::ifstream status("/proc/" + std::to_string(pid) + "/status");
        std::string line, blocked, ignored;
        while (std::getline(status, line)) {
            if (line.starts_with("SigBlk:"))
                blocked = line.substr(line.find_first_not_of(" \t", 7));
            if (line.starts_with("SigIgn:"))
                ignored = line.substr(line.find_first_not_of(" \t", 7));
        }
        BOOST_TEST(blocked == "0000000000000000");
        // Not the daemon's working directory, umask or supplementary groups (the tests run as
        // root, who may drop them).
        char cwd[4096] = {};
        const ssize_t n =
            readlink(("/proc/" + std::to_string(pid) + "/cwd").c_str(), cwd, sizeof cwd - 1);
        BOOST_TEST(std::string(cwd, n > 0 ? static_cast<std::size_t>(n) : 0) == "/");
        BOOST_TEST(proc_status_field(pid, "Umask") == "0027");
        if (geteuid() == 0) BOOST_TEST(proc_status_field(pid, "Groups").empty());
        BOOST_TEST(std::stoull(ignored, nullptr, 16) == 0u, "SigIgn " << ignored);
        kill(-pid, SIGTERM);
    }
    runner.join();
    sigaction(SIGPIPE, &old_pipe, nullptr);
    syscall(SYS_rt_sigaction, 32, &raw_old, nullptr, 8);
    close(marker);
    BOOST_TEST(group.load() == 0); // cleared once the program is gone
    BOOST_TEST(!result.ok);
    BOOST_TEST(result.error == std::string("killed by signal 15 (") + strsignal(SIGTERM) + ")");
    check_no_children();
}

BOOST_AUTO_TEST_SUITE_END()
