// OAuth2 under attack, through nginx and its login: replayed (and raced), expired and foreign
// codes, wrong client secrets, tokens of the wrong kind, malformed token requests, replayed
// refresh tokens, forged consent forms, attempts to change where the browser is sent (by
// parameters, or by the path the consent form posts to), hostile states, credentials that are
// not a bearer token, a login header on paths the login does not protect, and guessing at the
// token endpoint. Each is answered as specified, and nothing is granted.
#include "support/json_check.hpp"
#include "support/oauth2.hpp"
#include "support/process.hpp"
#include "support/stack.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <csignal>
#include <ctime>
#include <future>

using namespace wftest;

namespace {

constexpr const char* kNoop = "/wf/customAction?name=noop&documentId=1";

// An RFC 6749 §5.2 error answer.
void check_oauth_error(const HttpResponse& r, int status, const std::string& error) {
    BOOST_TEST(r.status == status, r.status << " " << r.body);
    BOOST_TEST(r.header("content-type") == "application/json; charset=utf-8");
    BOOST_TEST(r.header("cache-control") == "no-store");
    const Json j = parse_json(r.body);
    const Json* e = j.get("error");
    const Json* description = j.get("error_description");
    BOOST_TEST((e != nullptr && e->text == error), r.body);
    BOOST_TEST((description != nullptr && !description->text.empty()), r.body);
    BOOST_TEST(j.get("access_token") == nullptr);
    if (status == 401)
        BOOST_TEST(r.header("www-authenticate") == "Basic realm=\"wfhookd\"");
    else
        BOOST_TEST(r.header("www-authenticate").empty());
}

// The consent form's refusal: an HTML page with a status, and no redirection anywhere.
void check_page(const HttpResponse& r, int status, const std::string& title) {
    BOOST_TEST(r.status == status, r.status << " " << r.body);
    BOOST_TEST(r.header("location").empty(), r.header("location"));
    BOOST_TEST(r.header("content-type") == "text/html; charset=utf-8");
    BOOST_TEST(r.body.find("<h1>" + title + "</h1>") != std::string::npos, r.body);
    BOOST_TEST(r.body.find("name=\"csrf\"") == std::string::npos);
}

std::string code_params(const std::string& code) {
    return "grant_type=authorization_code&code=" + url_encode(code);
}

// The reload of a new configuration, once every worker serving runs it: `live` says when.
void reload(OAuth2Stack& t, const OAuth2Options& o, const std::function<bool()>& live) {
    const int before = t.s.wfhookd.log_count("reload complete");
    t.s.wfhookd.write_config(OAuth2Stack::wfhookd_options(o));
    t.s.wfhookd.process().signal(SIGHUP);
    BOOST_TEST_REQUIRE(t.s.wfhookd.wait_log("reload complete", before + 1), t.s.wfhookd.log());
    BOOST_TEST_REQUIRE(wait_until(live, 15s, 20ms));
}

} // namespace

BOOST_AUTO_TEST_SUITE(oauth2_attacks)

BOOST_AUTO_TEST_CASE(a_code_used_twice_revokes_what_it_gave) {
    OAuth2Stack t;
    const std::string code = t.code("ann");
    const Tokens first = t.exchange(code);
    BOOST_TEST_REQUIRE(t.works(first.access));
    check_oauth_error(t.token(code_params(code) + "&" + t.client_params()), 400, "invalid_grant");
    // The code leaked: what it gave is revoked.
    const HttpResponse call = t.call(kNoop, first.access);
    BOOST_TEST(call.status == 403);
    BOOST_TEST(call.body == kInvalidToken);
    check_oauth_error(t.token("grant_type=refresh_token&refresh_token=" + first.refresh + "&" +
                              t.client_params()),
                      400, "invalid_grant");
    check_oauth_error(t.token(code_params(code) + "&" + t.client_params()), 400, "invalid_grant");
    BOOST_TEST(t.list_grants().ends_with("\n0 grants\n"));
    // Another code for the same user is another grant: unaffected.
    BOOST_TEST(t.works(t.exchange(t.code("ann")).access));
}

