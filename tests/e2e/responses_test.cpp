// Every status code wfhookd answers, through a real nginx: the right code, a JSON error body,
// and the headers every response carries.
#include "support/json_check.hpp"
#include "support/stack.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <ostream>

using namespace wftest;
namespace bdata = boost::unit_test::data;

namespace {

Stack& stack() {
    static Stack s([] {
        WfhookdOptions o;
        o.server = "workers = 2\nmax_body_size = 1k\n";
        o.auth = "users = alice@example.com bob@example.com\n";
        o.actions = "[action:noop]\ntype = noop\n\n" + exec_action("fail", "fail.sh");
        return o;
    }());
    return s;
}

enum class Auth { none, good, wrong_key, no_user, other_user, key_case };

struct Case {
    std::string name;
    std::string method;
    std::string target;
    Auth auth;
    int status;
    std::string error; // substring of the "error" member; empty for success
    std::size_t body_size = 0;
};

std::ostream& operator<<(std::ostream& os, const Case& c) {
    return os << c.name;
}

std::string big(std::size_t n, char c = 'x') {
    return std::string(n, c);
}

const Case kCases[] = {
    {"serviceInfo", "GET", "/serviceInfo", Auth::none, 200, ""},
    {"serviceInfo under a base path", "GET", "/api/v1/serviceInfo", Auth::none, 200, ""},
    {"serviceInfo with doubled slash", "GET", "/api/v1//serviceInfo", Auth::none, 200, ""},
    {"serviceInfo ignores credentials", "GET", "/serviceInfo", Auth::wrong_key, 200, ""},
    {"customAction noop", "GET", "/customAction?name=noop&documentId=1", Auth::good, 200, ""},
    {"customAction with version and unknown params", "GET",
     "/wf/customAction?access_type=offline&name=noop&documentId=1&documentVersionId=2&x=1&x=2",
     Auth::good, 200, ""},
    {"customAction id of 255 bytes", "GET", "/customAction?name=noop&documentId=" + big(255),
     Auth::good, 200, ""},
    {"invalid escape", "GET", "/customAction?name=noop&documentId=%zz", Auth::good, 400,
     "invalid percent-escape"},
    {"truncated escape", "GET", "/customAction?name=noop&documentId=a%4", Auth::good, 400,
     "invalid percent-escape"},
    {"NUL byte", "GET", "/customAction?name=noop&documentId=a%00b", Auth::good, 400, "%00"},
    {"repeated name", "GET", "/customAction?name=noop&name=fail&documentId=1", Auth::good, 400,
     "name is given more than once"},
    {"repeated documentId", "GET", "/customAction?name=noop&documentId=1&documentId=2", Auth::good,
     400, "documentId is given more than once"},
    {"repeated documentVersionId", "GET",
     "/customAction?name=noop&documentId=1&documentVersionId=1&documentVersionId=2", Auth::good,
     400, "documentVersionId is given more than once"},
    {"missing name", "GET", "/customAction?documentId=1", Auth::good, 400,
     "missing parameter name"},
    {"missing documentId", "GET", "/customAction?name=noop", Auth::good, 400,
     "missing parameter documentId"},
    {"empty documentId", "GET", "/customAction?name=noop&documentId=", Auth::good, 400,
     "documentId is empty"},
    {"id over 255 bytes", "GET", "/customAction?name=noop&documentId=" + big(256), Auth::good, 400,
     "the limit is 255"},
    {"invalid UTF-8 id", "GET", "/customAction?name=noop&documentId=%FF%FE", Auth::good, 400,
     "not valid UTF-8"},
    {"query over 8 KiB", "GET", "/customAction?name=noop&documentId=1&pad=" + big(8200), Auth::good,
     400, "query string is"},
    {"no apiKey", "GET", "/customAction?name=noop&documentId=1", Auth::none, 403,
     "missing apiKey header"},
    {"wrong apiKey", "GET", "/customAction?name=noop&documentId=1", Auth::wrong_key, 403,
     "invalid apiKey"},
    {"apiKey in other case", "GET", "/customAction?name=noop&documentId=1", Auth::key_case, 403,
     "invalid apiKey"},
    {"no username", "GET", "/customAction?name=noop&documentId=1", Auth::no_user, 403,
     "missing username header"},
    {"username not allowed", "GET", "/customAction?name=noop&documentId=1", Auth::other_user, 403,
     "username is not allowed"},
    {"auth before parameter checks", "GET", "/customAction?documentId=%zz", Auth::wrong_key, 403,
     "invalid apiKey"},
    {"unknown endpoint", "GET", "/bogus?id=1", Auth::good, 404, "unknown endpoint"},
    {"store endpoint without a store", "GET", "/metadata?id=1", Auth::good, 404,
     "no document store is configured"},
    {"root path", "GET", "/", Auth::good, 404, "unknown endpoint"},
    {"status disabled", "GET", "/status", Auth::good, 404, "unknown endpoint"},
    {"unknown action", "GET", "/customAction?name=nope&documentId=1", Auth::good, 404,
     "unknown action \"nope\""},
    {"POST customAction", "POST", "/customAction?name=noop&documentId=1", Auth::good, 405,
     "method POST is not allowed here; use GET"},
    {"DELETE serviceInfo", "DELETE", "/serviceInfo", Auth::none, 405, "use GET, HEAD"},
    {"body over max_body_size", "POST", "/customAction?name=noop&documentId=1", Auth::good, 413,
     "request body is 2000 bytes; the limit is 1024", 2000},
    {"body over nginx's limit", "POST", "/customAction", Auth::good, 413, "request body too large",
     70000},
    {"action failure", "GET", "/customAction?name=fail&documentId=1", Auth::good, 500,
     "fail failed: archive server refused: quota exceeded"},
};

Headers headers_for(Auth a) {
    const std::string key = stack().wfhookd.api_key();
    std::string upper = key;
    for (char& c : upper)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    switch (a) {
    case Auth::none:
        return {};
    case Auth::good:
        return {{"apiKey", key}, {"username", "alice@example.com"}};
    case Auth::wrong_key:
        return {{"apiKey", key + "x"}, {"username", "alice@example.com"}};
    case Auth::no_user:
        return {{"apiKey", key}};
    case Auth::other_user:
        return {{"apiKey", key}, {"username", "mallory@example.com"}};
    case Auth::key_case:
        return {{"apiKey", upper}, {"username", "alice@example.com"}};
    }
    return {};
}

} // namespace

