// The `append` action type: one JSON line per call, durable before success is answered.
#include "actions/action.hpp"
#include "actions/files.hpp"

#include "util/clock.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

namespace wfhookd {

const SettingSpec kAppendSettings[2] = {
    {"file", true, "", SettingKind::file_path,
     "absolute path of the JSON-lines file; created (mode 0640) if missing"},
    {"lock_timeout", false, "5", SettingKind::seconds,
     "seconds to wait for another process's lock on the file (a log shipper's) before "
     "answering 503"},
};

namespace {

// Every line we write starts like this (call_record_json): a fragment that does not is not
// ours to remove.
constexpr std::string_view kOurLineStart = R"({"time":")";

// Offset just past the file's last newline (0 if it has none), or -1.
off_t complete_length(int fd, off_t size) {
    char buf[4096];
    for (off_t end = size; end > 0;) {
        const off_t start = std::max<off_t>(0, end - off_t(sizeof buf));
        const ssize_t n = pread(fd, buf, static_cast<std::size_t>(end - start), start);
        if (n != end - start) return -1;
        if (const void* nl = memrchr(buf, '\n', static_cast<std::size_t>(n)))
            return start + (static_cast<const char*>(nl) - buf) + 1;
        end = start;
    }
    return 0;
}

// A worker killed in the middle of write(2) can leave a line without its newline. Under the
// lock, a fragment of one of our lines is cut (it was never acknowledged, so nothing is
// lost). A fragment that is not ours is never cut: `separate` says our line must start on a
// line of its own instead.
bool repair_tail(int fd, const std::string& file, bool& separate) {
    separate = false;
    struct stat st {};
    if (fstat(fd, &st) != 0 || st.st_size == 0) return true;
    const off_t keep = complete_length(fd, st.st_size);
    if (keep < 0) return false;
    if (keep == st.st_size) return true;
    char head[kOurLineStart.size()] = {};
    const ssize_t n = pread(fd, head, sizeof head, keep);
    const std::size_t got = n > 0 ? static_cast<std::size_t>(n) : 0;
    const std::size_t fragment = static_cast<std::size_t>(st.st_size - keep);
    if (std::string_view(head, got) != kOurLineStart.substr(0, std::min(got, fragment))) {
        separate = true;
        log(Level::warning,
            "append: {} ends with an incomplete line that wfhookd did not write; "
            "left as it is",
            file);
        return true;
    }
    if (ftruncate(fd, keep) != 0) return false;
    log(Level::warning, "append: removed an incomplete last line ({} bytes) from {}", fragment,
        file);
    return true;
}

// Opens `file` for appending, creating it (mode 0640) if it is missing, never through a
// symbolic link; -1 with errno set.
int open_for_append(const std::string& file) {
    constexpr int flags = O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
    int fd = open(file.c_str(), flags);
    if (fd < 0 && errno == ENOENT) {
        fd = open(file.c_str(), flags | O_CREAT | O_EXCL, 0640);
        if (fd < 0 && errno == EEXIST) fd = open(file.c_str(), flags);
    }
    return fd;
}

// Only a regular file of the daemon's own user is appended to: a link, a device, a FIFO or
// another user's file put in its place is refused before anything is read or written.
std::string not_ours(int fd) {
    struct stat st {};
    if (fstat(fd, &st) != 0) return std::strerror(errno);
    if (!S_ISREG(st.st_mode)) return "not a regular file";
    if (st.st_uid != geteuid())
        return fmt::format("owned by uid {}, not by the daemon's user", st.st_uid);
    return {};
}

// Whether `fd` is still the file that `file` names: a rotation (rename, then compress or
// delete) may have moved it between our open and our lock.
bool still_named(int fd, const std::string& file) {
    struct stat by_fd {};
    struct stat by_name {};
    return fstat(fd, &by_fd) == 0 && lstat(file.c_str(), &by_name) == 0 &&
           by_fd.st_dev == by_name.st_dev && by_fd.st_ino == by_name.st_ino;
}

// flock(2) has no timeout: try, and back off from 1 ms up to 50 ms, until `seconds` pass.
void on_lock_alarm(int) {}

// A blocking flock (the kernel queues waiters, so none starves as polling ones can under
// contention) that gives up after `seconds`: an interval timer interrupts it. Workers are
// single-threaded and use SIGALRM for nothing else.
bool lock_within(int fd, unsigned seconds) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return true;
    if (errno != EWOULDBLOCK) return false;
    struct sigaction sa {
    }, old{};
    sa.sa_handler = on_lock_alarm;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; // no SA_RESTART: the alarm must end the wait
    sigaction(SIGALRM, &sa, &old);
    const std::int64_t until = monotonic_ns() + std::int64_t(seconds) * 1'000'000'000;
    bool locked = false;
    int err = EWOULDBLOCK;
    for (;;) {
        const std::int64_t left = until - monotonic_ns();
        if (left <= 0) break;
        const std::int64_t us = (left + 999) / 1000;
        itimerval t{};
        t.it_value.tv_sec = static_cast<time_t>(us / 1'000'000);
        t.it_value.tv_usec = static_cast<suseconds_t>(us % 1'000'000);
        if (setitimer(ITIMER_REAL, &t, nullptr) != 0) break;
        if (flock(fd, LOCK_EX) == 0) {
            locked = true;
            break;
        }
        if (errno != EINTR) {
            err = errno;
            break;
        }
    }
    const itimerval off{};
    setitimer(ITIMER_REAL, &off, nullptr);
    sigaction(SIGALRM, &old, nullptr);
    if (!locked) errno = err;
    return locked;
}

