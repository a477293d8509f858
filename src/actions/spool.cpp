// The `spool` action type: one JSON file per call in a directory, for a batch job to pick up.
// It is also the worked example of docs/actions.md: a settings table, one function, and one
// line in kActionTypes.
#include "action.hpp"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include "../clock.hpp"

namespace wfhookd {

const SettingSpec kSpoolSettings[1] = {
    {"directory", true, "", SettingKind::directory,
     "absolute path of the directory that receives one .json file per call"},
};

namespace {

ActionResult failure(std::string_view what, const std::string& path, int err) {
    return {false, fmt::format("could not record the action ({})", strerror(err)),
            fmt::format("{} {}: {}", what, path, strerror(err))};
}

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

} // namespace

int rename_new(const std::string& from, const std::string& to) {
    if (renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
    if (errno != EINVAL && errno != ENOSYS) return errno;
    if (link(from.c_str(), to.c_str()) != 0) return errno;
    unlink(from.c_str());
    return 0;
}

ActionResult run_spool(const ActionConfig& config, const ActionCall& call) {
    const std::string& dir = config.setting("directory");
    // Names come from us, never from the request: wall-clock time (so that they keep sorting
    // in arrival order across reboots), pid and a per-process counter; they cannot be steered
    // into another directory, and rename_new never replaces a file already acknowledged.
    static std::atomic<unsigned> counter{0};
    const auto unique_name = [] {
        return fmt::format("{:020}-{}-{}", realtime_ns(), getpid(), counter++);
    };
    const std::string tmp = fmt::format("{}/.{}.tmp", dir, unique_name());

    // Write, fsync, then rename: a reader sees a complete file or none, and what we
    // acknowledge survives a crash.
    const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) return failure("create", tmp, errno);
    const bool ok = write_all(fd, call_record_json(call) + "\n") && fsync(fd) == 0;
    const int err = errno;
    close(fd);
    if (!ok) {
        unlink(tmp.c_str());
        return failure("write", tmp, err);
    }
    std::string final_path;
    int e = EEXIST;
    for (int attempt = 0; attempt < 3 && e == EEXIST; ++attempt) { // EEXIST: the clock went back
        final_path = fmt::format("{}/{}.json", dir, unique_name());
        e = rename_new(tmp, final_path);
    }
    if (e != 0) {
        unlink(tmp.c_str());
        return failure("rename", final_path, e);
    }
    const int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        const int de = errno;
        if (dfd >= 0) close(dfd);
        return failure("fsync", dir, de);
    }
    close(dfd);
    return {};
}

} // namespace wfhookd
