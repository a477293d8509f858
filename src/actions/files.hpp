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

} // namespace wfhookd
