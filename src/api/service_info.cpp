#include "api/handlers.hpp"
#include "http/json_writer.hpp"

namespace wfhookd {

std::string build_service_info(const Config& config) {
    std::string body;
    JsonWriter w(body);
    w.begin_object()
        .field("webhookVersion", "1.2")
        .field("version", config.service.version)
        .field("publisher", config.service.publisher);
    w.key("availableEndpoints").begin_array();
    // Exactly what this instance serves.
    for (const Endpoint& e : endpoints())
        if (e.listed != nullptr && e.listed(config) && (e.enabled == nullptr || e.enabled(config)))
            w.value(e.name);
    w.end_array();
    w.key("customActions").begin_array();
    for (const ActionConfig& a : config.actions)
        w.begin_object().field("name", a.name).field("displayName", a.display_name).end_object();
    w.end_array();
    w.end_object();
    return body;
}

void handle_service_info(const Context& ctx, const Call&, Response& res) {
    res.status = 200;
    res.body.assign(ctx.service_info);
}

} // namespace wfhookd
