#include "log.hpp"

#include "clock.hpp"

#include <cstdlib>
#include <sys/stat.h>
#include <unistd.h>

namespace wfhookd {

namespace {

bool g_journal = false;
pid_t g_pid = 0;

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
    g_pid = getpid();
}

void log_line(Level level, std::string_view message) {
    std::string line;
    line.reserve(message.size() + 64);
    if (g_journal)
        fmt::format_to(std::back_inserter(line), "<{}>", static_cast<int>(level));
    else
        fmt::format_to(std::back_inserter(line), "{} wfhookd[{}] {}: ", rfc3339_now(),
                       g_pid ? g_pid : getpid(), level_name(level));
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

void append_field(std::string& line, std::string_view key, std::string_view value) {
    constexpr std::size_t kMax = 256;
    line.push_back(' ');
    line.append(key);
    line.push_back('=');
    bool plain = !value.empty();
    for (const char ch : value) {
        const auto c = static_cast<unsigned char>(ch);
        if (c <= 0x20 || c >= 0x7F || c == '"' || c == '\\' || c == '=') {
            plain = false;
            break;
        }
    }
    const bool cut = value.size() > kMax;
    if (cut) value = value.substr(0, kMax);
    if (plain) {
        line.append(value);
        if (cut) line.append("...");
        return;
    }
    line.push_back('"');
    for (const char ch : value) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            line.push_back('\\');
            line.push_back(ch);
        } else if (c < 0x20 || c >= 0x7F) {
            fmt::format_to(std::back_inserter(line), "\\x{:02x}", c);
        } else {
            line.push_back(ch);
        }
    }
    if (cut) line.append("...");
    line.push_back('"');
}

} // namespace wfhookd
