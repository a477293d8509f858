#include "server/sd_notify.hpp"

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace wfhookd {

void sd_notify_state(std::string_view state) {
    const char* path = std::getenv("NOTIFY_SOCKET");
    if (path == nullptr || (path[0] != '/' && path[0] != '@')) return;
    const std::size_t len = std::strlen(path);
    sockaddr_un sa{};
    if (len >= sizeof sa.sun_path) return;
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path, len);
    if (sa.sun_path[0] == '@') sa.sun_path[0] = '\0'; // abstract namespace
    const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    const auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
    // Best effort: systemd treats a missing READY=1 as a start timeout, which says enough.
    [[maybe_unused]] const ssize_t n = sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                                              reinterpret_cast<sockaddr*>(&sa), addr_len);
    close(fd);
}

} // namespace wfhookd
