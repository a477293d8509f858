// The operator's commands for OAuth2: who has connected Workfront, and cutting a user off.
#pragma once

#include "config/config.hpp"

#include <string>

namespace wfhookd {

// wfhookd --list-grants: one line per live grant (user, since, last used, valid until).
int list_grants_command(const Config& config);
// wfhookd --revoke USER: every grant of USER revoked at once; every worker refuses the user's
// tokens from the next request on.
int revoke_command(const Config& config, const std::string& user);

// At start: the token database's folder and tables (without a store; the store's index
// holds them otherwise). false with `error` set.
bool prepare_oauth2(const Config& config, std::string& error);

// The master's periodic sweep of expired codes and tokens.
void oauth2_housekeeping(const OAuth2Config& config);

} // namespace wfhookd