BOOST_AUTO_TEST_CASE(a_code_raced_by_two_workers_is_traded_at_most_once) {
    OAuth2Options o;
    o.wfhookd.server = "workers = 2\n";
    OAuth2Stack t(o);
    for (int round = 0; round < 5; ++round) {
        const std::string code = t.code("ann", "race" + std::to_string(round));
        std::vector<std::future<HttpResponse>> tries;
        for (int i = 0; i < 2; ++i)
            tries.push_back(std::async(std::launch::async, [&] {
                return t.token(code_params(code) + "&" + t.client_params());
            }));
        std::vector<std::string> granted;
        for (auto& f : tries) {
            const HttpResponse r = f.get();
            if (r.status == 200)
                granted.push_back(parse_json(r.body).at("access_token").text);
            else
                check_oauth_error(r, 400, "invalid_grant");
        }
        BOOST_TEST(granted.size() == 1u);
        // The second try revoked what the first one got.
        for (const std::string& access : granted)
            BOOST_TEST(!t.works(access));
    }
    BOOST_TEST(t.list_grants().ends_with("\n0 grants\n"));
}

BOOST_AUTO_TEST_CASE(a_token_of_one_kind_is_no_good_as_another) {
    OAuth2Stack t;
    const std::string code = t.code("ann");
    // A code is not an access token, nor a refresh token (and trying does not spend it).
    BOOST_TEST(t.call(kNoop, code).body == kInvalidToken);
    check_oauth_error(
        t.token("grant_type=refresh_token&refresh_token=" + code + "&" + t.client_params()), 400,
        "invalid_grant");
    const Tokens tokens = t.exchange(code);
    BOOST_TEST(t.call(kNoop, tokens.refresh).body == kInvalidToken);
    for (const std::string& token : {tokens.access, tokens.refresh})
        check_oauth_error(t.token(code_params(token) + "&" + t.client_params()), 400,
                          "invalid_grant");
    check_oauth_error(t.token("grant_type=refresh_token&refresh_token=" + tokens.access + "&" +
                              t.client_params()),
                      400, "invalid_grant");
    // None of it counted as a replay: the grant stands.
    BOOST_TEST(t.works(tokens.access));
    BOOST_TEST(t.works(t.refresh(tokens.refresh).access));
    check_oauth_error(t.token("grant_type=client_credentials&" + t.client_params()), 400,
                      "unsupported_grant_type");
    check_oauth_error(t.token(t.client_params()), 400, "invalid_request");
}

BOOST_AUTO_TEST_CASE(a_malformed_token_request_is_an_rfc6749_invalid_request) {
    // RFC 6749 §3.2 and §5.2: a repeated parameter is invalid_request, in an error object
    // Workfront's OAuth2 client can read, like every other refusal of this endpoint.
    OAuth2Stack t;
    const std::string code = t.code("ann");
    const std::string valid = code_params(code) + "&" + t.client_params();
    for (const std::string& body : {valid + "&grant_type=refresh_token", valid + "&code=" + code,
                                    valid + "&client_id=workfront", valid + "&redirect_uri=%FF"}) {
        BOOST_TEST_CONTEXT(body) {
            check_oauth_error(t.token(body), 400, "invalid_request");
        }
    }
    // The same parameter in the query and in the body.
    const HttpResponse both =
        t.s.request("POST", "/wf/oauth2/token?grant_type=authorization_code",
                    {{"Content-Type", "application/x-www-form-urlencoded"}}, valid);
    check_oauth_error(both, 400, "invalid_request");
    // Nothing was traded.
    BOOST_TEST(t.works(t.exchange(code).access));
}

