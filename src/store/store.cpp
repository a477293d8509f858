#include "store/store.hpp"

#include "util/base64.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <unistd.h>
#include <unordered_map>

namespace wfhookd {

namespace {

int ascii_compare_nocase(std::string_view a, std::string_view b) {
    const std::size_t n = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < n; ++i) {
        const auto fold = [](char c) {
            return static_cast<unsigned char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        };
        const unsigned char x = fold(a[i]), y = fold(b[i]);
        if (x != y) return x < y ? -1 : 1;
    }
    return a.size() == b.size() ? 0 : (a.size() < b.size() ? -1 : 1);
}

} // namespace

bool listing_order(const IndexRow& a, const IndexRow& b) {
    if (a.folder != b.folder) return a.folder;
    if (const int c = ascii_compare_nocase(a.name, b.name); c != 0) return c < 0;
    return a.name < b.name;
}

bool Store::valid_id(std::string_view id) {
    if (id == kRootId) return true;
    if (id.empty() || id.size() > 64) return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_';
    });
}

std::string Store::new_id() {
    return random_token(16); // 128 bits: 22 characters, never derived from anything
}

bool Store::open(std::string& error) {
    if (!tree_.open(config_.root, error)) {
        error = "[store] root " + config_.root + ": " + error;
        return false;
    }
    if (!index_.open(config_.index, error)) {
        error = "[store] index " + config_.index + ": " + error;
        return false;
    }
    return true;
}

std::string Store::root_title() const {
    if (!config_.title.empty()) return config_.title;
    const auto slash = config_.root.rfind('/');
    const std::string name = config_.root.substr(slash + 1);
    return name.empty() ? std::string("/") : name;
}

bool Store::writable(const struct stat& st) const {
    if (config_.read_only) return false;
    // The process's ids never change after the start: asked once, not per listed item.
    static const uid_t uid = geteuid();
    static const gid_t gid = getegid();
    if (uid == 0) return true;
    if (st.st_uid == uid) return (st.st_mode & S_IWUSR) != 0;
    if (st.st_gid == gid) return (st.st_mode & S_IWGRP) != 0;
    return (st.st_mode & S_IWOTH) != 0;
}

void Store::note_no_xattrs() {
    if (!xattrs_) return;
    xattrs_ = false;
    log(Level::warning,
        "store: {} has no user extended attributes; ids are kept in the index only (an item "
        "moved outside wfhookd gets a new id, and --reindex after losing the index issues new "
        "ones)",
        config_.root);
}

Outcome Store::find(std::string_view id, Item& out) {
    if (id == kRootId) {
        out.row = IndexRow{std::string(kRootId), "", "", root_title(), true, 0};
        return fstat(tree_.root_fd(), &out.st) == 0 ? Outcome::ok : Outcome::error;
    }
    if (!valid_id(id) || !index_.by_id(id, out.row)) return Outcome::not_found;
    if (!tree_.stat(out.row.path, out.st)) return Outcome::not_found;
    const bool folder = S_ISDIR(out.st.st_mode);
    if ((!folder && !S_ISREG(out.st.st_mode)) || folder != out.row.folder)
        return Outcome::not_found; // replaced by something else, or by a link
    return Outcome::ok;
}

// An entry the index has no row for: it keeps the id it carries when that id is not in use
// elsewhere (moved or renamed outside wfhookd, or an index rebuilt), else it gets a new one.
bool Store::adopt(const IndexRow& folder, int folder_fd, const TreeEntry& e, ReindexStats* stats) {
    const std::string path = join_path(folder.path, e.name);
    const std::string carried = xattrs_ ? Tree::read_id(folder_fd, e.name) : std::string();
    if (!carried.empty() && carried != kRootId && valid_id(carried)) {
        IndexRow other;
        if (!index_.by_id(carried, other)) {
            if (stats != nullptr) ++stats->kept_ids;
            return index_.insert(IndexRow{carried, folder.id, path, e.name, e.folder, e.ino});
        }
        struct stat st {};
        const bool still_there =
            other.path != path && tree_.stat(other.path, st) && S_ISDIR(st.st_mode) == other.folder;
        if (!still_there) { // moved: the id follows the item, and its contents follow it
            if (stats != nullptr) ++stats->kept_ids;
            return index_.move(carried, folder.id, e.name, path) && index_.set_ino(carried, e.ino);
        }
        // Both exist: a copy that kept the attribute (cp -a). The copy is a new item.
    }
    const std::string id = new_id();
    if (!index_.insert(IndexRow{id, folder.id, path, e.name, e.folder, e.ino})) return false;
    if (stats != nullptr) ++stats->new_ids;
    if (xattrs_ && !Tree::write_id(folder_fd, e.name, id) &&
        (errno == ENOTSUP || errno == EOPNOTSUPP))
        note_no_xattrs();
    return true;
}

