// [oauth2]: Workfront's OAuth2 authentication type (docs/configuration.md, docs/deployment.md).
#include "config/loader.hpp"

#include <cctype>

namespace wfhookd {

namespace {

// The redirect URI must be an absolute https URL without a fragment; plain http only to a
// loopback host (tests, a local Workfront stand-in).
bool valid_redirect(std::string_view uri) {
    if (uri.size() > 2048 || uri.find('#') != std::string_view::npos) return false;
    for (const char c : uri)
        if (c <= ' ' || c == 0x7f) return false;
    std::string_view rest;
    if (uri.starts_with("https://")) {
        rest = uri.substr(8);
    } else if (uri.starts_with("http://")) {
        rest = uri.substr(7);
        const std::string_view host = rest.substr(0, rest.find_first_of("/?"));
        const std::string_view name = host.starts_with("[") ? host.substr(0, host.find(']') + 1)
                                                            : host.substr(0, host.find(':'));
        if (name != "127.0.0.1" && name != "localhost" && name != "[::1]") return false;
    } else {
        return false;
    }
    const std::string_view host = rest.substr(0, rest.find_first_of("/?"));
    return !host.empty() && host.find('@') == std::string_view::npos;
}

bool valid_param_name(std::string_view v) {
    if (v.empty() || v.size() > 64) return false;
    for (const char c : v)
        if (!(std::isupper(static_cast<unsigned char>(c)) ||
              std::isdigit(static_cast<unsigned char>(c)) || c == '_'))
            return false;
    return true;
}

} // namespace

void Loader::oauth2(const pt::ptree& node) {
    OAuth2Config& o = c_.oauth2;
    o.enabled = true;
    constexpr std::string_view kSec = "oauth2";
    const auto ttl = [&](const std::string& key, const std::string& v, std::uint64_t& out,
                         std::uint64_t max) {
        std::uint64_t n = 0;
        if (!parse_duration(v, n) || n < 1 || n > max)
            key_error(kSec, key,
                      fmt::format("\"{}\" is not a duration from 1 s to {} days (seconds, or with "
                                  "an s, m, h or d suffix)",
                                  v, max / 86400));
        else
            out = n;
    };
    keys(kSec, node, [&](const std::string& key, const std::string& v) {
        if (key == "client_id") {
            bool ok = !v.empty() && v.size() <= 255;
            for (const char c : v)
                ok = ok && c > ' ' && c < 0x7f;
            if (!ok) key_error(kSec, key, "must be 1 to 255 printable ASCII characters, no spaces");
            o.client_id = v;
        } else if (key == "client_secret_file") {
            o.client_secret_file = v;
        } else if (key == "redirect_uri") {
            if (!valid_redirect(v))
                key_error(kSec, key,
                          fmt::format("\"{}\" is not an absolute https:// URL without a fragment "
                                      "(copy the Workfront Redirect URI from Workfront's setup "
                                      "page; http:// only to 127.0.0.1 or localhost)",
                                      v));
            o.redirect_uri = v;
        } else if (key == "access_token_ttl") {
            ttl(key, v, o.access_token_ttl, 86400);
        } else if (key == "refresh_token_ttl") {
            ttl(key, v, o.refresh_token_ttl, 3650ull * 86400);
        } else if (key == "code_ttl") {
            ttl(key, v, o.code_ttl, 3600);
        } else if (key == "user_header") {
            if (!valid_param_name(v))
                key_error(kSec, key,
                          fmt::format("\"{}\" is not a FastCGI parameter name (upper case, digits "
                                      "and _, such as REMOTE_USER or HTTP_X_REMOTE_USER)",
                                      v));
            else if (v == "HTTP_AUTHORIZATION" || v == "HTTP_APIKEY" || v == "HTTP_USERNAME")
                key_error(kSec, key, fmt::format("{} is a request header a client sets itself", v));
            o.user_header = v;
        } else if (key == "database") {
            o.database = v;
        }
    });
    if (o.client_id.empty())
        key_error(kSec, "client_id", "required: the Client ID entered in Workfront");
    if (o.redirect_uri.empty())
        key_error(kSec, "redirect_uri",
                  "required: the Workfront Redirect URI shown on Workfront's setup page");
    if (o.client_secret_file.empty())
        key_error(kSec, "client_secret_file",
                  "required: a file with a random secret of at least 32 bytes, mode 0640 (the "
                  "Client Secret entered in Workfront)");
    else
        read_secret(kSec, "client_secret_file", o.client_secret_file, 32, o.client_secret);
    // The database's folder is checked in Loader::run: only without a store is it used.
    if (o.database.empty() || o.database.front() != '/')
        key_error(kSec, "database", fmt::format("\"{}\" is not an absolute path", o.database));
}

} // namespace wfhookd
