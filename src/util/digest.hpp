// SHA-256 with libcrypto: what tokens are stored as.
#pragma once

#include <string>
#include <string_view>

namespace wfhookd {

// The 32 raw bytes of SHA-256(data).
std::string sha256(std::string_view data);

} // namespace wfhookd
