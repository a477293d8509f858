#include "actions/action.hpp"

#include "support/capture_stderr.hpp"
#include "support/fds.hpp"
#include "support/json_check.hpp"
#include "support/pattern.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <functional>
#include <future>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace bdata = boost::unit_test::data;
using wfhookd::ActionCall;
using wfhookd::ActionConfig;
using wfhookd::ActionResult;
using wfhookd::run_append;
using wftest::Json;

namespace {

using wftest::open_fd_count;

ActionConfig append_to(const std::string& file) {
    ActionConfig a;
    a.name = "audit";
    a.display_name = "Audit";
    a.type = wfhookd::find_action_type("append");
    a.settings = {{"file", file}, {"lock_timeout", "1"}};
    return a;
}

ActionCall call_for(std::string_view document_id, std::string_view username = "alice") {
    ActionCall c;
    c.action = "audit";
    c.document_id = document_id;
    c.username = username;
    return c;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        out.push_back(line);
    return out;
}

std::string today_utc(std::time_t t) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return buf;
}

// Sets the umask for one test.
struct Umask {
    mode_t old;
    explicit Umask(mode_t m) : old(umask(m)) {}
    ~Umask() { umask(old); }
};

struct TailCase {
    std::string name;
    std::string before; // what a crashed writer (or someone else) left
    std::string kept;   // what must remain before the next line
    bool separated;     // our line starts with a newline of its own
};

std::ostream& operator<<(std::ostream& os, const TailCase& c) {
    return os << c.name;
}

const std::string kWhole = R"({"earlier":1})"
                           "\n";
const std::string kOurs = R"({"time":"2026-11-30T10:00:00.000Z","action":"audit","docu)";

const TailCase kTails[] = {
    {"empty file", "", "", false},
    {"complete lines untouched", kWhole + kWhole, kWhole + kWhole, false},
    {"our fragment without any newline", R"({"time":"2026-)", "", false},
    {"our fragment after whole lines", kWhole + R"({"time":"20)", kWhole, false},
    {"a shorter fragment of ours", kWhole + "{\"ti", kWhole, false},
    {"our fragment longer than a read block", kWhole + kOurs + std::string(10000, 'x'), kWhole,
     false},
    {"newline two blocks back", std::string(5000, 'a') + "\n" + kOurs + std::string(9000, 'b'),
     std::string(5000, 'a') + "\n", false},
    {"newline at the end of a block",
     std::string(4095, 'a') + "\n" + kOurs + std::string(4000, 'b'), std::string(4095, 'a') + "\n",
     false},
    {"newline at the start of a block", std::string(4096, 'a') + "\n" + kOurs,
     std::string(4096, 'a') + "\n", false},
    // Not our format: another writer's, or a file we never wrote. Never cut.
    {"someone else's fragment", kWhole + "abc", kWhole + "abc", true},
    {"a file without newlines that is not ours", std::string(10000, 'x'), std::string(10000, 'x'),
     true},
    {"lone newline then a foreign fragment", "\nabc", "\nabc", true},
};

} // namespace

BOOST_AUTO_TEST_SUITE(append)

