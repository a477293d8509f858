// OAuth2 end to end: a Stack with [oauth2] behind nginx's basic-auth login, and Workfront's side
// of the flow (the consent page, its form, the token endpoint, bearer calls) spelled out in
// plain HTTP requests, so that tests can run it step by step or bend any step.
#pragma once

#include "json_check.hpp"
#include "stack.hpp"

#include <string>
#include <string_view>

namespace wftest {

std::string base64(std::string_view s);
// "Basic <base64(user:password)>" (RFC 7617).
std::string basic_auth(const std::string& user, const std::string& password);
// %XX sequences decoded ('+' stays '+'); throws on a malformed one.
std::string url_decode(std::string_view s);
// &amp; &lt; &gt; &quot; &#39; decoded.
std::string html_unescape(std::string_view s);
// The value (unescaped) of the form input named `name` in `html`; empty when there is none.
std::string form_input(const std::string& html, const std::string& name);
// A random string of letters and digits.
std::string random_word(std::size_t n);

// The configured redirect URI: an https Workfront callback with a query of its own.
inline const std::string kRedirectUri = "https://wf.example.com/oauth2/callback?tenant=acme";
inline const std::string kClientId = "workfront";

struct Tokens {
    std::string access, refresh;
    long expires_in = 0;
};

struct ConsentForm {
    std::string page, action, state, expires, csrf;
};

struct OAuth2Options {
    std::string oauth2; // more [oauth2] lines (ttls, user_header)
    std::string client_id = kClientId;
    std::string redirect_uri = kRedirectUri;
    WfhookdOptions wfhookd; // its `oauth2` is made from the above
    NginxOptions nginx;
};

// One wfhookd with [oauth2] and a noop action (max_concurrent 64) behind nginx, whose login knows
// "ann" and "bob" (and the users added with add_user). Calls go to base "/wf".
class OAuth2Stack {
public:
    explicit OAuth2Stack(const OAuth2Options& options = {});
    // The wfhookd options of `options` (for write_config and a reload).
    static WfhookdOptions wfhookd_options(const OAuth2Options& options);

    OAuth2Options options;
    Stack s;

    // A login for nginx's basic auth (an htpasswd line made by openssl passwd -apr1).
    void add_user(const std::string& user, const std::string& password);
    std::string password(const std::string& user) const;
    std::string login(const std::string& user) const { return basic_auth(user, password(user)); }
    // The origin nginx's pages have for our HTTP client (it sends Host: localhost).
    std::string origin() const;

    // GET /wf/oauth2/authorize?QUERY as `user` (no login when user is empty).
    HttpResponse authorize_get(const std::string& user, const std::string& query,
                               const std::string& path = "/wf/oauth2/authorize");
    // The consent page for `state`; fails the test unless it is a 200 with a form.
    ConsentForm consent(const std::string& user, const std::string& state);
    static ConsentForm form_of(const HttpResponse& page);
    // POSTs the form body `body` to /wf/oauth2/authorize as `user` with `headers`.
    HttpResponse authorize_post(const std::string& user, const std::string& body,
                                const Headers& headers = {});
    // The form's fields as a body: state, expires, csrf, decision.
    static std::string form_body(const ConsentForm& f, const std::string& decision = "allow");
    // Allow on the consent page, with the page's own Origin: the code from the Location.
    std::string code(const std::string& user, const std::string& state = "st-1");
    // The part of a Location after the redirect URI and "&code=": the code and the decoded
    // state; fails the test unless the Location is exactly that.
    std::pair<std::string, std::string> parse_location(const std::string& location) const;

    // POST /wf/oauth2/token with a form body (and headers).
    HttpResponse token(const std::string& body, const Headers& headers = {});
    // The client credentials as form parameters.
    std::string client_params() const;
    std::string client_basic() const; // the same as an Authorization: Basic value
    // The code traded for tokens (the test fails unless that works).
    Tokens exchange(const std::string& code);
    Tokens refresh(const std::string& refresh_token);
    static Tokens parse_tokens(const HttpResponse& r);

    // GET TARGET with Authorization: Bearer TOKEN (and more headers).
    HttpResponse call(const std::string& target, const std::string& access_token,
                      const Headers& headers = {});
    // Whether an authenticated call (the noop action every OAuth2Stack has) answers 200 with
    // this token.
    bool works(const std::string& access_token,
               const std::string& target = "/wf/customAction?name=noop&documentId=1");

    // wfhookd --list-grants / --revoke USER on this stack's config: the output.
    std::string cli(const std::vector<std::string>& args, int* status = nullptr);
    std::string list_grants() { return cli({"--list-grants"}); }
    // The master runs and no worker died.
    bool healthy();

private:
    std::vector<std::pair<std::string, std::string>> users_;
    int cli_runs_ = 0;
};

// The message of 403 for a bearer token that is not (or no longer) valid.
inline const std::string kInvalidToken =
    R"({"status":"error","error":"the access token is not valid; sign in again"})";

} // namespace wftest
