// OAuth2 end to end, through nginx and its basic-auth login: the provisioning flow as Workfront
// runs it (spec §4.2, §8 tests 1 and 10), the consent page in a real browser, what never reaches
// a log, --list-grants and --revoke, and OAuth2 beside (or instead of) API keys. The attacks
// are in oauth2_attacks_test.cpp.
#include "support/chromium.hpp"
#include "support/json_check.hpp"
#include "support/oauth2.hpp"
#include "support/process.hpp"
#include "support/stack.hpp"

#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <future>
#include <map>
#include <netinet/in.h>
#include <poll.h>
#include <regex>
#include <set>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace wftest;

namespace {

constexpr const char* kNoop = "/wf/customAction?name=noop&documentId=1";

// Workfront's Redirect URI, played by a listener on loopback: it records the first request a
// browser sends it and answers with a small page.
class Callback {
public:
    Callback() {
        fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            listen(fd_, 16) != 0 || getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
            throw std::runtime_error("cannot listen for the callback");
        port_ = ntohs(a.sin_port);
    }
    ~Callback() {
        for (const auto& [fd, data] : conns_)
            close(fd);
        close(fd_);
    }
    unsigned short port() const { return port_; }
    // Accepts and reads what is there; true once a whole request head has arrived (request).
    bool arrived() {
        for (int c; (c = accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;)
            conns_[c];
        char buf[4096];
        for (auto& [fd, data] : conns_) {
            for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;)
                data.append(buf, static_cast<std::size_t>(n));
            if (data.find("\r\n\r\n") == std::string::npos) continue;
            request = data;
            const std::string reply = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                                      "Content-Length: 17\r\nConnection: close\r\n\r\n"
                                      "<p>connected</p>\n";
            if (send(fd, reply.data(), reply.size(), MSG_NOSIGNAL) < 0) {
                // The browser is told nothing more; the request is what counts.
            }
            return true;
        }
        return false;
    }
    std::string request;

private:
    int fd_ = -1;
    unsigned short port_ = 0;
    std::map<int, std::string> conns_;
};

// Sends rounds of concurrent calls with `token` until each of the two workers has logged one
// (after log offset `from`). Empty when that happened and every call answered `status`; else
// what went wrong.
std::string both_workers_answer(OAuth2Stack& t, const std::string& token, int status,
                                std::size_t from) {
    const std::vector<pid_t> workers = t.s.wfhookd.workers();
    if (workers.size() != 2) return "not 2 workers";
    std::map<int, int> answers;
    const bool both = wait_until(
        [&] {
            std::vector<std::future<int>> calls;
            for (int i = 0; i < 8; ++i)
                calls.push_back(
                    std::async(std::launch::async, [&] { return t.call(kNoop, token).status; }));
            for (auto& c : calls)
                ++answers[c.get()];
            const std::string log = t.s.wfhookd.log().substr(from);
            for (const pid_t w : workers)
                if (!std::regex_search(log, std::regex("wfhookd\\[" + std::to_string(w) +
                                                       "\\][^\n]*endpoint=customAction "
                                                       "(action=noop )?status=" +
                                                       std::to_string(status) + " ")))
                    return false;
            return true;
        },
        20s, 1ms);
    std::string problem;
    for (const auto& [s, n] : answers)
        if (s != status) problem += std::to_string(n) + " answers " + std::to_string(s) + "; ";
    if (!both)
        problem += "not both workers " + std::to_string(workers[0]) + " and " +
                   std::to_string(workers[1]) + " answered";
    return problem;
}

} // namespace

BOOST_AUTO_TEST_SUITE(oauth2)

