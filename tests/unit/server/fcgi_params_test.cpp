#include "server/fcgi_params.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace bdata = boost::unit_test::data;
using wfhookd::ParamReader;
using wfhookd::Request;

namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

// An envp as libfcgi hands it over: "NAME=value" strings and a null.
struct Env {
    explicit Env(const Pairs& pairs) {
        for (const auto& [k, v] : pairs)
            strings.push_back(k + "=" + v);
        for (const std::string& s : strings)
            ptrs.push_back(s.c_str());
        ptrs.push_back(nullptr);
    }
    std::vector<std::string> strings;
    std::vector<const char*> ptrs;
};

// The request views the environment (and the reader's path buffer): both live as long as it.
struct Read {
    explicit Read(const Pairs& pairs) : env(pairs) {}
    Env env;
    Request req;
    std::string conflict;
};

std::unique_ptr<Read> read_ptr(const Pairs& pairs, ParamReader& reader) {
    auto r = std::make_unique<Read>(pairs);
    std::string_view conflict;
    reader.read(r->env.ptrs.data(), r->req, conflict);
    r->conflict = conflict;
    return r;
}

const Read& read(const Pairs& pairs, ParamReader& reader) {
    static std::vector<std::unique_ptr<Read>> kept; // alive until the test process ends
    kept.push_back(read_ptr(pairs, reader));
    return *kept.back();
}

const Read& read(const Pairs& pairs) {
    // A reader per read: a composed path lives in its reader.
    static std::vector<std::unique_ptr<ParamReader>> readers;
    readers.push_back(std::make_unique<ParamReader>());
    return read(pairs, *readers.back());
}

struct PathCase {
    std::string name;
    Pairs params;
    std::string path;
};

std::ostream& operator<<(std::ostream& os, const PathCase& c) {
    return os << c.name;
}

// What each web server really sends (docs/deployment.md, "Other web servers").
const PathCase kPaths[] = {
    {"nginx: DOCUMENT_URI",
     {{"DOCUMENT_URI", "/wf/customAction"},
      {"SCRIPT_NAME", "/wf/customAction"},
      {"REQUEST_URI", "/wf/customAction?name=a"}},
     "/wf/customAction"},
    {"lighttpd: SCRIPT_NAME + PATH_INFO",
     {{"SCRIPT_NAME", "/wf"},
      {"PATH_INFO", "/customAction"},
      {"REQUEST_URI", "/wf/customAction?x"}},
     "/wf/customAction"},
    {"Caddy: empty DOCUMENT_URI and SCRIPT_NAME, the path in PATH_INFO",
     {{"DOCUMENT_URI", ""}, {"SCRIPT_NAME", ""}, {"PATH_INFO", "/wf/customAction"}},
     "/wf/customAction"},
    {"Apache: the whole path in SCRIPT_NAME",
     {{"SCRIPT_NAME", "/wf/customAction"}},
     "/wf/customAction"},
    {"cgi-fcgi: a bare SCRIPT_NAME", {{"SCRIPT_NAME", "/serviceInfo"}}, "/serviceInfo"},
    {"REQUEST_URI, decoded, without its query",
     {{"REQUEST_URI", "/wf/service%49nfo?name=a%20b"}},
     "/wf/serviceInfo"},
    {"REQUEST_URI with an encoded slash",
     {{"REQUEST_URI", "/wf%2FserviceInfo"}},
     "/wf/serviceInfo"},
    {"REQUEST_URI with a malformed escape kept as is",
     {{"REQUEST_URI", "/wf/%zz/a%4"}},
     "/wf/%zz/a%4"},
    {"empty DOCUMENT_URI falls through to REQUEST_URI",
     {{"DOCUMENT_URI", ""}, {"REQUEST_URI", "/d/serviceInfo"}},
     "/d/serviceInfo"},
    {"nothing at all", {{"REQUEST_METHOD", "GET"}}, ""},
};

struct DuplicateCase {
    std::string name;
    Pairs params;
    std::string malformed;
    std::string conflict;
};

std::ostream& operator<<(std::ostream& os, const DuplicateCase& c) {
    return os << c.name;
}

const std::string kTwice = "a request header was sent twice with different values";

const DuplicateCase kDuplicates[] = {
    {"nginx: include fastcgi_params, then SCRIPT_NAME again, same value",
     {{"SCRIPT_NAME", "/wf/x"}, {"SCRIPT_NAME", "/wf/x"}},
     "",
     ""},
    {"same apiKey twice", {{"HTTP_APIKEY", "k"}, {"HTTP_APIKEY", "k"}}, "", ""},
    {"two different apiKeys", {{"HTTP_APIKEY", "a"}, {"HTTP_APIKEY", "b"}}, kTwice, ""},
    {"two different usernames", {{"HTTP_USERNAME", "a"}, {"HTTP_USERNAME", "b"}}, kTwice, ""},
    {"two different Authorization headers",
     {{"HTTP_AUTHORIZATION", "Bearer a"}, {"HTTP_AUTHORIZATION", "Bearer b"}},
     kTwice,
     ""},
    {"server parameter with two values: the last wins",
     {{"DOCUMENT_URI", "/a"}, {"DOCUMENT_URI", "/b"}},
     "",
     "DOCUMENT_URI"},
    {"REQUEST_METHOD twice, different",
     {{"REQUEST_METHOD", "GET"}, {"REQUEST_METHOD", "POST"}},
     "",
     "REQUEST_METHOD"},
    {"unrelated headers are not our business", {{"HTTP_X", "a"}, {"HTTP_X", "b"}}, "", ""},
};

} // namespace

