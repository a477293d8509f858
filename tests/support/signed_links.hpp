// Links signed by the tests themselves, independently of wfhookd's code (src/http/links.cpp):
// HMAC-SHA-256 over "endpoint \n id \n expires" with the link secret, base64url without
// padding. A test that signs with wfhookd's own signer would pass with any signature scheme.
#pragma once

#include <cstdint>
#include <string>

namespace wftest {

// The signature alone, for tests that mix one link's parts with another's.
std::string link_signature(const std::string& secret, const std::string& endpoint,
                           const std::string& id, std::int64_t expires);
// A link's target under the test stack's prefix: /wf/<endpoint>?id=…&expires=…&sig=…
std::string link_target(const std::string& endpoint, const std::string& id, std::int64_t expires,
                        const std::string& sig);
// Both: a link as a browser would get it.
std::string signed_link(const std::string& secret, const std::string& endpoint,
                        const std::string& id, std::int64_t expires);

} // namespace wftest
