// The endpoint table and the one place where method, authentication and parameters are
// checked before any handler runs.
#pragma once

#include "api/context.hpp"
#include "http/request.hpp"
#include "http/response.hpp"

#include <span>
#include <string_view>

namespace wfhookd {

enum Method : unsigned { kGet = 1, kHead = 2, kPost = 4, kPut = 8, kDelete = 16 };

struct ParamSpec {
    std::string_view name;
    bool required;
    std::size_t max_length; // bytes after decoding
};

inline constexpr std::size_t kMaxParams = 4;

// The declared parameters of the endpoint being called, in ParamSpec order. Checked by the
// router: present when required, never repeated, within max_length, valid UTF-8.
struct Params {
    std::string_view value[kMaxParams];
    bool present[kMaxParams] = {};
};

struct Call {
    const Request& request;
    const Params& params;
};

using Handler = void (*)(const Context&, const Call&, Response&);

struct Endpoint {
    std::string_view name; // the last path segment, as Workfront appends it to the base URL
    unsigned methods;
    std::string_view allow; // Allow header for 405
    bool authenticated;
    bool workfront; // listed in /serviceInfo availableEndpoints
    std::span<const ParamSpec> params;
    int action_param; // index of the parameter the log line shows as action, or -1
    Handler handler;
    bool (*enabled)(const Config&); // null: always served
};

std::span<const Endpoint> endpoints();

// What the request log line needs to know about how a request was routed.
struct RouteInfo {
    int endpoint = -1;       // index into endpoints(), -1 when unknown
    std::string_view action; // the `name` parameter of /customAction, when valid
};

// The endpoint is the last non-empty path segment, so any base URL prefix works and a doubled
// slash is harmless.
std::string_view endpoint_name(std::string_view path);

void route(const Context& ctx, const Request& req, Response& res, RouteInfo& info);

} // namespace wfhookd
