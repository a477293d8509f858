#include "http/response.hpp"

#include "support/json_check.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <ostream>
#include <string>

namespace bdata = boost::unit_test::data;
using wfhookd::reason_phrase;
using wfhookd::Response;

namespace {

struct Reason {
    int status;
    std::string phrase;
};

std::ostream& operator<<(std::ostream& os, const Reason& r) {
    return os << r.status;
}

const Reason kReasons[] = {
    {200, "OK"},
    {400, "Bad Request"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {413, "Content Too Large"},
    {500, "Internal Server Error"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {201, "Unknown"},
    {418, "Unknown"},
    {0, "Unknown"},
};

struct ErrorCase {
    std::string name;
    std::string message;
    std::string body;
};

std::ostream& operator<<(std::ostream& os, const ErrorCase& c) {
    return os << c.name;
}

const ErrorCase kErrors[] = {
    {"plain", "unknown endpoint", R"({"status":"error","error":"unknown endpoint"})"},
    {"quotes and newline", "unknown action \"a\nb\"",
     R"({"status":"error","error":"unknown action \"a\nb\""})"},
    {"invalid UTF-8 replaced", "bad \xFF", "{\"status\":\"error\",\"error\":\"bad \xEF\xBF\xBD\"}"},
    {"empty", "", R"({"status":"error","error":""})"},
};

} // namespace

BOOST_AUTO_TEST_SUITE(response)

BOOST_DATA_TEST_CASE(reason_phrases, bdata::make(kReasons), r) {
    BOOST_TEST(reason_phrase(r.status) == r.phrase);
}

BOOST_DATA_TEST_CASE(set_error_body, bdata::make(kErrors), c) {
    Response res;
    res.body = "previous body";
    res.set_error(404, c.message);
    BOOST_TEST(res.status == 404);
    BOOST_TEST(res.body == c.body);
    BOOST_TEST(wftest::json_error(res.body) == "");
    BOOST_TEST(res.log_error == c.message); // the raw message, escaped later by the logger
}

BOOST_AUTO_TEST_CASE(set_oauth2_error_is_rfc_6749_and_never_cached) {
    Response res;
    res.body = "previous body";
    res.cache_control = "private, max-age=60";
    res.set_oauth2_error(400, "invalid_grant", "the code \"x\" has expired");
    BOOST_TEST(res.status == 400);
    BOOST_TEST(res.body ==
               R"({"error":"invalid_grant","error_description":"the code \"x\" has expired"})");
    BOOST_TEST(wftest::json_error(res.body) == "");
    BOOST_TEST(res.content_type == "application/json; charset=utf-8");
    BOOST_TEST(res.cache_control == "no-store");
    BOOST_TEST(res.headers == "Pragma: no-cache\r\n");
    BOOST_TEST(res.log_error == "invalid_grant: the code \"x\" has expired");
}

BOOST_AUTO_TEST_CASE(set_success_body) {
    Response res;
    res.set_error(500, "earlier failure");
    res.set_success();
    BOOST_TEST(res.status == 200);
    BOOST_TEST(res.body == R"({"status":"success"})");
    BOOST_TEST(res.log_error.empty());
}

BOOST_AUTO_TEST_CASE(clear_resets_for_the_next_request) {
    Response res;
    res.set_error(405, std::string(1000, 'x'));
    res.allow = "GET";
    const std::size_t capacity = res.body.capacity();
    res.clear();
    BOOST_TEST(res.status == 200);
    BOOST_TEST(res.allow.empty());
    BOOST_TEST(res.body.empty());
    BOOST_TEST(res.log_error.empty());
    BOOST_TEST(res.body.capacity() == capacity); // keeps its buffer
}

BOOST_AUTO_TEST_SUITE_END()
