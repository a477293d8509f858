// wfhookd: a Workfront Document Webhooks provider (custom actions) as a pre-forked FastCGI
// daemon behind nginx.
#include "config/config.hpp"
#include "oauth2/commands.hpp"
#include "server/listener.hpp"
#include "server/master.hpp"
#include "server/scoreboard.hpp"
#include "store/maintenance.hpp"
#include "util/log.hpp"

#include <cstdio>
#include <cstring>
#include <getopt.h>
#include <string>
#include <unistd.h>

#ifndef WFHOOKD_VERSION
#define WFHOOKD_VERSION "0.0.0"
#endif

namespace {

constexpr const char* kDefaultConfig = "/etc/wfhookd/wfhookd.conf";

void usage(FILE* out) {
    std::fprintf(out,
                 "usage: wfhookd [-c FILE] [-t | --reindex | --list-grants | --revoke USER]\n"
                 "  -c FILE    configuration file (default %s)\n"
                 "  -t         check the configuration and exit: 0 if valid, 1 with one line\n"
                 "             per problem if not\n"
                 "  --reindex  bring the document store's index up to date with its folders\n"
                 "             (ids are kept) and exit\n"
                 "  --list-grants  list who has connected Workfront with OAuth2, and exit\n"
                 "  --revoke USER  revoke every OAuth2 grant of USER at once, and exit\n"
                 "  -V         print the version and exit\n"
                 "  -h         this help\n"
                 "Runs in the foreground; SIGHUP reloads the configuration, SIGTERM or SIGINT\n"
                 "stop after the requests in flight. See wfhookd(8).\n",
                 kDefaultConfig);
}

} // namespace

int main(int argc, char** argv) {
    using namespace wfhookd;
    std::string config_path = kDefaultConfig;
    bool test_only = false;
    bool reindex = false;
    bool list_grants = false;
    std::string revoke_user;
    bool revoke = false;
    const option long_options[] = {
        {"reindex", no_argument, nullptr, 'R'},      {"list-grants", no_argument, nullptr, 'L'},
        {"revoke", required_argument, nullptr, 'X'}, {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, 'V'},      {nullptr, 0, nullptr, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "c:thV", long_options, nullptr)) != -1) {
        switch (opt) {
        case 'R':
            reindex = true;
            break;
        case 'L':
            list_grants = true;
            break;
        case 'X':
            revoke = true;
            revoke_user = optarg;
            break;
        case 'c':
            config_path = optarg;
            break;
        case 't':
            test_only = true;
            break;
        case 'V':
            std::printf("wfhookd %s\n", WFHOOKD_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || int(test_only) + int(reindex) + int(list_grants) + int(revoke) > 1) {
        usage(stderr);
        return 2;
    }

    // Serving: handlers first, so that a signal that arrives while we start cannot kill us
    // half-way. Checking (-t) keeps the default dispositions: Ctrl-C or SIGTERM end it.
    const bool command = reindex || list_grants || revoke;
    if (!test_only && !command) Master::install_signal_handlers();

    const ConfigResult loaded = load_config(config_path);
    for (const std::string& w : loaded.warnings)
        std::fprintf(stderr, "warning: %s\n", w.c_str());
    for (const std::string& e : loaded.errors)
        std::fprintf(stderr, "%s\n", e.c_str());
    if (!loaded.errors.empty()) {
        std::fprintf(stderr, "wfhookd: %zu problem%s in %s\n", loaded.errors.size(),
                     loaded.errors.size() == 1 ? "" : "s", config_path.c_str());
        return 1;
    }
    if (test_only) {
        std::fprintf(stderr, "wfhookd: %s is valid (%zu action%s)\n", config_path.c_str(),
                     loaded.config->actions.size(), loaded.config->actions.size() == 1 ? "" : "s");
        return 0;
    }

    log_init();
    if (reindex) return reindex_command(loaded.config->store);
    if (list_grants) return list_grants_command(*loaded.config);
    if (revoke) return revoke_command(*loaded.config, revoke_user);
    std::string error;
    if (!prepare_store(loaded.config->store, true, error) ||
        !prepare_oauth2(*loaded.config, error)) {
        log(Level::error, "{}", error);
        return 1;
    }
    Listener listener;
    if (!open_listener(loaded.config->server, listener, error)) {
        log(Level::error, "{}", error);
        return 1;
    }
    Scoreboard* scoreboard = Scoreboard::create();
    Master master(config_path, loaded.config, std::move(listener), scoreboard);
    return master.run();
}
