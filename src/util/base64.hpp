// base64url (RFC 4648 §5) without padding: ids, link signatures, tokens. URL-safe as is.
#pragma once

#include <string>
#include <string_view>

namespace wfhookd {

std::string base64url_encode(std::string_view bytes);

// Random bytes from getrandom(2), base64url-encoded: `bytes` of entropy.
std::string random_token(std::size_t bytes);

} // namespace wfhookd
