// Graceful reload (SIGHUP): new workers with the new configuration, old ones retired after
// their request, and not one request lost on the way; an invalid configuration changes
// nothing.
#include "support/fcgi_client.hpp"
#include "support/json_check.hpp"
#include "support/stack.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <future>
#include <memory>
#include <set>
#include <thread>

using namespace wftest;

namespace {

WfhookdOptions with_actions(int extra) {
    WfhookdOptions o;
    o.server = "workers = 2\n";
    o.actions = "[action:noop]\ntype = noop\n";
    for (int i = 1; i <= extra; ++i)
        o.actions += "\n[action:extra" + std::to_string(i) + "]\ntype = noop\n";
    return o;
}

// Sends requests back to back until stopped; counts what did not come back 200.
struct Client {
    Stack& stack;
    std::atomic<bool> stop{false};
    std::atomic<int> sent{0}, failed{0};
    std::string first_failure;
    std::thread thread;

    explicit Client(Stack& s) : stack(s) {
        thread = std::thread([this] {
            while (!stop) {
                const bool action = sent % 2 == 0;
                const HttpResponse r =
                    action ? stack.get("/customAction?name=noop&documentId=1", stack.auth())
                           : stack.get("/serviceInfo");
                ++sent;
                if (!r.ok || r.status != 200) {
                    if (failed++ == 0) first_failure = std::to_string(r.status) + " " + r.body;
                }
            }
        });
    }
    ~Client() { finish(); }
    void finish() {
        stop = true;
        if (thread.joinable()) thread.join();
    }
};

// After a reload that went through: two live workers, none of the retired generation and
// none the test killed. Counting two children is not enough: the retiring generation may
// still be there while the master waits to replace the killed ones.
bool settled(const Stack& s, const std::vector<pid_t>& old, const std::set<pid_t>& killed) {
    const auto now = s.wfhookd.workers();
    return now.size() == 2 && std::all_of(now.begin(), now.end(), [&](pid_t p) {
               return process_alive(p) && !killed.contains(p) &&
                      std::find(old.begin(), old.end(), p) == old.end();
           });
}

bool service_info_lists(Stack& s, const std::string& action) {
    return s.get("/serviceInfo").body.find("\"name\":\"" + action + "\"") != std::string::npos;
}

} // namespace

BOOST_AUTO_TEST_SUITE(reload)

BOOST_AUTO_TEST_CASE(twenty_reloads_under_continuous_load_lose_no_request) {
    Stack s(with_actions(0));
    Client client(s);
    BOOST_TEST_REQUIRE(wait_until([&] { return client.sent > 20; }));
    for (int i = 1; i <= 20; ++i) {
        s.wfhookd.write_config(with_actions(i));
        s.wfhookd.process().signal(SIGHUP);
        BOOST_TEST_REQUIRE(s.wfhookd.wait_log("reload complete", i), s.wfhookd.log());
        // The new action is served once the old workers have finished.
        BOOST_TEST(wait_until([&] { return service_info_lists(s, "extra" + std::to_string(i)); }));
    }
    const int before = client.sent;
    // Still flowing, and enough requests overall for the zero below to mean something.
    BOOST_TEST(wait_until([&] { return client.sent > std::max(before + 20, 200); }, 60s));
    client.finish();
    BOOST_TEST(client.failed == 0, client.failed
                                       << " of " << client.sent
                                       << " requests failed, first: " << client.first_failure);
    // Old generations are gone: only the configured number of workers remains.
    BOOST_TEST(wait_until([&] { return s.wfhookd.workers().size() == 2; }));
}

