#include "http/json_writer.hpp"

#include "http/utf8.hpp"

#include <cmath>
#include <fmt/format.h>
#include <stdexcept>

namespace wfhookd {

void append_json_string(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out.push_back('"');
    std::size_t i = 0;
    while (i < s.size()) {
        // Copy the longest run that needs no escaping in one go.
        std::size_t run = i;
        while (run < s.size()) {
            const auto c = static_cast<unsigned char>(s[run]);
            if (c < 0x20 || c == '"' || c == '\\' || c >= 0x7F) break;
            ++run;
        }
        out.append(s.data() + i, run - i);
        i = run;
        if (i == s.size()) break;

        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            const std::size_t n = utf8_sequence_length(s, i);
            if (n == 0) {
                out.append("\xEF\xBF\xBD"); // U+FFFD for each invalid byte
                ++i;
            } else if (n == 3 && c == 0xE2 && s[i + 1] == '\x80' &&
                       (s[i + 2] == '\xA8' || s[i + 2] == '\xA9')) {
                out.append(s[i + 2] == '\xA8' ? "\\u2028" : "\\u2029");
                i += 3;
            } else {
                out.append(s.data() + i, n);
                i += n;
            }
            continue;
        }
        switch (c) {
        case '"':
            out.append("\\\"");
            break;
        case '\\':
            out.append("\\\\");
            break;
        case '\n':
            out.append("\\n");
            break;
        case '\r':
            out.append("\\r");
            break;
        case '\t':
            out.append("\\t");
            break;
        case '\b':
            out.append("\\b");
            break;
        case '\f':
            out.append("\\f");
            break;
        default: // other controls and DEL
            out.append("\\u00");
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 0xF]);
        }
        ++i;
    }
    out.push_back('"');
}

void JsonWriter::before_value() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (need_comma_[depth_]) out_.push_back(',');
    need_comma_[depth_] = true;
}

JsonWriter& JsonWriter::begin_object() {
    if (depth_ == kMaxDepth) throw std::logic_error("JsonWriter: nesting too deep");
    before_value();
    out_.push_back('{');
    need_comma_[++depth_] = false;
    return *this;
}

JsonWriter& JsonWriter::end_object() {
    out_.push_back('}');
    --depth_;
    return *this;
}

JsonWriter& JsonWriter::begin_array() {
    if (depth_ == kMaxDepth) throw std::logic_error("JsonWriter: nesting too deep");
    before_value();
    out_.push_back('[');
    need_comma_[++depth_] = false;
    return *this;
}

JsonWriter& JsonWriter::end_array() {
    out_.push_back(']');
    --depth_;
    return *this;
}

JsonWriter& JsonWriter::key(std::string_view k) {
    before_value();
    append_json_string(out_, k);
    out_.push_back(':');
    after_key_ = true;
    return *this;
}

JsonWriter& JsonWriter::value(std::string_view v) {
    before_value();
    append_json_string(out_, v);
    return *this;
}

JsonWriter& JsonWriter::value(std::int64_t v) {
    before_value();
    fmt::format_to(std::back_inserter(out_), "{}", v);
    return *this;
}

JsonWriter& JsonWriter::value(std::uint64_t v) {
    before_value();
    fmt::format_to(std::back_inserter(out_), "{}", v);
    return *this;
}

JsonWriter& JsonWriter::value(double v) {
    // JSON has no NaN or infinity; null is the conventional stand-in.
    if (!std::isfinite(v)) return null();
    before_value();
    fmt::format_to(std::back_inserter(out_), "{}", v);
    return *this;
}

JsonWriter& JsonWriter::value(bool v) {
    before_value();
    out_.append(v ? "true" : "false");
    return *this;
}

JsonWriter& JsonWriter::null() {
    before_value();
    out_.append("null");
    return *this;
}

} // namespace wfhookd
