#include "api/router.hpp"

#include "api/auth.hpp"
#include "http/json_writer.hpp"
#include "http/query.hpp"
#include "http/utf8.hpp"
#include "server/address.hpp"

#include <arpa/inet.h>
#include <cstring>
#include <fmt/format.h>
#include <netinet/in.h>

namespace wfhookd {

namespace {

unsigned method_bit(std::string_view m) {
    if (m == "GET") return kGet;
    if (m == "HEAD") return kHead;
    if (m == "POST") return kPost;
    if (m == "PUT") return kPut;
    if (m == "DELETE") return kDelete;
    return 0;
}

Param& param_at(void* params, const ParamSpec& spec) {
    return *reinterpret_cast<Param*>(static_cast<unsigned char*>(params) + spec.offset);
}

// Adds the parameters of one query string (or form body) to `params`; returns the 400
// message, or empty. A parameter given twice, in one source or across the two, is refused.
std::string parse_params(const Endpoint& ep, std::string_view query, std::string& scratch,
                         void* params) {
    std::string problem;
    std::string error = parse_query(query, scratch, [&](std::string_view k, std::string_view v) {
        for (const ParamSpec& spec : ep.params) {
            if (k != spec.name) continue;
            Param& p = param_at(params, spec);
            if (p.present)
                problem = fmt::format("parameter {} is given more than once", spec.name);
            else if (v.size() > spec.max_length)
                problem = fmt::format("parameter {} is {} bytes; the limit is {}", spec.name,
                                      v.size(), spec.max_length);
            else if (!is_valid_utf8(v))
                problem = fmt::format("parameter {} is not valid UTF-8", spec.name);
            else
                p = Param{v, true};
            return problem.empty();
        }
        return true; // parameters we do not know are ignored (Workfront may add its own)
    });
    return error.empty() ? problem : error;
}

std::string check_required(const Endpoint& ep, const void* params) {
    for (const ParamSpec& spec : ep.params) {
        if (!spec.required) continue;
        const Param& p = param_at(const_cast<void*>(params), spec);
        if (!p.present) return fmt::format("missing parameter {}", spec.name);
        if (p.empty()) return fmt::format("parameter {} is empty", spec.name);
    }
    return {};
}

bool is_form(std::string_view content_type) {
    constexpr std::string_view kForm = "application/x-www-form-urlencoded";
    if (content_type.size() < kForm.size()) return false;
    for (std::size_t i = 0; i < kForm.size(); ++i)
        if ((content_type[i] | 0x20) != kForm[i] && content_type[i] != kForm[i]) return false;
    return content_type.size() == kForm.size() || content_type[kForm.size()] == ';' ||
           content_type[kForm.size()] == ' ';
}

// Reads the whole body (up to `limit`) into `out`; false when it is larger or the peer went
// away.
bool read_body(const Request& req, std::size_t limit, std::string& out, bool& too_large) {
    out.clear();
    too_large = false;
    if (req.body_source == nullptr) {
        out.assign(req.body);
        too_large = out.size() > limit;
        return !too_large;
    }
    char buf[16384];
    for (;;) {
        const long n = req.body_source->read(buf, sizeof buf);
        if (n == 0) return true;
        if (n < 0) return false;
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() > limit) {
            too_large = true;
            return false;
        }
    }
}

bool is_loopback(std::string_view addr) {
    const std::string text(addr);
    in_addr v4{};
    in6_addr v6{};
    if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
        if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
        return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
    }
    return false;
}

bool status_allowed(const ServerConfig& server, std::string_view remote_addr) {
    if (is_loopback(remote_addr)) return true;
    const std::string text(remote_addr);
    sockaddr_in v4{};
    sockaddr_in6 v6{};
    if (inet_pton(AF_INET, text.c_str(), &v4.sin_addr) == 1) {
        v4.sin_family = AF_INET;
        for (const AddressPrefix& p : server.status_from)
            if (p.matches(reinterpret_cast<const sockaddr*>(&v4))) return true;
    } else if (inet_pton(AF_INET6, text.c_str(), &v6.sin6_addr) == 1) {
        v6.sin6_family = AF_INET6;
        for (const AddressPrefix& p : server.status_from)
            if (p.matches(reinterpret_cast<const sockaddr*>(&v6))) return true;
    }
    return false;
}

} // namespace

