#include "server/fcgi_adapter.hpp"

#include "http/text.hpp"
#include "util/clock.hpp"

#include <cerrno>
#include <climits>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace wfhookd {

namespace {

// What is left of a request body that the handler did not read is read and dropped before the
// answer, so that a kept connection can carry the next request; past this many bytes or this
// long, the connection is closed instead.
constexpr std::size_t kDrainLimit = 1 << 20;
constexpr std::int64_t kDrainNs = 1'000'000'000;
constexpr std::size_t kFileChunk = 64 * 1024;

} // namespace

bool fcgi_init() {
    return FCGX_Init() == 0;
}

FcgiAdapter::FcgiAdapter(std::string user_param, std::size_t pipe_size)
    : params_(std::move(user_param)), pipe_size_(pipe_size) {
    FCGX_InitRequest(&req_, -1, 0);
    make_pipe();
}

FcgiAdapter::~FcgiAdapter() {
    // A request begun but never finished: free libfcgi's streams and parameters. The socket
    // is the worker's.
    req_.ipcFd = -1;
    FCGX_Free(&req_, 0);
}

bool FcgiAdapter::make_pipe() {
    pipe_read_.reset();
    pipe_write_.reset();
    pipe_capacity_ = 0;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return false;
    pipe_read_.reset(fds[0]);
    pipe_write_.reset(fds[1]);
    // Non-blocking both ways: a request that does not fit is dropped, and a request that
    // libfcgi reads differently from the gate (it wants more than the gate took: e.g. it reads
    // BEGIN_REQUEST's padding as a record) fails at once instead of waiting on a pipe that
    // nobody will write to again.
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    fcntl(fds[1], F_SETFL, O_NONBLOCK);
    if (pipe_size_ > 0) fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(pipe_size_));
    const int cap = fcntl(fds[1], F_GETPIPE_SZ);
    pipe_capacity_ = cap > 0 ? static_cast<std::size_t>(cap) : 4096;
    return true;
}

bool FcgiAdapter::begin(int fd, std::string_view taken, bool whole, Request& out,
                        std::string_view& conflict) {
    fd_lost_ = false;
    stdin_eof_ = false;
    read_error_ = false;
    socket_untouched_ = !taken.empty() && !whole;
    whole_ = whole;
    socket_ = fd;
    if (taken.empty()) {
        req_.ipcFd = fd;
    } else {
        // Whatever libfcgi left unread of the last request (it read less than the gate took)
        // must never become the start of this one.
        int left = 0;
        if (ioctl(pipe_read_.get(), FIONREAD, &left) != 0 || left > 0) make_pipe();
        if (taken.size() > pipe_capacity_ || !write_all(pipe_write_.get(), taken)) {
            make_pipe(); // whatever part of it went in must not reach the next request
            return false;
        }
        req_.ipcFd = pipe_read_.get();
    }
    req_.keepConnection = 1; // see the header: makes FCGX_Accept_r read from ipcFd
    if (FCGX_Accept_r(&req_) < 0) {
        // libfcgi closed what it was reading from (and then failed to accept on listen
        // socket -1, as intended).
        if (taken.empty())
            fd_lost_ = true;
        else
            pipe_read_.release(), make_pipe();
        req_.ipcFd = -1;
        return false;
    }
    // A request of which only the parameters were read ahead: its body comes from the socket.
    if (!taken.empty() && !whole) req_.ipcFd = fd;
    params_.read(req_.envp, out, conflict);
    out.body_source = this;
    return true;
}

long FcgiAdapter::read(char* buf, std::size_t size) {
    if (stdin_eof_) return 0;
    if (read_error_) return -1;
    socket_untouched_ = false;
    const int n = FCGX_GetStr(buf, static_cast<int>(std::min<std::size_t>(size, INT_MAX)), req_.in);
    if (n > 0) {
        if (progress_ != nullptr) progress_->store(monotonic_ns(), std::memory_order_relaxed);
        return n;
    }
    // libfcgi ends the stream at a read error (timeout, peer gone) as if it were complete.
    if (FCGX_GetError(req_.in) != 0 || FCGX_HasSeenEOF(req_.in) != EOF) {
        read_error_ = true;
        return -1;
    }
    stdin_eof_ = true;
    return 0;
}

