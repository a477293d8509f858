#include "http/json_writer.hpp"

#include "support/json_check.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <limits>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace bdata = boost::unit_test::data;
using wfhookd::append_json_string;
using wfhookd::JsonWriter;
using wftest::Json;
using wftest::json_error;
using wftest::json_parse;

namespace {

const std::string kReplacement = "\xEF\xBF\xBD"; // U+FFFD

struct EscapeCase {
    std::string name;
    std::string in;
    std::string literal; // expected output, quotes included
    std::string decoded; // what a JSON parser reads back
};

std::ostream& operator<<(std::ostream& os, const EscapeCase& c) {
    return os << c.name;
}

std::string quoted(const std::string& s) {
    return '"' + s + '"';
}

std::vector<EscapeCase> escape_cases() {
    std::vector<EscapeCase> cases = {
        {"empty", "", quoted(""), ""},
        {"plain ascii", "hello, world", quoted("hello, world"), "hello, world"},
        {"every printable ascii but quote and backslash",
         " !#$%&'()*+,-./"
         "0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~",
         quoted(" !#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`"
                "abcdefghijklmnopqrstuvwxyz{|}~"),
         " !#$%&'()*+,-./"
         "0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~"},
        {"quote", "a\"b", quoted("a\\\"b"), "a\"b"},
        {"backslash", "a\\b", quoted("a\\\\b"), "a\\b"},
        {"slash is not escaped", "a/b", quoted("a/b"), "a/b"},
        {"DEL", "\x7F", quoted("\\u007f"), "\x7F"},
        {"two-byte UTF-8", "caf\xC3\xA9", quoted("caf\xC3\xA9"), "caf\xC3\xA9"},
        {"three-byte UTF-8", "\xE2\x82\xAC", quoted("\xE2\x82\xAC"), "\xE2\x82\xAC"},
        {"four-byte UTF-8", "\xF0\x9F\x98\x80", quoted("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80"},
        {"U+10FFFF", "\xF4\x8F\xBF\xBF", quoted("\xF4\x8F\xBF\xBF"), "\xF4\x8F\xBF\xBF"},
        {"U+2027 passes", "\xE2\x80\xA7", quoted("\xE2\x80\xA7"), "\xE2\x80\xA7"},
        {"U+2028 escaped", "a\xE2\x80\xA8z", quoted("a\\u2028z"), "a\xE2\x80\xA8z"},
        {"U+2029 escaped", "a\xE2\x80\xA9z", quoted("a\\u2029z"), "a\xE2\x80\xA9z"},
        {"U+202A passes", "\xE2\x80\xAA", quoted("\xE2\x80\xAA"), "\xE2\x80\xAA"},
        {"lone continuation byte", "a\x80z", quoted("a" + kReplacement + "z"),
         "a" + kReplacement + "z"},
        {"latin-1 byte", "caf\xE9", quoted("caf" + kReplacement), "caf" + kReplacement},
        {"FF byte", "\xFF", quoted(kReplacement), kReplacement},
        {"C0 overlong", "\xC0\xAF", quoted(kReplacement + kReplacement),
         kReplacement + kReplacement},
        {"overlong three-byte", "\xE0\x80\xAF", quoted(kReplacement + kReplacement + kReplacement),
         kReplacement + kReplacement + kReplacement},
        {"surrogate U+D800", "\xED\xA0\x80", quoted(kReplacement + kReplacement + kReplacement),
         kReplacement + kReplacement + kReplacement},
        {"above U+10FFFF", "\xF4\x90\x80\x80",
         quoted(kReplacement + kReplacement + kReplacement + kReplacement),
         kReplacement + kReplacement + kReplacement + kReplacement},
        {"truncated at the end", "ab\xE2\x82", quoted("ab" + kReplacement + kReplacement),
         "ab" + kReplacement + kReplacement},
        {"truncated then ascii",
         "\xF0\x9F\x98"
         "A",
         quoted(kReplacement + kReplacement + kReplacement + "A"),
         kReplacement + kReplacement + kReplacement + "A"},
        {"invalid byte then valid sequence", "\xFF\xC3\xA9", quoted(kReplacement + "\xC3\xA9"),
         kReplacement + "\xC3\xA9"},
        {"NUL", std::string("a\0b", 3), quoted("a\\u0000b"), std::string("a\0b", 3)},
        {"mixed", "\"x\"\n\\y\\\t", quoted("\\\"x\\\"\\n\\\\y\\\\\\t"), "\"x\"\n\\y\\\t"},
    };
    // Every control character: the short forms where JSON has them, \u00XX otherwise.
    static const char kHex[] = "0123456789abcdef";
    for (int c = 0; c < 0x20; ++c) {
        std::string escape;
        switch (c) {
        case '\b':
            escape = "\\b";
            break;
        case '\f':
            escape = "\\f";
            break;
        case '\n':
            escape = "\\n";
            break;
        case '\r':
            escape = "\\r";
            break;
        case '\t':
            escape = "\\t";
            break;
        default:
            escape = std::string("\\u00") + kHex[c >> 4] + kHex[c & 0xF];
        }
        const std::string in = std::string("<") + static_cast<char>(c) + ">";
        cases.push_back({"control 0x" + std::string{kHex[c >> 4], kHex[c & 0xF]}, in,
                         quoted("<" + escape + ">"), in});
    }
    return cases;
}

std::string escaped(std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
}

// What a strict parser reads back from `text`, which must be a JSON string.
std::string read_back(const std::string& text) {
    Json j;
    std::string error;
    if (!json_parse(text, j, error) || !j.is(Json::Type::string)) return "<not a JSON string>";
    return j.text;
}

struct WriterCase {
    std::string name;
    std::function<void(JsonWriter&)> write;
    std::string expected;
};

std::ostream& operator<<(std::ostream& os, const WriterCase& c) {
    return os << c.name;
}

const WriterCase kWriterCases[] = {
    {"empty object", [](JsonWriter& w) { w.begin_object().end_object(); }, "{}"},
    {"empty array", [](JsonWriter& w) { w.begin_array().end_array(); }, "[]"},
    {"one field", [](JsonWriter& w) { w.begin_object().field("a", "b").end_object(); },
     R"({"a":"b"})"},
    {"fields get commas",
     [](JsonWriter& w) { w.begin_object().field("a", 1).field("b", 2).field("c", 3).end_object(); },
     R"({"a":1,"b":2,"c":3})"},
    {"array values get commas",
     [](JsonWriter& w) { w.begin_array().value(1).value("x").null().value(true).end_array(); },
     R"([1,"x",null,true])"},
    {"nested empty containers",
     [](JsonWriter& w) {
         w.begin_object();
         w.key("a").begin_array().end_array();
         w.key("o").begin_object().end_object();
         w.end_object();
     },
     R"({"a":[],"o":{}})"},
    {"objects in an array",
     [](JsonWriter& w) {
         w.begin_array();
         w.begin_object().field("n", 1).end_object();
         w.begin_object().field("n", 2).end_object();
         w.begin_object().end_object();
         w.end_array();
     },
     R"([{"n":1},{"n":2},{}])"},
    {"comma after a nested container",
     [](JsonWriter& w) {
         w.begin_object();
         w.key("a").begin_array().value(1).begin_array().end_array().end_array();
         w.field("b", false);
         w.key("c").begin_object().field("d", "e").end_object();
         w.field("f", "g");
         w.end_object();
     },
     R"({"a":[1,[]],"b":false,"c":{"d":"e"},"f":"g"})"},
    {"arrays of arrays",
     [](JsonWriter& w) {
         w.begin_array();
         w.begin_array().end_array();
         w.begin_array().value(1).end_array();
         w.begin_array().value(1).value(2).end_array();
         w.end_array();
     },
     "[[],[1],[1,2]]"},
    {"bools", [](JsonWriter& w) { w.begin_array().value(true).value(false).end_array(); },
     "[true,false]"},
    {"null", [](JsonWriter& w) { w.null(); }, "null"},
    {"null field", [](JsonWriter& w) { w.begin_object().key("x").null().end_object(); },
     R"({"x":null})"},
    {"int64 min and max",
     [](JsonWriter& w) {
         w.begin_array()
             .value(std::numeric_limits<std::int64_t>::min())
             .value(std::numeric_limits<std::int64_t>::max())
             .end_array();
     },
     "[-9223372036854775808,9223372036854775807]"},
    {"uint64 max", [](JsonWriter& w) { w.value(std::numeric_limits<std::uint64_t>::max()); },
     "18446744073709551615"},
    {"int", [](JsonWriter& w) { w.begin_array().value(0).value(-1).value(42).end_array(); },
     "[0,-1,42]"},
    {"doubles",
     [](JsonWriter& w) { w.begin_array().value(1.5).value(-0.25).value(0.1).end_array(); },
     "[1.5,-0.25,0.1]"},
    {"NaN and infinities are null",
     [](JsonWriter& w) {
         w.begin_array()
             .value(std::numeric_limits<double>::quiet_NaN())
             .value(std::numeric_limits<double>::infinity())
             .value(-std::numeric_limits<double>::infinity())
             .value(2.0)
             .end_array();
     },
     "[null,null,null,2]"},
    {"NaN field is null",
     [](JsonWriter& w) {
         w.begin_object()
             .field("nan", std::numeric_limits<double>::quiet_NaN())
             .field("n", 1)
             .end_object();
     },
     R"({"nan":null,"n":1})"},
    {"keys are escaped", [](JsonWriter& w) { w.begin_object().field("a\"\n", "v").end_object(); },
     R"({"a\"\n":"v"})"},
    {"string values are escaped",
     [](JsonWriter& w) { w.begin_object().field("k", std::string_view("\x01\xFF")).end_object(); },
     "{\"k\":\"\\u0001\xEF\xBF\xBD\"}"},
    {"const char* and string_view values",
     [](JsonWriter& w) {
         const std::string s = "str";
         w.begin_array().value("lit").value(std::string_view(s)).value(s).end_array();
     },
     R"(["lit","str","str"])"},
};

// The checker the tests rely on must itself be strict, or "valid JSON" proves nothing.
struct CheckerCase {
    std::string name;
    std::string text;
    bool valid;
};

std::ostream& operator<<(std::ostream& os, const CheckerCase& c) {
    return os << c.name;
}

const CheckerCase kCheckerCases[] = {
    {"object", R"({"a":[1,-2.5e3,true,false,null,"x"]})", true},
    {"whitespace around", " \t\n{ \"a\" : 1 }\r\n", true},
    {"escapes", R"("\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00")", true},
    {"raw control character", "\"a\nb\"", false},
    {"raw tab", "\"a\tb\"", false},
    {"unescaped quote", R"({"a":"b"c"})", false},
    {"invalid UTF-8", "\"caf\xE9\"", false},
    {"overlong UTF-8", "\"\xC0\xAF\"", false},
    {"UTF-8 surrogate", "\"\xED\xA0\x80\"", false},
    {"lone surrogate escape", R"("\ud800")", false},
    {"trailing comma in an object", R"({"a":1,})", false},
    {"trailing comma in an array", "[1,2,]", false},
    {"missing comma", "[1 2]", false},
    {"single quotes", "{'a':1}", false},
    {"unquoted key", "{a:1}", false},
    {"leading zero", "[01]", false},
    {"bare decimal point", "[1.]", false},
    {"NaN", "[NaN]", false},
    {"bad escape", R"("\x41")", false},
    {"duplicate key", R"({"a":1,"a":2})", false},
    {"two values", "{} {}", false},
    {"empty text", "", false},
    {"unterminated string", "\"abc", false},
};
} // namespace