ActionResult append_locked(int fd, const std::string& file, std::string& line) {
    bool separate = false;
    if (!repair_tail(fd, file, separate)) return file_failure("repair", file, errno);
    if (separate) line.insert(line.begin(), '\n');
    struct stat st {};
    fstat(fd, &st);
    const ssize_t n = write(fd, line.data(), line.size());
    if (n != static_cast<ssize_t>(line.size())) {
        const int err = n < 0 ? errno : ENOSPC; // a short write means the disk filled up
        // Take the fragment back now; if that fails too, repair_tail does it next time.
        if (n > 0 && ftruncate(fd, st.st_size) != 0)
            log(Level::warning, "append: could not cut a partial line from {}", file);
        return file_failure("write", file, err);
    }
    if (fsync(fd) != 0) return file_failure("fsync", file, errno);
    if (st.st_size == 0) {
        // The first line of a new file: its directory entry must be durable too. Whoever
        // writes it does this (not whoever created the file), so no line is acknowledged
        // before the entry is on disk.
        const std::string dir = file.substr(0, std::max<std::size_t>(1, file.rfind('/')));
        if (const int e = sync_directory(dir); e != 0)
            return file_failure("fsync directory", dir, e);
    }
    return {};
}

} // namespace

ActionResult append_json_line(const std::string& file, std::string line, unsigned lock_timeout) {
    line.push_back('\n');
    // Read-write: repair_tail reads the end of the file. flock serialises appenders in all
    // workers and is dropped by the kernel if we die.
    for (int attempt = 0; attempt < 3; ++attempt) {
        const Fd fd(open_for_append(file));
        std::string why = !fd && errno == ELOOP ? "a symbolic link" : "";
        if (!fd && why.empty()) return file_failure("open", file, errno);
        if (why.empty()) why = not_ours(fd.get());
        if (!why.empty())
            return {false,
                    "could not record the action (the log file is not one wfhookd may "
                    "write)",
                    fmt::format("open {}: {}", file, why)};
        if (!lock_within(fd.get(), lock_timeout)) {
            if (errno != EWOULDBLOCK) return file_failure("flock", file, errno);
            ActionResult busy{
                false, "the audit log is busy, try again",
                fmt::format("{} stayed locked by another process for {} s", file, lock_timeout)};
            busy.status = 503;
            return busy;
        }
        if (still_named(fd.get(), file)) return append_locked(fd.get(), file, line);
        // Renamed away (log rotation) between our open and our lock: the name points at a new
        // file now.
    }
    return file_failure("open", file, ESTALE); // replaced again and again
}

ActionResult run_append(const ActionConfig& config, const ActionCall& call) {
    return append_json_line(config.setting("file"), call_record_json(call),
                            config.seconds("lock_timeout"));
}

} // namespace wfhookd
