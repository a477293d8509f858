#include "fcgi_client.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace wftest {

namespace {

constexpr std::uint8_t kBeginRequest = 1, kEndRequest = 3, kParams = 4, kStdin = 5, kStdout = 6;

void put_length(std::string& out, std::size_t n) {
    if (n < 128) {
        out.push_back(static_cast<char>(n));
    } else {
        out.push_back(static_cast<char>(0x80 | ((n >> 24) & 0x7F)));
        out.push_back(static_cast<char>((n >> 16) & 0xFF));
        out.push_back(static_cast<char>((n >> 8) & 0xFF));
        out.push_back(static_cast<char>(n & 0xFF));
    }
}

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

} // namespace

std::string fcgi_record(std::uint8_t type, std::uint16_t request_id, std::string_view content) {
    std::string r;
    const std::size_t pad = (8 - content.size() % 8) % 8;
    r.push_back(1); // version
    r.push_back(static_cast<char>(type));
    r.push_back(static_cast<char>(request_id >> 8));
    r.push_back(static_cast<char>(request_id & 0xFF));
    r.push_back(static_cast<char>(content.size() >> 8));
    r.push_back(static_cast<char>(content.size() & 0xFF));
    r.push_back(static_cast<char>(pad));
    r.push_back(0);
    r.append(content);
    r.append(pad, '\0');
    return r;
}

std::string fcgi_begin_request(std::uint16_t request_id, bool keep_conn) {
    const char body[8] = {0, 1 /* responder */, static_cast<char>(keep_conn ? 1 : 0), 0, 0, 0, 0,
                          0};
    return fcgi_record(kBeginRequest, request_id, std::string_view(body, 8));
}

std::string fcgi_encode_params(const Params& params) {
    std::string out;
    for (const auto& [k, v] : params) {
        put_length(out, k.size());
        put_length(out, v.size());
        out += k;
        out += v;
    }
    return out;
}

std::string fcgi_request(const Params& params, std::string_view body, std::uint16_t request_id,
                         bool keep_conn) {
    std::string out = fcgi_begin_request(request_id, keep_conn);
    const std::string encoded = fcgi_encode_params(params);
    for (std::size_t i = 0; i < encoded.size(); i += 65535)
        out += fcgi_record(kParams, request_id, std::string_view(encoded).substr(i, 65535));
    out += fcgi_record(kParams, request_id, {});
    for (std::size_t i = 0; i < body.size(); i += 65535)
        out += fcgi_record(kStdin, request_id, body.substr(i, 65535));
    out += fcgi_record(kStdin, request_id, {});
    return out;
}

FcgiReply fcgi_parse_reply(std::string_view bytes) {
    FcgiReply reply;
    std::size_t pos = 0;
    while (pos + 8 <= bytes.size()) {
        const auto* h = reinterpret_cast<const unsigned char*>(bytes.data() + pos);
        const std::size_t len = (std::size_t(h[4]) << 8) | h[5];
        const std::size_t pad = h[6];
        if (pos + 8 + len + pad > bytes.size()) break;
        const std::string_view content = bytes.substr(pos + 8, len);
        if (h[1] == kStdout) reply.stdout_raw.append(content);
        if (h[1] == kEndRequest && len >= 4) {
            reply.complete = true;
            const auto* b = reinterpret_cast<const unsigned char*>(content.data());
            reply.app_status = (std::uint32_t(b[0]) << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
        }
        pos += 8 + len + pad;
    }
    const std::string& out = reply.stdout_raw;
    const std::size_t end = out.find("\r\n\r\n");
    const std::string head = out.substr(0, end);
    reply.body = end == std::string::npos ? std::string() : out.substr(end + 4);
    std::size_t line_start = 0;
    while (line_start < head.size()) {
        std::size_t line_end = head.find("\r\n", line_start);
        if (line_end == std::string::npos) line_end = head.size();
        const std::string line = head.substr(line_start, line_end - line_start);
        const std::size_t colon = line.find(':');
        if (colon != std::string::npos) {
            std::string value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ')
                value.erase(0, 1);
            reply.headers[lower(line.substr(0, colon))] = value;
        }
        line_start = line_end + 2;
    }
    if (auto it = reply.headers.find("status"); it != reply.headers.end())
        reply.status = std::atoi(it->second.c_str());
    return reply;
}

int connect_unix(const std::string& path) {
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (path.size() >= sizeof sa.sun_path) return -1;
    std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
    if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int connect_tcp(const std::string& host, std::uint16_t port, const std::string& source) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) return -1;
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (!source.empty()) {
        // Connect from another loopback address (127.0.0.0/8 is all ours).
        sockaddr_in from{};
        from.sin_family = AF_INET;
        if (inet_pton(AF_INET, source.c_str(), &from.sin_addr) != 1 ||
            bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
            close(fd);
            return -1;
        }
    }
    if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

std::string read_until_eof(int fd, std::chrono::milliseconds timeout) {
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[8192];
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{fd, POLLIN, 0};
        const int r = poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        const ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

std::string read_reply(int fd, std::chrono::milliseconds timeout) {
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[8192];
    // Exactly `n` more bytes into `out`: never a byte of the next reply on the connection.
    const auto read_n = [&](std::size_t n) {
        while (n > 0) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return false;
            pollfd p{fd, POLLIN, 0};
            const int r = poll(&p, 1, static_cast<int>(left.count()));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) return false;
            const ssize_t got = read(fd, buf, std::min(n, sizeof buf));
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) return false;
            out.append(buf, static_cast<std::size_t>(got));
            n -= static_cast<std::size_t>(got);
        }
        return true;
    };
    while (read_n(8)) {
        const auto* h = reinterpret_cast<const unsigned char*>(out.data() + out.size() - 8);
        const std::uint8_t type = h[1];
        if (!read_n(((std::size_t(h[4]) << 8) | h[5]) + h[6]) || type == kEndRequest) break;
    }
    return out;
}

FcgiReply fcgi_call(const std::string& socket_path, const Params& params, std::string_view body,
                    std::chrono::milliseconds timeout) {
    const int fd = connect_unix(socket_path);
    if (fd < 0) return {};
    write_all(fd, fcgi_request(params, body));
    const std::string bytes = read_until_eof(fd, timeout);
    close(fd);
    return fcgi_parse_reply(bytes);
}

} // namespace wftest