BOOST_AUTO_TEST_CASE(an_expired_code_or_refresh_token_is_refused) {
    OAuth2Options o;
    o.oauth2 = "code_ttl = 2s\nrefresh_token_ttl = 2s\n";
    OAuth2Stack t(o);
    const std::string code = t.code("ann");
    const Tokens tokens = t.exchange(t.code("bob"));
    // Both issued before this second ended, so expired two seconds later: wait for the clock
    // (neither can be tried early without spending it).
    const std::time_t issued = std::time(nullptr);
    BOOST_TEST_REQUIRE(wait_until([&] { return std::time(nullptr) >= issued + 3; }, 6s, 10ms));
    check_oauth_error(t.token(code_params(code) + "&" + t.client_params()), 400, "invalid_grant");
    check_oauth_error(t.token("grant_type=refresh_token&refresh_token=" + tokens.refresh + "&" +
                              t.client_params()),
                      400, "invalid_grant");
    BOOST_TEST(t.healthy());
}

BOOST_AUTO_TEST_CASE(a_code_is_good_only_for_its_own_client) {
    OAuth2Stack t;
    const std::string code = t.code("ann");
    // Another client_id, with our secret, by parameters and by Basic: not a client here.
    check_oauth_error(t.token(code_params(code) + "&client_id=intruder&client_secret=" +
                              url_encode(t.s.wfhookd.client_secret())),
                      401, "invalid_client");
    check_oauth_error(
        t.token(code_params(code),
                {{"Authorization", basic_auth("intruder", t.s.wfhookd.client_secret())}}),
        401, "invalid_client");
    // The configuration changes to another client: the code was issued to "workfront", and
    // the new client cannot trade it.
    OAuth2Options other = t.options;
    other.client_id = "other-client";
    const auto answers = [&](const std::string& client, const std::string& error) {
        return [&t, client, error] {
            const HttpResponse r = t.token(code_params("not-a-code") + "&client_id=" + client +
                                           "&client_secret=" + t.s.wfhookd.client_secret());
            return r.body.find("\"error\":\"" + error + "\"") != std::string::npos;
        };
    };
    reload(t, other, answers("other-client", "invalid_grant"));
    check_oauth_error(t.token(code_params(code) + "&client_id=other-client&client_secret=" +
                              t.s.wfhookd.client_secret()),
                      400, "invalid_grant");
    // Back to "workfront": the code was not spent by the attempt.
    reload(t, t.options, answers("workfront", "invalid_grant"));
    BOOST_TEST(t.works(t.exchange(code).access));
}

BOOST_AUTO_TEST_CASE(a_wrong_client_secret_is_401_invalid_client) {
    OAuth2Stack t;
    const std::string code = t.code("ann");
    const std::string secret = t.s.wfhookd.client_secret();
    for (const std::string& wrong :
         {secret.substr(0, secret.size() - 1) + (secret.back() == 'a' ? "b" : "a"),
          secret.substr(0, secret.size() - 1), secret + "a", std::string("x"), std::string()}) {
        check_oauth_error(
            t.token(code_params(code) + "&client_id=workfront&client_secret=" + url_encode(wrong)),
            401, "invalid_client");
        check_oauth_error(
            t.token(code_params(code), {{"Authorization", basic_auth("workfront", wrong)}}), 401,
            "invalid_client");
    }
    // No secret at all, and Authorization headers that are not client credentials.
    check_oauth_error(t.token(code_params(code) + "&client_id=workfront"), 401, "invalid_client");
    check_oauth_error(t.token(code_params(code)), 401, "invalid_client");
    for (const std::string& header :
         {"Basic " + base64("workfront" + secret), std::string("Basic !!!!"), "Bearer " + secret,
          t.login("ann")})
        check_oauth_error(t.token(code_params(code), {{"Authorization", header}}), 401,
                          "invalid_client");
    // Both ways at once is malformed, whatever the secret.
    check_oauth_error(t.token(code_params(code) + "&client_secret=" + url_encode(secret),
                              {{"Authorization", t.client_basic()}}),
                      400, "invalid_request");
    // None of that spent the code.
    BOOST_TEST(t.works(t.exchange(code).access));
}

