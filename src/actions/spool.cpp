// The `spool` action type: one JSON file per call in a directory, for a batch job to pick up.
// It is also the worked example of docs/actions.md: a settings table, one function, and one
// line in kActionTypes.
#include "action.hpp"

#include <atomic>
#include <cerrno>
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

ActionResult run_spool(const ActionConfig& config, const ActionCall& call) {
    const std::string& dir = config.setting("directory");
    // Names come from us, never from the request: time, pid and a per-process counter are
    // unique, sort in arrival order, and cannot be steered into another directory.
    static std::atomic<unsigned> counter{0};
    const std::string name =
        fmt::format("{:013}-{}-{}", monotonic_ns() / 1'000'000, getpid(), counter++);
    const std::string tmp = fmt::format("{}/.{}.tmp", dir, name);
    const std::string final_path = fmt::format("{}/{}.json", dir, name);

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
    if (rename(tmp.c_str(), final_path.c_str()) != 0) {
        const int e = errno;
        unlink(tmp.c_str());
        return failure("rename", final_path, e);
    }
    const int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        const int e = errno;
        if (dfd >= 0) close(dfd);
        return failure("fsync", dir, e);
    }
    close(dfd);
    return {};
}

} // namespace wfhookd
