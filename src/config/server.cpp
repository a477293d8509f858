// [server]: the socket, the workers, the limits.
#include "config/loader.hpp"

#include <grp.h>

namespace wfhookd {

namespace {

bool is_wildcard(const ListenAddress& a) {
    return a.kind == ListenAddress::Kind::tcp &&
           (a.host == "0.0.0.0" || a.host == "::" || a.host.empty() || a.host == "*");
}

} // namespace

void Loader::server(const pt::ptree& node) {
    ServerConfig& s = c_.server;
    bool jitter_set = false;
    keys("server", node, [&](const std::string& key, const std::string& v) {
        std::string err;
        std::uint64_t size = 0;
        if (key == "listen") {
            if (v.empty()) return; // same as absent: inherited socket
            if (!parse_listen_address(v, s.listen, err)) key_error("server", key, err);
        } else if (key == "socket_mode") {
            unsigned mode = 0;
            if (!parse_number(v, mode, 8) || mode > 0777)
                key_error("server", key,
                          fmt::format("\"{}\" is not an octal mode such as 0660", v));
            else
                s.socket_mode = mode;
        } else if (key == "socket_group") {
            if (!v.empty() && getgrnam(v.c_str()) == nullptr)
                key_error("server", key, fmt::format("no such group \"{}\"", v));
            s.socket_group = v;
        } else if (key == "backlog") {
            uint_key("server", key, v, s.backlog, 1, 65535);
        } else if (key == "workers") {
            uint_key("server", key, v, s.workers, 1u, kMaxWorkers);
        } else if (key == "shutdown_timeout") {
            uint_key("server", key, v, s.shutdown_timeout, 1u, 3600u);
        } else if (key == "request_timeout") {
            uint_key("server", key, v, s.request_timeout, 0u, 86400u);
        } else if (key == "io_timeout") {
            uint_key("server", key, v, s.io_timeout, 1u, 3600u);
        } else if (key == "max_requests") {
            uint_key<std::uint64_t>("server", key, v, s.max_requests, 0, 1'000'000'000'000);
        } else if (key == "max_requests_jitter") {
            jitter_set = true;
            uint_key<std::uint64_t>("server", key, v, s.max_requests_jitter, 0, 1'000'000'000'000);
        } else if (key == "max_query_size") {
            // The query string travels in the FastCGI parameters, which max_params_size bounds.
            if (size_key("server", key, v, size, 1024, 1000 * 1024)) s.max_query_size = size;
        } else if (key == "max_body_size") {
            if (size_key("server", key, v, size, 1024, std::uint64_t(1) << 30))
                s.max_body_size = size;
        } else if (key == "max_params_size") {
            max_params_set_ = true;
            if (size_key("server", key, v, size, 4096, 1024 * 1024)) s.max_params_size = size;
        } else if (key == "keep_conn_max") {
            uint_key("server", key, v, s.keep_conn_max, 0u, 64u);
        } else if (key == "keep_conn_idle") {
            uint_key("server", key, v, s.keep_conn_idle, 1u, 3600u);
        } else if (key == "status") {
            if (!parse_bool(v, s.status))
                key_error("server", key, fmt::format("\"{}\" is not yes or no", v));
        } else if (key == "allow_from") {
            prefixes_key("server", key, v, s.allow_from);
        } else if (key == "status_from") {
            prefixes_key("server", key, v, s.status_from);
        }
    });
    if (!jitter_set) s.max_requests_jitter = s.max_requests / 10;
    if (s.max_requests > 0 && s.max_requests_jitter >= s.max_requests)
        key_error("server", "max_requests_jitter",
                  fmt::format("must be less than max_requests ({})", s.max_requests));
    if (!s.allow_from.empty() && s.listen.kind == ListenAddress::Kind::unix_path)
        key_warning("server", "allow_from",
                    "ignored for unix sockets (file permissions guard those)");
    if (s.allow_from.empty() && is_wildcard(s.listen))
        key_warning("server", "listen",
                    fmt::format("{} accepts FastCGI connections from every network the host is "
                                "on, and FastCGI has no authentication of its own: set allow_from "
                                "to the web server's address, or listen on 127.0.0.1 or a unix "
                                "socket",
                                s.listen.to_string()));
}

} // namespace wfhookd