BOOST_AUTO_TEST_CASE(provisioning_as_workfront_runs_it) {
    TempDir out;
    OAuth2Options o;
    o.oauth2 = "access_token_ttl = 4s\n";
    o.wfhookd.store = true;
    o.wfhookd.actions = exec_action("record", "record.sh", out.path());
    OAuth2Stack t(o);
    t.s.dir.write("store/report.txt", "x", 0644);
    const std::string odd_user = "o'neil <&> \"x\"";
    t.add_user(odd_user, random_word(12));

    // Workfront sends the browser to the Authentication URL with a state: nginx asks for a login.
    const std::string state = "wf:8f3a/\"q\" <b>&amp; é+1";
    const std::string query = "state=" + url_encode(state);
    const HttpResponse anonymous = t.authorize_get("", query);
    BOOST_TEST(anonymous.status == 401);
    BOOST_TEST(anonymous.header("www-authenticate") == "Basic realm=\"wfhookd\"");
    const HttpResponse wrong = t.s.get("/wf/oauth2/authorize?" + query,
                                       {{"Authorization", basic_auth("ann", "not-the-password")}});
    BOOST_TEST(wrong.status == 401);

    // The consent page: who is signed in and what Workfront may do, nothing unescaped.
    const HttpResponse page = t.authorize_get("ann", query);
    BOOST_TEST_REQUIRE(page.status == 200, page.body);
    BOOST_TEST(page.header("content-type") == "text/html; charset=utf-8");
    BOOST_TEST(page.header("cache-control") == "no-store");
    BOOST_TEST(page.header("content-security-policy") ==
               "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' "
               "https://wf.example.com; base-uri 'none'; frame-ancestors 'none'");
    BOOST_TEST(page.header("referrer-policy") == "same-origin");
    BOOST_TEST(page.header("x-frame-options") == "DENY");
    BOOST_TEST(page.body.find("<span class=\"who\" id=\"user\">ann</span>") != std::string::npos);
    BOOST_TEST(page.body.find("name=\"state\" value=\"wf:8f3a/&quot;q&quot; &lt;b&gt;&amp;amp; "
                              "é+1\"") != std::string::npos,
               page.body);
    BOOST_TEST(page.body.find("<b>") == std::string::npos);
    BOOST_TEST(page.body.find("browse, search and download the documents") != std::string::npos);
    BOOST_TEST(page.body.find("run the action <q>record</q>") != std::string::npos);
    const HttpResponse odd = t.authorize_get(odd_user, query);
    BOOST_TEST_REQUIRE(odd.status == 200, odd.body);
    BOOST_TEST(odd.body.find("<span class=\"who\" id=\"user\">o&#39;neil &lt;&amp;&gt; "
                             "&quot;x&quot;</span>") != std::string::npos,
               odd.body);

    // Allow: back to the Redirect URI, with the code and exactly the state Workfront sent.
    const ConsentForm form = OAuth2Stack::form_of(page);
    // The form posts back here (its action resolved as a browser does against this page).
    BOOST_TEST((form.action.starts_with("/") ? form.action : "/wf/oauth2/" + form.action) ==
               "/wf/oauth2/authorize");
    BOOST_TEST(form.state == state);
    const HttpResponse allowed =
        t.authorize_post("ann", OAuth2Stack::form_body(form), {{"Origin", t.origin()}});
    BOOST_TEST_REQUIRE(allowed.status == 302, allowed.body);
    BOOST_TEST(allowed.header("cache-control") == "no-store");
    BOOST_TEST(allowed.header("referrer-policy") == "no-referrer");
    const std::string location = allowed.header("location");
    const auto [code, returned] = t.parse_location(location);
    BOOST_TEST(returned == state);
    BOOST_TEST(location == kRedirectUri + "&code=" + code + "&state=" + url_encode(state));
    BOOST_TEST(t.s.wfhookd.wait_log("oauth2: ann allowed Workfront to act as them"));

    // Workfront trades the code at the token endpoint.
    const HttpResponse issued =
        t.token("grant_type=authorization_code&code=" + url_encode(code) +
                "&redirect_uri=" + url_encode(kRedirectUri) + "&" + t.client_params());
    BOOST_TEST(issued.header("content-type") == "application/json; charset=utf-8");
    BOOST_TEST(issued.header("cache-control") == "no-store");
    BOOST_TEST(issued.header("pragma") == "no-cache");
    const Tokens tokens = OAuth2Stack::parse_tokens(issued);
    BOOST_TEST(tokens.expires_in == 4);
    BOOST_TEST(tokens.access.size() == 43u);
    BOOST_TEST(tokens.refresh.size() == 43u);
    BOOST_TEST(tokens.access != tokens.refresh);

    // Every call carries the bearer token; the token says who, whatever username says.
    const HttpResponse files = t.call("/wf/files", tokens.access);
    BOOST_TEST_REQUIRE(files.status == 200, files.body);
    BOOST_TEST(files.body.find("\"title\":\"report.txt\"") != std::string::npos, files.body);
    BOOST_TEST(t.s.wfhookd.wait_log("endpoint=files status=200 user=ann "), t.s.wfhookd.log());
    const HttpResponse action = t.call("/wf/customAction?name=record&documentId=d1", tokens.access,
                                       {{"username", "mallory@example.com"}});
    BOOST_TEST_REQUIRE(action.status == 200, action.body);
    BOOST_TEST_REQUIRE(wait_until([&] { return file_exists(out.file("done")); }));
    BOOST_TEST(read_file(out.file("WF_USERNAME")) == "ann");
    BOOST_TEST(t.s.wfhookd.wait_log("endpoint=customAction action=record status=200 user=ann "));
    const HttpResponse folder = t.s.request(
        "POST", "/wf/createFolder?name=Inbox",
        {{"Authorization", "Bearer " + tokens.access}, {"username", "mallory@example.com"}});
    BOOST_TEST(folder.status == 200, folder.body);
    const std::string audit = read_file(t.s.wfhookd.audit_file());
    BOOST_TEST(audit.find("\"user\":\"ann\"") != std::string::npos, audit);
    BOOST_TEST(audit.find("mallory") == std::string::npos, audit);

    // The access token expires: 403, which makes Workfront refresh (spec §7, §12 item 19).
    BOOST_TEST_REQUIRE(
        wait_until([&] { return t.call("/wf/files", tokens.access).status == 403; }, 10s, 50ms));
    BOOST_TEST(t.call("/wf/files", tokens.access).body == kInvalidToken);
    // The refresh, this time with the client's credentials in Basic.
    const Tokens renewed = OAuth2Stack::parse_tokens(
        t.token("grant_type=refresh_token&refresh_token=" + url_encode(tokens.refresh),
                {{"Authorization", t.client_basic()}}));
    BOOST_TEST(renewed.access != tokens.access);
    BOOST_TEST(renewed.refresh != tokens.refresh);
    const HttpResponse again = t.call("/wf/files", renewed.access);
    BOOST_TEST(again.status == 200, again.body);
    BOOST_TEST(t.call("/wf/files", tokens.access).status == 403);
    // The old refresh token is spent.
    const HttpResponse spent =
        t.token("grant_type=refresh_token&refresh_token=" + url_encode(tokens.refresh) + "&" +
                t.client_params());
    BOOST_TEST(spent.status == 400);
    BOOST_TEST(parse_json(spent.body).at("error").text == "invalid_grant");
    BOOST_TEST(t.healthy());
}

