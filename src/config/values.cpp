#include "config/values.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include "util/fs.hpp"

namespace wfhookd {

namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

} // namespace

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_space(s.back()))
        s.remove_suffix(1);
    return s;
}

std::string clean_value(std::string_view raw) {
    std::string_view v = trim(raw);
    for (std::size_t i = 1; i < v.size(); ++i) {
        if ((v[i] == ';' || v[i] == '#') && is_space(v[i - 1])) {
            v = v.substr(0, i);
            break;
        }
    }
    if (!v.empty() && (v.front() == ';' || v.front() == '#')) v = {};
    return std::string(trim(v));
}

bool parse_size(std::string_view s, std::uint64_t& out) {
    std::uint64_t mult = 1;
    if (!s.empty()) {
        switch (s.back()) {
        case 'k':
        case 'K':
            mult = 1024;
            break;
        case 'm':
        case 'M':
            mult = 1024 * 1024;
            break;
        case 'g':
        case 'G':
            mult = 1024 * 1024 * 1024;
            break;
        default:
            break;
        }
    }
    if (mult != 1) s.remove_suffix(1);
    std::uint64_t n = 0;
    if (!parse_number(s, n) || n > (std::uint64_t(1) << 50) / mult) return false;
    out = n * mult;
    return true;
}

bool parse_bool(std::string_view s, bool& out) {
    if (s == "yes" || s == "true" || s == "on" || s == "1") return out = true, true;
    if (s == "no" || s == "false" || s == "off" || s == "0") return out = false, true;
    return false;
}

std::string parent_of(const std::string& path) {
    return path.substr(0, std::max<std::size_t>(1, path.rfind('/')));
}

bool parse_duration(std::string_view s, std::uint64_t& seconds) {
    std::uint64_t mult = 1;
    if (!s.empty()) {
        switch (s.back()) {
        case 's':
            break;
        case 'm':
            mult = 60;
            break;
        case 'h':
            mult = 3600;
            break;
        case 'd':
            mult = 86400;
            break;
        default:
            mult = 0;
            break;
        }
        if (mult != 0) s.remove_suffix(1);
        if (mult == 0) mult = 1;
    }
    std::uint64_t n = 0;
    if (!parse_number(s, n) || n > (std::uint64_t(1) << 40) / mult) return false;
    seconds = n * mult;
    return true;
}

bool read_small_file(const std::string& path, std::size_t limit, std::string& text,
                     std::string& error, struct stat* st_out) {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    const Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (!fd) {
        error = std::strerror(errno);
        return false;
    }
    struct stat st {};
    if (fstat(fd.get(), &st) != 0) {
        error = std::strerror(errno);
        return false;
    }
    if (st_out != nullptr) *st_out = st;
    if (!S_ISREG(st.st_mode)) {
        error = "not a regular file";
        return false;
    }
    if (static_cast<std::uint64_t>(st.st_size) > limit) {
        error = "larger than " + std::to_string(limit / 1024) + " KiB";
        return false;
    }
    text.clear();
    char buf[8192];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            error = std::strerror(errno);
            return false;
        }
        if (n == 0) break;
        text.append(buf, static_cast<std::size_t>(n));
        // A file that grows while we read it is held to the same limit.
        if (text.size() > limit) {
            error = "larger than " + std::to_string(limit / 1024) + " KiB";
            return false;
        }
    }
    return true;
}

} // namespace wfhookd
