// What the OAuth2 endpoints and the bearer check need in a worker: the token database (its own
// SQLite connection, opened after the fork) and the key of the consent form's CSRF tokens.
#pragma once

#include "config/config.hpp"
#include "http/links.hpp"
#include "oauth2/tokens.hpp"

namespace wfhookd {

struct OAuth2Context {
    explicit OAuth2Context(const OAuth2Config& c)
        : config(c),
          csrf(c.client_secret), ttls{c.access_token_ttl, c.refresh_token_ttl, c.code_ttl} {}

    const OAuth2Config& config;
    TokenStore tokens;
    // HMAC-SHA-256 keyed with the client secret: the consent form's token binds the user, the
    // state and an expiry (oauth2/authorize.cpp).
    LinkSigner csrf;
    TokenTtls ttls;
};

} // namespace wfhookd
