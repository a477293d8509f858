#include "server/scoreboard.hpp"

#include "config/config.hpp"
#include "util/clock.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <ostream>
#include <string>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace bdata = boost::unit_test::data;
using wfhookd::Scoreboard;
using wfhookd::WorkerState;

namespace {

// A fresh shared scoreboard per test, unmapped afterwards.
struct Board {
    Scoreboard* sb = Scoreboard::create();
    ~Board() { munmap(sb, sizeof(Scoreboard)); }
};

wfhookd::Config config_with(const std::vector<std::string>& names) {
    wfhookd::Config c;
    for (const std::string& n : names) {
        wfhookd::ActionConfig a;
        a.name = n;
        a.display_name = n;
        a.type = wfhookd::find_action_type("noop");
        a.index = c.actions.size();
        c.actions.push_back(a);
    }
    return c;
}

struct StateName {
    WorkerState state;
    std::string name;
};

std::ostream& operator<<(std::ostream& os, const StateName& s) {
    return os << s.name;
}

const StateName kStates[] = {
    {WorkerState::free, "free"}, {WorkerState::starting, "starting"}, {WorkerState::idle, "idle"},
    {WorkerState::busy, "busy"}, {WorkerState::exiting, "exiting"},
};

} // namespace

BOOST_AUTO_TEST_SUITE(scoreboard)

BOOST_DATA_TEST_CASE(worker_state_names, bdata::make(kStates), s) {
    BOOST_TEST(wfhookd::to_string(s.state) == s.name);
}

BOOST_AUTO_TEST_CASE(created_empty) {
    const std::int64_t before = wfhookd::monotonic_ns();
    Board b;
    const std::int64_t after = wfhookd::monotonic_ns();
    const Scoreboard& sb = *b.sb;
    BOOST_TEST(sb.started_ns() >= before);
    BOOST_TEST(sb.started_ns() <= after);
    BOOST_TEST(sb.reloads() == 0u);
    BOOST_TEST(sb.deadline_kills() == 0u);
    int not_free = 0, bad_fields = 0;
    for (std::size_t i = 0; i < Scoreboard::kSlots; ++i) {
        const wfhookd::WorkerSlot& s = sb.slot(i);
        not_free += s.state.load() != WorkerState::free;
        bad_fields += s.endpoint.load() != -1 || s.action.load() != -1 || s.pid.load() != 0 ||
                      s.child_pgid.load() != 0 || s.requests.load() != 0;
    }
    BOOST_TEST(not_free == 0);
    BOOST_TEST(bad_fields == 0);
    int counted = 0, named = 0;
    for (int code = 0; code < Scoreboard::kStatusCodes; ++code)
        counted += sb.status_count(code) != 0;
    for (std::size_t i = 0; i < Scoreboard::kActions; ++i)
        named += sb.action(i).name[0] != '\0';
    BOOST_TEST(counted == 0);
    BOOST_TEST(named == 0);
}

BOOST_AUTO_TEST_CASE(claim_takes_free_slots_in_order) {
    Board b;
    BOOST_TEST(b.sb->claim_slot(1) == 0);
    BOOST_TEST(b.sb->claim_slot(1) == 1);
    BOOST_TEST(b.sb->claim_slot(2) == 2);
    const wfhookd::WorkerSlot& s = b.sb->slot(2);
    BOOST_TEST((s.state.load() == WorkerState::starting));
    BOOST_TEST(s.generation.load() == 2u);
    BOOST_TEST(s.started_ns.load() >= b.sb->started_ns());
    BOOST_TEST(s.started_ns.load() <= wfhookd::monotonic_ns());
}

BOOST_AUTO_TEST_CASE(claim_resets_what_the_previous_worker_left) {
    Board b;
    const int i = b.sb->claim_slot(1);
    BOOST_TEST_REQUIRE(i == 0);
    wfhookd::WorkerSlot& s = b.sb->slot(0);
    s.pid.store(4242);
    s.state.store(WorkerState::busy);
    s.request_ns.store(99);
    s.requests.store(17);
    s.endpoint.store(2);
    s.action.store(3);
    s.child_pgid.store(4343);
    b.sb->release_slot(0);
    BOOST_TEST((s.state.load() == WorkerState::free));
    BOOST_TEST(s.pid.load() == 0);
    BOOST_TEST(s.action.load() == -1);
    BOOST_TEST(s.request_ns.load() == 0);
    BOOST_TEST(s.child_pgid.load() == 0);
    s.requests.store(17); // release keeps these; claim must reset them
    s.endpoint.store(2);
    BOOST_TEST(b.sb->claim_slot(5) == 0); // the freed slot is reused first
    BOOST_TEST((s.state.load() == WorkerState::starting));
    BOOST_TEST(s.generation.load() == 5u);
    BOOST_TEST(s.requests.load() == 0u);
    BOOST_TEST(s.endpoint.load() == -1);
    BOOST_TEST(s.action.load() == -1);
    BOOST_TEST(s.request_ns.load() == 0);
    BOOST_TEST(s.child_pgid.load() == 0);
    BOOST_TEST(s.pid.load() == 0);
}

