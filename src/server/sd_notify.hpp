// The systemd notification protocol (sd_notify(3)) in a few lines, to avoid a dependency on
// libsystemd: one datagram to $NOTIFY_SOCKET. A no-op when not started by systemd.
#pragma once

#include <string_view>

namespace wfhookd {

void sd_notify_state(std::string_view state);

} // namespace wfhookd
