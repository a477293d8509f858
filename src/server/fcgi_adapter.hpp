// The one place that knows libfcgi: a connection whose request the gate (fcgi_gate.hpp) has
// let through becomes a Request, and a Response becomes FastCGI records.
//
// libfcgi is used as a codec. The worker accepts connections itself and hands libfcgi a
// connected socket as if it were a kept-open connection (FCGX_Request::ipcFd with
// keepConnection set, the listen socket -1), so libfcgi never accepts, never closes the
// socket and never does its lingering close: the connection's life is the worker's (keep-conn,
// idle timeouts). When the worker had to read part of a request itself (a peer that sent it
// slowly), those bytes reach libfcgi through a pipe, and the socket takes over for the rest;
// libfcgi reads and writes `ipcFd` afresh on every call, which makes the hand-over exact.
// These fields are marked "don't use" in fcgiapp.h; Debian 12 pins libfcgi 2.4.2 and
// tests/unit/server/fcgi_adapter_test.cpp pins the behaviour we rely on.
#pragma once

#include "http/request.hpp"
#include "http/response.hpp"
#include "server/fcgi_params.hpp"
#include "util/fs.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <fcgiapp.h>
#include <string>

namespace wfhookd {

class FcgiAdapter : public BodySource {
public:
    // `user_param`: see ParamReader. `pipe_size`: the most bytes the worker reads itself
    // before handing a request over (the gate's limits).
    FcgiAdapter(std::string user_param, std::size_t pipe_size);
    ~FcgiAdapter() override;
    FcgiAdapter(const FcgiAdapter&) = delete;
    FcgiAdapter& operator=(const FcgiAdapter&) = delete;

    // False when the pipe could not be made (the worker cannot start).
    bool ok() const { return pipe_read_.get() >= 0; }
    // The pipe's capacity: requests the gate lets the worker buffer must fit in it.
    std::size_t pipe_capacity() const { return pipe_capacity_; }

    // Starts the request on connection `fd`, which stays the caller's. `taken` are the bytes
    // of the request the worker has read from `fd` already (empty: libfcgi reads it all from
    // the socket); `whole` says they are the entire request. On true, `out` views the
    // request's parameters until finish(); `conflict` names a server parameter that was sent
    // twice with different values (see ParamReader). On false the connection is unusable;
    // fd_lost() says whether libfcgi closed it.
    bool begin(int fd, std::string_view taken, bool whole, Request& out,
               std::string_view& conflict);
    bool fd_lost() const { return fd_lost_; }

    // Where reading the body and streaming a file record that they are making progress (the
    // worker's scoreboard slot: request_timeout counts from the last progress), or null.
    void set_progress(std::atomic<std::int64_t>* progress) { progress_ = progress; }

    // The request body (BodySource): what the peer sends on FCGI_STDIN.
    long read(char* buf, std::size_t size) override;

    struct Finished {
        bool sent = false;     // the whole response reached the socket
        bool reusable = false; // the connection may carry another request
        // Reusable, but the body was not read at all: what the web server still sends of it
        // (STDIN records of this request) comes before the next BEGIN_REQUEST and is skipped
        // there (Connection::leftover_id).
        bool leftover = false;
    };
    // Writes the response (CGI headers, then the body or the file; no body for HEAD) and the
    // end of the request. With `keep` (the connection is to carry another request): a body
    // libfcgi began to read is read to its end first, up to a bound (after END_REQUEST a web
    // server may send the next request at once, and libfcgi's buffered reads would take part
    // of it); a body nobody read is left on the socket, where it ends at a record boundary.
    Finished finish(const Request& req, Response& res, bool keep);

private:
    bool make_pipe();
    bool drain_stdin(std::size_t limit, std::int64_t deadline_ns);
    bool put(std::string_view bytes);

    FCGX_Request req_{};
    ParamReader params_;
    Fd pipe_read_, pipe_write_;
    std::size_t pipe_size_;
    std::size_t pipe_capacity_ = 0;
    int socket_ = -1;
    std::atomic<std::int64_t>* progress_ = nullptr;
    bool fd_lost_ = false;
    bool stdin_eof_ = false;
    bool read_error_ = false;
    // libfcgi has read nothing from the socket past the parameters (they came through the
    // pipe, and the body was never asked for).
    bool socket_untouched_ = false;
    bool whole_ = false; // the request had arrived whole when it began
    std::string head_;   // reused header buffer
    std::string chunk_;  // reused buffer for streamed files
};

// libfcgi process-wide init (idempotent). Install signal dispositions before calling it:
// libfcgi only installs its own handlers where a signal is still SIG_DFL.
bool fcgi_init();

} // namespace wfhookd
