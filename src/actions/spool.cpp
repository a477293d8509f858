// The `spool` action type: one JSON file per call in a directory, for a batch job to pick up.
// It is also the worked example of docs/actions.md: a settings table, one function, and one
// line in kActionTypes.
#include "actions/action.hpp"
#include "actions/files.hpp"

#include <atomic>
#include <cerrno>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include "util/clock.hpp"

namespace wfhookd {

const SettingSpec kSpoolSettings[1] = {
    {"directory", true, "", SettingKind::directory,
     "absolute path of the directory that receives one .json file per call"},
};

ActionResult run_spool(const ActionConfig& config, const ActionCall& call) {
    const std::string& dir = config.setting("directory");
    // Names come from us, never from the request: wall-clock time (so that they keep sorting
    // in arrival order across reboots), pid and a per-process counter. They cannot be steered
    // into another directory, and rename_new never replaces a file already acknowledged.
    static std::atomic<unsigned> counter{0};
    const std::string name = fmt::format("{:020}-{}-{}", realtime_ns(), getpid(), counter++);
    const std::string tmp = fmt::format("{}/.{}.tmp", dir, name);
    const std::string final_path = fmt::format("{}/{}.json", dir, name);

    // Write, fsync, then rename: a reader sees a complete file or none, and what we
    // acknowledge survives a crash.
    const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) return file_failure("create", tmp, errno);
    const bool ok = write_all(fd, call_record_json(call) + "\n") && fsync(fd) == 0;
    const int err = errno;
    close(fd);
    if (!ok) {
        unlink(tmp.c_str());
        return file_failure("write", tmp, err);
    }
    if (const int e = rename_new(tmp, final_path); e != 0) {
        unlink(tmp.c_str());
        return file_failure("rename", final_path, e);
    }
    if (const int e = sync_directory(dir); e != 0) return file_failure("fsync", dir, e);
    return {};
}

} // namespace wfhookd
