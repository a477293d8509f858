// GET /metadata, and the metadata object every document endpoint answers with.
#include "api/handlers.hpp"
#include "api/store_items.hpp"

#include "http/download.hpp"
#include "util/clock.hpp"

#include <charconv>
#include <fmt/format.h>

namespace wfhookd {

LinkContext link_context(const StoreContext& sc, const Request& req) {
    return {link_base(sc.store.config().public_url, req),
            realtime_ns() / 1'000'000'000 + sc.store.config().link_ttl};
}

bool find_item(StoreContext& sc, const Param& id, bool empty_is_root, Item& out, Response& res) {
    const std::string_view wanted = empty_is_root && id.empty() ? kRootId : id.value;
    switch (sc.store.find(wanted, out)) {
    case Outcome::ok:
        return true;
    case Outcome::error:
        res.set_error(500, "the document store failed; try again");
        return false;
    default:
        res.set_error(404, "no such file or folder");
        return false;
    }
}

void write_item(JsonWriter& w, StoreContext& sc, const Item& item, const LinkContext& links) {
    const bool folder = item.folder();
    w.begin_object()
        .field("title", item.row.name) // the root's is [store] title; invalid UTF-8 -> U+FFFD
        .field("kind", folder ? "folder" : "file")
        .field("id", item.row.id);
    // A folder's view link opens its listing page; it has nothing to download.
    const bool linked = !links.base.empty();
    w.field("viewLink",
            linked ? signed_link(sc.signer, links.base, "view", item.row.id, links.expires) : "");
    w.field("downloadLink", linked && !folder ? signed_link(sc.signer, links.base, "download",
                                                            item.row.id, links.expires)
                                              : "");
    if (!folder) w.field("mimeType", sc.mime.type_for(item.row.name));
    w.field("dateModified", rfc3339(item.st.st_mtim));
    if (!folder) w.field("size", static_cast<std::uint64_t>(item.st.st_size));
    w.field("readOnly", !sc.store.writable(item.st));
    w.end_object();
}

bool paging(const StoreConfig& config, const Param& max, const Param& offset, std::size_t& out_max,
            std::size_t& out_offset, Response& res) {
    const auto number = [&](const Param& p, std::string_view name, std::size_t fallback,
                            std::size_t& out) {
        out = fallback;
        if (p.empty()) return true;
        const auto [end, ec] =
            std::from_chars(p.value.data(), p.value.data() + p.value.size(), out);
        if (ec != std::errc() || end != p.value.data() + p.value.size()) {
            res.set_error(400,
                          fmt::format("parameter {} must be a whole number of 0 or more", name));
            return false;
        }
        return true;
    };
    if (!number(max, "max", 100, out_max) || !number(offset, "offset", 0, out_offset)) return false;
    out_max = std::min<std::size_t>(out_max, config.max_page);
    return true;
}

void handle_metadata(const Context& ctx, const Call& call, Response& res) {
    StoreContext& sc = *ctx.store;
    const auto& p = call.params_as<IdParams>();
    Item item;
    if (!find_item(sc, p.id, false, item, res)) return;
    res.body.clear();
    JsonWriter w(res.body);
    write_item(w, sc, item, link_context(sc, call.request));
}

} // namespace wfhookd
