// The `exec` action type: run a program, no shell, request data in its environment.
#include "actions/action.hpp"
#include "actions/files.hpp"
#include "actions/spawn.hpp"

#include "util/clock.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace wfhookd {

const SettingSpec kExecSettings[4] = {
    {"command", true, "", SettingKind::command,
     "absolute path of the program, then its arguments, separated by whitespace (no shell, no "
     "quoting)"},
    {"timeout", false, "30", SettingKind::seconds,
     "seconds the program may run before its whole process group is killed"},
    {"directory", false, "/", SettingKind::existing_directory, "working directory of the program"},
    {"umask", false, "027", SettingKind::umask,
     "umask of the program: files it creates are not readable by others"},
};

namespace {

constexpr std::size_t kStderrTail = 4096; // bytes of stderr kept to find the last line
constexpr std::size_t kErrorMax = 300;    // bytes of that line shown to the user

struct Pipe {
    Fd read, write;
    bool open() {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) != 0) return false;
        read.reset(fds[0]);
        write.reset(fds[1]);
        // Only our end is non-blocking: the write end becomes the program's stdout or stderr,
        // and a program that writes faster than we drain must block, not fail with EAGAIN.
        return fcntl(fds[0], F_SETFL, O_NONBLOCK) == 0;
    }
};

// Reads what is available now; returns false at EOF or error.
bool drain(int fd, std::string* keep_tail) {
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
            if (keep_tail != nullptr) {
                keep_tail->append(buf, static_cast<std::size_t>(n));
                if (keep_tail->size() > 2 * kStderrTail)
                    keep_tail->erase(0, keep_tail->size() - kStderrTail);
            }
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        return n < 0 && errno == EAGAIN;
    }
}

std::string last_line(std::string_view text) {
    while (!text.empty()) {
        while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' ||
                                 text.back() == '\t'))
            text.remove_suffix(1);
        const auto nl = text.find_last_of('\n');
        std::string_view line = nl == std::string_view::npos ? text : text.substr(nl + 1);
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
            line.remove_prefix(1);
        if (!line.empty()) {
            if (line.size() > kErrorMax) return std::string(line.substr(0, kErrorMax)) + "...";
            return std::string(line);
        }
        text = nl == std::string_view::npos ? std::string_view() : text.substr(0, nl);
    }
    return {};
}

int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
    return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

} // namespace

ActionResult run_exec(const ActionConfig& config, const ActionCall& call) {
    const std::vector<std::string> args = split_command(config.setting("command"));
    const unsigned timeout = config.seconds("timeout");

    std::vector<std::string> env = {
        "PATH=/usr/local/bin:/usr/bin:/bin",
        fmt::format("WF_ACTION={}", call.action),
        fmt::format("WF_DOCUMENT_ID={}", call.document_id),
        fmt::format("WF_USERNAME={}", call.username),
    };
    if (call.has_document_version_id)
        env.push_back(fmt::format("WF_DOCUMENT_VERSION_ID={}", call.document_version_id));
    // The document's file in our store, when Workfront sent it there (uploadInit).
    if (!call.store_id.empty()) {
        env.push_back(fmt::format("WF_STORE_ID={}", call.store_id));
        env.push_back(fmt::format("WF_STORE_PATH={}", call.store_path));
    }

    std::vector<char*> argv, envp;
    for (const std::string& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (std::string& e : env)
        envp.push_back(e.data());
    envp.push_back(nullptr);

    Pipe out, err;
    if (!out.open() || !err.open())
        return {false, "could not start the action", fmt::format("pipe2: {}", strerror(errno))};

    SpawnRequest request{args[0].c_str(), argv.data(), envp.data()};
    request.stdout_fd = out.write.get();
    request.stderr_fd = err.write.get();
    request.directory = config.setting("directory").c_str();
    request.umask = static_cast<mode_t>(std::stoul(config.setting("umask"), nullptr, 8));
    const pid_t pid = spawn_program(request);
    if (pid < 0)
        return {false, "could not start the action",
                fmt::format("start {}: {}", args[0], strerror(errno))};
    if (call.process_group != nullptr) call.process_group->store(pid);
    out.write.reset();
    err.write.reset();

    Fd pidfd(open_pidfd(pid));
    const std::int64_t deadline = monotonic_ns() + std::int64_t(timeout) * 1'000'000'000;
    std::string tail;
    bool out_open = true, err_open = true, exited = false, timed_out = false;
    int status = 0;
    while (!exited) {
        const std::int64_t left = deadline - monotonic_ns();
        if (left <= 0) {
            timed_out = true;
            kill(-pid, SIGKILL);
            break;
        }
        pollfd fds[3];
        nfds_t n = 0;
        if (out_open) fds[n++] = {out.read.get(), POLLIN, 0};
        if (err_open) fds[n++] = {err.read.get(), POLLIN, 0};
        if (pidfd.get() >= 0) fds[n++] = {pidfd.get(), POLLIN, 0};
        // Without a pidfd (kernels before 5.3) fall back to checking every 10 ms.
        const int wait_ms = static_cast<int>(
            std::min<std::int64_t>(pidfd.get() >= 0 ? left / 1'000'000 + 1 : 10, 1'000'000));
        if (poll(fds, n, wait_ms) < 0 && errno != EINTR) break;
        if (out_open) out_open = drain(out.read.get(), nullptr);
        if (err_open) err_open = drain(err.read.get(), &tail);
        // WNOWAIT: notice the exit but leave the zombie, which keeps the process group id
        // reserved until the group has been killed below.
        siginfo_t info{};
        exited = waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
                 info.si_pid == pid;
    }
    // Whatever the program left running in its group would keep our pipes open and outlive
    // the request: actions must finish their work before they exit (documented).
    kill(-pid, SIGKILL);
    waitpid(pid, &status, 0);
    if (call.process_group != nullptr) call.process_group->store(0);
    if (err_open) drain(err.read.get(), &tail);

    if (timed_out)
        return {false, fmt::format("timed out after {} s", timeout),
                fmt::format("{} killed after {} s", args[0], timeout)};
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
    std::string line = last_line(tail);
    std::string what = WIFEXITED(status) ? fmt::format("exit status {}", WEXITSTATUS(status))
                                         : fmt::format("killed by signal {} ({})", WTERMSIG(status),
                                                       strsignal(WTERMSIG(status)));
    if (line.empty()) return {false, what, args[0]};
    return {false, std::move(line), fmt::format("{}: {}", args[0], what)};
}

} // namespace wfhookd
