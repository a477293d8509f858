#include "server/worker.hpp"

#include "api/context.hpp"
#include "api/router.hpp"
#include "http/text.hpp"
#include "server/connection.hpp"
#include "server/fcgi_adapter.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <poll.h>
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
// Connections a worker holds whose request has not arrived whole; past this the oldest goes.
constexpr std::size_t kMaxPending = 32;
// How long a connection closed with unread input is read and dropped first, so that the
// web server gets the answer rather than a reset.
constexpr std::int64_t kLingerNs = 1'000'000'000;

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

void set_timeout(int fd, int option, unsigned seconds) {
    const timeval tv{static_cast<time_t>(seconds), 0};
    setsockopt(fd, SOL_SOCKET, option, &tv, sizeof tv);
}

std::uint64_t request_limit(const ServerConfig& s) {
    if (s.max_requests == 0) return 0;
    if (s.max_requests_jitter == 0) return s.max_requests;
    std::random_device rd;
    std::uniform_int_distribution<std::uint64_t> d(0, s.max_requests_jitter);
    return s.max_requests - d(rd);
}

// Everything but the duration, built while the request's views are still valid (they point
// into libfcgi's parameter memory, which finish() frees).
void begin_log_line(std::string& line, const Request& req, const Response& res,
                    const RouteInfo& info) {
    line.assign("request");
    append_field(line, "method", req.method.empty() ? "-" : req.method);
    append_field(line, "endpoint",
                 info.endpoint >= 0 ? endpoints()[info.endpoint].name : endpoint_name(req.path));
    if (!info.action.empty()) append_field(line, "action", info.action);
    line.append(" status=");
    append_decimal(line, static_cast<std::uint64_t>(res.status));
    const std::string_view user = !info.user.empty() ? info.user : req.username;
    append_field(line, "user", user.empty() ? "-" : user);
    if (!req.request_id.empty()) append_field(line, "id", req.request_id);
    if (!res.log_error.empty()) append_field(line, "error", res.log_error);
}

// A closed connection whose request was not read to its end: what the peer still sends is
// read and dropped for a moment, so that closing does not reset the connection under the
// answer (the lingering close libfcgi would do, but bounded).
void close_lingering(int fd) {
    shutdown(fd, SHUT_WR);
    const std::int64_t until = monotonic_ns() + kLingerNs;
    char buf[16384];
    std::size_t dropped = 0;
    for (std::int64_t now = monotonic_ns(); now < until && dropped < (1u << 20);
         now = monotonic_ns()) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>((until - now) / 1'000'000) + 1) <= 0) break;
        const ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0) break;
        dropped += static_cast<std::size_t>(n);
    }
    close(fd);
}

class Worker {
public:
    Worker(const WorkerArgs& args, int epoll_fd)
        : args_(args), server_(args.config->server), slot_(args.scoreboard->slot(args.slot)),
          ep_(epoll_fd), ctx_(args.config, args.scoreboard, args.slot, args.action_index),
          fcgi_(args.config->oauth2_user_param(), pipe_wanted(server_)) {
        // The gate awaits a whole body only when it fits in the pipe that hands buffered
        // requests to libfcgi (at least 64 KiB; up to 1 MiB unprivileged).
        const std::size_t header_room = 16 + server_.max_params_size + 2 * fcgi::kRecordOverhead;
        limits_.max_params = server_.max_params_size;
        limits_.max_wait =
            fcgi_.pipe_capacity() > header_room
                ? std::min(server_.max_body_size, fcgi_.pipe_capacity() - header_room)
                : 0;
        peek_.resize(header_room + limits_.max_wait + fcgi::kHeaderSize);
        fcgi_.set_progress(&slot_.request_ns);
        res_.body.reserve(4096);
        log_line_.reserve(512);
        limit_ = request_limit(server_);
    }

    bool ok() const { return fcgi_.ok(); }
    // Opens what must be this process's own (the store's SQLite connection); false with
    // `error` set.
    bool open(std::string& error) { return ctx_.open_store(error); }
    void run(const sigset_t& wait_mask);

private:
    static std::size_t pipe_wanted(const ServerConfig& s) {
        return 16 + s.max_params_size + 2 * fcgi::kRecordOverhead + s.max_body_size;
    }

    bool accept_one();
    void on_ready(Connection& c);
    void serve(Connection& c, bool taken);
    void keep(Connection& c);
    void drop(Connection& c, bool linger = false);
    void expire(std::int64_t now);
    int wait_ms(std::int64_t now) const;
    void register_fd(Connection& c);
    Connection* find(int fd);
    void stop_connections();
    // Sends an idle kept connection to another worker (false: nobody can take it).
    bool hand_off(Connection& c);
    void take_handed_over();