BOOST_AUTO_TEST_SUITE(responses)

BOOST_DATA_TEST_CASE(status_code_and_json_error, bdata::make(kCases), c) {
    const HttpResponse r =
        stack().request(c.method, c.target, headers_for(c.auth), std::string(c.body_size, 'b'));
    BOOST_TEST_REQUIRE(r.ok);
    BOOST_TEST(r.status == c.status);
    BOOST_TEST(r.header("content-type") == "application/json; charset=utf-8");
    BOOST_TEST(r.header("cache-control") == "no-store");
    Json doc;
    std::string err;
    BOOST_TEST_REQUIRE(json_parse(r.body, doc, err), err << " in " << r.body);
    if (c.status == 200) {
        if (c.target.find("customAction") != std::string::npos)
            BOOST_TEST(r.body == R"({"status":"success"})");
        else
            BOOST_TEST(doc.at("webhookVersion").text == "1.2");
    } else {
        BOOST_TEST_REQUIRE(doc.get("status") != nullptr);
        BOOST_TEST(doc.at("status").text == "error");
        BOOST_TEST_REQUIRE(doc.get("error") != nullptr);
        BOOST_TEST(doc.at("error").text.find(c.error) != std::string::npos,
                   "error \"" << doc.at("error").text << "\" lacks \"" << c.error << "\"");
    }
}

BOOST_AUTO_TEST_CASE(method_not_allowed_names_the_allowed_methods) {
    const HttpResponse r = stack().request("POST", "/customAction", stack().auth());
    BOOST_TEST(r.status == 405);
    BOOST_TEST(r.header("allow") == "GET");
    const HttpResponse s = stack().request("PUT", "/serviceInfo");
    BOOST_TEST(s.header("allow") == "GET, HEAD");
}

BOOST_AUTO_TEST_CASE(head_has_headers_but_no_body) {
    const HttpResponse get = stack().get("/serviceInfo");
    const std::string raw =
        http_raw("127.0.0.1", stack().nginx.http_port(),
                 "HEAD /serviceInfo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    BOOST_TEST(raw.rfind("HTTP/1.1 200", 0) == 0);
    BOOST_TEST(raw.find("Content-Type: application/json; charset=utf-8") != std::string::npos);
    BOOST_TEST(raw.substr(raw.find("\r\n\r\n") + 4).empty());
    BOOST_TEST(get.body.size() > 0u);
}

BOOST_AUTO_TEST_CASE(service_info_lists_endpoints_and_actions_in_config_order) {
    const HttpResponse r = stack().get("/serviceInfo");
    BOOST_TEST(r.body == R"({"webhookVersion":"1.2","version":")" + std::string(WFHOOKD_VERSION) +
                             R"(","publisher":"Test Corp","availableEndpoints":["serviceInfo",)"
                             R"("customAction"],"customActions":[{"name":"noop","displayName":)"
                             R"("noop"},{"name":"fail","displayName":"fail"}]})");
}

BOOST_AUTO_TEST_CASE(unreachable_service_is_a_json_502) {
    Stack s;
    s.wfhookd.stop();
    const HttpResponse r = s.get("/serviceInfo");
    BOOST_TEST(r.status == 502);
    BOOST_TEST(r.header("content-type") == "application/json; charset=utf-8");
    BOOST_TEST(json_error(r.body) == "");
}

BOOST_AUTO_TEST_SUITE_END()
