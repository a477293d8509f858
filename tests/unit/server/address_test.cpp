#include "server/address.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>
#include <ostream>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <vector>

namespace bdata = boost::unit_test::data;
using wfhookd::AddressPrefix;
using wfhookd::ListenAddress;
using wfhookd::parse_address_prefix;
using wfhookd::parse_listen_address;
using wfhookd::peer_allowed;
using Kind = wfhookd::ListenAddress::Kind;

namespace {

// ------------------------------------------------------------------------------------------
// listen = ...

struct ListenCase {
    std::string name;
    std::string text;
    bool ok;
    Kind kind;
    std::string path_or_host; // unix path or tcp host
    std::uint16_t port;
    std::string error_or_string; // error when !ok, to_string() when ok
};

std::ostream& operator<<(std::ostream& os, const ListenCase& c) {
    return os << c.name;
}

constexpr std::size_t kMaxPath = sizeof(sockaddr_un::sun_path) - 1;
const std::string kMaxUnixPath = "/" + std::string(kMaxPath - 1, 'p');
const std::string kTooLongUnixPath = kMaxUnixPath + "p";

ListenCase ok_unix(std::string name, const std::string& path) {
    return {std::move(name), "unix:" + path, true, Kind::unix_path, path, 0, "unix:" + path};
}
ListenCase ok_tcp(std::string name, std::string text, std::string host, std::uint16_t port,
                  std::string str) {
    return {std::move(name), std::move(text), true, Kind::tcp, std::move(host), port,
            std::move(str)};
}
ListenCase bad(std::string name, std::string text, std::string error) {
    return {std::move(name), std::move(text), false, Kind::inherited, "", 0, std::move(error)};
}

const std::string kNeedScheme = "expected unix:PATH or tcp:HOST:PORT";
const std::string kUnixRelative =
    "a unix socket path must be absolute (unix:/run/wfhookd/wfhookd.sock)";
const std::string kNeedHostPort = "expected tcp:HOST:PORT";
const std::string kNeedHost =
    "expected tcp:HOST:PORT with a host (use 0.0.0.0 or [::] for all addresses)";
const std::string kBrackets = "expected tcp:[IPV6]:PORT";

std::vector<ListenCase> listen_cases() {
    return {
        ok_unix("unix socket", "/run/wfhookd/wfhookd.sock"),
        ok_unix("unix path at the length limit", kMaxUnixPath),
        ok_unix("unix path with spaces", "/tmp/a b.sock"),
        ok_tcp("tcp IPv4", "tcp:127.0.0.1:9000", "127.0.0.1", 9000, "tcp:127.0.0.1:9000"),
        ok_tcp("tcp all IPv4", "tcp:0.0.0.0:0", "0.0.0.0", 0, "tcp:0.0.0.0:0"),
        ok_tcp("tcp host name, highest port", "tcp:localhost:65535", "localhost", 65535,
               "tcp:localhost:65535"),
        ok_tcp("tcp IPv6", "tcp:[::1]:9000", "::1", 9000, "tcp:[::1]:9000"),
        ok_tcp("tcp all IPv6", "tcp:[::]:80", "::", 80, "tcp:[::]:80"),
        ok_tcp("tcp leading zeros in port", "tcp:h:0080", "h", 80, "tcp:h:80"),
        bad("empty", "", kNeedScheme),
        bad("udp", "udp:x", kNeedScheme),
        bad("scheme is case-sensitive", "TCP:h:1", kNeedScheme),
        bad("bare path", "/run/x.sock", kNeedScheme),
        bad("bare host:port", "127.0.0.1:9000", kNeedScheme),
        bad("unix without path", "unix:", kUnixRelative),
        bad("unix relative", "unix:relative.sock", kUnixRelative),
        bad("unix path too long", "unix:" + kTooLongUnixPath,
            "unix socket path is " + std::to_string(kTooLongUnixPath.size()) +
                " bytes; the limit is " + std::to_string(kMaxPath)),
        bad("tcp without anything", "tcp:", kNeedHostPort),
        bad("tcp without port", "tcp:host", kNeedHostPort),
        bad("tcp empty host", "tcp::9000", kNeedHost),
        bad("tcp empty IPv6 host", "tcp:[]:9000", kNeedHost),
        bad("tcp IPv6 without brackets", "tcp:::1:9000",
            "write IPv6 addresses in brackets: tcp:[::1]:9000"),
        bad("tcp IPv6 without port", "tcp:[::1]", kBrackets),
        bad("tcp IPv6 without colon", "tcp:[::1]9000", kBrackets),
        bad("tcp IPv6 unclosed", "tcp:[::1:9000", kBrackets),
        bad("tcp IPv6 empty port", "tcp:[::1]:", "\"\" is not a port number (0-65535)"),
        bad("tcp empty port", "tcp:h:", "\"\" is not a port number (0-65535)"),
        bad("tcp port too big", "tcp:[::1]:99999", "\"99999\" is not a port number (0-65535)"),
        bad("tcp port 65536", "tcp:h:65536", "\"65536\" is not a port number (0-65535)"),
        bad("tcp negative port", "tcp:h:-1", "\"-1\" is not a port number (0-65535)"),
        bad("tcp port with junk", "tcp:h:9x", "\"9x\" is not a port number (0-65535)"),
        bad("tcp port with a space", "tcp:h: 9", "\" 9\" is not a port number (0-65535)"),
        bad("tcp port name", "tcp:h:http", "\"http\" is not a port number (0-65535)"),
    };
}

// ------------------------------------------------------------------------------------------
// allow_from prefixes.

struct PrefixCase {
    std::string text;
    bool ok;
    int family;
    std::string address; // inet_pton form of the address part
    unsigned bits;
    std::string error;
};

std::ostream& operator<<(std::ostream& os, const PrefixCase& c) {
    return os << '"' << c.text << '"';
}

const PrefixCase kPrefixCases[] = {
    {"127.0.0.1", true, AF_INET, "127.0.0.1", 32, ""},
    {"10.0.0.0/8", true, AF_INET, "10.0.0.0", 8, ""},
    {"192.168.1.0/24", true, AF_INET, "192.168.1.0", 24, ""},
    {"0.0.0.0/0", true, AF_INET, "0.0.0.0", 0, ""},
    {"10.1.2.3/32", true, AF_INET, "10.1.2.3", 32, ""},
    {"10.0.0.0/08", true, AF_INET, "10.0.0.0", 8, ""},
    {"::1", true, AF_INET6, "::1", 128, ""},
    {"fd00::/8", true, AF_INET6, "fd00::", 8, ""},
    {"::/0", true, AF_INET6, "::", 0, ""},
    {"2001:db8::/33", true, AF_INET6, "2001:db8::", 33, ""},
    {"::ffff:10.0.0.1", true, AF_INET6, "::ffff:10.0.0.1", 128, ""},
    {"::1/128", true, AF_INET6, "::1", 128, ""},
    {"", false, 0, "", 0, "\"\" is not an IPv4 or IPv6 address"},
    {"nonsense", false, 0, "", 0, "\"nonsense\" is not an IPv4 or IPv6 address"},
    {"256.0.0.1", false, 0, "", 0, "\"256.0.0.1\" is not an IPv4 or IPv6 address"},
    {"10.0.0/8", false, 0, "", 0, "\"10.0.0\" is not an IPv4 or IPv6 address"},
    {"/8", false, 0, "", 0, "\"\" is not an IPv4 or IPv6 address"},
    {"localhost", false, 0, "", 0, "\"localhost\" is not an IPv4 or IPv6 address"},
    {"10.0.0.0/33", false, 0, "", 0, "\"33\" is not a prefix length (0-32)"},
    {"::1/129", false, 0, "", 0, "\"129\" is not a prefix length (0-128)"},
    {"10.0.0.0/", false, 0, "", 0, "\"\" is not a prefix length (0-32)"},
    {"::/", false, 0, "", 0, "\"\" is not a prefix length (0-128)"},
    {"10.0.0.0/abc", false, 0, "", 0, "\"abc\" is not a prefix length (0-32)"},
    {"10.0.0.0/-1", false, 0, "", 0, "\"-1\" is not a prefix length (0-32)"},
    {"10.0.0.0/8/8", false, 0, "", 0, "\"8/8\" is not a prefix length (0-32)"},
    {"10.0.0.0/ 8", false, 0, "", 0, "\" 8\" is not a prefix length (0-32)"},
};

// ------------------------------------------------------------------------------------------
// Matching peers.

struct Peer {
    sockaddr_storage ss{};
    const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&ss); }
};

