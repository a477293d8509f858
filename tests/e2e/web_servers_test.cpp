// wfhookd behind every web server it is documented with, each under the base path /wf/ as
// Workfront calls it: nginx (the shipped snippets, as in every other end-to-end test), and
// Apache 2.4, lighttpd 1.4 and Caddy 2 with their examples from examples/web-servers/. One
// behaviour table runs through each; hostile values reach an exec action byte for byte; /status
// answers loopback only; the servers' own errors are JSON; a reload under load loses nothing.
// One wfhookd and one instance of each server serve the whole file.
#include "support/json_check.hpp"
#include "support/load.hpp"
#include "support/stack.hpp"
#include "support/web_servers.hpp"

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <csignal>
#include <cstdio>
#include <ostream>

using namespace wftest;
namespace bdata = boost::unit_test::data;

namespace {

enum class Server { nginx, apache, lighttpd, caddy };
const Server kServers[] = {Server::nginx, Server::apache, Server::lighttpd, Server::caddy};

std::ostream& operator<<(std::ostream& os, Server s) {
    switch (s) {
    case Server::nginx:
        return os << "nginx";
    case Server::apache:
        return os << "apache";
    case Server::lighttpd:
        return os << "lighttpd";
    case Server::caddy:
        return os << "caddy";
    }
    return os;
}

// One wfhookd and the four servers in front of it.
struct Servers {
    TempDir out; // where record.sh writes
    Stack stack; // wfhookd and nginx
    Apache apache;
    Lighttpd lighttpd;
    Caddy caddy;

    Servers()
        : out(), stack(options(0)), apache(stack.dir, stack.wfhookd.socket_path()),
          lighttpd(stack.dir, stack.wfhookd.socket_path()),
          caddy(stack.dir, stack.wfhookd.socket_path()) {}

    // The configuration, with `extra` further actions (reloads add them).
    WfhookdOptions options(int extra) const {
        WfhookdOptions o;
        o.server = "workers = 4\nstatus = yes\n" + web_server_socket_group();
        o.actions = "[action:noop]\ntype = noop\n\n" + exec_action("fail", "fail.sh") +
                    exec_action("record", "record.sh", out.path());
        for (int i = 1; i <= extra; ++i)
            o.actions += "[action:extra" + std::to_string(i) + "]\ntype = noop\n\n";
        return o;
    }

    unsigned short port(Server s) const {
        switch (s) {
        case Server::nginx:
            return stack.nginx.http_port();
        case Server::apache:
            return apache.http_port();
        case Server::lighttpd:
            return lighttpd.http_port();
        case Server::caddy:
            return caddy.http_port();
        }
        return 0;
    }

    std::string error_log(Server s) const {
        return s == Server::nginx      ? stack.nginx.error_log()
               : s == Server::apache   ? apache.error_log()
               : s == Server::lighttpd ? lighttpd.error_log()
                                       : caddy.error_log();
    }