BOOST_AUTO_TEST_CASE(a_worker_with_a_full_backlog_still_notices_its_sigterm) {
    // Workers take waiting connections without sleeping in epoll_pwait (where signals are let
    // in), so under sustained load they must still look for signals regularly, or an old
    // generation would never retire. Make the backlog certainly full: hold the only worker in
    // a slow action, queue requests behind it, and stop it meanwhile.
    TempDir out;
    WfhookdOptions o = with_actions(0);
    o.server = "workers = 1\n";
    // Long enough that the SIGTERM below certainly lands while the action runs.
    o.actions += exec_action("slow", "sleep.sh", "3 " + out.file("pid"), 10);
    TempDir dir;
    Wfhookd w(dir, o);
    w.start();
    const pid_t worker = w.workers().at(0);
    auto slow = std::async(std::launch::async, [&] {
        return fcgi_call(w.socket_path(), {{"REQUEST_METHOD", "GET"},
                                           {"DOCUMENT_URI", "/customAction"},
                                           {"QUERY_STRING", "name=slow&documentId=1"},
                                           {"HTTP_APIKEY", w.api_key()},
                                           {"HTTP_USERNAME", "u"}});
    });
    BOOST_TEST_REQUIRE(wait_until([&] { return file_exists(out.file("pid")); }));
    std::vector<int> queued;
    for (int i = 0; i < 100; ++i) {
        const int fd = connect_unix(w.socket_path());
        BOOST_TEST_REQUIRE(fd >= 0);
        write_all(fd, fcgi_request({{"REQUEST_METHOD", "GET"}, {"DOCUMENT_URI", "/serviceInfo"}}));
        queued.push_back(fd);
    }
    kill(worker, SIGTERM); // pending until the slow request is over
    BOOST_TEST(slow.get().status == 200);
    BOOST_TEST(wait_until([&] { return !process_alive(worker); }, 10s), w.log());
    int answered = 0;
    for (const int fd : queued) {
        answered += fcgi_parse_reply(read_until_eof(fd, 10s)).status == 200;
        close(fd);
    }
    BOOST_TEST(answered == 100); // its replacement served the rest
    // The slow request, then at most one signal check's worth of queued ones.
    const int served_by_old = w.log_count("wfhookd[" + std::to_string(worker) + "] info: request");
    BOOST_TEST(served_by_old <= 1 + 32, served_by_old << " requests served after SIGTERM");
}

// Emergency revocation (docs/operations.md): empty the key file and reload. The leaked key
// stops working once the old workers are gone (moments after "reload complete": one that was
// woken for a connection in the same instant as its SIGTERM still answers it); the log says
// why; a new key works as soon as it is in the file.
BOOST_AUTO_TEST_CASE(emptying_the_key_file_and_reloading_revokes_every_key) {
    Stack s(with_actions(1));
    const auto reload = [&](int completed) {
        const auto old = s.wfhookd.workers();
        s.wfhookd.process().signal(SIGHUP);
        BOOST_TEST_REQUIRE(s.wfhookd.wait_log("reload complete", completed));
        BOOST_TEST_REQUIRE(wait_until([&] {
            return std::none_of(old.begin(), old.end(), [](pid_t p) { return process_alive(p); });
        }));
    };
    const std::string keys = s.dir.file("wfhookd.api-keys");
    BOOST_TEST_REQUIRE(s.get("/customAction?name=noop&documentId=1", s.auth()).status == 200);
    s.dir.write("wfhookd.api-keys", "# revoked\n", 0600);
    reload(1);
    const HttpResponse revoked = s.get("/customAction?name=noop&documentId=1", s.auth());
    BOOST_TEST(revoked.status == 403);
    BOOST_TEST(revoked.body == R"({"status":"error","error":"invalid apiKey"})");
    BOOST_TEST(s.wfhookd.log().find(keys + " contains no key: every request with an API key is "
                                           "refused") != std::string::npos);
    BOOST_TEST(s.wfhookd.wait_log("no API key is accepted: " + keys + " contains no key"));
    BOOST_TEST(s.get("/serviceInfo").status == 200);

    const std::string fresh = "a-new-key-0123456789abcdef";
    s.dir.write("wfhookd.api-keys", fresh + "\n", 0600);
    reload(2);
    BOOST_TEST(s.get("/customAction?name=noop&documentId=1", s.auth()).status ==
               403); // still revoked
    BOOST_TEST(s.get("/customAction?name=noop&documentId=1",
                     {{"apiKey", fresh}, {"username", "alice@example.com"}})
                   .status == 200);
}

