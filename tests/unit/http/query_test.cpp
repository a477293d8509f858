#include "http/query.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace bdata = boost::unit_test::data;
using wfhookd::parse_query;
using wfhookd::percent_decode;

namespace {

struct Pair {
    std::string key, value;
    bool operator==(const Pair&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Pair& p) {
    return os << '(' << p.key << ", " << p.value << ')';
}

using Pairs = std::vector<Pair>;

struct DecodeCase {
    std::string name;
    std::string in;
    std::string out;   // expected decoding when error is empty
    std::string error; // expected error message, empty on success
};

std::ostream& operator<<(std::ostream& os, const DecodeCase& c) {
    return os << c.name;
}

std::string escape_error(const std::string& at) {
    return "invalid percent-escape at \"" + at + "\"";
}
const std::string kNulError = "%00 (NUL byte) is not allowed in the query string";

const DecodeCase kDecodeCases[] = {
    {"empty", "", "", ""},
    {"plain", "abc", "abc", ""},
    {"plus is space", "a+b", "a b", ""},
    {"only plus", "+++", "   ", ""},
    {"upper-case letter", "%41", "A", ""},
    {"lower-case hex", "%c3%a9", "\xC3\xA9", ""},
    {"upper-case hex", "%C3%A9", "\xC3\xA9", ""},
    {"mixed-case hex", "%2f%2F", "//", ""},
    {"encoded plus stays plus", "%2B", "+", ""},
    {"encoded space", "%20", " ", ""},
    {"encoded separators", "%3D%26", "=&", ""},
    {"no double decoding", "%2541", "%41", ""},
    {"raw high byte", "%FF", "\xFF", ""},
    {"escape in the middle", "a%41b", "aAb", ""},
    {"escape at the end", "ab%41", "abA", ""},
    {"control byte", "%0A", "\n", ""},
    {"lone percent", "%", "", escape_error("%")},
    {"percent at the end", "ab%", "", escape_error("%")},
    {"one hex digit", "%4", "", escape_error("%4")},
    {"one hex digit at the end", "ab%4", "", escape_error("%4")},
    {"non-hex digits", "%zz", "", escape_error("%zz")},
    {"bad second digit", "%4g", "", escape_error("%4g")},
    {"bad second digit in the middle", "a%4gb", "", escape_error("%4g")},
    {"bad first digit", "%g4", "", escape_error("%g4")},
    {"percent percent", "%%41", "", escape_error("%%4")},
    {"good then bad", "%41%zz", "", escape_error("%zz")},
    {"space after percent", "% 1", "", escape_error("% 1")},
    {"NUL", "%00", "", kNulError},
    {"NUL in the middle", "a%00b", "", kNulError},
};

struct QueryCase {
    std::string name;
    std::string query;
    Pairs pairs;       // visited pairs, in order
    std::string error; // expected error, empty on success
};

std::ostream& operator<<(std::ostream& os, const QueryCase& c) {
    return os << c.name;
}

const QueryCase kQueryCases[] = {
    {"empty", "", {}, ""},
    {"one pair", "a=1", {{"a", "1"}}, ""},
    {"two pairs", "a=1&b=2", {{"a", "1"}, {"b", "2"}}, ""},
    {"key without =", "a", {{"a", ""}}, ""},
    {"key with empty value", "a=", {{"a", ""}}, ""},
    {"empty key", "=v", {{"", "v"}}, ""},
    {"bare keys", "a&b", {{"a", ""}, {"b", ""}}, ""},
    {"empty pairs skipped", "&&a=1&&b=2&&", {{"a", "1"}, {"b", "2"}}, ""},
    {"leading &", "&a=1", {{"a", "1"}}, ""},
    {"trailing &", "a=1&", {{"a", "1"}}, ""},
    {"only separators", "&&&", {}, ""},
    {"= kept inside the value", "a=b=c", {{"a", "b=c"}}, ""},
    {"== value", "a==", {{"a", "="}}, ""},
    {"key and value decoded", "k%20ey=v%20al", {{"k ey", "v al"}}, ""},
    {"plus in key and value", "a+b=c+d", {{"a b", "c d"}}, ""},
    {"encoded = and & do not split", "%3D=%26", {{"=", "&"}}, ""},
    {"repeated keys all visited", "n=x&n=y", {{"n", "x"}, {"n", "y"}}, ""},
    {"utf-8 value", "name=caf%C3%A9", {{"name", "caf\xC3\xA9"}}, ""},
    {"bad escape in a value", "a=%zz&b=1", {}, escape_error("%zz")},
    {"bad escape in a key", "%zz=1", {}, escape_error("%zz")},
    {"pairs before the error are visited", "a=1&b=%", {{"a", "1"}}, escape_error("%")},
    {"NUL in a value", "a=%00", {}, kNulError},
    {"NUL in a key", "%00=a", {}, kNulError},
};

Pairs collect(std::string_view query, std::string& scratch, std::string& error) {
    Pairs pairs;
    error = parse_query(query, scratch, [&](std::string_view k, std::string_view v) {
        pairs.push_back({std::string(k), std::string(v)});
        return true;
    });
    return pairs;
}

} // namespace

BOOST_AUTO_TEST_SUITE(query)

BOOST_DATA_TEST_CASE(percent_decode_table, bdata::make(kDecodeCases), c) {
    std::string scratch, error;
    const std::string_view out = percent_decode(c.in, scratch, error);
    BOOST_TEST(error == c.error);
    if (c.error.empty()) BOOST_TEST(out == c.out);
}

BOOST_AUTO_TEST_CASE(percent_decode_returns_the_input_itself_when_nothing_to_decode) {
    const std::string in = "plain-text_value.1";
    std::string scratch, error;
    const std::string_view out = percent_decode(in, scratch, error);
    BOOST_TEST(error.empty());
    BOOST_TEST(static_cast<const void*>(out.data()) == static_cast<const void*>(in.data()));
    BOOST_TEST(out.size() == in.size());
    BOOST_TEST(scratch.empty());
}

BOOST_AUTO_TEST_CASE(percent_decode_appends_to_scratch) {
    std::string scratch = "earlier", error;
    const std::string_view out = percent_decode("%41+", scratch, error);
    BOOST_TEST(error.empty());
    BOOST_TEST(out == "A ");
    BOOST_TEST(scratch == "earlierA ");
}

BOOST_DATA_TEST_CASE(parse_query_table, bdata::make(kQueryCases), c) {
    std::string scratch, error;
    const Pairs pairs = collect(c.query, scratch, error);
    BOOST_TEST(error == c.error);
    BOOST_TEST(pairs == c.pairs, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(parse_query_clears_scratch_first) {
    std::string scratch = "left over from the previous request", error;
    const Pairs pairs = collect("a=%41", scratch, error);
    BOOST_TEST(error.empty());
    BOOST_TEST(pairs == Pairs({{"a", "A"}}), boost::test_tools::per_element());
    BOOST_TEST(scratch == "A");
}

// Every decoded view handed to the visitor must still be valid when the parse ends: the
// scratch buffer may not reallocate in between.
BOOST_AUTO_TEST_CASE(views_stay_valid_across_many_decoded_pairs) {
    std::string query;
    std::vector<std::pair<std::string, std::string>> expected;
    for (int i = 0; i < 300; ++i) {
        query += "k%41" + std::to_string(i) + "=v+%42" + std::to_string(i) + "&";
        expected.emplace_back("kA" + std::to_string(i), "v B" + std::to_string(i));
    }
    std::string scratch; // starts with no capacity
    std::vector<std::pair<std::string_view, std::string_view>> views;
    const std::string error =
        parse_query(query, scratch, [&](std::string_view k, std::string_view v) {
            views.emplace_back(k, v);
            return true;
        });
    BOOST_TEST(error.empty());
    BOOST_TEST_REQUIRE(views.size() == expected.size());
    const char* begin = scratch.data();
    const char* end = scratch.data() + scratch.size();
    for (std::size_t i = 0; i < views.size(); ++i) {
        for (const std::string_view v : {views[i].first, views[i].second}) {
            BOOST_TEST((v.data() >= begin && v.data() + v.size() <= end),
                       "view " << i << " points outside the final scratch buffer");
        }
        BOOST_TEST(views[i].first == expected[i].first);
        BOOST_TEST(views[i].second == expected[i].second);
    }
}

BOOST_AUTO_TEST_CASE(visiting_stops_when_the_visitor_returns_false) {
    std::string scratch;
    Pairs seen;
    // The bad escape after the stop is never reached, so it is not reported either.
    const std::string error =
        parse_query("a=1&b=2&c=3&d=%zz", scratch, [&](std::string_view k, std::string_view v) {
            seen.push_back({std::string(k), std::string(v)});
            return k != "b";
        });
    BOOST_TEST(error.empty());
    BOOST_TEST(seen == Pairs({{"a", "1"}, {"b", "2"}}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