BOOST_AUTO_TEST_SUITE(json_writer)

BOOST_DATA_TEST_CASE(strict_checker_self_test, bdata::make(kCheckerCases), c) {
    BOOST_TEST(json_error(c.text).empty() == c.valid, json_error(c.text));
}

BOOST_DATA_TEST_CASE(escapes_strings, bdata::make(escape_cases()), c) {
    const std::string out = escaped(c.in);
    BOOST_TEST(out == c.literal);
    BOOST_TEST(json_error(out) == "");
    BOOST_TEST(read_back(out) == c.decoded);
}

BOOST_AUTO_TEST_CASE(append_json_string_appends) {
    std::string out = "[";
    append_json_string(out, "a");
    out += ',';
    append_json_string(out, "b");
    out += ']';
    BOOST_TEST(out == R"(["a","b"])");
}

// Every single byte value, alone and between letters: always a strict JSON string that reads
// back as the byte itself (ASCII) or U+FFFD (a byte that cannot start a sequence alone).
BOOST_AUTO_TEST_CASE(every_byte_value_gives_strict_json) {
    for (int b = 0; b < 256; ++b) {
        const std::string in = std::string("x") + static_cast<char>(b) + "y";
        const std::string out = escaped(in);
        BOOST_TEST(json_error(out) == "", "byte " << b << ": " << out);
        const std::string expected = b < 0x80 ? in : "x" + kReplacement + "y";
        BOOST_TEST(read_back(out) == expected, "byte " << b);
    }
}

