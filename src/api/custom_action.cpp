#include "api/handlers.hpp"

#include <fmt/format.h>

namespace wfhookd {

void handle_custom_action(const Context& ctx, const Call& call, Response& res) {
    const std::string_view name = call.params.value[0];
    const ActionConfig* action = ctx.config->find_action(name);
    if (action == nullptr) return res.set_error(404, fmt::format("unknown action \"{}\"", name));

    const ActionCall ac{
        .action = action->name,
        .document_id = call.params.value[1],
        .document_version_id = call.params.value[2],
        .has_document_version_id = call.params.present[2] && !call.params.value[2].empty(),
        .username = call.request.username,
        .process_group = ctx.scoreboard ? &ctx.scoreboard->slot(ctx.slot).child_pgid : nullptr,
    };

    Scoreboard* sb = ctx.scoreboard;
    if (sb != nullptr &&
        !sb->try_begin_action(ctx.slot, ctx.action_index[action->index], action->max_concurrent))
        return res.set_error(503, "action busy, try again");

    const ActionResult result = action->type->run(*action, ac);
    if (sb != nullptr) sb->end_action(ctx.slot, !result.ok);

    if (result.ok) return res.set_success();
    res.set_error(500, fmt::format("{} failed: {}", action->display_name, result.error));
    if (!result.detail.empty())
        fmt::format_to(std::back_inserter(res.log_error), " [{}]", result.detail);
}

} // namespace wfhookd
