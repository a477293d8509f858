// HTTP/1.1 with bodies too large to hold in memory, for end-to-end tests of uploads and
// downloads: the request body is generated as it is sent (optionally chunked, paused, or cut
// off), the response is read while the body is still going out (an early 413 or 500 is seen
// even when the server stops reading), and a response body can be consumed as it arrives.
// Also: deterministic pseudo-random content of any length, and SHA-256 over it.
#pragma once

#include "http_client.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>

namespace wftest {

// Bytes that depend on a seed and their offset only: any range of a gigabyte can be made
// again, without storing it, to send or to compare with.
struct Content {
    std::uint64_t seed = 0;
    std::uint64_t length = 0;
    void fill(std::uint64_t offset, char* out, std::size_t n) const;
    std::string bytes(std::uint64_t offset, std::size_t n) const; // a small range
    std::string sha256() const;                                   // of the whole content
};

// Incremental SHA-256 (OpenSSL), hex digests.
class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(std::string_view data);
    std::string hex(); // once, at the end
    static std::string of(std::string_view data);
    static std::string of_file(const std::string& path); // empty when it cannot be read

private:
    void* ctx_;
};

struct StreamRequest {
    std::string method = "PUT";
    std::string target;
    Headers headers;
    Content body;               // what is sent: body.length bytes
    bool chunked = false;       // Transfer-Encoding: chunked instead of Content-Length
    std::int64_t announce = -1; // a Content-Length other than body.length (a lie)
    std::uint64_t abort_at = std::numeric_limits<std::uint64_t>::max(); // hang up there
    std::size_t piece = 64 * 1024;                                      // bytes per write
    // Called after every write with the body bytes sent so far; may block (to pause the upload
    // at a point the test chooses).
    std::function<void(std::uint64_t sent)> progress;
    // The response body as it arrives (instead of collecting it in response.body).
    std::function<void(std::string_view)> sink;
    std::chrono::milliseconds idle_timeout = std::chrono::seconds(60); // without progress
};

struct StreamResult {
    HttpResponse response;    // ok when a complete response arrived
    std::uint64_t sent = 0;   // body bytes written
    bool send_failed = false; // the server stopped reading before the end
    std::string body_sha256;  // of the body bytes sent
};

StreamResult http_stream(unsigned short port, const StreamRequest& request);

} // namespace wftest
