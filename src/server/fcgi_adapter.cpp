#include "server/fcgi_adapter.hpp"

#include "http/text.hpp"

#include <charconv>
#include <cstring>
#include <unistd.h>

namespace wfhookd {

namespace {

// The parameters we read, in the order of `Found` below.
enum Param {
    kMethod,
    kDocumentUri,
    kQuery,
    kApiKey,
    kUsername,
    kRemoteAddr,
    kRequestId,
    kContentLength,
    kScriptName,
    kRequestUri,
    kParamCount
};

// Which parameter `name` is, or -1. Called for every parameter of every request: one switch on
// the length and at most two comparisons, rather than a scan of a table.
int param_index(std::string_view name) {
    switch (name.size()) {
    case 10:
        return name == "REQUEST_ID" ? kRequestId : -1;
    case 11:
        if (name == "HTTP_APIKEY") return kApiKey;
        if (name == "REMOTE_ADDR") return kRemoteAddr;
        if (name == "SCRIPT_NAME") return kScriptName;
        return name == "REQUEST_URI" ? kRequestUri : -1;
    case 12:
        if (name == "DOCUMENT_URI") return kDocumentUri;
        return name == "QUERY_STRING" ? kQuery : -1;
    case 13:
        return name == "HTTP_USERNAME" ? kUsername : -1;
    case 14:
        if (name == "REQUEST_METHOD") return kMethod;
        return name == "CONTENT_LENGTH" ? kContentLength : -1;
    default:
        return -1;
    }
}

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

    std::string_view found[kParamCount];
    bool seen[kParamCount] = {};
    for (char** p = req_.envp; *p != nullptr; ++p) {
        const char* eq = std::strchr(*p, '=');
        if (eq == nullptr) continue;
        const int i = param_index(std::string_view(*p, static_cast<std::size_t>(eq - *p)));
        if (i < 0) continue;
        // A header sent twice is ambiguous (which apiKey? which user?): refuse it.
        if (seen[i]) out.malformed = "a request header or parameter was sent twice";
        seen[i] = true;
        found[i] = eq + 1;
    }
    out.method = found[kMethod];
    out.query = found[kQuery];
    out.api_key = found[kApiKey];
    out.username = found[kUsername];
    out.remote_addr = found[kRemoteAddr];
    out.request_id = found[kRequestId];
    // Fall back for front ends that do not send DOCUMENT_URI.
    const std::string_view request_uri = found[kRequestUri];
    out.path = seen[kDocumentUri]            ? found[kDocumentUri]
               : !found[kScriptName].empty() ? found[kScriptName]
                                             : request_uri.substr(0, request_uri.find('?'));
    const std::string_view content_length = found[kContentLength];

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
    head_.assign("Status: ");
    append_decimal(head_, static_cast<std::uint64_t>(res.status));
    head_.push_back(' ');
    head_.append(reason_phrase(res.status));
    head_.append("\r\nContent-Type: application/json; charset=utf-8\r\n"
                 "Cache-Control: no-store\r\n"
                 "X-Content-Type-Options: nosniff\r\n"
                 "Content-Length: ");
    append_decimal(head_, res.body.size());
    head_.append("\r\n");
    if (!res.allow.empty()) {
        head_.append("Allow: ");
        head_.append(res.allow);
        head_.append("\r\n");
    }
    head_.append("\r\n");
    if (req.method != "HEAD") head_.append(res.body);

    // PutStr only buffers; closing the streams writes the answer and the end-of-request
    // records in one write(2). Closed here, in FCGX_Finish_r's order (err, then out), and not
    // by it, because it ignores the result: a peer that hung up must show in the log. (When a
    // step fails, FCGX_Finish_r closes what is left.)
    const bool sent = FCGX_PutStr(head_.data(), static_cast<int>(head_.size()), req_.out) ==
                          static_cast<int>(head_.size()) &&
                      FCGX_FClose(req_.err) == 0 && FCGX_FClose(req_.out) == 0;
    // One request per connection, whatever FCGI_KEEP_CONN said: a pre-forked worker pinned to
    // an idle kept connection stalls everyone else (docs/operations.md).
    req_.keepConnection = 0;
    if (stdin_drained_) FCGX_Detach(&req_);
    FCGX_Finish_r(&req_);
    return sent;
}

} // namespace wfhookd
