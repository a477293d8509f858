#include "server/fcgi_adapter.hpp"

#include "support/fcgi_client.hpp"
#include "support/fds.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <csignal>
#include <dirent.h>
#include <functional>
#include <ostream>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace bdata = boost::unit_test::data;
using namespace std::chrono_literals;
using wfhookd::FcgiAdapter;
using wfhookd::Request;
using wfhookd::Response;
using wftest::Params;

namespace {

using wftest::open_fd_count;

constexpr std::uint8_t kParams = 4;
constexpr std::size_t kMaxBody = 65536;

// libfcgi's process-wide setup, as a worker does it: SIGPIPE ignored first.
struct FcgiInit {
    FcgiInit() {
        std::signal(SIGPIPE, SIG_IGN);
        BOOST_TEST_REQUIRE(wfhookd::fcgi_init());
    }
};

// One connection: `ours` goes to the adapter (which owns and closes it), the test keeps
// `peer` and plays the web server on it.
struct Connection {
    int ours = -1, peer = -1;
    std::thread writer;

    Connection() {
        int fds[2];
        BOOST_TEST_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
        ours = fds[0];
        peer = fds[1];
    }
    ~Connection() {
        if (writer.joinable()) writer.join();
        if (peer >= 0) close(peer);
    }
    // Sends `bytes` from a thread (a request may be larger than the socket buffer), then
    // optionally ends the peer's writing side.
    void send(std::string bytes, bool end_after = false) {
        writer = std::thread([this, b = std::move(bytes), end_after] {
            wftest::write_all(peer, b);
            if (end_after) shutdown(peer, SHUT_WR);
        });
    }
    void wait_sent() {
        if (writer.joinable()) writer.join();
    }
    // True when the adapter's end is closed: the peer reads EOF (not "would block").
    bool peer_sees_eof() const {
        char c;
        return wftest::read_until_eof(peer, 2s).empty() && recv(peer, &c, 1, MSG_DONTWAIT) == 0;
    }
    wftest::FcgiReply reply() const {
        return wftest::fcgi_parse_reply(wftest::read_until_eof(peer, 5s));
    }
};

Params basic_params() {
    return {
        {"REQUEST_METHOD", "GET"},
        {"DOCUMENT_URI", "/webhooks/customAction"},
        {"SCRIPT_NAME", "/not/used"},
        {"REQUEST_URI", "/not/used?either"},
        {"QUERY_STRING", "name=archive&documentId=d%201"},
        {"HTTP_APIKEY", "the-api-key"},
        {"HTTP_USERNAME", "alice@example.com"},
        {"REMOTE_ADDR", "203.0.113.9"},
        {"REQUEST_ID", "req-42"},
        {"HTTP_HOST", "example.com"},
        {"CONTENT_LENGTH", "5"},
    };
}

// The whole request except the BEGIN_REQUEST record (16 bytes).
std::string after_begin(const Params& params, std::string_view body = {}) {
    return wftest::fcgi_request(params, body).substr(16);
}

// Reads a good request on a fresh connection and answers it; true when it all worked.
void check_serves_a_good_request(FcgiAdapter& adapter) {
    Connection c;
    c.send(wftest::fcgi_request(basic_params(), "hello"));
    Request req;
    BOOST_TEST_REQUIRE(adapter.read_request(c.ours, kMaxBody, req));
    c.wait_sent();
    BOOST_TEST(req.method == "GET");
    BOOST_TEST(req.body == "hello");
    Response res;
    res.set_success();
    BOOST_TEST(adapter.finish(req, res));
    const wftest::FcgiReply reply = c.reply();
    BOOST_TEST(reply.complete);
    BOOST_TEST(reply.status == 200);
    BOOST_TEST(reply.body == R"({"status":"success"})");
}

// ------------------------------------------------------------------------------------------

struct PathCase {
    std::string name;
    Params params;
    std::string path;
};

std::ostream& operator<<(std::ostream& os, const PathCase& c) {
    return os << c.name;
}

const PathCase kPathCases[] = {
    {"DOCUMENT_URI wins",
     {{"DOCUMENT_URI", "/a/serviceInfo"}, {"SCRIPT_NAME", "/b"}, {"REQUEST_URI", "/c?x"}},
     "/a/serviceInfo"},
    {"empty DOCUMENT_URI still wins", {{"DOCUMENT_URI", ""}, {"SCRIPT_NAME", "/b"}}, ""},
    {"SCRIPT_NAME without DOCUMENT_URI",
     {{"SCRIPT_NAME", "/b/serviceInfo"}, {"REQUEST_URI", "/c?x"}},
     "/b/serviceInfo"},
    {"REQUEST_URI without its query",
     {{"REQUEST_URI", "/c/customAction?name=a&documentId=b"}},
     "/c/customAction"},
    {"REQUEST_URI without a query", {{"REQUEST_URI", "/c/serviceInfo"}}, "/c/serviceInfo"},
    {"empty SCRIPT_NAME falls through", {{"SCRIPT_NAME", ""}, {"REQUEST_URI", "/d?"}}, "/d"},
    {"nothing at all", {{"REQUEST_METHOD", "GET"}}, ""},
};

struct MalformedCase {
    std::string name;
    Params params;
    std::string body;
    std::string malformed;
    std::uint64_t content_length;
};

std::ostream& operator<<(std::ostream& os, const MalformedCase& c) {
    return os << c.name;
}

const std::string kTwice = "a request header or parameter was sent twice";
const std::string kNotNumber = "CONTENT_LENGTH is not a number";

const MalformedCase kMalformedCases[] = {
    {"duplicate HTTP_APIKEY", {{"HTTP_APIKEY", "a"}, {"HTTP_APIKEY", "b"}}, "", kTwice, 0},
    {"duplicate HTTP_USERNAME", {{"HTTP_USERNAME", "a"}, {"HTTP_USERNAME", "a"}}, "", kTwice, 0},
    {"duplicate QUERY_STRING", {{"QUERY_STRING", "a"}, {"QUERY_STRING", "b"}}, "", kTwice, 0},
    {"duplicate DOCUMENT_URI", {{"DOCUMENT_URI", "/a"}, {"DOCUMENT_URI", "/b"}}, "", kTwice, 0},
    {"duplicate REQUEST_METHOD",
     {{"REQUEST_METHOD", "GET"}, {"REQUEST_METHOD", "GET"}},
     "",
     kTwice,
     0},
    {"CONTENT_LENGTH with letters", {{"CONTENT_LENGTH", "abc"}}, "", kNotNumber, 0},
    {"CONTENT_LENGTH with a suffix", {{"CONTENT_LENGTH", "5x"}}, "hello", kNotNumber, 5},
    {"negative CONTENT_LENGTH", {{"CONTENT_LENGTH", "-1"}}, "", kNotNumber, 0},
    {"CONTENT_LENGTH with a space", {{"CONTENT_LENGTH", " 5"}}, "hello", kNotNumber, 0},
    {"body shorter than CONTENT_LENGTH",
     {{"CONTENT_LENGTH", "10"}},
     "abc",
     "request body ended before CONTENT_LENGTH bytes",
     10},
    {"empty CONTENT_LENGTH is no length", {{"CONTENT_LENGTH", ""}}, "", "", 0},
    {"unrelated duplicates are fine", {{"HTTP_X", "a"}, {"HTTP_X", "b"}}, "", "", 0},
};

struct StatusCase {
    int status;
    std::string line;
};

std::ostream& operator<<(std::ostream& os, const StatusCase& c) {
    return os << c.status;
}

const StatusCase kStatusCases[] = {
    {200, "Status: 200 OK"},
    {400, "Status: 400 Bad Request"},
    {403, "Status: 403 Forbidden"},
    {404, "Status: 404 Not Found"},
    {405, "Status: 405 Method Not Allowed"},
    {413, "Status: 413 Content Too Large"},
    {500, "Status: 500 Internal Server Error"},
    {503, "Status: 503 Service Unavailable"},
    {504, "Status: 504 Gateway Timeout"},
};

struct BadInput {
    std::string name;
    std::function<std::string()> bytes;
    bool close_peer; // close the peer entirely instead of just ending its writes
};

std::ostream& operator<<(std::ostream& os, const BadInput& c) {
    return os << c.name;
}

const BadInput kBadInputs[] = {
    {"HTTP instead of FastCGI", [] { return std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n"); },
     false},
    {"random bytes", [] { return std::string("\x07\x99garbage\x00\xFF\x10 more garbage", 25); },
     false},
    {"wrong version",
     [] {
         std::string r = wftest::fcgi_request(basic_params(), "hello");
         r[0] = 2;
         return r;
     },
     false},
    {"truncated record header", [] { return wftest::fcgi_begin_request(1).substr(0, 5); }, false},
    {"truncated BEGIN_REQUEST body", [] { return wftest::fcgi_begin_request(1).substr(0, 12); },
     false},
    {"only BEGIN_REQUEST", [] { return wftest::fcgi_begin_request(1); }, false},
    {"truncated PARAMS record",
     [] {
         const std::string r = wftest::fcgi_request(basic_params(), "hello");
         return r.substr(0, 16 + 8 + 20);
     },
     false},
    {"PARAMS without their end",
     [] {
         return wftest::fcgi_begin_request(1) +
                wftest::fcgi_record(kParams, 1, wftest::fcgi_encode_params(basic_params()));
     },
     false},
    {"nothing, peer closed", [] { return std::string(); }, true},
    {"half a request, peer closed",
     [] {
         const std::string r = wftest::fcgi_request(basic_params(), "hello");
         return r.substr(0, r.size() / 3);
     },
     true},
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(fcgi_adapter, FcgiInit)

BOOST_AUTO_TEST_CASE(reads_the_request_fields) {
    FcgiAdapter adapter;
    Connection c;
    c.send(wftest::fcgi_request(basic_params(), "hello"));
    Request req;
    BOOST_TEST_REQUIRE(adapter.read_request(c.ours, kMaxBody, req));
    c.wait_sent();
    BOOST_TEST(req.method == "GET");
    BOOST_TEST(req.path == "/webhooks/customAction");
    BOOST_TEST(req.query == "name=archive&documentId=d%201"); // raw, decoded by the router
    BOOST_TEST(req.api_key == "the-api-key");
    BOOST_TEST(req.username == "alice@example.com");
    BOOST_TEST(req.remote_addr == "203.0.113.9");
    BOOST_TEST(req.request_id == "req-42");
    BOOST_TEST(req.content_length == 5u);
    BOOST_TEST(req.body == "hello");
    BOOST_TEST(req.malformed.empty());
    Response res;
    res.set_success();
    BOOST_TEST(adapter.finish(req, res));
}

BOOST_AUTO_TEST_CASE(missing_parameters_are_empty) {
    FcgiAdapter adapter;
    Connection c;
    c.send(wftest::fcgi_request({}));
    Request req;
    req.method = "stale";
    BOOST_TEST_REQUIRE(adapter.read_request(c.ours, kMaxBody, req));
    c.wait_sent();
    BOOST_TEST(req.method.empty());
    BOOST_TEST(req.path.empty());
    BOOST_TEST(req.query.empty());
    BOOST_TEST(req.api_key.empty());
    BOOST_TEST(req.username.empty());
    BOOST_TEST(req.request_id.empty());
    BOOST_TEST(req.content_length == 0u);
    BOOST_TEST(req.body.empty());
    BOOST_TEST(req.malformed.empty());
    adapter.finish(req, Response{});
}

BOOST_DATA_TEST_CASE(path_falls_back, bdata::make(kPathCases), pc) {
    FcgiAdapter adapter;
    Connection c;
    c.send(wftest::fcgi_request(pc.params));
    Request req;
    BOOST_TEST_REQUIRE(adapter.read_request(c.ours, kMaxBody, req));
    c.wait_sent();
    BOOST_TEST(req.path == pc.path);
    adapter.finish(req, Response{});
}

BOOST_DATA_TEST_CASE(malformed_requests_are_flagged, bdata::make(kMalformedCases), mc) {
    FcgiAdapter adapter;
    Connection c;
    c.send(wftest::fcgi_request(mc.params, mc.body));
    Request req;
    BOOST_TEST_REQUIRE(adapter.read_request(c.ours, kMaxBody, req));
    c.wait_sent();
    BOOST_TEST(req.malformed == mc.malformed);
    BOOST_TEST(req.content_length == mc.content_length);
    Response res;
    res.set_error(400, req.malformed);
    BOOST_TEST(adapter.finish(req, res));
    BOOST_TEST(c.reply().complete);
}

BOOST_AUTO_TEST_CASE(large_parameters_and_body) {
    FcgiAdapter adapter;
    Connection c;
    const std::string query(100000, 'q'); // spans two PARAMS records
    const std::string body(60000, 'b');   // spans two STDIN records
    const Params params = {{"REQUEST_METHOD", "GET"},
                           {"QUERY_STRING", query},
                           {"CONTENT_LENGTH", std::to_string(body.size())}};
    c.send(wftest::fcgi_request(params, body));
    Request req;
    BOOST_TEST_REQUIRE(adapter.read_request(c.ours, kMaxBody, req));
    c.wait_sent();
    BOOST_TEST(req.malformed.empty());
    BOOST_TEST(req.query == query);
    BOOST_TEST(req.content_length == body.size());
    BOOST_TEST(req.body == body);
    adapter.finish(req, Response{});
}

BOOST_AUTO_TEST_CASE(body_over_the_limit_is_not_read) {
    FcgiAdapter adapter;
    Connection c;
    Params params = basic_params();
    params.back() = {"CONTENT_LENGTH", "100"};
    c.send(wftest::fcgi_request(params, std::string(100, 'x')), true);
    Request req;
    BOOST_TEST_REQUIRE(adapter.read_request(c.ours, 16, req));
    c.wait_sent();
    BOOST_TEST(req.content_length == 100u);
    BOOST_TEST(req.body.empty());
    BOOST_TEST(req.malformed.empty());
    Response res;
    res.set_error(413, "too large");
    BOOST_TEST(adapter.finish(req, res));
    const wftest::FcgiReply reply = c.reply();
    BOOST_TEST(reply.complete);
    BOOST_TEST(reply.status == 413);
}

BOOST_AUTO_TEST_CASE(body_without_content_length_is_dropped) {
    FcgiAdapter adapter;
    {
        Connection c;
        Params params = basic_params();
        params.pop_back(); // no CONTENT_LENGTH
        c.send(wftest::fcgi_request(params, std::string(10, 'x')));
        Request req;
        BOOST_TEST_REQUIRE(adapter.read_request(c.ours, 16, req));
        c.wait_sent();
        BOOST_TEST(req.content_length == 0u);
        BOOST_TEST(req.body.empty());
        adapter.finish(req, Response{});
        BOOST_TEST(c.reply().complete);
    }
    {
        // More than the limit: reported as the length, so the router answers 413.
        Connection c;
        Params params = basic_params();
        params.pop_back();
        c.send(wftest::fcgi_request(params, std::string(100, 'x')), true);
        Request req;
        BOOST_TEST_REQUIRE(adapter.read_request(c.ours, 16, req));
        c.wait_sent();
        BOOST_TEST(req.content_length > 16u);
        adapter.finish(req, Response{});
        BOOST_TEST(c.reply().complete);
    }
}

BOOST_AUTO_TEST_CASE(reply_headers_and_body) {
    FcgiAdapter adapter;
    Connection c;
    c.send(wftest::fcgi_request(basic_params(), "hello"));
    Request req;
    BOOST_TEST_REQUIRE(adapter.read_request(c.ours, kMaxBody, req));
    c.wait_sent();
    Response res;
    res.set_error(404, "unknown action \"x\"");
    BOOST_TEST(adapter.finish(req, res));
    const wftest::FcgiReply reply = c.reply();
    BOOST_TEST(reply.complete);
    BOOST_TEST(reply.app_status == 0u);
    BOOST_TEST(reply.stdout_raw.starts_with("Status: 404 Not Found\r\n"));
    BOOST_TEST(reply.status == 404);
    BOOST_TEST(reply.headers.at("content-type") == "application/json; charset=utf-8");
    BOOST_TEST(reply.headers.at("cache-control") == "no-store");
    BOOST_TEST(reply.headers.at("x-content-type-options") == "nosniff");
    BOOST_TEST(reply.headers.at("content-length") == std::to_string(res.body.size()));
    BOOST_TEST(reply.headers.count("allow") == 0u);
    BOOST_TEST(reply.body == res.body);
}

BOOST_DATA_TEST_CASE(status_lines, bdata::make(kStatusCases), sc) {
    FcgiAdapter adapter;
    Connection c;
    c.send(wftest::fcgi_request(basic_params(), "hello"));
    Request req;
    BOOST_TEST_REQUIRE(adapter.read_request(c.ours, kMaxBody, req));
    c.wait_sent();
    Response res;
    res.status = sc.status;
    res.body = "{}";
    BOOST_TEST(adapter.finish(req, res));
    const wftest::FcgiReply reply = c.reply();
    BOOST_TEST(reply.stdout_raw.starts_with(sc.line + "\r\n"), reply.stdout_raw);
}

BOOST_AUTO_TEST_CASE(allow_header_when_set) {
    FcgiAdapter adapter;
    Connection c;
    c.send(wftest::fcgi_request(basic_params(), "hello"));
    Request req;
    BOOST_TEST_REQUIRE(adapter.read_request(c.ours, kMaxBody, req));
    c.wait_sent();
    Response res;
    res.set_error(405, "method POST is not allowed here; use GET, HEAD");
    res.allow = "GET, HEAD";
    BOOST_TEST(adapter.finish(req, res));
    const wftest::FcgiReply reply = c.reply();
    BOOST_TEST(reply.status == 405);
    BOOST_TEST(reply.headers.at("allow") == "GET, HEAD");
}

BOOST_AUTO_TEST_CASE(head_has_headers_but_no_body) {
    FcgiAdapter adapter;
    Connection c;
    Params params = basic_params();
    params[0].second = "HEAD";
    c.send(wftest::fcgi_request(params, "hello"));
    Request req;
    BOOST_TEST_REQUIRE(adapter.read_request(c.ours, kMaxBody, req));
    c.wait_sent();
    Response res;
    res.status = 200;
    res.body = R"({"webhookVersion":"1.2"})";
    BOOST_TEST(adapter.finish(req, res));
    const wftest::FcgiReply reply = c.reply();
    BOOST_TEST(reply.complete);
    BOOST_TEST(reply.status == 200);
    BOOST_TEST(reply.headers.at("content-length") == std::to_string(res.body.size()));
    BOOST_TEST(reply.stdout_raw.ends_with("\r\n\r\n"));
    BOOST_TEST(reply.body.empty());
}

BOOST_AUTO_TEST_CASE(one_request_per_connection_even_with_keep_conn) {
    FcgiAdapter adapter;
    Connection c;
    c.send(wftest::fcgi_begin_request(1, true) + after_begin(basic_params(), "hello"));
    Request req;
    BOOST_TEST_REQUIRE(adapter.read_request(c.ours, kMaxBody, req));
    c.wait_sent();
    Response res;
    res.set_success();
    BOOST_TEST(adapter.finish(req, res));
    const std::string bytes = wftest::read_until_eof(c.peer, 5s);
    BOOST_TEST(wftest::fcgi_parse_reply(bytes).complete);
    char ch;
    BOOST_TEST(recv(c.peer, &ch, 1, MSG_DONTWAIT) == 0); // EOF: the adapter closed its end
}

BOOST_AUTO_TEST_CASE(request_ids_other_than_one) {
    FcgiAdapter adapter;
    Connection c;
    c.send(wftest::fcgi_request(basic_params(), "hello", 513));
    Request req;
    BOOST_TEST_REQUIRE(adapter.read_request(c.ours, kMaxBody, req));
    c.wait_sent();
    BOOST_TEST(req.body == "hello");
    Response res;
    res.set_success();
    BOOST_TEST(adapter.finish(req, res));
    const std::string bytes = wftest::read_until_eof(c.peer, 5s);
    BOOST_TEST_REQUIRE(bytes.size() >= 8u);
    // Every record of the reply carries the request's id.
    bool all_513 = true;
    for (std::size_t pos = 0; pos + 8 <= bytes.size();) {
        const auto* h = reinterpret_cast<const unsigned char*>(bytes.data() + pos);
        all_513 &= ((h[2] << 8) | h[3]) == 513;
        pos += 8 + ((std::size_t(h[4]) << 8) | h[5]) + h[6];
    }
    BOOST_TEST(all_513);
    BOOST_TEST(wftest::fcgi_parse_reply(bytes).body == R"({"status":"success"})");
}

// The answer may be larger than the socket buffer (written while libfcgi fills its buffer) or,
// the usual case, small enough to be written only when the streams are closed.
BOOST_DATA_TEST_CASE(finish_reports_a_vanished_peer,
                     bdata::make({std::size_t{300000}, std::size_t{20}}), body_size) {
    FcgiAdapter adapter;
    Connection c;
    c.send(wftest::fcgi_request(basic_params(), "hello"));
    Request req;
    BOOST_TEST_REQUIRE(adapter.read_request(c.ours, kMaxBody, req));
    c.wait_sent();
    close(c.peer);
    c.peer = -1;
    Response res;
    res.status = 200;
    res.body = std::string(body_size, 'x');
    BOOST_TEST(!adapter.finish(req, res));
}

BOOST_DATA_TEST_CASE(bad_input_is_dropped_and_the_next_request_served, bdata::make(kBadInputs),
                     bad) {
    FcgiAdapter adapter;
    const int fds_before = open_fd_count();
    {
        Connection c;
        const std::string bytes = bad.bytes();
        if (bad.close_peer) {
            wftest::write_all(c.peer, bytes);
            close(c.peer);
            c.peer = -1;
        } else {
            c.send(bytes, true);
        }
        Request req;
        const auto start = std::chrono::steady_clock::now();
        BOOST_TEST(!adapter.read_request(c.ours, kMaxBody, req));
        BOOST_TEST((std::chrono::steady_clock::now() - start < 5s));
        c.wait_sent();
        if (c.peer >= 0) BOOST_TEST(c.peer_sees_eof()); // our end was closed
    }
    BOOST_TEST(open_fd_count() == fds_before); // nothing leaked
    check_serves_a_good_request(adapter);
}

BOOST_AUTO_TEST_CASE(adapter_closes_an_unfinished_connection) {
    const int fds_before = open_fd_count();
    Connection c;
    {
        FcgiAdapter adapter;
        c.send(wftest::fcgi_request(basic_params(), "hello"));
        Request req;
        BOOST_TEST_REQUIRE(adapter.read_request(c.ours, kMaxBody, req));
        c.wait_sent();
    } // destroyed without finish()
    BOOST_TEST(c.peer_sees_eof());
    BOOST_TEST(open_fd_count() == fds_before + 1); // only the peer end is left
}

BOOST_AUTO_TEST_CASE(many_requests_in_a_row) {
    FcgiAdapter adapter;
    const int fds_before = open_fd_count();
    for (int i = 0; i < 50; ++i)
        check_serves_a_good_request(adapter);
    BOOST_TEST(open_fd_count() == fds_before);
}

BOOST_AUTO_TEST_SUITE_END()
