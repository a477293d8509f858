#include "util/digest.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace wfhookd {

std::string sha256(std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("SHA-256 failed"); // libcrypto without SHA-256: unusable
    return std::string(reinterpret_cast<const char*>(md), len);
}

} // namespace wfhookd
