// OAuth2 through the router: bearer tokens on the other endpoints, the consent page and its
// form at /oauth2/authorize, and the token endpoint.
#include "api/context.hpp"
#include "api/router.hpp"
#include "config/config.hpp"
#include "http/links.hpp"
#include "oauth2/oauth2_context.hpp"
#include "support/json_check.hpp"
#include "support/temp_dir.hpp"
#include "util/clock.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <openssl/evp.h>

#include <ostream>
#include <regex>

namespace bdata = boost::unit_test::data;
using wfhookd::Context;
using wfhookd::Request;
using wfhookd::Response;
using wfhookd::RouteInfo;
using wftest::Json;

namespace {

const std::string kKey = "key-one-0123456789abcdef-0123456";
const std::string kSecret = "client-secret-0123456789abcdef-0123456789";
const std::string kRedirect = "https://acme.my.workfront.com/oauth2/callback";

// A worker's context with [oauth2] (and, unless `keys` is false, an API key file).
struct OAuth {
    wftest::TempDir dir;
    std::unique_ptr<Context> ctx;
    explicit OAuth(bool keys = true, const std::string& auth_extra = "") {
        const std::string secret = dir.write("client-secret", kSecret + "\n", 0640);
        std::string text = "[service]\npublisher = Acme\n";
        if (keys)
            text += "[auth]\napi_key_file = " + dir.write("keys", kKey + "\n", 0600) + "\n" +
                    auth_extra;
        else if (!auth_extra.empty())
            text += "[auth]\n" + auth_extra;
        text += "[oauth2]\nclient_id = workfront\nclient_secret_file = " + secret +
                "\nredirect_uri = " + kRedirect + "\ndatabase = " + dir.file("tokens.sqlite") +
                "\n[action:archive]\ntype = noop\n";
        const wfhookd::ConfigResult r = wfhookd::load_config(dir.write("wfhookd.conf", text));
        if (!r.config) throw std::runtime_error("config rejected: " + r.errors.at(0));
        ctx = std::make_unique<Context>(r.config);
        std::string error;
        if (!ctx->open_store(error)) throw std::runtime_error(error);
    }
    Response route(const Request& req, RouteInfo* info = nullptr) {
        Response res;
        RouteInfo i;
        wfhookd::route(*ctx, req, res, info != nullptr ? *info : i);
        return res;
    }
    // A token pair for `user`, as the flow would give it.
    wfhookd::Issued tokens(const std::string& user) {
        std::string code, who;
        wfhookd::Issued t;
        auto& store = ctx->oauth2->tokens;
        if (store.new_code(user, "workfront", ctx->oauth2->ttls, code) !=
                wfhookd::TokenStore::Result::ok ||
            store.exchange_code(code, "workfront", ctx->oauth2->ttls, t, who) !=
                wfhookd::TokenStore::Result::ok)
            throw std::runtime_error("no token");
        return t;
    }
};

Request action(std::string_view authorization, std::string_view api_key = {}) {
    Request req;
    req.method = "GET";
    req.path = "/wf/customAction";
    req.query = "name=archive&documentId=d1";
    req.authorization = authorization;
    req.api_key = api_key;
    req.username = api_key.empty() ? "" : "header-user";
    return req;
}

std::string json_error(const std::string& body) {
    Json j;
    std::string err;
    if (!json_parse(body, j, err)) return "<invalid JSON>";
    const Json* e = j.get("error");
    return e != nullptr ? e->text : "<no error>";
}

std::string header(const Response& res, const std::string& name) {
    const std::string key = name + ": ";
    const std::size_t at = res.headers.find(key);
    if (at == std::string::npos) return {};
    const std::size_t end = res.headers.find("\r\n", at);
    return res.headers.substr(at + key.size(), end - at - key.size());
}

std::string basic(const std::string& id, const std::string& secret) {
    const std::string raw = id + ":" + secret;
    std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(raw.data()),
                                  static_cast<int>(raw.size()));
    out.resize(static_cast<std::size_t>(n));
    return "Basic " + out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(oauth2)

// ------------------------------------------------------------------------------------------
// Bearer tokens on the other endpoints.

BOOST_AUTO_TEST_CASE(a_valid_bearer_token_runs_the_call_as_its_user) {
    OAuth o;
    const wfhookd::Issued t = o.tokens("ann@example.com");
    const std::string auth = "Bearer " + t.access_token;
    RouteInfo info;
    const Response res = o.route(action(auth), &info);
    BOOST_TEST(res.status == 200, res.body);
    BOOST_TEST(info.user == "ann@example.com");
    // The scheme is case-insensitive (RFC 6750 / RFC 7235).
    BOOST_TEST(o.route(action("bearer " + t.access_token)).status == 200);
}

struct BearerCase {
    std::string name, authorization;
    int status;
    std::string error;
};
std::ostream& operator<<(std::ostream& os, const BearerCase& c) {
    return os << c.name;
}
const BearerCase kBearerCases[] = {
    {"unknown token", "Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 403,
     "the access token is not valid; sign in again"},
    {"token of 10 KiB", "Bearer " + std::string(10240, 'A'), 403,
     "the access token is not valid; sign in again"},
    {"characters no token has", "Bearer abc def", 403,
     "the access token is not valid; sign in again"},
    {"empty token", "Bearer ", 403,
     "unsupported Authorization scheme: send Authorization: Bearer <access token>"},
    {"Basic", "Basic YWxpY2U6c2VjcmV0", 403,
     "unsupported Authorization scheme: send Authorization: Bearer <access token>"},
    {"Digest", "Digest username=\"a\"", 403,
     "unsupported Authorization scheme: send Authorization: Bearer <access token>"},
    {"scheme glued to the token", "BearerAAAA", 403,
     "unsupported Authorization scheme: send Authorization: Bearer <access token>"},
};

BOOST_DATA_TEST_CASE(what_is_not_a_valid_bearer_token_is_refused, bdata::make(kBearerCases), c) {
    OAuth o;
    o.tokens("ann");
    RouteInfo info;
    const Response res = o.route(action(c.authorization), &info);
    BOOST_TEST(res.status == c.status);
    BOOST_TEST(json_error(res.body) == c.error);
    BOOST_TEST(info.user.empty());
}

BOOST_AUTO_TEST_CASE(a_revoked_or_refreshed_token_is_refused) {
    OAuth o;
    const wfhookd::Issued t = o.tokens("ann");
    BOOST_TEST(o.route(action("Bearer " + t.access_token)).status == 200);
    BOOST_TEST(o.ctx->oauth2->tokens.revoke_user("ann") == 1);
    const Response res = o.route(action("Bearer " + t.access_token));
    BOOST_TEST(res.status == 403);
    BOOST_TEST(json_error(res.body) == "the access token is not valid; sign in again");
}

BOOST_AUTO_TEST_CASE(an_api_key_still_works_beside_oauth2_and_wins_over_authorization) {
    OAuth o;
    RouteInfo info;
    BOOST_TEST(o.route(action("Basic junk", kKey), &info).status == 200);
    BOOST_TEST(info.user == "header-user");
}

BOOST_AUTO_TEST_CASE(without_an_api_key_file_only_tokens_work) {
    OAuth o(false);
    BOOST_TEST(o.route(action({}, kKey)).status == 403);
    const wfhookd::Issued t = o.tokens("ann");
    BOOST_TEST(o.route(action("Bearer " + t.access_token)).status == 200);
}

BOOST_AUTO_TEST_CASE(the_users_list_applies_to_token_users) {
    OAuth o(true, "users = ann\n");
    BOOST_TEST(o.route(action("Bearer " + o.tokens("ann").access_token)).status == 200);
    const Response res = o.route(action("Bearer " + o.tokens("bob").access_token));
    BOOST_TEST(res.status == 403);
    BOOST_TEST(json_error(res.body) == "username is not allowed to use this service");
}

// ------------------------------------------------------------------------------------------
// The consent page and its form.

Request authorize(std::string_view method, std::string_view path, std::string_view query,
                  std::string_view user = "ann") {
    Request req;
    req.method = method;
    req.path = path;
    req.query = query;
    req.remote_user = user;
    req.host = "docs.example.com";
    req.https = true;
    req.server_port = "443";
    return req;
}

struct PathCase {
    std::string path;
    int status;
};
std::ostream& operator<<(std::ostream& os, const PathCase& c) {
    return os << c.path;
}
const PathCase kPaths[] = {
    {"/oauth2/authorize", 200},     {"/wf/oauth2/authorize", 200}, {"/a/b/oauth2/authorize", 200},
    {"/oauth2/authorize/", 404},    {"//oauth2/authorize", 404},   {"/wf//oauth2/authorize", 404},
    {"/wf/oauth2//authorize", 404}, {"/authorize", 404},           {"/wf/authorize", 404},
};

// Only the exact path reads the user: elsewhere the login may not protect it.
BOOST_DATA_TEST_CASE(only_the_exact_path_serves_the_consent_page, bdata::make(kPaths), c) {
    OAuth o;
    const Response res = o.route(authorize("GET", c.path, "state=s"));
    BOOST_TEST(res.status == c.status);
    if (c.status == 200) BOOST_TEST(res.body.find("id=\"user\">ann<") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(no_logged_in_user_is_403) {
    OAuth o;
    const Response res = o.route(authorize("GET", "/oauth2/authorize", "state=s", ""));
    BOOST_TEST(res.status == 403);
    BOOST_TEST(json_error(res.body) == "nobody is logged in");
    BOOST_TEST(res.log_error.find("REMOTE_USER") != std::string::npos);
}

struct StateCase {
    std::string name, query;
    int status;
};
std::ostream& operator<<(std::ostream& os, const StateCase& c) {
    return os << c.name;
}
const StateCase kStates[] = {
    {"missing", "", 400},
    {"empty", "state=", 400},
    {"1024 bytes", "state=" + std::string(1024, 's'), 200},
    {"1025 bytes", "state=" + std::string(1025, 's'), 400},
    {"CR LF", "state=a%0D%0Ab", 400},
    {"tab", "state=a%09b", 400},
    {"quotes and markup", "state=%22%27%3Cscript%3Ealert(1)%3C%2Fscript%3E", 200},
    {"another client_id", "state=s&client_id=evil", 400},
    {"our client_id", "state=s&client_id=workfront", 200},
    {"another redirect_uri", "state=s&redirect_uri=https%3A%2F%2Fevil.example%2F", 400},
    {"our redirect_uri",
     "state=s&redirect_uri=https%3A%2F%2Facme.my.workfront.com%2Foauth2%2Fcallback", 200},
};

BOOST_DATA_TEST_CASE(the_state_and_client_are_checked_and_answered_in_html, bdata::make(kStates),
                     c) {
    OAuth o;
    const Response res = o.route(authorize("GET", "/oauth2/authorize", c.query));
    BOOST_TEST(res.status == c.status);
    BOOST_TEST(res.content_type == "text/html; charset=utf-8");
    BOOST_TEST(res.body.find("<script>") == std::string::npos);
    BOOST_TEST(res.body.find("evil") == std::string::npos);
    BOOST_TEST(header(res, "Location").empty());
}

BOOST_AUTO_TEST_CASE(the_page_is_locked_down) {
    OAuth o;
    const Response res = o.route(authorize("GET", "/oauth2/authorize", "state=s"));
    BOOST_TEST(header(res, "Content-Security-Policy") ==
               "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' "
               "https://acme.my.workfront.com; base-uri 'none'; frame-ancestors 'none'");
    BOOST_TEST(header(res, "Referrer-Policy") == "same-origin");
    BOOST_TEST(header(res, "X-Frame-Options") == "DENY");
    BOOST_TEST(res.cache_control == "no-store");
}

// The hidden fields of the consent form.
struct Form {
    std::string expires, csrf;
};
Form form_of(const std::string& page) {
    Form f;
    std::smatch m;
    if (std::regex_search(page, m, std::regex(R"re(name="expires" value="(\d+)")re")))
        f.expires = m[1];
    if (std::regex_search(page, m, std::regex(R"re(name="csrf" value="([A-Za-z0-9_-]+)")re")))
        f.csrf = m[1];
    return f;
}

Request post(const std::string& body, std::string_view user = "ann",
             std::string_view origin = "https://docs.example.com") {
    Request req = authorize("POST", "/oauth2/authorize", {}, user);
    req.content_type = "application/x-www-form-urlencoded";
    req.body = body;
    req.content_length = static_cast<std::int64_t>(body.size());
    req.origin = origin;
    return req;
}

BOOST_AUTO_TEST_CASE(allow_redirects_to_workfront_with_a_code_and_the_state) {
    OAuth o;
    const std::string state = "a\"b<c>&d e";
    const Response page =
        o.route(authorize("GET", "/oauth2/authorize", "state=a%22b%3Cc%3E%26d+e"));
    const Form f = form_of(page.body);
    BOOST_TEST_REQUIRE(!f.csrf.empty());
    const std::string body =
        "state=a%22b%3Cc%3E%26d+e&expires=" + f.expires + "&csrf=" + f.csrf + "&decision=allow";
    const Response res = o.route(post(body));
    BOOST_TEST_REQUIRE(res.status == 302, res.body);
    const std::string location = header(res, "Location");
    const std::string prefix = kRedirect + "?code=";
    BOOST_TEST_REQUIRE(location.starts_with(prefix), location);
    const std::string code = location.substr(prefix.size(), 43);
    BOOST_TEST(location.substr(prefix.size() + 43) == "&state=a%22b%3Cc%3E%26d%20e");
    // The code buys tokens for the logged-in user.
    wfhookd::Issued t;
    std::string user;
    BOOST_TEST((o.ctx->oauth2->tokens.exchange_code(code, "workfront", o.ctx->oauth2->ttls, t,
                                                    user) == wfhookd::TokenStore::Result::ok));
    BOOST_TEST(user == "ann");
    (void)state;
}

BOOST_AUTO_TEST_CASE(deny_redirects_with_access_denied) {
    OAuth o;
    const Form f = form_of(o.route(authorize("GET", "/oauth2/authorize", "state=xyz")).body);
    const Response res =
        o.route(post("state=xyz&expires=" + f.expires + "&csrf=" + f.csrf + "&decision=deny"));
    BOOST_TEST(res.status == 302);
    BOOST_TEST(header(res, "Location") == kRedirect + "?error=access_denied&state=xyz");
}

struct FormCase {
    std::string name;
    std::string body; // @E@ and @C@: the page's expires and csrf
    std::string user = "ann";
    std::string origin = "https://docs.example.com";
    std::string referer = {};
    int status = 403;
};
std::ostream& operator<<(std::ostream& os, const FormCase& c) {
    return os << c.name;
}
const FormCase kForms[] = {
    {"no csrf", "state=xyz&expires=@E@&decision=allow"},
    {"a wrong csrf",
     "state=xyz&expires=@E@&csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&decision=allow"},
    {"another state", "state=other&expires=@E@&csrf=@C@&decision=allow"},
    {"another expiry", "state=xyz&expires=9999999999&csrf=@C@&decision=allow"},
    {"another user's form", "state=xyz&expires=@E@&csrf=@C@&decision=allow", "bob"},
    {"from another origin", "state=xyz&expires=@E@&csrf=@C@&decision=allow", "ann",
     "https://evil.example"},
    {"Origin: null", "state=xyz&expires=@E@&csrf=@C@&decision=allow", "ann", "null"},
    {"a Referer elsewhere", "state=xyz&expires=@E@&csrf=@C@&decision=allow", "ann", "",
     "https://evil.example/x"},
    {"a Referer on a look-alike host", "state=xyz&expires=@E@&csrf=@C@&decision=allow", "ann", "",
     "https://docs.example.com.evil.example/x"},
    {"neither allow nor deny", "state=xyz&expires=@E@&csrf=@C@&decision=maybe", "ann",
     "https://docs.example.com", "", 400},
    {"a redirect_uri of its own",
     "state=xyz&expires=@E@&csrf=@C@&decision=allow&redirect_uri=https%3A%2F%2Fevil.example", "ann",
     "https://docs.example.com", "", 400},
};

BOOST_DATA_TEST_CASE(a_form_that_is_not_ours_grants_nothing, bdata::make(kForms), c) {
    OAuth o;
    const Form f = form_of(o.route(authorize("GET", "/oauth2/authorize", "state=xyz")).body);
    std::string body = c.body;
    for (const auto& [from, to] :
         {std::pair<std::string, std::string>{"@E@", f.expires}, {"@C@", f.csrf}})
        if (const std::size_t at = body.find(from); at != std::string::npos)
            body.replace(at, from.size(), to);
    Request req = post(body, c.user, c.origin);
    req.referer = c.referer;
    const Response res = o.route(req);
    BOOST_TEST(res.status == c.status);
    BOOST_TEST(header(res, "Location").empty());
    std::vector<wfhookd::GrantInfo> grants;
    BOOST_TEST_REQUIRE(o.ctx->oauth2->tokens.list_grants(grants));
    BOOST_TEST(grants.empty());
}

BOOST_AUTO_TEST_CASE(a_form_from_the_same_origin_by_referer_alone_is_accepted) {
    OAuth o;
    const Form f = form_of(o.route(authorize("GET", "/oauth2/authorize", "state=xyz")).body);
    const std::string body =
        "state=xyz&expires=" + f.expires + "&csrf=" + f.csrf + "&decision=allow";
    Request req = post(body, "ann", ""); // views into `body`
    req.referer = "https://docs.example.com/oauth2/authorize?state=xyz";
    const Response res = o.route(req);
    BOOST_TEST(res.status == 302, res.body);
}

// ------------------------------------------------------------------------------------------
// The token endpoint.

struct TokenCall {
    Response res;
    Json json;
};

TokenCall token(OAuth& o, const std::string& body, const std::string& authorization = {},
                const std::string& path = "/oauth2/token") {
    Request req;
    req.method = "POST";
    req.path = path;
    req.content_type = "application/x-www-form-urlencoded";
    req.body = body;
    req.content_length = static_cast<std::int64_t>(body.size());
    req.authorization = authorization;
    TokenCall t;
    t.res = o.route(req);
    std::string err;
    json_parse(t.res.body, t.json, err);
    return t;
}

std::string new_code(OAuth& o, const std::string& user = "ann") {
    std::string code;
    o.ctx->oauth2->tokens.new_code(user, "workfront", o.ctx->oauth2->ttls, code);
    return code;
}

const std::string kClient = "client_id=workfront&client_secret=" + kSecret;

BOOST_AUTO_TEST_CASE(a_code_gives_tokens_with_params_or_basic) {
    OAuth o;
    for (const bool use_basic : {false, true}) {
        const std::string body = "grant_type=authorization_code&code=" + new_code(o);
        const TokenCall t = use_basic ? token(o, body, basic("workfront", kSecret))
                                      : token(o, body + "&" + kClient);
        BOOST_TEST_REQUIRE(t.res.status == 200, t.res.body);
        BOOST_TEST(t.res.cache_control == "no-store");
        BOOST_TEST(header(t.res, "Pragma") == "no-cache");
        BOOST_TEST(t.json.at("token_type").text == "Bearer");
        BOOST_TEST(t.json.at("expires_in").text == "3600");
        BOOST_TEST(t.json.at("access_token").text.size() == 43u);
        BOOST_TEST(t.json.at("refresh_token").text.size() == 43u);
        // And the refresh grant gives a new pair.
        const TokenCall r =
            token(o, "grant_type=refresh_token&refresh_token=" + t.json.at("refresh_token").text +
                         "&" + kClient);
        BOOST_TEST_REQUIRE(r.res.status == 200, r.res.body);
        BOOST_TEST(r.json.at("refresh_token").text != t.json.at("refresh_token").text);
    }
}

struct TokenErrorCase {
    std::string name, body, authorization;
    int status;
    std::string error;
};
std::ostream& operator<<(std::ostream& os, const TokenErrorCase& c) {
    return os << c.name;
}
const TokenErrorCase kTokenErrors[] = {
    {"no client", "grant_type=authorization_code&code=@CODE@", "", 401, "invalid_client"},
    {"wrong secret",
     "grant_type=authorization_code&code=@CODE@&client_id=workfront&client_secret=x", "", 401,
     "invalid_client"},
    {"wrong client_id",
     "grant_type=authorization_code&code=@CODE@&client_id=other&client_secret=" + kSecret, "", 401,
     "invalid_client"},
    {"wrong secret by Basic", "grant_type=authorization_code&code=@CODE@",
     basic("workfront", "wrong"), 401, "invalid_client"},
    {"Basic that is not base64", "grant_type=authorization_code&code=@CODE@", "Basic %%%%", 401,
     "invalid_client"},
    {"a Bearer instead of client credentials", "grant_type=authorization_code&code=@CODE@",
     "Bearer x", 401, "invalid_client"},
    {"credentials twice", "grant_type=authorization_code&code=@CODE@&client_secret=" + kSecret,
     basic("workfront", kSecret), 400, "invalid_request"},
    {"no grant_type", "code=@CODE@&" + kClient, "", 400, "invalid_request"},
    {"unknown grant_type", "grant_type=password&" + kClient, "", 400, "unsupported_grant_type"},
    {"no code", "grant_type=authorization_code&" + kClient, "", 400, "invalid_request"},
    {"unknown code", "grant_type=authorization_code&code=AAAA&" + kClient, "", 400,
     "invalid_grant"},
    {"another redirect_uri",
     "grant_type=authorization_code&code=@CODE@&redirect_uri=https%3A%2F%2Fevil.example&" + kClient,
     "", 400, "invalid_grant"},
    {"no refresh_token", "grant_type=refresh_token&" + kClient, "", 400, "invalid_request"},
    {"unknown refresh_token", "grant_type=refresh_token&refresh_token=AAAA&" + kClient, "", 400,
     "invalid_grant"},
};

BOOST_DATA_TEST_CASE(token_errors_are_rfc_6749_objects, bdata::make(kTokenErrors), c) {
    OAuth o;
    const std::string code = new_code(o);
    std::string body = c.body;
    if (const std::size_t at = body.find("@CODE@"); at != std::string::npos)
        body.replace(at, 6, code);
    const TokenCall t = token(o, body, c.authorization);
    BOOST_TEST(t.res.status == c.status);
    BOOST_TEST(t.json.at("error").text == c.error);
    BOOST_TEST(t.res.cache_control == "no-store");
    BOOST_TEST(header(t.res, "Pragma") == "no-cache");
    BOOST_TEST((header(t.res, "WWW-Authenticate") == "Basic realm=\"wfhookd\"") ==
               (c.status == 401));
    BOOST_TEST(t.res.body.find(kSecret) == std::string::npos);
    // The code was not spent by a refused request.
    const TokenCall after = token(o, "grant_type=authorization_code&code=" + code + "&" + kClient);
    BOOST_TEST(after.res.status == 200, after.res.body);
}

// The router's own refusals on the token endpoint are RFC 6749 objects too.
BOOST_AUTO_TEST_CASE(a_malformed_token_request_is_invalid_request) {
    OAuth o;
    const TokenCall t =
        token(o, "grant_type=authorization_code&grant_type=refresh_token&" + kClient);
    BOOST_TEST(t.res.status == 400);
    BOOST_TEST(t.json.at("error").text == "invalid_request");
    BOOST_TEST(t.json.at("error_description").text ==
               "parameter grant_type is given more than once");
    BOOST_TEST(t.res.cache_control == "no-store");
    BOOST_TEST(header(t.res, "Pragma") == "no-cache");
    BOOST_TEST(t.res.log_error == "invalid_request: parameter grant_type is given more than once");
}

BOOST_AUTO_TEST_CASE(the_token_endpoint_is_post_only_and_at_its_exact_name) {
    OAuth o;
    Request req;
    req.method = "GET";
    req.path = "/oauth2/token";
    BOOST_TEST(o.route(req).status == 405);
    BOOST_TEST(token(o, "grant_type=x&" + kClient, {}, "/wf/token").res.status == 404);
}

BOOST_AUTO_TEST_SUITE_END()
