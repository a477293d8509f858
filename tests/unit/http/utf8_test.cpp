#include "http/utf8.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <ostream>
#include <string>

namespace bdata = boost::unit_test::data;
using wfhookd::is_valid_utf8;

namespace {

struct Utf8Case {
    std::string name;
    std::string bytes;
    bool valid;
};

std::ostream& operator<<(std::ostream& os, const Utf8Case& c) {
    return os << c.name;
}

const Utf8Case kCases[] = {
    {"empty", "", true},
    {"ascii", "hello", true},
    {"two-byte", "caf\xC3\xA9", true},
    {"three-byte", "\xE2\x82\xAC", true},
    {"four-byte", "\xF0\x9F\x98\x80", true},
    {"max code point U+10FFFF", "\xF4\x8F\xBF\xBF", true},
    {"lone continuation", "\x80", false},
    {"overlong slash", "\xC0\xAF", false},
    {"overlong C1", "\xC1\xBF", false},
    {"overlong three-byte", "\xE0\x80\xAF", false},
    {"overlong four-byte", "\xF0\x80\x80\xAF", false},
    {"surrogate U+D800", "\xED\xA0\x80", false},
    {"above U+10FFFF", "\xF4\x90\x80\x80", false},
    {"F5 lead", "\xF5\x80\x80\x80", false},
    {"truncated two-byte", "\xC3", false},
    {"truncated four-byte", "\xF0\x9F\x98", false},
    {"bad second byte", "\xE2\x28\xA1", false},
    {"latin-1 e-acute", "caf\xE9", false},
    {"FF byte", "\xFF", false},
    {"NUL is valid UTF-8", std::string("a\0b", 3), true},
};

} // namespace

BOOST_AUTO_TEST_SUITE(utf8)

BOOST_DATA_TEST_CASE(validates_per_unicode_table_3_7, bdata::make(kCases), c) {
    BOOST_TEST(is_valid_utf8(c.bytes) == c.valid);
}

BOOST_AUTO_TEST_SUITE_END()
