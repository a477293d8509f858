// Supervision: dead workers are replaced quickly, workers that keep dying at start are
// restarted with growing back-off until the master gives up (so systemd can take over), and
// no worker outlives its master.
#include "support/stack.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <csignal>
#include <future>
#include <regex>
#include <set>
#include <sys/wait.h>

using namespace wftest;

namespace {

// Kills every new worker of `master` as soon as it appears, `times` times.
void kill_new_workers(pid_t master, int times, std::set<pid_t>& killed) {
    for (int i = 0; i < times; ++i) {
        pid_t victim = 0;
        const bool seen = wait_until(
            [&] {
                for (const pid_t p : children_of(master))
                    if (!killed.count(p)) return (victim = p), true;
                return false;
            },
            15s);
        if (!seen) return;
        kill(victim, SIGKILL);
        killed.insert(victim);
    }
}

std::vector<double> backoffs(const std::string& log) {
    std::vector<double> out;
    static const std::regex re(R"(next start in ([0-9.]+) s)");
    for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator();
         ++it)
        out.push_back(std::stod((*it)[1]));
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(supervision)

BOOST_AUTO_TEST_CASE(a_killed_worker_is_replaced_within_a_second) {
    WfhookdOptions o;
    o.server = "workers = 2\n";
    Stack s(o);
    for (int round = 0; round < 3; ++round) {
        const std::vector<pid_t> before = s.wfhookd.workers();
        BOOST_TEST_REQUIRE(before.size() == 2u);
        // A worker that dies younger than a second counts as a failed start and is replaced
        // after a back-off; this test is about a worker that had been serving.
        BOOST_TEST_REQUIRE(wait_until([&] { return process_age(before[0]) > 1100ms; }));
        kill(before[0], SIGKILL);
        BOOST_TEST(wait_until(
            [&] {
                const auto now = s.wfhookd.workers();
                return now.size() == 2 && std::find(now.begin(), now.end(), before[0]) == now.end();
            },
            1s));
        // Replaced at once, as a crash, not after a back-off meant for failing starts.
        const std::string log = s.wfhookd.log();
        const auto at = log.find("worker " + std::to_string(before[0]) + " killed by signal 9");
        BOOST_TEST_REQUIRE(at != std::string::npos, log);
        const std::string line = log.substr(at, log.find('\n', at) - at);
        BOOST_TEST(line.find("starting a new one") != std::string::npos, line);
        BOOST_TEST(line.find("next start in") == std::string::npos, line);
        BOOST_TEST(s.get("/serviceInfo").status == 200);
    }
}

BOOST_AUTO_TEST_CASE(workers_dying_at_start_get_growing_back_off_then_the_master_gives_up) {
    TempDir dir;
    WfhookdOptions o;
    o.server = "workers = 1\n";
    Wfhookd w(dir, o);
    w.start();
    std::set<pid_t> killed;
    // Exactly as many as the master tolerates: no more children of its are ours to kill (at
    // exit, LeakSanitizer's tracer in a sanitizer build is one).
    kill_new_workers(w.pid(), 5, killed);
    const int status = w.process().wait(30s);
    BOOST_TEST_REQUIRE(status != -1, "the master did not give up; log:\n" << w.log());
    BOOST_TEST(WIFEXITED(status));
    BOOST_TEST(WEXITSTATUS(status) == 1);
    const std::vector<double> b = backoffs(w.log());
    BOOST_TEST_REQUIRE(b.size() >= 4u, w.log());
    for (std::size_t i = 1; i < b.size(); ++i)
        BOOST_TEST(b[i] > b[i - 1]);
    BOOST_TEST(w.log().find("giving up: 5 workers in a row died right after starting") !=
               std::string::npos);
    BOOST_TEST(!file_exists(w.socket_path()));
}

BOOST_AUTO_TEST_CASE(a_worker_that_survives_resets_the_back_off) {
    TempDir dir;
    WfhookdOptions o;
    o.server = "workers = 1\n";
    Wfhookd w(dir, o);
    w.start();
    std::set<pid_t> killed;
    kill_new_workers(w.pid(), 3, killed); // three quick deaths: back-off 0.1, 0.2, 0.4 s
    // Let the next worker prove itself (it must live past one second)...
    pid_t survivor = 0;
    BOOST_TEST_REQUIRE(wait_until([&] {
        for (const pid_t p : children_of(w.pid()))
            if (!killed.count(p)) return (survivor = p), true;
        return false;
    }));
    BOOST_TEST(!wait_until([&] { return !process_alive(survivor); }, 1500ms));
    // ...then a death is an ordinary crash again: no back-off, no giving up.
    kill(survivor, SIGKILL);
    BOOST_TEST(w.wait_log("worker " + std::to_string(survivor) +
                          " killed by signal 9 (Killed); starting a new one"));
    kill_new_workers(w.pid(), 4, killed);
    BOOST_TEST(w.process().running()); // 4 < 5 failures since the reset
    BOOST_TEST(wait_until([&] { return !children_of(w.pid()).empty(); }, 10s));
}

BOOST_AUTO_TEST_CASE(workers_die_with_a_killed_master) {
    TempDir out;
    WfhookdOptions o;
    o.server = "workers = 2\n";
    o.actions = exec_action("slow", "sleep.sh", "1 " + out.file("pid"), 10);
    Stack s(o);
    const std::vector<pid_t> workers = s.wfhookd.workers();
    BOOST_TEST_REQUIRE(workers.size() == 2u);
    auto call = std::async(std::launch::async,
                           [&] { return s.get("/customAction?name=slow&documentId=1", s.auth()); });
    BOOST_TEST_REQUIRE(wait_until([&] { return file_exists(out.file("pid")); }));
    kill(s.wfhookd.pid(), SIGKILL); // the master only, no chance to clean up
    // The request a worker is running still completes...
    BOOST_TEST(call.get().status == 200);
    // ...and then every worker exits on its own.
    for (const pid_t w : workers)
        BOOST_TEST(wait_until([&] { return !process_alive(w); }, 10s));
}

BOOST_AUTO_TEST_SUITE_END()
