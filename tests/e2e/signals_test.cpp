// Signals never break a request: a worker blocks them while it serves (libfcgi's reads and
// writes do not retry on EINTR), and SIGTERM waits for the request to finish.
#include "support/stack.hpp"

#include <boost/test/unit_test.hpp>

#include <csignal>
#include <future>

using namespace wftest;

BOOST_AUTO_TEST_SUITE(signals)

BOOST_AUTO_TEST_CASE(signals_sent_to_a_busy_worker_do_not_break_its_request) {
    TempDir out;
    WfhookdOptions o;
    o.server = "workers = 1\n";
    o.actions = exec_action("slow", "sleep.sh", "1 " + out.file("pid"), 10);
    Stack s(o);
    const pid_t worker = s.wfhookd.workers().at(0);
    auto call = std::async(std::launch::async,
                           [&] { return s.get("/customAction?name=slow&documentId=1", s.auth()); });
    BOOST_TEST_REQUIRE(wait_until([&] { return file_exists(out.file("pid")); }));
    for (const int sig : {SIGHUP, SIGUSR1, SIGUSR2, SIGPIPE, SIGCHLD, SIGINT, SIGTERM})
        kill(worker, sig);
    const HttpResponse r = call.get();
    BOOST_TEST(r.status == 200, r.body);
    // SIGINT/SIGTERM asked it to stop: it did so after the request, and was replaced.
    BOOST_TEST(wait_until([&] { return !process_alive(worker); }));
    BOOST_TEST(wait_until([&] { return s.wfhookd.workers().size() == 1; }));
    BOOST_TEST(s.get("/serviceInfo").status == 200);
}

BOOST_AUTO_TEST_CASE(an_idle_worker_stops_at_once_on_sigterm) {
    WfhookdOptions o;
    o.server = "workers = 1\n";
    Stack s(o);
    const pid_t worker = s.wfhookd.workers().at(0);
    kill(worker, SIGTERM);
    BOOST_TEST(wait_until([&] { return !process_alive(worker); }));
    BOOST_TEST(wait_until([&] {
        const auto w = s.wfhookd.workers();
        return w.size() == 1 && w[0] != worker;
    }));
}

BOOST_AUTO_TEST_SUITE_END()
