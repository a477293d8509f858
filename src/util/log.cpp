#include "util/log.hpp"

#include "util/clock.hpp"

#include <cstdlib>
#include <sys/stat.h>
#include <unistd.h>

namespace wfhookd {

namespace {

bool g_journal = false;
std::string g_tag = " wfhookd: "; // " wfhookd[PID] ", made once per process by log_init
bool stderr_is_journal() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (stream == nullptr) return false;
    struct stat st {};
    if (fstat(STDERR_FILENO, &st) != 0) return false;
    return fmt::format("{}:{}", st.st_dev, st.st_ino) == stream;
}

std::string_view level_name(Level l) {
    switch (l) {
    case Level::error:
        return "error";
    case Level::warning:
        return "warning";
    case Level::notice:
        return "notice";
    case Level::info:
        return "info";
    case Level::debug:
        return "debug";
    }
    return "info";
}

} // namespace

void log_init() {
    g_journal = stderr_is_journal();
    g_tag = fmt::format(" wfhookd[{}] ", getpid());
}

void log_line(Level level, std::string_view message) {
    // Workers log every request: reuse one buffer, and no formatting library on this path.
    static std::string line;
    line.clear();
    if (g_journal) {
        line.push_back('<');
        line.push_back(static_cast<char>('0' + static_cast<int>(level)));
        line.push_back('>');
    } else {
        append_rfc3339_now(line);
        line.append(g_tag);
        line.append(level_name(level));
        line.append(": ");
    }
    line.append(message);
    line.push_back('\n');
    // One write per line: atomic on a pipe (journald, terminal) up to PIPE_BUF bytes.
    const char* p = line.data();
    std::size_t left = line.size();
    while (left > 0) {
        const ssize_t n = write(STDERR_FILENO, p, left);
        if (n <= 0) break; // nowhere left to report a logging failure
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

namespace {

// Bytes that make a logfmt value need quoting: controls, space, '"', '=', '\\', DEL and
// everything non-ASCII (escaped as \xNN).
struct QuoteTable {
    bool quote[256] = {};
    constexpr QuoteTable() {
        for (int c = 0; c < 256; ++c)
            quote[c] = c <= 0x20 || c >= 0x7F || c == '"' || c == '\\' || c == '=';
    }
};
constexpr QuoteTable kQuote;

} // namespace

void append_field(std::string& line, std::string_view key, std::string_view value) {
    constexpr std::size_t kMax = 256;
    line.push_back(' ');
    line.append(key);
    line.push_back('=');
    // Whether to quote is decided on the whole value, before it is cut.
    std::size_t i = 0;
    while (i < value.size() && !kQuote.quote[static_cast<unsigned char>(value[i])])
        ++i;
    const bool plain = i == value.size() && !value.empty();
    const bool cut = value.size() > kMax;
    if (cut) value = value.substr(0, kMax);
    if (plain) {
        line.append(value);
        if (cut) line.append("...");
        return;
    }
    line.push_back('"');
    std::size_t run = 0; // start of the current run of bytes that need no escaping
    for (i = 0; i < value.size(); ++i) {
        const auto c = static_cast<unsigned char>(value[i]);
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') continue;
        line.append(value.data() + run, i - run);
        run = i + 1;
        if (c == '"' || c == '\\') {
            line.push_back('\\');
            line.push_back(static_cast<char>(c));
        } else {
            static constexpr char hex[] = "0123456789abcdef";
            const char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
            line.append(esc, 4);
        }
    }
    line.append(value.data() + run, value.size() - run);
    if (cut) line.append("...");
    line.push_back('"');
}

} // namespace wfhookd
