// Logging: one line per event on stderr, written with a single write(2) so lines from
// different workers never interleave. Under systemd (JOURNAL_STREAM names our stderr) lines
// carry a <N> priority prefix for journald; otherwise a UTC timestamp and the pid.
#pragma once

#include <fmt/format.h>
#include <string>
#include <string_view>

namespace wfhookd {

enum class Level { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

// Call once at start (and again in each worker, so the pid is right).
void log_init();

void log_line(Level level, std::string_view message);

template <typename... Args>
void log(Level level, fmt::format_string<Args...> format, Args&&... args) {
    log_line(level, fmt::format(format, std::forward<Args>(args)...));
}

// Appends ` key=value` in logfmt style: quoted and escaped when the value has spaces, quotes,
// control characters or non-ASCII bytes, and cut at 256 bytes, so a hostile header cannot
// forge or split a log line.
void append_field(std::string& line, std::string_view key, std::string_view value);

} // namespace wfhookd
