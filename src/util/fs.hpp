// File-system helpers shared by the actions and the document store: a descriptor that closes
// itself, and the steps that make a write durable.
#pragma once

#include <string>
#include <string_view>
#include <unistd.h>
#include <utility>

namespace wfhookd {

// Owns a file descriptor (or -1) and closes it when it goes out of scope.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Fd& operator=(Fd&& other) noexcept {
        if (this != &other) reset(std::exchange(other.fd_, -1));
        return *this;
    }
    ~Fd() { reset(); }
    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1) {
        if (fd_ >= 0) close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

// Writes all of `data`, across short writes and EINTR; false with errno set.
bool write_all(int fd, std::string_view data);

// fsync(2) of the directory `dir`, which makes an entry created or renamed in it durable.
// Returns 0 or an errno value.
int sync_directory(const std::string& dir);

// Gives the file `from` the name `to` only if `to` does not exist (renameat2 RENAME_NOREPLACE,
// or link + unlink where the file system lacks it): a published file is never overwritten.
// Returns 0 or an errno value (EEXIST when `to` exists). The *at form works relative to
// directory descriptors.
int rename_new(const std::string& from, const std::string& to);
int rename_new_at(int from_dir, const char* from, int to_dir, const char* to);

// Removes `name` in the directory `parent`: a folder with everything in it, anything else as
// a file. Never follows a symbolic link (a link is removed, not what it points to). True when
// it is gone, also when it was already.
bool remove_tree_at(int parent, const std::string& name);

// mkdir -p, with `mode` for what it creates (less the umask, but never less than rwx for the
// owner); false with `error` naming the path.
bool make_dirs(const std::string& dir, std::string& error, mode_t mode = 0750);

} // namespace wfhookd
