// Child processes for end-to-end tests: started in their own process group, stdout and
// stderr to a file, and always stopped (and reaped) when the object goes away.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace wftest {

using namespace std::chrono_literals;

class Process {
public:
    Process() = default;
    // Starts argv[0] (a path) with the current environment plus `env` ("NAME=value"); stdin
    // is /dev/null, or `stdin_fd` when given (e.g. an inherited listening socket).
    Process(const std::vector<std::string>& argv, const std::string& output_path,
            const std::vector<std::string>& env = {}, int stdin_fd = -1);
    Process(Process&& other) noexcept;
    Process& operator=(Process&& other) noexcept;
    ~Process();

    pid_t pid() const { return pid_; }
    bool running();
    // Waits for exit; returns the wait status, or -1 on timeout.
    int wait(std::chrono::milliseconds timeout = 10s);
    void signal(int sig) const;
    // SIGTERM, wait up to `grace`, then SIGKILL the whole process group.
    int stop(int sig, std::chrono::milliseconds grace = 10s);

private:
    pid_t pid_ = -1;
    bool reaped_ = false;
    int status_ = 0;
};

// Polls `condition` (every `interval`) until it holds or `timeout` passes. For waiting on
// state the test can observe; never a substitute for that observation.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 10s,
                std::chrono::milliseconds interval = 2ms);

// Direct children of `pid` (from /proc), and whether a pid is alive (not a zombie).
std::vector<pid_t> children_of(pid_t pid);
bool process_alive(pid_t pid);
// How long `pid` has been running (from /proc, 10 ms resolution); zero when it is gone.
std::chrono::milliseconds process_age(pid_t pid);
// Every live process whose process group is `pgid`.
std::vector<pid_t> processes_in_group(pid_t pgid);

// An unused TCP port on 127.0.0.1 (bound and released; the caller retries on a race).
unsigned short free_port(const char* address = "127.0.0.1");

} // namespace wftest
