// application/x-www-form-urlencoded query strings, decoded strictly.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace wfhookd {

// Calls visit(key, value) for every non-empty `&`-separated pair, percent-decoded with `+` as
// space. Decoded text goes to `scratch` (cleared first); views handed to `visit` stay valid
// until `scratch` is next modified. Returns an
// empty string on success or a message saying what is malformed; visiting stops at the first
// error. A pair without `=` has an empty value.
template <typename Visit>
std::string parse_query(std::string_view query, std::string& scratch, Visit&& visit);

// Percent-decodes `in` into `scratch` (appending) and returns a view of the result, or an
// error message via `error`. Exposed for the table-driven tests.
std::string_view percent_decode(std::string_view in, std::string& scratch, std::string& error);

} // namespace wfhookd

#include "http/query_impl.hpp"
