#include "server/address.hpp"

#include <arpa/inet.h>
#include <charconv>
#include <cstring>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/un.h>

namespace wfhookd {

std::string ListenAddress::to_string() const {
    switch (kind) {
    case Kind::unix_path:
        return "unix:" + path;
    case Kind::tcp:
        return host.find(':') != std::string::npos ? fmt::format("tcp:[{}]:{}", host, port)
                                                   : fmt::format("tcp:{}:{}", host, port);
    case Kind::inherited:
        break;
    }
    return "inherited socket";
}

bool parse_listen_address(std::string_view text, ListenAddress& out, std::string& error) {
    out = ListenAddress{};
    if (text.starts_with("unix:")) {
        const std::string_view path = text.substr(5);
        if (path.empty() || path.front() != '/') {
            error = "a unix socket path must be absolute (unix:/run/wfhookd/wfhookd.sock)";
            return false;
        }
        if (path.size() >= sizeof(sockaddr_un::sun_path)) {
            error = fmt::format("unix socket path is {} bytes; the limit is {}", path.size(),
                                sizeof(sockaddr_un::sun_path) - 1);
            return false;
        }
        out.kind = ListenAddress::Kind::unix_path;
        out.path = path;
        return true;
    }
    if (text.starts_with("tcp:")) {
        std::string_view rest = text.substr(4);
        std::string_view host, port;
        if (rest.starts_with("[")) {
            const auto close = rest.find(']');
            if (close == std::string_view::npos || close + 1 >= rest.size() ||
                rest[close + 1] != ':') {
                error = "expected tcp:[IPV6]:PORT";
                return false;
            }
            host = rest.substr(1, close - 1);
            port = rest.substr(close + 2);
        } else {
            const auto colon = rest.rfind(':');
            if (colon == std::string_view::npos) {
                error = "expected tcp:HOST:PORT";
                return false;
            }
            host = rest.substr(0, colon);
            port = rest.substr(colon + 1);
            if (host.find(':') != std::string_view::npos) {
                error = "write IPv6 addresses in brackets: tcp:[::1]:9000";
                return false;
            }
        }
        if (host.empty()) {
            error = "expected tcp:HOST:PORT with a host (use 0.0.0.0 or [::] for all addresses)";
            return false;
        }
        unsigned n = 0;
        const auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
        if (port.empty() || ec != std::errc() || p != port.data() + port.size() || n > 65535) {
            error = fmt::format("\"{}\" is not a port number (0-65535)", port);
            return false;
        }
        out.kind = ListenAddress::Kind::tcp;
        out.host = host;
        out.port = static_cast<std::uint16_t>(n);
        return true;
    }
    error = "expected unix:PATH or tcp:HOST:PORT";
    return false;
}

bool parse_address_prefix(std::string_view text, AddressPrefix& out, std::string& error) {
    out = AddressPrefix{};
    std::string_view addr = text, bits;
    if (const auto slash = text.find('/'); slash != std::string_view::npos) {
        addr = text.substr(0, slash);
        bits = text.substr(slash + 1);
    }
    const std::string a(addr);
    if (inet_pton(AF_INET, a.c_str(), out.bytes) == 1) {
        out.family = AF_INET;
        out.bits = 32;
    } else if (inet_pton(AF_INET6, a.c_str(), out.bytes) == 1) {
        out.family = AF_INET6;
        out.bits = 128;
    } else {
        error = fmt::format("\"{}\" is not an IPv4 or IPv6 address", addr);
        return false;
    }
    if (!bits.empty() || text.ends_with("/")) {
        unsigned n = 0;
        const auto [p, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), n);
        if (bits.empty() || ec != std::errc() || p != bits.data() + bits.size() || n > out.bits) {
            error = fmt::format("\"{}\" is not a prefix length (0-{})", bits, out.bits);
            return false;
        }
        out.bits = n;
    }
    return true;
}

namespace {

bool prefix_equal(const std::uint8_t* a, const std::uint8_t* b, unsigned bits) {
    const unsigned whole = bits / 8;
    if (std::memcmp(a, b, whole) != 0) return false;
    if (bits % 8 == 0) return true;
    const std::uint8_t mask = static_cast<std::uint8_t>(0xFF << (8 - bits % 8));
    return (a[whole] & mask) == (b[whole] & mask);
}

} // namespace

bool AddressPrefix::matches(const sockaddr* peer) const {
    if (peer->sa_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(peer);
        return family == AF_INET &&
               prefix_equal(bytes, reinterpret_cast<const std::uint8_t*>(&in->sin_addr), bits);
    }
    if (peer->sa_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(peer);
        const auto* b = reinterpret_cast<const std::uint8_t*>(&in6->sin6_addr);
        if (family == AF_INET6) return prefix_equal(bytes, b, bits);
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) return prefix_equal(bytes, b + 12, bits);
    }
    return false;
}

bool peer_allowed(const std::vector<AddressPrefix>& allow, const sockaddr* peer) {
    if (allow.empty() || peer->sa_family == AF_UNIX) return true;
    for (const AddressPrefix& p : allow)
        if (p.matches(peer)) return true;
    return false;
}

} // namespace wfhookd
