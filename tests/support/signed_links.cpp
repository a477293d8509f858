#include "support/signed_links.hpp"

#include "support/stack.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace wftest {

namespace {

std::string base64url(const unsigned char* p, std::size_t n) {
    static constexpr char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        const unsigned v = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
        out += {a[(v >> 18) & 63], a[(v >> 12) & 63], a[(v >> 6) & 63], a[v & 63]};
    }
    if (n - i == 1) {
        const unsigned v = p[i] << 16;
        out += {a[(v >> 18) & 63], a[(v >> 12) & 63]};
    } else if (n - i == 2) {
        const unsigned v = (p[i] << 16) | (p[i + 1] << 8);
        out += {a[(v >> 18) & 63], a[(v >> 12) & 63], a[(v >> 6) & 63]};
    }
    return out;
}

} // namespace

std::string link_signature(const std::string& secret, const std::string& endpoint,
                           const std::string& id, std::int64_t expires) {
    const std::string msg = endpoint + "\n" + id + "\n" + std::to_string(expires);
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out, &len);
    return base64url(out, len);
}

std::string link_target(const std::string& endpoint, const std::string& id, std::int64_t expires,
                        const std::string& sig) {
    return "/wf/" + endpoint + "?id=" + url_encode(id) + "&expires=" + std::to_string(expires) +
           "&sig=" + sig;
}

std::string signed_link(const std::string& secret, const std::string& endpoint,
                        const std::string& id, std::int64_t expires) {
    return link_target(endpoint, id, expires, link_signature(secret, endpoint, id, expires));
}

} // namespace wftest
