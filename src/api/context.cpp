#include "api/context.hpp"

#include "api/handlers.hpp"
#include "api/store_context.hpp"
#include "store/thumbnail.hpp"

namespace wfhookd {

Context::Context(std::shared_ptr<const Config> cfg, Scoreboard* sb, int s,
                 std::vector<int> shared_action_index)
    : config(std::move(cfg)), scoreboard(sb), slot(s), action_index(std::move(shared_action_index)),
      service_info(build_service_info(*config)) {
    action_index.resize(config->actions.size(), -1);
    scratch.reserve(config->server.max_query_size);
}

Context::~Context() = default;

bool Context::open_store(std::string& error) {
    if (!config->store.enabled) return true;
    try {
        auto s = std::make_unique<StoreContext>(config->store);
        if (!s->store.open(error)) return false;
        store = std::move(s);
        return true;
    } catch (const std::exception& e) {
        error = e.what();
        return false;
    }
}

StoreContext::StoreContext(const StoreConfig& config)
    : store(config), signer(config.link_secret), thumbnails(std::make_unique<Thumbnailer>(config)) {
    mime.load();
}

StoreContext::~StoreContext() = default;

} // namespace wfhookd