BOOST_AUTO_TEST_CASE(a_secret_with_any_characters_is_accepted_encoded_either_way) {
    OAuth2Stack t;
    // What `head -c 48 /dev/urandom | base64` makes has + and /; a colon and a % too.
    const std::string secret = "Zm9v+YmFy/YmF6=cXV4:cXV1%41+/WHl6enk=";
    const std::string old = t.s.wfhookd.client_secret();
    t.s.dir.write("wfhookd.client-secret", secret + "\n", 0640);
    reload(t, t.options,
           [&] { return t.token(code_params("none") + "&" + t.client_params()).status == 400; });
    BOOST_TEST_REQUIRE(t.s.wfhookd.client_secret() == secret);
    // By parameters, form-encoded; in Basic, each part form-encoded (RFC 6749 §2.3.1).
    const Tokens tokens = t.exchange(t.code("ann"));
    BOOST_TEST(t.works(tokens.access));
    const HttpResponse basic = t.token("grant_type=refresh_token&refresh_token=" + tokens.refresh,
                                       {{"Authorization", t.client_basic()}});
    BOOST_TEST(t.works(OAuth2Stack::parse_tokens(basic).access));
    // The old secret is no longer one; nor is the new one sent without its encoding.
    check_oauth_error(t.token(code_params(t.code("ann")) +
                              "&client_id=workfront&client_secret=" + url_encode(old)),
                      401, "invalid_client");
    check_oauth_error(
        t.token(code_params(t.code("ann")) + "&client_id=workfront&client_secret=" + secret), 401,
        "invalid_client");
}

BOOST_AUTO_TEST_CASE(a_refresh_token_used_twice_revokes_the_grant) {
    OAuth2Stack t;
    const Tokens first = t.exchange(t.code("ann"));
    const Tokens second = t.refresh(first.refresh);
    BOOST_TEST_REQUIRE(t.works(second.access));
    BOOST_TEST(!t.works(first.access)); // one live access token per grant
    check_oauth_error(t.token("grant_type=refresh_token&refresh_token=" + first.refresh + "&" +
                              t.client_params()),
                      400, "invalid_grant");
    // Someone else holds a copy: the newest tokens stop working too.
    const HttpResponse call = t.call(kNoop, second.access);
    BOOST_TEST(call.status == 403);
    BOOST_TEST(call.body == kInvalidToken);
    check_oauth_error(t.token("grant_type=refresh_token&refresh_token=" + second.refresh + "&" +
                              t.client_params()),
                      400, "invalid_grant");
    BOOST_TEST(t.list_grants().ends_with("\n0 grants\n"));
}

