#include "store/maintenance.hpp"

#include "util/fs.hpp"

#include "store/store.hpp"
#include "store/thumbnail.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sys/stat.h>

namespace wfhookd {

namespace {} // namespace

bool prepare_store(const StoreConfig& config, bool at_start, std::string& error) {
    if (!config.enabled) return true;
    struct stat st {};
    if (stat(config.root.c_str(), &st) != 0) {
        if (!make_dirs(config.root, error, 02750)) {
            error = "[store] root: " + error;
            return false;
        }
        log(Level::notice, "store: created {} (empty)", config.root);
    }
    if (!make_dirs(config.thumbnail_cache, error)) {
        error = "[store] thumbnail_cache: " + error;
        return false;
    }
    Store store(config);
    if (!store.open(error)) return false;
    // No upload is in progress at start: every temporary file left is from one that died.
    if (at_start && !config.read_only) Store::purge(config, 0, true);
    if (store.index().count() > 0) return true;
    const std::int64_t start = monotonic_ns();
    ReindexStats stats;
    if (!store.reindex(stats, error)) return false;
    log(Level::notice,
        "store: indexed {} folders and {} files under {} in {:.1f} s ({} ids read back from the "
        "items, {} new)",
        stats.folders, stats.files, config.root, (monotonic_ns() - start) / 1e9, stats.kept_ids,
        stats.new_ids);
    return true;
}

int reindex_command(const StoreConfig& config) {
    if (!config.enabled) {
        std::fprintf(stderr, "wfhookd: no [store] section: there is nothing to index\n");
        return 1;
    }
    Store store(config);
    std::string error;
    ReindexStats stats;
    if (!store.open(error) || !store.reindex(stats, error)) {
        std::fprintf(stderr, "wfhookd: %s\n", error.c_str());
        return 1;
    }
    std::printf("indexed %llu folders and %llu files under %s: %llu ids kept, %llu new, %llu "
                "vanished items removed\n",
                static_cast<unsigned long long>(stats.folders),
                static_cast<unsigned long long>(stats.files), config.root.c_str(),
                static_cast<unsigned long long>(stats.kept_ids),
                static_cast<unsigned long long>(stats.new_ids),
                static_cast<unsigned long long>(stats.removed));
    return 0;
}

namespace {
std::int64_t g_next_upload_sweep_ns = 0; // the master's: one sweep an hour
} // namespace

void store_housekeeping(const StoreConfig& config) {
    if (!config.enabled) return;
    Thumbnailer::trim_cache(config.thumbnail_cache, config.thumbnail_cache_size);
    // Uploads write continuously: a named temporary file untouched for an hour belongs to
    // one that is gone (most never have a name: O_TMPFILE). Looking for them walks the whole
    // tree, so once an hour; the trash, every time.
    if (config.read_only) return;
    const std::int64_t now = monotonic_ns();
    const bool uploads = now >= g_next_upload_sweep_ns;
    if (uploads) g_next_upload_sweep_ns = now + 3600 * 1'000'000'000LL;
    Store::purge(config, 3600, uploads);
}

} // namespace wfhookd