    const WorkerArgs& args_;
    const ServerConfig& server_;
    WorkerSlot& slot_;
    int ep_;
    Context ctx_;
    FcgiAdapter fcgi_;
    RequestScanner::Limits limits_{};
    std::string peek_;
    std::vector<Connection> conns_;
    Request req_;
    Response res_;
    std::string log_line_;
    std::uint64_t served_ = 0;
    std::uint64_t limit_ = 0;
    bool stopping_ = false;
};

Connection* Worker::find(int fd) {
    for (Connection& c : conns_)
        if (c.fd == fd) return &c;
    return nullptr;
}

void Worker::register_fd(Connection& c) {
    if (c.registered) return;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = c.fd;
    c.registered = epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev) == 0;
}

void Worker::drop(Connection& c, bool linger) {
    // close() takes the descriptor out of the epoll set too.
    if (linger)
        close_lingering(c.fd);
    else
        close(c.fd);
    const auto i = static_cast<std::size_t>(&c - conns_.data());
    conns_[i] = std::move(conns_.back());
    conns_.pop_back();
}

// Takes one connection from the listening socket; false when there was none.
bool Worker::accept_one() {
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof peer;
    const int fd =
        accept4(args_.listen_fd, reinterpret_cast<sockaddr*>(&peer), &peer_len, SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE) {
            log(Level::error, "accept: {}; raise LimitNOFILE", std::strerror(errno));
            usleep(100'000); // the socket stays readable: do not spin on it
        }
        return false;
    }
    if (!peer_allowed(server_.allow_from, reinterpret_cast<sockaddr*>(&peer))) {
        close(fd);
        log(Level::warning, "refused a connection from an address not in allow_from");
        return true;
    }
    // Too many requests still arriving: the oldest of them makes room (a peer that holds
    // connections open without sending must not take the worker's attention).
    const std::size_t pending =
        std::count_if(conns_.begin(), conns_.end(), [](const Connection& c) { return !c.kept; });
    if (pending >= kMaxPending) {
        auto oldest =
            std::min_element(conns_.begin(), conns_.end(), [](const auto& a, const auto& b) {
                return a.kept != b.kept ? !a.kept : a.deadline < b.deadline;
            });
        log(Level::notice, "dropped a FastCGI connection that did not send a request in time");
        drop(*oldest);
    }
    const std::int64_t now = monotonic_ns();
    conns_.emplace_back(fd, limits_);
    Connection& c = conns_.back();
    c.deadline = now + std::int64_t(server_.io_timeout) * 1'000'000'000;
    c.last_used = now;
    on_ready(c);
    return true;
}

void Worker::on_ready(Connection& c) {
    switch (advance(c, peek_)) {
    case Progress::waiting:
        register_fd(c);
        return;
    case Progress::ready_peek:
        return serve(c, false);
    case Progress::ready_taken:
        return serve(c, true);
    case Progress::closed:
        return drop(c);
    case Progress::failed:
        log(Level::notice, "dropped a connection that sent no complete FastCGI request");
        return drop(c);
    case Progress::invalid:
        log(Level::warning, "dropped a FastCGI connection: {}", c.scanner.error());
        return drop(c);
    }
}

