#include "http/download.hpp"

#include "http/links.hpp"

#include <charconv>
#include <ctime>
#include <fmt/format.h>

namespace wfhookd {

std::string content_disposition(std::string_view name, bool inline_) {
    std::string out = inline_ ? "inline" : "attachment";
    out.append("; filename=\"");
    for (const char ch : name) {
        const auto c = static_cast<unsigned char>(ch);
        out.push_back(c < 0x20 || c >= 0x7F || c == '"' || c == '\\' || c == '%' ? '_' : ch);
    }
    out.append("\"; filename*=UTF-8''");
    append_percent_encoded(out, name);
    return out;
}

std::string etag_of(const struct stat& st) {
    return fmt::format("\"{:x}-{:x}\"", static_cast<std::uint64_t>(st.st_mtim.tv_sec),
                       static_cast<std::uint64_t>(st.st_size));
}

std::string http_date(std::int64_t seconds) {
    const std::time_t t = static_cast<std::time_t>(seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

std::string rfc3339(const struct timespec& ts) {
    const std::time_t t = ts.tv_sec;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    return fmt::format("{}.{:03}Z", buf, ts.tv_nsec / 1'000'000);
}

bool etag_matches(std::string_view header, std::string_view etag) {
    const auto strip_weak = [](std::string_view t) {
        return t.starts_with("W/") ? t.substr(2) : t;
    };
    etag = strip_weak(etag);
    std::size_t pos = 0;
    while (pos < header.size()) {
        std::size_t end = header.find(',', pos);
        if (end == std::string_view::npos) end = header.size();
        std::string_view tag = header.substr(pos, end - pos);
        while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t'))
            tag.remove_prefix(1);
        while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t'))
            tag.remove_suffix(1);
        if (tag == "*" || strip_weak(tag) == etag) return true;
        pos = end + 1;
    }
    return false;
}

ByteRange parse_range(std::string_view header, std::uint64_t size) {
    ByteRange whole;
    if (!header.starts_with("bytes=")) return whole;
    std::string_view spec = header.substr(6);
    if (spec.find(',') != std::string_view::npos) return whole; // several: the whole file
    const auto dash = spec.find('-');
    if (dash == std::string_view::npos) return whole;
    const std::string_view first = spec.substr(0, dash), last = spec.substr(dash + 1);
    const auto number = [](std::string_view s, std::uint64_t& n) {
        const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
        return !s.empty() && ec == std::errc() && p == s.data() + s.size();
    };
    std::uint64_t a = 0, b = 0;
    ByteRange r;
    r.kind = ByteRange::Kind::partial;
    if (first.empty()) { // the last n bytes
        if (!number(last, b)) return whole;
        if (b == 0 || size == 0) return {ByteRange::Kind::unsatisfiable, 0, 0};
        r.length = std::min(b, size);
        r.start = size - r.length;
        return r;
    }
    if (!number(first, a)) return whole;
    if (!last.empty() && (!number(last, b) || b < a)) return whole;
    if (a >= size) return {ByteRange::Kind::unsatisfiable, 0, 0};
    const std::uint64_t end = last.empty() ? size - 1 : std::min(b, size - 1);
    r.start = a;
    r.length = end - a + 1;
    return r;
}

} // namespace wfhookd
