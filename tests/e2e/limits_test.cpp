// Limits: workers recycle after max_requests (not all at once), max_concurrent answers 503
// at once instead of queueing, and the size caps are the configured ones.
#include "support/stack.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <future>
#include <regex>
#include <set>

using namespace wftest;

BOOST_AUTO_TEST_SUITE(limits)

BOOST_AUTO_TEST_CASE(workers_recycle_after_max_requests_with_jitter) {
    WfhookdOptions o;
    o.server = "workers = 2\nmax_requests = 10\nmax_requests_jitter = 5\n";
    Stack s(o);
    std::set<pid_t> seen;
    for (int i = 0; i < 150; ++i) {
        BOOST_TEST_REQUIRE(s.get("/serviceInfo").status == 200);
        for (const pid_t p : s.wfhookd.workers())
            seen.insert(p);
    }
    BOOST_TEST(seen.size() > 10u); // workers came and went
    const std::string log = s.wfhookd.log();
    static const std::regex re(R"(worker recycling after ([0-9]+) requests)");
    std::set<int> limits;
    int recycles = 0;
    for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator();
         ++it) {
        const int n = std::stoi((*it)[1]);
        BOOST_TEST(n >= 5);
        BOOST_TEST(n <= 10);
        limits.insert(n);
        ++recycles;
    }
    BOOST_TEST(recycles >= 10);
    BOOST_TEST(limits.size() > 1u); // jitter: not every worker stops at the same count
    BOOST_TEST(log.find("error") == std::string::npos, log); // recycling is not a failure
}

BOOST_AUTO_TEST_CASE(max_concurrent_answers_503_at_once) {
    TempDir out;
    WfhookdOptions o;
    o.server = "workers = 3\n";
    o.actions = exec_action("slow", "sleep.sh", "5 " + out.file("pid"), 10, "max_concurrent = 1\n");
    Stack s(o);
    auto first = std::async(std::launch::async, [&] {
        return s.get("/customAction?name=slow&documentId=1", s.auth());
    });
    BOOST_TEST_REQUIRE(wait_until([&] { return file_exists(out.file("pid")); }));
    const auto start = std::chrono::steady_clock::now();
    const HttpResponse busy = s.get("/customAction?name=slow&documentId=2", s.auth());
    const auto took = std::chrono::steady_clock::now() - start;
    BOOST_TEST(busy.status == 503);
    BOOST_TEST(busy.body == R"({"status":"error","error":"action busy, try again"})");
    BOOST_TEST(took < std::chrono::milliseconds(2500)); // not queued behind the 5 s first
    BOOST_TEST(first.get().status == 200);
    // The place is free again once the first run is over.
    std::remove(out.file("pid").c_str());
    BOOST_TEST(s.get("/customAction?name=slow&documentId=3", s.auth()).status == 200);
}

BOOST_AUTO_TEST_CASE(a_killed_worker_gives_its_place_back) {
    TempDir out;
    WfhookdOptions o;
    o.server = "workers = 2\n";
    o.actions = exec_action("slow", "sleep.sh", "5 " + out.file("pid"), 10, "max_concurrent = 1\n");
    Stack s(o);
    auto first = std::async(std::launch::async, [&] {
        return s.get("/customAction?name=slow&documentId=1", s.auth());
    });
    BOOST_TEST_REQUIRE(wait_until([&] { return file_exists(out.file("pid")); }));
    // Kill the worker running the action: the place it held must not leak.
    for (const pid_t w : s.wfhookd.workers())
        kill(w, SIGKILL);
    BOOST_TEST(first.get().status == 502);
    const pid_t action = std::atoi(read_file(out.file("pid")).c_str());
    BOOST_TEST_REQUIRE(action > 1);
    BOOST_TEST(wait_until([&] { return !process_alive(action); })); // its process group died too
    BOOST_TEST_REQUIRE(wait_until([&] { return s.wfhookd.workers().size() == 2; }));
    std::remove(out.file("pid").c_str());
    auto again = std::async(std::launch::async, [&] {
        return s.get("/customAction?name=slow&documentId=2", s.auth());
    });
    BOOST_TEST_REQUIRE(wait_until([&] { return file_exists(out.file("pid")); }));
    const pid_t second = std::atoi(read_file(out.file("pid")).c_str());
    BOOST_TEST_REQUIRE(second > 1); // never kill(0): that is our own process group
    kill(second, SIGKILL);
    BOOST_TEST(again.get().status == 500); // it ran (killed by us), it was not refused as busy
}

BOOST_AUTO_TEST_CASE(query_and_body_caps_follow_the_config) {
    WfhookdOptions o;
    o.server = "max_query_size = 1k\nmax_body_size = 2k\n";
    o.actions = "[action:noop]\ntype = noop\n";
    Stack s(o);
    const std::string query = "name=noop&documentId=1&pad=";
    const std::string base = "/customAction?" + query;
    BOOST_TEST(s.get(base + std::string(1024 - query.size(), 'x'), s.auth()).status == 200);
    const HttpResponse q = s.get(base + std::string(1025 - query.size(), 'x'), s.auth());
    BOOST_TEST(q.status == 400);
    BOOST_TEST(q.body.find("query string is 1025 bytes; the limit is 1024") != std::string::npos,
               q.body);
    const HttpResponse b = s.request("POST", "/customAction", s.auth(), std::string(2049, 'b'));
    BOOST_TEST(b.status == 413);
    BOOST_TEST(b.body.find("request body is 2049 bytes; the limit is 2048") != std::string::npos,
               b.body);
}

BOOST_AUTO_TEST_SUITE_END()