BOOST_AUTO_TEST_CASE(a_consent_post_that_is_not_the_users_own_form_grants_nothing) {
    OAuth2Stack t;
    const ConsentForm ann = t.consent("ann", "st");
    const ConsentForm bob = t.consent("bob", "st");
    const ConsentForm other_state = t.consent("ann", "other");
    const std::string good = OAuth2Stack::form_body(ann);
    const std::string no_csrf = "state=st&expires=" + ann.expires + "&decision=allow";
    std::string flipped = ann.csrf;
    flipped[5] = flipped[5] == 'A' ? 'B' : 'A';
    const Headers origin = {{"Origin", t.origin()}};
    struct Case {
        std::string what, user, body;
        Headers headers;
    };
    const std::string port = std::to_string(t.s.nginx.http_port());
    const Case cases[] = {
        {"no CSRF token", "ann", no_csrf, origin},
        {"an empty CSRF token", "ann", no_csrf + "&csrf=", origin},
        {"a wrong CSRF token", "ann", no_csrf + "&csrf=" + flipped, origin},
        {"bob's form, posted by ann", "ann", OAuth2Stack::form_body(bob), origin},
        {"ann's form, posted by bob", "bob", good, origin},
        {"the token of another state", "ann", no_csrf + "&csrf=" + url_encode(other_state.csrf),
         origin},
        {"a later expiry", "ann",
         "state=st&expires=" + std::to_string(std::stoll(ann.expires) + 1) +
             "&csrf=" + url_encode(ann.csrf) + "&decision=allow",
         origin},
        {"another origin", "ann", good, {{"Origin", "https://evil.example"}}},
        {"Origin: null", "ann", good, {{"Origin", "null"}}},
        {"another scheme", "ann", good, {{"Origin", "https://localhost:" + port}}},
        {"another port", "ann", good, {{"Origin", "http://localhost:1"}}},
        {"a longer host", "ann", good, {{"Origin", t.origin() + ".evil.example"}}},
        {"a Referer elsewhere", "ann", good, {{"Referer", "https://evil.example/wf/"}}},
        {"a Referer on a longer host",
         "ann",
         good,
         {{"Referer", t.origin() + ".evil.example/wf/oauth2/authorize"}}},
        {"a good Referer but another Origin",
         "ann",
         good,
         {{"Origin", "https://evil.example"}, {"Referer", t.origin() + "/wf/oauth2/authorize"}}},
    };
    for (const Case& c : cases) {
        BOOST_TEST_CONTEXT(c.what) {
            check_page(t.authorize_post(c.user, c.body, c.headers), 403, "Not allowed");
        }
    }
    // A GET never grants, whatever it carries.
    const HttpResponse get = t.authorize_get("ann", good);
    BOOST_TEST(get.status == 200);
    BOOST_TEST(get.header("location").empty());
    // Without the login, nginx answers.
    const HttpResponse anonymous = t.authorize_post("", good, origin);
    BOOST_TEST(anonymous.status == 401);
    BOOST_TEST(anonymous.header("location").empty());
    check_page(t.authorize_post("ann", OAuth2Stack::form_body(ann, "maybe"), origin), 400,
               "Invalid request");
    BOOST_TEST(t.list_grants().ends_with("\n0 grants\n"));
    BOOST_TEST(t.s.wfhookd.log_count("allowed Workfront") == 0);

    // Deny sends Workfront the refusal and grants nothing.
    const HttpResponse deny = t.authorize_post("ann", OAuth2Stack::form_body(ann, "deny"), origin);
    BOOST_TEST(deny.status == 302);
    BOOST_TEST(deny.header("location") == kRedirectUri + "&error=access_denied&state=st");
    BOOST_TEST(t.list_grants().ends_with("\n0 grants\n"));
    // The very same form is fine from its own page (by Origin, by Referer, or with neither: the
    // CSRF token decides).
    for (const Headers& h :
         {origin, Headers{{"Referer", t.origin() + "/wf/oauth2/authorize?s"}}, Headers{}}) {
        const HttpResponse r = t.authorize_post("ann", good, h);
        BOOST_TEST(r.status == 302);
        BOOST_TEST(t.parse_location(r.header("location")).second == "st");
    }
    BOOST_TEST(t.list_grants().ends_with("\n3 grants\n"));
}

BOOST_AUTO_TEST_CASE(the_browser_goes_to_the_configured_redirect_uri_or_nowhere) {
    OAuth2Stack t;
    const ConsentForm form = t.consent("ann", "st");
    const std::string good = OAuth2Stack::form_body(form);
    const Headers origin = {{"Origin", t.origin()}};
    for (const std::string& param :
         {"redirect_uri=" + url_encode("https://evil.example/cb"),
          "redirect_uri=" + url_encode(kRedirectUri + "&x=1"),
          "redirect_uri=" + url_encode("https://wf.example.com/oauth2/callback"),
          "redirect_uri=" + url_encode("HTTPS://wf.example.com/oauth2/callback?tenant=acme"),
          "redirect_uri=" + url_encode("https://wf.example.com.evil.example/oauth2/callback"),
          std::string("redirect_uri="), std::string("client_id=intruder"),
          std::string("client_id=")}) {
        BOOST_TEST_CONTEXT(param) {
            check_page(t.authorize_get("ann", "state=st&" + param), 400, "Not for this service");
            check_page(t.authorize_post("ann", good + "&" + param, origin), 400,
                       "Not for this service");
            HttpResponse in_query =
                t.s.request("POST", "/wf/oauth2/authorize?" + param,
                            {{"Authorization", t.login("ann")},
                             {"Content-Type", "application/x-www-form-urlencoded"},
                             origin.front()},
                            good);
            check_page(in_query, 400, "Not for this service");
        }
    }
    // Given twice, once right: refused before anything else.
    const HttpResponse twice =
        t.authorize_get("ann", "state=st&redirect_uri=" + url_encode(kRedirectUri) +
                                   "&redirect_uri=" + url_encode("https://evil.example/"));
    BOOST_TEST(twice.status == 400);
    BOOST_TEST(twice.header("location").empty());
    BOOST_TEST(t.list_grants().ends_with("\n0 grants\n"));
    // Workfront may bake its own values into the Authentication URL: they change nothing.
    const std::string same = "client_id=workfront&redirect_uri=" + url_encode(kRedirectUri) +
                             "&response_type=code&scope=all";
    BOOST_TEST(t.authorize_get("ann", "state=st&" + same).status == 200);
    const HttpResponse r = t.authorize_post("ann", good + "&" + same, origin);
    BOOST_TEST_REQUIRE(r.status == 302);
    const std::string code = t.parse_location(r.header("location")).first;
    // At the token endpoint, a different redirect_uri is refused without spending the code.
    check_oauth_error(t.token(code_params(code) + "&redirect_uri=" +
                              url_encode("https://evil.example/cb") + "&" + t.client_params()),
                      400, "invalid_grant");
    BOOST_TEST(t.works(t.exchange(code).access));
}

