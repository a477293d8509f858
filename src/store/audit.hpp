// Who changed what in the store: one JSON line per change in [store] audit_file, with the
// durability and rotation rules of the append action (actions/append.cpp).
#pragma once

#include "config/config.hpp"

#include <string_view>

namespace wfhookd {

// `from`/`to`: the item's location relative to the root before and after (empty: none, as
// for a new item or a deletion). The change itself is done and durable: a line that cannot
// be written is logged as an error, not reported to the user.
void store_audit(const StoreConfig& config, std::string_view user, std::string_view endpoint,
                 std::string_view id, std::string_view from, std::string_view to);

} // namespace wfhookd
