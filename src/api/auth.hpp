// API-key and username checks for authenticated endpoints.
#pragma once

#include "config/config.hpp"

#include <string_view>

namespace wfhookd {

// Compares in time that depends only on the lengths involved, never on where the first
// differing byte is, so response timing does not reveal how much of a guess was right.
bool constant_time_equal(std::string_view a, std::string_view b);

// Empty when the request may proceed; otherwise the message for the 403 body. `api_key` is
// checked against every configured key (no early exit) so the time taken does not depend on
// which key, if any, matched.
std::string_view check_auth(const AuthConfig& auth, std::string_view api_key,
                            std::string_view username);

struct Context;

// An `Authorization` header presented instead of an API key: a bearer token of [oauth2].
struct BearerCheck {
    std::string_view denied; // the 403 message; empty when the token is valid
    bool failed = false;     // the token database failed: 500
    std::string_view user;   // whose token it is (valid until the next request)
};
BearerCheck check_bearer(const Context& ctx, std::string_view authorization);

// Checks a signed link's parts for `endpoint`: empty when it is valid and unexpired, else the
// 403 message. Without `sig`, the request is not a link: "missing apiKey header".
std::string_view check_link(const Context& ctx, std::string_view endpoint, std::string_view id,
                            std::string_view expires, std::string_view sig);

} // namespace wfhookd