BOOST_AUTO_TEST_CASE(the_consent_page_in_a_real_browser) {
    // Workfront's side is a listener; the browser logs in with the credentials in the URL.
    Callback callback;
    TempDir web;
    OAuth2Options o;
    o.redirect_uri = "http://localhost:" + std::to_string(callback.port()) + "/cb?tenant=acme";
    // A page of the consent page's origin behind the same login, which opens the consent page
    // as Workfront's popup does and clicks Allow in it, as a person would.
    o.nginx.locations = "include snippets/wfhookd-locations.conf;\n"
                        "location = /helper.html {\n auth_basic \"wfhookd\";\n"
                        " auth_basic_user_file $wfhookd_htpasswd;\n root " +
                        web.path() + ";\n}\n";
    OAuth2Stack t(o);
    // Over TLS, as in production (the test certificate is self-signed).
    const std::string origin = "https://127.0.0.1:" + std::to_string(t.s.nginx.https_port());
    const std::string site = "https://ann:" + t.password("ann") + "@" + origin.substr(8);
    const std::string state = "s \"1\" <b>&é";
    const std::string authorize = "/wf/oauth2/authorize?state=" + url_encode(state);
    Browser browser(t.s.dir);

    const std::string dom = browser.run({"--dump-dom", site + authorize}, "dom");
    BOOST_TEST(dom.find("<h1>Connect Workfront to Test Corp</h1>") != std::string::npos, dom);
    BOOST_TEST(dom.find("<span class=\"who\" id=\"user\">ann</span>") != std::string::npos);
    BOOST_TEST(std::regex_search(
        dom, std::regex("<form method=\"post\" action=\"(/wf/oauth2/)?authorize\">")));
    BOOST_TEST(std::regex_search(dom, std::regex("name=\"state\" value=\"s &quot;1&quot; "
                                                 "(<|&lt;)b(>|&gt;)&amp;é\"")),
               dom);
    BOOST_TEST(dom.find("<b>&amp;") == std::string::npos); // not an element
    BOOST_TEST(dom.find("id=\"allow\">Allow</button>") != std::string::npos);
    BOOST_TEST(dom.find("id=\"deny\">Deny</button>") != std::string::npos);
    BOOST_TEST(dom.find("<script") == std::string::npos);

    const std::string png = t.s.dir.file("consent.png");
    browser.run({"--screenshot=" + png, "--window-size=800,600", site + authorize}, "shot");
    struct stat st {};
    BOOST_TEST(stat(png.c_str(), &st) == 0);
    BOOST_TEST(st.st_size > 1000);
    BOOST_TEST(read_file(png).substr(1, 3) == "PNG");

    // Allow, clicked in the browser: its POST, the redirect CSP form-action must allow, and the
    // request that reaches Workfront.
    web.write("helper.html",
              R"(<!DOCTYPE html><html><body><p id="out">waiting</p><script>
const out = document.getElementById('out');
const w = window.open(')" +
                  authorize + R"(', 'consent');
let tries = 0;
function step() {
  try {
    const b = w.document.getElementById('allow');
    if (b && w.document.readyState === 'complete') { b.click(); out.textContent = 'clicked'; return; }
  } catch (e) { out.textContent = 'error ' + e; return; }
  if (++tries < 400) setTimeout(step, 50);
}
step();
</script></body></html>
)",
              0644);
    const std::string netlog = t.s.dir.file("netlog.json");
    Process clicking(browser.argv({"--disable-popup-blocking", "--log-net-log=" + netlog,
                                   site + "/helper.html"}),
                     t.s.dir.file("click.log"));
    BOOST_TEST_REQUIRE(wait_until([&] { return callback.arrived(); }, 60s, 20ms),
                       read_file(t.s.dir.file("click.log")) << t.s.wfhookd.log());
    const std::string& request = callback.request;
    const std::string line = request.substr(0, request.find("\r\n"));
    BOOST_TEST_REQUIRE((line.starts_with("GET ") && line.ends_with(" HTTP/1.1")), line);
    const auto [code, returned] = t.parse_location(
        "http://localhost:" + std::to_string(callback.port()) + line.substr(4, line.size() - 13));
    BOOST_TEST(returned == state);
    // The 302 said no-referrer: Workfront does not learn the consent page's address.
    BOOST_TEST(request.find("\nReferer:") == std::string::npos, request);
    // The form's POST carried the page's own Origin (Referrer-Policy same-origin), and the
    // daemon accepted it. (The net log is read while Chromium runs: it rewrites it on exit.)
    BOOST_TEST(wait_until(
        [&] { return read_file(netlog).find("\"Origin: " + origin + "\"") != std::string::npos; },
        10s, 50ms));
    clicking.stop(SIGTERM);
    const Tokens tokens = t.exchange(code);
    BOOST_TEST(t.works(tokens.access));
    BOOST_TEST(t.s.wfhookd.log_count("oauth2: ann allowed Workfront to act as them") == 1);
}

