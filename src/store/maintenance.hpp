// What the master does for the document store, outside any request: at start (and on a
// reload) make the folders it needs and, for a new or empty index, index the whole tree so
// that a search finds files in folders nobody has listed yet; periodically, keep the
// thumbnail cache within its size. SQLite connections opened here are closed before any fork.
#pragma once

#include "config/config.hpp"

#include <string>

namespace wfhookd {

// false with `error` set when the store cannot be served (the root, the index). `at_start`:
// no upload is in progress (not a reload), so every upload's temporary file left is stale.
bool prepare_store(const StoreConfig& config, bool at_start, std::string& error);

// `wfhookd --reindex`: brings the index up to date with the whole tree; prints what it did.
int reindex_command(const StoreConfig& config);

// Periodic housekeeping (the master, every kHousekeepingSeconds).
void store_housekeeping(const StoreConfig& config);
inline constexpr unsigned kHousekeepingSeconds = 60;

} // namespace wfhookd
