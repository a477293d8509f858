// A small streaming JSON writer. Boost.PropertyTree cannot write typed JSON (numbers become
// strings, empty arrays become ""), so every response body goes through this instead.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace wfhookd {

// Appends `s` to `out` as a JSON string literal: quotes, backslashes and control characters
// escaped, U+2028/U+2029 escaped (JavaScript-safe), invalid UTF-8 replaced by U+FFFD.
void append_json_string(std::string& out, std::string_view s);

// Writes one JSON value into a caller-owned buffer, inserting commas itself. Nesting depth is
// bounded by kMaxDepth; the writer is used only for bodies we build, never to echo input shape.
class JsonWriter {
public:
    explicit JsonWriter(std::string& out) : out_(out) {}

    JsonWriter& begin_object();
    JsonWriter& end_object();
    JsonWriter& begin_array();
    JsonWriter& end_array();
    JsonWriter& key(std::string_view k);
    JsonWriter& value(std::string_view v);
    JsonWriter& value(const char* v) { return value(std::string_view(v)); }
    JsonWriter& value(std::int64_t v);
    JsonWriter& value(std::uint64_t v);
    JsonWriter& value(int v) { return value(static_cast<std::int64_t>(v)); }
    JsonWriter& value(double v);
    JsonWriter& value(bool v);
    JsonWriter& null();

    // Shorthand for key(k).value(v).
    template <typename T>
    JsonWriter& field(std::string_view k, const T& v) {
        key(k);
        return value(v);
    }

    static constexpr int kMaxDepth = 32;

private:
    void before_value();

    std::string& out_;
    int depth_ = 0;
    bool need_comma_[kMaxDepth + 1] = {};
    bool after_key_ = false;
};

} // namespace wfhookd