std::string_view endpoint_name(std::string_view path) {
    while (!path.empty() && path.back() == '/')
        path.remove_suffix(1);
    const auto slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

void route(const Context& ctx, const Request& req, Response& res, RouteInfo& info) {
    const ServerConfig& server = ctx.config->server;
    if (!req.malformed.empty()) return res.set_error(400, req.malformed);

    const std::string_view name = endpoint_name(req.path);
    const Endpoint* ep = nullptr;
    for (const Endpoint& e : endpoints()) {
        if (e.name != name) continue;
        if (e.enabled != nullptr && !e.enabled(*ctx.config)) {
            if (!e.disabled.empty()) return res.set_error(404, e.disabled);
            break;
        }
        ep = &e;
        break;
    }
    // Whatever the endpoint: a body over the limit is not even read. (Uploads stream theirs
    // and apply their own limit.)
    if ((ep == nullptr || ep->body != Body::stream) && req.content_length >= 0 &&
        std::uint64_t(req.content_length) > server.max_body_size)
        return res.set_error(413, fmt::format("request body is {} bytes; the limit is {}",
                                              req.content_length, server.max_body_size));
    if (ep == nullptr) return res.set_error(404, "unknown endpoint");
    // The router's own refusals, in the endpoint's vocabulary.
    const auto refuse = [&](int code, std::string_view message) {
        switch (ep->errors) {
        case Errors::status:
            return res.set_error(code, message);
        case Errors::upload:
            return res.set_upload_error(code, message);
        case Errors::oauth2:
            return res.set_oauth2_error(code, "invalid_request", message);
        }
    };
    info.endpoint = static_cast<int>(ep - endpoints().data());
    if (ctx.scoreboard != nullptr)
        ctx.scoreboard->slot(ctx.slot).endpoint.store(info.endpoint, std::memory_order_relaxed);

    if ((method_bit(req.method) & ep->methods) == 0) {
        refuse(405, fmt::format("method {} is not allowed here; use {}",
                                req.method.empty() ? "(none)" : req.method, ep->allow));
        res.allow = ep->allow;
        return;
    }

    Caller caller;
    if (ep->access == Access::loopback && !status_allowed(server, req.remote_addr))
        return refuse(403, "forbidden");
    // A signed link is checked once the parameters are known; any other credentials now, so
    // that nobody learns anything about parameters without them.
    const bool link_attempt =
        ep->access == Access::link && req.api_key.empty() && req.authorization.empty();
    const bool credentials =
        ep->access == Access::caller || (ep->access == Access::link && !link_attempt);
    if (credentials && req.api_key.empty() && !req.authorization.empty()) {
        // OAuth2: the token names the user; the username header is not looked at.
        const BearerCheck bearer = check_bearer(ctx, req.authorization);
        if (bearer.failed) return refuse(500, "the token database failed; try again");
        if (!bearer.denied.empty()) return refuse(403, bearer.denied);
        caller.user = bearer.user;
        caller.by_token = true;
    } else if (credentials) {
        const std::string_view denied = check_auth(ctx.config->auth, req.api_key, req.username);
        if (!denied.empty()) {
            refuse(403, denied);
            if (!ctx.config->auth.keys_refused.empty())
                res.log_error += " (no API key is accepted: " + ctx.config->auth.keys_refused + ")";
            return;
        }
        if (req.username.size() > 255 || !is_valid_utf8(req.username))
            return refuse(400, "username header must be at most 255 bytes of UTF-8");
        caller.user = req.username;
    }
    info.user = caller.user;

    alignas(Param) unsigned char params[kMaxParamStruct];
    std::memset(params, 0, sizeof params);
    if (req.query.size() > server.max_query_size)
        return refuse(400, fmt::format("query string is {} bytes; the limit is {}",
                                       req.query.size(), server.max_query_size));
    if (std::string error = parse_params(*ep, req.query, ctx.scratch, params); !error.empty())
        return refuse(400, error);
    Request with_body = req;
    if (ep->body == Body::form) {
        bool too_large = false;
        if (!read_body(req, server.max_body_size, ctx.body, too_large))
            return refuse(too_large ? 413 : 400,
                          too_large ? fmt::format("request body is larger than {} bytes",
                                                  server.max_body_size)
                                    : std::string("the request body ended early"));
        with_body.body = ctx.body;
        if (!ctx.body.empty() && is_form(req.content_type)) {
            if (std::string error = parse_params(*ep, ctx.body, ctx.body_scratch, params);
                !error.empty())
                return refuse(400, error);
        }
    }
    if (std::string error = check_required(*ep, params); !error.empty()) return refuse(400, error);
    if (link_attempt) {
        const auto part = [&](std::string_view n) {
            for (const ParamSpec& spec : ep->params)
                if (spec.name == n) return param_at(params, spec).value;
            return std::string_view();
        };
        const std::string_view denied =
            check_link(ctx, ep->name, part("id"), part("expires"), part("sig"));
        if (!denied.empty()) return refuse(403, denied);
        caller.by_link = true;
    }
    if (ep->log_param >= 0) info.action = param_at(params, ep->params[ep->log_param]).value;
    ep->handler(ctx, Call{with_body, params, caller}, res);
}

} // namespace wfhookd
