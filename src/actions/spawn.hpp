// Starting an action's program: what posix_spawn does (the child shares the worker's memory
// until it execs, so starting costs the same whatever the worker's size), plus what
// posix_spawn cannot do before execve: drop supplementary groups, set the umask and the
// working directory of the child alone.
#pragma once

#include <sys/types.h>

namespace wfhookd {

struct SpawnRequest {
    const char* path;   // absolute
    char* const* argv;  // null-terminated
    char* const* envp;  // null-terminated
    int stdout_fd = -1; // becomes the child's fd 1 (stdin is /dev/null)
    int stderr_fd = -1; // becomes fd 2
    const char* directory = "/";
    mode_t umask = 027;
};

// Starts the program in a process group of its own, with default signal dispositions, an
// empty signal mask, only fds 0-2 open, the umask and working directory asked for, and no
// supplementary groups when this process may drop them (CAP_SETGID). Returns the child's pid,
// or -1 with errno set (from the child when execve or a step before it failed).
pid_t spawn_program(const SpawnRequest& request);

} // namespace wfhookd
