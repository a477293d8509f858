#include "oauth2.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <random>
#include <stdexcept>

namespace wftest {

std::string base64(std::string_view s) {
    static constexpr char table[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 3 <= s.size(); i += 3) {
        const unsigned v = static_cast<unsigned char>(s[i]) << 16 |
                           static_cast<unsigned char>(s[i + 1]) << 8 |
                           static_cast<unsigned char>(s[i + 2]);
        for (int shift = 18; shift >= 0; shift -= 6)
            out.push_back(table[(v >> shift) & 63]);
    }
    if (i + 1 == s.size()) {
        const unsigned v = static_cast<unsigned char>(s[i]) << 16;
        out += {table[v >> 18], table[(v >> 12) & 63], '=', '='};
    } else if (i + 2 == s.size()) {
        const unsigned v =
            static_cast<unsigned char>(s[i]) << 16 | static_cast<unsigned char>(s[i + 1]) << 8;
        out += {table[v >> 18], table[(v >> 12) & 63], table[(v >> 6) & 63], '='};
    }
    return out;
}

std::string basic_auth(const std::string& user, const std::string& password) {
    return "Basic " + base64(user + ":" + password);
}

std::string url_decode(std::string_view s) {
    const auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out.push_back(s[i]);
            continue;
        }
        if (i + 2 >= s.size() || hex(s[i + 1]) < 0 || hex(s[i + 2]) < 0)
            throw std::runtime_error("malformed percent-encoding: " + std::string(s));
        out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
        i += 2;
    }
    return out;
}