BOOST_AUTO_TEST_CASE(the_consent_form_posts_to_its_own_origin_whatever_the_path) {
    // The login protects any <prefix>/oauth2/authorize, and a link can make the prefix
    // anything. Browsers drop tabs and newlines from a URL and read \ as / (WHATWG URL), so
    // an action of "/\evil.example/..." or "/<tab>/evil/..." posts the form (its CSRF token)
    // to another host; only CSP form-action would stop it.
    OAuth2Stack t;
    for (const char* path :
         {"/%5Cevil.example/oauth2/authorize", "/%5C%5Cevil.example/oauth2/authorize",
          "/%09/evil.example/oauth2/authorize", "/%0A/evil.example/oauth2/authorize",
          "/%0D/evil.example/oauth2/authorize", "/%5C/evil.example/oauth2/authorize",
          "/wf/oauth2/authorize"}) {
        BOOST_TEST_CONTEXT(path) {
            const HttpResponse page = t.authorize_get("ann", "state=st", path);
            if (page.status != 200) continue; // refusing such a path is fine too
            std::string action = OAuth2Stack::form_of(page).action;
            // What a browser makes of it.
            std::erase_if(action, [](char c) { return c == '\t' || c == '\n' || c == '\r'; });
            std::replace(action.begin(), action.end(), '\\', '/');
            BOOST_TEST(!action.starts_with("//"), action);
            BOOST_TEST(action.substr(0, action.find_first_of("/?#")).find(':') == std::string::npos,
                       action);
        }
    }
}

BOOST_AUTO_TEST_CASE(hostile_states_are_escaped_and_returned_exactly_or_refused) {
    OAuth2Stack t;
    for (const std::string& state :
         {std::string("\"'><script>alert(1)</script>"), std::string("a&b=c;d#e?f"),
          std::string("%41%2"), std::string("+ +"), std::string("état ✓ 日本"),
          std::string("</form><form action=https://evil.example>"), std::string(1024, 'x'),
          std::string(1024, '<')}) { // three times as long in the Location
        BOOST_TEST_CONTEXT(state) {
            const HttpResponse page = t.authorize_get("ann", "state=" + url_encode(state));
            BOOST_TEST_REQUIRE(page.status == 200);
            BOOST_TEST(page.body.find("<script") == std::string::npos);
            BOOST_TEST(page.body.find("evil.example>") == std::string::npos);
            BOOST_TEST(page.body.find("<form") == page.body.rfind("<form"));
            BOOST_TEST(OAuth2Stack::form_of(page).state == state);
            BOOST_TEST(t.code("ann", state).size() == 43u); // the state round trip is checked
        }
    }
    // Control characters (a header injection), too long, empty, missing: a page, no Location.
    const std::string form = OAuth2Stack::form_body(t.consent("ann", "st"));
    for (const std::string& state :
         {std::string("a\r\nLocation: https://evil.example/"), std::string("a\nb"),
          std::string("tab\there"), std::string("del\x7f"), std::string(1025, 'x'),
          std::string()}) {
        BOOST_TEST_CONTEXT(url_encode(state)) {
            check_page(t.authorize_get("ann", "state=" + url_encode(state)), 400,
                       "Invalid request");
            const std::string body = "state=" + url_encode(state) + form.substr(form.find('&'));
            check_page(t.authorize_post("ann", body, {{"Origin", t.origin()}}), 400,
                       "Invalid request");
        }
    }
    check_page(t.authorize_get("ann", ""), 400, "Invalid request");
    // Not UTF-8, or past the parameter's limit: refused as a malformed request.
    for (const std::string& query : {std::string("state=%FF"), "state=" + std::string(4097, 'x')}) {
        const HttpResponse r = t.authorize_get("ann", query);
        BOOST_TEST(r.status == 400);
        BOOST_TEST(r.header("location").empty());
    }
    BOOST_TEST(t.healthy());
}