Peer peer(const std::string& address) {
    Peer p;
    auto* in = reinterpret_cast<sockaddr_in*>(&p.ss);
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&p.ss);
    if (inet_pton(AF_INET, address.c_str(), &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons(1234);
    } else if (inet_pton(AF_INET6, address.c_str(), &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(1234);
    } else {
        throw std::invalid_argument("bad test address " + address);
    }
    return p;
}

Peer unix_peer() {
    Peer p;
    auto* un = reinterpret_cast<sockaddr_un*>(&p.ss);
    un->sun_family = AF_UNIX;
    std::strcpy(un->sun_path, "/run/wfhookd.sock");
    return p;
}

AddressPrefix prefix(const std::string& text) {
    AddressPrefix p;
    std::string error;
    if (!parse_address_prefix(text, p, error)) throw std::invalid_argument(error);
    return p;
}

struct MatchCase {
    std::string prefix;
    std::string peer;
    bool matches;
};

std::ostream& operator<<(std::ostream& os, const MatchCase& c) {
    return os << c.prefix << " vs " << c.peer;
}

const MatchCase kMatchCases[] = {
    // IPv4.
    {"127.0.0.1", "127.0.0.1", true},
    {"127.0.0.1", "127.0.0.2", false},
    {"10.0.0.0/8", "10.255.1.2", true},
    {"10.0.0.0/8", "11.0.0.1", false},
    {"10.0.0.0/8", "9.255.255.255", false},
    {"0.0.0.0/0", "203.0.113.9", true},
    {"192.168.0.0/23", "192.168.1.255", true},
    {"192.168.0.0/23", "192.168.2.0", false},
    {"10.0.0.0/9", "10.127.255.255", true},
    {"10.0.0.0/9", "10.128.0.0", false},
    {"10.0.0.1/31", "10.0.0.0", true},
    {"10.0.0.1/31", "10.0.0.2", false},
    {"172.16.0.0/12", "172.31.255.255", true},
    {"172.16.0.0/12", "172.32.0.0", false},
    {"10.0.0.1/1", "127.0.0.1", true},
    {"10.0.0.1/1", "128.0.0.1", false},
    // IPv6.
    {"::1", "::1", true},
    {"::1", "::2", false},
    {"fd00::/8", "fd12:3456::1", true},
    {"fd00::/8", "fe00::1", false},
    {"2001:db8::/33", "2001:db8:7fff::1", true},
    {"2001:db8::/33", "2001:db8:8000::1", false},
    {"2001:db8::/127", "2001:db8::1", true},
    {"2001:db8::/127", "2001:db8::2", false},
    {"::/0", "2001:db8::1", true},
    // Families do not mix, except IPv4-mapped IPv6 peers against IPv4 prefixes.
    {"0.0.0.0/0", "::1", false},
    {"::/0", "1.2.3.4", false},
    {"::ffff:0:0/96", "1.2.3.4", false},
    {"10.0.0.0/8", "::ffff:10.1.2.3", true},
    {"10.0.0.0/8", "::ffff:11.1.2.3", false},
    {"127.0.0.1", "::ffff:127.0.0.1", true},
    {"127.0.0.1", "::ffff:127.0.0.2", false},
    {"192.168.0.0/23", "::ffff:192.168.1.1", true},
    {"192.168.0.0/23", "::ffff:192.168.2.1", false},
    {"0.0.0.0/0", "::ffff:1.2.3.4", true},
    {"10.0.0.0/8", "::10.1.2.3", false}, // IPv4-compatible, not mapped
    {"10.0.0.0/8", "64:ff9b::10.1.2.3", false},
    {"::ffff:0:0/96", "::ffff:10.1.2.3", true}, // an IPv6 prefix compares all 128 bits
};

} // namespace