bool FcgiAdapter::drain_stdin(std::size_t limit, std::int64_t deadline_ns) {
    char buf[16384];
    std::size_t dropped = 0;
    while (dropped <= limit && monotonic_ns() < deadline_ns) {
        const long n = read(buf, sizeof buf);
        if (n <= 0) return n == 0;
        dropped += static_cast<std::size_t>(n);
    }
    return stdin_eof_;
}

bool FcgiAdapter::put(std::string_view bytes) {
    return FCGX_PutStr(bytes.data(), static_cast<int>(bytes.size()), req_.out) ==
           static_cast<int>(bytes.size());
}

FcgiAdapter::Finished FcgiAdapter::finish(const Request& req, Response& res, bool keep) {
    Finished done;
    // A request that came whole through the pipe: what is left of it is there too. Read it
    // out now (it never waits), then answer on the socket.
    if (req_.ipcFd != socket_) {
        drain_stdin(SIZE_MAX, INT64_MAX);
        req_.ipcFd = socket_;
    } else if (whole_ && !stdin_eof_) {
        // All of it is on the socket already: reading the rest never waits.
        drain_stdin(SIZE_MAX, INT64_MAX);
    } else if (keep && !stdin_eof_ && socket_untouched_) {
        done.leftover = true;
    } else if (keep && !stdin_eof_) {
        // Before END_REQUEST, never after: the next request may follow it at once. A body the
        // peer sends slowly or without end is not waited for long: the connection is closed.
        const timeval tv{1, 0};
        setsockopt(socket_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        drain_stdin(kDrainLimit, monotonic_ns() + kDrainNs);
    }

    const bool has_body = req.method != "HEAD" && res.status != 204 && res.status != 304;
    const std::uint64_t length = res.file ? res.file_length : res.body.size();
    head_.assign("Status: ");
    append_decimal(head_, static_cast<std::uint64_t>(res.status));
    head_.push_back(' ');
    head_.append(reason_phrase(res.status));
    head_.append("\r\n");
    if (!res.content_type.empty())
        head_.append("Content-Type: ").append(res.content_type).append("\r\n");
    if (!res.cache_control.empty())
        head_.append("Cache-Control: ").append(res.cache_control).append("\r\n");
    head_.append("X-Content-Type-Options: nosniff\r\n");
    if (res.status != 204 && res.status != 304) {
        head_.append("Content-Length: ");
        append_decimal(head_, length);
        head_.append("\r\n");
    }
    if (!res.allow.empty()) head_.append("Allow: ").append(res.allow).append("\r\n");
    head_.append(res.headers);
    head_.append("\r\n");
    if (has_body && !res.file) head_.append(res.body);

    // PutStr only buffers (8 KiB records); closing the streams writes what is left and the
    // end-of-request records. Closed here, in FCGX_Finish_r's order (err, then out), and not
    // by it, because it ignores the result: a peer that hung up must show in the log.
    bool sent = put(head_);
    if (sent && has_body && res.file) {
        chunk_.resize(kFileChunk);
        std::uint64_t offset = res.file_offset, left = res.file_length;
        while (sent && left > 0) {
            const std::size_t want =
                static_cast<std::size_t>(std::min<std::uint64_t>(left, kFileChunk));
            const ssize_t n =
                pread(res.file.get(), chunk_.data(), want, static_cast<off_t>(offset));
            if (n <= 0) {
                // The file shrank or failed under us: the response cannot be completed, and
                // the web server must see it cut short (Content-Length promised more).
                res.log_error = "the file could not be read to its end";
                sent = false;
                break;
            }
            sent = put(std::string_view(chunk_.data(), static_cast<std::size_t>(n)));
            if (progress_ != nullptr) progress_->store(monotonic_ns(), std::memory_order_relaxed);
            offset += static_cast<std::uint64_t>(n);
            left -= static_cast<std::uint64_t>(n);
        }
    }
    sent = sent && FCGX_FClose(req_.err) == 0 && FCGX_FClose(req_.out) == 0;
    done.sent = sent;
    done.reusable = sent && (stdin_eof_ || done.leftover);

    // libfcgi frees its streams and parameters; ipcFd -1 keeps it from touching the socket.
    req_.ipcFd = -1;
    FCGX_Finish_r(&req_);
    res.file.reset();
    return done;
}

} // namespace wfhookd
