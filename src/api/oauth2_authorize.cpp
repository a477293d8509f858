// GET|POST <base>/oauth2/authorize: the OAuth2 "Authentication URL" (RFC 6749 §4.1.1). The web
// server has logged the person in (basic auth, LDAP, an SSO gateway) and names them in
// [oauth2] user_header; wfhookd never sees a password. GET shows the consent page; its form
// POSTs back here; Allow sends the browser to Workfront's redirect_uri with a code, Deny with
// error=access_denied, always with the state Workfront sent, and nowhere else, ever.
//
// Only this exact path reads user_header: nginx fills $remote_user from any
// `Authorization: Basic` header, even where no auth_basic applies, so the parameter is
// trusted only where the site's login protects it (docs/deployment.md, "OAuth2").
#include "api/handlers.hpp"

#include "http/html.hpp"
#include "http/links.hpp"
#include "http/utf8.hpp"
#include "oauth2/oauth2_context.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"

#include <charconv>
#include <fmt/format.h>

namespace wfhookd {

namespace {

constexpr std::string_view kStyle =
    "body{font-family:system-ui,sans-serif;margin:2rem auto;color:#222;max-width:36rem}"
    "h1{font-size:1.4rem}ul{line-height:1.6}.who{font-weight:600;word-break:break-all}"
    "form{margin-top:1.5rem}button{font-size:1rem;padding:.5rem 1.2rem;margin-right:1rem;"
    "border-radius:4px;border:1px solid #1565c0;cursor:pointer}"
    "button.allow{background:#1565c0;color:#fff}button.deny{background:#fff;color:#1565c0}";

// How long the consent form may stay open before Allow is refused.
constexpr std::int64_t kFormSeconds = 600;
constexpr std::size_t kMaxState = 1024;

// The exact path: "<base>/oauth2/authorize", no empty segment, no trailing slash.
bool exact_path(std::string_view path) {
    constexpr std::string_view kTail = "/oauth2/authorize";
    return path.ends_with(kTail) && path.find("//") == std::string_view::npos;
}

// scheme://host[:port] of a URL.
std::string_view origin_of(std::string_view url) {
    const std::size_t scheme = url.find("://");
    if (scheme == std::string_view::npos) return {};
    const std::size_t end = url.find_first_of("/?#", scheme + 3);
    return url.substr(0, end);
}

// What the consent form is bound to: the user and the state.
std::string csrf_subject(std::string_view user, std::string_view state) {
    std::string s(user);
    s.push_back('\n');
    s.append(state);
    return s;
}

void page_headers(const OAuth2Config& config, Response& res) {
    res.content_type.assign("text/html; charset=utf-8");
    res.cache_control = "no-store";
    // form-action also governs where the POST's redirect may lead: Workfront's origin.
    res.add_header("Content-Security-Policy",
                   fmt::format("default-src 'none'; style-src 'unsafe-inline'; form-action 'self' "
                               "{}; base-uri 'none'; frame-ancestors 'none'",
                               origin_of(config.redirect_uri)));
    // same-origin: the POST carries a real Origin (no-referrer would make Chromium send
    // "Origin: null"), and nothing leaks to Workfront.
    res.add_header("Referrer-Policy", "same-origin");
    res.add_header("X-Frame-Options", "DENY");
}

void page(const OAuth2Config& config, Response& res, int status, std::string_view title,
          std::string_view message) {
    res.status = status;
    page_headers(config, res);
    res.body.assign("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
    append_html_escaped(res.body, title);
    res.body.append("</title><style>").append(kStyle).append("</style></head><body><h1>");
    append_html_escaped(res.body, title);
    res.body.append("</h1><p>");
    append_html_escaped(res.body, message);
    res.body.append("</p></body></html>\n");
    res.log_error.assign(message);
}

bool valid_state(std::string_view state) {
    if (state.empty() || state.size() > kMaxState || !is_valid_utf8(state)) return false;
    for (const char c : state)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
    return true;
}

// Who the web server logged in; empty (and the answer set) when nobody.
std::string_view logged_in_user(const Context& ctx, const Request& req, Response& res) {
    const std::string_view user = req.remote_user;
    if (user.empty()) {
        res.set_error(403, "nobody is logged in");
        res.log_error = fmt::format(
            "nobody is logged in: the web server passed no {}; protect /oauth2/authorize with a "
            "login (docs/deployment.md, \"OAuth2\")",
            ctx.config->oauth2.user_header);
        return {};
    }
    bool ok = user.size() <= 255 && is_valid_utf8(user);
    for (const char c : user)
        ok = ok && static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
    if (!ok) {
        res.set_error(403, "the logged-in user's name is not usable (at most 255 bytes of UTF-8)");
        return {};
    }
    return user;
}

// A client_id or redirect_uri in the request must be ours: wfhookd never sends anyone
// anywhere but the configured redirect_uri.
bool foreign_client(const OAuth2Config& config, const AuthorizeParams& p) {
    return (p.client_id.present && p.client_id.value != config.client_id) ||
           (p.redirect_uri.present && p.redirect_uri.value != config.redirect_uri);
}

void consent_page(const Context& ctx, std::string_view user, std::string_view state,
                  Response& res) {
    const OAuth2Context& oc = *ctx.oauth2;
    const std::int64_t expires = realtime_ns() / 1'000'000'000 + kFormSeconds;
    const std::string csrf = oc.csrf.sign("authorize", csrf_subject(user, state), expires);
    res.status = 200;
    page_headers(oc.config, res);
    std::string& b = res.body;
    b.assign("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             "<meta name=\"viewport\" content=\"width=device-width\">"
             "<title>Connect Workfront</title><style>");
    b.append(kStyle).append("</style></head><body><h1>Connect Workfront to ");
    append_html_escaped(b, ctx.config->service.publisher);
    b.append("</h1><p>You are signed in as <span class=\"who\" id=\"user\">");
    append_html_escaped(b, user);
    b.append("</span>. Workfront asks to act as you here. It will be allowed to:</p><ul>");
    if (ctx.config->store.enabled) {
        b.append("<li>browse, search and download the documents</li>");
        if (!ctx.config->store.read_only)
            b.append("<li>upload documents, create folders, rename and delete items</li>");
    }
    for (const ActionConfig& a : ctx.config->actions) {
        b.append("<li>run the action <q>");
        append_html_escaped(b, a.display_name);
        b.append("</q></li>");
    }
    b.append("</ul><p>You can take this back at any time by asking the administrator to revoke "
             "your access.</p>");
    // Relative: back to this very page. The request's path would not do: a link can choose its
    // prefix, and "/\evil.example/..." or "/<tab>/evil.example/..." is another host to a
    // browser, which drops tabs and newlines from a URL and reads a backslash as a slash.
    b.append("<form method=\"post\" action=\"authorize\"><input type=\"hidden\" "
             "name=\"state\" value=\"");
    append_html_escaped(b, state);
    b.append("\"><input type=\"hidden\" name=\"expires\" value=\"");
    b.append(std::to_string(expires));
    b.append("\"><input type=\"hidden\" name=\"csrf\" value=\"");
    b.append(csrf);
    b.append("\"><button class=\"allow\" type=\"submit\" name=\"decision\" value=\"allow\" "
             "id=\"allow\">Allow</button><button class=\"deny\" type=\"submit\" "
             "name=\"decision\" value=\"deny\" id=\"deny\">Deny</button></form></body></html>\n");
}

// The page's own origin, as the browser sees it: [store] public_url's, else the request's.
std::string own_origin(const Context& ctx, const Request& req) {
    return std::string(origin_of(link_base(ctx.config->store.public_url, req)));
}

// Origin (or, without it, Referer) of the form's POST: absent is accepted (the CSRF token
// decides), anything else must be this page's origin.
bool same_origin(const Context& ctx, const Request& req) {
    const std::string own = own_origin(ctx, req);
    if (!req.origin.empty()) return !own.empty() && req.origin == own;
    if (!req.referer.empty())
        return !own.empty() && req.referer.starts_with(own) &&
               (req.referer.size() == own.size() || req.referer[own.size()] == '/');
    return true;
}

void redirect(const OAuth2Config& config, std::string_view key, std::string_view value,
              std::string_view state, Response& res) {
    std::string location = config.redirect_uri;
    location.push_back(location.find('?') == std::string::npos ? '?' : '&');
    location.append(key).push_back('=');
    append_percent_encoded(location, value);
    location.append("&state=");
    append_percent_encoded(location, state);
    res.status = 302;
    res.content_type.assign("text/plain; charset=utf-8");
    res.cache_control = "no-store";
    res.add_header("Location", location);
    res.add_header("Referrer-Policy", "no-referrer");
    res.body.clear();
}

} // namespace

void handle_authorize(const Context& ctx, const Call& call, Response& res) {
    const OAuth2Config& config = ctx.config->oauth2;
    if (!exact_path(call.request.path)) return res.set_error(404, "unknown endpoint");
    const std::string_view user = logged_in_user(ctx, call.request, res);
    if (user.empty()) {
        log(Level::warning, "oauth2: {}", res.log_error);
        return;
    }
    const auto& p = call.params_as<AuthorizeParams>();
    if (foreign_client(config, p))
        return page(config, res, 400, "Not for this service",
                    "This request names another client or another redirect address than the "
                    "ones configured here. Start again from Workfront.");
    if (!valid_state(p.state.value))
        return page(config, res, 400, "Invalid request",
                    "The state parameter is missing, longer than 1024 bytes, or has control "
                    "characters. Start again from Workfront.");
    if (call.request.method != "POST") return consent_page(ctx, user, p.state.value, res);

    // The form's answer.
    std::int64_t expires = 0;
    const std::string_view e = p.expires.value;
    const auto [end, ec] = std::from_chars(e.data(), e.data() + e.size(), expires);
    const bool csrf_ok = ec == std::errc() && end == e.data() + e.size() && !e.empty() &&
                         ctx.oauth2->csrf.valid("authorize", csrf_subject(user, p.state.value),
                                                expires, p.csrf.value);
    if (!csrf_ok || !same_origin(ctx, call.request))
        return page(config, res, 403, "Not allowed",
                    "This form did not come from this page. Start again from Workfront.");
    if (expires < realtime_ns() / 1'000'000'000)
        return page(config, res, 403, "Too late",
                    "This page stayed open too long. Start again from Workfront.");
    if (p.decision.value == "deny")
        return redirect(config, "error", "access_denied", p.state.value, res);
    if (p.decision.value != "allow")
        return page(config, res, 400, "Invalid request", "Choose Allow or Deny.");
    std::string code;
    if (ctx.oauth2->tokens.new_code(user, config.client_id, ctx.oauth2->ttls, code) !=
        TokenStore::Result::ok) {
        log(Level::error, "oauth2: storing a grant failed: {}", ctx.oauth2->tokens.last_error());
        return page(config, res, 500, "Something went wrong", "Try again in a moment.");
    }
    log(Level::notice, "oauth2: {} allowed Workfront to act as them", user);
    redirect(config, "code", code, p.state.value, res);
}

} // namespace wfhookd
