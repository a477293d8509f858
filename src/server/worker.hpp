// A worker process: waits for connections on the shared listening socket, serves one request
// per connection, and keeps its scoreboard slot up to date.
#pragma once

#include "config/config.hpp"
#include "server/scoreboard.hpp"

#include <memory>
#include <sys/types.h>
#include <vector>

namespace wfhookd {

struct WorkerArgs {
    std::shared_ptr<const Config> config;
    Scoreboard* scoreboard = nullptr;
    int slot = -1;
    int listen_fd = -1;
    std::vector<int> action_index; // Config::actions -> scoreboard counters
    pid_t master = 0;
    // A datagram socket pair shared by every worker of every generation: a worker that stops
    // (reload, max_requests) or keeps too many connections sends its idle kept connections
    // (SCM_RIGHTS) to whichever worker is listening, instead of closing them under the web
    // server's feet.
    int handoff_send = -1;
    int handoff_recv = -1;
};

// Exit codes of a worker, read by the master.
enum WorkerExit : int {
    kWorkerDone = 0,       // asked to stop, or recycled after max_requests
    kWorkerStartFailed = 3 // could not set itself up
};

// Runs in the child after fork(); never returns.
[[noreturn]] void run_worker(const WorkerArgs& args);

// The signals the master and workers handle; blocked everywhere except at their wait points.
void block_handled_signals(sigset_t* previous = nullptr);

} // namespace wfhookd