BOOST_AUTO_TEST_CASE(no_token_code_or_secret_in_logs_answers_status_or_an_actions_environment) {
    TempDir out;
    OAuth2Options o;
    o.wfhookd.server = "status = yes\n";
    o.wfhookd.actions = exec_action("env", "environ.sh", out.path());
    OAuth2Stack t(o);
    const std::string wrong_password = random_word(14);
    std::vector<std::string> secrets = {t.s.wfhookd.client_secret(), t.password("ann"),
                                        t.password("bob"), wrong_password};
    std::vector<HttpResponse> answers; // every answer that must not carry any of them
    const auto keep = [&](const HttpResponse& r) {
        answers.push_back(r);
        return r;
    };

    // A provisioning (client credentials in Basic), calls, an action, a refresh.
    const ConsentForm form = t.consent("ann", "s1");
    secrets.push_back(form.csrf);
    const std::string code1 = t.code("ann", "s1");
    const Tokens a = OAuth2Stack::parse_tokens(t.token(
        "grant_type=authorization_code&code=" + code1, {{"Authorization", t.client_basic()}}));
    BOOST_TEST(keep(t.call("/wf/customAction?name=env&documentId=7", a.access)).status == 200);
    BOOST_TEST_REQUIRE(wait_until([&] { return file_exists(out.file("done")); }));
    BOOST_TEST(keep(t.call(kNoop, a.access)).status == 200);
    const Tokens b = t.refresh(a.refresh);
    // Everything that fails, with a real secret, code or token in the request.
    BOOST_TEST(keep(t.call(kNoop, a.access)).status == 403); // replaced by the refresh
    BOOST_TEST(keep(t.call(kNoop, b.access + "x")).status == 403);
    BOOST_TEST(keep(t.s.get(kNoop, {{"Authorization", "Token " + b.access}})).status == 403);
    BOOST_TEST(keep(t.s.get(kNoop, {{"apiKey", b.access}, {"username", "ann"}})).status == 403);
    const std::string code2 = t.code("ann", "s2");
    const std::string secret = t.s.wfhookd.client_secret();
    const std::string bad_secret = secret.substr(0, secret.size() - 1) + "x";
    BOOST_TEST(keep(t.token("grant_type=authorization_code&code=" + code2 +
                            "&client_id=workfront&client_secret=" + bad_secret))
                   .status == 401);
    BOOST_TEST(keep(t.token("grant_type=authorization_code&code=" + code2,
                            {{"Authorization", basic_auth("workfront", bad_secret)}}))
                   .status == 401);
    const Tokens c = t.exchange(code2);
    BOOST_TEST(
        keep(t.token("grant_type=authorization_code&code=" + code2 + "&" + t.client_params()))
            .status == 400); // the code again: grant c revoked
    BOOST_TEST(keep(t.call(kNoop, c.access)).status == 403);
    BOOST_TEST(keep(t.token("grant_type=refresh_token&refresh_token=" + a.refresh + "&" +
                            t.client_params()))
                   .status == 400); // a spent refresh token: grant a revoked
    BOOST_TEST(keep(t.call(kNoop, b.access)).status == 403);
    BOOST_TEST(
        keep(t.token("grant_type=password&code=" + code1 + "&" + t.client_params())).status == 400);
    BOOST_TEST(keep(t.authorize_post("ann", "state=s1&expires=" + form.expires +
                                                "&csrf=" + form.csrf + "x&decision=allow"))
                   .status == 403);
    BOOST_TEST(keep(t.s.get("/wf/oauth2/authorize?state=s3",
                            {{"Authorization", basic_auth("ann", wrong_password)}}))
                   .status == 401);
    const HttpResponse status = keep(t.s.get("/wf/status"));
    BOOST_TEST(status.status == 200);
    for (const std::string& x :
         {code1, code2, a.access, a.refresh, b.access, b.refresh, c.access, c.refresh})
        secrets.push_back(x);

    // The logs have lines about all of that (so that their silence below means something).
    const std::string log = t.s.wfhookd.log();
    for (const char* line :
         {"endpoint=token status=200", "endpoint=token status=401", "endpoint=token status=400",
          "endpoint=customAction status=403", "endpoint=authorize status=302",
          "endpoint=authorize status=403", "endpoint=customAction action=env status=200"})
        BOOST_TEST(log.find(line) != std::string::npos, line);
    BOOST_TEST(wait_until(
        [&] { return t.s.nginx.error_log().find("password mismatch") != std::string::npos; }));
    const std::string environ = read_file(out.file("environ"));
    BOOST_TEST(environ.find("WF_USERNAME=ann\n") != std::string::npos, environ);

    const std::map<std::string, std::string> places = {
        {"wfhookd's log", log},
        {"nginx's error log", t.s.nginx.error_log()},
        {"nginx's access log", read_file(t.s.dir.file("nginx/access.log"))},
        {"/status", status.body},
        {"the action's environment", environ},
    };
    for (const std::string& secret_value : secrets) {
        // The whole value, and its first and last 12 characters (a value cut short).
        for (const std::string& x : {secret_value, secret_value.substr(0, 12),
                                     secret_value.substr(secret_value.size() - 12)}) {
            for (const auto& [where, text] : places)
                BOOST_TEST(text.find(x) == std::string::npos, x << " in " << where);
            for (const HttpResponse& r : answers) {
                BOOST_TEST(r.body.find(x) == std::string::npos, x << " in " << r.body);
                for (const auto& [name, value] : r.headers)
                    BOOST_TEST(value.find(x) == std::string::npos, x << " in " << name);
            }
        }
    }
    BOOST_TEST(environ.find("Bearer") == std::string::npos);
    BOOST_TEST(environ.find("AUTHORIZATION") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(list_grants_and_revoke_cut_a_user_off_at_once_in_every_worker) {
    OAuth2Options o;
    o.wfhookd.server = "workers = 2\n";
    OAuth2Stack t(o);
    BOOST_TEST(t.list_grants().ends_with("\n0 grants\n"));
    const Tokens ann = t.exchange(t.code("ann"));
    const Tokens bob = t.exchange(t.code("bob"));
    const std::string pending = t.code("ann", "in flight"); // consented, not yet traded
    const std::string grants = t.list_grants();
    const std::string date = "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z";
    BOOST_TEST(std::regex_search(grants, std::regex("\nann +" + date + " +" + date + " +" + date +
                                                    " +workfront\n")),
               grants);
    BOOST_TEST(std::regex_search(grants, std::regex("\nbob +" + date + " +")), grants);
    BOOST_TEST(std::regex_search(grants, std::regex("\nann +" + date + " +" + date +
                                                    " +\\(not yet used\\) +workfront\n")),
               grants);
    BOOST_TEST(grants.ends_with("\n3 grants\n"), grants);

    // Both workers take ann's token...
    const std::string before_revoke = both_workers_answer(t, ann.access, 200, 0);
    BOOST_TEST_REQUIRE(before_revoke.empty(), before_revoke << "\n" << t.s.wfhookd.log());
    const std::size_t before = t.s.wfhookd.log().size();
    BOOST_TEST(t.cli({"--revoke", "ann"}) == "revoked 2 grants of ann\n");
    // ...and refuse it from the very next request on, both of them.
    const HttpResponse next = t.call(kNoop, ann.access);
    BOOST_TEST(next.status == 403);
    BOOST_TEST(next.body == kInvalidToken);
    const std::string after_revoke = both_workers_answer(t, ann.access, 403, before);
    BOOST_TEST(after_revoke.empty(), after_revoke << "\n" << t.s.wfhookd.log().substr(before));
    const HttpResponse refresh =
        t.token("grant_type=refresh_token&refresh_token=" + ann.refresh + "&" + t.client_params());
    BOOST_TEST(refresh.status == 400);
    BOOST_TEST(parse_json(refresh.body).at("error").text == "invalid_grant");
    const HttpResponse late =
        t.token("grant_type=authorization_code&code=" + pending + "&" + t.client_params());
    BOOST_TEST(late.status == 400);
    BOOST_TEST(parse_json(late.body).at("error").text == "invalid_grant");
    // Only ann.
    BOOST_TEST(t.works(bob.access));
    const std::string after = t.list_grants();
    BOOST_TEST(after.find("\nann ") == std::string::npos, after);
    BOOST_TEST(after.find("\nbob ") != std::string::npos, after);
    BOOST_TEST(after.ends_with("\n1 grant\n"), after);
    BOOST_TEST(t.cli({"--revoke", "nobody"}) == "revoked 0 grants of nobody\n");
    // ann can connect again.
    BOOST_TEST(t.works(t.exchange(t.code("ann")).access));
}

BOOST_AUTO_TEST_CASE(oauth2_alone_refuses_api_keys) {
    OAuth2Options o;
    o.wfhookd.api_keys = false;
    OAuth2Stack t(o);
    BOOST_TEST_REQUIRE(t.s.wfhookd.config_text().find("api_key_file") == std::string::npos);
    const HttpResponse key = t.s.get(kNoop, t.s.auth()); // a key, but none is configured
    BOOST_TEST(key.status == 403);
    BOOST_TEST(key.body == R"({"status":"error","error":"invalid apiKey"})");
    BOOST_TEST(t.s.wfhookd.wait_log("no API key is accepted: no [auth] api_key_file: OAuth2 "
                                    "bearer tokens only"));
    const HttpResponse none = t.s.get(kNoop);
    BOOST_TEST(none.status == 403);
    BOOST_TEST(none.body == R"({"status":"error","error":"missing apiKey header"})");
    BOOST_TEST(t.works(t.exchange(t.code("ann")).access));
}

BOOST_AUTO_TEST_CASE(api_keys_and_oauth2_side_by_side) {
    OAuth2Options o;
    o.wfhookd.auth = "users = carol ann\n"; // applies to both ways in
    OAuth2Stack t(o);
    BOOST_TEST(t.s.get(kNoop, t.s.auth("carol")).status == 200);
    BOOST_TEST(t.s.wfhookd.wait_log("endpoint=customAction action=noop status=200 user=carol "));
    BOOST_TEST(t.s.get(kNoop, {{"apiKey", "wrong"}, {"username", "carol"}}).status == 403);
    const Tokens ann = t.exchange(t.code("ann"));
    BOOST_TEST(t.works(ann.access));
    BOOST_TEST(t.s.wfhookd.wait_log("endpoint=customAction action=noop status=200 user=ann "));
    BOOST_TEST(t.call(kNoop, ann.access + "A").body == kInvalidToken);
    // bob may log in and connect, but [auth] users does not name him.
    const HttpResponse bob = t.call(kNoop, t.exchange(t.code("bob")).access);
    BOOST_TEST(bob.status == 403);
    BOOST_TEST(bob.body ==
               R"({"status":"error","error":"username is not allowed to use this service"})");
}

BOOST_AUTO_TEST_SUITE_END()
