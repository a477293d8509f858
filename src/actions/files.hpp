// What action types share for files: the failure they report (the durable-write steps are in
// util/fs.hpp).
#pragma once

#include "actions/action.hpp"
#include "util/fs.hpp"

#include <string>
#include <string_view>

namespace wfhookd {

// The user sees "could not record the action (<reason>)"; the log gets "<what> <path>: <reason>".
ActionResult file_failure(std::string_view what, const std::string& path, int err);

// Appends one line (a newline is added) to a JSON-lines file the way the `append` action does:
// a regular file of the daemon's own, never through a link, under a lock held at most
// `lock_timeout` seconds (503 after), a partial line of ours repaired first, fsync'ed (and its
// folder, for a file's first line) before it returns success. The store's audit log uses it.
ActionResult append_json_line(const std::string& file, std::string line, unsigned lock_timeout);

} // namespace wfhookd