BOOST_AUTO_TEST_SUITE(fcgi_params)

BOOST_DATA_TEST_CASE(the_path_comes_from_what_the_server_sends, bdata::make(kPaths), c) {
    const Read& r = read(c.params);
    BOOST_TEST(r.req.path == c.path);
    BOOST_TEST(r.req.malformed.empty());
}

BOOST_DATA_TEST_CASE(repeated_parameters, bdata::make(kDuplicates), c) {
    const Read& r = read(c.params);
    BOOST_TEST(r.req.malformed == c.malformed);
    BOOST_TEST(r.conflict == c.conflict);
}

BOOST_AUTO_TEST_CASE(the_last_server_value_wins_and_is_reported_once) {
    ParamReader reader;
    const Pairs twice = {{"DOCUMENT_URI", "/a/metadata"}, {"DOCUMENT_URI", "/b/serviceInfo"}};
    const Read& first = read(twice, reader);
    BOOST_TEST(first.req.path == "/b/serviceInfo");
    BOOST_TEST(first.conflict == "DOCUMENT_URI");
    const Read& second = read(twice, reader);
    BOOST_TEST(second.req.path == "/b/serviceInfo");
    BOOST_TEST(second.conflict.empty()); // once per worker
}

BOOST_AUTO_TEST_CASE(an_encoded_nul_in_the_path_is_malformed) {
    BOOST_TEST(read({{"REQUEST_URI", "/wf/a%00b/serviceInfo"}}).req.malformed ==
               "the request path contains an encoded NUL byte");
}

BOOST_DATA_TEST_CASE(content_length,
                     bdata::make({"", "-1", "0", "17", "abc", "5x", " 5", "-2"}) ^
                         bdata::make({-1, -1, 0, 17, 0, 0, 0, 0}) ^
                         bdata::make({false, false, false, false, true, true, true, true}),
                     text, length, malformed) {
    const Read& r = read({{"CONTENT_LENGTH", text}});
    BOOST_TEST(r.req.content_length == length);
    BOOST_TEST(!r.req.malformed.empty() == malformed);
}

BOOST_AUTO_TEST_CASE(absent_content_length_is_unknown) {
    BOOST_TEST(read({{"REQUEST_METHOD", "POST"}}).req.content_length == -1);
}

BOOST_AUTO_TEST_CASE(every_field) {
    const Read& r = read({
        {"REQUEST_METHOD", "PUT"},
        {"QUERY_STRING", "id=1"},
        {"HTTP_APIKEY", "k"},
        {"HTTP_USERNAME", "u"},
        {"HTTP_AUTHORIZATION", "Bearer t"},
        {"REMOTE_ADDR", "203.0.113.9"},
        {"REQUEST_ID", "r1"},
        {"CONTENT_TYPE", "application/octet-stream"},
        {"HTTP_HOST", "example.com"},
        {"SERVER_PORT", "8443"},
        {"HTTPS", "on"},
        {"HTTP_IF_NONE_MATCH", "\"e\""},
        {"HTTP_RANGE", "bytes=0-1"},
        {"HTTP_IF_RANGE", "\"e\""},
        {"HTTP_ORIGIN", "https://example.com"},
        {"HTTP_REFERER", "https://example.com/x"},
        {"REMOTE_USER", "alice"},
    });
    const Request& q = r.req;
    BOOST_TEST(q.method == "PUT");
    BOOST_TEST(q.query == "id=1");
    BOOST_TEST(q.api_key == "k");
    BOOST_TEST(q.username == "u");
    BOOST_TEST(q.authorization == "Bearer t");
    BOOST_TEST(q.remote_addr == "203.0.113.9");
    BOOST_TEST(q.request_id == "r1");
    BOOST_TEST(q.content_type == "application/octet-stream");
    BOOST_TEST(q.host == "example.com");
    BOOST_TEST(q.server_port == "8443");
    BOOST_TEST(q.https);
    BOOST_TEST(q.if_none_match == "\"e\"");
    BOOST_TEST(q.range == "bytes=0-1");
    BOOST_TEST(q.if_range == "\"e\"");
    BOOST_TEST(q.origin == "https://example.com");
    BOOST_TEST(q.referer == "https://example.com/x");
    BOOST_TEST(q.remote_user == "alice");
}

BOOST_DATA_TEST_CASE(https_detection,
                     bdata::make({"HTTPS=on", "HTTPS=", "REQUEST_SCHEME=https",
                                  "REQUEST_SCHEME=http"}) ^
                         bdata::make({true, false, true, false}),
                     param, https) {
    const std::string p = param;
    const auto eq = p.find('=');
    BOOST_TEST(read({{p.substr(0, eq), p.substr(eq + 1)}}).req.https == https);
}

BOOST_AUTO_TEST_CASE(the_user_parameter_is_configurable) {
    ParamReader reader("HTTP_X_REMOTE_USER");
    const Read& r = read({{"REMOTE_USER", "mallory"}, {"HTTP_X_REMOTE_USER", "alice"}}, reader);
    BOOST_TEST(r.req.remote_user == "alice");
    // Sent twice with different values, a header is ambiguous whatever it is used for.
    const Read& twice = read({{"HTTP_X_REMOTE_USER", "a"}, {"HTTP_X_REMOTE_USER", "b"}}, reader);
    BOOST_TEST(twice.req.malformed == kTwice);
}

BOOST_AUTO_TEST_SUITE_END()
