#include "api/router.hpp"

#include "api/context.hpp"
#include "config/config.hpp"
#include "server/scoreboard.hpp"
#include "support/json_check.hpp"
#include "support/temp_dir.hpp"
#include "util/clock.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <sys/mman.h>
#include <vector>

namespace bdata = boost::unit_test::data;
using wfhookd::Context;
using wfhookd::Request;
using wfhookd::Response;
using wfhookd::RouteInfo;
using wftest::Json;

namespace {

const std::string kKey1 = "key-one-0123456789abcdef-0123456";
const std::string kKey2 = "key-two-0123456789abcdef-0123456";

const std::string kActions = "[action:archive]\n"
                             "type = noop\n"
                             "display_name = Archive \"it\" \xE2\x9C\x93\n"
                             "[action:zeta]\n"
                             "type = noop\n"
                             "[action:fail]\n"
                             "type = exec\n"
                             "command = /bin/false\n"
                             "display_name = Failing\n"
                             "timeout = 5\n";

// Loads a config (with an API key file) from a temporary directory.
std::shared_ptr<const wfhookd::Config> load(const wftest::TempDir& dir, const std::string& server,
                                            const std::string& actions = kActions) {
    const std::string keys = dir.write("keys", kKey1 + "\n" + kKey2 + "\n", 0600);
    const std::string path =
        dir.write("wfhookd.conf", "[server]\nmax_query_size = 1k\n"
                                  "max_body_size = 1k\n" +
                                      server +
                                      "[service]\npublisher = Acme, LLC\n"
                                      "version = 9.9\n[auth]\napi_key_file = " +
                                      keys + "\n" + actions);
    wfhookd::ConfigResult r = wfhookd::load_config(path);
    if (!r.config) throw std::runtime_error("test config rejected: " + r.errors.at(0));
    return r.config;
}

int endpoint_index(std::string_view name) {
    const auto eps = wfhookd::endpoints();
    for (std::size_t i = 0; i < eps.size(); ++i)
        if (eps[i].name == name) return static_cast<int>(i);
    return -1;
}

// The message of a {"status":"error","error":...} body, or a description of what is wrong.
std::string error_of(const std::string& body) {
    Json j;
    std::string err;
    if (!json_parse(body, j, err)) return "<invalid JSON: " + err + ">";
    const Json* status = j.get("status");
    const Json* error = j.get("error");
    if (j.members.size() != 2 || status == nullptr || status->text != "error" || error == nullptr ||
        !error->is(Json::Type::string))
        return "<not an error body: " + body + ">";
    return error->text;
}

// ------------------------------------------------------------------------------------------

struct NameCase {
    std::string path, name;
};

std::ostream& operator<<(std::ostream& os, const NameCase& c) {
    return os << '"' << c.path << '"';
}

const NameCase kNames[] = {
    {"/a/b/customAction", "customAction"},
    {"//customAction", "customAction"},
    {"/customAction/", "customAction"},
    {"/customAction//", "customAction"},
    {"/v1//serviceInfo", "serviceInfo"},
    {"customAction", "customAction"},
    {"/a/b/", "b"},
    {"/", ""},
    {"///", ""},
    {"", ""},
};

// ------------------------------------------------------------------------------------------

const std::string kOk = "name=archive&documentId=doc-1";
const std::string kSuccess = R"({"status":"success"})";

struct RouteCase {
    std::string name;
    std::string method = "GET";
    std::string path = "/customAction";
    std::string query = kOk;
    std::string api_key = kKey1;
    std::string username = "alice@example.com";
    std::uint64_t content_length = 0;
    std::string malformed;
    int status = 200;
    std::string error;    // expected error message (status != 200)
    std::string allow;    // expected Allow header
    std::string endpoint; // RouteInfo.endpoint by name, "" for -1
    std::string action;   // RouteInfo.action
};

std::ostream& operator<<(std::ostream& os, const RouteCase& c) {
    return os << c.name;
}

RouteCase ok(std::string name, std::string query, std::string action = "archive") {
    RouteCase c;
    c.name = std::move(name);
    c.query = std::move(query);
    c.endpoint = "customAction";
    c.action = std::move(action);
    return c;
}

RouteCase fails(std::string name, int status, std::string error, std::string endpoint) {
    RouteCase c;
    c.name = std::move(name);
    c.status = status;
    c.error = std::move(error);
    c.endpoint = std::move(endpoint);
    return c;
}

template <typename F>
RouteCase with(RouteCase c, F&& change) {
    change(c);
    return c;
}

std::string repeat(const std::string& s, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i)
        out += s;
    return out;
}

