// The endpoint table and the one place where method, access, body and parameters are checked
// before any handler runs.
#pragma once

#include "api/context.hpp"
#include "http/request.hpp"
#include "http/response.hpp"

#include <cstddef>
#include <span>
#include <string_view>

namespace wfhookd {

enum Method : unsigned { kGet = 1, kHead = 2, kPost = 4, kPut = 8, kDelete = 16 };

// Who may call an endpoint; checked by the router before the handler runs.
enum class Access {
    open,     // anyone (/serviceInfo; the OAuth2 endpoints check their own credentials)
    caller,   // Workfront: a valid API key or bearer token
    link,     // a caller, or a browser holding a signed link for this endpoint and id
    loopback, // /status: REMOTE_ADDR on loopback or in [server] status_from
};

// What the router does with the request body.
enum class Body {
    none,   // ignored (and bounded by max_body_size)
    form,   // read in full (max_body_size); an x-www-form-urlencoded body adds parameters
    stream, // left for the handler to stream (uploads; the handler applies its own limit)
};

// The vocabulary of the router's own refusals (400, 403, 405, 413) for an endpoint.
enum class Errors {
    status, // {"status":"error","error":"…"} (spec §7)
    upload, // also "result":"fail" (spec §12 item 13)
    oauth2, // {"error":"invalid_request","error_description":"…"} (RFC 6749 §5.2)
};

// One parameter as the handler sees it: absent, present and empty, or present with a value.
struct Param {
    std::string_view value;
    bool present = false;
    bool empty() const { return value.empty(); }
};

// A declared parameter: checked by the router (present when required, never repeated, within
// max_length, valid UTF-8) and stored at `offset` (offsetof) in the endpoint's parameter
// struct, a plain struct of Param members.
struct ParamSpec {
    std::string_view name;
    bool required;
    std::size_t max_length; // bytes after decoding
    std::size_t offset;
};

inline constexpr std::size_t kMaxParamStruct = 16 * sizeof(Param);

// Who is calling, once the router has checked it.
struct Caller {
    std::string_view user; // the username header, or the user an access token belongs to
    bool by_token = false; // authenticated by an OAuth2 bearer token
    bool by_link = false;  // a browser with a signed link (no user)
};

struct Call {
    const Request& request;
    const void* params; // the endpoint's parameter struct
    Caller caller;

    template <typename P>
    const P& params_as() const {
        return *static_cast<const P*>(params);
    }
};

using Handler = void (*)(const Context&, const Call&, Response&);

struct Endpoint {
    std::string_view name; // the last path segment, as Workfront appends it to the base URL
    unsigned methods;
    std::string_view allow; // Allow header for 405
    Access access;
    // Whether /serviceInfo lists it in availableEndpoints (null: never; only when enabled).
    bool (*listed)(const Config&);
    Body body;
    std::span<const ParamSpec> params;
    int log_param; // index of the parameter the log line shows as `action`, or -1
    Handler handler;
    bool (*enabled)(const Config&); // null: always served
    std::string_view disabled;      // the 404 message when not enabled (empty: unknown endpoint)
    Errors errors = Errors::status;
};

std::span<const Endpoint> endpoints();

// What the request log line needs to know about how a request was routed.
struct RouteInfo {
    int endpoint = -1;       // index into endpoints(), -1 when unknown
    std::string_view action; // the log parameter's value, when valid
    std::string_view user;   // who called, once authenticated
};

// The endpoint is the last non-empty path segment, so any base URL prefix works and a doubled
// slash is harmless.
std::string_view endpoint_name(std::string_view path);

void route(const Context& ctx, const Request& req, Response& res, RouteInfo& info);

} // namespace wfhookd
