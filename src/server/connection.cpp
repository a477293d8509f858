#include "server/connection.hpp"

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

Progress advance(Connection& c, std::string& peek) {
    if (!c.slow) {
        const ssize_t n = recv(c.fd, peek.data(), peek.size(), MSG_PEEK | MSG_DONTWAIT);
        if (n == 0) return Progress::closed;
        if (n < 0) return would_block(errno) ? Progress::waiting : Progress::failed;
        c.scanner = RequestScanner(c.scanner.limits());
        c.scanner.feed(peek.data(), static_cast<std::size_t>(n));
        if (c.scanner.invalid()) return Progress::invalid;
        if (c.scanner.ready()) return Progress::ready_peek;
        // Not all here: take what was scanned off the socket (it is there), and go on from
        // there record by record.
        const std::size_t have = c.scanner.consumed();
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
