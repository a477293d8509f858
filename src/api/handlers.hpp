// Endpoint handlers and their parameter structs. Each handler sees a request that already
// passed the router's checks.
#pragma once

#include "api/router.hpp"

namespace wfhookd {

struct CustomActionParams {
    Param name;
    Param document_id;
    Param document_version_id;
};

void handle_service_info(const Context&, const Call&, Response&);
void handle_custom_action(const Context&, const Call&, Response&);
void handle_status(const Context&, const Call&, Response&);

// Builds the /serviceInfo body (done once per worker, kept in Context::service_info).
std::string build_service_info(const Config& config);

} // namespace wfhookd