// A valid query padded with an ignored parameter to exactly `size` bytes.
std::string query_of_size(std::size_t size) {
    const std::string head = kOk + "&pad=";
    return head + std::string(size - head.size(), 'p');
}

std::vector<RouteCase> route_cases() {
    const std::string ca = "customAction";
    std::vector<RouteCase> c = {
        // Endpoints.
        with(fails("unknown endpoint", 404, "unknown endpoint", ""),
             [](RouteCase& r) { r.path = "/bogus"; }),
        with(fails("a store endpoint with no store", 404, "no document store is configured", ""),
             [](RouteCase& r) { r.path = "/metadata"; }),
        with(fails("a store write endpoint with no store", 404, "no document store is configured",
                   ""),
             [](RouteCase& r) {
                 r.path = "/uploadInit";
                 r.method = "POST";
             }),
        with(fails("root path", 404, "unknown endpoint", ""), [](RouteCase& r) { r.path = "/"; }),
        with(fails("empty path", 404, "unknown endpoint", ""), [](RouteCase& r) { r.path = ""; }),
        with(fails("endpoint names are case-sensitive", 404, "unknown endpoint", ""),
             [](RouteCase& r) { r.path = "/customaction"; }),
        with(fails("status disabled", 404, "unknown endpoint", ""),
             [](RouteCase& r) { r.path = "/status"; }),
        with(ok("under a base path", kOk),
             [](RouteCase& r) { r.path = "/webhooks/v1/customAction"; }),
        with(ok("doubled slash", kOk), [](RouteCase& r) { r.path = "/webhooks//customAction"; }),
        with(ok("trailing slash", kOk), [](RouteCase& r) { r.path = "/customAction/"; }),
        // Methods.
        with(fails("POST", 405, "method POST is not allowed here; use GET", ca),
             [](RouteCase& r) { r.method = "POST", r.allow = "GET"; }),
        with(fails("HEAD on customAction", 405, "method HEAD is not allowed here; use GET", ca),
             [](RouteCase& r) { r.method = "HEAD", r.allow = "GET"; }),
        with(fails("DELETE", 405, "method DELETE is not allowed here; use GET", ca),
             [](RouteCase& r) { r.method = "DELETE", r.allow = "GET"; }),
        with(fails("lower-case get", 405, "method get is not allowed here; use GET", ca),
             [](RouteCase& r) { r.method = "get", r.allow = "GET"; }),
        with(fails("no method", 405, "method (none) is not allowed here; use GET", ca),
             [](RouteCase& r) { r.method = "", r.allow = "GET"; }),
        with(
            fails("method checked before auth", 405, "method PUT is not allowed here; use GET", ca),
            [](RouteCase& r) { r.method = "PUT", r.allow = "GET", r.api_key = ""; }),
        with(
            fails("PUT on serviceInfo", 405, "method PUT is not allowed here; use GET, HEAD",
                  "serviceInfo"),
            [](RouteCase& r) { r.method = "PUT", r.path = "/serviceInfo", r.allow = "GET, HEAD"; }),
        with(fails("OPTIONS on serviceInfo", 405,
                   "method OPTIONS is not allowed here; use GET, HEAD", "serviceInfo"),
             [](RouteCase& r) {
                 r.method = "OPTIONS", r.path = "/serviceInfo", r.allow = "GET, HEAD";
             }),
        // Authentication, before any parameter is looked at.
        with(fails("missing apiKey", 403, "missing apiKey header", ca),
             [](RouteCase& r) { r.api_key = ""; }),
        with(fails("wrong apiKey", 403, "invalid apiKey", ca),
             [](RouteCase& r) { r.api_key = "not-the-key-0123456789abcdef"; }),
        with(fails("apiKey prefix", 403, "invalid apiKey", ca),
             [](RouteCase& r) { r.api_key = kKey1.substr(0, 20); }),
        with(ok("second apiKey", kOk), [](RouteCase& r) { r.api_key = kKey2; }),
        with(fails("missing username", 403, "missing username header", ca),
             [](RouteCase& r) { r.username = ""; }),
        with(fails("auth before missing parameters", 403, "invalid apiKey", ca),
             [](RouteCase& r) { r.api_key = "x", r.query = ""; }),
        with(fails("auth before bad escapes", 403, "missing apiKey header", ca),
             [](RouteCase& r) { r.api_key = "", r.query = "name=%zz"; }),
        with(fails("auth before an unknown action", 403, "invalid apiKey", ca),
             [](RouteCase& r) { r.api_key = "x", r.query = "name=nope&documentId=d"; }),
        with(fails("username over 255 bytes", 400,
                   "username header must be at most 255 bytes of UTF-8", ca),
             [](RouteCase& r) { r.username = std::string(256, 'u'); }),
        with(fails("username not UTF-8", 400, "username header must be at most 255 bytes of UTF-8",
                   ca),
             [](RouteCase& r) { r.username = "caf\xE9"; }),
        with(ok("username of 255 bytes", kOk),
             [](RouteCase& r) { r.username = std::string(255, 'u'); }),
        with(ok("UTF-8 username", kOk), [](RouteCase& r) { r.username = "b\xC3\xA9@example.com"; }),
        // What the adapter found wrong, and sizes: before routing.
        with(fails("malformed request", 400, "a request header or parameter was sent twice", ""),
             [](RouteCase& r) { r.malformed = "a request header or parameter was sent twice"; }),
        with(fails("malformed before an unknown endpoint", 400, "CONTENT_LENGTH is not a number",
                   ""),
             [](RouteCase& r) { r.malformed = "CONTENT_LENGTH is not a number", r.path = "/x"; }),
        with(fails("body over max_body_size", 413, "request body is 1025 bytes; the limit is 1024",
                   ""),
             [](RouteCase& r) { r.content_length = 1025; }),
        with(fails("body over the limit on serviceInfo", 413,
                   "request body is 5000000000 bytes; the limit is 1024", ""),
             [](RouteCase& r) { r.content_length = 5'000'000'000, r.path = "/serviceInfo"; }),
        with(fails("body limit before auth", 413, "request body is 2048 bytes; the limit is 1024",
                   ""),
             [](RouteCase& r) { r.content_length = 2048, r.api_key = ""; }),
        with(ok("body at max_body_size", kOk), [](RouteCase& r) { r.content_length = 1024; }),
        with(fails("query over max_query_size", 400,
                   "query string is 1025 bytes; the limit is 1024", ca),
             [](RouteCase& r) { r.query = query_of_size(1025); }),
        ok("query at max_query_size", query_of_size(1024)),
        with(fails("a malformed query is refused on serviceInfo too", 400,
                   "invalid percent-escape at \"%zz\"", "serviceInfo"),
             [](RouteCase& r) { r.path = "/serviceInfo", r.query = "x=%zz", r.api_key = ""; }),
        // Parameters.
        with(fails("no query", 400, "missing parameter name", ca),
             [](RouteCase& r) { r.query = ""; }),
        with(fails("only separators", 400, "missing parameter name", ca),
             [](RouteCase& r) { r.query = "&&&"; }),
        with(fails("missing name", 400, "missing parameter name", ca),
             [](RouteCase& r) { r.query = "documentId=d"; }),
        with(fails("missing documentId", 400, "missing parameter documentId", ca),
             [](RouteCase& r) { r.query = "name=archive"; }),
        with(fails("empty name", 400, "parameter name is empty", ca),
             [](RouteCase& r) { r.query = "name=&documentId=d"; }),
        with(fails("empty documentId", 400, "parameter documentId is empty", ca),
             [](RouteCase& r) { r.query = "name=archive&documentId="; }),
        with(fails("documentId without =", 400, "parameter documentId is empty", ca),
             [](RouteCase& r) { r.query = "name=archive&documentId"; }),
        with(fails("repeated name", 400, "parameter name is given more than once", ca),
             [](RouteCase& r) { r.query = "name=archive&documentId=d&name=archive"; }),
        with(fails("repeated documentId", 400, "parameter documentId is given more than once", ca),
             [](RouteCase& r) { r.query = "documentId=a&name=archive&documentId=a"; }),
        with(fails("repeated documentVersionId", 400,
                   "parameter documentVersionId is given more than once", ca),
             [](RouteCase& r) { r.query = kOk + "&documentVersionId=1&documentVersionId=1"; }),
        with(fails("repeated empty documentVersionId", 400,
                   "parameter documentVersionId is given more than once", ca),
             [](RouteCase& r) { r.query = kOk + "&documentVersionId=&documentVersionId"; }),
        with(fails("repetition found before a missing name", 400,
                   "parameter documentId is given more than once", ca),
             [](RouteCase& r) { r.query = "documentId=a&documentId=b"; }),
        with(fails("documentId of 256 bytes", 400,
                   "parameter documentId is 256 bytes; the limit is 255", ca),
             [](RouteCase& r) { r.query = "name=archive&documentId=" + std::string(256, 'd'); }),
        ok("documentId of 255 bytes", "name=archive&documentId=" + std::string(255, 'd')),
        ok("documentId of 255 decoded bytes", "name=archive&documentId=" + repeat("%41", 255)),
        with(fails("documentId of 256 decoded bytes", 400,
                   "parameter documentId is 256 bytes; the limit is 255", ca),
             [](RouteCase& r) { r.query = "name=archive&documentId=" + repeat("%41", 256); }),
        with(fails("documentVersionId of 256 bytes", 400,
                   "parameter documentVersionId is 256 bytes; the limit is 255", ca),
             [](RouteCase& r) { r.query = kOk + "&documentVersionId=" + std::string(256, 'v'); }),
        with(fails("name of 256 bytes", 400, "parameter name is 256 bytes; the limit is 255", ca),
             [](RouteCase& r) { r.query = "documentId=d&name=" + std::string(256, 'n'); }),
        with(fails("documentId not UTF-8", 400, "parameter documentId is not valid UTF-8", ca),
             [](RouteCase& r) { r.query = "name=archive&documentId=%FF"; }),
        with(fails("name not UTF-8", 400, "parameter name is not valid UTF-8", ca),
             [](RouteCase& r) { r.query = "name=%C3&documentId=d"; }),
        with(fails("documentVersionId is a surrogate", 400,
                   "parameter documentVersionId is not valid UTF-8", ca),
             [](RouteCase& r) { r.query = kOk + "&documentVersionId=%ED%A0%80"; }),
        with(fails("bad escape", 400, "invalid percent-escape at \"%zz\"", ca),
             [](RouteCase& r) { r.query = "name=archive&documentId=%zz"; }),
        with(fails("bad escape in an unknown parameter", 400, "invalid percent-escape at \"%4\"",
                   ca),
             [](RouteCase& r) { r.query = kOk + "&extra=%4"; }),
        with(fails("NUL byte", 400, "%00 (NUL byte) is not allowed in the query string", ca),
             [](RouteCase& r) { r.query = "name=archive&documentId=a%00b"; }),
        ok("unknown parameters ignored", "foo=bar&" + kOk + "&x&foo=baz&=v"),
        ok("unknown parameter not UTF-8 ignored", kOk + "&foo=%FF"),
        ok("unknown parameter of any length ignored", kOk + "&foo=" + std::string(500, 'f')),
        ok("parameter names are case-sensitive", kOk + "&Name=other&DOCUMENTID=x"),
        ok("documentVersionId", kOk + "&documentVersionId=v1"),
        ok("empty documentVersionId", kOk + "&documentVersionId="),
        ok("encoded values", "name=arch%69ve&documentId=a+b%2Fc%C3%A9"),
        ok("unicode documentId", "name=archive&documentId=%E2%9C%93"),
        // Actions.
        with(fails("unknown action", 404, "unknown action \"nope\"", ca),
             [](RouteCase& r) { r.query = "name=nope&documentId=d", r.action = "nope"; }),
        with(fails("action names are case-sensitive", 404, "unknown action \"Archive\"", ca),
             [](RouteCase& r) { r.query = "name=Archive&documentId=d", r.action = "Archive"; }),
        with(fails("unknown action name is escaped", 404, "unknown action \"a\"\nb\"", ca),
             [](RouteCase& r) { r.query = "name=a%22%0Ab&documentId=d", r.action = "a\"\nb"; }),
        ok("second action", "name=zeta&documentId=d", "zeta"),
        with(fails("failing action", 500, "Failing failed: exit status 1", ca),
             [](RouteCase& r) { r.query = "name=fail&documentId=d", r.action = "fail"; }),
    };
    return c;
}

struct Setup {
    wftest::TempDir dir;
    std::shared_ptr<const wfhookd::Config> config;
    explicit Setup(const std::string& server = "", const std::string& actions = kActions)
        : config(load(dir, server, actions)) {}
};

struct Routed {
    Response res;
    RouteInfo info;
};

Routed route(const Context& ctx, const Request& req) {
    Routed r;
    wfhookd::route(ctx, req, r.res, r.info);
    return r;
}

Request get(std::string_view path, std::string_view query = {}) {
    Request req;
    req.method = "GET";
    req.path = path;
    req.query = query;
    req.api_key = kKey1;
    req.username = "alice";
    return req;
}

// A scoreboard mapped for one test.
struct Board {
    wfhookd::Scoreboard* sb = wfhookd::Scoreboard::create();
    ~Board() { munmap(sb, sizeof(wfhookd::Scoreboard)); }
};

} // namespace

BOOST_AUTO_TEST_SUITE(router)

BOOST_DATA_TEST_CASE(endpoint_name_is_the_last_segment, bdata::make(kNames), c) {
    BOOST_TEST(wfhookd::endpoint_name(c.path) == c.name);
}

BOOST_DATA_TEST_CASE(routing_outcomes, bdata::make(route_cases()), c) {
    Setup s;
    const Context ctx(s.config);
    Request req;
    req.method = c.method;
    req.path = c.path;
    req.query = c.query;
    req.api_key = c.api_key;
    req.username = c.username;
    req.content_length = c.content_length;
    req.malformed = c.malformed;
    const Routed r = route(ctx, req);
    BOOST_TEST(r.res.status == c.status);
    if (c.status == 200) {
        BOOST_TEST(r.res.body == kSuccess);
        BOOST_TEST(r.res.log_error.empty());
    } else {
        BOOST_TEST(error_of(r.res.body) == c.error);
        BOOST_TEST(r.res.log_error.starts_with(c.error));
    }
    BOOST_TEST(r.res.allow == c.allow);
    BOOST_TEST(r.info.endpoint == (c.endpoint.empty() ? -1 : endpoint_index(c.endpoint)));
    BOOST_TEST(r.info.action == c.action);
}

BOOST_AUTO_TEST_CASE(failed_action_detail_goes_to_the_log_only) {
    Setup s;
    const Context ctx(s.config);
    const Routed r = route(ctx, get("/customAction", "name=fail&documentId=d"));
    BOOST_TEST(r.res.status == 500);
    BOOST_TEST(error_of(r.res.body) == "Failing failed: exit status 1");
    BOOST_TEST(r.res.log_error == "Failing failed: exit status 1 [/bin/false]");
}

BOOST_AUTO_TEST_CASE(service_info_body) {
    Setup s;
    const Context ctx(s.config);
    const std::string expected =
        R"({"webhookVersion":"1.2","version":"9.9","publisher":"Acme, LLC",)"
        R"("availableEndpoints":["serviceInfo","customAction"],)"
        R"("customActions":[{"name":"archive","displayName":"Archive \"it\" )"
        "\xE2\x9C\x93"
        R"("},{"name":"zeta","displayName":"zeta"},{"name":"fail","displayName":"Failing"}]})";
    for (const char* method : {"GET", "HEAD"}) {
        Request req;
        req.method = method;
        req.path = "/webhooks/serviceInfo";
        req.query = "anything=1&name=x&name=y"; // no declared parameters: all ignored
        const Routed r = route(ctx, req);       // no apiKey, no username
        BOOST_TEST(r.res.status == 200, method);
        BOOST_TEST(r.res.body == expected, method);
        BOOST_TEST(wftest::json_error(r.res.body) == "");
        BOOST_TEST(r.info.endpoint == endpoint_index("serviceInfo"));
        BOOST_TEST(r.info.action.empty());
    }
}