bool Store::reconcile(const IndexRow& folder, int folder_fd, std::vector<IndexRow>& rows,
                      ReindexStats* stats) {
    const std::vector<TreeEntry> entries = Tree::list(folder_fd);
    const auto differs = [&] {
        if (entries.size() != rows.size()) return true;
        std::unordered_map<std::string_view, bool> known;
        known.reserve(rows.size());
        for (const IndexRow& r : rows)
            known.emplace(r.name, r.folder);
        return std::any_of(entries.begin(), entries.end(), [&](const TreeEntry& e) {
            const auto it = known.find(e.name);
            return it == known.end() || it->second != e.folder;
        });
    };
    if (!differs()) {
        if (stats != nullptr) stats->kept_ids += rows.size();
        return true;
    }
    // One writer at a time: what another worker did meanwhile is seen once we hold the lock.
    if (!index_.begin()) return false;
    rows = index_.children(folder.id);
    std::unordered_map<std::string, const IndexRow*> by_name;
    for (const IndexRow& r : rows)
        by_name.emplace(r.name, &r);
    bool ok = true;
    std::vector<const TreeEntry*> fresh;
    for (const TreeEntry& e : entries) {
        const auto it = by_name.find(e.name);
        if (it != by_name.end() && it->second->folder == e.folder) {
            if (stats != nullptr) ++stats->kept_ids;
            by_name.erase(it);
        } else {
            fresh.push_back(&e);
        }
    }
    // What is left in by_name vanished (or changed kind): its rows go first, so that a name
    // reused by a new item never meets its old row.
    for (const auto& [name, row] : by_name) {
        ok = ok && index_.remove(*row);
        if (stats != nullptr) ++stats->removed;
    }
    for (const TreeEntry* e : fresh)
        ok = ok && adopt(folder, folder_fd, *e, stats);
    if (!ok || !index_.commit()) {
        log(Level::error, "store: updating the index for {} failed: {}",
            folder.path.empty() ? "/" : folder.path, index_.last_error());
        index_.rollback();
        return false;
    }
    rows = index_.children(folder.id);
    return true;
}

Outcome Store::list(const Item& folder, Listing& out) {
    if (!folder.folder()) return Outcome::not_a_folder;
    out.folder = tree_.open_folder(folder.row.path);
    if (!out.folder) return errno == ENOTDIR ? Outcome::not_a_folder : Outcome::not_found;
    out.items = index_.children(folder.row.id);
    if (!reconcile(folder.row, out.folder.get(), out.items, nullptr)) return Outcome::error;
    std::sort(out.items.begin(), out.items.end(), listing_order);
    return Outcome::ok;
}

Outcome Store::search(std::string_view query, const Item& scope, std::size_t offset,
                      std::size_t max, std::vector<Item>& out) {
    if (!scope.folder()) return Outcome::not_a_folder;
    // Rows of items that vanished are dropped and the page asked again, so that paging stays
    // exact for what is there.
    for (int attempt = 0; attempt < 8; ++attempt) {
        out.clear();
        bool vanished = false;
        for (IndexRow& row : index_.search(query, scope.row.path, offset, max)) {
            Item item;
            item.row = std::move(row);
            if (tree_.stat(item.row.path, item.st) && S_ISDIR(item.st.st_mode) == item.row.folder &&
                (item.row.folder || S_ISREG(item.st.st_mode))) {
                out.push_back(std::move(item));
            } else {
                vanished = true;
                index_.remove(item.row);
            }
        }
        if (!vanished) return Outcome::ok;
    }
    return Outcome::ok;
}

bool Store::reindex(ReindexStats& stats, std::string& error) {
    std::deque<IndexRow> folders{IndexRow{std::string(kRootId), "", "", "", true, 0}};
    while (!folders.empty()) {
        const IndexRow folder = std::move(folders.front());
        folders.pop_front();
        const Fd fd = tree_.open_folder(folder.path);
        if (!fd) continue; // vanished meanwhile: its parent's next listing removes its row
        ++stats.folders;
        std::vector<IndexRow> rows = index_.children(folder.id);
        if (!reconcile(folder, fd.get(), rows, &stats)) {
            error = "updating the index for " + (folder.path.empty() ? "/" : folder.path) +
                    " failed: " + index_.last_error();
            return false;
        }
        for (IndexRow& r : rows) {
            if (r.folder)
                folders.push_back(std::move(r));
            else
                ++stats.files;
        }
    }
    return true;
}

} // namespace wfhookd
