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

    // The title of the root folder.
    std::string root_title() const;
    // Whether the daemon may change the item (read_only, permissions).
    bool writable(const struct stat& st) const;

    // Whether `id` has the shape of an id this store issues (or is "/").
    static bool valid_id(std::string_view id);
    static std::string new_id();

private:
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