BOOST_AUTO_TEST_CASE(line_format) {
    wftest::TempDir dir;
    const std::string file = dir.file("audit.jsonl");
    const std::time_t before = std::time(nullptr);
    ActionCall with_version = call_for("doc \"1\"\n\xE2\x80\xA8", "b\xC3\xA9@example.com");
    with_version.has_document_version_id = true;
    with_version.document_version_id = "v2";
    BOOST_TEST_REQUIRE(run_append(append_to(file), with_version).ok);
    BOOST_TEST_REQUIRE(run_append(append_to(file), call_for("doc-2")).ok);
    const std::time_t after = std::time(nullptr);

    const std::string text = wftest::read_file(file);
    BOOST_TEST(text.ends_with("\n"));
    const std::vector<std::string> lines = lines_of(text);
    BOOST_TEST_REQUIRE(lines.size() == 2u);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        Json j;
        std::string error;
        BOOST_TEST_REQUIRE(wftest::json_parse(lines[i], j, error), error << " in " << lines[i]);
        std::vector<std::string> keys;
        for (const auto& m : j.members)
            keys.push_back(m.first);
        BOOST_TEST(keys == (std::vector<std::string>{"time", "action", "documentId",
                                                     "documentVersionId", "username"}),
                   boost::test_tools::per_element());
        const std::string time = j.at("time").text;
        BOOST_TEST(wftest::matches_pattern(time, wftest::kTimestampPattern), time);
        const std::string date = time.substr(0, 10);
        BOOST_TEST((date == today_utc(before) || date == today_utc(after)), time);
        BOOST_TEST(j.at("action").text == "audit");
    }
    Json first, second;
    std::string error;
    wftest::json_parse(lines[0], first, error);
    wftest::json_parse(lines[1], second, error);
    BOOST_TEST(first.at("documentId").text == "doc \"1\"\n\xE2\x80\xA8");
    BOOST_TEST(first.at("documentVersionId").text == "v2");
    BOOST_TEST(first.at("username").text == "b\xC3\xA9@example.com");
    BOOST_TEST(second.at("documentId").text == "doc-2");
    BOOST_TEST(second.at("documentVersionId").is(Json::Type::null));
    BOOST_TEST(second.at("username").text == "alice");
}

BOOST_AUTO_TEST_CASE(creates_a_missing_file_with_mode_0640) {
    wftest::TempDir dir;
    Umask open_umask(0);
    const std::string file = dir.file("new.jsonl");
    BOOST_TEST_REQUIRE(run_append(append_to(file), call_for("d")).ok);
    struct stat st {};
    BOOST_TEST_REQUIRE(stat(file.c_str(), &st) == 0);
    BOOST_TEST(S_ISREG(st.st_mode));
    BOOST_TEST((st.st_mode & 07777) == 0640u);
    BOOST_TEST(lines_of(wftest::read_file(file)).size() == 1u);
}

BOOST_AUTO_TEST_CASE(keeps_the_mode_of_an_existing_file) {
    wftest::TempDir dir;
    const std::string file = dir.write("existing.jsonl", kWhole, 0600);
    BOOST_TEST_REQUIRE(run_append(append_to(file), call_for("d")).ok);
    struct stat st {};
    BOOST_TEST_REQUIRE(stat(file.c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 07777) == 0600u);
}

BOOST_AUTO_TEST_CASE(appends_and_never_truncates) {
    wftest::TempDir dir;
    const std::string file = dir.write("audit.jsonl", kWhole + kWhole, 0640);
    for (const char* id : {"a", "b", "c"})
        BOOST_TEST_REQUIRE(run_append(append_to(file), call_for(id)).ok);
    const std::string text = wftest::read_file(file);
    BOOST_TEST(text.starts_with(kWhole + kWhole));
    const std::vector<std::string> lines = lines_of(text);
    BOOST_TEST_REQUIRE(lines.size() == 5u);
    const char* ids[] = {"a", "b", "c"};
    for (std::size_t i = 0; i < 3; ++i) {
        Json j;
        std::string error;
        BOOST_TEST_REQUIRE(wftest::json_parse(lines[2 + i], j, error), error);
        BOOST_TEST(j.at("documentId").text == ids[i]);
    }
}

BOOST_DATA_TEST_CASE(partial_last_line_is_cut_before_appending, bdata::make(kTails), c) {
    wftest::TempDir dir;
    const std::string file = dir.write("audit.jsonl", c.before, 0640);
    ActionResult r;
    const std::string log =
        wftest::capture_stderr([&] { r = run_append(append_to(file), call_for("after-crash")); });
    BOOST_TEST_REQUIRE(r.ok, r.detail);
    // The operator hears about a repair, and only about a repair.
    const std::size_t cut = c.before.size() - c.kept.size();
    if (c.separated)
        BOOST_TEST(log.ends_with(" warning: append: " + file +
                                 " ends with an incomplete line that wfhookd did not write; left "
                                 "as it is\n"),
                   log);
    else if (cut == 0)
        BOOST_TEST(log.empty(), log);
    else
        BOOST_TEST(log.ends_with(" warning: append: removed an incomplete last line (" +
                                 std::to_string(cut) + " bytes) from " + file + "\n"),
                   log);
    const std::string text = wftest::read_file(file);
    BOOST_TEST_REQUIRE(text.starts_with(c.kept + (c.separated ? "\n" : "")));
    const std::string added = text.substr(c.kept.size() + (c.separated ? 1 : 0));
    BOOST_TEST(added.ends_with("\n"));
    BOOST_TEST(added.find('\n') == added.size() - 1); // exactly one line was added
    Json j;
    std::string error;
    BOOST_TEST(wftest::json_parse(added.substr(0, added.size() - 1), j, error), error);
    BOOST_TEST(j.get("documentId") != nullptr);
}

