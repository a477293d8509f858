#include "json_check.hpp"

#include <cstdint>
#include <stdexcept>

namespace wftest {

namespace {

constexpr int kMaxDepth = 256;

// Written independently of src/utf8.cpp on purpose: the checker must not share the code it
// checks.
class Parser {
public:
    explicit Parser(std::string_view s) : s_(s) {}

    bool run(Json& out, std::string& error) {
        skip_ws();
        if (!value(out, 0)) return fail_out(error);
        skip_ws();
        if (pos_ != s_.size()) {
            why_ = "trailing data after the value";
            return fail_out(error);
        }
        return true;
    }

private:
    bool fail_out(std::string& error) {
        error = why_ + " at byte " + std::to_string(pos_);
        return false;
    }
    bool fail(const char* why) {
        why_ = why;
        return false;
    }
    bool at_end() const { return pos_ >= s_.size(); }
    unsigned char peek() const { return static_cast<unsigned char>(s_[pos_]); }

    void skip_ws() {
        while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r'))
            ++pos_;
    }

    bool literal(std::string_view word) {
        if (s_.substr(pos_, word.size()) != word) return fail("invalid literal");
        pos_ += word.size();
        return true;
    }

    bool value(Json& out, int depth) {
        if (depth > kMaxDepth) return fail("nesting too deep");
        if (at_end()) return fail("unexpected end of input");
        switch (peek()) {
        case '{':
            return object(out, depth);
        case '[':
            return array(out, depth);
        case '"':
            out.type = Json::Type::string;
            return string(out.text);
        case 't':
            out.type = Json::Type::boolean;
            out.boolean = true;
            return literal("true");
        case 'f':
            out.type = Json::Type::boolean;
            out.boolean = false;
            return literal("false");
        case 'n':
            out.type = Json::Type::null;
            return literal("null");
        default:
            out.type = Json::Type::number;
            return number(out.text);
        }
    }

    bool object(Json& out, int depth) {
        out.type = Json::Type::object;
        ++pos_; // '{'
        skip_ws();
        if (!at_end() && peek() == '}') {
            ++pos_;
            return true;
        }
        for (;;) {
            skip_ws();
            if (at_end() || peek() != '"') return fail("expected a member name");
            std::string key;
            if (!string(key)) return false;
            for (const auto& m : out.members)
                if (m.first == key) return fail("duplicate member name");
            skip_ws();
            if (at_end() || peek() != ':') return fail("expected ':'");
            ++pos_;
            skip_ws();
            Json v;
            if (!value(v, depth + 1)) return false;
            out.members.push_back(Json::Member{std::move(key), std::move(v)});
            skip_ws();
            if (at_end()) return fail("unterminated object");
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            if (peek() == '}') {
                ++pos_;
                return true;
            }
            return fail("expected ',' or '}'");
        }
    }

    bool array(Json& out, int depth) {
        out.type = Json::Type::array;
        ++pos_; // '['
        skip_ws();
        if (!at_end() && peek() == ']') {
            ++pos_;
            return true;
        }
        for (;;) {
            skip_ws();
            Json v;
            if (!value(v, depth + 1)) return false;
            out.items.push_back(std::move(v));
            skip_ws();
            if (at_end()) return fail("unterminated array");
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            if (peek() == ']') {
                ++pos_;
                return true;
            }
            return fail("expected ',' or ']'");
        }
    }

    bool digits() {
        const std::size_t start = pos_;
        while (!at_end() && peek() >= '0' && peek() <= '9')
            ++pos_;
        return pos_ > start;
    }

    bool number(std::string& out) {
        const std::size_t start = pos_;
        if (!at_end() && peek() == '-') ++pos_;
        if (at_end()) return fail("invalid number");
        if (peek() == '0') {
            ++pos_;
        } else if (!digits()) {
            return fail("invalid value");
        }
        if (!at_end() && peek() == '.') {
            ++pos_;
            if (!digits()) return fail("no digits after the decimal point");
        }
        if (!at_end() && (peek() == 'e' || peek() == 'E')) {
            ++pos_;
            if (!at_end() && (peek() == '+' || peek() == '-')) ++pos_;
            if (!digits()) return fail("no digits in the exponent");
        }
        out.assign(s_.substr(start, pos_ - start));
        return true;
    }