void Worker::serve(Connection& c, bool taken) {
    const std::int64_t start = monotonic_ns();
    slot_.request_ns.store(start, kRelaxed);
    slot_.state.store(WorkerState::busy, kRelaxed);
    // A body still streaming in is read with a bound on each wait; a request that is all here
    // never waits.
    if (!c.scanner.complete() && !c.read_timeout) {
        set_timeout(c.fd, SO_RCVTIMEO, server_.io_timeout);
        c.read_timeout = true;
    }
    std::string_view conflict;
    const bool began = fcgi_.begin(c.fd, taken ? std::string_view(c.taken) : std::string_view(),
                                   c.scanner.complete(), req_, conflict);
    if (!began) {
        slot_.request_ns.store(0, kRelaxed);
        slot_.state.store(WorkerState::idle, kRelaxed);
        log(Level::notice, "dropped a connection that sent no complete FastCGI request");
        if (fcgi_.fd_lost()) c.fd = -1;
        return drop(c);
    }
    if (!conflict.empty())
        log(Level::warning,
            "the web server sent {} twice with different values; using the last one (check "
            "the fastcgi_param lines of its configuration)",
            conflict);

    res_.clear();
    RouteInfo info;
    route(ctx_, req_, res_, info);
    begin_log_line(log_line_, req_, res_, info);
    if ((res_.file || res_.body.size() > 65536) && !c.write_timeout) {
        set_timeout(c.fd, SO_SNDTIMEO, server_.io_timeout);
        c.write_timeout = true;
    }
    // Kept even when stopping: an idle kept connection is handed over, not closed under a web
    // server that may be sending on it (stop_connections).
    const bool keep_wanted = c.scanner.keep_conn() && server_.keep_conn_max > 0;
    const FcgiAdapter::Finished done = fcgi_.finish(req_, res_, keep_wanted);
    if (!c.scanner.complete()) c.read_timeout = false; // the drain set its own
    args_.scoreboard->count_status(res_.status);
    slot_.requests.fetch_add(1, kRelaxed);
    slot_.endpoint.store(-1, kRelaxed);
    slot_.request_ns.store(0, kRelaxed);
    slot_.state.store(WorkerState::idle, kRelaxed);
    log_line_.append(" us=");
    append_decimal(log_line_, static_cast<std::uint64_t>(monotonic_ns() - start) / 1000);
    if (!done.sent) log_line_.append(" unsent=peer-gone");
    log_line(res_.status >= 500 || !done.sent ? Level::warning : Level::info, log_line_);

    if (limit_ != 0 && ++served_ >= limit_) {
        log(Level::info, "worker recycling after {} requests (max_requests)", served_);
        stopping_ = true;
    }
    if (keep_wanted && done.reusable) {
        if (done.leftover) c.leftover_id = c.scanner.request_id();
        return keep(c); // may move connections around: `c` is not to be used after it
    }
    drop(c, done.sent && !done.reusable);
}

// The web server asked to keep the connection (FCGI_KEEP_CONN) and it can carry another
// request: wait for it alongside the listening socket, up to keep_conn_idle, and at most
// keep_conn_max of them (the least recently used goes).
void Worker::keep(Connection& c) {
    const std::int64_t now = monotonic_ns();
    c.next_request();
    c.kept = true;
    c.last_used = now;
    c.deadline = now + std::int64_t(server_.keep_conn_idle) * 1'000'000'000;
    register_fd(c);
    const int fd = c.fd;
    for (;;) {
        const std::size_t kept =
            std::count_if(conns_.begin(), conns_.end(), [](const Connection& k) { return k.kept; });
        if (kept <= server_.keep_conn_max) break;
        Connection* lru = nullptr;
        for (Connection& k : conns_)
            if (k.kept && k.fd != fd && (lru == nullptr || k.last_used < lru->last_used)) lru = &k;
        if (lru == nullptr) break;
        if (!hand_off(*lru)) drop(*lru);
    }
}

// One byte and room for one descriptor: a handed-over connection, sent or received.
struct FdMessage {
    char byte = 'k';
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    FdMessage() {
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
    }
    FdMessage(const FdMessage&) = delete;
    FdMessage& operator=(const FdMessage&) = delete;
};

bool Worker::hand_off(Connection& c) {
    if (args_.handoff_send < 0 || !c.idle()) return false;
    FdMessage m;
    msghdr& msg = m.msg;
    cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cm), &c.fd, sizeof(int));
    // The queue holds max_dgram_qlen connections (10 by default); when a whole generation
    // hands over at once it fills, and the receivers empty it within moments.
    const std::int64_t until = monotonic_ns() + 1'000'000'000;
    while (sendmsg(args_.handoff_send, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) != 1) {
        const std::int64_t now = monotonic_ns();
        if (errno != EAGAIN || now >= until) return false;
        pollfd p{args_.handoff_send, POLLOUT, 0};
        poll(&p, 1, static_cast<int>((until - now) / 1'000'000) + 1);
    }
    drop(c); // our copy; the connection lives on in the receiver
    return true;
}