    HttpResponse request(Server s, const std::string& method, const std::string& target,
                         const Headers& headers = {}, const std::string& body = {}) {
        return http_request("127.0.0.1", port(s), method, target, headers, body);
    }
};

Servers& servers() {
    static Servers s;
    return s;
}

enum class Auth { none, good, wrong_key };

Headers headers_for(Auth a) {
    const std::string key = servers().stack.wfhookd.api_key();
    switch (a) {
    case Auth::none:
        return {};
    case Auth::good:
        return {{"apiKey", key}, {"username", "alice@example.com"}};
    case Auth::wrong_key:
        return {{"apiKey", key + "x"}, {"username", "alice@example.com"}};
    }
    return {};
}

// Answers wfhookd gives, whichever server is in front.
struct Case {
    std::string name;
    std::string method;
    std::string target;
    Auth auth;
    int status;
    std::string error;      // substring of the "error" member; empty for success
    std::string allow = {}; // the Allow header, when there must be one
};

std::ostream& operator<<(std::ostream& os, const Case& c) {
    return os << c.name;
}

const Case kCases[] = {
    {"serviceInfo", "GET", "/wf/serviceInfo", Auth::none, 200, ""},
    {"serviceInfo under a deeper base path", "GET", "/wf/api/v1/serviceInfo", Auth::none, 200, ""},
    {"serviceInfo with a doubled slash", "GET", "/wf//serviceInfo", Auth::none, 200, ""},
    {"customAction noop", "GET", "/wf/customAction?name=noop&documentId=123", Auth::good, 200, ""},
    {"customAction under a deeper base path", "GET",
     "/wf/api/v1/customAction?name=noop&documentId=123&documentVersionId=7", Auth::good, 200, ""},
    {"wrong apiKey", "GET", "/wf/customAction?name=noop&documentId=1", Auth::wrong_key, 403,
     "invalid apiKey"},
    {"no apiKey", "GET", "/wf/customAction?name=noop&documentId=1", Auth::none, 403,
     "missing apiKey header"},
    {"repeated documentId", "GET", "/wf/customAction?name=noop&documentId=1&documentId=2",
     Auth::good, 400, "documentId is given more than once"},
    {"unknown action", "GET", "/wf/customAction?name=nope&documentId=1", Auth::good, 404,
     "unknown action \"nope\""},
    {"unknown endpoint", "GET", "/wf/bogus?id=1", Auth::good, 404, "unknown endpoint"},
    {"POST customAction", "POST", "/wf/customAction?name=noop&documentId=1", Auth::good, 405,
     "method POST is not allowed here; use GET", "GET"},
    // The server passes wfhookd's error through instead of one of its own.
    {"action failure", "GET", "/wf/customAction?name=fail&documentId=1", Auth::good, 500,
     "fail failed: archive server refused: quota exceeded"},
};

// Values an exec action must receive exactly (as in actions_test.cpp).
struct Literal {
    std::string name;
    std::string id;
    bool control = false; // has control characters, which lighttpd refuses in any URL
};

std::ostream& operator<<(std::ostream& os, const Literal& l) {
    return os << l.name;
}

const Literal kLiterals[] = {
    {"command substitution", "$(touch /tmp/wfhookd-pwned)"},
    {"backticks", "`id`"},
    {"separators", "a; rm -rf / & b | c && d || e"},
    {"redirections", "> /etc/passwd < /dev/zero 2>&1"},
    {"globs", "* ? [a-z] ~root"},
    {"quotes", "\"double\" 'single' \\back\\slash"},
    {"variables", "$HOME ${PATH} $1 $@"},
    {"newline and tab", "line1\nline2\tcol", true},
    {"unicode", "d\xC3\xA9j\xC3\xA0 vu \xE2\x82\xAC \xF0\x9F\x93\x84 \xE4\xB8\xAD\xE6\x96\x87"},
    {"spaces only inside", "  leading and trailing  "},
    {"plus and percent", "100% + 1"},
    {"percent-encoded text", "%41%zz%"},
};

// Calls the record action with `document_id` (raw, as it goes into the query string) and
// returns the response; what the script saw is in out/WF_DOCUMENT_ID.
HttpResponse record(Server s, const std::string& document_id) {
    Servers& all = servers();
    std::remove(all.out.file("done").c_str());
    std::remove(all.out.file("WF_DOCUMENT_ID").c_str());
    return all.request(s, "GET", "/wf/customAction?name=record&documentId=" + document_id,
                       headers_for(Auth::good));
}

bool service_info_lists(Server s, const std::string& action) {
    return servers()
               .request(s, "GET", "/wf/serviceInfo")
               .body.find("\"name\":\"" + action + "\"") != std::string::npos;
}

int reloads = 0; // of the shared wfhookd, by every test of this file

} // namespace

BOOST_AUTO_TEST_SUITE(web_servers)

BOOST_DATA_TEST_CASE(answers_pass_through_every_server, bdata::make(kServers) * bdata::make(kCases),
                     server, c) {
    const HttpResponse r = servers().request(server, c.method, c.target, headers_for(c.auth));
    BOOST_TEST_REQUIRE(r.ok);
    BOOST_TEST(r.status == c.status);
    BOOST_TEST(r.header("content-type") == "application/json; charset=utf-8");
    BOOST_TEST(r.header("cache-control") == "no-store");
    if (!c.allow.empty()) BOOST_TEST(r.header("allow") == c.allow);
    Json doc;
    std::string err;
    BOOST_TEST_REQUIRE(json_parse(r.body, doc, err), err << " in " << r.body);
    if (c.status == 200 && c.target.find("customAction") != std::string::npos) {
        BOOST_TEST(r.body == R"({"status":"success"})");
    } else if (c.status == 200) {
        BOOST_TEST(doc.at("webhookVersion").text == "1.2");
    } else {
        BOOST_TEST(doc.at("status").text == "error");
        BOOST_TEST(doc.at("error").text.find(c.error) != std::string::npos,
                   "error \"" << doc.at("error").text << "\" lacks \"" << c.error << "\"");
    }
}

