// libFuzzer target: the FastCGI adapter (and libfcgi under it) reading arbitrary bytes from a
// connected socket, then answering. Two known libfcgi 2.4.2 bugs are kept out of the way so
// the fuzzer can look for new ones:
// - it leaks on management records (fixed upstream after 2.4.2; nginx never sends them):
//   run with -detect_leaks=0;
// - ReadParams checks each name/value length against INT_MAX but not their sum, so two
//   lengths near 2^31 overflow `int`, malloc gets a huge size and libfcgi writes through the
//   NULL it returns (SIGSEGV in the worker; the master replaces it, see docs/operations.md):
//   inputs that reach it are skipped.
#include "server/fcgi_adapter.hpp"
#include "server/fcgi_gate.hpp"

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    std::signal(SIGPIPE, SIG_IGN);
    // libfcgi's lingering close waits up to 2 s for the peer to hang up; ours never does
    // before the call returns. Read once by FCGX_Init.
    setenv("LIBFCGI_OS_CLOSE_POLL_TIMEOUT", "1", 1);
    if (!wfhookd::fcgi_init()) std::abort();
    return 0;
}

namespace {

// Walks the records and the name-value pairs of FCGI_PARAMS content, as libfcgi will, and
// says whether a pair's lengths add up past INT_MAX (libfcgi's unchecked sum), or past 1 MiB:
// libfcgi allocates what a pair claims, and ASan's work on gigabyte allocations would slow
// the fuzzer to a crawl (absurd lengths are covered by tests/e2e/hostile_input_test.cpp).
bool skip_input(const std::uint8_t* data, std::size_t size) {
    // Name-value pairs as libfcgi's ReadParams decodes them; true when one claims too much.
    const auto claims_too_much = [](std::string_view params) {
        const auto* p = reinterpret_cast<const unsigned char*>(params.data());
        std::size_t i = 0;
        const auto length = [&](std::uint64_t& out) {
            if (i >= params.size()) return false;
            if ((p[i] & 0x80) == 0) {
                out = p[i++];
                return true;
            }
            if (i + 4 > params.size()) return false;
            out =
                (std::uint64_t(p[i] & 0x7F) << 24) | (p[i + 1] << 16) | (p[i + 2] << 8) | p[i + 3];
            i += 4;
            return true;
        };
        std::uint64_t name = 0, value = 0;
        while (length(name) && length(value)) {
            if (name + value + 2 > (1u << 20)) return true;
            i += name + value;
        }
        return false;
    };
    // The records as libfcgi 2.4.2 walks them: the first BEGIN_REQUEST's padding is not skipped
    // (its reader is reset right after the body), PARAMS of other request ids are skipped, a
    // GET_VALUES management record is decoded by the same ReadParams on its own, and the
    // content of other id-0 records is read as part of the current stream.
    std::string params;
    int request_id = -1;
    for (std::size_t pos = 0; pos + 8 <= size;) {
        const unsigned type = data[pos + 1];
        const int id = (data[pos + 2] << 8) | data[pos + 3];
        const std::size_t len = (std::size_t(data[pos + 4]) << 8) | data[pos + 5];
        const std::size_t pad = data[pos + 6];
        const std::string_view content(reinterpret_cast<const char*>(data + pos + 8),
                                       std::min(size, pos + 8 + len) - pos - 8);
        if (type == 1 && request_id < 0 && id != 0) {
            request_id = id;
            pos += 8 + len;
            continue;
        }
        if (type == 9 && id == 0 && claims_too_much(content)) return true;
        // Other records with id 0 get an UNKNOWN_TYPE reply, but libfcgi does not skip their
        // content: it flows into the stream being read.
        if ((type == 4 && id == request_id) || (id == 0 && type != 9)) params.append(content);
        pos += 8 + len + pad;
    }
    return claims_too_much(params);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (skip_input(data, size)) return -1; // see above
    // As a worker does: the gate scans what arrived; a request it lets through is handed to
    // libfcgi, its scanned start through the pipe and the rest (a body that streams) from the
    // socket.
    wfhookd::RequestScanner scanner({4096, 4096});
    const std::size_t taken = scanner.feed(reinterpret_cast<const char*>(data), size);
    if (!scanner.ready()) return 0;
    const std::size_t head = scanner.complete() ? taken : scanner.params_end();
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) std::abort();
    // Inputs are small (max_len), so the rest fits in the socket buffer.
    timeval tv{0, 50'000};
    setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(sv[1], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (size > head && write(sv[0], data + head, size - head) != static_cast<ssize_t>(size - head))
        std::abort();
    shutdown(sv[0], SHUT_WR);

    static wfhookd::FcgiAdapter adapter("REMOTE_USER", 1 << 16);
    wfhookd::Request req;
    std::string_view conflict;
    if (adapter.begin(sv[1], std::string_view(reinterpret_cast<const char*>(data), head),
                      scanner.complete(), req, conflict)) {
        // Touch every view the adapter produced (ASan checks they point at live memory), and
        // read the body as an upload would.
        std::size_t sum = req.method.size() + req.path.size() + req.query.size() +
                          req.api_key.size() + req.username.size() + req.authorization.size() +
                          req.remote_user.size() + conflict.size();
        for (const char c : req.query)
            sum += static_cast<unsigned char>(c);
        char buf[512];
        for (long n; (n = adapter.read(buf, sizeof buf)) > 0;)
            sum += static_cast<std::size_t>(n);
        wfhookd::Response res;
        res.set_error(400, std::to_string(sum));
        adapter.finish(req, res, scanner.keep_conn());
    }
    close(sv[0]);
    close(sv[1]);
    return 0;
}