BOOST_AUTO_TEST_CASE(invalid_config_keeps_the_running_one) {
    Stack s(with_actions(1));
    const auto workers = s.wfhookd.workers();
    WfhookdOptions bad = with_actions(2);
    bad.server += "workers = 0\n";
    bad.server = "workers = 0\n";
    s.wfhookd.write_config(bad);
    s.wfhookd.process().signal(SIGHUP);
    BOOST_TEST_REQUIRE(s.wfhookd.wait_log("reload failed"));
    BOOST_TEST(
        s.wfhookd.log().find("[server] workers: \"0\" is not a whole number from 1 to 256") !=
        std::string::npos);
    BOOST_TEST(service_info_lists(s, "extra1"));
    BOOST_TEST(!service_info_lists(s, "extra2"));
    BOOST_TEST(s.wfhookd.workers() == workers); // nothing was restarted
    BOOST_TEST(s.get("/customAction?name=extra1&documentId=1", s.auth()).status == 200);
}

BOOST_AUTO_TEST_CASE(new_workers_that_keep_dying_roll_the_reload_back) {
    Stack s(with_actions(0));
    // Every worker of the new generation is killed as soon as it shows up. The first pair
    // races the master's readiness check (a worker is accepting a millisecond after fork): on
    // a busy machine the test may be too slow and the reload completes; then try again. After
    // one death, the master waits for a healthy second before handing over, and the race is
    // the test's to win.
    const auto rolled_back = [&] {
        return s.wfhookd.log_count("reload failed: workers with the new configuration") > 0;
    };
    std::vector<pid_t> old;
    for (int attempt = 1; attempt <= 5 && !rolled_back(); ++attempt) {
        old = s.wfhookd.workers();
        const int completed = s.wfhookd.log_count("reload complete");
        s.wfhookd.write_config(with_actions(attempt));
        s.wfhookd.process().signal(SIGHUP);
        std::set<pid_t> killed;
        wait_until(
            [&] {
                for (const pid_t p : s.wfhookd.workers())
                    if (std::find(old.begin(), old.end(), p) == old.end() &&
                        killed.insert(p).second)
                        kill(p, SIGKILL);
                return rolled_back() || s.wfhookd.log_count("reload complete") > completed;
            },
            30s, 1ms);
        if (!rolled_back()) // lost the race: let that generation settle before the next try
            BOOST_TEST_REQUIRE(wait_until([&] { return settled(s, old, killed); }));
    }
    BOOST_TEST_REQUIRE(rolled_back(), s.wfhookd.log());
    BOOST_TEST(s.wfhookd.process().running());
    for (const pid_t p : old)
        BOOST_TEST(process_alive(p)); // still in service
    const std::string rejected = s.get("/serviceInfo").body;
    BOOST_TEST(s.get("/customAction?name=noop&documentId=1", s.auth()).status == 200);
    // A later reload that works still goes through, with the file's current content.
    const int completed = s.wfhookd.log_count("reload complete");
    s.wfhookd.process().signal(SIGHUP);
    BOOST_TEST_REQUIRE(s.wfhookd.wait_log("reload complete", completed + 1));
    BOOST_TEST(wait_until([&] { return s.get("/serviceInfo").body != rejected; }));
}

