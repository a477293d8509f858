// Appending numbers to strings on the per-request path, without a formatting library.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>

namespace wfhookd {

inline void append_decimal(std::string& out, std::uint64_t n) {
    char buf[20];
    const auto r = std::to_chars(buf, buf + sizeof buf, n);
    out.append(buf, r.ptr);
}

} // namespace wfhookd
