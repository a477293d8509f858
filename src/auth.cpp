#include "auth.hpp"

#include <algorithm>

namespace wfhookd {

bool constant_time_equal(std::string_view a, std::string_view b) {
    // Walk the full length of `b` (the secret) whatever `a` is; fold a length mismatch in.
    unsigned diff = a.size() ^ b.size();
    const std::size_t n = b.size();
    for (std::size_t i = 0; i < n; ++i) {
        const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
        diff |= x ^ static_cast<unsigned char>(b[i]);
    }
    // Keep the compiler from turning the loop back into an early-exit comparison.
    asm volatile("" : "+r"(diff));
    return diff == 0;
}

std::string_view check_auth(const AuthConfig& auth, std::string_view api_key,
                            std::string_view username) {
    if (api_key.empty()) return "missing apiKey header";
    bool match = false;
    for (const std::string& key : auth.keys)
        match |= constant_time_equal(api_key, key);
    if (!match) return "invalid apiKey";
    if (username.empty()) return "missing username header";
    if (!auth.users.empty() &&
        std::find(auth.users.begin(), auth.users.end(), username) == auth.users.end())
        return "username is not allowed to use this service";
    return {};
}

} // namespace wfhookd
