// The one place that knows libfcgi: turns a connected FastCGI socket into a Request and a
// Response back into FastCGI records.
//
// We accept connections ourselves (worker.cpp) and hand each connected socket to libfcgi as
// if it were a kept-open connection (FCGX_Request::ipcFd with keepConnection set), with the
// request's listen socket set to -1 so libfcgi never calls accept() itself. That keeps every
// blocking call inside a request running with signals blocked (libfcgi's reads and writes do
// not retry on EINTR), lets us filter peers (allow_from) and set socket timeouts before the
// first byte is read, and skips libfcgi's 2-second wait on silent unix-socket connections.
// These fields are marked "don't use" in fcgiapp.h; Debian 12 pins libfcgi 2.4.2 and
// tests/unit/fcgi_adapter_test.cpp pins the behaviour we rely on.
#pragma once

#include "http/request.hpp"
#include "http/response.hpp"

#include <cstddef>
#include <fcgiapp.h>
#include <string>

namespace wfhookd {

class FcgiAdapter {
public:
    FcgiAdapter();
    ~FcgiAdapter();
    FcgiAdapter(const FcgiAdapter&) = delete;
    FcgiAdapter& operator=(const FcgiAdapter&) = delete;

    // Takes ownership of `fd` and reads one request from it. Returns false when the peer sent
    // no usable FastCGI request (garbage, truncated records, an I/O timeout); `fd` is closed.
    // On true, `out` views the request's parameters until finish().
    bool read_request(int fd, std::size_t max_body_size, Request& out);

    // Writes the response (CGI headers + JSON body; no body for HEAD), ends the request and
    // closes the connection. Returns false when the peer was gone before it was all written.
    bool finish(const Request& req, const Response& res);

private:
    FCGX_Request req_{};
    std::string head_; // reused header buffer
    std::string body_; // reused request body buffer
    bool stdin_drained_ = false;
};

// libfcgi process-wide init (idempotent). Install signal dispositions before calling it:
// libfcgi only installs its own handlers where a signal is still SIG_DFL.
bool fcgi_init();

} // namespace wfhookd
