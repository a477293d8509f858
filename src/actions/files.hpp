// What action types share for files: a descriptor that closes itself, the failure they report,
// and the steps that make a write durable.
#pragma once

#include "actions/action.hpp"

#include <string>
#include <string_view>
#include <unistd.h>

namespace wfhookd {

// Owns a file descriptor (or -1) and closes it when it goes out of scope.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }
    int get() const { return fd_; }
    void reset(int fd = -1) {
        if (fd_ >= 0) close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

// The user sees "could not record the action (<reason>)"; the log gets "<what> <path>: <reason>".
ActionResult file_failure(std::string_view what, const std::string& path, int err);

// Writes all of `data`, across short writes and EINTR; false with errno set.
bool write_all(int fd, std::string_view data);

// fsync(2) of the directory `dir`, which makes an entry created or renamed in it durable.
// Returns 0 or an errno value.
int sync_directory(const std::string& dir);

// Gives the file `from` the name `to` only if `to` does not exist (renameat2 RENAME_NOREPLACE,
// or link + unlink where the file system lacks it): a published file is never overwritten.
// Returns 0 or an errno value (EEXIST when `to` exists).
int rename_new(const std::string& from, const std::string& to);

} // namespace wfhookd