BOOST_AUTO_TEST_SUITE(address)

BOOST_DATA_TEST_CASE(parse_listen_address_table, bdata::make(listen_cases()), c) {
    ListenAddress out;
    out.kind = Kind::tcp; // stale contents must be replaced
    out.host = "stale";
    out.path = "stale";
    out.port = 1;
    std::string error;
    BOOST_TEST(parse_listen_address(c.text, out, error) == c.ok);
    if (c.ok) {
        BOOST_TEST(error.empty());
        BOOST_TEST((out.kind == c.kind));
        BOOST_TEST((c.kind == Kind::unix_path ? out.path : out.host) == c.path_or_host);
        BOOST_TEST((c.kind == Kind::unix_path ? out.host : out.path) == "");
        BOOST_TEST(out.port == c.port);
        BOOST_TEST(out.to_string() == c.error_or_string);
    } else {
        BOOST_TEST(error == c.error_or_string);
        BOOST_TEST((out == ListenAddress{}));
    }
}

BOOST_AUTO_TEST_CASE(inherited_socket_to_string) {
    BOOST_TEST(ListenAddress{}.to_string() == "inherited socket");
}

BOOST_DATA_TEST_CASE(parse_address_prefix_table, bdata::make(kPrefixCases), c) {
    AddressPrefix out;
    out.family = AF_INET;
    out.bits = 7;
    out.bytes[15] = 0xAA;
    std::string error;
    BOOST_TEST(parse_address_prefix(c.text, out, error) == c.ok);
    if (c.ok) {
        BOOST_TEST(error.empty());
        BOOST_TEST(out.family == c.family);
        BOOST_TEST(out.bits == c.bits);
        std::uint8_t expected[16] = {};
        BOOST_TEST_REQUIRE(inet_pton(c.family, c.address.c_str(), expected) == 1);
        BOOST_TEST(std::memcmp(out.bytes, expected, sizeof expected) == 0);
    } else {
        BOOST_TEST(error == c.error);
    }
}

