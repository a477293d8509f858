// Kept FastCGI connections (FCGI_KEEP_CONN) under load and across reloads: behind nginx with
// fastcgi_keep_conn on and an upstream keepalive pool, and behind Apache with
// enablereuse=on, 20,000 requests over 20 keep-alive client connections while wfhookd reloads
// 10 times, and not one may fail. The same runs with one FastCGI connection per request are
// the baseline. Latencies are printed (--log_level=message), never asserted: speed claims
// live in bench/.
#include "support/fcgi_client.hpp"
#include "support/load.hpp"
#include "support/stack.hpp"
#include "support/web_servers.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <csignal>
#include <fstream>
#include <memory>
#include <ostream>
#include <poll.h>
#include <sstream>
#include <sys/socket.h>
#include <unistd.h>

using namespace wftest;
namespace bdata = boost::unit_test::data;

namespace {

constexpr std::uint64_t kRequests = 20000;
constexpr unsigned kConnections = 20;
constexpr int kReloads = 10;

// FastCGI record types.
constexpr std::uint8_t kEndRequest = 3, kParams = 4, kStdin = 5;

struct Run {
    std::string server; // "nginx" or "apache"
    bool keep;          // kept FastCGI connections
};

std::ostream& operator<<(std::ostream& os, const Run& r) {
    return os << r.server << (r.keep ? " with kept connections" : " without");
}

const Run kRuns[] = {{"nginx", true}, {"apache", true}, {"nginx", false}, {"apache", false}};

// Any one worker may keep as many connections as the web server pools (nginx's keepalive 32):
// wfhookd never closes an idle kept connection to make room for another, which races with the
// web server sending a request on it. (Connections do not spread evenly over workers.)
WfhookdOptions options() {
    WfhookdOptions o;
    o.server = "workers = 8\nkeep_conn_max = 32\n" + web_server_socket_group();
    o.actions = "[action:noop]\ntype = noop\n";
    return o;
}

// Connected sockets on wfhookd's side of `socket_path` (/proc/net/unix lists an accepted
// socket under the path of the socket it was accepted on; state 03 is connected).
int connections_to(const std::string& socket_path) {
    std::ifstream in("/proc/net/unix");
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string num, refs, protocol, flags, type, state, inode, path;
        if (fields >> num >> refs >> protocol >> flags >> type >> state >> inode >> path &&
            path == socket_path && state == "03")
            ++n;
    }
    return n;
}

// Lines of `log` that contain `needle`.
std::string lines_with(const std::string& log, const std::string& needle) {
    std::istringstream in(log);
    std::string line, out;
    while (std::getline(in, line))
        if (line.find(needle) != std::string::npos) out += line + "\n";
    return out;
}

// Lines of `log` that do not contain `needle`.
std::string lines_without(const std::string& log, const std::string& needle) {
    std::istringstream in(log);
    std::string line, out;
    while (std::getline(in, line))
        if (line.find(needle) == std::string::npos) out += line + "\n";
    return out;
}

// Reads FastCGI records from `fd` up to and including an FCGI_END_REQUEST (or EOF, or 20 s).
std::string read_reply(int fd) {
    std::string in;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    for (;;) {
        for (std::size_t pos = 0; pos + 8 <= in.size();) {
            const auto* h = reinterpret_cast<const unsigned char*>(in.data() + pos);
            const std::size_t end = pos + 8 + ((std::size_t(h[4]) << 8) | h[5]) + h[6];
            if (end > in.size()) break;
            if (h[1] == kEndRequest) return in.substr(0, end);
            pos = end;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd p{fd, POLLIN, 0};
        if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) return in;
        char buf[16384];
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return in;
        in.append(buf, static_cast<std::size_t>(n));
    }
}

} // namespace

BOOST_AUTO_TEST_SUITE(keep_conn)