BOOST_DATA_TEST_CASE(head_has_the_headers_and_no_body, bdata::make(kServers), server) {
    const std::string raw =
        http_raw("127.0.0.1", servers().port(server),
                 "HEAD /wf/serviceInfo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    const HttpResponse r = parse_http_response(raw);
    BOOST_TEST(r.status == 200, raw);
    BOOST_TEST(r.header("content-type") == "application/json; charset=utf-8", raw);
    BOOST_TEST(raw.substr(raw.find("\r\n\r\n") + 4).empty(), raw);
}

BOOST_DATA_TEST_CASE(document_id_reaches_exec_byte_for_byte,
                     bdata::make(kServers) * bdata::make(kLiterals), server, l) {
    const HttpResponse r = record(server, url_encode(l.id));
    if (server == Server::lighttpd && l.control) {
        // lighttpd refuses encoded control characters in a URL itself (url-ctrls-reject in
        // Debian's lighttpd.conf), before any rule of ours: the action never runs.
        BOOST_TEST(r.status == 400);
        BOOST_TEST(!file_exists(servers().out.file("WF_DOCUMENT_ID")));
    } else {
        BOOST_TEST(r.status == 200, r.body);
        BOOST_TEST(read_file(servers().out.file("WF_DOCUMENT_ID")) == l.id);
    }
    BOOST_TEST(!file_exists("/tmp/wfhookd-pwned"));
}

BOOST_DATA_TEST_CASE(a_malformed_escape, bdata::make(kServers), server) {
    const HttpResponse r = record(server, "%zz");
    if (server == Server::lighttpd) {
        // lighttpd normalizes the query string first (%zz becomes %25zz): the literal text
        // arrives.
        BOOST_TEST(r.status == 200, r.body);
        BOOST_TEST(read_file(servers().out.file("WF_DOCUMENT_ID")) == "%zz");
    } else {
        BOOST_TEST(r.status == 400);
        BOOST_TEST(r.body.find("invalid percent-escape") != std::string::npos, r.body);
        BOOST_TEST(!file_exists(servers().out.file("WF_DOCUMENT_ID")));
    }
}

BOOST_DATA_TEST_CASE(status_answers_loopback_only, bdata::make(kServers), server) {
    Servers& all = servers();
    Wfhookd& w = all.stack.wfhookd;
    const int before = w.log_count("endpoint=status ");
    const HttpResponse local = all.request(server, "GET", "/wf/status");
    BOOST_TEST_REQUIRE(local.status == 200, local.body);
    Json doc;
    std::string err;
    BOOST_TEST_REQUIRE(json_parse(local.body, doc, err), err);
    BOOST_TEST(doc.at("service").text == "wfhookd");
    // (Its log line may follow the answer by a moment.)
    BOOST_TEST_REQUIRE(w.wait_log("endpoint=status ", before + 1));

    // From 127.0.0.2, which wfhookd itself would let in (all of 127/8 is loopback to it): the
    // server's rule must turn it away, whatever spelling of the path ends in /status.
    for (const char* path : {"/wf/status", "/wf/status/", "/wf//status", "/wf/api/v1/status",
                             "/wf/stat%75s", "/wf/x/../status", "/wf/./status"}) {
        const HttpResponse r = parse_http_response(http_raw("127.0.0.1", all.port(server),
                                                            std::string("GET ") + path +
                                                                " HTTP/1.1\r\nHost: localhost\r\n"
                                                                "Connection: close\r\n\r\n",
                                                            10s, "127.0.0.2"));
        BOOST_TEST(r.status == 403, path);
        BOOST_TEST(r.header("content-type") == "application/json; charset=utf-8", path);
        BOOST_TEST(json_error(r.body) == "", path << ": " << r.body);
    }
    BOOST_TEST(w.log_count("endpoint=status ") == before + 1); // none of them reached wfhookd
}

// Apache is not among them: it streams the body to wfhookd, which refuses it from its
// parameters; see the next test.
const Server kBuffering[] = {Server::nginx, Server::lighttpd, Server::caddy};

BOOST_DATA_TEST_CASE(a_body_over_64k_is_refused_in_json, bdata::make(kBuffering), server) {
    const HttpResponse r = servers().request(server, "POST", "/wf/customAction",
                                             headers_for(Auth::good), std::string(70000, 'b'));
    BOOST_TEST(r.status == 413);
    BOOST_TEST(r.header("content-type") == "application/json; charset=utf-8");
    Json doc;
    std::string err;
    BOOST_TEST_REQUIRE(json_parse(r.body, doc, err), err << " in " << r.body);
    BOOST_TEST(doc.at("status").text == "error");
}

BOOST_AUTO_TEST_CASE(behind_apache_a_body_over_64k_is_refused_in_json) {
    // With instances of its own: Apache streams the body, and wfhookd refuses the request from
    // its parameters before the body is in. On a kept connection that must not break the
    // requests that follow (keep_conn_test.cpp), nor anything of the other tests.
    TempDir dir;
    WfhookdOptions o;
    o.server = "workers = 2\n" + web_server_socket_group();
    o.actions = "[action:noop]\ntype = noop\n";
    Wfhookd w(dir, o);
    w.start();
    Apache apache(dir, w.socket_path());
    const Headers auth = {{"apiKey", w.api_key()}, {"username", "alice@example.com"}};
    const HttpResponse refused = http_request("127.0.0.1", apache.http_port(), "POST",
                                              "/wf/customAction", auth, std::string(70000, 'b'));
    BOOST_TEST(refused.status == 413);
    BOOST_TEST(refused.header("content-type") == "application/json; charset=utf-8");
    BOOST_TEST(json_error(refused.body) == "", refused.body);
    // And the requests after it are answered by wfhookd.
    for (int i = 0; i < 10; ++i) {
        const HttpResponse r =
            http_request("127.0.0.1", apache.http_port(), "GET",
                         "/wf/customAction?name=noop&documentId=" + std::to_string(i), auth);
        BOOST_TEST_REQUIRE(r.body == R"({"status":"success"})", i << ": " << r.status << " "
                                                                  << r.body << "\n"
                                                                  << apache.error_log());
    }
    BOOST_TEST(w.wait_log("action=noop status=200", 10)); // each reached wfhookd
}

BOOST_AUTO_TEST_CASE(an_unreachable_service_is_a_json_error_from_each_server) {
    // Each server in front of a socket nobody listens on.
    TempDir dir;
    const std::string nobody = dir.file("nobody.sock");
    Nginx nginx(dir, {"unix:" + nobody});
    Apache apache(dir, nobody);
    Lighttpd lighttpd(dir, nobody);
    Caddy caddy(dir, nobody);
    const std::pair<const char*, unsigned short> fronts[] = {{"nginx", nginx.http_port()},
                                                             {"apache", apache.http_port()},
                                                             {"lighttpd", lighttpd.http_port()},
                                                             {"caddy", caddy.http_port()}};
    for (const auto& [name, port] : fronts) {
        const HttpResponse r = http_request("127.0.0.1", port, "GET", "/wf/serviceInfo");
        BOOST_TEST((r.status == 502 || r.status == 503), name << ": " << r.status);
        BOOST_TEST(r.header("content-type") == "application/json; charset=utf-8", name);
        BOOST_TEST(r.body.find("the service did not answer; try again") != std::string::npos,
                   name << ": " << r.body);
        BOOST_TEST(json_error(r.body) == "", name << ": " << r.body);
    }
}

BOOST_DATA_TEST_CASE(a_reload_under_load_loses_no_request, bdata::make(kServers), server) {
    Servers& all = servers();
    LoadOptions o;
    o.port = all.port(server);
    // Fewer than the workers an action may hold at once (all but one): a 503 "action busy"
    // would be wfhookd's fair share at work, not a request lost.
    o.connections = 2;
    o.paths = {"/wf/customAction?name=noop&documentId=1", "/wf/serviceInfo"};
    o.headers = headers_for(Auth::good);
    Load load(o);
    BOOST_TEST_REQUIRE(wait_until([&] { return load.sent() > 50; }, 20s));
    for (int i = 0; i < 3; ++i) {
        all.stack.wfhookd.write_config(all.options(++reloads));
        all.stack.wfhookd.process().signal(SIGHUP);
        BOOST_TEST_REQUIRE(all.stack.wfhookd.wait_log("reload complete", reloads));
        // The new action is served once the old workers have finished.
        BOOST_TEST(wait_until(
            [&] { return service_info_lists(server, "extra" + std::to_string(reloads)); }));
    }
    const std::uint64_t before = load.sent();
    BOOST_TEST(wait_until([&] { return load.sent() > before + 50; }, 20s));
    const LoadResult r = load.finish();
    BOOST_TEST(r.failed == 0u, r.failed << " of " << r.sent
                                        << " requests failed, first: " << r.first_failure << "\n"
                                        << server << "'s error log:\n"
                                        << all.error_log(server));
}

BOOST_AUTO_TEST_SUITE_END()
