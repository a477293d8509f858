#include "server/master.hpp"

#include "api/router.hpp"
#include "oauth2/commands.hpp"
#include "server/sd_notify.hpp"
#include "server/worker.hpp"
#include "store/maintenance.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace wfhookd {

namespace {

volatile sig_atomic_t g_child = 0;
volatile sig_atomic_t g_reload = 0;
volatile sig_atomic_t g_stop = 0;

void on_child(int) {
    g_child = 1;
}
void on_reload(int) {
    g_reload = 1;
}
void on_stop(int) {
    g_stop = 1;
}

double seconds(std::int64_t ns) {
    return static_cast<double>(ns) / 1e9;
}

std::string describe_exit(int status) {
    if (WIFSIGNALED(status))
        return fmt::format("killed by signal {} ({})", WTERMSIG(status),
                           strsignal(WTERMSIG(status)));
    return fmt::format("exit status {}", WEXITSTATUS(status));
}

} // namespace

void Master::install_signal_handlers() {
    struct sigaction sa {};
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_child;
    sigaction(SIGCHLD, &sa, nullptr);
    sa.sa_handler = on_reload;
    sigaction(SIGHUP, &sa, nullptr);
    sa.sa_handler = on_stop;
    for (const int s : {SIGTERM, SIGINT, SIGQUIT})
        sigaction(s, &sa, nullptr);
    for (const int s : {SIGPIPE, SIGUSR1, SIGUSR2})
        std::signal(s, SIG_IGN);
    block_handled_signals();
}

Master::Master(std::string config_path, std::shared_ptr<const Config> config, Listener listener,
               Scoreboard* scoreboard)
    : config_path_(std::move(config_path)), listener_(std::move(listener)), sb_(scoreboard) {
    current_.number = 1;
    current_.config = std::move(config);
    current_.action_index = sb_->register_actions(*current_.config);
    serving_ = current_;
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, handoff_) != 0)
        log(Level::warning, "no hand-over of kept connections between workers: socketpair: {}",
            std::strerror(errno));
}

