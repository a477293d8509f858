// The store's write side: new files and folders, new content, renames, moves, deletions.
// Every change is made with one atomic step on the file system (O_EXCL create, mkdirat,
// renameat2 RENAME_NOREPLACE, rename over), then made durable (the file and its folder
// fsync'ed) and recorded in the index in one transaction, before it returns: a success means
// nothing acknowledged can be lost, and a reader never sees half of anything.
#include "store/store.hpp"

#include "http/utf8.hpp"
#include "util/base64.hpp"
#include "util/clock.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace wfhookd {

namespace {

constexpr std::size_t kChunk = 64 * 1024;
constexpr int kMaxNumbered = 1000;

Outcome from_errno(int err) {
    switch (err) {
    case EEXIST:
    case ENOTEMPTY:
        return Outcome::exists;
    case ENOSPC:
    case EDQUOT:
        return Outcome::no_space;
    case EROFS:
    case EACCES:
    case EPERM:
        return Outcome::read_only;
    case ENOENT:
    case ENOTDIR:
    case ELOOP:
        return Outcome::not_found;
    default:
        return Outcome::error;
    }
}

// "NAME (n).ext" (the extension is what follows the last '.', unless the name starts with it),
// shortened at a character boundary to stay within 255 bytes.
std::string numbered_name(std::string_view name, int n) {
    const auto dot = name.rfind('.');
    std::string_view base = dot == std::string_view::npos || dot == 0 ? name : name.substr(0, dot);
    std::string_view ext = base.size() == name.size() ? std::string_view() : name.substr(dot);
    const std::string suffix = fmt::format(" ({})", n);
    // An "extension" too long to leave room for the number and the name is part of the name.
    if (suffix.size() + ext.size() >= 255) {
        base = name;
        ext = {};
    }
    while (base.size() + suffix.size() + ext.size() > 255 && !base.empty()) {
        // Drop the last character: its continuation bytes, then its first byte.
        while (!base.empty() && (static_cast<unsigned char>(base.back()) & 0xC0) == 0x80)
            base.remove_suffix(1);
        if (!base.empty()) base.remove_suffix(1);
    }
    return std::string(base) + suffix + std::string(ext);
}

bool sync_fd(int fd) {
    return fsync(fd) == 0;
}

// Whether a name is one entry of a folder. The *at calls below must never be handed a path: a
// '/' would lead into a subfolder, or through a symbolic link out of the store. Callers check
// names with name_problem; this is the store's own guard.
bool one_component(std::string_view name) {
    return !name.empty() && name.size() <= 255 && name != "." && name != ".." &&
           name.find_first_of(std::string_view("/\0", 2)) == std::string_view::npos;
}

Outcome refuse_name(std::string_view name) {
    log(Level::error, "store: refused a name of {} bytes that is not one path component",
        name.size());
    return Outcome::error;
}

// One change at a time in the whole store, across the workers: an flock on the root, opened
// anew each time (descriptors from before the fork share one open file description, and
// flock would not tell the workers apart). Under it a change looks its item up again by id:
// an upload that streamed for minutes lands in the item as it is now (renamed or moved:
// there; deleted: nowhere), and two requests never act on one item at the same time. Held
// for a rename and a few fsyncs, never while a body streams in. Where flock is refused the
// change goes ahead without it.
class ChangeLock {
public:
    explicit ChangeLock(const std::string& root)
        : fd_(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
        if (fd_)
            while (flock(fd_.get(), LOCK_EX) != 0 && errno == EINTR) {
            }
    }

private:
    Fd fd_; // closed: unlocked
};

// An item looked up again under the lock: anything but an error is "gone".
Outcome current(Outcome found) {
    return found == Outcome::ok || found == Outcome::error ? found : Outcome::not_found;
}

} // namespace

