// request_timeout: the master kills a worker whose request runs too long (the caller gets a
// 5xx from nginx, everyone else is unaffected); time spent idle never counts. io_timeout:
// a FastCGI peer that stalls mid-request is dropped without killing anyone.
#include "store_writes.hpp"
#include "support/fcgi_client.hpp"
#include "support/json_check.hpp"
#include "support/stack.hpp"

#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <future>
#include <sys/file.h>
#include <unistd.h>

using namespace wftest;
using namespace wftest::writes;

BOOST_AUTO_TEST_SUITE(deadlines)

BOOST_AUTO_TEST_CASE(a_request_over_request_timeout_gets_a_5xx_and_others_are_unaffected) {
    // An upload whose client stops sending: its worker waits for the body (io_timeout, 30 s
    // here), and request_timeout, counted from the last byte that arrived, ends it first.
    // (Actions cannot hold a worker that long: their own timeouts must be shorter.)
    WriteOptions o;
    o.server = "workers = 2\nrequest_timeout = 1\nio_timeout = 30\nstatus = yes\n";
    WriteStack t(o);
    const std::string id = t.upload_init("/", "stuck.bin").at("id").text;
    const std::vector<pid_t> workers = t.wfhookd.workers();
    StreamRequest r = t.upload_request(id, Content{7, 4 * kMiB});
    PauseAt pause(kMiB);
    r.progress = [&](std::uint64_t sent) { pause(sent); };
    auto stuck = std::async(std::launch::async, [&] { return t.stream(r); });
    BOOST_TEST_REQUIRE(pause.wait_reached());
    BOOST_TEST(t.wfhookd.wait_log("killed: its request ran longer than request_timeout (1 s) "
                                  "endpoint=upload"),
               t.wfhookd.log());
    // Meanwhile, and after, the other worker answers.
    for (int i = 0; i < 5; ++i)
        BOOST_TEST(t.call("GET", "/wf/serviceInfo").status == 200);
    pause.release();
    const StreamResult res = stuck.get();
    BOOST_TEST(res.response.status == 502, res.response.body);
    // The killed worker was replaced; the service is whole again.
    BOOST_TEST(wait_until([&] {
        const auto now = t.wfhookd.workers();
        return now.size() == 2 && now != workers;
    }));
    BOOST_TEST(t.upload_bytes(id, "done").status == 200);
    Json status;
    std::string err;
    BOOST_TEST_REQUIRE(json_parse(t.call("GET", "/wf/status").body, status, err), err);
    BOOST_TEST(status.at("requestTimeoutKills").text == "1");
}

BOOST_AUTO_TEST_CASE(idle_time_between_requests_does_not_count) {
    WfhookdOptions o;
    o.server = "workers = 1\nrequest_timeout = 1\n";
    Stack s(o);
    const std::vector<pid_t> workers = s.wfhookd.workers();
    BOOST_TEST(s.get("/serviceInfo").status == 200);
    // Nothing may happen while the worker idles well past the deadline.
    BOOST_TEST(
        !wait_until([&] { return s.wfhookd.log().find("killed") != std::string::npos; }, 2500ms));
    BOOST_TEST(s.wfhookd.workers() == workers);
    BOOST_TEST(s.get("/serviceInfo").status == 200);
}

// A peer that stalls half-way through its request never holds the worker: the worker serves
// others meanwhile (even the only one), and drops the stalled connection at io_timeout.
BOOST_AUTO_TEST_CASE(a_stalled_fastcgi_peer_never_holds_the_worker) {
    TempDir dir;
    WfhookdOptions o;
    o.server = "workers = 1\nrequest_timeout = 1\nio_timeout = 2\n";
    Wfhookd w(dir, o);
    w.start();
    const pid_t worker = w.workers().at(0);
    const int fd = connect_unix(w.socket_path());
    // BEGIN_REQUEST and half a PARAMS record, then silence.
    write_all(fd,
              fcgi_begin_request(1) + fcgi_record(4, 1, "\x0e\x03REQUEST_METHODGET").substr(0, 12));
    for (int i = 0; i < 3; ++i)
        BOOST_TEST(fcgi_call(w.socket_path(),
                             {{"REQUEST_METHOD", "GET"}, {"DOCUMENT_URI", "/serviceInfo"}}, {}, 1s)
                       .status == 200);
    BOOST_TEST(w.wait_log("did not send a whole request within io_timeout"));
    BOOST_TEST(read_until_eof(fd, 5s).empty()); // closed, unanswered
    close(fd);
    BOOST_TEST(w.workers() == std::vector<pid_t>{worker}); // nobody was killed
    BOOST_TEST(w.log().find("killed") == std::string::npos);
}

// A request whose body streams in (larger than what the gate awaits) is answered at once
// when its endpoint does not read it, and what is left of it is read with a bound on each
// wait: a peer that stops sending it is dropped at io_timeout, and nobody is killed.
BOOST_AUTO_TEST_CASE(a_body_that_stops_streaming_is_dropped_at_io_timeout) {
    TempDir dir;
    WfhookdOptions o;
    o.server = "workers = 1\nrequest_timeout = 0\nio_timeout = 1\nmax_body_size = 1m\n";
    o.actions = "[action:noop]\ntype = noop\n";
    Wfhookd w(dir, o);
    w.start();
    const pid_t worker = w.workers().at(0);
    const int fd = connect_unix(w.socket_path());
    const std::string request = fcgi_request({{"REQUEST_METHOD", "POST"},
                                              {"DOCUMENT_URI", "/serviceInfo"},
                                              {"CONTENT_LENGTH", "900000"}},
                                             std::string(900000, 'x'));
    write_all(fd, request.substr(0, 300000));
    BOOST_TEST(fcgi_parse_reply(read_reply(fd, 10s)).status == 405);
    BOOST_TEST(read_until_eof(fd, 10s).empty()); // then closed: the rest never came
    close(fd);
    BOOST_TEST(w.workers() == std::vector<pid_t>{worker});
    BOOST_TEST(
        fcgi_call(w.socket_path(), {{"REQUEST_METHOD", "GET"}, {"DOCUMENT_URI", "/serviceInfo"}})
            .status == 200);
}

BOOST_AUTO_TEST_SUITE_END()
