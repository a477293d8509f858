#include "http_client.hpp"

#include "fcgi_client.hpp"

#include <cstdlib>
#include <unistd.h>

namespace wftest {

namespace {

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

} // namespace

std::string http_raw(const std::string& host, unsigned short port, const std::string& bytes,
                     std::chrono::milliseconds timeout, const std::string& source) {
    const int fd = connect_tcp(host, port, source);
    if (fd < 0) return {};
    write_all(fd, bytes);
    std::string out = read_until_eof(fd, timeout);
    close(fd);
    return out;
}

HttpResponse parse_http_response(const std::string& raw) {
    HttpResponse r;
    const auto head_end = raw.find("\r\n\r\n");
    if (raw.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos) return r;
    r.status = std::atoi(raw.c_str() + 9);
    std::size_t pos = raw.find("\r\n") + 2;
    while (pos < head_end) {
        const auto eol = raw.find("\r\n", pos);
        const std::string line = raw.substr(pos, eol - pos);
        const auto colon = line.find(':');
        if (colon != std::string::npos) {
            std::string value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ')
                value.erase(0, 1);
            r.headers[lower(line.substr(0, colon))] = value;
        }
        pos = eol + 2;
    }
    std::string body = raw.substr(head_end + 4);
    if (lower(r.header("transfer-encoding")) == "chunked") {
        std::string decoded;
        std::size_t p = 0;
        for (;;) {
            const auto eol = body.find("\r\n", p);
            if (eol == std::string::npos) return r;
            const std::size_t n = std::strtoul(body.c_str() + p, nullptr, 16);
            if (n == 0) break;
            decoded += body.substr(eol + 2, n);
            p = eol + 2 + n + 2;
        }
        body = decoded;
    } else if (!r.header("content-length").empty()) {
        const std::size_t n = std::strtoul(r.header("content-length").c_str(), nullptr, 10);
        if (body.size() < n) return r;
        body.resize(n);
    }
    r.body = body;
    r.ok = true;
    return r;
}

HttpResponse http_request(const std::string& host, unsigned short port, const std::string& method,
                          const std::string& target, const Headers& headers,
                          const std::string& body, std::chrono::milliseconds timeout,
                          const std::string& source) {
    std::string req =
        method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
    for (const auto& [k, v] : headers)
        req += k + ": " + v + "\r\n";
    if (!body.empty() || method == "POST" || method == "PUT")
        req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    req += "\r\n" + body;
    return parse_http_response(http_raw(host, port, req, timeout, source));
}

} // namespace wftest