// Two-byte combinations cover every lead byte followed by every possible second byte.
BOOST_AUTO_TEST_CASE(every_byte_pair_gives_strict_json) {
    int invalid = 0;
    for (int a = 0x80; a < 256; ++a) {
        for (int b = 0; b < 256; ++b) {
            const std::string in{static_cast<char>(a), static_cast<char>(b)};
            const std::string out = escaped(in);
            if (const std::string error = json_error(out); !error.empty() && ++invalid <= 5)
                BOOST_TEST_MESSAGE("bytes " << a << " " << b << ": " << error);
        }
    }
    BOOST_TEST(invalid == 0);
}

BOOST_DATA_TEST_CASE(writer_output, bdata::make(kWriterCases), c) {
    std::string out;
    JsonWriter w(out);
    c.write(w);
    BOOST_TEST(out == c.expected);
    BOOST_TEST(json_error(out) == "");
}

BOOST_AUTO_TEST_CASE(writer_appends_to_the_buffer) {
    std::string out = "prefix ";
    JsonWriter(out).begin_object().field("a", 1).end_object();
    BOOST_TEST(out == R"(prefix {"a":1})");
}

BOOST_AUTO_TEST_CASE(field_is_key_then_value) {
    std::string a, b;
    JsonWriter(a).begin_object().field("k", "v").field("n", 7).field("t", true).end_object();
    JsonWriter wb(b);
    wb.begin_object();
    wb.key("k").value("v");
    wb.key("n").value(7);
    wb.key("t").value(true);
    wb.end_object();
    BOOST_TEST(a == b);
}

