#include "store/audit.hpp"

#include "actions/files.hpp"
#include "http/json_writer.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"

#include <string>

namespace wfhookd {

void store_audit(const StoreConfig& config, std::string_view user, std::string_view endpoint,
                 std::string_view id, std::string_view from, std::string_view to) {
    std::string line;
    JsonWriter w(line);
    w.begin_object()
        .field("time", rfc3339_now())
        .field("user", user)
        .field("endpoint", endpoint)
        .field("id", id);
    w.key("from");
    if (from.empty())
        w.null();
    else
        w.value(from);
    w.key("to");
    if (to.empty())
        w.null();
    else
        w.value(to);
    w.end_object();
    constexpr unsigned kLockTimeout = 5;
    const ActionResult r = append_json_line(config.audit_file, std::move(line), kLockTimeout);
    if (!r.ok)
        log(Level::error, "store: the audit line of a change to {} was not written: {}", id,
            r.detail);
}

} // namespace wfhookd
