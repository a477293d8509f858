// nginx configurations an operator would naturally write in front of wfhookd, instead of the
// shipped snippets: they must just work (issue: "include fastcgi_params;" then SCRIPT_NAME
// again sent a parameter twice, and every request got 400).
#include "support/stack.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <ostream>

using namespace wftest;
namespace bdata = boost::unit_test::data;

namespace {

struct OperatorConfig {
    std::string name;
    std::string locations;
    std::string upstream_extra;
};

std::ostream& operator<<(std::ostream& os, const OperatorConfig& c) {
    return os << c.name;
}

const OperatorConfig kConfigs[] = {
    {"fastcgi_params, then SCRIPT_NAME again",
     "location /wf/ {\n"
     "    include /etc/nginx/fastcgi_params;\n"
     "    fastcgi_param SCRIPT_NAME $fastcgi_script_name;\n"
     "    fastcgi_pass wfhookd;\n"
     "}\n",
     ""},
    {"fastcgi_params before the shipped snippet",
     "location /wf/ {\n"
     "    include /etc/nginx/fastcgi_params;\n"
     "    include snippets/wfhookd-fastcgi.conf;\n"
     "}\n"
     "include snippets/wfhookd-errors.conf;\n",
     ""},
    {"kept connections",
     "location /wf/ {\n"
     "    include /etc/nginx/fastcgi_params;\n"
     "    fastcgi_keep_conn on;\n"
     "    fastcgi_pass wfhookd;\n"
     "}\n",
     "keepalive 8;"},
};

} // namespace

BOOST_AUTO_TEST_SUITE(operator_configs)

BOOST_DATA_TEST_CASE(natural_nginx_configurations_work, bdata::make(kConfigs), c) {
    TempDir dir;
    WfhookdOptions o;
    o.actions = "[action:ping]\ntype = noop\n";
    Wfhookd w(dir, o);
    NginxOptions no;
    no.locations = c.locations;
    no.upstream_extra = c.upstream_extra;
    Nginx nginx(dir, {"unix:" + w.socket_path()}, no);
    w.start();
    const auto get = [&](const std::string& target, const Headers& h = {}) {
        return http_request("127.0.0.1", nginx.http_port(), "GET", target, h);
    };
    const Headers auth = {{"apiKey", w.api_key()}, {"username", "jane@example.com"}};
    for (int i = 0; i < 20; ++i) { // several, so that kept connections get reused
        const HttpResponse info = get("/wf/serviceInfo");
        BOOST_TEST(info.status == 200, info.body);
        const HttpResponse ok = get("/wf/customAction?name=ping&documentId=1", auth);
        BOOST_TEST(ok.status == 200, ok.body);
        BOOST_TEST(ok.body == R"({"status":"success"})");
    }
    BOOST_TEST(get("/wf/customAction?name=ping&documentId=1",
                   {{"apiKey", "wrong-key-0123456789"}, {"username", "jane@example.com"}})
                   .status == 403);
    BOOST_TEST(w.log().find("status=400") == std::string::npos, w.log());
}

// With the client's headers passed as they are (fastcgi_params does not turn them off), a
// header sent twice with different values is ambiguous: which key, which user? 400.
BOOST_AUTO_TEST_CASE(a_header_sent_twice_with_different_values_is_refused) {
    TempDir dir;
    WfhookdOptions o;
    o.actions = "[action:ping]\ntype = noop\n";
    Wfhookd w(dir, o);
    NginxOptions no;
    no.locations = kConfigs[0].locations;
    Nginx nginx(dir, {"unix:" + w.socket_path()}, no);
    w.start();
    const HttpResponse r = http_request("127.0.0.1", nginx.http_port(), "GET",
                                        "/wf/customAction?name=ping&documentId=1",
                                        {{"apiKey", w.api_key()},
                                         {"username", "jane@example.com"},
                                         {"username", "mallory@example.com"}});
    BOOST_TEST(r.status == 400);
    BOOST_TEST(
        r.body ==
        R"({"status":"error","error":"a request header was sent twice with different values"})");
}

BOOST_AUTO_TEST_SUITE_END()