std::string name_problem(std::string_view name) {
    if (name.empty() || name.size() > 255) return "must be 1 to 255 bytes";
    if (name == "." || name == "..") return "cannot be \".\" or \"..\"";
    if (!is_valid_utf8(name)) return "must be valid UTF-8";
    for (std::size_t i = 0; i < name.size(); ++i) {
        const auto c = static_cast<unsigned char>(name[i]);
        if (c == '/') return "cannot contain '/'";
        // C0, DEL, and C1 (U+0080-U+009F: 0xC2 0x80-0x9F in valid UTF-8).
        if (c < 0x20 || c == 0x7F ||
            (c == 0xC2 && i + 1 < name.size() && static_cast<unsigned char>(name[i + 1]) < 0xA0))
            return "cannot contain control characters";
    }
    if (name.front() == '.') return "cannot start with '.' (hidden names are wfhookd's own)";
    return {};
}

bool Store::index_new(const Item& folder, const std::string& name, int folder_fd, bool is_folder,
                      Item& out) {
    out.row =
        IndexRow{new_id(), folder.row.id, join_path(folder.row.path, name), name, is_folder, 0};
    if (fstatat(folder_fd, name.c_str(), &out.st, AT_SYMLINK_NOFOLLOW) != 0) return false;
    out.row.ino = out.st.st_ino;
    if (xattrs_ && !Tree::write_id(folder_fd, name, out.row.id) &&
        (errno == ENOTSUP || errno == EOPNOTSUPP))
        note_no_xattrs();
    if (!index_.begin()) return false;
    // A row left at that name by something that vanished behind our back goes first.
    IndexRow stale;
    bool ok = !index_.by_path(out.row.path, stale) || index_.remove(stale);
    ok = ok && index_.insert(out.row) && index_.commit();
    if (!ok) index_.rollback();
    return ok;
}

Outcome Store::place(const Item& given, std::string_view name, bool numbered, bool folder_kind,
                     Item& out) {
    if (config_.read_only) return Outcome::read_only;
    const ChangeLock lock(config_.root);
    Item folder;
    if (const Outcome o = current(find(given.row.id, folder)); o != Outcome::ok) return o;
    if (!folder.folder()) return Outcome::not_a_folder;
    if (!one_component(name)) return refuse_name(name);
    const Fd dir = tree_.open_folder(folder.row.path);
    if (!dir) return from_errno(errno);
    std::string candidate(name);
    for (int n = 1;; ++n) {
        if (n > 1) candidate = numbered_name(name, n);
        int err = 0;
        if (folder_kind) {
            if (mkdirat(dir.get(), candidate.c_str(), 0750) != 0) err = errno;
        } else {
            const Fd f(openat(dir.get(), candidate.c_str(),
                              O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640));
            if (!f)
                err = errno;
            else if (!sync_fd(f.get()))
                err = errno;
        }
        if (err == 0) break;
        if (err != EEXIST || !numbered || n >= kMaxNumbered) return from_errno(err);
    }
    if (!sync_fd(dir.get())) return from_errno(errno);
    if (!index_new(folder, candidate, dir.get(), folder_kind, out)) {
        log(Level::error, "store: indexing {} failed: {}", join_path(folder.row.path, candidate),
            index_.last_error());
        return Outcome::error;
    }
    return Outcome::ok;
}

Outcome Store::create_file(const Item& folder, std::string_view name, bool numbered, Item& out) {
    return place(folder, name, numbered, false, out);
}

Outcome Store::create_folder(const Item& folder, std::string_view name, Item& out) {
    return place(folder, name, false, true, out);
}

