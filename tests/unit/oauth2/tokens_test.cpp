// The token database: single-use codes, rotating refresh tokens, reuse detection, revocation,
// expiry, and nothing but hashes at rest.
#include "oauth2/tokens.hpp"
#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <sqlite3.h>

#include <chrono>
#include <thread>

using wfhookd::GrantInfo;
using wfhookd::Issued;
using wfhookd::TokenStore;
using wfhookd::TokenTtls;
using Result = wfhookd::TokenStore::Result;

namespace {

struct Fixture {
    wftest::TempDir dir;
    std::string file = dir.file("tokens.sqlite");
    TokenStore tokens;
    TokenTtls ttls{3600, 86400, 300};
    Fixture() {
        std::string error;
        BOOST_TEST_REQUIRE(tokens.open(file, error), error);
    }
    std::string code(const std::string& user = "ann", const std::string& client = "workfront") {
        std::string c;
        BOOST_TEST_REQUIRE((tokens.new_code(user, client, ttls, c) == Result::ok));
        return c;
    }
    Issued exchange(const std::string& c, const std::string& client = "workfront") {
        Issued t;
        std::string user;
        BOOST_TEST_REQUIRE((tokens.exchange_code(c, client, ttls, t, user) == Result::ok));
        return t;
    }
    bool valid(const std::string& access) {
        std::string user;
        return tokens.check_access(access, user) == Result::ok;
    }
    // Every byte string stored in the token tables, as text.
    std::string dump() const {
        sqlite3* db = nullptr;
        sqlite3_open(file.c_str(), &db);
        std::string out;
        sqlite3_exec(
            db, "SELECT quote(hash) || ' ' || kind FROM oauth2_tokens",
            [](void* o, int, char** v, char**) {
                static_cast<std::string*>(o)->append(v[0] ? v[0] : "").append("\n");
                return 0;
            },
            &out, nullptr);
        sqlite3_close(db);
        return out;
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(tokens)

BOOST_AUTO_TEST_CASE(a_code_buys_one_pair_of_tokens_for_its_user) {
    Fixture f;
    const std::string c = f.code("ann@example.com");
    BOOST_TEST(c.size() == 43u); // 256 bits, base64url
    Issued t;
    std::string user;
    BOOST_TEST_REQUIRE((f.tokens.exchange_code(c, "workfront", f.ttls, t, user) == Result::ok));
    BOOST_TEST(user == "ann@example.com");
    BOOST_TEST(t.access_token.size() == 43u);
    BOOST_TEST(t.refresh_token.size() == 43u);
    BOOST_TEST(t.access_token != t.refresh_token);
    BOOST_TEST(t.expires_in == 3600u);
    std::string who;
    BOOST_TEST_REQUIRE((f.tokens.check_access(t.access_token, who) == Result::ok));
    BOOST_TEST(who == "ann@example.com");
    // A refresh token is not an access token, nor a code.
    BOOST_TEST(!f.valid(t.refresh_token));
    BOOST_TEST(!f.valid(c));
}

BOOST_AUTO_TEST_CASE(only_hashes_are_stored) {
    Fixture f;
    const std::string c = f.code();
    const Issued t = f.exchange(c);
    const std::string rows = f.dump();
    BOOST_TEST(rows.find(c) == std::string::npos);
    BOOST_TEST(rows.find(t.access_token) == std::string::npos);
    BOOST_TEST(rows.find(t.refresh_token) == std::string::npos);
    BOOST_TEST(rows.find("X'") != std::string::npos, rows); // blobs: the SHA-256 values
}

BOOST_AUTO_TEST_CASE(a_code_used_twice_revokes_what_it_bought) {
    Fixture f;
    const std::string c = f.code();
    const Issued t = f.exchange(c);
    Issued again;
    std::string user;
    BOOST_TEST((f.tokens.exchange_code(c, "workfront", f.ttls, again, user) == Result::invalid));
    BOOST_TEST(!f.valid(t.access_token));
    BOOST_TEST(
        (f.tokens.refresh(t.refresh_token, "workfront", f.ttls, again, user) == Result::invalid));
    // And a third time: still refused.
    BOOST_TEST((f.tokens.exchange_code(c, "workfront", f.ttls, again, user) == Result::invalid));
}

BOOST_AUTO_TEST_CASE(a_refresh_rotates_and_a_reused_refresh_token_revokes_the_grant) {
    Fixture f;
    const Issued first = f.exchange(f.code());
    Issued second;
    std::string user;
    BOOST_TEST_REQUIRE(
        (f.tokens.refresh(first.refresh_token, "workfront", f.ttls, second, user) == Result::ok));
    BOOST_TEST(user == "ann");
    BOOST_TEST(second.refresh_token != first.refresh_token);
    BOOST_TEST(f.valid(second.access_token));
    BOOST_TEST(!f.valid(first.access_token)); // one live pair per grant
    // The old refresh token again: it leaked; the whole grant goes.
    Issued stolen;
    BOOST_TEST((f.tokens.refresh(first.refresh_token, "workfront", f.ttls, stolen, user) ==
                Result::invalid));
    BOOST_TEST(!f.valid(second.access_token));
    BOOST_TEST((f.tokens.refresh(second.refresh_token, "workfront", f.ttls, stolen, user) ==
                Result::invalid));
}

// A spent refresh token is kept to recognise a second use, but not for its whole lifetime.
BOOST_AUTO_TEST_CASE(a_spent_refresh_token_is_kept_two_weeks_at_most) {
    Fixture f;
    f.ttls.refresh = 90 * 86400;
    const Issued first = f.exchange(f.code());
    Issued second;
    std::string user;
    BOOST_TEST_REQUIRE(
        (f.tokens.refresh(first.refresh_token, "workfront", f.ttls, second, user) == Result::ok));
    sqlite3* db = nullptr;
    sqlite3_open(f.file.c_str(), &db);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db,
                       "SELECT max(expires) - strftime('%s','now') FROM oauth2_tokens WHERE "
                       "kind = 3 AND used = 1",
                       -1, &st, nullptr);
    BOOST_TEST_REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    const sqlite3_int64 left = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    BOOST_TEST(left <= 14 * 86400);
    BOOST_TEST(left > 13 * 86400);
}

BOOST_AUTO_TEST_CASE(another_client_cannot_use_a_code_or_refresh_token) {
    Fixture f;
    const std::string c = f.code("ann", "workfront");
    Issued t;
    std::string user;
    BOOST_TEST((f.tokens.exchange_code(c, "other", f.ttls, t, user) == Result::invalid));
    const Issued mine = f.exchange(c, "workfront"); // not spent by the failed try
    BOOST_TEST((f.tokens.refresh(mine.refresh_token, "other", f.ttls, t, user) == Result::invalid));
    BOOST_TEST(f.valid(mine.access_token));
}

BOOST_AUTO_TEST_CASE(expired_codes_and_tokens_are_refused_and_purged) {
    Fixture f;
    f.ttls = TokenTtls{1, 1, 1};
    const std::string c = f.code();
    const Issued t = f.exchange(f.code());
    // Expiry is in whole seconds: past the next second boundary all three have expired.
    const auto start = std::chrono::system_clock::now();
    while (std::chrono::system_clock::now() - start < std::chrono::milliseconds(2100))
        std::this_thread::sleep_for(std::chrono::milliseconds(50)); // time itself is the input
    Issued out;
    std::string user;
    BOOST_TEST((f.tokens.exchange_code(c, "workfront", f.ttls, out, user) == Result::invalid));
    BOOST_TEST(!f.valid(t.access_token));
    BOOST_TEST(
        (f.tokens.refresh(t.refresh_token, "workfront", f.ttls, out, user) == Result::invalid));
    BOOST_TEST_REQUIRE(f.tokens.purge());
    BOOST_TEST(f.dump().empty());
    std::vector<GrantInfo> grants;
    BOOST_TEST_REQUIRE(f.tokens.list_grants(grants));
    BOOST_TEST(grants.empty());
}

BOOST_AUTO_TEST_CASE(revoking_a_user_cuts_every_grant_of_theirs_only) {
    Fixture f;
    const Issued a1 = f.exchange(f.code("ann"));
    const Issued a2 = f.exchange(f.code("ann"));
    const Issued b = f.exchange(f.code("bob"));
    std::vector<GrantInfo> grants;
    BOOST_TEST_REQUIRE(f.tokens.list_grants(grants));
    BOOST_TEST(grants.size() == 3u);
    BOOST_TEST(f.tokens.revoke_user("ann") == 2);
    BOOST_TEST(!f.valid(a1.access_token));
    BOOST_TEST(!f.valid(a2.access_token));
    BOOST_TEST(f.valid(b.access_token));
    Issued out;
    std::string user;
    BOOST_TEST(
        (f.tokens.refresh(a1.refresh_token, "workfront", f.ttls, out, user) == Result::invalid));
    BOOST_TEST_REQUIRE(f.tokens.list_grants(grants));
    BOOST_TEST_REQUIRE(grants.size() == 1u);
    BOOST_TEST(grants[0].user == "bob");
    BOOST_TEST(grants[0].expires > grants[0].created);
    BOOST_TEST(f.tokens.revoke_user("nobody") == 0);
}

BOOST_AUTO_TEST_CASE(a_revocation_is_seen_by_another_connection_at_once) {
    Fixture f;
    const Issued t = f.exchange(f.code("ann"));
    TokenStore other; // another worker
    std::string error, user;
    BOOST_TEST_REQUIRE(other.open(f.file, error), error);
    BOOST_TEST((other.check_access(t.access_token, user) == Result::ok));
    BOOST_TEST(f.tokens.revoke_user("ann") == 1);
    BOOST_TEST((other.check_access(t.access_token, user) == Result::invalid));
}

BOOST_AUTO_TEST_CASE(unknown_values_are_invalid_not_errors) {
    Fixture f;
    Issued out;
    std::string user;
    for (const std::string& v : {std::string(), std::string("x"), std::string(10240, 'A'),
                                 std::string("\0\xff'\";--", 8)}) {
        BOOST_TEST((f.tokens.check_access(v, user) == Result::invalid));
        BOOST_TEST((f.tokens.exchange_code(v, "workfront", f.ttls, out, user) == Result::invalid));
        BOOST_TEST((f.tokens.refresh(v, "workfront", f.ttls, out, user) == Result::invalid));
    }
}

BOOST_AUTO_TEST_SUITE_END()
