// Housekeeping of the store, run by the master (docs/operations.md, "The trash"): the temporary
// files of uploads that never finished, and trash entries older than [store] trash_days.
#include "store/store.hpp"

#include "util/clock.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

#include <cstdio>
#include <dirent.h>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace wfhookd {

namespace {

// Removes the hidden temporary files of uploads that never finished, anywhere beneath `dir`
// (not following links, not into the trash).
void purge_uploads(int dir, const std::string& where, std::int64_t now, std::int64_t stale_seconds,
                   int depth) {
    if (depth > 64) return;
    const int fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    DIR* d = fdopendir(fd);
    if (d == nullptr) {
        close(fd);
        return;
    }
    std::vector<std::string> stale, folders;
    while (const dirent* e = readdir(d)) {
        const std::string_view n = e->d_name;
        if (n == "." || n == ".." || n == Store::kTrash) continue;
        struct stat st {};
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            folders.emplace_back(n);
        } else if (S_ISREG(st.st_mode) && n.starts_with(Store::kUploadPrefix) &&
                   (stale_seconds == 0 || now - st.st_mtim.tv_sec > stale_seconds)) {
            stale.emplace_back(n);
        }
    }
    for (const std::string& n : stale)
        if (unlinkat(dirfd(d), n.c_str(), 0) == 0)
            log(Level::notice, "store: removed {}/{}, left by an upload that never finished", where,
                n);
    for (const std::string& n : folders) {
        const Fd sub(openat(dirfd(d), n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (sub) purge_uploads(sub.get(), where + "/" + n, now, stale_seconds, depth + 1);
    }
    closedir(d);
}

} // namespace

void Store::purge(const StoreConfig& config, std::int64_t stale_seconds, bool uploads) {
    const Fd root(::open(config.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root) return;
    const std::int64_t now = realtime_ns() / 1'000'000'000;
    if (uploads) purge_uploads(root.get(), config.root, now, stale_seconds, 0);
    // With trash_days = 0 nothing stays: what an earlier setting left in the trash goes too.
    const int trash = openat(root.get(), std::string(kTrash).c_str(),
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (trash < 0) return;
    DIR* d = fdopendir(trash);
    if (d == nullptr) {
        close(trash);
        return;
    }
    std::vector<std::string> old;
    while (const dirent* e = readdir(d)) {
        // Entries are named <ms since the epoch>-<id>[-version][-n].
        long long ms = 0;
        if (e->d_name[0] == '.' || std::sscanf(e->d_name, "%lld-", &ms) != 1) continue;
        if (config.trash_days == 0 || now - ms / 1000 > std::int64_t(config.trash_days) * 86400)
            old.emplace_back(e->d_name);
    }
    for (const std::string& n : old) {
        if (remove_tree_at(dirfd(d), n))
            log(Level::notice, "store: purged {} from the trash (older than {} days)", n,
                config.trash_days);
    }
    closedir(d);
}

} // namespace wfhookd
