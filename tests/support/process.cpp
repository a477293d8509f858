#include "process.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <netinet/in.h>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace wftest {

Process::Process(const std::vector<std::string>& argv, const std::string& output_path,
                 const std::vector<std::string>& env, int stdin_fd) {
    std::vector<std::string> envs;
    for (char** e = environ; *e != nullptr; ++e)
        envs.emplace_back(*e);
    for (const std::string& e : env)
        envs.push_back(e);
    std::vector<char*> a, en;
    for (const std::string& s : argv)
        a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    for (std::string& s : envs)
        en.push_back(s.data());
    en.push_back(nullptr);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (stdin_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, stdin_fd, 0);
    else
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                        POSIX_SPAWN_SETSIGDEF);
    const int rc = posix_spawn(&pid_, a[0], &fa, &attr, a.data(), en.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
}

Process::Process(Process&& other) noexcept
    : pid_(other.pid_), reaped_(other.reaped_), status_(other.status_) {
    other.pid_ = -1;
}

Process& Process::operator=(Process&& other) noexcept {
    if (this != &other) {
        if (pid_ > 0 && !reaped_) stop(SIGTERM);
        pid_ = other.pid_;
        reaped_ = other.reaped_;
        status_ = other.status_;
        other.pid_ = -1;
    }
    return *this;
}

Process::~Process() {
    if (pid_ > 0) stop(SIGTERM);
}

bool Process::running() {
    if (pid_ <= 0 || reaped_) return false;
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
        reaped_ = true;
        status_ = st;
        return false;
    }
    return true;
}

int Process::wait(std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return -1;
    if (!wait_until([&] { return !running(); }, timeout)) return -1;
    return status_;
}

void Process::signal(int sig) const {
    if (pid_ > 0 && !reaped_) kill(pid_, sig);
}

int Process::stop(int sig, std::chrono::milliseconds grace) {
    if (pid_ <= 0) return -1;
    if (!reaped_) {
        kill(pid_, sig);
        if (wait(grace) < 0) {
            kill(-pid_, SIGKILL);
            kill(pid_, SIGKILL);
            wait(10s);
        }
    }
    // Whatever is left in its process group (e.g. workers of a killed master) goes too.
    kill(-pid_, SIGKILL);
    return status_;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (condition()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(interval);
    }
}

std::vector<pid_t> children_of(pid_t pid) {
    std::vector<pid_t> out;
    std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
    pid_t c;
    while (in >> c)
        out.push_back(c);
    return out;
}

namespace {

// Fields of /proc/PID/stat after the command name: state is the first, pgrp the third.
bool read_stat(pid_t pid, char& state, pid_t& pgrp) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(in, line)) return false;
    const auto close = line.rfind(')');
    if (close == std::string::npos) return false;
    std::istringstream rest(line.substr(close + 2));
    pid_t ppid;
    return static_cast<bool>(rest >> state >> ppid >> pgrp);
}

} // namespace

bool process_alive(pid_t pid) {
    char state = 0;
    pid_t pgrp = 0;
    return read_stat(pid, state, pgrp) && state != 'Z' && state != 'X';
}

std::chrono::milliseconds process_age(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(in, line)) return 0ms;
    const auto close = line.rfind(')');
    if (close == std::string::npos) return 0ms;
    // Fields after the command: state is field 3, starttime (clock ticks after boot) field 22.
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    for (int i = 3; i < 22 && rest >> field; ++i) {
    }
    unsigned long long start_ticks = 0;
    double uptime = 0;
    if (!(rest >> start_ticks) || !(std::ifstream("/proc/uptime") >> uptime)) return 0ms;
    const double age = uptime - static_cast<double>(start_ticks) / sysconf(_SC_CLK_TCK);
    return std::chrono::milliseconds(age > 0 ? static_cast<long long>(age * 1000) : 0);
}

std::vector<pid_t> processes_in_group(pid_t pgid) {
    std::vector<pid_t> out;
    DIR* d = opendir("/proc");
    if (d == nullptr) return out;
    while (dirent* e = readdir(d)) {
        char* end = nullptr;
        const long pid = std::strtol(e->d_name, &end, 10);
        if (end == e->d_name || *end != '\0') continue;
        char state = 0;
        pid_t pgrp = 0;
        if (read_stat(static_cast<pid_t>(pid), state, pgrp) && pgrp == pgid && state != 'Z')
            out.push_back(static_cast<pid_t>(pid));
    }
    closedir(d);
    return out;
}

unsigned short free_port(const char* address) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    inet_pton(AF_INET, address, &sa.sin_addr);
    socklen_t len = sizeof sa;
    if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
        close(fd);
        throw std::runtime_error("cannot find a free port");
    }
    close(fd);
    return ntohs(sa.sin_port);
}

} // namespace wftest
