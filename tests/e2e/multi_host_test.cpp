// Several wfhookd hosts behind one nginx upstream (docs/deployment.md, "Several hosts"): each
// listens on TCP with `allow_from` naming the nginx host, and nginx moves on to the next
// server when one is gone. Loopback plays the network: 127.0.0.2 and 127.0.0.3 are the two
// hosts, nginx connects from 127.0.0.1.
#include "support/fcgi_client.hpp"
#include "support/stack.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <csignal>
#include <future>
#include <map>
#include <unistd.h>

using namespace wftest;

namespace {

WfhookdOptions tcp_host(const std::string& address, unsigned short port) {
    WfhookdOptions o;
    o.listen = false;
    o.server = "listen = tcp:" + address + ":" + std::to_string(port) +
               "\nallow_from = 127.0.0.1\nworkers = 2\n";
    o.actions = "[action:ping]\ntype = noop\n";
    return o;
}

// One FastCGI request over TCP from `source`; the reply is empty when the server hung up.
FcgiReply fcgi_tcp_call(const std::string& host, unsigned short port, const std::string& source) {
    const int fd = connect_tcp(host, port, source);
    if (fd < 0) return {};
    write_all(fd, fcgi_request({{"REQUEST_METHOD", "GET"},
                                {"DOCUMENT_URI", "/serviceInfo"},
                                {"QUERY_STRING", ""}}));
    const std::string bytes = read_until_eof(fd, 10s);
    close(fd);
    return fcgi_parse_reply(bytes);
}

} // namespace

BOOST_AUTO_TEST_SUITE(multi_host)

BOOST_AUTO_TEST_CASE(every_request_is_answered_while_one_of_two_hosts_is_killed) {
    TempDir dir;
    const unsigned short port_a = free_port("127.0.0.2"), port_b = free_port("127.0.0.3");
    Wfhookd a(dir, tcp_host("127.0.0.2", port_a), "a");
    Wfhookd b(dir, tcp_host("127.0.0.3", port_b), "b");
    a.start();
    b.start();
    BOOST_TEST(a.log().find("listening on tcp:127.0.0.2:" + std::to_string(port_a)) !=
               std::string::npos);
    BOOST_TEST(b.log().find("listening on tcp:127.0.0.3:" + std::to_string(port_b)) !=
               std::string::npos);
    Nginx nginx(dir,
                {"127.0.0.2:" + std::to_string(port_a), "127.0.0.3:" + std::to_string(port_b)});

    // Two clients send requests back to back until told to stop; every answer is recorded.
    std::atomic<bool> stop{false};
    const auto client = [&] {
        std::map<int, int> statuses;
        while (!stop) {
            const HttpResponse r =
                http_request("127.0.0.1", nginx.http_port(), "GET", "/serviceInfo");
            ++statuses[r.ok ? r.status : -1];
        }
        return statuses;
    };
    auto c1 = std::async(std::launch::async, client);
    auto c2 = std::async(std::launch::async, client);

    // Both hosts take a share, then host a dies at once with all its workers (SIGKILL to the
    // process group: a crash, a power cut), in the middle of the load.
    const std::string served = "request method=GET endpoint=serviceInfo status=200";
    BOOST_TEST(a.wait_log(served, 20));
    BOOST_TEST(b.wait_log(served, 20));
    const std::vector<pid_t> a_workers = a.workers();
    kill(-a.pid(), SIGKILL);
    BOOST_TEST(a.process().wait(5s) != -1);
    for (const pid_t p : a_workers)
        BOOST_TEST(wait_until([&] { return !process_alive(p); }));
    const int b_before = b.log_count(served);
    BOOST_TEST(b.wait_log(served, b_before + 200, 30s));
    stop = true;

    std::map<int, int> all = c1.get();
    for (const auto& [status, n] : c2.get())
        all[status] += n;
    int total = 0;
    for (const auto& [status, n] : all) {
        BOOST_TEST_INFO("status " << status << ": " << n << " responses");
        BOOST_TEST(status == 200);
        total += n;
    }
    BOOST_TEST(total >= 240);
}

BOOST_AUTO_TEST_CASE(connections_from_addresses_not_in_allow_from_are_refused) {
    TempDir dir;
    const unsigned short port = free_port("127.0.0.2");
    Wfhookd w(dir, tcp_host("127.0.0.2", port));
    w.start();

    const FcgiReply refused = fcgi_tcp_call("127.0.0.2", port, "127.0.0.4");
    BOOST_TEST(!refused.complete);
    BOOST_TEST(refused.stdout_raw.empty());
    BOOST_TEST(w.wait_log("refused a connection from an address not in allow_from"));
    BOOST_TEST(w.log().find("endpoint=serviceInfo") == std::string::npos);

    const FcgiReply allowed = fcgi_tcp_call("127.0.0.2", port, "127.0.0.1");
    BOOST_TEST(allowed.complete);
    BOOST_TEST(allowed.status == 200, allowed.stdout_raw);
    BOOST_TEST(w.log_count("refused a connection") == 1);
}

BOOST_AUTO_TEST_SUITE_END()
