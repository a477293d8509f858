#include "api/auth.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <ostream>
#include <string>
#include <vector>

namespace bdata = boost::unit_test::data;
using wfhookd::AuthConfig;
using wfhookd::check_auth;
using wfhookd::constant_time_equal;

namespace {

struct EqualCase {
    std::string name;
    std::string a, b;
    bool equal;
};

std::ostream& operator<<(std::ostream& os, const EqualCase& c) {
    return os << c.name;
}

const EqualCase kEqualCases[] = {
    {"equal", "0123456789abcdef", "0123456789abcdef", true},
    {"single byte equal", "x", "x", true},
    {"different first byte", "X123456789abcdef", "0123456789abcdef", false},
    {"different last byte", "0123456789abcdeX", "0123456789abcdef", false},
    {"different high bit", "\x80", std::string(1, '\0'), false},
    {"guess is a prefix of the key", "0123", "0123456789abcdef", false},
    {"guess is longer than the key", "0123456789abcdef0", "0123456789abcdef", false},
    {"key followed by NUL", std::string("abc\0", 4), "abc", false},
    {"NUL padding vs shorter", "abc", std::string("abc\0", 4), false},
    {"empty vs empty", "", "", true},
    {"empty guess", "", "secret", false},
    {"empty key", "secret", "", false},
    {"case differs", "ABCDEF", "abcdef", false},
    // Length 256 apart: a length difference that is a multiple of 256 must still count.
    {"lengths 256 apart", std::string(300, 'a'), std::string(44, 'a'), false},
};

struct AuthCase {
    std::string name;
    std::vector<std::string> keys;
    std::vector<std::string> users;
    std::string api_key;
    std::string username;
    std::string denied; // expected message, empty when allowed
};

std::ostream& operator<<(std::ostream& os, const AuthCase& c) {
    return os << c.name;
}

const std::string kA = "aaaaaaaaaaaaaaaa1", kB = "bbbbbbbbbbbbbbbb2", kC = "cccccccccccccccc3";
const std::vector<std::string> kKeys = {kA, kB, kC};

const AuthCase kAuthCases[] = {
    {"missing key", kKeys, {}, "", "alice", "missing apiKey header"},
    {"missing key and user", kKeys, {}, "", "", "missing apiKey header"},
    {"wrong key", kKeys, {}, "wrong-key-wrong-key", "alice", "invalid apiKey"},
    {"wrong key, missing user", kKeys, {}, "wrong", "", "invalid apiKey"},
    {"prefix of a key", kKeys, {}, kA.substr(0, 10), "alice", "invalid apiKey"},
    {"key plus a byte", kKeys, {}, kA + "x", "alice", "invalid apiKey"},
    {"two keys glued", kKeys, {}, kA + kB, "alice", "invalid apiKey"},
    {"first key", kKeys, {}, kA, "alice", ""},
    {"middle key", kKeys, {}, kB, "alice", ""},
    {"last key", kKeys, {}, kC, "alice", ""},
    {"no keys configured", {}, {}, kA, "alice", "invalid apiKey"},
    {"right key, missing username", kKeys, {}, kA, "", "missing username header"},
    {"user in allow-list", kKeys, {"alice", "bob"}, kB, "bob", ""},
    {"first user in allow-list", kKeys, {"alice", "bob"}, kB, "alice", ""},
    {"user not in allow-list",
     kKeys,
     {"alice", "bob"},
     kB,
     "mallory",
     "username is not allowed to use this service"},
    {"allow-list is exact, not prefix",
     kKeys,
     {"alice"},
     kA,
     "alic",
     "username is not allowed to use this service"},
    {"allow-list is case-sensitive",
     kKeys,
     {"alice"},
     kA,
     "Alice",
     "username is not allowed to use this service"},
    {"allow-list checked after the key", kKeys, {"alice"}, "wrong", "mallory", "invalid apiKey"},
    {"missing username with allow-list", kKeys, {"alice"}, kA, "", "missing username header"},
    {"empty allow-list allows anyone", kKeys, {}, kC, "anyone@example.com", ""},
};

} // namespace

BOOST_AUTO_TEST_SUITE(auth)

BOOST_DATA_TEST_CASE(constant_time_equal_table, bdata::make(kEqualCases), c) {
    BOOST_TEST(constant_time_equal(c.a, c.b) == c.equal);
    BOOST_TEST(constant_time_equal(c.b, c.a) == c.equal); // symmetric
}

BOOST_DATA_TEST_CASE(check_auth_decisions, bdata::make(kAuthCases), c) {
    AuthConfig auth;
    auth.keys = c.keys;
    auth.users = c.users;
    BOOST_TEST(check_auth(auth, c.api_key, c.username) == c.denied);
}

BOOST_AUTO_TEST_SUITE_END()
