#include "server/connection.hpp"

#include <algorithm>
#include <cerrno>
#include <sys/socket.h>

namespace wfhookd {

namespace {

bool would_block(int err) {
    return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

} // namespace

void Connection::next_request() {
    scanner = RequestScanner(scanner.limits());
    taken.clear();
    slow = false;
}

// Skips what is left of the previous request's body: its STDIN records, up to the first
// record of anything else (the next BEGIN_REQUEST, which the scanner then checks).
Progress skip_leftover(Connection& c, std::string& scratch) {
    while (c.skipping()) {
        if (c.discard_left > 0) {
            const ssize_t n =
                recv(c.fd, scratch.data(), std::min(c.discard_left, scratch.size()), MSG_DONTWAIT);
            if (n == 0) return Progress::closed;
            if (n < 0) return would_block(errno) ? Progress::waiting : Progress::failed;
            c.discard_left -= static_cast<std::size_t>(n);
            continue;
        }
        unsigned char h[fcgi::kHeaderSize];
        const ssize_t n = recv(c.fd, h, sizeof h, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0) return Progress::closed;
        if (n < 0) return would_block(errno) ? Progress::waiting : Progress::failed;
        if (static_cast<std::size_t>(n) < sizeof h) return Progress::waiting;
        const std::uint16_t id = std::uint16_t((h[2] << 8) | h[3]);
        if (h[0] != fcgi::kVersion || h[1] != fcgi::kStdin || id != c.leftover_id) {
            c.leftover_id = 0;
            break;
        }
        const std::size_t content = (std::size_t(h[4]) << 8) | h[5];
        c.discard_left = sizeof h + content + h[6];
        if (content == 0) c.leftover_id = 0; // the end of that body: after it, a new request
    }
    return Progress::waiting;
}

Progress advance(Connection& c, std::string& peek) {
    if (c.skipping()) {
        const Progress p = skip_leftover(c, peek);
        if (c.skipping()) return p;
    }
    if (!c.slow) {
        const ssize_t n = recv(c.fd, peek.data(), peek.size(), MSG_PEEK | MSG_DONTWAIT);
        if (n == 0) return Progress::closed;
        if (n < 0) return would_block(errno) ? Progress::waiting : Progress::failed;
        c.scanner = RequestScanner(c.scanner.limits());
        c.scanner.feed(peek.data(), static_cast<std::size_t>(n));
        if (c.scanner.invalid()) return Progress::invalid;
        if (c.scanner.complete() || (c.scanner.ready() && !c.scanner.keep_conn()))
            return Progress::ready_peek;
        // A body that streams on a connection to be kept: the parameters are taken off the
        // socket exactly, so that if the body is never read, the socket is known to be at a
        // record boundary (FcgiAdapter::Finished::leftover).
        const std::size_t have = c.scanner.ready() ? c.scanner.params_end() : c.scanner.consumed();
        // Not all here: take what was scanned off the socket (it is there), and go on from
        // there record by record.
        c.taken.resize(have);
        std::size_t got = 0;
        while (got < have) {
            const ssize_t r = recv(c.fd, c.taken.data() + got, have - got, MSG_DONTWAIT);
            if (r <= 0) {
                c.taken.clear();
                return Progress::failed;
            }
            got += static_cast<std::size_t>(r);
        }
        c.slow = true;
        if (c.scanner.ready()) return Progress::ready_taken;
    }
    for (;;) {
        const std::size_t want = c.scanner.readable();
        if (want == 0) break;
        const std::size_t old = c.taken.size();
        c.taken.resize(old + want);
        const ssize_t n = recv(c.fd, c.taken.data() + old, want, MSG_DONTWAIT);
        c.taken.resize(old + static_cast<std::size_t>(n > 0 ? n : 0));
        if (n == 0) return Progress::failed; // closed half-way through a request
        if (n < 0) return would_block(errno) ? Progress::waiting : Progress::failed;
        c.scanner.feed(c.taken.data() + old, static_cast<std::size_t>(n));
        if (c.scanner.invalid()) return Progress::invalid;
    }
    return c.scanner.ready() ? Progress::ready_taken : Progress::waiting;
}

} // namespace wfhookd
