// Hostile input written straight to the FastCGI socket: garbage, truncated records,
// oversized and absurd parameters. None may take down the master or leave the service unable
// to serve.
#include "support/fcgi_client.hpp"
#include "support/stack.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <csignal>
#include <ostream>
#include <random>
#include <sys/socket.h>
#include <unistd.h>

using namespace wftest;
namespace bdata = boost::unit_test::data;

namespace {

struct Target {
    TempDir dir;
    Wfhookd w;
    Target()
        : dir(), w(dir, [] {
              WfhookdOptions o;
              o.server = "workers = 2\nio_timeout = 1\nrequest_timeout = 3\n";
              return o;
          }()) {
        w.start();
    }
};

Target& target() {
    static Target t;
    return t;
}

Params service_info() {
    return {{"REQUEST_METHOD", "GET"}, {"DOCUMENT_URI", "/serviceInfo"}, {"QUERY_STRING", ""}};
}

std::string garbage(std::size_t n) {
    std::mt19937 rng(42);
    std::string s(n, '\0');
    for (char& c : s)
        c = static_cast<char>(rng());
    return s;
}

std::string be32(std::uint32_t n) {
    return {static_cast<char>(0x80 | (n >> 24)), static_cast<char>(n >> 16),
            static_cast<char>(n >> 8), static_cast<char>(n)};
}

struct Payload {
    std::string name;
    std::string bytes;
};
std::ostream& operator<<(std::ostream& os, const Payload& p) {
    return os << p.name;
}

const Payload kPayloads[] = {
    {"nothing at all", ""},
    {"random garbage", garbage(4096)},
    {"an HTTP request", "GET /serviceInfo HTTP/1.1\r\nHost: x\r\n\r\n"},
    {"wrong protocol version", "\x02" + fcgi_begin_request(1).substr(1)},
    {"request id 0", fcgi_begin_request(0)},
    {"begin request only", fcgi_begin_request(1)},
    {"half a header", fcgi_begin_request(1).substr(0, 5)},
    {"params record cut short",
     fcgi_begin_request(1) + fcgi_record(4, 1, std::string(500, 'a')).substr(0, 100)},
    {"param length 2^31-1",
     fcgi_begin_request(1) + fcgi_record(4, 1, be32(0x7FFFFFFF) + be32(0x7FFFFFFF) + "x")},
    // libfcgi 2.4.2 checks each length but not their sum: this crashes the worker (in
    // libfcgi), which the master must replace at once.
    {"param lengths whose sum overflows int",
     fcgi_begin_request(1) + fcgi_record(4, 1, be32(0x7FFFFFF0) + be32(0x7FFFFFF0) + "x")},
    {"param value longer than its record",
     fcgi_begin_request(1) + fcgi_record(4, 1, std::string("\x05\x7F") + "HELLO" + "short") +
         fcgi_record(4, 1, "")},
    {"unknown record type first", fcgi_record(11, 1, "xxxx") + fcgi_request(service_info())},
    {"management record", fcgi_record(9, 0, fcgi_encode_params({{"FCGI_MAX_CONNS", ""}})) +
                              fcgi_request(service_info())},
    {"filter role",
     std::string("\x01\x01\x00\x01\x00\x08\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00", 16)},
    {"stdin before params",
     fcgi_begin_request(1) + fcgi_record(5, 1, "body") + fcgi_record(4, 1, "")},
    {"second request multiplexed",
     fcgi_begin_request(1) + fcgi_begin_request(2) + fcgi_request(service_info())},
    {"a megabyte of parameters",
     [] {
         Params p = service_info();
         for (int i = 0; i < 1000; ++i)
             p.emplace_back("HTTP_X_" + std::to_string(i), std::string(1000, 'v'));
         return fcgi_request(p);
     }()},
    {"a query string of a megabyte", fcgi_request({{"REQUEST_METHOD", "GET"},
                                                   {"DOCUMENT_URI", "/customAction"},
                                                   {"QUERY_STRING", std::string(1 << 20, 'q')}})},
    {"body far over the limit announced", fcgi_request({{"REQUEST_METHOD", "POST"},
                                                        {"DOCUMENT_URI", "/customAction"},
                                                        {"CONTENT_LENGTH", "99999999999"}})},
    {"content length not a number",
     fcgi_request(
         {{"REQUEST_METHOD", "POST"}, {"DOCUMENT_URI", "/x"}, {"CONTENT_LENGTH", "12abc"}})},
    {"body shorter than announced",
     fcgi_begin_request(1) +
         fcgi_record(4, 1,
                     fcgi_encode_params({{"REQUEST_METHOD", "POST"}, {"CONTENT_LENGTH", "100"}})) +
         fcgi_record(4, 1, "") + fcgi_record(5, 1, "abc") + fcgi_record(5, 1, "")},
};

// The service still answers, and the master is the one we started.
void still_serving(Target& t) {
    BOOST_TEST_REQUIRE(t.w.process().running());
    BOOST_TEST(wait_until(
        [&] { return fcgi_call(t.w.socket_path(), service_info(), {}, 5s).status == 200; }, 15s));
}

} // namespace

