// A small, strict JSON parser for tests: accepts exactly RFC 8259 text (UTF-8, no trailing
// commas, no raw control characters, no lone surrogates, no duplicate keys, nothing after the
// value) and returns a tree, so tests can both check that output is valid JSON and read it back.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wftest {

struct Json {
    enum class Type { null, boolean, number, string, array, object };
    Type type = Type::null;
    bool boolean = false;
    std::string text; // a string's decoded UTF-8, or a number's literal text
    std::vector<Json> items;
    struct Member;
    std::vector<Member> members; // in document order

    // The member named `key` of an object, or null when absent or not an object.
    const Json* get(std::string_view key) const;
    // The member named `key`; throws when absent, so a test fails instead of crashing.
    const Json& at(std::string_view key) const;
    bool is(Type t) const { return type == t; }
};

// A named member of an object. (Not std::pair: a pair of an incomplete Json cannot be named
// inside Json with clang's libstdc++ checks.)
struct Json::Member {
    std::string first;
    Json second;
};

// Parses one strict JSON text. On failure returns false and says why (with the byte offset).
bool json_parse(std::string_view text, Json& out, std::string& error);

// Parses `text` or throws (naming the error and the text): for answers that must be JSON.
Json parse_json(std::string_view text);

// The error message for `text`, empty when it is strict JSON (for BOOST_TEST messages).
std::string json_error(std::string_view text);

} // namespace wftest
