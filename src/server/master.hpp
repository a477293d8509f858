// The master process: owns the listening socket and the scoreboard, forks and supervises the
// workers, reloads the configuration on SIGHUP and stops gracefully on SIGTERM/SIGINT.
#pragma once

#include "config/config.hpp"
#include "server/listener.hpp"
#include "server/scoreboard.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

namespace wfhookd {

class Master {
public:
    Master(std::string config_path, std::shared_ptr<const Config> config, Listener listener,
           Scoreboard* scoreboard);

    // Runs until stopped; returns the process exit code.
    int run();

    // Install the master's signal handlers (they only set flags). Call before anything forks.
    static void install_signal_handlers();

    // A worker that dies sooner than this after its start counts as failing to start.
    static constexpr std::int64_t kHealthyAfterNs = 1'000'000'000;
    // Consecutive failed starts with no healthy worker before the master gives up (exit 1).
    static constexpr int kMaxStartFailures = 5;

private:
    struct Worker {
        pid_t pid;
        int slot;
        std::uint32_t generation;
        std::shared_ptr<const Config> config; // the configuration this worker serves
        std::int64_t started_ns;
        bool stopping = false;  // we sent SIGTERM (stop, reload, rollback)
        bool timed_out = false; // we killed it for request_timeout
    };

    struct Generation {
        std::uint32_t number = 0;
        std::shared_ptr<const Config> config;
        std::vector<int> action_index;
    };

    void spawn(std::int64_t now);
    void reap(std::int64_t now);
    void reload();
    void begin_shutdown(std::int64_t now);
    void enforce_deadlines(std::int64_t now);
    // Spawns missing workers and tracks readiness; returns false when workers cannot start.
    bool maintain_pool(std::int64_t now);
    void finish_reload_if_ready();
    void abandon_reload();
    void signal_workers(int sig, bool only_other_generations);
    void kill_worker(Worker& w, int sig);
    std::size_t ready_workers(std::uint32_t generation, std::int64_t now,
                              std::int64_t min_age_ns) const;
    std::int64_t wait_ns(std::int64_t now) const;

    std::string config_path_;
    Generation current_; // what new workers get
    Generation serving_; // what the last complete (re)load put in service
    bool reload_pending_ = false;
    Listener listener_;
    Scoreboard* sb_;
    std::vector<Worker> workers_;
    int start_failures_ = 0;
    std::int64_t next_spawn_ns_ = 0;
    bool stopping_ = false;
    bool killed_stragglers_ = false;
    std::int64_t stop_deadline_ns_ = 0;
    bool ready_ = false;
    std::int64_t next_housekeeping_ns_ = 0; // the store's periodic work (thumbnail cache)
    int handoff_[2] = {-1, -1};             // see WorkerArgs::handoff_send
};

} // namespace wfhookd