// Puts `name` (in the folder `from_dir`) into the trash: a folder of its own per entry,
// `<ms>-<id>[-version][-n]/`, with the item under its own name and `.wfhookd-origin` saying where
// it came from (docs/operations.md: restoring is one mv). A version is a hard link to the old
// content, which stays in place until the new content replaces it.
Outcome Store::to_trash(const Item& item, int from_dir, const std::string& name, bool version) {
    mkdirat(tree_.root_fd(), std::string(kTrash).c_str(), 0750);
    const Fd trash = tree_.open_folder(kTrash);
    if (!trash) return from_errno(errno);
    // Two versions of one file within a millisecond (two uploads at once) get "-2", "-3"...
    const std::string base =
        fmt::format("{}-{}{}", realtime_ns() / 1'000'000, item.row.id, version ? "-version" : "");
    std::string entry = base;
    for (int n = 2; mkdirat(trash.get(), entry.c_str(), 0750) != 0; ++n) {
        if (errno != EEXIST || n > kMaxNumbered) return from_errno(errno);
        entry = fmt::format("{}-{}", base, n);
    }
    // An entry whose item did not arrive is taken down again: the trash never holds an
    // origin without its item.
    const auto abandon = [&](int fd, int err) {
        if (fd >= 0) unlinkat(fd, ".wfhookd-origin", 0);
        unlinkat(trash.get(), entry.c_str(), AT_REMOVEDIR);
        return from_errno(err);
    };
    const Fd e(openat(trash.get(), entry.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!e) return abandon(-1, errno);
    {
        const Fd origin(
            openat(e.get(), ".wfhookd-origin", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640));
        const std::string text = item.row.path + "\n";
        if (!origin || !write_all(origin.get(), text) || !sync_fd(origin.get()))
            return abandon(e.get(), errno);
    }
    const int rc = version
                       ? linkat(from_dir, name.c_str(), e.get(), name.c_str(), 0)
                       : renameat2(from_dir, name.c_str(), e.get(), name.c_str(), RENAME_NOREPLACE);
    if (rc != 0) return abandon(e.get(), errno);
    if (!sync_fd(e.get()) || !sync_fd(trash.get()) || !sync_fd(from_dir)) return from_errno(errno);
    return Outcome::ok;
}

Outcome Store::replace_content(const Item& file, ByteSource& body, std::uint64_t limit,
                               std::uint64_t& written) {
    written = 0;
    if (config_.read_only) return Outcome::read_only;
    if (file.folder()) return Outcome::not_a_folder;
    const std::string_view parent_path = split_path(file.row.path).first;
    const Fd dir = tree_.open_folder(parent_path);
    if (!dir) return from_errno(errno);
    // The new content is written beside the file it replaces (the same file system, so the
    // rename below is atomic): an unnamed file (O_TMPFILE), which vanishes by itself if we die
    // before it is named, or where the file system lacks that, a hidden name (ours: no item
    // may start with '.'), swept by the master (Store::purge).
    std::string tmp_name = std::string(kUploadPrefix) + random_token(12);
    Fd out(openat(dir.get(), ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0640));
    const bool anonymous = static_cast<bool>(out);
    if (!anonymous)
        out.reset(openat(dir.get(), tmp_name.c_str(),
                         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640));
    if (!out) return from_errno(errno);
    const int tmp_dir = dir.get();
    bool named = false; // the anonymous file has been given tmp_name
    const auto give_up = [&](Outcome o) {
        if (!anonymous || named) unlinkat(tmp_dir, tmp_name.c_str(), 0);
        return o;
    };

    std::string buf(kChunk, '\0');
    constexpr std::uint64_t kFlushEvery = 8 << 20;
    std::uint64_t flushed = 0;
    for (;;) {
        const long n = body.read(buf.data(), buf.size());
        if (n < 0) return give_up(Outcome::body_error);
        if (n == 0) break;
        written += static_cast<std::uint64_t>(n);
        if (written > limit) return give_up(Outcome::too_large);
        if (!write_all(out.get(), std::string_view(buf.data(), static_cast<std::size_t>(n))))
            return give_up(from_errno(errno));
        // Writeback starts as the file grows, so that the fsync below has little left to do
        // (a gigabyte of dirty pages would make it take seconds, with no progress to show).
        if (written - flushed >= kFlushEvery) {
            sync_file_range(out.get(), static_cast<off_t>(flushed),
                            static_cast<off_t>(written - flushed), SYNC_FILE_RANGE_WRITE);
            flushed = written;
        }
    }
    if (!sync_fd(out.get())) return give_up(from_errno(errno));
    // The id travels with the content (user.wfhookd.id), so it survives the rename below.
    if (xattrs_) fsetxattr(out.get(), "user.wfhookd.id", file.row.id.data(), file.row.id.size(), 0);
    if (anonymous) {
        const std::string proc = "/proc/self/fd/" + std::to_string(out.get());
        if (linkat(AT_FDCWD, proc.c_str(), tmp_dir, tmp_name.c_str(), AT_SYMLINK_FOLLOW) != 0)
            return from_errno(errno);
        named = true;
    }
    // Where the file is now: renamed or moved while the body came in, the new content goes
    // there (the temporary file is on the same file system); deleted, nowhere.
    const ChangeLock lock(config_.root);
    Item now;
    if (const Outcome o = current(find(file.row.id, now)); o != Outcome::ok) return give_up(o);
    if (now.folder()) return give_up(Outcome::not_found);
    const auto [now_parent, now_name] = split_path(now.row.path);
    const std::string dest_name(now_name);
    Fd moved;
    if (now_parent != parent_path) {
        moved = tree_.open_folder(now_parent);
        if (!moved) return give_up(from_errno(errno));
    }
    const int dest = moved ? moved.get() : dir.get();
    // The content replaced is kept in the trash, like a deletion (an empty file from
    // uploadInit is not worth a version).
    struct stat old {};
    if (config_.trash_days > 0 &&
        fstatat(dest, dest_name.c_str(), &old, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(old.st_mode) &&
        old.st_size > 0) {
        if (const Outcome o = to_trash(now, dest, dest_name, true); o != Outcome::ok)
            return give_up(o);
    }
    // One step: readers see the old content or the new, never a mix or nothing.
    if (renameat(tmp_dir, tmp_name.c_str(), dest, dest_name.c_str()) != 0)
        return give_up(from_errno(errno));
    if (!sync_fd(dest) || (moved && !sync_fd(tmp_dir))) return from_errno(errno);
    struct stat st {};
    if (fstatat(dest, dest_name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
        index_.set_ino(now.row.id, st.st_ino);
    return Outcome::ok;
}

Outcome Store::rename(const Item& given, std::string_view name) {
    if (config_.read_only) return Outcome::read_only;
    if (!one_component(name)) return refuse_name(name);
    const ChangeLock lock(config_.root);
    Item item;
    if (const Outcome o = current(find(given.row.id, item)); o != Outcome::ok) return o;
    const auto [parent_path, old_name] = split_path(item.row.path);
    const Fd dir = tree_.open_folder(parent_path);
    if (!dir) return from_errno(errno);
    const std::string to(name), from(old_name);
    if (to == from) return Outcome::ok;
    if (renameat2(dir.get(), from.c_str(), dir.get(), to.c_str(), RENAME_NOREPLACE) != 0) {
        if (errno != EINVAL || item.folder()) return from_errno(errno);
        // File systems without RENAME_NOREPLACE: link(2) never replaces either.
        if (linkat(dir.get(), from.c_str(), dir.get(), to.c_str(), 0) != 0)
            return from_errno(errno);
        unlinkat(dir.get(), from.c_str(), 0);
    }
    if (!sync_fd(dir.get())) return from_errno(errno);
    const std::string path = join_path(parent_path, to);
    bool ok = index_.begin();
    IndexRow stale;
    ok = ok && (!index_.by_path(path, stale) || index_.remove(stale));
    ok = ok && index_.move(item.row.id, item.row.parent, to, path) && index_.commit();
    if (!ok) {
        index_.rollback();
        return Outcome::error;
    }
    return Outcome::ok;
}

Outcome Store::move(const Item& given, const Item& to_folder, bool numbered, Item& out) {
    if (config_.read_only) return Outcome::read_only;
    const ChangeLock lock(config_.root);
    Item item, folder;
    if (const Outcome o = current(find(given.row.id, item)); o != Outcome::ok) return o;
    if (const Outcome o = current(find(to_folder.row.id, folder)); o != Outcome::ok) return o;
    if (!folder.folder()) return Outcome::not_a_folder;
    // Already there: nothing to do (renameat2 would find its own name taken).
    if (item.row.parent == folder.row.id) return find(item.row.id, out);
    const auto [parent_path, name_view] = split_path(item.row.path);
    const std::string name(name_view);
    const Fd from = tree_.open_folder(parent_path);
    const Fd to = tree_.open_folder(folder.row.path);
    if (!from || !to) return from_errno(errno);
    std::string candidate = name;
    for (int n = 1;; ++n) {
        if (n > 1) candidate = numbered_name(name, n);
        if (renameat2(from.get(), name.c_str(), to.get(), candidate.c_str(), RENAME_NOREPLACE) == 0)
            break;
        if (errno != EEXIST || !numbered || n >= kMaxNumbered) return from_errno(errno);
    }
    if (!sync_fd(to.get()) || !sync_fd(from.get())) return from_errno(errno);
    const std::string path = join_path(folder.row.path, candidate);
    bool ok = index_.begin();
    IndexRow stale;
    ok = ok && (!index_.by_path(path, stale) || index_.remove(stale));
    ok = ok && index_.move(item.row.id, folder.row.id, candidate, path) && index_.commit();
    if (!ok) {
        index_.rollback();
        return Outcome::error;
    }
    return find(item.row.id, out);
}

Outcome Store::remove(const Item& given) {
    if (config_.read_only) return Outcome::read_only;
    const ChangeLock lock(config_.root);
    Item item;
    if (const Outcome o = current(find(given.row.id, item)); o != Outcome::ok) return o;
    const auto [parent_path, name_view] = split_path(item.row.path);
    const std::string name(name_view);
    const Fd dir = tree_.open_folder(parent_path);
    if (!dir) return from_errno(errno);
    if (config_.trash_days > 0) {
        if (const Outcome o = to_trash(item, dir.get(), name, false); o != Outcome::ok) return o;
    } else {
        const bool gone = item.folder() ? remove_tree_at(dir.get(), name)
                                        : unlinkat(dir.get(), name.c_str(), 0) == 0;
        if (!gone || !sync_fd(dir.get())) return from_errno(errno);
    }
    if (!index_.begin()) return Outcome::error;
    if (!index_.remove(item.row) || !index_.commit()) {
        index_.rollback();
        return Outcome::error;
    }
    return Outcome::ok;
}

Outcome Store::folder_at(std::string_view path, Item& out) {
    Item folder;
    if (find(kRootId, folder) != Outcome::ok) return Outcome::error;
    std::size_t start = 0;
    int again = 0;
    while (start < path.size()) {
        std::size_t end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        const std::string_view part = path.substr(start, end - start);
        if (part.empty()) {
            start = end + 1;
            continue;
        }
        Listing listing;
        if (list(folder, listing) != Outcome::ok) return Outcome::error;
        const auto it = std::find_if(listing.items.begin(), listing.items.end(),
                                     [&](const IndexRow& r) { return r.name == part; });
        Item next;
        if (it != listing.items.end()) {
            if (!it->folder) return Outcome::not_a_folder;
            if (find(it->id, next) != Outcome::ok) return Outcome::error;
        } else if (const Outcome o = create_folder(folder, part, next); o != Outcome::ok) {
            // Made by someone else meanwhile: look at the same part again. Still not listed
            // (a link, a FIFO, a hidden name: nothing the store shows), it is in the way.
            if (o != Outcome::exists || ++again > 2) return o;
            continue;
        }
        folder = std::move(next);
        start = end + 1;
        again = 0;
    }
    out = std::move(folder);
    return Outcome::ok;
}

bool Store::set_document(std::string_view document_id, std::string_view version_id,
                         std::string_view item_id) {
    Statement s(index_.db(), "INSERT OR REPLACE INTO documents (document_id, document_version_id, "
                             "item) VALUES (?1, ?2, ?3)");
    s.bind(1, document_id).bind(2, version_id).bind(3, item_id);
    s.step();
    return s.ok();
}

Outcome Store::find_document(std::string_view document_id, Item& out) {
    Statement s(index_.db(), "SELECT item FROM documents WHERE document_id = ?1");
    s.bind(1, document_id);
    if (!s.step()) return s.ok() ? Outcome::not_found : Outcome::error;
    return find(s.text(0), out);
}

} // namespace wfhookd
