#include "oauth2/tokens.hpp"

#include "util/base64.hpp"
#include "util/clock.hpp"
#include "util/digest.hpp"

#include <sqlite3.h>

namespace wfhookd {

namespace {

constexpr int kBusyTimeoutMs = 10'000;
constexpr std::size_t kTokenBytes = 32; // 256 bits
constexpr std::int64_t kSpentKeptSeconds = 14 * 86400;

// Tables of their own, beside the store's (which versions its schema with user_version: these
// are created when missing and never change shape without a new name).
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS oauth2_grants (
    id INTEGER PRIMARY KEY,
    user TEXT NOT NULL,
    client_id TEXT NOT NULL,
    created INTEGER NOT NULL,
    last_used INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS oauth2_grants_user ON oauth2_grants(user);
CREATE TABLE IF NOT EXISTS oauth2_tokens (
    hash BLOB PRIMARY KEY,
    kind INTEGER NOT NULL,
    grant_id INTEGER NOT NULL,
    expires INTEGER NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS oauth2_tokens_grant ON oauth2_tokens(grant_id);
)sql";

std::int64_t now_s() {
    return realtime_ns() / 1'000'000'000;
}

// A transaction that rolls back unless committed.
class Transaction {
public:
    explicit Transaction(sqlite3* db) : db_(db) {
        // IMMEDIATE: the write lock now, so two workers spending one token are serialised.
        ok_ = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK;
    }
    ~Transaction() {
        if (ok_ && !done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    bool ok() const { return ok_; }
    bool commit() {
        done_ = true;
        return sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK;
    }

private:
    sqlite3* db_;
    bool ok_ = false, done_ = false;
};

} // namespace

TokenStore::~TokenStore() {
    if (db_ != nullptr) sqlite3_close(db_);
}

bool TokenStore::exec(const char* sql) {
    return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
}

std::string TokenStore::last_error() const {
    return db_ != nullptr ? sqlite3_errmsg(db_) : "no token database";
}

bool TokenStore::open(const std::string& file, std::string& error) {
    if (sqlite3_open_v2(file.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                            SQLITE_OPEN_EXRESCODE,
                        nullptr) != SQLITE_OK) {
        error = file + ": " + last_error();
        return false;
    }
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    // FULL: a token handed out is on disk, as is a revocation before --revoke returns.
    if (!exec("PRAGMA journal_mode = WAL") || !exec("PRAGMA synchronous = FULL") ||
        !exec(kSchema)) {
        error = file + ": " + last_error();
        return false;
    }
    return true;
}

bool TokenStore::insert_token(std::string_view token, Kind kind, std::int64_t grant,
                              std::int64_t expires) {
    Statement s(db_, "INSERT INTO oauth2_tokens (hash, kind, grant_id, expires) "
                     "VALUES (?1, ?2, ?3, ?4)");
    s.bind_blob(1, sha256(token)).bind(2, std::int64_t{kind}).bind(3, grant).bind(4, expires);
    s.step();
    return s.ok();
}

bool TokenStore::issue(std::int64_t grant, const TokenTtls& ttls, std::int64_t now, Issued& out) {
    out.access_token = random_token(kTokenBytes);
    out.refresh_token = random_token(kTokenBytes);
    out.expires_in = ttls.access;
    return insert_token(out.access_token, kAccess, grant, now + std::int64_t(ttls.access)) &&
           insert_token(out.refresh_token, kRefresh, grant, now + std::int64_t(ttls.refresh));
}

bool TokenStore::revoke_grant(std::int64_t grant) {
    Statement r(db_, "UPDATE oauth2_grants SET revoked = 1 WHERE id = ?1");
    r.bind(1, grant);
    r.step();
    // Access and refresh tokens go; spent codes stay until they expire, so that a third try
    // is still recognised.
    Statement d(db_, "DELETE FROM oauth2_tokens WHERE grant_id = ?1 AND kind != 1");
    d.bind(1, grant);
    d.step();
    return r.ok() && d.ok();
}

TokenStore::Result TokenStore::new_code(std::string_view user, std::string_view client_id,
                                        const TokenTtls& ttls, std::string& code) {
    const std::int64_t now = now_s();
    Transaction tx(db_);
    if (!tx.ok()) return Result::error;
    Statement g(db_, "INSERT INTO oauth2_grants (user, client_id, created, last_used) "
                     "VALUES (?1, ?2, ?3, ?3)");
    g.bind(1, user).bind(2, client_id).bind(3, now);
    g.step();
    if (!g.ok()) return Result::error;
    code = random_token(kTokenBytes);
    if (!insert_token(code, kCode, sqlite3_last_insert_rowid(db_), now + std::int64_t(ttls.code)))
        return Result::error;
    return tx.commit() ? Result::ok : Result::error;
}

TokenStore::Result TokenStore::spend(std::string_view token, Kind kind, std::string_view client_id,
                                     std::int64_t& grant, std::string& user) {
    const std::int64_t now = now_s();
    Statement s(db_, "SELECT t.grant_id, t.expires, t.used, g.user, g.client_id, g.revoked "
                     "FROM oauth2_tokens t JOIN oauth2_grants g ON g.id = t.grant_id "
                     "WHERE t.hash = ?1 AND t.kind = ?2");
    s.bind_blob(1, sha256(token)).bind(2, std::int64_t{kind});
    if (!s.step()) return s.ok() ? Result::invalid : Result::error;
    grant = s.integer(0);
    const bool expired = s.integer(1) <= now;
    const bool used = s.integer(2) != 0;
    user = s.text(3);
    const bool other_client = s.text(4) != client_id;
    const bool revoked = s.integer(5) != 0;
    if (revoked || expired || other_client) return Result::invalid;
    if (used) return revoke_grant(grant) ? Result::invalid : Result::error;
    // Spent, it is kept to recognise a second use, for two weeks at most: rows of a refresh
    // every hour for 90 days would pile up.
    Statement u(db_, "UPDATE oauth2_tokens SET used = 1, expires = min(expires, ?2) "
                     "WHERE hash = ?1");
    u.bind_blob(1, sha256(token)).bind(2, now + kSpentKeptSeconds);
    u.step();
    Statement g(db_, "UPDATE oauth2_grants SET last_used = ?2 WHERE id = ?1");
    g.bind(1, grant).bind(2, now);
    g.step();
    return u.ok() && g.ok() ? Result::ok : Result::error;
}

TokenStore::Result TokenStore::exchange_code(std::string_view code, std::string_view client_id,
                                             const TokenTtls& ttls, Issued& out,
                                             std::string& user) {
    Transaction tx(db_);
    if (!tx.ok()) return Result::error;
    std::int64_t grant = 0;
    const Result r = spend(code, kCode, client_id, grant, user);
    // A revocation must stick even though the answer is "invalid".
    if (r != Result::ok) return tx.commit() || r == Result::error ? r : Result::error;
    if (!issue(grant, ttls, now_s(), out)) return Result::error;
    return tx.commit() ? Result::ok : Result::error;
}

TokenStore::Result TokenStore::refresh(std::string_view refresh_token, std::string_view client_id,
                                       const TokenTtls& ttls, Issued& out, std::string& user) {
    Transaction tx(db_);
    if (!tx.ok()) return Result::error;
    std::int64_t grant = 0;
    const Result r = spend(refresh_token, kRefresh, client_id, grant, user);
    if (r != Result::ok) return tx.commit() || r == Result::error ? r : Result::error;
    // The access tokens of the old refresh token go with it: one live pair per grant.
    Statement d(db_, "DELETE FROM oauth2_tokens WHERE grant_id = ?1 AND kind = 2");
    d.bind(1, grant);
    d.step();
    if (!d.ok() || !issue(grant, ttls, now_s(), out)) return Result::error;
    return tx.commit() ? Result::ok : Result::error;
}

TokenStore::Result TokenStore::check_access(std::string_view access_token, std::string& user) {
    Statement s(db_, "SELECT g.user FROM oauth2_tokens t JOIN oauth2_grants g ON g.id = t.grant_id "
                     "WHERE t.hash = ?1 AND t.kind = 2 AND t.expires > ?2 AND g.revoked = 0");
    s.bind_blob(1, sha256(access_token)).bind(2, now_s());
    if (!s.step()) return s.ok() ? Result::invalid : Result::error;
    user = s.text(0);
    return Result::ok;
}

int TokenStore::revoke_user(std::string_view user) {
    Transaction tx(db_);
    if (!tx.ok()) return -1;
    Statement s(db_, "SELECT id FROM oauth2_grants WHERE user = ?1 AND revoked = 0");
    s.bind(1, user);
    std::vector<std::int64_t> grants;
    while (s.step())
        grants.push_back(s.integer(0));
    if (!s.ok()) return -1;
    for (const std::int64_t g : grants)
        if (!revoke_grant(g)) return -1;
    return tx.commit() ? static_cast<int>(grants.size()) : -1;
}

bool TokenStore::list_grants(std::vector<GrantInfo>& out) {
    out.clear();
    Statement s(db_, "SELECT g.id, g.user, g.client_id, g.created, g.last_used, "
                     "(SELECT max(expires) FROM oauth2_tokens t WHERE t.grant_id = g.id AND "
                     "t.kind = 3 AND t.used = 0 AND t.expires > ?1) "
                     "FROM oauth2_grants g WHERE g.revoked = 0 ORDER BY g.user, g.created");
    s.bind(1, now_s());
    while (s.step()) {
        GrantInfo g;
        g.id = s.integer(0);
        g.user = s.text(1);
        g.client_id = s.text(2);
        g.created = s.integer(3);
        g.last_used = s.integer(4);
        g.expires = s.integer(5);
        out.push_back(std::move(g));
    }
    return s.ok();
}

bool TokenStore::purge() {
    Transaction tx(db_);
    if (!tx.ok()) return false;
    Statement t(db_, "DELETE FROM oauth2_tokens WHERE expires <= ?1");
    t.bind(1, now_s());
    t.step();
    // A grant whose codes and tokens are all gone can never be used again.
    const bool grants = exec("DELETE FROM oauth2_grants WHERE NOT EXISTS "
                             "(SELECT 1 FROM oauth2_tokens t WHERE t.grant_id = oauth2_grants.id)");
    return t.ok() && grants && tx.commit();
}

} // namespace wfhookd
