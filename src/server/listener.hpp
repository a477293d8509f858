// The listening socket: inherited from systemd (LISTEN_FDS) or on fd 0 (spawn-fcgi, systemd
// StandardInput=socket), or bound by us from `listen =`. Never FCGX_OpenSocket: it exits the
// process on error and unlinks a socket path that another server may be using.
#pragma once

#include "config/config.hpp"

#include <string>

namespace wfhookd {

struct Listener {
    int fd = -1;
    std::string description;        // for logs: "unix:/run/wfhookd/wfhookd.sock", "systemd socket"
    std::string unlink_path;        // a unix socket path we created, removed at exit
    unsigned long unlink_inode = 0; // ...only if it is still our socket file
};

// Returns false with `error` set when no socket could be had. The socket is non-blocking and
// close-on-exec (workers wait for it with epoll and accept themselves).
bool open_listener(const ServerConfig& server, Listener& out, std::string& error);

void close_listener(Listener& l);

} // namespace wfhookd
