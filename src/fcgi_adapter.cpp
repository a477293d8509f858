#include "fcgi_adapter.hpp"

#include <charconv>
#include <cstring>
#include <fmt/format.h>
#include <unistd.h>

namespace wfhookd {

namespace {

// Parameters we read, matched while walking libfcgi's "NAME=value" array once.
struct ParamTarget {
    std::string_view name;
    std::string_view Request::*field;
};

constexpr ParamTarget kTargets[] = {
    {"REQUEST_METHOD", &Request::method},  {"DOCUMENT_URI", &Request::path},
    {"QUERY_STRING", &Request::query},     {"HTTP_APIKEY", &Request::api_key},
    {"HTTP_USERNAME", &Request::username}, {"REMOTE_ADDR", &Request::remote_addr},
    {"REQUEST_ID", &Request::request_id},
};

} // namespace

bool fcgi_init() {
    return FCGX_Init() == 0;
}

FcgiAdapter::FcgiAdapter() {
    FCGX_InitRequest(&req_, -1, 0);
}

FcgiAdapter::~FcgiAdapter() {
    // A request read but never finished: free libfcgi's streams and parameters too (a no-op
    // otherwise), and close without its lingering close.
    FCGX_Free(&req_, 0);
    if (req_.ipcFd >= 0) close(req_.ipcFd);
}

bool FcgiAdapter::read_request(int fd, std::size_t max_body_size, Request& out) {
    out = Request{};
    stdin_drained_ = false;
    req_.ipcFd = fd;
    req_.keepConnection = 1; // see the header: makes FCGX_Accept_r read from `fd`
    if (FCGX_Accept_r(&req_) < 0) {
        // libfcgi closed `fd` and then failed to accept on listen socket -1, as intended.
        req_.ipcFd = -1;
        return false;
    }
    // libfcgi ends the parameters at a read error (a timeout, a peer that hung up half-way)
    // as if they were complete. A request cut short is not a request: drop it unanswered,
    // without libfcgi's lingering close (the peer is stalled or gone).
    if (FCGX_GetError(req_.in) != 0) {
        FCGX_Detach(&req_);
        FCGX_Free(&req_, 1);
        return false;
    }

    std::string_view script_name, request_uri, content_length;
    bool seen[std::size(kTargets)] = {};
    for (char** p = req_.envp; *p != nullptr; ++p) {
        const std::string_view kv(*p);
        const auto eq = kv.find('=');
        if (eq == std::string_view::npos) continue;
        const std::string_view name = kv.substr(0, eq), value = kv.substr(eq + 1);
        if (name == "CONTENT_LENGTH") {
            content_length = value;
        } else if (name == "SCRIPT_NAME") {
            script_name = value;
        } else if (name == "REQUEST_URI") {
            request_uri = value;
        } else {
            for (std::size_t i = 0; i < std::size(kTargets); ++i) {
                if (name != kTargets[i].name) continue;
                // A header sent twice is ambiguous (which apiKey? which user?): refuse it.
                if (seen[i]) out.malformed = "a request header or parameter was sent twice";
                seen[i] = true;
                out.*kTargets[i].field = value;
            }
        }
    }
    // Fall back for front ends that do not send DOCUMENT_URI.
    if (!seen[1])
        out.path =
            !script_name.empty() ? script_name : request_uri.substr(0, request_uri.find('?'));

    if (!content_length.empty()) {
        const auto [p, ec] =
            std::from_chars(content_length.data(), content_length.data() + content_length.size(),
                            out.content_length);
        if (ec != std::errc() || p != content_length.data() + content_length.size())
            out.malformed = "CONTENT_LENGTH is not a number";
    }
    if (out.content_length > max_body_size) return true; // answered 413 without reading it

    // Read the body (if any) and the end of FCGI_STDIN. Having consumed everything the web
    // server sent, we may close without libfcgi's lingering close (FCGX_Detach in finish()).
    body_.resize(out.content_length);
    std::size_t got = 0;
    while (got < body_.size()) {
        const int n =
            FCGX_GetStr(body_.data() + got, static_cast<int>(body_.size() - got), req_.in);
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
    }
    if (got < body_.size()) {
        body_.resize(got);
        if (out.malformed.empty()) out.malformed = "request body ended before CONTENT_LENGTH bytes";
    }
    out.body = body_;
    // Anything past CONTENT_LENGTH (a front end that streams bodies without one) is read
    // and dropped, up to the same limit.
    char extra[4096];
    std::size_t dropped = 0;
    while (dropped <= max_body_size) {
        const int n = FCGX_GetStr(extra, sizeof extra, req_.in);
        if (n <= 0) break;
        dropped += static_cast<std::size_t>(n);
    }
    if (dropped > max_body_size) {
        out.content_length = out.content_length + dropped;
        return true;
    }
    stdin_drained_ = FCGX_GetError(req_.in) == 0 && FCGX_HasSeenEOF(req_.in) == EOF;
    return true;
}

bool FcgiAdapter::finish(const Request& req, const Response& res) {
    head_.clear();
    fmt::format_to(std::back_inserter(head_),
                   "Status: {} {}\r\n"
                   "Content-Type: application/json; charset=utf-8\r\n"
                   "Cache-Control: no-store\r\n"
                   "X-Content-Type-Options: nosniff\r\n"
                   "Content-Length: {}\r\n",
                   res.status, reason_phrase(res.status), res.body.size());
    if (!res.allow.empty()) fmt::format_to(std::back_inserter(head_), "Allow: {}\r\n", res.allow);
    head_.append("\r\n");
    if (req.method != "HEAD") head_.append(res.body);

    // Written in one piece with the end-of-request records by FCGX_Finish_r (one write(2)).
    const bool sent = FCGX_PutStr(head_.data(), static_cast<int>(head_.size()), req_.out) ==
                          static_cast<int>(head_.size()) &&
                      FCGX_GetError(req_.out) == 0;
    // One request per connection, whatever FCGI_KEEP_CONN said: a pre-forked worker pinned to
    // an idle kept connection stalls everyone else (docs/operations.md).
    req_.keepConnection = 0;
    if (stdin_drained_) FCGX_Detach(&req_);
    FCGX_Finish_r(&req_);
    return sent;
}

} // namespace wfhookd