// A new generation that lost a worker at start takes over only when its successors have
// lived a healthy second: not in the 0.1 s back-off between a death and the next one.
BOOST_AUTO_TEST_CASE(a_new_generation_that_lost_a_worker_takes_over_only_when_healthy) {
    Stack s(with_actions(0));
    // Milliseconds of the day of a log line's timestamp ("2026-12-02T00:39:36.206Z ...").
    const auto stamp_ms = [](const std::string& line) {
        const auto t = line.find('T');
        return ((std::stoi(line.substr(t + 1, 2)) * 60 + std::stoi(line.substr(t + 4, 2))) * 60 +
                std::stoi(line.substr(t + 7, 2))) *
                   1000 +
               std::stoi(line.substr(t + 10, 3));
    };
    const auto line_of = [&](const std::string& needle) {
        const std::string log = s.wfhookd.log();
        const auto at = log.find(needle);
        if (at == std::string::npos) return std::string();
        const auto begin = log.rfind('\n', at);
        return log.substr(begin == std::string::npos ? 0 : begin + 1,
                          log.find('\n', at) - (begin == std::string::npos ? 0 : begin + 1));
    };
    // The first worker of the new generation is killed as soon as it shows up. If the master
    // already handed over (a busy machine: the race of the test above), try again.
    bool won = false;
    for (int attempt = 1; attempt <= 5 && !won; ++attempt) {
        const auto old = s.wfhookd.workers();
        const int completed = s.wfhookd.log_count("reload complete");
        s.wfhookd.write_config(with_actions(attempt));
        s.wfhookd.process().signal(SIGHUP);
        pid_t victim = 0;
        BOOST_TEST_REQUIRE(wait_until(
            [&] {
                for (const pid_t p : s.wfhookd.workers())
                    if (std::find(old.begin(), old.end(), p) == old.end()) return victim = p, true;
                return false;
            },
            10s, 1ms));
        kill(victim, SIGKILL);
        const std::string died = "worker " + std::to_string(victim) + " killed by signal 9";
        BOOST_TEST_REQUIRE(s.wfhookd.wait_log(died));
        BOOST_TEST_REQUIRE(s.wfhookd.wait_log("reload complete", completed + 1));
        const std::string log = s.wfhookd.log();
        const auto complete = log.rfind("reload complete");
        won = log.find(died) < complete;
        if (won) {
            int waited =
                stamp_ms(line_of("reload complete: generation " + std::to_string(attempt + 1))) -
                stamp_ms(line_of(died));
            waited += waited < 0 ? 86'400'000 : 0; // across midnight
            // Its sibling, started with it, is the one that proves a healthy second: measured
            // from their start (the death less the victim's logged lifetime, in hundredths).
            const std::string line = line_of(died);
            const auto after = line.rfind(" s after start");
            const int lived = static_cast<int>(
                std::lround(std::stod(line.substr(line.rfind(' ', after - 1) + 1)) * 1000));
            BOOST_TEST(waited + lived >= 980, "handed over " << waited << " ms after a death\n"
                                                             << log);
        }
        BOOST_TEST_REQUIRE(wait_until([&] { return settled(s, old, {victim}); }));
    }
    BOOST_TEST(won);
    BOOST_TEST(s.get("/customAction?name=noop&documentId=1", s.auth()).status == 200);
}

BOOST_AUTO_TEST_CASE(listen_cannot_move_on_reload) {
    Stack s(with_actions(0));
    const std::string conf = read_file(s.wfhookd.config_path());
    const std::string moved = "listen = unix:" + s.dir.file("elsewhere.sock");
    std::string changed = conf;
    changed.replace(changed.find("listen = "),
                    changed.find('\n', changed.find("listen = ")) - changed.find("listen = "),
                    moved);
    s.dir.write("wfhookd.conf", changed);
    s.wfhookd.process().signal(SIGHUP);
    BOOST_TEST_REQUIRE(s.wfhookd.wait_log("reload failed"));
    BOOST_TEST(s.wfhookd.log().find("[server] listen: changed from") != std::string::npos);
    BOOST_TEST(s.get("/serviceInfo").status == 200);
}

BOOST_AUTO_TEST_CASE(worker_count_follows_the_new_config) {
    Stack s(with_actions(0));
    WfhookdOptions three = with_actions(0);
    three.server = "workers = 3\n";
    s.wfhookd.write_config(three);
    s.wfhookd.process().signal(SIGHUP);
    BOOST_TEST_REQUIRE(s.wfhookd.wait_log("reload complete"));
    BOOST_TEST(wait_until([&] { return s.wfhookd.workers().size() == 3; }));
}

