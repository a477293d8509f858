// One FastCGI connection as a worker holds it: waiting for a request to arrive whole (a new
// connection, or a kept one between requests), never blocking on it.
//
// The common case costs one extra syscall: the request is looked at with recv(MSG_PEEK), the
// gate scans it, and libfcgi then reads it from the socket itself. A request that has not all
// arrived is taken off the socket record by record (never a byte past its end) and kept here
// until it is whole; the worker meanwhile serves other connections.
#pragma once

#include "server/fcgi_gate.hpp"

#include <cstdint>
#include <string>

namespace wfhookd {

struct Connection {
    Connection(int socket, RequestScanner::Limits limits) : fd(socket), scanner(limits) {}

    int fd;
    RequestScanner scanner;
    std::string taken;          // bytes of the request read off the socket (the slow path)
    bool slow = false;          // `taken` holds the start of the request
    bool kept = false;          // idle between requests on a kept connection
    bool registered = false;    // in the worker's epoll set
    bool read_timeout = false;  // SO_RCVTIMEO set (a body that streams in)
    bool write_timeout = false; // SO_SNDTIMEO set (a large response)
    std::int64_t deadline = 0;  // monotonic ns: the request must be whole by then, or the
                                // idle kept connection closes
    std::int64_t last_used = 0; // for evicting the least recently used kept connection
    // A kept connection whose last request was answered without its body being read: the
    // web server may still send STDIN records of that request (Apache does), which are
    // skipped up to the next BEGIN_REQUEST.
    std::uint16_t leftover_id = 0;
    std::size_t discard_left = 0; // bytes of a skipped record still to come

    // Forgets the request that was served, for the next one on the same connection.
    void next_request();
    bool skipping() const { return leftover_id != 0 || discard_left != 0; }
    // Kept, and no part of another request taken or skipped yet: it may be handed over.
    bool idle() const { return kept && !slow && taken.empty() && !skipping(); }
};

enum class Progress {
    waiting,     // not all here yet: wait for the socket to be readable again
    ready_peek,  // whole (or its body streams): libfcgi reads it from the socket
    ready_taken, // whole (or its body streams), and `taken` holds its start
    closed,      // the peer closed the connection between requests
    failed,      // the peer closed or failed in the middle of a request
    invalid,     // not a request we serve (scanner.error() says why)
};

// Reads what has arrived on `c` without blocking and says where the request stands. `peek`
// is the worker's buffer: as large as the biggest request the gate lets it buffer.
Progress advance(Connection& c, std::string& peek);

} // namespace wfhookd
