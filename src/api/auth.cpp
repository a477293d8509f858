#include "api/auth.hpp"

#include "api/context.hpp"
#include "api/store_context.hpp"
#include "oauth2/oauth2_context.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"

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

BearerCheck check_bearer(const Context& ctx, std::string_view authorization) {
    BearerCheck out;
    if (ctx.oauth2 == nullptr) {
        out.denied = "the Authorization header is not accepted here: send the apiKey header";
        return out;
    }
    // RFC 6750 §2.1: "Bearer" (any case), one space, a b64token. Ours are 43 characters; a
    // value that cannot be one of ours is refused before any lookup.
    constexpr std::string_view kScheme = "bearer ";
    bool scheme = authorization.size() > kScheme.size();
    for (std::size_t i = 0; scheme && i < kScheme.size(); ++i)
        scheme = (authorization[i] | 0x20) == kScheme[i]; // any case; ' ' | 0x20 is ' '
    if (!scheme) {
        out.denied = "unsupported Authorization scheme: send Authorization: Bearer <access token>";
        return out;
    }
    const std::string_view token = authorization.substr(kScheme.size());
    constexpr std::string_view kInvalid = "the access token is not valid; sign in again";
    const bool shaped = token.size() <= 128 && std::all_of(token.begin(), token.end(), [](char c) {
                            return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                                   (c >= '0' && c <= '9') || c == '-' || c == '_';
                        });
    if (!shaped) {
        out.denied = kInvalid;
        return out;
    }
    switch (ctx.oauth2->tokens.check_access(token, ctx.token_user)) {
    case TokenStore::Result::ok:
        break;
    case TokenStore::Result::invalid:
        out.denied = kInvalid;
        return out;
    case TokenStore::Result::error:
        log(Level::error, "oauth2: checking an access token failed: {}",
            ctx.oauth2->tokens.last_error());
        out.failed = true;
        return out;
    }
    const std::vector<std::string>& users = ctx.config->auth.users;
    if (!users.empty() && std::find(users.begin(), users.end(), ctx.token_user) == users.end()) {
        out.denied = "username is not allowed to use this service";
        return out;
    }
    out.user = ctx.token_user;
    return out;
}

} // namespace wfhookd