BOOST_AUTO_TEST_SUITE(hostile_input)

BOOST_DATA_TEST_CASE(never_takes_the_service_down, bdata::make(kPayloads), p) {
    Target& t = target();
    const int fd = connect_unix(t.w.socket_path());
    BOOST_TEST_REQUIRE(fd >= 0);
    write_all(fd, p.bytes);
    shutdown(fd, SHUT_WR);
    const std::string reply = read_until_eof(fd, 10s);
    close(fd);
    // Whatever came back (often nothing) is FastCGI, never a partial write of garbage.
    if (!reply.empty()) BOOST_TEST(reply[0] == '\x01');
    still_serving(t);
}

BOOST_AUTO_TEST_CASE(oversized_query_gets_a_400_not_a_crash) {
    const FcgiReply r =
        fcgi_call(target().w.socket_path(), {{"REQUEST_METHOD", "GET"},
                                             {"DOCUMENT_URI", "/customAction"},
                                             {"QUERY_STRING", std::string(20000, 'q')},
                                             {"HTTP_APIKEY", target().w.api_key()},
                                             {"HTTP_USERNAME", "u"}});
    BOOST_TEST(r.complete);
    BOOST_TEST(r.status == 400);
    BOOST_TEST(r.body.find("query string is 20000 bytes; the limit is 8192") != std::string::npos,
               r.body);
}

// Parameters past max_params_size are never stored: the connection is dropped as they
// arrive, before libfcgi sees them.
BOOST_AUTO_TEST_CASE(parameters_over_max_params_size_drop_the_connection) {
    const FcgiReply r =
        fcgi_call(target().w.socket_path(), {{"REQUEST_METHOD", "GET"},
                                             {"DOCUMENT_URI", "/customAction"},
                                             {"QUERY_STRING", std::string(100000, 'q')}});
    BOOST_TEST(!r.complete);
    BOOST_TEST(target().w.wait_log("dropped a FastCGI connection: FastCGI parameters larger than "
                                   "max_params_size"));
    still_serving(target());
}

// Name-value lengths whose sum overflows (libfcgi 2.4.2 adds them unchecked and asks malloc
// for the sum) are refused by the gate: the worker never sees them, and never dies.
BOOST_AUTO_TEST_CASE(poison_requests_never_reach_libfcgi) {
    TempDir dir;
    WfhookdOptions o;
    o.server = "workers = 1\n";
    Wfhookd w(dir, o);
    w.start();
    const pid_t worker = w.workers().at(0);
    const std::string poison =
        fcgi_begin_request(1) + fcgi_record(4, 1, be32(0x7FFFFFF0) + be32(0x7FFFFFF0) + "x");
    for (int i = 0; i < 8; ++i) {
        const int fd = connect_unix(w.socket_path());
        write_all(fd, poison);
        BOOST_TEST(read_until_eof(fd, 10s).empty()); // dropped unanswered
        close(fd);
    }
    BOOST_TEST(w.wait_log("a FastCGI parameter longer than max_params_size", 8));
    BOOST_TEST(w.workers() == std::vector<pid_t>{worker});
    BOOST_TEST(w.log().find("while serving a request") == std::string::npos);
    BOOST_TEST(fcgi_call(w.socket_path(), service_info(), {}, 5s).status == 200);
}

BOOST_AUTO_TEST_CASE(a_flood_of_empty_connections) {
    std::vector<int> fds;
    for (int i = 0; i < 300; ++i) {
        const int fd = connect_unix(target().w.socket_path());
        if (fd >= 0) fds.push_back(fd);
    }
    for (const int fd : fds)
        close(fd);
    still_serving(target());
}

BOOST_AUTO_TEST_SUITE_END()
