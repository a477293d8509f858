// The plain request type every handler works on. Only server/fcgi_adapter.cpp knows libfcgi;
// tests and fuzzers build these directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace wfhookd {

// The request body as it streams in (uploads); the adapter implements it over FCGI_STDIN.
class BodySource {
public:
    virtual ~BodySource() = default;
    // Reads up to `size` bytes into `buf`: the number read, 0 at the end of the body, -1 when
    // the peer went away or stalled (io_timeout).
    virtual long read(char* buf, std::size_t size) = 0;
};

// Views into the FastCGI parameters of the request being served: valid until the response has
// been written.
struct Request {
    std::string_view method; // REQUEST_METHOD
    // The path the endpoint is taken from: DOCUMENT_URI, else SCRIPT_NAME + PATH_INFO, else
    // the percent-decoded path of REQUEST_URI (server/fcgi_params.cpp).
    std::string_view path;
    std::string_view query;         // QUERY_STRING, raw
    std::string_view api_key;       // header apiKey
    std::string_view username;      // header username
    std::string_view authorization; // header Authorization (never logged)
    std::string_view remote_addr;   // REMOTE_ADDR (the HTTP client, as the web server saw it)
    std::string_view request_id;    // REQUEST_ID, nginx's $request_id when passed
    std::string_view content_type;  // CONTENT_TYPE
    // What links back to this service are built from (http/links.cpp).
    std::string_view host;        // HTTP_HOST
    std::string_view server_port; // SERVER_PORT
    bool https = false;           // HTTPS=on, or REQUEST_SCHEME=https
    // Conditional and partial requests (downloads).
    std::string_view if_none_match; // If-None-Match
    std::string_view range;         // Range
    std::string_view if_range;      // If-Range
    // Where a browser's form post came from (the OAuth2 consent page).
    std::string_view origin;  // Origin
    std::string_view referer; // Referer
    // The parameter [oauth2] user_header names (REMOTE_USER by default): who the web server
    // authenticated. Only /oauth2/authorize ever reads it.
    std::string_view remote_user;

    // CONTENT_LENGTH; -1 when unknown (absent, empty or -1, with a body: chunked input).
    std::int64_t content_length = 0;
    std::string_view body;             // the body, when the router read it in full
    BodySource* body_source = nullptr; // the body as it streams in; null in unit tests
    // Set by the adapter when the FastCGI parameters themselves are unusable (a header sent
    // twice with different values, a CONTENT_LENGTH that is not a number); answered with 400
    // before routing.
    std::string_view malformed;
};

} // namespace wfhookd