BOOST_AUTO_TEST_CASE(service_info_defaults_and_no_actions) {
    wftest::TempDir dir;
    const std::string keys = dir.write("keys", kKey1 + "\n", 0600);
    const std::string path = dir.write("c.conf", "[auth]\napi_key_file = " + keys + "\n");
    const auto r = wfhookd::load_config(path);
    BOOST_TEST_REQUIRE(r.errors.empty());
    const Context ctx(r.config);
    const Routed routed = route(ctx, get("/serviceInfo"));
    BOOST_TEST(routed.res.body == R"({"webhookVersion":"1.2","version":")" WFHOOKD_VERSION
                                  R"(","publisher":"wfhookd","availableEndpoints":)"
                                  R"(["serviceInfo","customAction"],"customActions":[]})");
}

BOOST_AUTO_TEST_CASE(status_endpoint_without_scoreboard) {
    Setup s("status = yes\n");
    const Context ctx(s.config);
    for (const char* method : {"GET", "HEAD"}) {
        Request req;
        req.method = method;
        req.path = "/status";
        req.remote_addr = "127.0.0.1";
        const Routed r = route(ctx, req); // no authentication needed
        BOOST_TEST(r.res.status == 500);
        BOOST_TEST(error_of(r.res.body) == "status is not available in this process");
        BOOST_TEST(r.info.endpoint == endpoint_index("status"));
    }
    Request post;
    post.method = "POST";
    post.path = "/status";
    const Routed r = route(ctx, post);
    BOOST_TEST(r.res.status == 405);
    BOOST_TEST(r.res.allow == "GET, HEAD");
    // Enabling /status does not advertise it to Workfront.
    const Routed info = route(ctx, get("/serviceInfo"));
    BOOST_TEST(info.res.body.find("status") == std::string::npos);
}

