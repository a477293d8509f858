// The other web servers wfhookd is documented behind, for end-to-end tests: Apache 2.4
// (mod_proxy_fcgi), lighttpd 1.4 (mod_fastcgi) and Caddy 2 (reverse_proxy's fastcgi transport).
// Each runs the example configuration from examples/web-servers/ (base path /wf/), filled in
// for one wfhookd socket, inside a private server configuration from
// tests/support/web-servers/: no system configuration, a free loopback port, its files in a
// directory of the test's temporary directory. The constructor returns once the server accepts
// connections; the destructor stops it (and everything it started).
#pragma once

#include "http_client.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace wftest {

// Reads template `path` and replaces each placeholder ("@NAME@") by its value. Throws when a
// placeholder given is not in the file or one in the file is not given: a changed template
// must not run half filled in.
std::string fill_template(const std::string& path,
                          const std::vector<std::pair<std::string, std::string>>& values);

// The [server] lines of a wfhookd that Apache must reach: Apache's children never run as
// root, so when the tests do, the socket goes to the group the web servers run as on Debian
// (www-data). Empty otherwise (everything runs as one user).
std::string web_server_socket_group();

class WebServer {
public:
    virtual ~WebServer();
    WebServer(const WebServer&) = delete;
    WebServer& operator=(const WebServer&) = delete;

    const std::string& name() const { return name_; }
    unsigned short http_port() const { return port_; }
    // Its directory (configuration, pid file, logs) and what its error log says.
    const std::string& prefix() const { return prefix_; }
    std::string error_log() const { return read_file(prefix_ + "/error.log"); }
    void stop();

protected:
    WebServer(const TempDir& dir, std::string name); // files in dir/name
    // Writes the configuration for a free port (`configure(port)` returns the command line)
    // and starts the server until it accepts connections; tries other ports when one was
    // taken in the meantime.
    void start(const std::function<std::vector<std::string>(unsigned short port)>& configure,
               const std::vector<std::string>& env = {});

private:
    std::string name_, prefix_;
    unsigned short port_ = 0;
    Process proc_;
};

struct ApacheOptions {
    // The example's `enablereuse=on` (kept FastCGI connections); off for the comparison run.
    bool reuse = true;
};

// /usr/sbin/apache2 in the foreground with examples/web-servers/apache2/wfhookd.conf.in.
class Apache : public WebServer {
public:
    Apache(const TempDir& dir, const std::string& socket, const ApacheOptions& options = {});
};

// /usr/sbin/lighttpd in the foreground with examples/web-servers/lighttpd/50-wfhookd.conf.in.
class Lighttpd : public WebServer {
public:
    Lighttpd(const TempDir& dir, const std::string& socket);
};

// /usr/bin/caddy run with examples/web-servers/caddy/wfhookd.caddy.in.
class Caddy : public WebServer {
public:
    Caddy(const TempDir& dir, const std::string& socket);
};

} // namespace wftest
