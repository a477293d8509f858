#include "actions/files.hpp"

#include <cstring>
#include <fmt/format.h>

namespace wfhookd {

ActionResult file_failure(std::string_view what, const std::string& path, int err) {
    return {false, fmt::format("could not record the action ({})", strerror(err)),
            fmt::format("{} {}: {}", what, path, strerror(err))};
}

} // namespace wfhookd