// A disk that fills up mid-line (here: a file-size limit, in a child process): the error is
// reported and no fragment stays behind.
BOOST_AUTO_TEST_CASE(write_failure_is_reported) {
    wftest::TempDir dir;
    const std::string file = dir.write("audit.jsonl", std::string(4000, 'a') + "\n", 0640);
    const pid_t child = fork();
    if (child == 0) {
        signal(SIGXFSZ, SIG_IGN);
        const rlimit limit{4050, 4050};
        setrlimit(RLIMIT_FSIZE, &limit);
        const ActionResult r = run_append(append_to(file), call_for("d"));
        // The write stops at the limit: a short write, reported as a full disk.
        _exit(!r.ok && r.error == "could not record the action (No space left on device)" &&
                      r.detail == "write " + file + ": No space left on device"
                  ? 0
                  : 1);
    }
    int status = 0;
    waitpid(child, &status, 0);
    BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    BOOST_TEST(wftest::read_file(file) == std::string(4000, 'a') + "\n");
}

struct NotOurs {
    std::string name;
    std::function<std::string(wftest::TempDir&)> make; // returns the path to append to
    std::string detail;                                // after "open PATH: "
};

std::ostream& operator<<(std::ostream& os, const NotOurs& c) {
    return os << c.name;
}

// Anything but a regular file of the daemon's user is refused before a byte is read or
// written: a link put in place of the log (to a file the daemon can write, which the repair
// step would otherwise cut), a device, a FIFO, someone else's file.
const NotOurs kNotOurs[] = {
    {"symbolic link to a file",
     [](wftest::TempDir& d) {
         d.write("precious", "no newline at the end", 0640);
         symlink(d.file("precious").c_str(), d.file("audit.jsonl").c_str());
         return d.file("audit.jsonl");
     },
     "a symbolic link"},
    {"a character device", [](wftest::TempDir&) { return std::string("/dev/full"); },
     "not a regular file"},
    {"a FIFO",
     [](wftest::TempDir& d) {
         mkfifo(d.file("fifo").c_str(), 0600);
         return d.file("fifo");
     },
     "not a regular file"},
    {"another user's file",
     [](wftest::TempDir& d) {
         const std::string f = d.write("theirs.jsonl", "", 0666);
         if (chown(f.c_str(), 65534, 65534) != 0) return std::string(); // not root: skip
         return f;
     },
     "owned by uid 65534, not by the daemon's user"},
};

BOOST_DATA_TEST_CASE(refuses_what_is_not_its_own_regular_file, bdata::make(kNotOurs), c) {
    wftest::TempDir dir;
    const std::string path = c.make(dir);
    BOOST_TEST_REQUIRE(!path.empty(), "this case needs root (chown)");
    const ActionResult r = run_append(append_to(path), call_for("d"));
    BOOST_TEST(!r.ok);
    BOOST_TEST(r.error == "could not record the action (the log file is not one wfhookd may "
                          "write)");
    BOOST_TEST(r.detail == "open " + path + ": " + c.detail);
    if (c.name == "symbolic link to a file")
        BOOST_TEST(wftest::read_file(dir.file("precious")) == "no newline at the end");
}

