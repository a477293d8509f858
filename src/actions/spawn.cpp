#include "actions/spawn.hpp"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace wfhookd {

namespace {

constexpr std::size_t kStackSize = 64 * 1024;

struct ChildArgs {
    const SpawnRequest* request;
    int dev_null;
    int error; // written by the child when a step fails (the memory is shared until execve)
};

// Runs in the child, on its own stack, in the parent's memory, until execve: only system
// calls here, no allocation, no locks. Raw syscalls where glibc would act on every thread of
// the process it believes it is (setgroups broadcasts to all threads).
//
// Not instrumented by the sanitizers: this runs on a stack AddressSanitizer did not allocate
// and does not know, in memory it shares with the parent, and its interceptors (sigprocmask)
// would act on the parent's bookkeeping.
__attribute__((no_sanitize("address", "undefined"))) int child_main(void* p) {
    auto* a = static_cast<ChildArgs*>(p);
    const SpawnRequest& r = *a->request;
    // Every disposition back to the default, through the kernel's own call: glibc's sigaction
    // refuses the signals it reserves (32, 33), which a parent may still have left ignored.
    struct {
        void* handler = nullptr; // SIG_DFL
        unsigned long flags = 0;
        void* restorer = nullptr;
        unsigned long mask = 0;
    } dfl;
    for (int sig = 1; sig < NSIG; ++sig)
        if (sig != SIGKILL && sig != SIGSTOP)
            syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof dfl.mask);
    int err = 0;
    if (setpgid(0, 0) != 0) err = errno;
    // Supplementary groups are the daemon's, not the action's (EPERM without CAP_SETGID: the
    // daemon could not have dropped them either; docs/actions.md).
    if (err == 0) syscall(SYS_setgroups, 0, nullptr);
    if (err == 0) umask(r.umask);
    if (err == 0 && chdir(r.directory) != 0) err = errno;
    if (err == 0 &&
        (dup2(a->dev_null, 0) < 0 || dup2(r.stdout_fd, 1) < 0 || dup2(r.stderr_fd, 2) < 0))
        err = errno;
    if (err == 0) {
        if (syscall(SYS_close_range, 3u, ~0u, 0u) != 0)
            for (int fd = 3; fd < 65536; ++fd)
                close(fd);
        const unsigned long none = 0; // the kernel's signal set: nothing blocked
        syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, nullptr, sizeof none);
        execve(r.path, r.argv, r.envp);
        err = errno;
    }
    a->error = err;
    _exit(127);
}

} // namespace

pid_t spawn_program(const SpawnRequest& request) {
    ChildArgs args{&request, open("/dev/null", O_RDONLY | O_CLOEXEC), 0};
    if (args.dev_null < 0) return -1;
    void* stack = mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        close(args.dev_null);
        return -1;
    }
    // No handler of ours may run in the child (it shares our memory): every signal stays
    // blocked until the child has reset the dispositions, and ours is restored after.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    // CLONE_VFORK: we continue once the child has exec'd or exited.
    const pid_t pid = clone(child_main, static_cast<char*>(stack) + kStackSize,
                            CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
    const int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    munmap(stack, kStackSize);
    close(args.dev_null);
    if (pid < 0) {
        errno = clone_errno;
        return -1;
    }
    if (args.error != 0) {
        // The child exited before exec: collect it and report why.
        int status = 0;
        waitpid(pid, &status, 0);
        errno = args.error;
        return -1;
    }
    return pid;
}

} // namespace wfhookd
