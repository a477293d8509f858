#include "http/links.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <ostream>
#include <string>

namespace bdata = boost::unit_test::data;
using wfhookd::LinkSigner;
using wfhookd::Request;

namespace {

const std::string kSecret = "0123456789abcdef0123456789abcdef-the-link-secret";

// The signature computed apart from LinkSigner: libcrypto's one-shot HMAC, then base64url
// without padding (RFC 4648 §5).
std::string expected_signature(const std::string& secret, const std::string& message) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &len);
    unsigned char b64[4 * EVP_MAX_MD_SIZE / 3 + 4];
    const int n = EVP_EncodeBlock(b64, mac, static_cast<int>(len));
    std::string out(reinterpret_cast<const char*>(b64), static_cast<std::size_t>(n));
    for (char& c : out)
        c = c == '+' ? '-' : c == '/' ? '_' : c;
    while (!out.empty() && out.back() == '=')
        out.pop_back();
    return out;
}

struct BaseCase {
    std::string name;
    std::string public_url;
    bool https;
    std::string host, port, path;
    std::string base;
};

std::ostream& operator<<(std::ostream& os, const BaseCase& c) {
    return os << c.name;
}

const BaseCase kBases[] = {
    {"public_url wins", "https://docs.example.com/wf", false, "evil.example", "80", "/x/metadata",
     "https://docs.example.com/wf"},
    {"http on 80: no port", "", false, "h.example", "80", "/wf/metadata", "http://h.example/wf"},
    {"https on 443: no port", "", true, "h.example", "443", "/wf/metadata", "https://h.example/wf"},
    {"https on 8443: port added", "", true, "h.example", "8443", "/wf/metadata",
     "https://h.example:8443/wf"},
    {"host with its port kept as sent", "", false, "h.example:8080", "9999", "/wf/files",
     "http://h.example:8080/wf"},
    {"IPv6 host, port added", "", false, "[::1]", "8080", "/wf/files", "http://[::1]:8080/wf"},
    {"IPv6 host with a port", "", false, "[::1]:8080", "8080", "/wf/files", "http://[::1]:8080/wf"},
    {"endpoint at the root", "", false, "h.example", "80", "/metadata", "http://h.example"},
    {"prefix with a space is encoded", "", false, "h.example", "80", "/my docs/metadata",
     "http://h.example/my%20docs"},
    {"non-numeric port ignored", "", false, "h.example", "8080x", "/wf/metadata",
     "http://h.example/wf"},
    {"no host: no link", "", false, "", "80", "/wf/metadata", ""},
    {"host with a slash: no link", "", false, "evil.example/x", "80", "/wf/metadata", ""},
    {"host with CRLF: no link", "", false, "h.example\r\nX: y", "80", "/wf/metadata", ""},
    {"host with a user: no link", "", false, "u@h.example", "80", "/wf/metadata", ""},
};

} // namespace

BOOST_AUTO_TEST_SUITE(links)

BOOST_AUTO_TEST_CASE(signatures_are_hmac_sha256_of_endpoint_id_and_expiry) {
    const LinkSigner signer(kSecret);
    BOOST_TEST(signer.sign("download", "AbC-d_9", 1780000000) ==
               expected_signature(kSecret, "download\nAbC-d_9\n1780000000"));
}

// One signature after another from the same signer (as a listing signs two links per item):
// each is that message's alone, whatever came before.
BOOST_AUTO_TEST_CASE(each_signature_starts_afresh) {
    const LinkSigner signer(kSecret);
    for (int i = 0; i < 50; ++i) {
        const std::string endpoint = i % 2 == 0 ? "view" : "download";
        const std::string id = "id" + std::to_string(i);
        const std::int64_t expires = 1780000000 + i;
        BOOST_TEST(
            signer.sign(endpoint, id, expires) ==
            expected_signature(kSecret, endpoint + "\n" + id + "\n" + std::to_string(expires)));
    }
}

BOOST_AUTO_TEST_CASE(valid_accepts_only_the_signed_endpoint_id_and_expiry) {
    const LinkSigner signer(kSecret);
    const std::string sig = signer.sign("download", "abc", 1780000000);
    BOOST_TEST(signer.valid("download", "abc", 1780000000, sig));
    BOOST_TEST(!signer.valid("view", "abc", 1780000000, sig));
    BOOST_TEST(!signer.valid("download", "abd", 1780000000, sig));
    BOOST_TEST(!signer.valid("download", "abc", 1780000001, sig));
    BOOST_TEST(!signer.valid("download", "abc", 1780000000, sig.substr(1)));
    BOOST_TEST(!signer.valid("download", "abc", 1780000000, ""));
    const LinkSigner other(kSecret + "x");
    BOOST_TEST(!other.valid("download", "abc", 1780000000, sig));
}

BOOST_AUTO_TEST_CASE(a_signed_link_carries_the_encoded_id_expiry_and_signature) {
    const LinkSigner signer(kSecret);
    BOOST_TEST(wfhookd::signed_link(signer, "https://h.example/wf", "view", "a/b c", 1780000000) ==
               "https://h.example/wf/view?id=a%2Fb%20c&expires=1780000000&sig=" +
                   expected_signature(kSecret, "view\na/b c\n1780000000"));
}

BOOST_AUTO_TEST_CASE(percent_encoding_keeps_only_unreserved_bytes) {
    std::string out;
    wfhookd::append_percent_encoded(out, "Az09-._~ /?#%\"\xC3\xA9\n");
    BOOST_TEST(out == "Az09-._~%20%2F%3F%23%25%22%C3%A9%0A");
    out.clear();
    wfhookd::append_percent_encoded(out, "/a b/c", true);
    BOOST_TEST(out == "/a%20b/c");
}

BOOST_DATA_TEST_CASE(link_base_from_the_request, bdata::make(kBases), c) {
    Request req;
    req.https = c.https;
    req.host = c.host;
    req.server_port = c.port;
    req.path = c.path;
    BOOST_TEST(wfhookd::link_base(c.public_url, req) == c.base);
}

BOOST_AUTO_TEST_SUITE_END()