BOOST_DATA_TEST_CASE(prefix_matches_peer, bdata::make(kMatchCases), c) {
    BOOST_TEST(prefix(c.prefix).matches(peer(c.peer).sa()) == c.matches);
}

BOOST_AUTO_TEST_CASE(prefixes_never_match_unix_peers) {
    for (const char* p : {"0.0.0.0/0", "::/0", "127.0.0.1"})
        BOOST_TEST(!prefix(p).matches(unix_peer().sa()), p);
}

BOOST_AUTO_TEST_CASE(empty_allow_list_allows_every_peer) {
    const std::vector<AddressPrefix> none;
    BOOST_TEST(peer_allowed(none, peer("203.0.113.9").sa()));
    BOOST_TEST(peer_allowed(none, peer("2001:db8::1").sa()));
    BOOST_TEST(peer_allowed(none, unix_peer().sa()));
}

BOOST_AUTO_TEST_CASE(allow_list_needs_one_matching_prefix) {
    const std::vector<AddressPrefix> allow = {prefix("10.0.0.0/8"), prefix("::1"),
                                              prefix("192.168.1.7")};
    BOOST_TEST(peer_allowed(allow, peer("10.2.3.4").sa()));
    BOOST_TEST(peer_allowed(allow, peer("::1").sa()));
    BOOST_TEST(peer_allowed(allow, peer("192.168.1.7").sa()));     // the last prefix
    BOOST_TEST(peer_allowed(allow, peer("::ffff:10.9.9.9").sa())); // mapped
    BOOST_TEST(!peer_allowed(allow, peer("192.168.1.8").sa()));
    BOOST_TEST(!peer_allowed(allow, peer("127.0.0.1").sa()));
    BOOST_TEST(!peer_allowed(allow, peer("::2").sa()));
}

BOOST_AUTO_TEST_CASE(unix_peers_are_always_allowed) {
    const std::vector<AddressPrefix> allow = {prefix("10.0.0.0/8")};
    BOOST_TEST(peer_allowed(allow, unix_peer().sa()));
}

BOOST_AUTO_TEST_SUITE_END()