BOOST_AUTO_TEST_CASE(credentials_that_are_not_a_valid_bearer_token_are_refused) {
    OAuth2Options o;
    o.wfhookd.store = true;
    OAuth2Stack t(o);
    t.s.dir.write("store/secret.txt", "x", 0644);
    const Tokens tokens = t.exchange(t.code("ann"));
    const std::string scheme_error =
        R"({"status":"error","error":"unsupported Authorization scheme: send Authorization: )"
        R"(Bearer <access token>"})";
    for (const std::string& header :
         {t.login("ann"), "Basic " + base64(tokens.access + ":"), "Token " + tokens.access,
          std::string("Digest username=\"ann\""), std::string("Bearer"), "Bearer" + tokens.access,
          "MAC " + tokens.access}) {
        BOOST_TEST_CONTEXT(header) {
            const HttpResponse r = t.s.get("/wf/files", {{"Authorization", header}});
            BOOST_TEST(r.status == 403);
            BOOST_TEST(r.body == scheme_error);
        }
    }
    std::string flipped = tokens.access;
    flipped[10] = flipped[10] == 'A' ? 'B' : 'A';
    for (const std::string& token : {flipped, tokens.access + "A", tokens.access.substr(1),
                                     tokens.refresh, " " + tokens.access, tokens.access + "=",
                                     std::string(10 * 1024, 'A'), std::string(200, 'A')}) {
        BOOST_TEST_CONTEXT(token.substr(0, 50)) {
            const HttpResponse r = t.s.get("/wf/files", {{"Authorization", "Bearer " + token}});
            BOOST_TEST(r.status == 403);
            BOOST_TEST(r.body == kInvalidToken);
        }
    }
    // Past nginx's header buffers: nginx refuses it; nothing is granted either way.
    const HttpResponse huge =
        t.s.get("/wf/files", {{"Authorization", "Bearer " + std::string(20 * 1024, 'A')}});
    BOOST_TEST(huge.status == 400);
    BOOST_TEST(huge.body.find("report") == std::string::npos);
    // The token elsewhere than in Authorization: as an API key, in the query.
    BOOST_TEST(t.s.get("/wf/files", {{"apiKey", tokens.access}, {"username", "ann"}}).status ==
               403);
    BOOST_TEST(t.s.get("/wf/files?access_token=" + tokens.access).status == 403);
    // The token itself still works, and the daemon is fine.
    const HttpResponse files = t.call("/wf/files", tokens.access);
    BOOST_TEST(files.status == 200);
    BOOST_TEST(files.body.find("secret.txt") != std::string::npos);
    BOOST_TEST(t.s.get("/wf/files").body.find("secret.txt") == std::string::npos);
    BOOST_TEST(t.healthy());
}

