#include "http/multipart.hpp"

#include <algorithm>
#include <cstring>

namespace wfhookd {

namespace {

constexpr std::size_t kMaxHeaders = 16 * 1024;
constexpr std::size_t kRead = 64 * 1024;
// A first part that names no file is held in memory while the parts after it are looked at
// for one that does; one larger than this is taken as the document without looking further.
constexpr std::size_t kMaxHeld = 1024 * 1024;

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
    return true;
}

bool is_space(char c) {
    return c == ' ' || c == '\t';
}

std::string_view trim_front(std::string_view s) {
    while (!s.empty() && is_space(s.front()))
        s.remove_prefix(1);
    return s;
}

} // namespace

// RFC 7231 §3.1.1.1: type/subtype *( OWS ";" OWS name "=" ( token / quoted-string ) ), the
// type and the parameter names case-insensitive.
std::string multipart_boundary(std::string_view ct) {
    constexpr std::string_view kType = "multipart/form-data";
    if (!starts_with_nocase(ct, kType)) return {};
    std::string_view rest = ct.substr(kType.size());
    while (!(rest = trim_front(rest)).empty()) {
        if (rest.front() != ';') return {}; // "multipart/form-dataX": another type
        rest = trim_front(rest.substr(1));
        const std::size_t eq = rest.find_first_of("=;");
        if (eq == std::string_view::npos || rest[eq] == ';') { // a name without a value
            rest = eq == std::string_view::npos ? std::string_view() : rest.substr(eq);
            continue;
        }
        const std::string_view name = rest.substr(0, eq);
        rest.remove_prefix(eq + 1);
        std::string value;
        if (!rest.empty() && rest.front() == '"') {
            std::size_t i = 1;
            for (; i < rest.size() && rest[i] != '"'; ++i) {
                if (rest[i] == '\\' && i + 1 < rest.size()) ++i; // a quoted-pair
                value.push_back(rest[i]);
            }
            if (i == rest.size()) return {}; // no closing quote
            rest.remove_prefix(i + 1);
        } else {
            const std::size_t end = std::min(rest.find_first_of("; \t"), rest.size());
            value.assign(rest.substr(0, end));
            rest.remove_prefix(end);
        }
        if (name.size() == 8 && starts_with_nocase(name, "boundary")) {
            if (value.empty() || value.size() > 70) return {}; // RFC 2046: 1-70 characters
            return value;
        }
    }
    return {};
}

MultipartReader::MultipartReader(BodySource& body, std::string boundary)
    : body_(body), delimiter_("\r\n--" + boundary) {}

long MultipartReader::fail(std::string_view why) {
    error_ = why;
    done_ = true;
    return -1;
}

bool MultipartReader::fill() {
    if (body_end_) return false;
    // Read into a buffer of our own: growing buf_ by a whole read first would clear that much
    // memory for every read, however few bytes it brings.
    char chunk[kRead];
    const long n = body_.read(chunk, sizeof chunk);
    if (n > 0) buf_.append(chunk, static_cast<std::size_t>(n));
    if (n < 0) error_ = "the request body ended early";
    if (n <= 0) body_end_ = true;
    return n > 0;
}

// At a delimiter line (the first has no leading CRLF): past it and the part's headers. false
// at the closing delimiter (error_ empty) or when the body is not well-formed (error_ set).
bool MultipartReader::start_part(bool& has_file) {
    if (!started_) {
        // The body starts with the delimiter (a preamble is allowed: skip to it).
        buf_.insert(0, "\r\n");
        started_ = true;
    }
    std::size_t at;
    while ((at = buf_.find(delimiter_)) == std::string::npos) {
        if (buf_.size() > delimiter_.size()) buf_.erase(0, buf_.size() - delimiter_.size());
        if (!fill()) {
            if (error_.empty()) error_ = "no multipart delimiter in the body";
            return false;
        }
    }
    buf_.erase(0, at + delimiter_.size());
    while (buf_.size() < 2 && fill()) {
    }
    if (buf_.starts_with("--")) return false; // the closing delimiter: no more parts
    std::size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
        if (buf_.size() > kMaxHeaders) {
            error_ = "a multipart part's headers are too long";
            return false;
        }
        if (!fill()) {
            if (error_.empty()) error_ = "the multipart body ends inside a part's headers";
            return false;
        }
    }
    const std::string_view headers(buf_.data(), end);
    has_file = false;
    for (std::size_t pos = 0; pos < headers.size();) {
        std::size_t eol = headers.find("\r\n", pos);
        if (eol == std::string_view::npos) eol = headers.size();
        const std::string_view line = headers.substr(pos, eol - pos);
        if (starts_with_nocase(line, "content-disposition:") &&
            line.find("filename=") != std::string_view::npos)
            has_file = true;
        pos = eol + 2;
    }
    buf_.erase(0, end + 4);
    return true;
}

// Past the content of the part being read, to the delimiter after it (left at the front).
bool MultipartReader::skip_part() {
    std::size_t at;
    while ((at = buf_.find(delimiter_)) == std::string::npos) {
        if (buf_.size() > delimiter_.size()) buf_.erase(0, buf_.size() - delimiter_.size());
        if (!fill()) {
            if (error_.empty()) error_ = "a multipart part is not closed";
            return false;
        }
    }
    buf_.erase(0, at);
    return true;
}

long MultipartReader::read(char* out, std::size_t size) {
    if (done_) return error_.empty() ? 0 : -1;
    if (!started_) {
        // The first part naming a file; or the first part when none does.
        bool has_file = false;
        if (!start_part(has_file))
            return fail(error_.empty() ? "no file in the multipart body" : error_);
        if (!has_file) {
            // Held while the parts after it are looked at, if it is not too large.
            std::size_t at;
            while ((at = buf_.find(delimiter_)) == std::string::npos && buf_.size() <= kMaxHeld)
                if (!fill())
                    return fail(error_.empty() ? "a multipart part is not closed" : error_);
            if (at != std::string::npos && at <= kMaxHeld) {
                std::string first = buf_.substr(0, at);
                buf_.erase(0, at);
                for (;;) {
                    if (!start_part(has_file)) {
                        if (!error_.empty()) return fail(error_);
                        // No part names a file: the first one is the document, then the end.
                        buf_ = std::move(first);
                        buf_ += delimiter_;
                        break;
                    }
                    if (has_file) break;
                    if (!skip_part()) return fail(error_);
                }
            }
        }
    }
    // Content up to the next delimiter. Bytes that might begin it are held back.
    for (;;) {
        const std::size_t at = buf_.find(delimiter_);
        if (at != std::string::npos) {
            const std::size_t n = std::min(size, at);
            std::memcpy(out, buf_.data(), n);
            buf_.erase(0, n);
            if (n == 0) done_ = true; // at the delimiter: the part is over
            return static_cast<long>(n);
        }
        const std::size_t safe =
            buf_.size() > delimiter_.size() ? buf_.size() - delimiter_.size() : 0;
        if (safe > 0) {
            const std::size_t n = std::min(size, safe);
            std::memcpy(out, buf_.data(), n);
            buf_.erase(0, n);
            return static_cast<long>(n);
        }
        if (!fill())
            return fail(error_.empty() ? "the multipart body ends inside its file" : error_);
    }
}

} // namespace wfhookd
