// The ceiling for exec actions on this machine (target e0 of bench/run): N processes, one per
// CPU by default, each starting /bin/true with posix_spawn and waiting for it, in a loop, for
// a fixed time. No wfhookd, no nginx: only what starting a process costs here.
//   spawn_loop SECONDS [PARALLEL]   prints "spawns=N seconds=S rate=R"
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ;

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: spawn_loop SECONDS [PARALLEL]\n");
        return 2;
    }
    const double seconds = std::atof(argv[1]);
    const long parallel = argc > 2 ? std::atol(argv[2]) : std::thread::hardware_concurrency();
    int fds[2];
    if (pipe(fds) != 0) return 1;
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    std::vector<pid_t> loops;
    for (long i = 0; i < parallel; ++i) {
        const pid_t pid = fork();
        if (pid == 0) {
            char arg0[] = "/bin/true";
            char* args[] = {arg0, nullptr};
            long n = 0;
            while (std::chrono::steady_clock::now() < end) {
                pid_t child;
                if (posix_spawn(&child, arg0, nullptr, nullptr, args, environ) != 0) _exit(1);
                int status;
                waitpid(child, &status, 0);
                ++n;
            }
            if (write(fds[1], &n, sizeof n) != sizeof n) _exit(1);
            _exit(0);
        }
        loops.push_back(pid);
    }
    long total = 0;
    for (std::size_t i = 0; i < loops.size(); ++i) {
        long n = 0;
        if (read(fds[0], &n, sizeof n) == sizeof n) total += n;
    }
    for (const pid_t pid : loops)
        waitpid(pid, nullptr, 0);
    std::printf("spawns=%ld seconds=%g rate=%.1f\n", total, seconds, total / seconds);
    return 0;
}
