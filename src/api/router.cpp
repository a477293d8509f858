#include "api/router.hpp"

#include "api/auth.hpp"
#include "api/handlers.hpp"
#include "http/query.hpp"
#include "http/utf8.hpp"

#include <fmt/format.h>

namespace wfhookd {

namespace {

constexpr ParamSpec kCustomActionParams[] = {
    {"name", true, 255},
    {"documentId", true, 255},
    {"documentVersionId", false, 255},
};

bool status_enabled(const Config& c) {
    return c.server.status;
}

// Every endpoint wfhookd serves. One line each; the router does the rest.
const Endpoint kEndpoints[] = {
    {"serviceInfo", kGet | kHead, "GET, HEAD", false, true, {}, -1, handle_service_info, nullptr},
    {"customAction", kGet, "GET", true, true, kCustomActionParams, 0, handle_custom_action,
     nullptr},
    {"status", kGet | kHead, "GET, HEAD", false, false, {}, -1, handle_status, status_enabled},
};

unsigned method_bit(std::string_view m) {
    if (m == "GET") return kGet;
    if (m == "HEAD") return kHead;
    if (m == "POST") return kPost;
    if (m == "PUT") return kPut;
    if (m == "DELETE") return kDelete;
    return 0;
}

// Fills `params` from the query string; returns the 400 message, or empty.
std::string parse_params(const Context& ctx, const Endpoint& ep, std::string_view query,
                         Params& params) {
    if (query.size() > ctx.config->server.max_query_size)
        return fmt::format("query string is {} bytes; the limit is {}", query.size(),
                           ctx.config->server.max_query_size);
    std::string problem;
    std::string error =
        parse_query(query, ctx.scratch, [&](std::string_view k, std::string_view v) {
            for (std::size_t i = 0; i < ep.params.size(); ++i) {
                const ParamSpec& spec = ep.params[i];
                if (k != spec.name) continue;
                if (params.present[i]) {
                    problem = fmt::format("parameter {} is given more than once", spec.name);
                } else if (v.size() > spec.max_length) {
                    problem = fmt::format("parameter {} is {} bytes; the limit is {}", spec.name,
                                          v.size(), spec.max_length);
                } else if (!is_valid_utf8(v)) {
                    problem = fmt::format("parameter {} is not valid UTF-8", spec.name);
                } else {
                    params.present[i] = true;
                    params.value[i] = v;
                }
                return problem.empty();
            }
            return true; // parameters we do not know are ignored (Workfront may add its own)
        });
    if (!error.empty()) return error;
    if (!problem.empty()) return problem;
    for (std::size_t i = 0; i < ep.params.size(); ++i) {
        if (!ep.params[i].required) continue;
        if (!params.present[i]) return fmt::format("missing parameter {}", ep.params[i].name);
        if (params.value[i].empty()) return fmt::format("parameter {} is empty", ep.params[i].name);
    }
    return {};
}

} // namespace

std::span<const Endpoint> endpoints() {
    return kEndpoints;
}

std::string_view endpoint_name(std::string_view path) {
    while (!path.empty() && path.back() == '/')
        path.remove_suffix(1);
    const auto slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

void route(const Context& ctx, const Request& req, Response& res, RouteInfo& info) {
    if (!req.malformed.empty()) return res.set_error(400, req.malformed);
    // Whatever the endpoint: the body was not even read.
    if (req.content_length > ctx.config->server.max_body_size)
        return res.set_error(413,
                             fmt::format("request body is {} bytes; the limit is {}",
                                         req.content_length, ctx.config->server.max_body_size));

    const std::string_view name = endpoint_name(req.path);
    const Endpoint* ep = nullptr;
    for (const Endpoint& e : kEndpoints) {
        if (e.name == name && (e.enabled == nullptr || e.enabled(*ctx.config))) {
            ep = &e;
            break;
        }
    }
    if (ep == nullptr) return res.set_error(404, "unknown endpoint");
    info.endpoint = static_cast<int>(ep - kEndpoints);
    if (ctx.scoreboard != nullptr)
        ctx.scoreboard->slot(ctx.slot).endpoint.store(info.endpoint, std::memory_order_relaxed);

    if ((method_bit(req.method) & ep->methods) == 0) {
        res.set_error(405, fmt::format("method {} is not allowed here; use {}",
                                       req.method.empty() ? "(none)" : req.method, ep->allow));
        res.allow = ep->allow;
        return;
    }
    if (ep->authenticated) {
        const std::string_view denied = check_auth(ctx.config->auth, req.api_key, req.username);
        if (!denied.empty()) return res.set_error(403, denied);
        if (req.username.size() > 255 || !is_valid_utf8(req.username))
            return res.set_error(400, "username header must be at most 255 bytes of UTF-8");
    }
    Params params;
    if (std::string error = parse_params(ctx, *ep, req.query, params); !error.empty())
        return res.set_error(400, error);
    if (ep->action_param >= 0) info.action = params.value[ep->action_param];
    ep->handler(ctx, Call{req, params}, res);
}

} // namespace wfhookd
