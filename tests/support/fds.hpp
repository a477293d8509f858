// File descriptors of the test process, for checks that nothing leaks one.
#pragma once

#include <dirent.h>

namespace wftest {

// Open descriptors of this process (including the one used to count them).
inline int open_fd_count() {
    int n = 0;
    if (DIR* d = opendir("/proc/self/fd")) {
        while (readdir(d) != nullptr)
            ++n;
        closedir(d);
    }
    return n;
}

} // namespace wftest