// Defence in depth: whoever reaches the socket directly (without the web server's loopback
// rule) sees /status only from loopback or a status_from address.
BOOST_DATA_TEST_CASE(status_is_for_loopback_and_status_from,
                     bdata::make({"127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1",
                                  "203.0.113.9", "10.1.2.3", "", "not an address", "2001:db8::1"}) ^
                         bdata::make({true, true, true, true, false, true, false, false, true}),
                     addr, allowed) {
    Setup s("status = yes\nstatus_from = 10.0.0.0/8 2001:db8::/32\n");
    const Context ctx(s.config);
    Request req;
    req.method = "GET";
    req.path = "/status";
    req.remote_addr = addr;
    const Routed r = route(ctx, req);
    BOOST_TEST(r.res.status == (allowed ? 500 : 403)); // 500: no scoreboard in this test
    if (!allowed) BOOST_TEST(error_of(r.res.body) == "forbidden");
}

BOOST_AUTO_TEST_CASE(a_key_file_without_keys_refuses_every_api_key) {
    wftest::TempDir dir;
    const std::string keys = dir.write("keys", "# revoked\n", 0600);
    const std::string path =
        dir.write("wfhookd.conf", "[auth]\napi_key_file = " + keys + "\n" + kActions);
    const wfhookd::ConfigResult loaded = wfhookd::load_config(path);
    BOOST_TEST_REQUIRE(loaded.errors.empty());
    const Context ctx(loaded.config);
    const Routed r = route(ctx, get("/customAction", kOk));
    BOOST_TEST(r.res.status == 403);
    BOOST_TEST(error_of(r.res.body) == "invalid apiKey"); // the caller learns nothing more
    BOOST_TEST(r.res.log_error ==
               "invalid apiKey (no API key is accepted: " + keys + " contains no key)");
    BOOST_TEST(route(ctx, get("/serviceInfo")).res.status == 200);
}

