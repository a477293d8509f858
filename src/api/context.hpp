// Everything a worker needs to answer requests, built once per worker from the config.
#pragma once

#include "config/config.hpp"
#include "server/scoreboard.hpp"

#include <memory>
#include <string>
#include <vector>

namespace wfhookd {

struct StoreContext;
struct OAuth2Context;

struct Context {
    explicit Context(std::shared_ptr<const Config> cfg, Scoreboard* sb = nullptr, int slot = -1,
                     std::vector<int> shared_action_index = {});
    ~Context();

    // Opens the document store and the OAuth2 token database when the config has them (their
    // SQLite connections are this process's own: call it after the fork). false with `error`.
    bool open_store(std::string& error);

    std::shared_ptr<const Config> config;
    Scoreboard* scoreboard;           // null in unit tests and fuzzers
    int slot;                         // this worker's scoreboard slot, -1 without a scoreboard
    std::vector<int> action_index;    // Config::actions[i] -> scoreboard action counters (-1: none)
    std::string service_info;         // the /serviceInfo body: it only changes with the config
    mutable std::string scratch;      // query decoding buffer, reused by every request
    mutable std::string body;         // a form body read in full
    mutable std::string body_scratch; // its decoding buffer
    std::unique_ptr<StoreContext> store;   // null without [store] (or before open_store)
    std::unique_ptr<OAuth2Context> oauth2; // null without [oauth2] (or before open_store)
    mutable std::string token_user;        // the user of this request's bearer token
};

} // namespace wfhookd
