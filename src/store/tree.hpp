// The document store's folder tree on the local file system, reached only beneath its root.
//
// Every path is resolved relative to a descriptor of the root with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS): no `..`, no absolute path, no symbolic link
// (inside the store or pointing out of it) is ever followed, and a link swapped in while a
// request runs makes the open fail instead of leading elsewhere. Where openat2 is missing
// (ENOSYS: old kernels, some container filters) the same is done one component at a time
// with openat(O_NOFOLLOW). What is opened is then used through its descriptor only.
#pragma once

#include "util/fs.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <vector>

namespace wfhookd {

// One entry of a folder as the store shows it: regular files and folders only, hidden
// (leading '.') entries, links, devices, FIFOs and sockets left out.
struct TreeEntry {
    std::string name;
    bool folder = false;
    ino_t ino = 0;
};

class Tree {
public:
    // Opens `root`; false with `error` set when it is not a folder we can open.
    bool open(const std::string& root, std::string& error);
    int root_fd() const { return root_.get(); }

    // Opens the folder at `path` (relative to the root, "" for the root itself; components
    // separated by '/'), for listing and *at calls. Invalid Fd with errno set otherwise
    // (ELOOP: a symbolic link on the way; ENOTDIR; ENOENT; EXDEV: an escape).
    Fd open_folder(std::string_view path) const;
    // Opens the regular file at `path` for reading (O_NONBLOCK: a FIFO never blocks; it is
    // then refused). Invalid Fd with errno set when it is anything but a regular file.
    Fd open_file(std::string_view path) const;
    // lstat of the item at `path` (no link followed on the way or at the end).
    bool stat(std::string_view path, struct stat& st) const;

    // The entries of an open folder, unsorted.
    static std::vector<TreeEntry> list(int folder_fd);

    // The id recorded on an item (user.wfhookd.id), or empty.
    static std::string read_id(int folder_fd, const std::string& name);
    // Records `id` on an item; false when the file system has no user xattrs (ENOTSUP) or
    // the item is not ours to mark.
    static bool write_id(int folder_fd, const std::string& name, const std::string& id);

    // Whether openat2 is used (false: the component-by-component walk).
    bool has_openat2() const { return openat2_; }
    // For tests: use the component walk even where openat2 exists.
    void force_walk() { openat2_ = false; }

private:
    Fd open_beneath(std::string_view path, int flags) const;
    Fd walk(std::string_view path, int flags) const;

    Fd root_;
    bool openat2_ = true;
};

// Whether a name is one the store shows: not empty, not "." or "..", no '/' or NUL, and not
// hidden (a leading '.' is wfhookd's: trash, temporary files).
bool visible_name(std::string_view name);

// The parent path and last component of a store path ("a/b/c" -> "a/b", "c"; "c" -> "", "c").
std::pair<std::string_view, std::string_view> split_path(std::string_view path);
std::string join_path(std::string_view parent, std::string_view name);

} // namespace wfhookd
