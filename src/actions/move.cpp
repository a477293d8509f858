// type = move: the store's file of the called document goes into a folder of the store
// (created when missing), keeping its id, so the link Workfront holds keeps working. The
// spec's own "archive" example, made real (docs/actions.md).
#include "actions/action.hpp"

#include "store/audit.hpp"
#include "store/store.hpp"
#include "util/log.hpp"

#include <fmt/format.h>

namespace wfhookd {

const SettingSpec kMoveSettings[1] = {
    {"folder",
     true,
     {},
     SettingKind::store_folder,
     "the destination, relative to [store] root (e.g. Archive/2026); made when missing"},
};

namespace {

ActionResult not_in_store() {
    ActionResult r{false, "this document is not in the store", {}};
    r.status = 404;
    return r;
}

ActionResult store_failed(Outcome o, std::string detail) {
    if (o == Outcome::read_only) return {false, "the document store is read-only", detail};
    if (o == Outcome::no_space) return {false, "no space left in the document store", detail};
    return {false, "the document store failed; try again", std::move(detail)};
}

} // namespace

ActionResult run_move(const ActionConfig& config, const ActionCall& call) {
    // The loader refuses a move action without a store; a caller without one is a unit test.
    if (call.store == nullptr) return {false, "no document store is configured", {}};
    Store& store = *call.store;
    Item item;
    switch (store.find_document(call.document_id, item)) {
    case Outcome::ok:
        break;
    case Outcome::not_found:
        return not_in_store();
    default:
        return store_failed(Outcome::error, "the index could not be read");
    }
    if (item.folder()) return not_in_store();
    Item folder;
    const std::string& path = config.setting("folder");
    if (const Outcome o = store.folder_at(path, folder); o != Outcome::ok)
        return store_failed(o, fmt::format("folder {}: outcome {}", path, static_cast<int>(o)));
    if (item.row.parent == folder.row.id) return {}; // already there
    const std::string from = item.row.path;
    Item moved;
    if (const Outcome o = store.move(item, folder, true, moved); o != Outcome::ok)
        return store_failed(
            o, fmt::format("moving {} to {}: outcome {}", from, path, static_cast<int>(o)));
    store_audit(store.config(), call.username, fmt::format("customAction:{}", call.action),
                moved.row.id, from, moved.row.path);
    return {};
}

} // namespace wfhookd
