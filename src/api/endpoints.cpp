// Every endpoint wfhookd serves: one line each, the router does the rest. An endpoint's
// parameters are a plain struct of Param members, declared here with the rules the router
// applies to each.
#include "api/handlers.hpp"

#include <cstddef>

namespace wfhookd {

namespace {

constexpr ParamSpec kCustomActionParams[] = {
    {"name", true, 255, offsetof(CustomActionParams, name)},
    {"documentId", true, 255, offsetof(CustomActionParams, document_id)},
    {"documentVersionId", false, 255, offsetof(CustomActionParams, document_version_id)},
};

bool status_enabled(const Config& c) {
    return c.server.status;
}

constexpr unsigned kRead = kGet | kHead;

const Endpoint kEndpoints[] = {
    // name, methods, Allow, access, in availableEndpoints, body, parameters, logged, handler
    {"serviceInfo",
     kRead,
     "GET, HEAD",
     Access::open,
     true,
     Body::none,
     {},
     -1,
     handle_service_info,
     nullptr},
    {"customAction", kGet, "GET", Access::caller, true, Body::none, kCustomActionParams, 0,
     handle_custom_action, nullptr},
    {"status",
     kRead,
     "GET, HEAD",
     Access::loopback,
     false,
     Body::none,
     {},
     -1,
     handle_status,
     status_enabled},
};

} // namespace

std::span<const Endpoint> endpoints() {
    return kEndpoints;
}

} // namespace wfhookd
