#include "capture_stderr.hpp"

#include "temp_dir.hpp"

#include <cstdio>
#include <fcntl.h>
#include <stdexcept>
#include <unistd.h>

namespace wftest {

std::string capture_stderr(const std::function<void()>& body) {
    TempDir dir;
    const std::string path = dir.file("stderr");
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot create " + path);
    std::fflush(stderr);
    const int saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    dup2(fd, STDERR_FILENO);
    close(fd);
    // Restored even when `body` throws (a failed BOOST_TEST_REQUIRE).
    struct Restore {
        int saved;
        ~Restore() {
            std::fflush(stderr);
            dup2(saved, STDERR_FILENO);
            close(saved);
        }
    } restore{saved};
    body();
    std::fflush(stderr);
    return read_file(path);
}

} // namespace wftest
