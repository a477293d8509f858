#include "server/scoreboard.hpp"

#include "config/config.hpp"
#include "util/clock.hpp"

#include <cstring>
#include <new>
#include <stdexcept>
#include <sys/mman.h>

namespace wfhookd {

static_assert(std::atomic<std::uint64_t>::is_always_lock_free &&
                  std::atomic<std::int64_t>::is_always_lock_free &&
                  std::atomic<pid_t>::is_always_lock_free,
              "scoreboard atomics must be lock-free to work across processes");

std::string_view to_string(WorkerState s) {
    switch (s) {
    case WorkerState::free:
        return "free";
    case WorkerState::starting:
        return "starting";
    case WorkerState::idle:
        return "idle";
    case WorkerState::busy:
        return "busy";
    case WorkerState::exiting:
        return "exiting";
    }
    return "unknown";
}

Scoreboard* Scoreboard::create() {
    void* mem = mmap(nullptr, sizeof(Scoreboard), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) throw std::runtime_error("mmap of the scoreboard failed");
    // The mapping is zero-filled, which is the free state of every field; placement-new only
    // gives the atomics their lifetime.
    auto* sb = new (mem) Scoreboard();
    for (WorkerSlot& s : sb->slots_) {
        s.endpoint.store(-1, std::memory_order_relaxed);
        s.action.store(-1, std::memory_order_relaxed);
    }
    sb->started_ns_ = monotonic_ns();
    return sb;
}

int Scoreboard::claim_slot(std::uint32_t generation) {
    for (std::size_t i = 0; i < kSlots; ++i) {
        WorkerSlot& s = slots_[i];
        if (s.state.load() != WorkerState::free) continue;
        s.generation.store(generation);
        s.started_ns.store(monotonic_ns());
        s.request_ns.store(0);
        s.requests.store(0);
        s.endpoint.store(-1);
        s.action.store(-1);
        s.child_pgid.store(0);
        s.pid.store(0);
        s.state.store(WorkerState::starting);
        if (slots_used_.load() < i + 1) slots_used_.store(i + 1);
        return static_cast<int>(i);
    }
    return -1;
}

void Scoreboard::release_slot(std::size_t i) {
    WorkerSlot& s = slots_[i];
    s.action.store(-1);
    s.request_ns.store(0);
    s.child_pgid.store(0);
    s.pid.store(0);
    s.state.store(WorkerState::free);
}

std::vector<int> Scoreboard::register_actions(const Config& config) {
    std::vector<int> index;
    for (const ActionConfig& a : config.actions) {
        int found = -1;
        for (std::size_t i = 0; i < kActions && found < 0; ++i) {
            if (actions_[i].name[0] == '\0') {
                std::strncpy(actions_[i].name, a.name.c_str(), sizeof(actions_[i].name) - 1);
                found = static_cast<int>(i);
            } else if (a.name == actions_[i].name) {
                found = static_cast<int>(i);
            }
        }
        index.push_back(found);
    }
    return index;
}

bool Scoreboard::try_begin_action(std::size_t slot, int idx, unsigned max_concurrent) {
    if (idx < 0) return true;
    WorkerSlot& self = slots_[slot];
    self.action.store(idx);
    if (max_concurrent > 0) {
        // Announce first, then count everyone who announced (including us). Two workers racing
        // for the last place may both see the other and both back off: a spurious 503 is
        // possible under a tight race, running more than max_concurrent is not.
        unsigned running = 0;
        const std::size_t used = slots_used_.load();
        for (std::size_t i = 0; i < used; ++i)
            if (slots_[i].action.load() == idx) ++running;
        if (running > max_concurrent) {
            self.action.store(-1);
            actions_[idx].rejected_busy.fetch_add(1, std::memory_order_relaxed);
            return false;
        }
    }
    actions_[idx].calls.fetch_add(1, std::memory_order_relaxed);
    return true;
}

void Scoreboard::end_action(std::size_t slot, bool failed) {
    WorkerSlot& self = slots_[slot];
    const int idx = self.action.exchange(-1);
    if (idx >= 0 && failed) actions_[idx].failures.fetch_add(1, std::memory_order_relaxed);
}

void Scoreboard::count_status(int status) {
    if (status >= 0 && status < kStatusCodes)
        by_status_[status].fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t Scoreboard::status_count(int status) const {
    return status >= 0 && status < kStatusCodes ? by_status_[status].load() : 0;
}

} // namespace wfhookd
