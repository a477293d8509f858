#include "util/fs.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <utility>
#include <vector>

namespace wfhookd {

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return false;
        if (n == 0) {
            errno = ENOSPC;
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

int sync_directory(const std::string& dir) {
    const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno;
    const int err = fsync(fd) == 0 ? 0 : errno;
    close(fd);
    return err;
}

int rename_new_at(int from_dir, const char* from, int to_dir, const char* to) {
    if (renameat2(from_dir, from, to_dir, to, RENAME_NOREPLACE) == 0) return 0;
    if (errno != EINVAL && errno != ENOSYS) return errno;
    // File systems without RENAME_NOREPLACE: link(2) never replaces either.
    if (linkat(from_dir, from, to_dir, to, 0) != 0) return errno;
    unlinkat(from_dir, from, 0);
    return 0;
}

int rename_new(const std::string& from, const std::string& to) {
    return rename_new_at(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str());
}

bool make_dirs(const std::string& dir, std::string& error, mode_t mode) {
    std::string path;
    std::size_t pos = 0;
    while (pos != std::string::npos) {
        pos = dir.find('/', pos + 1);
        path = dir.substr(0, pos);
        if (path.empty()) continue;
        if (mkdir(path.c_str(), mode) == 0) {
            // The umask may take away what the daemon itself needs (a socket's umask of 0117
            // leaks into a daemon started beside it, and makes folders nobody can enter): the
            // owner keeps rwx; the rest of what the umask took stays taken.
            struct stat st {};
            if (stat(path.c_str(), &st) == 0 && (st.st_mode & S_IRWXU) != S_IRWXU &&
                chmod(path.c_str(), (st.st_mode & 07777) | S_IRWXU) != 0) {
                error = path + ": " + std::strerror(errno);
                return false;
            }
        } else if (errno != EEXIST) {
            error = path + ": " + std::strerror(errno);
            return false;
        }
    }
    return true;
}

bool remove_tree_at(int parent, const std::string& name) {
    const int fd = openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return unlinkat(parent, name.c_str(), 0) == 0 || errno == ENOENT;
    DIR* d = fdopendir(fd);
    if (d == nullptr) {
        close(fd);
        return false;
    }
    bool ok = true;
    std::vector<std::pair<std::string, bool>> entries;
    while (const dirent* e = readdir(d)) {
        const std::string_view n(e->d_name);
        if (n == "." || n == "..") continue;
        entries.emplace_back(e->d_name, e->d_type == DT_DIR || e->d_type == DT_UNKNOWN);
    }
    for (const auto& [child, dir] : entries)
        ok = (dir ? remove_tree_at(dirfd(d), child) : unlinkat(dirfd(d), child.c_str(), 0) == 0) &&
             ok;
    closedir(d);
    return unlinkat(parent, name.c_str(), AT_REMOVEDIR) == 0 && ok;
}

} // namespace wfhookd
