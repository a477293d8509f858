#include "http/links.hpp"

#include "api/auth.hpp"
#include "http/text.hpp"
#include "util/base64.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdexcept>

namespace wfhookd {

// The HMAC key is set once per worker. Each signature re-initialises the same context without
// a key, which makes libcrypto start again from the keyed state it kept (no allocation; a
// copy of the context per signature cost twice as much, and a listing signs two links per
// item). A worker is one thread: the context is never shared.
struct LinkSigner::Impl {
    EVP_MAC* mac = nullptr;
    EVP_MAC_CTX* ctx = nullptr;
    ~Impl() {
        EVP_MAC_CTX_free(ctx);
        EVP_MAC_free(mac);
    }
};

LinkSigner::LinkSigner(std::string_view secret) : impl_(std::make_unique<Impl>()) {
    impl_->mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    impl_->ctx = impl_->mac != nullptr ? EVP_MAC_CTX_new(impl_->mac) : nullptr;
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_END};
    if (impl_->ctx == nullptr ||
        EVP_MAC_init(impl_->ctx, reinterpret_cast<const unsigned char*>(secret.data()),
                     secret.size(), params) != 1)
        throw std::runtime_error("libcrypto: HMAC-SHA-256 is not available");
}

LinkSigner::~LinkSigner() = default;

std::string LinkSigner::sign(std::string_view endpoint, std::string_view id,
                             std::int64_t expires) const {
    std::string message(endpoint);
    message.push_back('\n');
    message.append(id);
    message.push_back('\n');
    append_decimal(message, static_cast<std::uint64_t>(expires));
    unsigned char out[EVP_MAX_MD_SIZE];
    std::size_t len = 0;
    const bool ok =
        EVP_MAC_init(impl_->ctx, nullptr, 0, nullptr) == 1 &&
        EVP_MAC_update(impl_->ctx, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) == 1 &&
        EVP_MAC_final(impl_->ctx, out, &len, sizeof out) == 1;
    if (!ok) throw std::runtime_error("libcrypto: HMAC failed");
    return base64url_encode(std::string_view(reinterpret_cast<const char*>(out), len));
}

bool LinkSigner::valid(std::string_view endpoint, std::string_view id, std::int64_t expires,
                       std::string_view sig) const {
    return constant_time_equal(sig, sign(endpoint, id, expires));
}

void append_percent_encoded(std::string& out, std::string_view s, bool keep_slash) {
    static constexpr char hex[] = "0123456789ABCDEF";
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
}

namespace {

// A host as a web server passes it: a name, an IPv4 address or a bracketed IPv6 address, and
// an optional port. Anything else (a header injection, a path) makes no link.
bool plausible_host(std::string_view host) {
    if (host.empty() || host.size() > 255) return false;
    for (const char c : host)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_'))
            return false;
    return true;
}

bool has_port(std::string_view host) {
    const auto bracket = host.rfind(']');
    const auto colon = host.rfind(':');
    return colon != std::string_view::npos &&
           (bracket == std::string_view::npos || colon > bracket);
}

} // namespace

std::string link_base(std::string_view public_url, const Request& req) {
    if (!public_url.empty()) return std::string(public_url);
    if (!plausible_host(req.host)) return {};
    std::string base = req.https ? "https://" : "http://";
    base.append(req.host);
    // nginx's $host (Debian's fastcgi_params) has no port: add the server's unless it is the
    // scheme's default.
    const std::string_view default_port = req.https ? "443" : "80";
    if (!has_port(req.host) && !req.server_port.empty() && req.server_port != default_port &&
        req.server_port.find_first_not_of("0123456789") == std::string_view::npos) {
        base.push_back(':');
        base.append(req.server_port);
    }
    // The path prefix: the request's path without its last segment (the endpoint).
    std::string_view path = req.path;
    while (!path.empty() && path.back() == '/')
        path.remove_suffix(1);
    const auto slash = path.rfind('/');
    path = slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
    while (!path.empty() && path.back() == '/')
        path.remove_suffix(1);
    append_percent_encoded(base, path, true);
    return base;
}

std::string signed_link(const LinkSigner& signer, std::string_view base, std::string_view endpoint,
                        std::string_view id, std::int64_t expires) {
    std::string url(base);
    url.push_back('/');
    url.append(endpoint);
    url.append("?id=");
    append_percent_encoded(url, id);
    url.append("&expires=");
    append_decimal(url, static_cast<std::uint64_t>(expires));
    url.append("&sig=");
    url.append(signer.sign(endpoint, id, expires));
    return url;
}

} // namespace wfhookd
