// Links a user's browser opens (viewLink, downloadLink): signed, expiring URLs that need no
// apiKey. SIG = base64url(HMAC-SHA-256(secret, endpoint "\n" id "\n" expires)), made with
// libcrypto; the signature covers which endpoint, which item and until when, so a link cannot
// be reused for another item or another endpoint, nor past its time.
#pragma once

#include "http/request.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace wfhookd {

class LinkSigner {
public:
    explicit LinkSigner(std::string_view secret);
    ~LinkSigner();
    LinkSigner(const LinkSigner&) = delete;
    LinkSigner& operator=(const LinkSigner&) = delete;

    std::string sign(std::string_view endpoint, std::string_view id, std::int64_t expires) const;
    // True when `sig` is the signature of (endpoint, id, expires); compared in constant time.
    bool valid(std::string_view endpoint, std::string_view id, std::int64_t expires,
               std::string_view sig) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The base URL links are built on: [store] public_url when set, else the request's own
// scheme, host (and port, when not the scheme's default) and path prefix (the path without
// its endpoint), so that a service behind /wf/ on port 8443 links to https://host:8443/wf.
// Empty when the request names no usable host.
std::string link_base(std::string_view public_url, const Request& req);

// base + "/" + endpoint + "?id=…&expires=…&sig=…"
std::string signed_link(const LinkSigner& signer, std::string_view base, std::string_view endpoint,
                        std::string_view id, std::int64_t expires);

// Percent-encodes every byte outside the unreserved set (RFC 3986: A-Z a-z 0-9 - . _ ~);
// `keep_slash` leaves '/' as it is (paths).
void append_percent_encoded(std::string& out, std::string_view s, bool keep_slash = false);

} // namespace wfhookd
