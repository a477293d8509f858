#include "api/context.hpp"

#include "api/handlers.hpp"
#include "api/store_context.hpp"
#include "oauth2/oauth2_context.hpp"
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
    try {
        if (config->store.enabled) {
            auto s = std::make_unique<StoreContext>(config->store);
            if (!s->store.open(error)) return false;
            store = std::move(s);
        }
        if (config->oauth2.enabled) {
            auto o = std::make_unique<OAuth2Context>(config->oauth2);
            if (!o->tokens.open(config->oauth2.token_file, error)) return false;
            oauth2 = std::move(o);
        }
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