int Master::run() {
    log(Level::notice, "wfhookd {} listening on {} with {} workers, {} actions",
        current_.config->service.version, listener_.description, current_.config->server.workers,
        current_.config->actions.size());
    sigset_t wait_mask;
    sigemptyset(&wait_mask);
    int exit_code = 0;
    for (;;) {
        std::int64_t now = monotonic_ns();
        if (g_stop && !stopping_) begin_shutdown(now);
        if (g_reload) {
            g_reload = 0;
            if (!stopping_) reload();
        }
        if (g_child) {
            g_child = 0;
            reap(now);
        }
        now = monotonic_ns();
        if (stopping_) {
            if (workers_.empty()) break;
            if (now >= stop_deadline_ns_ && !killed_stragglers_) {
                log(Level::warning, "shutdown_timeout reached: killing {} workers still busy",
                    workers_.size());
                for (Worker& w : workers_)
                    kill_worker(w, SIGKILL);
                killed_stragglers_ = true;
            }
        } else {
            enforce_deadlines(now);
            if (now >= next_housekeeping_ns_) {
                store_housekeeping(current_.config->store);
                oauth2_housekeeping(current_.config->oauth2);
                next_housekeeping_ns_ = monotonic_ns() + kHousekeepingSeconds * 1'000'000'000LL;
            }
            if (!maintain_pool(now)) {
                exit_code = 1;
                begin_shutdown(now);
                continue;
            }
            finish_reload_if_ready();
        }
        // The one wait point: handled signals are unblocked only inside ppoll.
        const std::int64_t wait = wait_ns(monotonic_ns());
        timespec ts{static_cast<time_t>(wait / 1'000'000'000),
                    static_cast<long>(wait % 1'000'000'000)};
        ppoll(nullptr, 0, wait < 0 ? nullptr : &ts, &wait_mask);
    }
    close_listener(listener_);
    log(Level::notice, "stopped");
    return exit_code;
}

std::int64_t Master::wait_ns(std::int64_t now) const {
    constexpr std::int64_t kTick = 20'000'000;          // while workers are starting or stopping
    constexpr std::int64_t kDeadlineTick = 250'000'000; // request_timeout checks
    std::int64_t wait = -1;
    const auto at_most = [&](std::int64_t ns) { wait = wait < 0 ? ns : std::min(wait, ns); };
    if (stopping_) at_most(std::max<std::int64_t>(stop_deadline_ns_ - now, kTick));
    if (reload_pending_ || !ready_) at_most(kTick);
    if (next_spawn_ns_ > now) at_most(next_spawn_ns_ - now);
    for (const Worker& w : workers_) {
        if (w.config->server.request_timeout > 0) at_most(kDeadlineTick);
        if (sb_->slot(w.slot).state.load() == WorkerState::starting) at_most(kTick);
    }
    if (start_failures_ > 0) at_most(kDeadlineTick); // notice when a worker becomes healthy
    if (!stopping_) at_most(std::max<std::int64_t>(next_housekeeping_ns_ - now, 0));
    return wait;
}

void Master::spawn(std::int64_t now) {
    const int slot = sb_->claim_slot(current_.number);
    if (slot < 0) {
        log(Level::error, "no free worker slot (too many workers still finishing requests)");
        next_spawn_ns_ = now + 1'000'000'000;
        return;
    }
    WorkerArgs args{current_.config,       sb_,      slot,        listener_.fd,
                    current_.action_index, getpid(), handoff_[0], handoff_[1]};
    const pid_t pid = fork();
    if (pid == 0) run_worker(args);
    if (pid < 0) {
        log(Level::error, "fork: {}", std::strerror(errno));
        sb_->release_slot(static_cast<std::size_t>(slot));
        next_spawn_ns_ = now + 1'000'000'000;
        return;
    }
    sb_->slot(slot).pid.store(pid);
    workers_.push_back(Worker{pid, slot, current_.number, current_.config, now});
}

bool Master::maintain_pool(std::int64_t now) {
    // A worker that has been up for a while proves the configuration can start workers.
    if (start_failures_ > 0 && ready_workers(current_.number, now, kHealthyAfterNs) > 0)
        start_failures_ = 0;
    if (start_failures_ >= kMaxStartFailures) {
        if (reload_pending_) {
            log(Level::error,
                "reload failed: workers with the new configuration keep dying at "
                "start; keeping generation {}",
                serving_.number);
            abandon_reload();
            sd_notify_state("READY=1\nSTATUS=reload failed; serving the previous configuration");
        } else if (ready_workers(current_.number, now, kHealthyAfterNs) == 0) {
            log(Level::error, "giving up: {} workers in a row died right after starting",
                start_failures_);
            return false;
        }
    }
    std::size_t live = std::count_if(workers_.begin(), workers_.end(), [&](const Worker& w) {
        return w.generation == current_.number && !w.stopping;
    });
    while (live < current_.config->server.workers && now >= next_spawn_ns_) {
        spawn(now);
        ++live;
    }
    if (!ready_ && ready_workers(current_.number, now, 0) >= current_.config->server.workers) {
        ready_ = true;
        log(Level::notice, "ready: {} workers accepting requests", current_.config->server.workers);
        sd_notify_state(fmt::format("READY=1\nSTATUS=serving with {} workers",
                                    current_.config->server.workers));
    }
    return true;
}

std::size_t Master::ready_workers(std::uint32_t generation, std::int64_t now,
                                  std::int64_t min_age_ns) const {
    return std::count_if(workers_.begin(), workers_.end(), [&](const Worker& w) {
        const WorkerState s = sb_->slot(w.slot).state.load();
        return w.generation == generation && !w.stopping &&
               (s == WorkerState::idle || s == WorkerState::busy) &&
               now - w.started_ns >= min_age_ns;
    });
}

void Master::finish_reload_if_ready() {
    // Once a worker of the new generation has died at start, accepting is no longer proof
    // enough: the generation takes over only when one of its workers has lived as long as a
    // healthy worker does (maintain_pool then clears the count). Otherwise a configuration
    // whose workers die at random could take over between two deaths, retire the generation
    // that works, and then make the master give up.
    const std::int64_t min_age = start_failures_ > 0 ? kHealthyAfterNs : 0;
    if (!reload_pending_ ||
        ready_workers(current_.number, monotonic_ns(), min_age) < current_.config->server.workers)
        return;
    // New workers are accepting; the old ones finish the request they have and exit.
    signal_workers(SIGTERM, true);
    serving_ = current_;
    reload_pending_ = false;
    log(Level::notice, "reload complete: generation {} serving with {} workers, {} actions",
        current_.number, current_.config->server.workers, current_.config->actions.size());
    sd_notify_state(fmt::format("READY=1\nSTATUS=serving with {} workers (generation {})",
                                current_.config->server.workers, current_.number));
}

// Back to the generation in service: the workers of the reload that has not taken over stop
// after their current request.
void Master::abandon_reload() {
    current_ = serving_;
    signal_workers(SIGTERM, true);
    reload_pending_ = false;
    start_failures_ = 0;
    next_spawn_ns_ = 0;
}

void Master::reload() {
    log(Level::notice, "reloading {}", config_path_);
    sd_notify_state(fmt::format("RELOADING=1\nMONOTONIC_USEC={}", monotonic_ns() / 1000));
    ConfigResult r = load_config(config_path_);
    for (const std::string& w : r.warnings)
        log(Level::warning, "{}", w);
    if (r.config != nullptr && !(r.config->server.listen == current_.config->server.listen)) {
        r.errors.push_back(fmt::format("{}: [server] listen: changed from {} to {}; restart the "
                                       "service to move the socket",
                                       config_path_, current_.config->server.listen.to_string(),
                                       r.config->server.listen.to_string()));
    }
    if (std::string error; r.config != nullptr && !prepare_store(r.config->store, false, error))
        r.errors.push_back(fmt::format("{}: [store]: {}", config_path_, error));
    if (std::string error; r.config != nullptr && !prepare_oauth2(*r.config, error))
        r.errors.push_back(fmt::format("{}: {}", config_path_, error));
    std::vector<int> action_index;
    if (r.config != nullptr && r.errors.empty()) {
        // The status table keeps every action name seen since the start; once it is full, a
        // new name is neither counted nor limited. A limit silently dropped is a refusal.
        action_index = sb_->register_actions(*r.config);
        for (std::size_t i = 0; i < action_index.size(); ++i) {
            if (action_index[i] >= 0) continue;
            const ActionConfig& a = r.config->actions[i];
            if (a.max_concurrent > 0)
                r.errors.push_back(fmt::format(
                    "{}: [action:{}] max_concurrent: cannot be enforced: {} different action "
                    "names were configured since the service started; restart the service to "
                    "apply this configuration",
                    config_path_, a.name, Scoreboard::kActions));
            else
                log(Level::warning,
                    "{}: [action:{}]: not counted in /status: {} different action names were "
                    "configured since the service started; a restart resets the table",
                    config_path_, a.name, Scoreboard::kActions);
        }
    }
    if (!r.errors.empty()) {
        for (const std::string& e : r.errors)
            log(Level::error, "{}", e);
        log(Level::error, "reload failed: still serving with the configuration of generation {}",
            serving_.number);
        sd_notify_state("READY=1\nSTATUS=reload failed; serving the previous configuration");
        return;
    }
    const ServerConfig& old = current_.config->server;
    const ServerConfig& now = r.config->server;
    if (old.socket_mode != now.socket_mode || old.socket_group != now.socket_group ||
        old.backlog != now.backlog)
        log(Level::warning, "socket_mode, socket_group and backlog changes take effect on restart");
    const std::uint32_t number = current_.number + 1;
    if (reload_pending_) {
        // The previous reload has not taken over and now never will: stop its workers at once
        // rather than once this one is ready, so that at most two generations hold worker
        // slots (with over 170 workers a third would not fit and the reload would never finish).
        log(Level::notice, "reload to generation {} superseded: stopping its workers",
            current_.number);
        abandon_reload();
    }
    current_.number = number;
    current_.config = std::move(r.config);
    current_.action_index = std::move(action_index);
    reload_pending_ = true;
    start_failures_ = 0;
    next_spawn_ns_ = 0;
    sb_->reloads().fetch_add(1);
    log(Level::notice, "starting {} workers for generation {}", current_.config->server.workers,
        current_.number);
}

void Master::reap(std::int64_t now) {
    int status = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        const auto it = std::find_if(workers_.begin(), workers_.end(),
                                     [&](const Worker& w) { return w.pid == pid; });
        if (it == workers_.end()) continue;
        const Worker w = *it;
        workers_.erase(it);
        WorkerSlot& slot = sb_->slot(w.slot);
        // An exec action it was running lives in its own process group: end it too.
        if (const pid_t group = slot.child_pgid.load(); group > 0) kill(-group, SIGKILL);
        const bool in_request = slot.state.load() == WorkerState::busy;
        const int endpoint = slot.endpoint.load();
        sb_->release_slot(static_cast<std::size_t>(w.slot));

        const std::int64_t lifetime = now - w.started_ns;
        const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == kWorkerDone;
        if (w.stopping || w.timed_out) {
            if (!clean && !w.timed_out && !(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
                log(Level::warning, "worker {} {} while stopping", pid, describe_exit(status));
            continue;
        }
        if (clean) continue; // recycled after max_requests; maintain_pool replaces it
        // A crash inside a request says something about that request, not about whether
        // workers can start: replace the worker at once. (Otherwise a peer sending one poison
        // request after another could push the master into back-off and make it give up.)
        if (in_request) {
            log(Level::error, "worker {} {} while serving a request{}; starting a new one", pid,
                describe_exit(status),
                endpoint >= 0 ? fmt::format(" (endpoint={})", endpoints()[endpoint].name) : "");
            continue;
        }
        const bool current = w.generation == current_.number;
        if (current && lifetime < kHealthyAfterNs) {
            ++start_failures_;
            const std::int64_t backoff = std::min<std::int64_t>(
                100'000'000LL << std::min(start_failures_ - 1, 10), 10'000'000'000LL);
            next_spawn_ns_ = now + backoff;
            log(Level::error, "worker {} {} {:.2f} s after start; next start in {:.1f} s", pid,
                describe_exit(status), seconds(lifetime), seconds(backoff));
        } else {
            log(Level::error, "worker {} {}; starting a new one", pid, describe_exit(status));
        }
    }
}

void Master::enforce_deadlines(std::int64_t now) {
    for (Worker& w : workers_) {
        const unsigned limit = w.config->server.request_timeout;
        if (limit == 0 || w.timed_out) continue;
        const WorkerSlot& slot = sb_->slot(w.slot);
        const std::int64_t started = slot.request_ns.load();
        if (started == 0 || now - started <= std::int64_t(limit) * 1'000'000'000) continue;
        const int ep = slot.endpoint.load();
        const int act = slot.action.load();
        log(Level::error,
            "worker {} killed: its request ran longer than request_timeout ({} s){}{}", w.pid,
            limit, ep >= 0 ? fmt::format(" endpoint={}", endpoints()[ep].name) : std::string(),
            act >= 0 ? fmt::format(" action={}", sb_->action(act).name) : std::string());
        kill_worker(w, SIGKILL);
        w.timed_out = true;
        sb_->deadline_kills().fetch_add(1);
    }
}

void Master::begin_shutdown(std::int64_t now) {
    stopping_ = true;
    stop_deadline_ns_ =
        now + std::int64_t(current_.config->server.shutdown_timeout) * 1'000'000'000;
    sd_notify_state("STOPPING=1");
    // New connections are refused from now on (nginx can try another upstream); requests
    // already accepted finish.
    close_listener(listener_);
    // Nobody will take kept connections over: workers that try are refused at once (EPIPE)
    // and close them.
    if (handoff_[1] >= 0) shutdown(handoff_[1], SHUT_RD);
    const auto busy = std::count_if(workers_.begin(), workers_.end(), [&](const Worker& w) {
        return sb_->slot(w.slot).state.load() == WorkerState::busy;
    });
    log(Level::notice, "stopping: waiting up to {} s for {} requests in flight",
        current_.config->server.shutdown_timeout, busy);
    signal_workers(SIGTERM, false);
}

void Master::signal_workers(int sig, bool only_other_generations) {
    for (Worker& w : workers_) {
        if (only_other_generations && w.generation == current_.number) continue;
        if (w.stopping && sig == SIGTERM) continue;
        kill_worker(w, sig);
        w.stopping = true;
    }
}

void Master::kill_worker(Worker& w, int sig) {
    kill(w.pid, sig);
    if (sig == SIGKILL) {
        if (const pid_t group = sb_->slot(w.slot).child_pgid.load(); group > 0)
            kill(-group, SIGKILL);
    }
}

} // namespace wfhookd