BOOST_AUTO_TEST_CASE(claim_fails_when_every_slot_is_taken) {
    Board b;
    for (std::size_t i = 0; i < Scoreboard::kSlots; ++i)
        BOOST_TEST_REQUIRE(b.sb->claim_slot(1) == static_cast<int>(i));
    BOOST_TEST(b.sb->claim_slot(1) == -1);
    b.sb->release_slot(100);
    BOOST_TEST(b.sb->claim_slot(1) == 100);
    BOOST_TEST(b.sb->claim_slot(1) == -1);
}

BOOST_AUTO_TEST_CASE(register_actions_is_idempotent_by_name) {
    Board b;
    const std::vector<int> first = b.sb->register_actions(config_with({"a", "b"}));
    BOOST_TEST(first == (std::vector<int>{0, 1}), boost::test_tools::per_element());
    BOOST_TEST(b.sb->register_actions(config_with({"a", "b"})) == first,
               boost::test_tools::per_element());
    // A reload that reorders, keeps and adds names.
    const std::vector<int> second = b.sb->register_actions(config_with({"c", "b", "a", "d"}));
    BOOST_TEST(second == (std::vector<int>{2, 1, 0, 3}), boost::test_tools::per_element());
    BOOST_TEST(std::string(b.sb->action(0).name) == "a");
    BOOST_TEST(std::string(b.sb->action(1).name) == "b");
    BOOST_TEST(std::string(b.sb->action(2).name) == "c");
    BOOST_TEST(std::string(b.sb->action(3).name) == "d");
    BOOST_TEST(b.sb->action(4).name[0] == '\0');
    BOOST_TEST(b.sb->register_actions(config_with({})).empty());
}