std::string html_unescape(std::string_view s) {
    static const std::pair<std::string_view, char> entities[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#39;", '\''}};
    std::string out;
    for (std::size_t i = 0; i < s.size();) {
        bool done = false;
        for (const auto& [name, c] : entities)
            if (s.substr(i, name.size()) == name) {
                out.push_back(c);
                i += name.size();
                done = true;
                break;
            }
        if (!done) out.push_back(s[i++]);
    }
    return out;
}

std::string form_input(const std::string& html, const std::string& name) {
    const std::string key = "name=\"" + name + "\" value=\"";
    const std::size_t p = html.find(key);
    if (p == std::string::npos) return {};
    const std::size_t start = p + key.size();
    return html_unescape(std::string_view(html).substr(start, html.find('"', start) - start));
}

std::string random_word(std::size_t n) {
    static constexpr char chars[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::random_device rd;
    std::string out;
    for (std::size_t i = 0; i < n; ++i)
        out.push_back(chars[rd() % 62]);
    return out;
}

WfhookdOptions OAuth2Stack::wfhookd_options(const OAuth2Options& options) {
    WfhookdOptions o = options.wfhookd;
    o.oauth2 = "client_id = " + options.client_id + "\nredirect_uri = " + options.redirect_uri +
               "\n" + options.oauth2;
    // Any number at once (without max_concurrent, an action may hold all workers but one: a
    // 503 for concurrent calls).
    o.actions += "\n[action:noop]\ntype = noop\nmax_concurrent = 64\n";
    return o;
}

OAuth2Stack::OAuth2Stack(const OAuth2Options& o) : options(o), s(wfhookd_options(o), o.nginx) {
    add_user("ann", random_word(16));
    add_user("bob", random_word(16));
}

void OAuth2Stack::add_user(const std::string& user, const std::string& password) {
    users_.emplace_back(user, password);
    std::string lines;
    for (const auto& [u, pw] : users_) {
        // Letters and digits only: nothing for the shell to interpret.
        FILE* p = popen(("openssl passwd -apr1 " + pw).c_str(), "r");
        if (p == nullptr) throw std::runtime_error("cannot run openssl passwd");
        char buf[256];
        std::string hash;
        while (std::fgets(buf, sizeof buf, p) != nullptr)
            hash += buf;
        if (pclose(p) != 0 || hash.size() < 10) throw std::runtime_error("openssl passwd failed");
        lines += u + ":" + hash;
    }
    s.dir.write("htpasswd", lines, 0644);
}

std::string OAuth2Stack::password(const std::string& user) const {
    for (const auto& [u, pw] : users_)
        if (u == user) return pw;
    throw std::runtime_error("no login " + user);
}

std::string OAuth2Stack::origin() const {
    return "http://localhost:" + std::to_string(s.nginx.http_port());
}

HttpResponse OAuth2Stack::authorize_get(const std::string& user, const std::string& query,
                                        const std::string& path) {
    Headers h;
    if (!user.empty()) h.emplace_back("Authorization", login(user));
    return s.get(path + (query.empty() ? "" : "?" + query), h);
}

ConsentForm OAuth2Stack::consent(const std::string& user, const std::string& state) {
    return form_of(authorize_get(user, "state=" + url_encode(state)));
}

ConsentForm OAuth2Stack::form_of(const HttpResponse& r) {
    BOOST_TEST_REQUIRE(r.status == 200, r.status << " " << r.body);
    ConsentForm f;
    f.page = r.body;
    const std::size_t a = r.body.find("<form method=\"post\" action=\"");
    BOOST_TEST_REQUIRE(a != std::string::npos, r.body);
    const std::size_t start = a + 28;
    f.action = html_unescape(r.body.substr(start, r.body.find('"', start) - start));
    f.state = form_input(r.body, "state");
    f.expires = form_input(r.body, "expires");
    f.csrf = form_input(r.body, "csrf");
    BOOST_TEST_REQUIRE(!f.csrf.empty(), r.body);
    return f;
}

HttpResponse OAuth2Stack::authorize_post(const std::string& user, const std::string& body,
                                         const Headers& headers) {
    Headers h = headers;
    if (!user.empty()) h.emplace_back("Authorization", login(user));
    h.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    return s.request("POST", "/wf/oauth2/authorize", h, body);
}

std::string OAuth2Stack::form_body(const ConsentForm& f, const std::string& decision) {
    return "state=" + url_encode(f.state) + "&expires=" + url_encode(f.expires) +
           "&csrf=" + url_encode(f.csrf) + "&decision=" + decision;
}

std::string OAuth2Stack::code(const std::string& user, const std::string& state) {
    const ConsentForm f = consent(user, state);
    const HttpResponse r = authorize_post(user, form_body(f), {{"Origin", origin()}});
    BOOST_TEST_REQUIRE(r.status == 302, r.status << " " << r.body);
    const auto [code, returned] = parse_location(r.header("location"));
    BOOST_TEST_REQUIRE(returned == state);
    return code;
}

std::pair<std::string, std::string> OAuth2Stack::parse_location(const std::string& location) const {
    const std::string prefix = options.redirect_uri +
                               (options.redirect_uri.find('?') == std::string::npos ? "?" : "&") +
                               "code=";
    BOOST_TEST_REQUIRE(location.starts_with(prefix), location);
    const std::size_t end = location.find("&state=", prefix.size());
    BOOST_TEST_REQUIRE(end != std::string::npos, location);
    const std::string code = location.substr(prefix.size(), end - prefix.size());
    // 256 random bits, base64url: nothing in it needs percent-encoding.
    BOOST_TEST_REQUIRE(code.size() == 43u, location);
    BOOST_TEST_REQUIRE(code.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                              "0123456789-_") == std::string::npos,
                       location);
    const std::string state = location.substr(end + 7);
    BOOST_TEST_REQUIRE(state.find_first_of("&#") == std::string::npos, location);
    return {code, url_decode(state)};
}

HttpResponse OAuth2Stack::token(const std::string& body, const Headers& headers) {
    Headers h = headers;
    h.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    return s.request("POST", "/wf/oauth2/token", h, body);
}

std::string OAuth2Stack::client_params() const {
    return "client_id=" + url_encode(options.client_id) +
           "&client_secret=" + url_encode(s.wfhookd.client_secret());
}

std::string OAuth2Stack::client_basic() const {
    return basic_auth(url_encode(options.client_id), url_encode(s.wfhookd.client_secret()));
}

Tokens OAuth2Stack::parse_tokens(const HttpResponse& r) {
    BOOST_TEST_REQUIRE(r.status == 200, r.status << " " << r.body);
    const Json j = parse_json(r.body);
    Tokens t;
    t.access = j.at("access_token").text;
    t.refresh = j.at("refresh_token").text;
    t.expires_in = std::stol(j.at("expires_in").text);
    BOOST_TEST(j.at("token_type").text == "Bearer");
    return t;
}

Tokens OAuth2Stack::exchange(const std::string& code) {
    return parse_tokens(
        token("grant_type=authorization_code&code=" + url_encode(code) + "&" + client_params()));
}

Tokens OAuth2Stack::refresh(const std::string& refresh_token) {
    return parse_tokens(token("grant_type=refresh_token&refresh_token=" +
                              url_encode(refresh_token) + "&" + client_params()));
}

HttpResponse OAuth2Stack::call(const std::string& target, const std::string& access_token,
                               const Headers& headers) {
    Headers h = headers;
    h.emplace_back("Authorization", "Bearer " + access_token);
    return s.get(target, h);
}

bool OAuth2Stack::works(const std::string& access_token, const std::string& target) {
    return call(target, access_token).status == 200;
}

bool OAuth2Stack::healthy() {
    return s.wfhookd.process().running() && s.wfhookd.log_count("starting a new one") == 0;
}

std::string OAuth2Stack::cli(const std::vector<std::string>& args, int* status) {
    std::vector<std::string> argv = {wfhookd_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"-c", s.wfhookd.config_path()});
    const std::string out = s.dir.file("cli-" + std::to_string(cli_runs_++) + ".out");
    Process p(argv, out);
    const int st = p.wait(20s);
    if (status != nullptr)
        *status = st;
    else
        BOOST_TEST(st == 0, "wfhookd " << args.front() << ": " << read_file(out));
    return read_file(out);
}

} // namespace wftest
