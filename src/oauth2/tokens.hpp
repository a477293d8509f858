// Grants, authorization codes, access and refresh tokens (RFC 6749, RFC 9700), in SQLite:
// the store's index file when there is a store (tables of their own), else [oauth2] database.
// Every code and token is 256 random bits (getrandom), handed out base64url-encoded, and
// stored only as its SHA-256: a copy of the database gives nobody a usable token.
//
// A grant is one user's consent; codes and tokens belong to it. A code is used once; a refresh
// token is replaced by a new one at each use (rotation). A code or refresh token presented a
// second time means it leaked: the whole grant is revoked (RFC 6749 §4.1.2, RFC 9700 §4.14).
#pragma once

#include "store/index.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;

namespace wfhookd {

struct Issued {
    std::string access_token;
    std::string refresh_token;
    std::uint64_t expires_in = 0;
};

struct TokenTtls {
    std::uint64_t access = 3600, refresh = 90 * 86400, code = 300;
};

struct GrantInfo {
    std::int64_t id = 0;
    std::string user;
    std::string client_id;
    std::int64_t created = 0;   // Unix seconds
    std::int64_t last_used = 0; // the last code exchange or refresh
    std::int64_t expires = 0;   // of its newest refresh token (0: none left)
};

class TokenStore {
public:
    enum class Result {
        ok,
        invalid, // unknown, expired, used or revoked: invalid_grant / 403
        error,   // the database failed (logged by the caller)
    };

    TokenStore() = default;
    TokenStore(const TokenStore&) = delete;
    TokenStore& operator=(const TokenStore&) = delete;
    ~TokenStore();

    // Opens (creating) the database and its tables. false with `error` set.
    bool open(const std::string& file, std::string& error);
    std::string last_error() const;

    // A new grant for `user` and its authorization code (the consent page's Allow).
    Result new_code(std::string_view user, std::string_view client_id, const TokenTtls& ttls,
                    std::string& code);
    // grant_type=authorization_code. `user` is set on ok.
    Result exchange_code(std::string_view code, std::string_view client_id, const TokenTtls& ttls,
                         Issued& out, std::string& user);
    // grant_type=refresh_token: new access and refresh tokens; the old refresh token is spent.
    Result refresh(std::string_view refresh_token, std::string_view client_id,
                   const TokenTtls& ttls, Issued& out, std::string& user);
    // The user of a valid, unexpired, unrevoked access token.
    Result check_access(std::string_view access_token, std::string& user);

    // Revokes every grant of `user` at once (every worker checks on each request); the
    // number of grants revoked, or -1 on error.
    int revoke_user(std::string_view user);
    bool list_grants(std::vector<GrantInfo>& out);
    // Removes expired codes and tokens, and grants nothing is left of.
    bool purge();

private:
    enum Kind : int { kCode = 1, kAccess = 2, kRefresh = 3 };
    bool exec(const char* sql);
    bool issue(std::int64_t grant, const TokenTtls& ttls, std::int64_t now, Issued& out);
    bool insert_token(std::string_view token, Kind kind, std::int64_t grant, std::int64_t expires);
    bool revoke_grant(std::int64_t grant);
    // Spends a single-use code or refresh token: ok with its grant and user; a second use
    // revokes the grant.
    Result spend(std::string_view token, Kind kind, std::string_view client_id, std::int64_t& grant,
                 std::string& user);

    sqlite3* db_ = nullptr;
};

} // namespace wfhookd
