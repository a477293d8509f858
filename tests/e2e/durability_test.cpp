// Durability of the append action: what was acknowledged is in the file, and the file only
// ever holds whole JSON lines, even when workers are killed with SIGKILL mid-request.
#include "support/json_check.hpp"
#include "support/stack.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

using namespace wftest;

namespace {

std::vector<std::string> lines_of(const std::string& path) {
    std::vector<std::string> out;
    std::istringstream in(read_file(path));
    std::string line;
    while (std::getline(in, line))
        out.push_back(line);
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(durability)

BOOST_AUTO_TEST_CASE(a_partial_line_left_by_a_crash_is_never_glued_to_the_next) {
    TempDir out;
    const std::string audit = out.file("audit.jsonl");
    WfhookdOptions o;
    o.actions = "[action:audit]\ntype = append\nfile = " + audit + "\n";
    Stack s(o);
    BOOST_TEST(s.get("/customAction?name=audit&documentId=first", s.auth()).status == 200);
    // What a worker killed inside write(2) leaves behind.
    const std::string before = read_file(audit);
    out.write("audit.jsonl", before + R"({"time":"2026-11-23T10:00:00.000Z","action":"aud)", 0640);
    BOOST_TEST(s.get("/customAction?name=audit&documentId=second", s.auth()).status == 200);
    const std::vector<std::string> lines = lines_of(audit);
    BOOST_TEST_REQUIRE(lines.size() == 2u, read_file(audit));
    BOOST_TEST(json_error(lines[0]) == "");
    BOOST_TEST(json_error(lines[1]) == "");
    BOOST_TEST(lines[1].find("\"documentId\":\"second\"") != std::string::npos);
    BOOST_TEST(read_file(audit).back() == '\n');
}

BOOST_AUTO_TEST_CASE(nothing_acknowledged_is_lost_while_workers_are_killed) {
    TempDir out;
    const std::string audit = out.file("audit.jsonl");
    WfhookdOptions o;
    o.server = "workers = 3\n";
    o.actions = "[action:audit]\ntype = append\nfile = " + audit + "\n";
    Stack s(o);

    std::atomic<bool> stop{false};
    std::mutex m;
    std::vector<std::string> acknowledged;
    std::atomic<int> kills{0}, sent{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < 2; ++c) {
        clients.emplace_back([&, c] {
            for (int i = 0; !stop; ++i) {
                const std::string id = "c" + std::to_string(c) + "-" + std::to_string(i);
                const HttpResponse r = s.get("/customAction?name=audit&documentId=" + id, s.auth());
                ++sent;
                if (r.status == 200) {
                    std::lock_guard<std::mutex> lock(m);
                    acknowledged.push_back(id);
                }
            }
        });
    }
    // Kill workers that have been up for over a second (younger ones dying would rightly
    // look like a crash loop to the master and be restarted with back-off).
    std::thread killer([&] {
        std::map<pid_t, std::chrono::steady_clock::time_point> first_seen;
        while (!stop) {
            const auto now = std::chrono::steady_clock::now();
            // Only pids in this snapshot: an old entry may have been reused by another process.
            const std::vector<pid_t> current = s.wfhookd.workers();
            for (const pid_t w : current)
                first_seen.emplace(w, now);
            for (const pid_t pid : current) {
                if (now - first_seen[pid] > 1100ms && kill(pid, SIGKILL) == 0) {
                    ++kills;
                    break;
                }
            }
            const int at = sent;
            wait_until([&] { return stop || sent >= at + 3; }, 2s);
        }
    });
    wait_until([&] { return kills >= 20; }, 60s);
    stop = true;
    killer.join();
    for (auto& t : clients)
        t.join();

    BOOST_TEST(kills >= 20);
    BOOST_TEST(s.wfhookd.process().running());
    BOOST_TEST(acknowledged.size() > 50u);
    std::map<std::string, int> in_file;
    for (const std::string& line : lines_of(audit)) {
        Json doc;
        std::string err;
        BOOST_TEST_REQUIRE(json_parse(line, doc, err), err << ": " << line);
        ++in_file[doc.at("documentId").text];
    }
    for (const std::string& id : acknowledged)
        BOOST_TEST(in_file[id] == 1, id);
}

BOOST_AUTO_TEST_SUITE_END()
