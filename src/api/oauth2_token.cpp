// POST <base>/oauth2/token: the OAuth2 "Token Endpoint URL" (RFC 6749 §3.2, §4.1.3, §6).
// Workfront authenticates as the client (client_id and client_secret as parameters, or HTTP
// Basic, §2.3.1) and trades a code, or a refresh token, for an access token and a new refresh
// token. Errors are RFC 6749 §5.2 objects; nothing here is ever cached.
#include "api/auth.hpp"
#include "api/handlers.hpp"

#include "http/json_writer.hpp"
#include "http/query.hpp"
#include "oauth2/oauth2_context.hpp"
#include "util/log.hpp"

#include <openssl/evp.h>

namespace wfhookd {

namespace {

void headers(Response& res) {
    res.content_type.assign("application/json; charset=utf-8");
    res.cache_control = "no-store";
    res.add_header("Pragma", "no-cache");
}

void oauth_error(Response& res, int status, std::string_view error, std::string_view why) {
    res.set_oauth2_error(status, error, why);
    if (status == 401) res.add_header("WWW-Authenticate", "Basic realm=\"wfhookd\"");
}

// RFC 7617 credentials, each part form-urlencoded (RFC 6749 §2.3.1). false when malformed.
bool basic_credentials(std::string_view header, std::string& id, std::string& secret) {
    constexpr std::string_view kScheme = "basic ";
    if (header.size() <= kScheme.size() || header.size() > 2048) return false;
    for (std::size_t i = 0; i < kScheme.size(); ++i)
        if ((header[i] | 0x20) != kScheme[i] && header[i] != kScheme[i]) return false;
    const std::string_view b64 = header.substr(kScheme.size());
    if (b64.size() % 4 != 0) return false;
    std::string raw(b64.size() / 4 * 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(raw.data()),
                                  reinterpret_cast<const unsigned char*>(b64.data()),
                                  static_cast<int>(b64.size()));
    if (n < 0) return false;
    std::size_t len = static_cast<std::size_t>(n);
    for (std::size_t i = b64.size(); i > 0 && b64[i - 1] == '=' && len > 0; --i)
        --len; // EVP_DecodeBlock counts the padding as zero bytes
    raw.resize(len);
    const std::size_t colon = raw.find(':');
    if (colon == std::string::npos) return false;
    std::string error, scratch;
    const std::string_view a =
        percent_decode(std::string_view(raw).substr(0, colon), scratch, error);
    id.assign(a);
    scratch.clear();
    const std::string_view b =
        percent_decode(std::string_view(raw).substr(colon + 1), scratch, error);
    secret.assign(b);
    return error.empty();
}

void issued(Response& res, const Issued& t) {
    res.status = 200;
    headers(res);
    res.body.clear();
    JsonWriter(res.body)
        .begin_object()
        .field("access_token", std::string_view(t.access_token))
        .field("token_type", "Bearer")
        .field("expires_in", static_cast<std::uint64_t>(t.expires_in))
        .field("refresh_token", std::string_view(t.refresh_token))
        .end_object();
}

} // namespace

void handle_token(const Context& ctx, const Call& call, Response& res) {
    const OAuth2Config& config = ctx.config->oauth2;
    OAuth2Context& oc = *ctx.oauth2;
    const auto& p = call.params_as<TokenParams>();
    if (!call.request.path.ends_with("/oauth2/token"))
        return res.set_error(404, "unknown endpoint");

    // Who is asking: the client, by parameters or by Basic, not both (RFC 6749 §2.3).
    std::string id, secret;
    const bool basic = !call.request.authorization.empty();
    if (basic && p.client_secret.present)
        return oauth_error(res, 400, "invalid_request",
                           "client credentials were sent both in Authorization and as parameters");
    if (basic) {
        if (!basic_credentials(call.request.authorization, id, secret))
            return oauth_error(res, 401, "invalid_client",
                               "the Authorization header is not HTTP Basic client credentials");
        if (p.client_id.present && p.client_id.value != id)
            return oauth_error(res, 400, "invalid_request", "two different client_id values");
    } else {
        id.assign(p.client_id.value);
        secret.assign(p.client_secret.value);
    }
    // Both compared in full whatever the first one gave: the time says nothing.
    const bool id_ok = constant_time_equal(id, config.client_id);
    const bool secret_ok = constant_time_equal(secret, config.client_secret);
    if (!(id_ok & secret_ok))
        return oauth_error(res, 401, "invalid_client", "unknown client or wrong client secret");

    if (p.grant_type.empty())
        return oauth_error(res, 400, "invalid_request", "grant_type is missing");
    if (p.redirect_uri.present && p.redirect_uri.value != config.redirect_uri)
        return oauth_error(res, 400, "invalid_grant", "redirect_uri is not the one configured");
    Issued t;
    std::string user;
    TokenStore::Result r;
    if (p.grant_type.value == "authorization_code") {
        if (p.code.empty()) return oauth_error(res, 400, "invalid_request", "code is missing");
        r = oc.tokens.exchange_code(p.code.value, config.client_id, oc.ttls, t, user);
    } else if (p.grant_type.value == "refresh_token") {
        if (p.refresh_token.empty())
            return oauth_error(res, 400, "invalid_request", "refresh_token is missing");
        r = oc.tokens.refresh(p.refresh_token.value, config.client_id, oc.ttls, t, user);
    } else {
        return oauth_error(res, 400, "unsupported_grant_type",
                           "grant_type must be authorization_code or refresh_token");
    }
    switch (r) {
    case TokenStore::Result::ok:
        issued(res, t);
        return;
    case TokenStore::Result::invalid:
        // Unknown, expired, already used (the grant is then revoked), or revoked.
        return oauth_error(res, 400, "invalid_grant",
                           p.grant_type.value == "authorization_code"
                               ? "the code is not valid (unknown, expired or already used)"
                               : "the refresh token is not valid (unknown, expired, already "
                                 "used or revoked)");
    case TokenStore::Result::error:
        log(Level::error, "oauth2: the token database failed: {}", oc.tokens.last_error());
        return oauth_error(res, 500, "server_error", "the token database failed; try again");
    }
}

} // namespace wfhookd
