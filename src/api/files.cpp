// GET /files (a folder's items, paged) and GET /search (items whose name contains the query).
#include "api/handlers.hpp"
#include "api/store_items.hpp"

#include <fcntl.h>
#include <fmt/format.h>

namespace wfhookd {

namespace {

// The folder a parentId names (absent, empty and "/" are the root), or the 400/404 answer.
bool find_folder(StoreContext& sc, const Param& parent, Item& out, Response& res) {
    if (!find_item(sc, parent, true, out, res)) return false;
    if (out.folder()) return true;
    res.set_error(400, fmt::format("parentId {} is not a folder", parent.value));
    return false;
}

} // namespace

void handle_files(const Context& ctx, const Call& call, Response& res) {
    StoreContext& sc = *ctx.store;
    const auto& p = call.params_as<ListParams>();
    std::size_t max = 0, offset = 0;
    if (!paging(sc.store.config(), p.max, p.offset, max, offset, res)) return;
    Item folder;
    if (!find_folder(sc, p.parent_id, folder, res)) return;
    Listing listing;
    switch (sc.store.list(folder, listing)) {
    case Outcome::ok:
        break;
    case Outcome::error:
        return res.set_error(500, "the document store failed; try again");
    default:
        return res.set_error(404, "no such file or folder");
    }
    const LinkContext links = link_context(sc, call.request);
    res.body.clear();
    JsonWriter w(res.body);
    w.begin_array();
    // A short page means the end (spec §12 item 8): offset counts items, 0-based.
    for (std::size_t i = offset; i < listing.items.size() && i < offset + max; ++i) {
        Item item;
        item.row = std::move(listing.items[i]);
        // Stat'ed now, from the folder's descriptor; gone since the listing: left out.
        if (fstatat(listing.folder.get(), item.row.name.c_str(), &item.st, AT_SYMLINK_NOFOLLOW) !=
            0)
            continue;
        write_item(w, sc, item, links);
    }
    w.end_array();
}

void handle_search(const Context& ctx, const Call& call, Response& res) {
    StoreContext& sc = *ctx.store;
    const auto& p = call.params_as<SearchParams>();
    std::size_t max = 0, offset = 0;
    if (!paging(sc.store.config(), p.max, p.offset, max, offset, res)) return;
    Item scope;
    if (!find_folder(sc, p.parent_id, scope, res)) return;
    res.body.clear();
    JsonWriter w(res.body);
    w.begin_array();
    std::vector<Item> found;
    if (!p.query.empty() && max > 0 &&
        sc.store.search(p.query.value, scope, offset, max, found) == Outcome::error)
        return res.set_error(500, "the document store failed; try again");
    const LinkContext links = link_context(sc, call.request);
    for (const Item& item : found)
        write_item(w, sc, item, links);
    w.end_array();
}

} // namespace wfhookd
