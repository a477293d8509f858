// What a file download carries besides its bytes: Content-Disposition for any file name,
// validators (ETag, Last-Modified) and the one byte range a request may ask for.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <sys/stat.h>

namespace wfhookd {

// attachment (or inline); filename="ASCII fallback"; filename*=UTF-8''percent-encoded
// (RFC 6266 / RFC 8187). The fallback replaces non-ASCII bytes, quotes, backslashes and
// control characters with '_'; the encoded form carries every byte of the name.
std::string content_disposition(std::string_view name, bool inline_ = false);

// "<mtime hex>-<size hex>", as nginx makes it for static files (the same file has the same
// ETag whether nginx or wfhookd serves it).
std::string etag_of(const struct stat& st);
// IMF-fixdate (RFC 9110): Sun, 06 Nov 1994 08:49:37 GMT
std::string http_date(std::int64_t seconds);
// RFC 3339 UTC with milliseconds: 2026-12-01T15:04:05.123Z
std::string rfc3339(const struct timespec& t);

// Whether an If-None-Match header lists `etag` (or is "*"); weak comparison.
bool etag_matches(std::string_view if_none_match, std::string_view etag);

struct ByteRange {
    enum class Kind { whole, partial, unsatisfiable } kind = Kind::whole;
    std::uint64_t start = 0, length = 0;
};
// One "bytes=a-b", "bytes=a-" or "bytes=-n" range of a file of `size` bytes. Anything else
// (several ranges, another unit, garbage) is answered with the whole file, as RFC 9110 allows.
ByteRange parse_range(std::string_view header, std::uint64_t size);

} // namespace wfhookd