BOOST_AUTO_TEST_CASE(a_login_header_outside_the_consent_page_authenticates_nobody) {
    // As if the operator had `include fastcgi_params;` (Debian's passes REMOTE_USER
    // $remote_user) everywhere: nginx fills $remote_user from any Authorization: Basic
    // header, checked or not. Only the login's exact path may count.
    OAuth2Options o;
    o.wfhookd.store = true;
    o.nginx.locations = "location / {\n client_max_body_size 64k;\n"
                        " include snippets/wfhookd-fastcgi.conf;\n"
                        " fastcgi_param REMOTE_USER $remote_user;\n}\n"
                        "large_client_header_buffers 4 16k;\n"
                        "include snippets/wfhookd-errors.conf;\n";
    OAuth2Stack t(o);
    t.s.dir.write("store/secret.txt", "x", 0644);
    // Without knowing ann's password.
    const Headers claim = {{"Authorization", basic_auth("ann", "guess")}};
    const HttpResponse files = t.s.get("/wf/files", claim);
    BOOST_TEST(files.status == 403);
    BOOST_TEST(files.body.find("secret.txt") == std::string::npos);
    for (const char* path :
         {"/wf/oauth2/authorize/", "/wf/oauth2/authorize//", "/wf/oauth2/authorize%2F",
          "/wf/oauth2/authorize/.", "/wf/oauth2/Authorize", "/wf/oauth2/authorize;x",
          "/wf/oauth2/authorize%0A", "/wf/oauth2/authorize%00", "//wf/oauth2/authorize",
          "/wf//oauth2/authorize", "/wf/oauth2//authorize", "/wf/x/../oauth2/authorize",
          "/wf/oauth2/authoriz%65", "/wf/oauth2/authorize/x/..", "/oauth2/authorize"}) {
        BOOST_TEST_CONTEXT(path) {
            const HttpResponse get = t.s.get(std::string(path) + "?state=st", claim);
            BOOST_TEST(get.status != 200);
            BOOST_TEST(get.body.find("csrf") == std::string::npos);
            const HttpResponse post =
                t.s.request("POST", path,
                            {claim.front(),
                             {"Origin", t.origin()},
                             {"Content-Type", "application/x-www-form-urlencoded"}},
                            "state=st&expires=1&csrf=x&decision=allow");
            BOOST_TEST(post.status != 302);
            BOOST_TEST(post.header("location").empty());
        }
    }
    BOOST_TEST(t.list_grants().ends_with("\n0 grants\n"));
    BOOST_TEST(t.s.wfhookd.log_count("allowed Workfront") == 0);
    // The real login still works on the exact path (the test above could have failed).
    BOOST_TEST(t.works(t.exchange(t.code("ann")).access));
}

BOOST_AUTO_TEST_CASE(guessing_at_the_token_endpoint_meets_the_rate_limit) {
    OAuth2Options o;
    o.nginx.token_rate = "1r/s";
    OAuth2Stack t(o);
    const std::string guess = "grant_type=authorization_code&code=guess&client_id=workfront&"
                              "client_secret=guess";
    int first_429 = -1, limited = 0;
    for (int i = 0; i < 75; ++i) {
        const HttpResponse r = t.token(guess);
        if (r.status == 429) {
            if (first_429 < 0) first_429 = i;
            ++limited;
            BOOST_TEST(r.header("content-type") == "application/json; charset=utf-8");
            BOOST_TEST(r.body ==
                       "{\"status\":\"error\",\"error\":\"too many requests; try again in a "
                       "moment\"}\n");
        } else {
            check_oauth_error(r, 401, "invalid_client");
        }
    }
    // A burst of 60 passes (one request a second refills it); the rest is refused.
    BOOST_TEST(first_429 >= 60);
    BOOST_TEST(limited >= 5);
    BOOST_TEST(wait_until(
        [&] { return t.s.nginx.error_log().find("limiting requests") != std::string::npos; }));
    // Only the token endpoint is limited.
    BOOST_TEST(t.s.get("/wf/serviceInfo").status == 200);
    BOOST_TEST(t.authorize_get("ann", "state=st").status == 200);
}

BOOST_AUTO_TEST_SUITE_END()