BOOST_AUTO_TEST_CASE(register_actions_keeps_long_names_apart) {
    Board b;
    const std::string n1(64, 'x'), n2 = std::string(63, 'x') + "y";
    const std::vector<int> idx = b.sb->register_actions(config_with({n1, n2}));
    BOOST_TEST(idx == (std::vector<int>{0, 1}), boost::test_tools::per_element());
    BOOST_TEST(std::string(b.sb->action(0).name) == n1);
    BOOST_TEST(b.sb->register_actions(config_with({n2, n1})) == (std::vector<int>{1, 0}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(register_actions_when_the_table_is_full) {
    Board b;
    std::vector<std::string> names;
    for (std::size_t i = 0; i < Scoreboard::kActions; ++i)
        names.push_back("n" + std::to_string(i));
    const std::vector<int> all = b.sb->register_actions(config_with(names));
    BOOST_TEST(all.back() == static_cast<int>(Scoreboard::kActions - 1));
    const std::vector<int> more = b.sb->register_actions(config_with({"n5", "new-one"}));
    BOOST_TEST(more == (std::vector<int>{5, -1}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(untracked_actions_always_start) {
    Board b;
    const int slot = b.sb->claim_slot(1);
    BOOST_TEST(b.sb->try_begin_action(slot, -1, 1));
    BOOST_TEST(b.sb->slot(slot).action.load() == -1);
    b.sb->end_action(slot, true); // nothing held: nothing counted
    for (std::size_t i = 0; i < 4; ++i) {
        BOOST_TEST(b.sb->action(i).calls.load() == 0u);
        BOOST_TEST(b.sb->action(i).failures.load() == 0u);
    }
}

BOOST_AUTO_TEST_CASE(begin_and_end_count_calls_and_failures) {
    Board b;
    const int idx = b.sb->register_actions(config_with({"a"})).at(0);
    const int s0 = b.sb->claim_slot(1), s1 = b.sb->claim_slot(1), s2 = b.sb->claim_slot(1);
    // max_concurrent 0: unlimited.
    BOOST_TEST(b.sb->try_begin_action(s0, idx, 0));
    BOOST_TEST(b.sb->try_begin_action(s1, idx, 0));
    BOOST_TEST(b.sb->try_begin_action(s2, idx, 0));
    BOOST_TEST(b.sb->slot(s1).action.load() == idx);
    BOOST_TEST(b.sb->action(idx).calls.load() == 3u);
    b.sb->end_action(s0, false);
    b.sb->end_action(s1, true);
    b.sb->end_action(s2, true);
    BOOST_TEST(b.sb->slot(s0).action.load() == -1);
    BOOST_TEST(b.sb->slot(s1).action.load() == -1);
    BOOST_TEST(b.sb->action(idx).failures.load() == 2u);
    BOOST_TEST(b.sb->action(idx).rejected_busy.load() == 0u);
    b.sb->end_action(s0, true); // a second end without a begin counts nothing
    BOOST_TEST(b.sb->action(idx).failures.load() == 2u);
}

BOOST_AUTO_TEST_CASE(max_concurrent_refuses_extra_runs) {
    Board b;
    const std::vector<int> idx = b.sb->register_actions(config_with({"a", "other"}));
    const int s0 = b.sb->claim_slot(1), s1 = b.sb->claim_slot(1), s2 = b.sb->claim_slot(1);
    BOOST_TEST(b.sb->try_begin_action(s0, idx[0], 2));
    BOOST_TEST(b.sb->try_begin_action(s1, idx[0], 2));
    BOOST_TEST(!b.sb->try_begin_action(s2, idx[0], 2));
    BOOST_TEST(b.sb->slot(s2).action.load() == -1); // a refused slot holds nothing
    BOOST_TEST(b.sb->action(idx[0]).rejected_busy.load() == 1u);
    BOOST_TEST(b.sb->action(idx[0]).calls.load() == 2u);
    // Another action is not limited by this one's runs.
    BOOST_TEST(b.sb->try_begin_action(s2, idx[1], 1));
    b.sb->end_action(s2, false);
    // Ending one run frees a place.
    b.sb->end_action(s0, false);
    BOOST_TEST(b.sb->try_begin_action(s2, idx[0], 2));
    BOOST_TEST(b.sb->action(idx[0]).calls.load() == 3u);
}

BOOST_AUTO_TEST_CASE(releasing_a_slot_frees_its_running_action) {
    Board b;
    const int idx = b.sb->register_actions(config_with({"a"})).at(0);
    const int s0 = b.sb->claim_slot(1), s1 = b.sb->claim_slot(1);
    BOOST_TEST(b.sb->try_begin_action(s0, idx, 1));
    BOOST_TEST(!b.sb->try_begin_action(s1, idx, 1));
    b.sb->release_slot(s0); // the worker died mid-action
    BOOST_TEST(b.sb->try_begin_action(s1, idx, 1));
    BOOST_TEST(b.sb->action(idx).rejected_busy.load() == 1u);
}

BOOST_AUTO_TEST_CASE(count_status_counts_valid_codes_only) {
    Board b;
    b.sb->count_status(200);
    b.sb->count_status(200);
    b.sb->count_status(404);
    b.sb->count_status(0);
    b.sb->count_status(599);
    b.sb->count_status(-1);
    b.sb->count_status(600);
    b.sb->count_status(1000);
    BOOST_TEST(b.sb->status_count(200) == 2u);
    BOOST_TEST(b.sb->status_count(404) == 1u);
    BOOST_TEST(b.sb->status_count(0) == 1u);
    BOOST_TEST(b.sb->status_count(599) == 1u);
    BOOST_TEST(b.sb->status_count(500) == 0u);
    BOOST_TEST(b.sb->status_count(-1) == 0u);
    BOOST_TEST(b.sb->status_count(600) == 0u);
    BOOST_TEST(b.sb->status_count(1000) == 0u);
    std::uint64_t total = 0;
    for (int code = 0; code < Scoreboard::kStatusCodes; ++code)
        total += b.sb->status_count(code);
    BOOST_TEST(total == 5u);
}

// The scoreboard is shared memory: what a forked worker writes, the master reads.
BOOST_AUTO_TEST_CASE(shared_with_forked_children) {
    Board b;
    const int idx = b.sb->register_actions(config_with({"a"})).at(0);
    const int slot = b.sb->claim_slot(1);
    const pid_t pid = fork();
    BOOST_TEST_REQUIRE(pid >= 0);
    if (pid == 0) {
        b.sb->count_status(503);
        b.sb->slot(slot).requests.store(7);
        const bool began = b.sb->try_begin_action(slot, idx, 1);
        _exit(began ? 0 : 1);
    }
    int status = 0;
    BOOST_TEST_REQUIRE(waitpid(pid, &status, 0) == pid);
    BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    BOOST_TEST(b.sb->status_count(503) == 1u);
    BOOST_TEST(b.sb->slot(slot).requests.load() == 7u);
    BOOST_TEST(b.sb->slot(slot).action.load() == idx);
    BOOST_TEST(b.sb->action(idx).calls.load() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
