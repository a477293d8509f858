#include "http/query.hpp"

#include <fmt/format.h>

namespace wfhookd {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

} // namespace

std::string_view percent_decode(std::string_view in, std::string& scratch, std::string& error) {
    // Most keys and values need no decoding: hand back a view of the input itself.
    // (A plain loop: libstdc++'s find_first_of calls memchr once per character.)
    std::size_t k = 0;
    while (k < in.size() && in[k] != '%' && in[k] != '+' && in[k] != '\0')
        ++k;
    if (k == in.size()) return in;
    const std::size_t start = scratch.size();
    for (std::size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (c == '\0') {
            error = "a NUL byte is not allowed in the query string";
            return {};
        }
        if (c == '+') {
            scratch.push_back(' ');
        } else if (c == '%') {
            const int hi = i + 1 < in.size() ? hex_value(in[i + 1]) : -1;
            const int lo = i + 2 < in.size() ? hex_value(in[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                error = fmt::format("invalid percent-escape at \"{}\"",
                                    in.substr(i, std::min<std::size_t>(3, in.size() - i)));
                return {};
            }
            const char decoded = static_cast<char>(hi * 16 + lo);
            if (decoded == '\0') {
                error = "%00 (NUL byte) is not allowed in the query string";
                return {};
            }
            scratch.push_back(decoded);
            i += 2;
        } else {
            scratch.push_back(c);
        }
    }
    return std::string_view(scratch).substr(start);
}

} // namespace wfhookd