BOOST_AUTO_TEST_CASE(a_request_in_flight_finishes_on_the_old_configuration) {
    TempDir out;
    WfhookdOptions o = with_actions(0);
    o.actions += exec_action("slow", "sleep.sh", "1 " + out.file("pid"), 10);
    Stack s(o);
    std::thread reloader([&] {
        wait_until([&] { return file_exists(out.file("pid")); });
        WfhookdOptions n = with_actions(1);
        n.actions += exec_action("slow", "sleep.sh", "1 " + out.file("pid2"), 10);
        s.wfhookd.write_config(n);
        s.wfhookd.process().signal(SIGHUP);
    });
    const HttpResponse r = s.get("/customAction?name=slow&documentId=1", s.auth());
    reloader.join();
    BOOST_TEST(r.status == 200, r.body);
    BOOST_TEST_REQUIRE(s.wfhookd.wait_log("reload complete"));
    BOOST_TEST(wait_until([&] { return service_info_lists(s, "extra1"); }));
}

BOOST_AUTO_TEST_CASE(a_reload_during_a_reload_stops_the_superseded_generation) {
    // 180 workers: three generations (540) do not fit in the 512 worker slots, so a second
    // reload that waited for the first one's workers to take over would never complete.
    const auto workers_180 = [](int extra) {
        WfhookdOptions o = with_actions(extra);
        o.server = "workers = 180\n";
        return o;
    };
    Stack s(workers_180(0));
    // The master is held (SIGSTOP) from the moment it starts the first reload's workers until
    // the second SIGHUP is pending, so that it finds that reload unfinished. If the first one
    // completes anyway (the master was stopped after its last check), try again.
    int generation = 1, extra = 0;
    for (int attempt = 1; attempt <= 5 && s.wfhookd.log_count("superseded") == 0; ++attempt) {
        s.wfhookd.write_config(workers_180(++extra));
        s.wfhookd.process().signal(SIGHUP);
        BOOST_TEST_REQUIRE(s.wfhookd.wait_log("starting 180 workers for generation " +
                                              std::to_string(generation + 1) + "\n"));
        s.wfhookd.process().signal(SIGSTOP);
        s.wfhookd.write_config(workers_180(++extra));
        s.wfhookd.process().signal(SIGHUP);
        s.wfhookd.process().signal(SIGCONT);
        generation += 2;
        BOOST_TEST_REQUIRE(
            s.wfhookd.wait_log("reload complete: generation " + std::to_string(generation) + " ", 1,
                               60s),
            s.wfhookd.log());
    }
    BOOST_TEST_REQUIRE(s.wfhookd.log_count("superseded: stopping its workers") > 0);
    const std::string last = "extra" + std::to_string(extra);
    BOOST_TEST(wait_until([&] { return service_info_lists(s, last); }));
    BOOST_TEST(wait_until([&] { return s.wfhookd.workers().size() == 180; }, 30s));
    BOOST_TEST(s.get("/customAction?name=" + last + "&documentId=1", s.auth()).status == 200);
}

BOOST_AUTO_TEST_CASE(a_limit_the_status_table_cannot_hold_fails_the_reload) {
    // /status and max_concurrent share a table of 256 action names over the service's life;
    // a config has at most 128 actions, so the third set of new names finds it full.
    const auto named = [](const std::string& prefix, bool limited) {
        WfhookdOptions o;
        o.server = "workers = 1\n";
        for (int i = 0; i < 128; ++i)
            o.actions += "[action:" + prefix + std::to_string(i) + "]\ntype = noop\n" +
                         (limited && i == 127 ? "max_concurrent = 1\n" : "") + "\n";
        return o;
    };
    Stack s(named("a", false));
    s.wfhookd.write_config(named("b", false));
    s.wfhookd.process().signal(SIGHUP);
    BOOST_TEST_REQUIRE(s.wfhookd.wait_log("reload complete"));
    s.wfhookd.write_config(named("c", true));
    s.wfhookd.process().signal(SIGHUP);
    BOOST_TEST_REQUIRE(s.wfhookd.wait_log("reload failed"));
    BOOST_TEST(s.wfhookd.log().find("[action:c127] max_concurrent: cannot be enforced") !=
               std::string::npos);
    BOOST_TEST(s.wfhookd.log().find("[action:c0]: not counted in /status") != std::string::npos);
    BOOST_TEST(wait_until([&] { return service_info_lists(s, "b127"); }));
    BOOST_TEST(!service_info_lists(s, "c0"));
}

BOOST_AUTO_TEST_SUITE_END()