// A reader's shared lock (a log shipper's `flock -s`) holds appends for lock_timeout, then
// the caller is told to try again: the worker is never held until request_timeout.
BOOST_AUTO_TEST_CASE(a_lock_held_by_a_reader_gives_503_after_lock_timeout) {
    wftest::TempDir dir;
    const std::string file = dir.write("audit.jsonl", "", 0640);
    const int reader = open(file.c_str(), O_RDONLY | O_CLOEXEC);
    BOOST_TEST_REQUIRE(flock(reader, LOCK_SH) == 0);
    const auto start = std::chrono::steady_clock::now();
    const ActionResult r = run_append(append_to(file), call_for("d"));
    const auto waited = std::chrono::steady_clock::now() - start;
    BOOST_TEST(!r.ok);
    BOOST_TEST(r.status == 503);
    BOOST_TEST(r.error == "the audit log is busy, try again");
    BOOST_TEST((waited >= std::chrono::milliseconds(1000)));
    BOOST_TEST((waited < std::chrono::seconds(5)));
    close(reader); // and then it works at once
    BOOST_TEST(run_append(append_to(file), call_for("d")).ok);
}

BOOST_AUTO_TEST_CASE(open_failure_is_reported) {
    wftest::TempDir dir;
    const std::string sub = dir.file("gone");
    BOOST_TEST_REQUIRE(mkdir(sub.c_str(), 0700) == 0);
    const std::string file = sub + "/audit.jsonl";
    BOOST_TEST_REQUIRE(rmdir(sub.c_str()) == 0); // removed after the config was checked
    const int fds_before = open_fd_count();
    const ActionResult r = run_append(append_to(file), call_for("d"));
    BOOST_TEST(!r.ok);
    BOOST_TEST(r.error == "could not record the action (No such file or directory)");
    BOOST_TEST(r.detail == "open " + file + ": No such file or directory");
    BOOST_TEST(open_fd_count() == fds_before);

    const ActionResult is_dir = run_append(append_to(dir.path()), call_for("d"));
    BOOST_TEST(!is_dir.ok);
    BOOST_TEST(is_dir.error == "could not record the action (Is a directory)");
}

BOOST_AUTO_TEST_CASE(success_leaves_no_descriptor_open) {
    wftest::TempDir dir;
    const std::string file = dir.file("audit.jsonl");
    BOOST_TEST_REQUIRE(run_append(append_to(file), call_for("first")).ok); // creates
    const int fds_before = open_fd_count();
    BOOST_TEST_REQUIRE(run_append(append_to(file), call_for("second")).ok);
    BOOST_TEST(open_fd_count() == fds_before);
}

// Counts fsync(2) calls on directories. A definition in the executable takes precedence over
// libc's for the library code linked into it; the call itself goes to the kernel unchanged.
static std::atomic<int> g_directory_fsyncs{0};
extern "C" int fsync(int fd) {
    struct stat st {};
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) ++g_directory_fsyncs;
    return static_cast<int>(syscall(SYS_fsync, fd));
}

namespace {

// Descriptors of this process open on `path`.
int fds_open_on(const std::string& path) {
    int n = 0;
    if (DIR* d = opendir("/proc/self/fd")) {
        while (const dirent* e = readdir(d)) {
            char target[4096] = {};
            const std::string link = std::string("/proc/self/fd/") + e->d_name;
            const ssize_t len = readlink(link.c_str(), target, sizeof target - 1);
            n += len > 0 && std::string(target, static_cast<std::size_t>(len)) == path;
        }
        closedir(d);
    }
    return n;
}

} // namespace

