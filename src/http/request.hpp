// The plain request and response types every handler works on. Only fcgi_adapter.cpp knows
// libfcgi; tests and fuzzers build these directly.
#pragma once

#include <cstdint>
#include <string_view>

namespace wfhookd {

// Views into the FastCGI parameters of the request being served: valid until the response has
// been written.
struct Request {
    std::string_view method;      // REQUEST_METHOD
    std::string_view path;        // DOCUMENT_URI (nginx: normalised, percent-decoded)
    std::string_view query;       // QUERY_STRING, raw
    std::string_view api_key;     // header apiKey
    std::string_view username;    // header username
    std::string_view remote_addr; // REMOTE_ADDR (the HTTP client, as nginx saw it)
    std::string_view request_id;  // REQUEST_ID, nginx's $request_id when passed
    std::uint64_t content_length = 0;
    std::string_view body; // read in full when content_length <= max_body_size
    // Set by the adapter when the FastCGI parameters themselves are unusable (a header sent
    // twice, a CONTENT_LENGTH that is not a number); answered with 400 before routing.
    std::string_view malformed;
};

} // namespace wfhookd
