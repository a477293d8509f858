#include "api/handlers.hpp"
#include "api/store_items.hpp"

#include <fmt/format.h>

namespace wfhookd {

void handle_custom_action(const Context& ctx, const Call& call, Response& res) {
    const auto& p = call.params_as<CustomActionParams>();
    const std::string_view name = p.name.value;
    const ActionConfig* action = ctx.config->find_action(name);
    if (action == nullptr) return res.set_error(404, fmt::format("unknown action \"{}\"", name));

    ActionCall ac{
        .action = action->name,
        .document_id = p.document_id.value,
        .document_version_id = p.document_version_id.value,
        .has_document_version_id = !p.document_version_id.empty(),
        .username = call.caller.user,
        .store = nullptr,
        .store_id = {},
        .store_path = {},
        .process_group = ctx.scoreboard ? &ctx.scoreboard->slot(ctx.slot).child_pgid : nullptr,
    };
    // The document's file in our store, when Workfront sent it there: exec actions get its
    // id and path, move actions move it.
    Item item;
    if (ctx.store != nullptr) {
        ac.store = &ctx.store->store;
        if (ac.store->find_document(ac.document_id, item) == Outcome::ok && !item.folder()) {
            ac.store_id = item.row.id;
            ac.store_path = ac.store->config().root + "/" + item.row.path;
        }
    }

    // Fair share: an action without its own max_concurrent may hold all workers but one, so
    // that /serviceInfo and the other actions always find a worker.
    const unsigned workers = ctx.config->server.workers;
    const unsigned limit =
        action->max_concurrent > 0 ? action->max_concurrent : (workers > 1 ? workers - 1 : 0);
    Scoreboard* sb = ctx.scoreboard;
    if (sb != nullptr && !sb->try_begin_action(ctx.slot, ctx.action_index[action->index], limit))
        return res.set_error(503, "action busy, try again");

    const ActionResult result = action->type->run(*action, ac);
    if (sb != nullptr) sb->end_action(ctx.slot, !result.ok);

    if (result.ok) return res.set_success();
    if (result.status == 503 || result.status == 404) {
        res.set_error(result.status, result.error);
        if (!result.detail.empty())
            fmt::format_to(std::back_inserter(res.log_error), " [{}]", result.detail);
        return;
    }
    res.set_error(500, fmt::format("{} failed: {}", action->display_name, result.error));
    if (!result.detail.empty())
        fmt::format_to(std::back_inserter(res.log_error), " [{}]", result.detail);
}

} // namespace wfhookd
