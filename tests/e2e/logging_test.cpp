// The request log: one line per request on stderr with what an operator needs, and never a
// key, whichever key was sent.
#include "support/fcgi_client.hpp"
#include "support/stack.hpp"

#include <boost/test/unit_test.hpp>

#include <regex>
#include <unistd.h>

using namespace wftest;

BOOST_AUTO_TEST_SUITE(logging)

BOOST_AUTO_TEST_CASE(one_line_per_request_with_method_endpoint_action_status_time_user) {
    WfhookdOptions o;
    o.actions = "[action:noop]\ntype = noop\n";
    Stack s(o);
    const int before = s.wfhookd.log_count("request method=");
    BOOST_TEST(
        s.get("/x/customAction?name=noop&documentId=7", s.auth("carol@example.com")).status == 200);
    BOOST_TEST(s.get("/serviceInfo").status == 200);
    BOOST_TEST(s.get("/customAction?name=noop&documentId=7").status == 403);
    BOOST_TEST_REQUIRE(s.wfhookd.wait_log("request method=", before + 3));
    const std::string log = s.wfhookd.log();
    BOOST_TEST(
        std::regex_search(log, std::regex(R"(request method=GET endpoint=customAction )"
                                          R"(action=noop status=200 user=carol@example\.com )"
                                          R"(id=[0-9a-f]{32} us=[0-9]+\n)")),
        log);
    BOOST_TEST(std::regex_search(
        log, std::regex(R"(request method=GET endpoint=serviceInfo status=200 user=- )")));
    BOOST_TEST(std::regex_search(
        log,
        std::regex(R"(endpoint=customAction status=403 user=- .*error="missing apiKey header")")));
}

BOOST_AUTO_TEST_CASE(an_answer_nobody_waits_for_any_more_is_logged_as_unsent) {
    // The caller gave up (nginx closed the FastCGI connection after the client left): the
    // action ran, but nobody saw its answer, and the operator must be able to tell.
    TempDir out;
    WfhookdOptions o;
    o.actions = exec_action("slow", "sleep.sh", "1 " + out.file("pid"));
    Stack s(o);
    const int c = connect_tcp("127.0.0.1", s.nginx.http_port());
    BOOST_TEST_REQUIRE(c >= 0);
    BOOST_TEST(write_all(c, "GET /customAction?name=slow&documentId=1 HTTP/1.1\r\n"
                            "Host: localhost\r\napiKey: " +
                                s.wfhookd.api_key() + "\r\nusername: u\r\n\r\n"));
    const bool running = wait_until([&] { return file_exists(out.file("pid")); });
    close(c);
    BOOST_TEST_REQUIRE(running);
    BOOST_TEST_REQUIRE(s.wfhookd.wait_log("unsent=peer-gone"), s.wfhookd.log());
    BOOST_TEST(std::regex_search(
        s.wfhookd.log(),
        std::regex(R"(warning: request method=GET endpoint=customAction action=slow )"
                   R"(status=200 .* unsent=peer-gone\n)")));
}

BOOST_AUTO_TEST_CASE(keys_never_reach_the_log) {
    WfhookdOptions o;
    o.actions = "[action:noop]\ntype = noop\n";
    Stack s(o);
    const std::string key = s.wfhookd.api_key();
    const std::string wrong = "wrong-key-0123456789-abcdef";
    s.get("/customAction?name=noop&documentId=1", s.auth());
    s.get("/customAction?name=noop&documentId=1", {{"apiKey", wrong}, {"username", "x"}});
    s.get("/customAction?name=noop&documentId=" + key, {{"apiKey", key}});
    BOOST_TEST_REQUIRE(s.wfhookd.wait_log("request method=", 3));
    const std::string log = s.wfhookd.log();
    BOOST_TEST(log.find(wrong) == std::string::npos);
    // The only way the key may appear is as the documentId the caller chose to send.
    BOOST_TEST(log.find("apiKey=") == std::string::npos);
    BOOST_TEST(log.find(key.substr(0, 16)) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(hostile_usernames_cannot_forge_log_lines) {
    WfhookdOptions o;
    o.actions = "[action:noop]\ntype = noop\n";
    Stack s(o);
    // nginx refuses raw newlines in headers, so try what it lets through: quotes, = and spaces.
    s.get("/customAction?name=noop&documentId=1",
          {{"apiKey", s.wfhookd.api_key()}, {"username", "x\" status=200 user=\"admin"}});
    BOOST_TEST_REQUIRE(s.wfhookd.wait_log("request method=", 1));
    BOOST_TEST(s.wfhookd.log().find(R"(user="x\" status=200 user=\"admin")") != std::string::npos,
               s.wfhookd.log());
}

BOOST_AUTO_TEST_SUITE_END()
