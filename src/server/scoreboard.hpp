// State shared between the master and its workers: one slot per worker process, per-action
// and per-status counters. It lives in an anonymous shared mapping made before the first fork,
// so every process sees the same memory; fields are lock-free atomics.
//
// Workers write their own slot; the master reads slots to enforce request_timeout, to release
// what a dead worker held, and to know when new workers are ready; /status reads everything.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace wfhookd {

struct Config;

enum class WorkerState : std::uint8_t { free, starting, idle, busy, exiting };
std::string_view to_string(WorkerState s);

struct WorkerSlot {
    std::atomic<pid_t> pid;
    std::atomic<std::uint32_t> generation; // config generation the worker serves
    std::atomic<WorkerState> state;
    std::atomic<std::int64_t> started_ns; // monotonic time of fork
    std::atomic<std::int64_t> request_ns; // monotonic start of the current request, 0 idle
    std::atomic<std::uint64_t> requests;  // requests served
    std::atomic<std::int32_t> endpoint;   // index into endpoints() while busy, -1 unknown
    std::atomic<std::int32_t> action;     // shared action index held while running, -1
    std::atomic<pid_t> child_pgid;        // process group of a running exec action, 0
};

struct ActionCounters {
    char name[72];                            // NUL-terminated; empty = unused
    std::atomic<std::uint64_t> calls;         // started runs
    std::atomic<std::uint64_t> failures;      // runs that ended in an error
    std::atomic<std::uint64_t> rejected_busy; // answered 503 because of max_concurrent
};

class Scoreboard {
public:
    static constexpr std::size_t kSlots = 512;   // 2 x the worker limit: room for a reload
    static constexpr std::size_t kActions = 256; // distinct action names over all reloads
    static constexpr int kStatusCodes = 600;

    // Maps the shared memory. Call in the master before forking.
    static Scoreboard* create();

    WorkerSlot& slot(std::size_t i) { return slots_[i]; }
    const WorkerSlot& slot(std::size_t i) const { return slots_[i]; }

    // Master: claims a free slot for a new worker (or returns -1 when all are taken).
    int claim_slot(std::uint32_t generation);
    // Master: the worker in slot i is gone; forget everything it held.
    void release_slot(std::size_t i);

    // Master: the shared counter index of each configured action, registering new names. The
    // result is indexed like Config::actions; an entry is -1 when the table is full.
    std::vector<int> register_actions(const Config& config);

    // Worker: take a run of action `idx` (-1 means untracked) for `slot`, honouring
    // `max_concurrent` (0 = unlimited). Concurrency is counted from the slots themselves, so a
    // worker that dies mid-action can never leak a run: freeing its slot frees the run.
    bool try_begin_action(std::size_t slot, int idx, unsigned max_concurrent);
    void end_action(std::size_t slot, bool failed);

    void count_status(int status);

    std::uint64_t status_count(int status) const;
    const ActionCounters& action(std::size_t i) const { return actions_[i]; }
    std::int64_t started_ns() const { return started_ns_; }
    std::atomic<std::uint64_t>& reloads() { return reloads_; }
    std::uint64_t reloads() const { return reloads_.load(std::memory_order_relaxed); }
    std::atomic<std::uint64_t>& deadline_kills() { return deadline_kills_; }
    std::uint64_t deadline_kills() const { return deadline_kills_.load(std::memory_order_relaxed); }

private:
    Scoreboard() = default;

    std::int64_t started_ns_ = 0;
    std::atomic<std::uint64_t> reloads_;
    std::atomic<std::uint64_t> deadline_kills_; // workers killed for request_timeout
    // Slots [0, slots_used_) have ever been claimed: the rest need no looking at (claims take
    // the lowest free slot, so this stays near the number of workers).
    std::atomic<std::size_t> slots_used_;
    WorkerSlot slots_[kSlots];
    ActionCounters actions_[kActions];
    std::atomic<std::uint64_t> by_status_[kStatusCodes];
};

} // namespace wfhookd
