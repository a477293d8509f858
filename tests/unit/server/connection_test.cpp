#include "server/connection.hpp"

#include "support/fcgi_client.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <sys/socket.h>
#include <unistd.h>

using namespace wfhookd;
using wftest::fcgi_request;

namespace {

constexpr RequestScanner::Limits kLimits{65536, 65536};

const wftest::Params kGet = {
    {"REQUEST_METHOD", "GET"}, {"DOCUMENT_URI", "/serviceInfo"}, {"CONTENT_LENGTH", ""}};

// A connected pair: the worker's end (the Connection) and the web server's.
struct Pair {
    Pair() {
        int fds[2];
        BOOST_TEST_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
        ours = fds[0];
        peer = fds[1];
        peek.resize(200000);
    }
    ~Pair() {
        close(ours);
        if (peer >= 0) close(peer);
    }
    void send(const std::string& bytes) { BOOST_TEST_REQUIRE(wftest::write_all(peer, bytes)); }
    // What is still unread on the worker's end.
    std::string unread() {
        std::string out(300000, '\0');
        const ssize_t n = recv(ours, out.data(), out.size(), MSG_DONTWAIT);
        out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
        return out;
    }
    int ours = -1, peer = -1;
    std::string peek;
};

} // namespace

BOOST_AUTO_TEST_SUITE(connection)

BOOST_AUTO_TEST_CASE(a_request_that_is_all_there_is_only_peeked_at) {
    Pair p;
    const std::string request = fcgi_request(kGet);
    p.send(request);
    Connection c(p.ours, kLimits);
    BOOST_TEST((advance(c, p.peek) == Progress::ready_peek));
    BOOST_TEST(c.taken.empty());
    BOOST_TEST(c.scanner.complete());
    BOOST_TEST(p.unread() == request); // libfcgi reads it from the socket
}

BOOST_AUTO_TEST_CASE(a_request_that_arrives_in_pieces_is_taken_up_to_its_end) {
    Pair p;
    wftest::Params no_body = kGet;
    no_body.back().second = "0"; // a known length: the end of the (empty) body is awaited
    const std::string request = fcgi_request(no_body, {}, 1, true);
    const std::string next = fcgi_request(kGet);
    Connection c(p.ours, kLimits);
    BOOST_TEST((advance(c, p.peek) == Progress::waiting));
    p.send(request.substr(0, 21));
    BOOST_TEST((advance(c, p.peek) == Progress::waiting));
    BOOST_TEST(c.taken == request.substr(0, 21));
    p.send(request.substr(21, 30));
    BOOST_TEST((advance(c, p.peek) == Progress::waiting));
    p.send(request.substr(51) + next); // the next request follows at once
    BOOST_TEST((advance(c, p.peek) == Progress::ready_taken));
    BOOST_TEST(c.taken == request);
    BOOST_TEST(c.scanner.keep_conn());
    BOOST_TEST(p.unread() == next); // not a byte of it taken
}

BOOST_AUTO_TEST_CASE(a_body_that_streams_is_left_on_the_socket) {
    Pair p;
    wftest::Params params = kGet;
    params.back().second = "1000000";
    const std::string request = fcgi_request(params, std::string(1000000, 'b'));
    const std::size_t params_end = request.find(wftest::fcgi_record(4, 1, {})) + 8;
    Connection c(p.ours, kLimits);
    p.send(request.substr(0, 10));
    BOOST_TEST((advance(c, p.peek) == Progress::waiting));
    p.send(request.substr(10, params_end - 10) + request.substr(params_end, 5000));
    BOOST_TEST((advance(c, p.peek) == Progress::ready_taken));
    BOOST_TEST(c.scanner.streams_body());
    BOOST_TEST(c.taken == request.substr(0, params_end));
    BOOST_TEST(p.unread() == request.substr(params_end, 5000));
}

BOOST_AUTO_TEST_CASE(a_peer_that_closes_between_requests_is_closed) {
    Pair p;
    close(p.peer);
    p.peer = -1;
    Connection c(p.ours, kLimits);
    BOOST_TEST((advance(c, p.peek) == Progress::closed));
}

BOOST_AUTO_TEST_CASE(a_peer_that_closes_half_way_failed) {
    Pair p;
    p.send(fcgi_request(kGet).substr(0, 30));
    Connection c(p.ours, kLimits);
    BOOST_TEST((advance(c, p.peek) == Progress::waiting));
    close(p.peer);
    p.peer = -1;
    BOOST_TEST((advance(c, p.peek) == Progress::failed));
}

BOOST_AUTO_TEST_CASE(garbage_is_invalid_in_either_path) {
    {
        Pair p;
        p.send("GET / HTTP/1.1\r\n\r\n");
        Connection c(p.ours, kLimits);
        BOOST_TEST((advance(c, p.peek) == Progress::invalid));
    }
    {
        Pair p;
        const std::string request = fcgi_request(kGet);
        p.send(request.substr(0, 16)); // BEGIN_REQUEST
        Connection c(p.ours, kLimits);
        BOOST_TEST((advance(c, p.peek) == Progress::waiting));
        p.send(std::string(8, '\x07')); // not a record header
        BOOST_TEST((advance(c, p.peek) == Progress::invalid));
    }
}

BOOST_AUTO_TEST_CASE(next_request_forgets_the_last) {
    Pair p;
    p.send(fcgi_request(kGet).substr(0, 30));
    Connection c(p.ours, kLimits);
    BOOST_TEST((advance(c, p.peek) == Progress::waiting));
    BOOST_TEST(!c.taken.empty());
    c.next_request();
    BOOST_TEST(c.taken.empty());
    BOOST_TEST(!c.slow);
    BOOST_TEST(c.scanner.consumed() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
