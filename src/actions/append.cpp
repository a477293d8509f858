// The `append` action type: one JSON line per call, durable before success is answered.
#include "actions/action.hpp"
#include "actions/files.hpp"

#include "http/json_writer.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace wfhookd {

const SettingSpec kAppendSettings[1] = {
    {"file", true, "", SettingKind::file_path,
     "absolute path of the JSON-lines file; created (mode 0640) if missing"},
};

namespace {

// Length of the file up to and including its last newline (0 if it has none), or -1.
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
// lock, cut the file back to its last complete line before appending, so the next line is
// never glued onto a fragment (which was never acknowledged, so nothing is lost).
bool repair_tail(int fd, const std::string& file) {
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) return true;
    const off_t keep = complete_length(fd, st.st_size);
    if (keep < 0) return false;
    if (keep == st.st_size) return true;
    if (ftruncate(fd, keep) != 0) return false;
    log(Level::warning, "append: removed an incomplete last line ({} bytes) from {}",
        st.st_size - keep, file);
    return true;
}

// Opens `file` for appending, creating it (mode 0640) if it is missing; -1 with errno set.
int open_for_append(const std::string& file) {
    int fd = open(file.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        fd = open(file.c_str(), O_RDWR | O_APPEND | O_CLOEXEC | O_CREAT | O_EXCL, 0640);
        if (fd < 0 && errno == EEXIST) fd = open(file.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
    }
    return fd;
}

// Whether `fd` is still the file that `file` names: a rotation (rename, then compress or
// delete) may have moved it between our open and our lock.
bool still_named(int fd, const std::string& file) {
    struct stat by_fd {};
    struct stat by_name {};
    return fstat(fd, &by_fd) == 0 && stat(file.c_str(), &by_name) == 0 &&
           by_fd.st_dev == by_name.st_dev && by_fd.st_ino == by_name.st_ino;
}

ActionResult append_locked(int fd, const std::string& file, const std::string& line) {
    if (!repair_tail(fd, file)) return file_failure("repair", file, errno);
    struct stat st {};
    fstat(fd, &st);
    const ssize_t n = write(fd, line.data(), line.size());
    if (n != static_cast<ssize_t>(line.size())) {
        const int err = n < 0 ? errno : ENOSPC; // a short write means the disk filled up
        // Take the fragment back now; if that fails too, repair_tail does it next time.
        if (n > 0 && S_ISREG(st.st_mode) && ftruncate(fd, st.st_size) != 0)
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

ActionResult run_append(const ActionConfig& config, const ActionCall& call) {
    const std::string& file = config.setting("file");

    std::string line = call_record_json(call);
    line.push_back('\n');

    // Read-write: repair_tail reads the end of the file. flock serialises appenders in all
    // workers and is dropped by the kernel if we die.
    for (int attempt = 0; attempt < 3; ++attempt) {
        const Fd fd(open_for_append(file));
        if (fd.get() < 0) return file_failure("open", file, errno);
        if (flock(fd.get(), LOCK_EX) != 0) return file_failure("flock", file, errno);
        if (still_named(fd.get(), file)) return append_locked(fd.get(), file, line);
        // Renamed away (log rotation) between our open and our lock: the name points at a new
        // file now.
    }
    return file_failure("open", file, ESTALE); // replaced again and again
}

} // namespace wfhookd
