#include "server/worker.hpp"

#include "api/context.hpp"
#include "api/router.hpp"
#include "http/text.hpp"
#include "server/fcgi_adapter.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <random>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace wfhookd {

namespace {

// The slot's per-request fields are read only approximately (by the master's deadline check
// and /status): no ordering is needed, and relaxed stores are plain moves.
constexpr auto kRelaxed = std::memory_order_relaxed;

volatile sig_atomic_t g_stop = 0;

void on_stop(int) {
    g_stop = 1;
}

void install(int sig, void (*handler)(int)) {
    struct sigaction sa {};
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; // no SA_RESTART: the signal must end epoll_pwait
    sigaction(sig, &sa, nullptr);
}

// A read timeout only: our answer is a few KiB at most and always fits in the socket's send
// buffer, so writing it never waits on the peer (and request_timeout bounds the rest). One
// syscall per request instead of two.
void set_read_timeout(int fd, unsigned seconds) {
    const timeval tv{static_cast<time_t>(seconds), 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

std::uint64_t request_limit(const ServerConfig& s) {
    if (s.max_requests == 0) return 0;
    if (s.max_requests_jitter == 0) return s.max_requests;
    std::random_device rd;
    std::uniform_int_distribution<std::uint64_t> d(0, s.max_requests_jitter);
    return s.max_requests - d(rd);
}

// Everything but the duration, built while the request's views are still valid (they point
// into libfcgi's parameter memory, which FCGX_Finish_r frees).
void begin_log_line(std::string& line, const Request& req, const Response& res,
                    const RouteInfo& info) {
    line.assign("request");
    append_field(line, "method", req.method.empty() ? "-" : req.method);
    append_field(line, "endpoint",
                 info.endpoint >= 0 ? endpoints()[info.endpoint].name : endpoint_name(req.path));
    if (!info.action.empty()) append_field(line, "action", info.action);
    line.append(" status=");
    append_decimal(line, static_cast<std::uint64_t>(res.status));
    append_field(line, "user", req.username.empty() ? "-" : req.username);
    if (!req.request_id.empty()) append_field(line, "id", req.request_id);
    if (!res.log_error.empty()) append_field(line, "error", res.log_error);
}

} // namespace

void block_handled_signals(sigset_t* previous) {
    sigset_t set;
    sigemptyset(&set);
    for (const int s : {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2})
        sigaddset(&set, s);
    sigprocmask(SIG_BLOCK, &set, previous);
}

[[noreturn]] void run_worker(const WorkerArgs& args) {
    WorkerSlot& slot = args.scoreboard->slot(args.slot);
    // Signals stay blocked except inside epoll_pwait; a request in progress always finishes.
    install(SIGTERM, on_stop);
    install(SIGINT, on_stop);
    install(SIGQUIT, on_stop);
    std::signal(SIGHUP, SIG_IGN); // the master reloads; a terminal hangup is not for us
    std::signal(SIGUSR1, SIG_IGN);
    std::signal(SIGUSR2, SIG_IGN);
    std::signal(SIGPIPE, SIG_IGN); // a vanished web server is an EPIPE, not a death
    std::signal(SIGCHLD, SIG_DFL); // exec actions reap their own children
    sigset_t wait_mask;
    sigprocmask(SIG_SETMASK, nullptr, &wait_mask);
    for (const int s : {SIGTERM, SIGINT, SIGQUIT})
        sigdelset(&wait_mask, s);

    // Die with the master: it may be SIGKILLed without telling anyone.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != args.master) _exit(kWorkerDone);

    log_init();
    const int ep = epoll_create1(EPOLL_CLOEXEC);
    // EPOLLEXCLUSIVE: a new connection wakes one idle worker, not all of them.
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    if (!fcgi_init() || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, args.listen_fd, &ev) != 0) {
        log(Level::error, "worker cannot start: {}", std::strerror(errno));
        _exit(kWorkerStartFailed);
    }

    const ServerConfig& server = args.config->server;
    const Context ctx(args.config, args.scoreboard, args.slot, args.action_index);
    const std::uint64_t limit = request_limit(server);
    FcgiAdapter fcgi;
    Request req;
    Response res;
    res.body.reserve(4096);
    std::string log_line_buf;
    log_line_buf.reserve(512);

    slot.pid.store(getpid());
    slot.state.store(WorkerState::idle);

    std::uint64_t served = 0;
    unsigned without_wait = 0;
    while (!g_stop) {
        // Take a waiting connection first; sleep in epoll_pwait only when there is none. Under
        // load the backlog is rarely empty, so this saves a syscall per request. Signals are
        // let in only inside epoll_pwait, and even there only when it has to wait: with
        // connections ready it returns them and leaves a signal pending. So every
        // kSignalCheck requests, look at the pending signals ourselves: a stop or a reload is
        // noticed within that many requests under any load, and at once when idle.
        constexpr unsigned kSignalCheck = 32;
        if (++without_wait >= kSignalCheck) {
            without_wait = 0;
            sigset_t pending;
            sigpending(&pending);
            if (sigismember(&pending, SIGTERM) || sigismember(&pending, SIGINT) ||
                sigismember(&pending, SIGQUIT))
                break;
        }
        epoll_event ready{};
        sockaddr_storage peer{};
        socklen_t peer_len = sizeof peer;
        const int fd =
            accept4(args.listen_fd, reinterpret_cast<sockaddr*>(&peer), &peer_len, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                without_wait = 0;
                epoll_pwait(ep, &ready, 1, -1, &wait_mask); // a connection, or a signal
            } else if (errno == EMFILE || errno == ENFILE) {
                log(Level::error, "accept: {}; raise LimitNOFILE", std::strerror(errno));
                usleep(100'000); // the socket stays readable: do not spin on it
            }
            continue;
        }
        if (!peer_allowed(server.allow_from, reinterpret_cast<sockaddr*>(&peer))) {
            close(fd);
            log(Level::warning, "refused a connection from an address not in allow_from");
            continue;
        }

        const std::int64_t start = monotonic_ns();
        slot.request_ns.store(start, kRelaxed);
        slot.state.store(WorkerState::busy, kRelaxed);
        set_read_timeout(fd, server.io_timeout);
        if (!fcgi.read_request(fd, server.max_body_size, req)) {
            slot.request_ns.store(0, kRelaxed);
            slot.state.store(WorkerState::idle, kRelaxed);
            log(Level::notice, "dropped a connection that sent no complete FastCGI request");
            continue;
        }

        res.clear();
        RouteInfo info;
        route(ctx, req, res, info);
        begin_log_line(log_line_buf, req, res, info);
        const bool sent = fcgi.finish(req, res);
        args.scoreboard->count_status(res.status);
        slot.requests.fetch_add(1, std::memory_order_relaxed);
        slot.endpoint.store(-1, kRelaxed);
        slot.request_ns.store(0, kRelaxed);
        slot.state.store(WorkerState::idle, kRelaxed);
        log_line_buf.append(" us=");
        append_decimal(log_line_buf, static_cast<std::uint64_t>(monotonic_ns() - start) / 1000);
        if (!sent) log_line_buf.append(" unsent=peer-gone");
        log_line(res.status >= 500 || !sent ? Level::warning : Level::info, log_line_buf);

        if (limit != 0 && ++served >= limit) {
            log(Level::info, "worker recycling after {} requests (max_requests)", served);
            break;
        }
    }
    slot.state.store(WorkerState::exiting);
    _exit(kWorkerDone);
}

} // namespace wfhookd
