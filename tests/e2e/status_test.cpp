// GET /status: a JSON view of the pool and its counters, served only when enabled and only
// to loopback clients through the shipped nginx config.
#include "support/json_check.hpp"
#include "support/stack.hpp"

#include <boost/test/unit_test.hpp>

#include <future>

using namespace wftest;

namespace {

Json status_of(Stack& s) {
    Json doc;
    std::string err;
    const HttpResponse r = s.get("/status");
    BOOST_TEST_REQUIRE(r.status == 200, r.body);
    BOOST_TEST_REQUIRE(json_parse(r.body, doc, err), err << " in " << r.body);
    return doc;
}

} // namespace

BOOST_AUTO_TEST_SUITE(status)

BOOST_AUTO_TEST_CASE(reports_workers_states_and_totals) {
    TempDir out;
    WfhookdOptions o;
    o.server = "workers = 2\nstatus = yes\n";
    o.actions = "[action:noop]\ntype = noop\n" +
                exec_action("slow", "sleep.sh", "3 " + out.file("pid"), 10);
    Stack s(o);
    for (int i = 0; i < 3; ++i)
        s.get("/customAction?name=noop&documentId=1", s.auth());
    s.get("/customAction?name=nope&documentId=1", s.auth());
    auto slow = std::async(std::launch::async,
                           [&] { return s.get("/customAction?name=slow&documentId=1", s.auth()); });
    BOOST_TEST_REQUIRE(wait_until([&] { return file_exists(out.file("pid")); }));

    const Json doc = status_of(s);
    BOOST_TEST(doc.at("service").text == "wfhookd");
    BOOST_TEST(doc.at("uptimeSeconds").is(Json::Type::number));
    BOOST_TEST(doc.at("configuredWorkers").text == "2");
    const Json* procs = doc.get("processes");
    BOOST_TEST_REQUIRE(procs != nullptr);
    BOOST_TEST(procs->items.size() == 2u);
    int busy_running_slow = 0, busy_serving_status = 0;
    for (const Json& p : procs->items) {
        BOOST_TEST(p.at("pid").is(Json::Type::number));
        BOOST_TEST(p.at("state").text == "busy"); // one runs slow, the other answers us
        BOOST_TEST(p.at("requestAgeMs").is(Json::Type::number));
        if (p.get("action") != nullptr && p.at("action").text == "slow") ++busy_running_slow;
        if (p.at("endpoint").text == "status") ++busy_serving_status;
    }
    BOOST_TEST(busy_running_slow == 1);
    BOOST_TEST(busy_serving_status == 1);
    BOOST_TEST(doc.at("workers").at("busy").text == "2");
    BOOST_TEST(doc.at("responses").at("200").text == "3");
    BOOST_TEST(doc.at("responses").at("404").text == "1");
    const Json* actions = doc.get("actions");
    BOOST_TEST_REQUIRE(actions != nullptr);
    BOOST_TEST_REQUIRE(actions->items.size() == 2u);
    BOOST_TEST(actions->items.at(0).at("name").text == "noop");
    BOOST_TEST(actions->items.at(0).at("calls").text == "3");
    BOOST_TEST(actions->items.at(1).at("running").text == "1");
    BOOST_TEST(slow.get().status == 200);

    const Json after = status_of(s);
    BOOST_TEST(after.at("actions").items.at(1).at("calls").text == "1");
    BOOST_TEST(after.at("actions").items.at(1).at("running").text == "0");
}

BOOST_AUTO_TEST_CASE(only_loopback_clients_get_it_through_nginx) {
    WfhookdOptions o;
    o.server = "status = yes\n";
    Stack s(o);
    const HttpResponse from_elsewhere = parse_http_response(
        http_raw("127.0.0.1", s.nginx.http_port(),
                 "GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 10s, "127.0.0.2"));
    BOOST_TEST(from_elsewhere.status == 403);
    BOOST_TEST(json_error(from_elsewhere.body) == "");
    // The rule follows the endpoint whatever the base path.
    BOOST_TEST(parse_http_response(http_raw("127.0.0.1", s.nginx.http_port(),
                                            "GET /api/v1/status HTTP/1.1\r\nHost: x\r\nConnection: "
                                            "close\r\n\r\n",
                                            10s, "127.0.0.2"))
                   .status == 403);
    BOOST_TEST(s.get("/status").status == 200);
}

BOOST_AUTO_TEST_SUITE_END()
