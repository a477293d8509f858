// The document store: the folder tree beneath [store] root (tree.hpp), with stable ids kept
// in the index (index.hpp) and, where the file system allows, on the items themselves
// (user.wfhookd.id), so that an item moved outside wfhookd keeps its id when it is found
// again and the index can be rebuilt from the tree. docs/architecture.md, "The store".
#pragma once

#include "config/config.hpp"
#include "store/index.hpp"
#include "store/tree.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <vector>

namespace wfhookd {

inline constexpr std::string_view kRootId = "/";

// An item as it is now: its index row (id "/" and path "" for the root) and its lstat.
struct Item {
    IndexRow row;
    struct stat st {};
    bool root() const { return row.id == kRootId; }
    bool folder() const { return S_ISDIR(st.st_mode); }
};

enum class Outcome {
    ok,
    not_found,    // never issued, or the item is gone
    not_a_folder, // a folder was needed
    error,        // the index or the file system failed (logged)
    // The write side.
    exists,     // the name is taken (409)
    no_space,   // the file system is full (ENOSPC, EDQUOT)
    too_large,  // more than max_upload_size
    read_only,  // [store] read_only, or the file system refuses writes (EROFS, EACCES)
    body_error, // the request body ended early or the peer went away
};

// Why a name cannot be given to an item (1-255 bytes of UTF-8, not "." or "..", no '/', no
// control character, not hidden), or empty.
std::string name_problem(std::string_view name);

// Where a new item should go and what it is called.
struct Placement {
    std::string name; // the name it got ("NAME (2).ext" when NAME was taken and numbering allowed)
};

// Reads a body into a file: the upload endpoint's stream, or anything else in tests.
class ByteSource {
public:
    virtual ~ByteSource() = default;
    // Bytes read (0 at the end); -1 when the body ended early or the peer went away.
    virtual long read(char* buf, std::size_t size) = 0;
};

// A folder's items: its descriptor (to stat them) and their rows, folders first, then by name
// (case-insensitive, then byte order).
struct Listing {
    Fd folder;
    std::vector<IndexRow> items;
};

struct ReindexStats {
    std::uint64_t folders = 0, files = 0, new_ids = 0, kept_ids = 0, removed = 0;
};

class Store {
public:
    explicit Store(const StoreConfig& config) : config_(config) {}

    // Opens the root and the index (in each worker, after the fork: SQLite connections must
    // not cross a fork). false with `error` set.
    bool open(std::string& error);
    const StoreConfig& config() const { return config_; }
    Tree& tree() { return tree_; }
    Index& index() { return index_; }

    // The item with this id ("/" is the root), as it is on disk now.
    Outcome find(std::string_view id, Item& out);
    // A folder's items, after bringing the index up to date with what the folder holds: ids
    // for entries that appeared by other means, rows of vanished ones removed.
    Outcome list(const Item& folder, Listing& out);
    // Items whose name contains `query` within `scope`, by relevance then name (index only:
    // no tree walk). Rows of items that vanished are dropped on the way.
    Outcome search(std::string_view query, const Item& scope, std::size_t offset, std::size_t max,
                   std::vector<Item>& out);
    // Walks the whole tree and brings the index up to date (ids kept from the items' xattrs
    // or the existing rows, new ones for the rest, rows of vanished items removed).
    bool reindex(ReindexStats& stats, std::string& error);

    // --- The write side (src/store/store_write.cpp). Each change is durable before it
    // returns ok: the file and its folder fsync'ed, the index committed.

    // A new empty file in `folder`; `numbered`: a taken name becomes "NAME (2).ext", "(3)"...
    // (uploadInit), else `exists`. The file exists from now on: its name is reserved.
    Outcome create_file(const Item& folder, std::string_view name, bool numbered, Item& out);
    Outcome create_folder(const Item& folder, std::string_view name, Item& out);
    // New content for a file, streamed from `body` into a temporary file on the store's file
    // system, fsync'ed, then put in place with one rename (the old content, if any, goes to
    // the trash as a previous version first). At most `limit` bytes.
    Outcome replace_content(const Item& file, ByteSource& body, std::uint64_t limit,
                            std::uint64_t& written);
    // A new name in the same folder; the id stays, and so do those of a folder's contents.
    Outcome rename(const Item& item, std::string_view name);
    // Into another folder, keeping the id; `numbered` as for create_file.
    Outcome move(const Item& item, const Item& folder, bool numbered, Item& out);
    // Into the trash (or gone at once with trash_days = 0); a folder with its contents.
    Outcome remove(const Item& item);
    // A folder beneath the root by its relative path, made with its parents when missing
    // (the move action's destination).
    Outcome folder_at(std::string_view path, Item& out);

    // Workfront's document ids of a file sent through uploadInit.
    bool set_document(std::string_view document_id, std::string_view version_id,
                      std::string_view item_id);
    // The item a Workfront document id belongs to.
    Outcome find_document(std::string_view document_id, Item& out);

    // Master: trash entries older than trash_days, and with `uploads`, the hidden temporary
    // files of uploads that never finished, anywhere in the tree (untouched for
    // `stale_seconds`; 0: all of them, at start).
    static void purge(const StoreConfig& config, std::int64_t stale_seconds, bool uploads);

    static constexpr std::string_view kTrash = ".wfhookd-trash";
    static constexpr std::string_view kUploadPrefix = ".wfhookd-up-";

    // The title of the root folder.
    std::string root_title() const;
    // Whether the daemon may change the item (read_only, permissions).
    bool writable(const struct stat& st) const;

    // Whether `id` has the shape of an id this store issues (or is "/").
    static bool valid_id(std::string_view id);
    static std::string new_id();

private:
    Outcome place(const Item& folder, std::string_view name, bool numbered, bool folder_kind,
                  Item& out);
    Outcome to_trash(const Item& item, int from_dir, const std::string& name, bool version);
    bool index_new(const Item& folder, const std::string& name, int folder_fd, bool is_folder,
                   Item& out);
    bool reconcile(const IndexRow& folder, int folder_fd, std::vector<IndexRow>& rows,
                   ReindexStats* stats);
    bool adopt(const IndexRow& folder, int folder_fd, const TreeEntry& e, ReindexStats* stats);
    void note_no_xattrs();

    const StoreConfig& config_;
    Tree tree_;
    Index index_;
    bool xattrs_ = true; // false once the file system said ENOTSUP
};

// Folders first, then names compared without ASCII case, then byte by byte.
bool listing_order(const IndexRow& a, const IndexRow& b);

} // namespace wfhookd