BOOST_DATA_TEST_CASE(twenty_thousand_requests_across_ten_reloads, bdata::make(kRuns), run) {
    TempDir dir;
    Wfhookd w(dir, options());
    w.start();
    std::unique_ptr<Nginx> nginx;
    std::unique_ptr<Apache> apache;
    if (run.server == "nginx") {
        NginxOptions no;
        no.keep_conn = run.keep;
        nginx =
            std::make_unique<Nginx>(dir, std::vector<std::string>{"unix:" + w.socket_path()}, no);
    } else {
        apache = std::make_unique<Apache>(dir, w.socket_path(), ApacheOptions{run.keep});
    }

    LoadOptions o;
    o.port = nginx ? nginx->http_port() : apache->http_port();
    o.connections = kConnections;
    o.total = kRequests;
    o.paths = {"/wf/customAction?name=noop&documentId=1", "/wf/serviceInfo"};
    o.headers = {{"apiKey", w.api_key()}, {"username", "alice@example.com"}};
    Load load(o);
    // Reloads spread over the run: the i-th once i/11 of the requests were sent.
    for (int i = 1; i <= kReloads; ++i) {
        BOOST_TEST_REQUIRE(
            wait_until([&] { return load.sent() >= i * kRequests / (kReloads + 1); }, 120s));
        w.process().signal(SIGHUP);
        BOOST_TEST_REQUIRE(w.wait_log("reload complete", i),
                           lines_without(w.log(), "info: request "));
    }
    const LoadResult r = load.finish();
    BOOST_TEST_MESSAGE(run << ": " << r.sent << " requests, " << r.failed << " failed, p50 "
                           << r.percentile(50) << " ms, p99 " << r.percentile(99) << " ms, max "
                           << r.percentile(100) << " ms");
    BOOST_TEST(r.sent == kRequests);
    BOOST_TEST(r.failed == 0u, r.failed << " of " << r.sent << " requests failed, first: "
                                        << r.first_failure << "\nwfhookd's log but requests:\n"
                                        << lines_without(w.log(), "info: request "));
    BOOST_TEST(r.connects == kConnections); // the client side never had to reconnect

    // The setting under test was in effect: the web server holds its FastCGI connections
    // between requests, or holds none.
    if (run.keep)
        BOOST_TEST(connections_to(w.socket_path()) > 0);
    else
        BOOST_TEST(wait_until([&] { return connections_to(w.socket_path()) == 0; }));

    // Not even a request the web server retried on another connection.
    const std::string errors = nginx ? lines_with(nginx->error_log(), "[error]")
                                     : lines_with(apache->error_log(), ":error]");
    BOOST_TEST(errors.empty(), run << " logged:\n" << errors);
    if (nginx) BOOST_TEST(nginx->error_log().find("writev() failed") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_get_whose_stdin_ends_after_the_answer_on_a_kept_connection) {
    // What Apache's mod_proxy_fcgi does with enablereuse=on, record by record: a GET without
    // CONTENT_LENGTH, its empty FCGI_STDIN record in a write of its own. wfhookd answers a
    // request of unknown length once the parameters are in; Apache, once it has the answer,
    // sends the next request on the same connection, right behind that STDIN record. The next
    // request is answered.
    TempDir dir;
    WfhookdOptions o = options();
    o.server = "workers = 1\n";
    Wfhookd w(dir, o);
    w.start();
    const int fd = connect_unix(w.socket_path());
    BOOST_TEST_REQUIRE(fd >= 0);
    const std::string get = fcgi_begin_request(1, true) +
                            fcgi_record(kParams, 1,
                                        fcgi_encode_params({{"REQUEST_METHOD", "GET"},
                                                            {"SCRIPT_NAME", "/wf/serviceInfo"},
                                                            {"REMOTE_ADDR", "127.0.0.1"}})) +
                            fcgi_record(kParams, 1, {});
    const std::string stdin_end = fcgi_record(kStdin, 1, {});
    BOOST_TEST_REQUIRE(write_all(fd, get));
    const FcgiReply first = fcgi_parse_reply(read_reply(fd));
    BOOST_TEST_REQUIRE(first.complete, "no answer before the STDIN record: the test's premise");
    BOOST_TEST(first.status == 200);
    BOOST_TEST_REQUIRE(write_all(fd, stdin_end + get + stdin_end));
    const FcgiReply next = fcgi_parse_reply(read_reply(fd));
    close(fd);
    BOOST_TEST(next.complete);
    BOOST_TEST(next.body.find("\"webhookVersion\":\"1.2\"") != std::string::npos,
               "got " << next.stdout_raw.size() << " bytes of output");
}

BOOST_AUTO_TEST_CASE(a_request_after_an_early_answer_on_a_kept_connection) {
    // The same with a body: Apache streams it; wfhookd refuses the request from its parameters
    // (413, CONTENT_LENGTH over max_body_size) and ends it; Apache stops sending the body
    // there, as the protocol allows, and sends the next request on the same connection.
    TempDir dir;
    WfhookdOptions o = options();
    o.server = "workers = 1\n";
    Wfhookd w(dir, o);
    w.start();
    const int fd = connect_unix(w.socket_path());
    BOOST_TEST_REQUIRE(fd >= 0);
    const std::string post = fcgi_encode_params({{"REQUEST_METHOD", "POST"},
                                                 {"SCRIPT_NAME", "/wf/customAction"},
                                                 {"CONTENT_LENGTH", "70000"},
                                                 {"REMOTE_ADDR", "127.0.0.1"}});
    BOOST_TEST_REQUIRE(write_all(fd, fcgi_begin_request(1, true) + fcgi_record(kParams, 1, post) +
                                         fcgi_record(kParams, 1, {}) +
                                         fcgi_record(kStdin, 1, std::string(8000, 'b'))));
    const FcgiReply refused = fcgi_parse_reply(read_reply(fd));
    BOOST_TEST_REQUIRE(refused.complete);
    BOOST_TEST(refused.status == 413);

    const std::string get = fcgi_encode_params({{"REQUEST_METHOD", "GET"},
                                                {"SCRIPT_NAME", "/wf/serviceInfo"},
                                                {"REMOTE_ADDR", "127.0.0.1"}});
    BOOST_TEST_REQUIRE(write_all(fd, fcgi_begin_request(1, true) + fcgi_record(kParams, 1, get) +
                                         fcgi_record(kParams, 1, {}) + fcgi_record(kStdin, 1, {})));
    const FcgiReply next = fcgi_parse_reply(read_reply(fd));
    close(fd);
    BOOST_TEST(next.complete);
    BOOST_TEST(next.status == 200);
    BOOST_TEST(next.body.find("\"webhookVersion\":\"1.2\"") != std::string::npos,
               "got " << next.stdout_raw.size() << " bytes of output");
}

BOOST_AUTO_TEST_SUITE_END()