// A kept connection another worker let go: it waits here for its next request, like our own.
// One that would put us over keep_conn_max is closed, not passed on again.
void Worker::take_handed_over() {
    FdMessage m;
    msghdr& msg = m.msg;
    if (recvmsg(args_.handoff_recv, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != 1) return;
    cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    if (cm == nullptr || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
        cm->cmsg_len != CMSG_LEN(sizeof(int)))
        return;
    int fd = -1;
    std::memcpy(&fd, CMSG_DATA(cm), sizeof(int));
    const std::size_t kept =
        std::count_if(conns_.begin(), conns_.end(), [](const Connection& k) { return k.kept; });
    if (kept >= server_.keep_conn_max) {
        close(fd);
        return;
    }
    const std::int64_t now = monotonic_ns();
    conns_.emplace_back(fd, limits_);
    Connection& c = conns_.back();
    c.kept = true;
    c.last_used = now;
    c.deadline = now + std::int64_t(server_.keep_conn_idle) * 1'000'000'000;
    register_fd(c);
}

void Worker::expire(std::int64_t now) {
    for (std::size_t i = 0; i < conns_.size();) {
        Connection& c = conns_[i];
        if (c.deadline > now) {
            ++i;
            continue;
        }
        if (!c.kept)
            log(Level::notice, "dropped a FastCGI connection that did not send a whole request "
                               "within io_timeout");
        drop(c); // moves the last connection to i
    }
}

int Worker::wait_ms(std::int64_t now) const {
    if (conns_.empty()) return -1;
    std::int64_t next = conns_.front().deadline;
    for (const Connection& c : conns_)
        next = std::min(next, c.deadline);
    return static_cast<int>(std::max<std::int64_t>(0, (next - now) / 1'000'000 + 1));
}

// Stopping: no new connections, but every request already on its way is answered: those
// still arriving on connections accepted before the stop (up to their io_timeout), and those
// that arrived on kept connections. A kept connection, once idle, goes at once to a worker
// that stays (a reload: the new generation), so that a web server busy on it cannot keep this
// one alive; it is closed only when no worker can take it.
void Worker::stop_connections() {
    epoll_ctl(ep_, EPOLL_CTL_DEL, args_.listen_fd, nullptr);
    if (args_.handoff_recv >= 0) epoll_ctl(ep_, EPOLL_CTL_DEL, args_.handoff_recv, nullptr);
    epoll_event events[16];
    for (bool first = true;; first = false) {
        for (std::size_t i = 0; i < conns_.size();) {
            Connection& c = conns_[i];
            if (!c.idle()) {
                ++i;
                continue;
            }
            if (!hand_off(c)) drop(c); // either moves the last connection to i
        }
        if (conns_.empty()) break;
        const int n = epoll_wait(ep_, events, 16, first ? 0 : wait_ms(monotonic_ns()));
        for (int i = 0; i < n; ++i)
            if (Connection* c = find(events[i].data.fd)) on_ready(*c);
        expire(monotonic_ns());
    }
}

void Worker::run(const sigset_t& wait_mask) {
    slot_.pid.store(getpid());
    slot_.state.store(WorkerState::idle);
    unsigned without_wait = 0;
    epoll_event events[16];
    while (!g_stop && !stopping_) {
        // Signals are let in only inside epoll_pwait, and even there only when it has to wait:
        // with connections ready it returns them and leaves a signal pending. So every
        // kSignalCheck rounds, look at the pending signals ourselves: a stop or a reload is
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
        if (conns_.empty()) {
            // Nothing held: take a waiting connection before sleeping. Under load the backlog
            // is rarely empty, so this saves a syscall per request.
            if (accept_one()) continue;
        }
        const int n = epoll_pwait(ep_, events, 16, wait_ms(monotonic_ns()), &wait_mask);
        if (n <= 0) without_wait = 0;
        for (int i = 0; i < n && !stopping_; ++i) {
            if (events[i].data.fd == args_.listen_fd)
                accept_one();
            else if (events[i].data.fd == args_.handoff_recv)
                take_handed_over();
            else if (Connection* c = find(events[i].data.fd))
                on_ready(*c);
        }
        expire(monotonic_ns());
    }
    stop_connections();
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
    ev.data.fd = args.listen_fd;
    epoll_event handoff{};
    handoff.events = EPOLLIN | EPOLLEXCLUSIVE;
    handoff.data.fd = args.handoff_recv;
    if (!fcgi_init() || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, args.listen_fd, &ev) != 0 ||
        (args.handoff_recv >= 0 &&
         epoll_ctl(ep, EPOLL_CTL_ADD, args.handoff_recv, &handoff) != 0)) {
        log(Level::error, "worker cannot start: {}", std::strerror(errno));
        _exit(kWorkerStartFailed);
    }
    Worker worker(args, ep);
    if (!worker.ok()) {
        log(Level::error, "worker cannot start: pipe: {}", std::strerror(errno));
        _exit(kWorkerStartFailed);
    }
    if (std::string error; !worker.open(error)) {
        log(Level::error, "worker cannot start: {}", error);
        _exit(kWorkerStartFailed);
    }
    worker.run(wait_mask);
    slot.state.store(WorkerState::exiting);
    _exit(kWorkerDone);
}

} // namespace wfhookd
