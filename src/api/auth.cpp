#include "api/auth.hpp"

#include "api/context.hpp"
#include "api/store_context.hpp"
#include "util/clock.hpp"

#include <charconv>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace wfhookd {

bool constant_time_equal(std::string_view a, std::string_view b) {
    // Walk the full length of `b` (the secret) whatever `a` is, 8 bytes at a time, and fold a
    // length mismatch in. Bytes of `a` past its end read as zero (copied, never read out of
    // bounds); no branch depends on the data.
    std::uint64_t diff = a.size() ^ b.size();
    const std::size_t n = b.size();
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t x = 0, y = 0;
        if (i + 8 <= a.size())
            std::memcpy(&x, a.data() + i, 8);
        else if (i < a.size())
            std::memcpy(&x, a.data() + i, a.size() - i);
        std::memcpy(&y, b.data() + i, 8);
        diff |= x ^ y;
    }
    for (; i < n; ++i) {
        const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
        diff |= x ^ static_cast<unsigned char>(b[i]);
    }
    // Keep the compiler from turning the loop back into an early-exit comparison.
    asm volatile("" : "+r"(diff));
    return diff == 0;
}

std::string_view check_link(const Context& ctx, std::string_view endpoint, std::string_view id,
                            std::string_view expires, std::string_view sig) {
    if (ctx.store == nullptr || sig.empty()) return "missing apiKey header";
    std::int64_t until = 0;
    const auto [end, ec] = std::from_chars(expires.data(), expires.data() + expires.size(), until);
    if (expires.empty() || ec != std::errc() || end != expires.data() + expires.size() ||
        !ctx.store->signer.valid(endpoint, id, until, sig))
        return "invalid link";
    if (realtime_ns() / 1'000'000'000 > until)
        return "this link has expired; open the document again from Workfront";
    return {};
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