    bool hex4(std::uint32_t& cp) {
        if (pos_ + 4 > s_.size()) return fail("truncated \\u escape");
        cp = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = s_[pos_++];
            cp <<= 4;
            if (c >= '0' && c <= '9')
                cp |= static_cast<std::uint32_t>(c - '0');
            else if (c >= 'a' && c <= 'f')
                cp |= static_cast<std::uint32_t>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                cp |= static_cast<std::uint32_t>(c - 'A' + 10);
            else
                return fail("invalid \\u escape");
        }
        return true;
    }

    static void put_utf8(std::string& out, std::uint32_t cp) {
        if (cp < 0x80) {
            out.push_back(static_cast<char>(cp));
        } else if (cp < 0x800) {
            out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else if (cp < 0x10000) {
            out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else {
            out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        }
    }

    // One UTF-8 encoded scalar value starting at pos_ (a byte >= 0x80), decoded by hand.
    bool utf8_char(std::string& out) {
        const unsigned char c = peek();
        std::size_t need;
        std::uint32_t cp;
        if (c >= 0xC0 && c <= 0xDF) {
            need = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF7) {
            need = 3;
            cp = c & 0x07;
        } else {
            return fail("invalid UTF-8 lead byte");
        }
        if (pos_ + need >= s_.size()) return fail("truncated UTF-8 sequence");
        for (std::size_t k = 1; k <= need; ++k) {
            const auto b = static_cast<unsigned char>(s_[pos_ + k]);
            if ((b & 0xC0) != 0x80) return fail("invalid UTF-8 continuation byte");
            cp = (cp << 6) | (b & 0x3F);
        }
        static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
        if (cp < kMin[need]) return fail("overlong UTF-8 sequence");
        if (cp > 0x10FFFF) return fail("UTF-8 code point above U+10FFFF");
        if (cp >= 0xD800 && cp <= 0xDFFF) return fail("UTF-8 encoded surrogate");
        out.append(s_.substr(pos_, need + 1));
        pos_ += need + 1;
        return true;
    }

    bool string(std::string& out) {
        ++pos_; // opening quote
        for (;;) {
            if (at_end()) return fail("unterminated string");
            const unsigned char c = peek();
            if (c == '"') {
                ++pos_;
                return true;
            }
            if (c < 0x20) return fail("raw control character in a string");
            if (c >= 0x80) {
                if (!utf8_char(out)) return false;
                continue;
            }
            if (c != '\\') {
                out.push_back(static_cast<char>(c));
                ++pos_;
                continue;
            }
            ++pos_;
            if (at_end()) return fail("unterminated escape");
            const char e = s_[pos_++];
            switch (e) {
            case '"':
                out.push_back('"');
                break;
            case '\\':
                out.push_back('\\');
                break;
            case '/':
                out.push_back('/');
                break;
            case 'b':
                out.push_back('\b');
                break;
            case 'f':
                out.push_back('\f');
                break;
            case 'n':
                out.push_back('\n');
                break;
            case 'r':
                out.push_back('\r');
                break;
            case 't':
                out.push_back('\t');
                break;
            case 'u': {
                std::uint32_t cp = 0;
                if (!hex4(cp)) return false;
                if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("lone low surrogate escape");
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    std::uint32_t lo = 0;
                    if (s_.substr(pos_, 2) != "\\u") return fail("lone high surrogate escape");
                    pos_ += 2;
                    if (!hex4(lo)) return false;
                    if (lo < 0xDC00 || lo > 0xDFFF) return fail("bad low surrogate escape");
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                put_utf8(out, cp);
                break;
            }
            default:
                return fail("invalid escape");
            }
        }
    }

    std::string_view s_;
    std::size_t pos_ = 0;
    std::string why_;
};

} // namespace

const Json* Json::get(std::string_view key) const {
    if (type != Type::object) return nullptr;
    for (const auto& m : members)
        if (m.first == key) return &m.second;
    return nullptr;
}

const Json& Json::at(std::string_view key) const {
    if (const Json* m = get(key)) return *m;
    throw std::out_of_range("JSON has no member \"" + std::string(key) + "\"");
}

bool json_parse(std::string_view text, Json& out, std::string& error) {
    out = Json{};
    return Parser(text).run(out, error);
}

std::string json_error(std::string_view text) {
    Json j;
    std::string error;
    if (json_parse(text, j, error)) return {};
    return error;
}

Json parse_json(std::string_view text) {
    Json j;
    std::string error;
    if (!json_parse(text, j, error))
        throw std::runtime_error("invalid JSON: " + error + "\n" + std::string(text));
    return j;
}

} // namespace wftest