BOOST_AUTO_TEST_CASE(views_point_at_decoded_parameters) {
    Setup s;
    const Context ctx(s.config);
    const std::string query = "documentId=x&name=%61rchive";
    const Routed r = route(ctx, get("/customAction", query));
    BOOST_TEST(r.res.status == 200);
    BOOST_TEST(r.info.action == "archive");
}

const std::string kLimited = "[action:limited]\ntype = noop\nmax_concurrent = 1\n"
                             "[action:free]\ntype = noop\n"
                             "[action:fail]\ntype = exec\ncommand = /bin/false\ntimeout = 5\n";

BOOST_AUTO_TEST_CASE(max_concurrent_answers_503_when_busy) {
    Board b;
    Setup s("", kLimited);
    const std::vector<int> idx = b.sb->register_actions(*s.config);
    const int self = b.sb->claim_slot(1), other = b.sb->claim_slot(1);
    const Context ctx(s.config, b.sb, self, idx);
    // Another worker holds the only place.
    BOOST_TEST_REQUIRE(b.sb->try_begin_action(other, idx[0], 1));

    const Routed busy = route(ctx, get("/customAction", "name=limited&documentId=d"));
    BOOST_TEST(busy.res.status == 503);
    BOOST_TEST(busy.res.body == R"({"status":"error","error":"action busy, try again"})");
    BOOST_TEST(busy.info.action == "limited");
    BOOST_TEST(b.sb->action(idx[0]).rejected_busy.load() == 1u);
    BOOST_TEST(b.sb->action(idx[0]).calls.load() == 1u);
    BOOST_TEST(b.sb->slot(self).action.load() == -1);
    BOOST_TEST(b.sb->slot(self).endpoint.load() == endpoint_index("customAction"));

    // Other actions are not held up.
    BOOST_TEST(route(ctx, get("/customAction", "name=free&documentId=d")).res.status == 200);
    BOOST_TEST(b.sb->action(idx[1]).calls.load() == 1u);

    // Once the place is free, the action runs, and our slot holds nothing afterwards.
    b.sb->end_action(other, false);
    const Routed again = route(ctx, get("/customAction", "name=limited&documentId=d"));
    BOOST_TEST(again.res.status == 200);
    BOOST_TEST(again.res.body == kSuccess);
    BOOST_TEST(b.sb->action(idx[0]).calls.load() == 2u);
    BOOST_TEST(b.sb->action(idx[0]).failures.load() == 0u);
    BOOST_TEST(b.sb->slot(self).action.load() == -1);

    // Failures are counted.
    BOOST_TEST(route(ctx, get("/customAction", "name=fail&documentId=d")).res.status == 500);
    BOOST_TEST(b.sb->action(idx[2]).calls.load() == 1u);
    BOOST_TEST(b.sb->action(idx[2]).failures.load() == 1u);
    BOOST_TEST(b.sb->slot(self).child_pgid.load() == 0);
}

