// Parsing of configuration values: numbers, sizes, booleans, durations, and small files read
// without ever blocking.
#pragma once

#include <charconv>
#include <cstddef>
#include <string>
#include <string_view>
#include <sys/stat.h>

namespace wfhookd {

std::string_view trim(std::string_view s);

// PropertyTree keeps inline comments as part of the value. A `;` or `#` that follows
// whitespace starts a comment (so `key = value   ; note` works as operators expect); one that
// does not is kept (so `--flag=#1` survives).
std::string clean_value(std::string_view raw);

template <typename T>
bool parse_number(std::string_view s, T& out, int base = 10) {
    if (s.empty()) return false;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
    return ec == std::errc() && p == s.data() + s.size();
}

// Byte sizes: a whole number with an optional k/K, m/M or g/G suffix (powers of 1024).
bool parse_size(std::string_view s, std::uint64_t& out);

// yes/no, true/false, on/off, 1/0.
bool parse_bool(std::string_view s, bool& out);

// The folder of an absolute path ("/" for a file at the top).
std::string parent_of(const std::string& path);

// Durations: whole seconds, or a number with an s, m, h or d suffix (300, 5m, 90d).
bool parse_duration(std::string_view s, std::uint64_t& seconds);

// Reads a regular file of at most `limit` bytes. Never blocks: the file is opened
// non-blocking and refused unless it is a regular file, so a FIFO, a device or /dev/zero
// named by mistake is an error, not a hang or unbounded memory. On failure `error` says why
// (without the file's name). `st` receives the file's status when given.
bool read_small_file(const std::string& path, std::size_t limit, std::string& text,
                     std::string& error, struct stat* st = nullptr);

inline constexpr std::size_t kMaxConfigFile = 1 << 20;

} // namespace wfhookd
