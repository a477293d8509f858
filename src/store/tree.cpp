#include "store/tree.hpp"

#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace wfhookd {

namespace {

constexpr const char* kIdAttr = "user.wfhookd.id";
constexpr std::size_t kMaxIdAttr = 64;

int openat2_syscall(int dir, const char* path, int flags) {
    open_how how{};
    how.flags = static_cast<std::uint64_t>(flags);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    return static_cast<int>(syscall(SYS_openat2, dir, path, &how, sizeof how));
}

// A store path is relative, with plain components only; anything else never reaches a
// system call (defence in depth: paths come from the index, which only holds names read
// from the folders themselves).
bool plain_path(std::string_view path) {
    if (path.empty()) return true;
    if (path.front() == '/' || path.back() == '/') return false;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        const std::string_view c = path.substr(start, end - start);
        if (c.empty() || c == "." || c == ".." || c.find('\0') != std::string_view::npos)
            return false;
        start = end + 1;
    }
    return true;
}

} // namespace

bool visible_name(std::string_view name) {
    return !name.empty() && name.front() != '.' && name.find('/') == std::string_view::npos &&
           name.find('\0') == std::string_view::npos;
}

std::pair<std::string_view, std::string_view> split_path(std::string_view path) {
    const auto slash = path.rfind('/');
    if (slash == std::string_view::npos) return {std::string_view(), path};
    return {path.substr(0, slash), path.substr(slash + 1)};
}

std::string join_path(std::string_view parent, std::string_view name) {
    std::string out(parent);
    if (!out.empty()) out.push_back('/');
    out.append(name);
    return out;
}

bool Tree::open(const std::string& root, std::string& error) {
    root_.reset(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root_) {
        error = std::strerror(errno);
        return false;
    }
    // Probe openat2 once: ENOSYS means the kernel (or a seccomp filter) lacks it.
    const Fd probe(openat2_syscall(root_.get(), ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
    openat2_ = probe || errno != ENOSYS;
    return true;
}

Fd Tree::walk(std::string_view path, int flags) const {
    // One component at a time, never following a link: O_NOFOLLOW on each, and each opened
    // relative to the descriptor of the one before.
    Fd dir(fcntl(root_.get(), F_DUPFD_CLOEXEC, 0));
    if (path.empty()) return flags & O_PATH ? std::move(dir) : Fd(openat(root_.get(), ".", flags));
    std::size_t start = 0;
    for (;;) {
        std::size_t end = path.find('/', start);
        const bool last = end == std::string_view::npos;
        if (last) end = path.size();
        const std::string component(path.substr(start, end - start));
        const int f = last ? flags | O_NOFOLLOW : O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
        Fd next(openat(dir.get(), component.c_str(), f));
        if (!next) {
            // O_PATH | O_NOFOLLOW opens a link itself instead of failing: refuse it.
            return Fd();
        }
        if (last) {
            struct stat st {};
            if ((flags & O_PATH) && fstat(next.get(), &st) == 0 && S_ISLNK(st.st_mode)) {
                errno = ELOOP;
                return Fd();
            }
            return next;
        }
        dir = std::move(next);
        start = end + 1;
    }
}

Fd Tree::open_beneath(std::string_view path, int flags) const {
    if (!plain_path(path)) {
        errno = EXDEV;
        return Fd();
    }
    if (!openat2_) return walk(path, flags);
    const std::string p = path.empty() ? std::string(".") : std::string(path);
    return Fd(openat2_syscall(root_.get(), p.c_str(), flags));
}

Fd Tree::open_folder(std::string_view path) const {
    return open_beneath(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

Fd Tree::open_file(std::string_view path) const {
    Fd fd = open_beneath(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (!fd) return fd;
    struct stat st {};
    if (fstat(fd.get(), &st) != 0) return Fd();
    if (!S_ISREG(st.st_mode)) {
        errno = S_ISDIR(st.st_mode) ? EISDIR : EACCES; // devices, FIFOs, sockets: never served
        return Fd();
    }
    return fd;
}

bool Tree::stat(std::string_view path, struct stat& st) const {
    const Fd fd = open_beneath(path, O_PATH | O_CLOEXEC);
    return fd && fstat(fd.get(), &st) == 0;
}

std::vector<TreeEntry> Tree::list(int folder_fd) {
    std::vector<TreeEntry> out;
    const int fd = fcntl(folder_fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return out;
    DIR* d = fdopendir(fd);
    if (d == nullptr) {
        close(fd);
        return out;
    }
    while (const dirent* e = readdir(d)) {
        const std::string_view name(e->d_name);
        if (!visible_name(name)) continue;
        unsigned char type = e->d_type;
        if (type == DT_UNKNOWN) {
            struct stat st {};
            if (fstatat(folder_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
            type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
        }
        if (type != DT_DIR && type != DT_REG) continue; // links, devices, FIFOs, sockets
        out.push_back(TreeEntry{std::string(name), type == DT_DIR, e->d_ino});
    }
    closedir(d);
    return out;
}

std::string Tree::read_id(int folder_fd, const std::string& name) {
    // Through an O_PATH descriptor of the item itself: never a link's target.
    const Fd item(openat(folder_fd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!item) return {};
    char buf[kMaxIdAttr + 1];
    const std::string proc = "/proc/self/fd/" + std::to_string(item.get());
    const ssize_t n = getxattr(proc.c_str(), kIdAttr, buf, kMaxIdAttr);
    if (n <= 0) return {};
    return std::string(buf, static_cast<std::size_t>(n));
}

bool Tree::write_id(int folder_fd, const std::string& name, const std::string& id) {
    const Fd item(openat(folder_fd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!item) return false;
    const std::string proc = "/proc/self/fd/" + std::to_string(item.get());
    return setxattr(proc.c_str(), kIdAttr, id.data(), id.size(), 0) == 0;
}

} // namespace wfhookd