BOOST_AUTO_TEST_CASE(an_action_without_max_concurrent_leaves_one_worker_free) {
    Board b;
    Setup s("workers = 3\n", kLimited);
    const std::vector<int> idx = b.sb->register_actions(*s.config);
    const int self = b.sb->claim_slot(1), w2 = b.sb->claim_slot(1), w3 = b.sb->claim_slot(1);
    const Context ctx(s.config, b.sb, self, idx);
    BOOST_TEST_REQUIRE(b.sb->try_begin_action(w2, idx[1], 0));
    // One other worker runs `free`: a second run may start (2 = workers - 1).
    BOOST_TEST(route(ctx, get("/customAction", "name=free&documentId=d")).res.status == 200);
    BOOST_TEST_REQUIRE(b.sb->try_begin_action(w3, idx[1], 0));
    // Two run it: this worker is the last one, and stays for everything else.
    const Routed busy = route(ctx, get("/customAction", "name=free&documentId=d"));
    BOOST_TEST(busy.res.status == 503);
    BOOST_TEST(route(ctx, get("/serviceInfo")).res.status == 200);
}

BOOST_AUTO_TEST_CASE(status_body_reads_the_scoreboard) {
    Board b;
    Setup s("status = yes\nworkers = 3\n", kLimited);
    const std::vector<int> idx = b.sb->register_actions(*s.config);
    const int self = b.sb->claim_slot(1), other = b.sb->claim_slot(1), idle = b.sb->claim_slot(2);
    const std::int64_t now = wfhookd::monotonic_ns();
    auto& me = b.sb->slot(self);
    me.pid.store(101);
    me.state.store(wfhookd::WorkerState::busy);
    me.request_ns.store(now);
    auto& busy = b.sb->slot(other);
    busy.pid.store(102);
    busy.state.store(wfhookd::WorkerState::busy);
    busy.request_ns.store(now - 1'500'000'000);
    busy.requests.store(41);
    busy.endpoint.store(endpoint_index("customAction"));
    BOOST_TEST_REQUIRE(b.sb->try_begin_action(other, idx[0], 1));
    b.sb->slot(idle).pid.store(103);
    b.sb->slot(idle).state.store(wfhookd::WorkerState::idle);
    for (const int code : {200, 200, 200, 404})
        b.sb->count_status(code);
    b.sb->reloads().store(2);

    const Context ctx(s.config, b.sb, self, idx);
    Request req;
    req.method = "GET";
    req.path = "/status";
    req.remote_addr = "::1";
    const Routed r = route(ctx, req);
    BOOST_TEST_REQUIRE(r.res.status == 200);
    Json j;
    std::string error;
    BOOST_TEST_REQUIRE(wftest::json_parse(r.res.body, j, error), error << " in " << r.res.body);
    BOOST_TEST(j.at("service").text == "wfhookd");
    BOOST_TEST(j.at("version").text == "9.9");
    BOOST_TEST(j.at("reloads").text == "2");
    BOOST_TEST(j.at("configuredWorkers").text == "3");
    BOOST_TEST(j.at("requests").text == "4");

    const Json* processes = j.get("processes");
    BOOST_TEST_REQUIRE(processes != nullptr);
    BOOST_TEST_REQUIRE(processes->items.size() == 3u);
    const Json& p = processes->items.at(1); // slot order
    BOOST_TEST(p.at("pid").text == "102");
    BOOST_TEST(p.at("state").text == "busy");
    BOOST_TEST(p.at("requests").text == "41");
    BOOST_TEST(p.at("endpoint").text == "customAction");
    BOOST_TEST(p.at("action").text == "limited");
    BOOST_TEST(std::stoll(p.at("requestAgeMs").text) >= 1500);
    BOOST_TEST(processes->items.at(2).at("state").text == "idle");
    BOOST_TEST(processes->items.at(2).at("generation").text == "2");
    BOOST_TEST(processes->items.at(2).get("requestAgeMs") == nullptr);
    BOOST_TEST(j.at("workers").at("idle").text == "1");
    BOOST_TEST(j.at("workers").at("busy").text == "2");

    const Json* responses = j.get("responses");
    BOOST_TEST_REQUIRE(responses != nullptr);
    BOOST_TEST(responses->members.size() == 2u);
    BOOST_TEST(responses->at("200").text == "3");
    BOOST_TEST(responses->at("404").text == "1");

    const Json* actions = j.get("actions");
    BOOST_TEST_REQUIRE(actions != nullptr);
    BOOST_TEST_REQUIRE(actions->items.size() == 3u);
    const std::string names[] = {"limited", "free", "fail"};
    for (std::size_t i = 0; i < 3; ++i)
        BOOST_TEST(actions->items.at(i).at("name").text == names[i]);
    const Json& limited = actions->items.at(0);
    BOOST_TEST(limited.at("calls").text == "1");
    BOOST_TEST(limited.at("running").text == "1");
    BOOST_TEST(limited.at("maxConcurrent").text == "1");
    BOOST_TEST(actions->items.at(1).at("running").text == "0");
}

BOOST_AUTO_TEST_SUITE_END()
