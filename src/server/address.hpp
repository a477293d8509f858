// Listen addresses (`unix:PATH`, `tcp:HOST:PORT`) and client allow-lists (`allow_from`).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <vector>

namespace wfhookd {

struct ListenAddress {
    enum class Kind { inherited, unix_path, tcp };
    Kind kind = Kind::inherited;
    std::string path; // unix
    std::string host; // tcp: literal address or name; "[::1]" brackets removed
    std::uint16_t port = 0;

    std::string to_string() const;
    bool operator==(const ListenAddress&) const = default;
};

// Parses a `listen` value; on failure returns false and sets `error`.
bool parse_listen_address(std::string_view text, ListenAddress& out, std::string& error);

// An address prefix: 127.0.0.1, 10.0.0.0/8, ::1, fd00::/8. IPv4-mapped IPv6 peers
// (::ffff:a.b.c.d) match IPv4 prefixes.
struct AddressPrefix {
    int family = 0;              // AF_INET or AF_INET6
    std::uint8_t bytes[16] = {}; // network order
    unsigned bits = 0;

    bool matches(const sockaddr* peer) const;
    bool operator==(const AddressPrefix&) const = default;
};

bool parse_address_prefix(std::string_view text, AddressPrefix& out, std::string& error);

// True when `peer` matches one of `allow`, or `allow` is empty. Unix-socket peers always match:
// file permissions guard those.
bool peer_allowed(const std::vector<AddressPrefix>& allow, const sockaddr* peer);

} // namespace wfhookd