BOOST_AUTO_TEST_CASE(doubles_are_valid_json_numbers) {
    const double values[] = {0.0,     -0.0,   1.0, 1e-7,    1e21,   123456789.125,         1e300,
                             -1e-300, 5e-324, 0.1, 1.0 / 3, 2.5e-5, 1.7976931348623157e308};
    for (const double v : values) {
        std::string out;
        JsonWriter(out).value(v);
        Json j;
        std::string error;
        BOOST_TEST(json_parse(out, j, error), out << ": " << error);
        BOOST_TEST(j.is(Json::Type::number), out);
        BOOST_TEST(std::strtod(j.text.c_str(), nullptr) == v, out); // round-trips exactly
    }
}

BOOST_AUTO_TEST_CASE(nesting_up_to_max_depth_is_allowed) {
    std::string out;
    JsonWriter w(out);
    for (int i = 0; i < JsonWriter::kMaxDepth; ++i)
        w.begin_array();
    for (int i = 0; i < JsonWriter::kMaxDepth; ++i)
        w.end_array();
    BOOST_TEST(out ==
               std::string(JsonWriter::kMaxDepth, '[') + std::string(JsonWriter::kMaxDepth, ']'));
    BOOST_TEST(json_error(out) == "");
}

BOOST_AUTO_TEST_CASE(objects_nest_up_to_max_depth) {
    std::string out;
    JsonWriter w(out);
    w.begin_object();
    for (int i = 1; i < JsonWriter::kMaxDepth; ++i)
        w.key("k").begin_object();
    for (int i = 0; i < JsonWriter::kMaxDepth; ++i)
        w.end_object();
    BOOST_TEST(json_error(out) == "");
    Json j;
    std::string error;
    BOOST_TEST_REQUIRE(json_parse(out, j, error));
    int depth = 0;
    for (const Json* p = &j; p != nullptr; p = p->get("k"))
        ++depth;
    BOOST_TEST(depth == JsonWriter::kMaxDepth);
}

BOOST_AUTO_TEST_CASE(nesting_deeper_than_max_depth_throws) {
    for (const bool objects : {false, true}) {
        std::string out;
        JsonWriter w(out);
        for (int i = 0; i < JsonWriter::kMaxDepth; ++i) {
            if (objects) {
                if (i > 0) w.key("k");
                w.begin_object();
            } else {
                w.begin_array();
            }
        }
        if (objects) w.key("k");
        BOOST_CHECK_THROW(w.begin_object(), std::logic_error);
        BOOST_CHECK_THROW(w.begin_array(), std::logic_error);
    }
}

BOOST_AUTO_TEST_SUITE_END()
