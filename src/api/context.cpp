#include "api/context.hpp"

#include "api/handlers.hpp"

namespace wfhookd {

Context::Context(std::shared_ptr<const Config> cfg, Scoreboard* sb, int s,
                 std::vector<int> shared_action_index)
    : config(std::move(cfg)), scoreboard(sb), slot(s), action_index(std::move(shared_action_index)),
      service_info(build_service_info(*config)) {
    action_index.resize(config->actions.size(), -1);
    scratch.reserve(config->server.max_query_size);
}

} // namespace wfhookd
