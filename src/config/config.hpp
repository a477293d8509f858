// The configuration file, parsed once into an immutable struct and validated before any fork.
// `wfhookd -t` runs exactly this code; so does a reload (SIGHUP).
#pragma once

#include "actions/action.hpp"
#include "server/address.hpp"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wfhookd {

struct ServerConfig {
    ListenAddress listen; // kind inherited when `listen` is absent
    unsigned socket_mode = 0660;
    std::string socket_group; // empty: leave the group alone
    int backlog = 511;
    unsigned workers = 4;
    unsigned shutdown_timeout = 30; // seconds a stop waits for requests in flight
    unsigned request_timeout = 60;  // seconds; 0 = no deadline
    unsigned io_timeout = 10;       // seconds for a whole request to arrive, and per stalled read
    std::uint64_t max_requests = 0; // per worker; 0 = never recycle
    std::uint64_t max_requests_jitter = 0;
    std::size_t max_query_size = 8192;
    std::size_t max_body_size = 65536;
    std::size_t max_params_size = 65536;    // FastCGI parameter bytes; default from max_query_size
    unsigned keep_conn_max = 4;             // kept FastCGI connections per worker; 0 = never keep
    unsigned keep_conn_idle = 5;            // seconds an idle kept connection stays open
    bool status = false;                    // serve GET /status
    std::vector<AddressPrefix> allow_from;  // empty: any peer
    std::vector<AddressPrefix> status_from; // besides loopback, who may read /status
};

struct ServiceConfig {
    std::string publisher = "wfhookd";
    std::string version; // default: wfhookd's own version
};

struct AuthConfig {
    std::string api_key_file;
    std::vector<std::string> keys;  // never logged
    std::vector<std::string> users; // empty: any username
    // Why no API key is accepted (the key file is empty, missing or unreadable): such a
    // configuration still loads, so that emptying the file and reloading revokes a key at
    // once, and every API-key request is refused until the file has a key again.
    std::string keys_refused;
};

// [store]: the document store (absent: wfhookd serves custom actions only).
struct StoreConfig {
    bool enabled = false;
    std::string root;                                    // the folder served as "/"
    std::string index = "/var/lib/wfhookd/index.sqlite"; // SQLite file
    std::string title;                                   // empty: the root folder's name
    bool read_only = false;
    unsigned max_page = 1000; // most items one /files or /search page returns
    std::string link_secret_file;
    std::string link_secret; // never logged
    unsigned link_ttl = 3600;
    std::string public_url;                         // empty: from the request
    std::string accel_redirect = "/wfhookd-store/"; // empty: no X-Accel-Redirect
    std::string sendfile_header;                    // X-Sendfile, X-LIGHTTPD-send-file
    std::string thumbnail_cache = "/var/cache/wfhookd/thumbnails";
    std::uint64_t thumbnail_cache_size = 256ull << 20;
    // The write side.
    std::uint64_t max_upload_size = 1ull << 30;
    unsigned trash_days = 30;
    std::string audit_file = "/var/lib/wfhookd/store-audit.jsonl";
};

// [oauth2]: Workfront's OAuth2 authentication type (absent: API keys only).
struct OAuth2Config {
    bool enabled = false;
    std::string client_id;
    std::string client_secret_file;
    std::string client_secret;             // never logged
    std::string redirect_uri;              // Workfront's; the only place wfhookd ever redirects to
    std::uint64_t access_token_ttl = 3600; // seconds
    std::uint64_t refresh_token_ttl = 90ull * 86400;
    std::uint64_t code_ttl = 300;
    std::string user_header = "REMOTE_USER"; // the FastCGI parameter naming the logged-in user
    std::string database = "/var/lib/wfhookd/oauth2.sqlite"; // without a store
    // Where grants and tokens are kept: the store's index when there is a store, else
    // `database`.
    std::string token_file;
};

struct Config {
    std::string path;
    ServerConfig server;
    ServiceConfig service;
    AuthConfig auth;
    StoreConfig store;
    OAuth2Config oauth2;
    std::vector<ActionConfig> actions; // in file order

    const ActionConfig* find_action(std::string_view name) const;
    // The FastCGI parameter that names the user the web server authenticated.
    std::string oauth2_user_param() const { return oauth2.user_header; }
};

struct ConfigResult {
    std::shared_ptr<const Config> config; // null when errors is not empty
    std::vector<std::string> errors;      // "FILE: [section] key: problem", one per problem
    std::vector<std::string> warnings;
};

ConfigResult load_config(const std::string& path);

// Every key of the fixed sections with its default as written in docs/configuration.md; the
// docs test checks that the docs and the sample config mention each one.
struct KeyInfo {
    std::string_view section;
    std::string_view key;
    std::string_view default_text;
};
std::span<const KeyInfo> config_keys();

// Limits checked by the loader.
inline constexpr unsigned kMaxWorkers = 256;
inline constexpr std::size_t kMaxActions = 128;
inline constexpr std::size_t kMaxNameLength = 64;

} // namespace wfhookd
