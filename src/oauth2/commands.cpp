#include "oauth2/commands.hpp"

#include "config/values.hpp"
#include "oauth2/tokens.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

#include <cstdio>
#include <ctime>

namespace wfhookd {

namespace {

bool open_tokens(const Config& config, TokenStore& tokens) {
    if (!config.oauth2.enabled) {
        std::fprintf(stderr, "wfhookd: no [oauth2] section: nobody connects with OAuth2\n");
        return false;
    }
    std::string error;
    if (!tokens.open(config.oauth2.token_file, error)) {
        std::fprintf(stderr, "wfhookd: %s\n", error.c_str());
        return false;
    }
    return true;
}

std::string date(std::int64_t t) {
    if (t <= 0) return "-";
    char buf[32];
    const std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

} // namespace

int list_grants_command(const Config& config) {
    TokenStore tokens;
    if (!open_tokens(config, tokens)) return 1;
    std::vector<GrantInfo> grants;
    if (!tokens.list_grants(grants)) {
        std::fprintf(stderr, "wfhookd: %s\n", tokens.last_error().c_str());
        return 1;
    }
    std::printf("%-32s %-20s %-20s %-20s %s\n", "USER", "SINCE", "LAST USED", "VALID UNTIL",
                "CLIENT");
    for (const GrantInfo& g : grants)
        std::printf("%-32s %-20s %-20s %-20s %s\n", g.user.c_str(), date(g.created).c_str(),
                    date(g.last_used).c_str(),
                    g.expires > 0 ? date(g.expires).c_str() : "(not yet used)",
                    g.client_id.c_str());
    std::printf("%zu grant%s\n", grants.size(), grants.size() == 1 ? "" : "s");
    return 0;
}

int revoke_command(const Config& config, const std::string& user) {
    TokenStore tokens;
    if (!open_tokens(config, tokens)) return 1;
    const int n = tokens.revoke_user(user);
    if (n < 0) {
        std::fprintf(stderr, "wfhookd: %s\n", tokens.last_error().c_str());
        return 1;
    }
    std::printf("revoked %d grant%s of %s\n", n, n == 1 ? "" : "s", user.c_str());
    return 0;
}

bool prepare_oauth2(const Config& config, std::string& error) {
    if (!config.oauth2.enabled) return true;
    if (!config.store.enabled && !make_dirs(parent_of(config.oauth2.database), error)) {
        error = "[oauth2] database: " + error;
        return false;
    }
    TokenStore tokens;
    if (!tokens.open(config.oauth2.token_file, error)) {
        error = "[oauth2]: " + error;
        return false;
    }
    return true;
}

void oauth2_housekeeping(const OAuth2Config& config) {
    if (!config.enabled) return;
    // Opened and closed each time: the master forks workers, and an SQLite connection must
    // not cross a fork.
    TokenStore tokens;
    std::string error;
    if (!tokens.open(config.token_file, error) || !tokens.purge())
        log(Level::warning, "oauth2: removing expired tokens failed: {}",
            error.empty() ? tokens.last_error() : error);
}

} // namespace wfhookd