// Log rotation renames the file, then compresses or deletes it. A worker that opened the file
// just before must not put an acknowledged line into the renamed one.
BOOST_AUTO_TEST_CASE(a_file_renamed_while_waiting_for_the_lock_is_reopened) {
    wftest::TempDir dir;
    const std::string file = dir.file("audit.jsonl");
    BOOST_TEST_REQUIRE(run_append(append_to(file), call_for("before")).ok);
    const int holder = open(file.c_str(), O_RDONLY | O_CLOEXEC);
    BOOST_TEST_REQUIRE(holder >= 0);
    BOOST_TEST_REQUIRE(flock(holder, LOCK_EX) == 0);
    struct stat st {};
    fstat(holder, &st);
    auto appended = std::async(std::launch::async,
                               [&] { return run_append(append_to(file), call_for("after")); });
    // The appender has the old file open and waits for our lock.
    const bool waiting = wftest::wait_until([&] { return fds_open_on(file) >= 2; });
    BOOST_TEST(rename(file.c_str(), (file + ".1").c_str()) == 0);
    close(holder);
    const ActionResult r = appended.get();
    BOOST_TEST_REQUIRE(waiting);
    BOOST_TEST(r.ok, r.detail);
    const std::vector<std::string> rotated = lines_of(wftest::read_file(file + ".1"));
    const std::vector<std::string> current = lines_of(wftest::read_file(file));
    BOOST_TEST_REQUIRE(rotated.size() == 1u);
    BOOST_TEST(rotated[0].find(R"("documentId":"before")") != std::string::npos);
    BOOST_TEST_REQUIRE(current.size() == 1u);
    BOOST_TEST(current[0].find(R"("documentId":"after")") != std::string::npos);
}

// The first line in a file makes its directory entry matter: whoever writes it syncs the
// directory, also when another worker created the file (and died, or lost the lock race).
BOOST_AUTO_TEST_CASE(the_first_line_of_a_file_syncs_its_directory) {
    wftest::TempDir dir;
    const std::string made_by_us = dir.file("new.jsonl");
    const std::string made_by_another = dir.write("empty.jsonl", "", 0640);
    int before = g_directory_fsyncs;
    BOOST_TEST_REQUIRE(run_append(append_to(made_by_us), call_for("1")).ok);
    BOOST_TEST(g_directory_fsyncs == before + 1);
    before = g_directory_fsyncs;
    BOOST_TEST_REQUIRE(run_append(append_to(made_by_another), call_for("1")).ok);
    BOOST_TEST(g_directory_fsyncs == before + 1);
    before = g_directory_fsyncs;
    BOOST_TEST_REQUIRE(run_append(append_to(made_by_another), call_for("2")).ok);
    BOOST_TEST(g_directory_fsyncs == before); // later lines: the file alone
}

// Workers are processes: concurrent appends from several of them must never interleave.
BOOST_AUTO_TEST_CASE(concurrent_appends_from_processes_do_not_interleave) {
    wftest::TempDir dir;
    const std::string file = dir.file("audit.jsonl");
    constexpr int kProcs = 8, kLines = 200;
    std::vector<pid_t> pids;
    for (int p = 0; p < kProcs; ++p) {
        const pid_t pid = fork();
        BOOST_TEST_REQUIRE(pid >= 0);
        if (pid == 0) {
            const ActionConfig a = append_to(file);
            // Long values make each line larger than one small write, to give interleaving
            // every chance.
            const std::string pad(3000, static_cast<char>('a' + p));
            for (int i = 0; i < kLines; ++i) {
                const std::string id = std::to_string(p) + "-" + std::to_string(i);
                ActionCall c = call_for(id, pad);
                if (!run_append(a, c).ok) _exit(1);
            }
            _exit(0);
        }
        pids.push_back(pid);
    }
    int failed = 0;
    for (const pid_t pid : pids) {
        int status = 0;
        BOOST_TEST_REQUIRE(waitpid(pid, &status, 0) == pid);
        failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    BOOST_TEST(failed == 0);

    const std::string text = wftest::read_file(file);
    BOOST_TEST(text.ends_with("\n"));
    const std::vector<std::string> lines = lines_of(text);
    BOOST_TEST(lines.size() == std::size_t(kProcs * kLines));
    std::set<std::string> ids;
    int invalid = 0;
    for (const std::string& line : lines) {
        Json j;
        std::string error;
        const Json* id = nullptr;
        if (!wftest::json_parse(line, j, error) || (id = j.get("documentId")) == nullptr) {
            ++invalid;
            continue;
        }
        const int proc = std::atoi(id->text.c_str());
        if (j.at("username").text != std::string(3000, static_cast<char>('a' + proc))) ++invalid;
        ids.insert(id->text);
    }
    BOOST_TEST(invalid == 0);
    BOOST_TEST(ids.size() == std::size_t(kProcs * kLines));
}

BOOST_AUTO_TEST_SUITE_END()
