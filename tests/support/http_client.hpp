// A plain HTTP/1.1 client for end-to-end tests (one request per connection).
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace wftest {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
    bool ok = false; // a complete response arrived
    int status = 0;
    std::map<std::string, std::string> headers; // names lower-cased
    std::string body;
    std::string header(const std::string& name) const {
        auto it = headers.find(name);
        return it == headers.end() ? std::string() : it->second;
    }
};

HttpResponse http_request(const std::string& host, unsigned short port, const std::string& method,
                          const std::string& target, const Headers& headers = {},
                          const std::string& body = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds(20),
                          const std::string& source = "");

// Sends raw bytes and returns the raw reply (for malformed-request tests).
// `source`: the local address to connect from (e.g. "127.0.0.2"), default any.
std::string http_raw(const std::string& host, unsigned short port, const std::string& bytes,
                     std::chrono::milliseconds timeout = std::chrono::seconds(20),
                     const std::string& source = "");

HttpResponse parse_http_response(const std::string& raw);

} // namespace wftest
