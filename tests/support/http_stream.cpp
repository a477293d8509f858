#include "http_stream.hpp"

#include "fcgi_client.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <openssl/evp.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace wftest {

namespace {

std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

std::string hex_of(const unsigned char* p, std::size_t n) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(hex[p[i] >> 4]);
        out.push_back(hex[p[i] & 15]);
    }
    return out;
}

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

} // namespace

void Content::fill(std::uint64_t offset, char* out, std::size_t n) const {
    const std::uint64_t key = splitmix64(seed);
    std::size_t i = 0;
    // Byte k of the content is byte (k % 8) of the word splitmix64(key + k / 8).
    while (i < n && (offset + i) % 8 != 0) {
        const std::uint64_t o = offset + i;
        out[i++] = static_cast<char>(splitmix64(key + o / 8) >> (o % 8 * 8));
    }
    for (; i + 8 <= n; i += 8) {
        const std::uint64_t w = splitmix64(key + (offset + i) / 8);
        for (int b = 0; b < 8; ++b)
            out[i + b] = static_cast<char>(w >> (b * 8));
    }
    for (; i < n; ++i) {
        const std::uint64_t o = offset + i;
        out[i] = static_cast<char>(splitmix64(key + o / 8) >> (o % 8 * 8));
    }
}

std::string Content::bytes(std::uint64_t offset, std::size_t n) const {
    std::string out(n, '\0');
    fill(offset, out.data(), n);
    return out;
}

std::string Content::sha256() const {
    Sha256 h;
    std::string buf(1 << 20, '\0');
    for (std::uint64_t off = 0; off < length; off += buf.size()) {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), length - off));
        fill(off, buf.data(), n);
        h.update(std::string_view(buf.data(), n));
    }
    return h.hex();
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
    if (ctx_ == nullptr ||
        EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("EVP_DigestInit_ex failed");
}

Sha256::~Sha256() {
    EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_));
}

void Sha256::update(std::string_view data) {
    EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
}

std::string Sha256::hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), md, &len);
    return hex_of(md, len);
}

std::string Sha256::of(std::string_view data) {
    Sha256 h;
    h.update(data);
    return h.hex();
}

std::string Sha256::of_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return {};
    Sha256 h;
    std::string buf(1 << 20, '\0');
    while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        h.update(std::string_view(buf.data(), static_cast<std::size_t>(in.gcount())));
    }
    return h.hex();
}

StreamResult http_stream(unsigned short port, const StreamRequest& req) {
    StreamResult result;
    const int fd = connect_tcp("127.0.0.1", port);
    if (fd < 0) return result;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

    std::string pending =
        req.method + " " + req.target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
    for (const auto& [k, v] : req.headers)
        pending += k + ": " + v + "\r\n";
    if (req.chunked)
        pending += "Transfer-Encoding: chunked\r\n";
    else if (req.announce >= 0)
        pending += "Content-Length: " + std::to_string(req.announce) + "\r\n";
    else if (req.body.length > 0 || req.method == "POST" || req.method == "PUT")
        pending += "Content-Length: " + std::to_string(req.body.length) + "\r\n";
    pending += "\r\n";

    Sha256 sent_hash;
    std::uint64_t produced = 0;  // body bytes put into `pending` so far
    std::uint64_t piece_end = 0; // body bytes sent once `pending` is written
    bool sending = true, ended = false;
    std::string chunk(req.piece, '\0');
    std::string raw; // the response: its head, then its body unless sunk
    bool have_head = false, complete = false;
    std::int64_t body_length = -1; // the response's Content-Length
    std::uint64_t body_seen = 0;
    std::size_t head_size = 0;

    const auto on_body = [&](std::string_view bytes) {
        body_seen += bytes.size();
        if (req.sink && !lower(result.response.header("transfer-encoding")).starts_with("chunked"))
            req.sink(bytes);
        else
            raw.append(bytes);
        if (body_length >= 0 && body_seen >= std::uint64_t(body_length)) complete = true;
    };

    while (!complete) {
        if (sending && pending.empty()) {
            if (produced >= req.abort_at) break; // hang up, mid-body
            if (produced == req.body.length) {
                if (req.chunked && !ended) {
                    pending = "0\r\n\r\n";
                    ended = true;
                } else {
                    sending = false;
                }
            } else {
                const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(
                    {req.piece, req.body.length - produced, req.abort_at - produced}));
                req.body.fill(produced, chunk.data(), n);
                const std::string_view data(chunk.data(), n);
                sent_hash.update(data);
                if (req.chunked) {
                    char size[32];
                    std::snprintf(size, sizeof size, "%zx\r\n", n);
                    pending.assign(size).append(data).append("\r\n");
                } else {
                    pending.assign(data);
                }
                produced += n;
            }
            piece_end = produced;
        }
        pollfd p{fd, static_cast<short>(POLLIN | (sending && !pending.empty() ? POLLOUT : 0)), 0};
        const int ready = poll(&p, 1, static_cast<int>(req.idle_timeout.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) break; // no progress for idle_timeout
        if ((p.revents & POLLOUT) && sending && !pending.empty()) {
            const ssize_t n = send(fd, pending.data(), pending.size(), MSG_NOSIGNAL);
            if (n > 0) {
                pending.erase(0, static_cast<std::size_t>(n));
                if (pending.empty()) {
                    result.sent = piece_end;
                    if (req.progress) req.progress(piece_end);
                }
            } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                result.send_failed = true;
                sending = false;
            }
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            char buf[65536];
            const ssize_t n = recv(fd, buf, sizeof buf, 0);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (n <= 0) break; // EOF or reset: what arrived is the response
            if (have_head) {
                on_body(std::string_view(buf, static_cast<std::size_t>(n)));
                continue;
            }
            raw.append(buf, static_cast<std::size_t>(n));
            const std::size_t end = raw.find("\r\n\r\n");
            if (end == std::string::npos) continue;
            have_head = true;
            head_size = end + 4;
            const HttpResponse head = parse_http_response(raw.substr(0, head_size));
            result.response.status = head.status;
            result.response.headers = head.headers;
            if (!head.header("content-length").empty())
                body_length = std::strtoll(head.header("content-length").c_str(), nullptr, 10);
            const std::string rest = raw.substr(head_size);
            raw.resize(head_size);
            if (body_length == 0) complete = true;
            if (!rest.empty()) on_body(rest);
        }
    }
    close(fd);
    result.body_sha256 = sent_hash.hex();
    if (!have_head) return result;
    const bool chunked_answer =
        lower(result.response.header("transfer-encoding")).starts_with("chunked");
    if (req.sink && !chunked_answer) {
        result.response.ok = body_length < 0 || body_seen == std::uint64_t(body_length);
        return result;
    }
    HttpResponse whole = parse_http_response(raw);
    if (req.sink && whole.ok) req.sink(whole.body);
    result.response.ok = whole.ok && (body_length < 0 || complete);
    result.response.body = std::move(whole.body);
    return result;
}

} // namespace wftest
