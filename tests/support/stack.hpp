// The system under test, for end-to-end tests: the built wfhookd binary with a generated
// config, behind a private nginx generated from nginx/dev.conf.in, on loopback ephemeral
// ports. Everything is started in a temporary directory and stopped in the destructor.
#pragma once

#include "http_client.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

#include <csignal>

#include <string>
#include <vector>

namespace wftest {

// Where the sources are (nginx snippets, fixtures) and which binary to test.
std::string source_dir();
std::string wfhookd_binary();
std::string fixture(const std::string& name); // tests/e2e/fixtures/NAME

struct WfhookdOptions {
    std::string server;  // lines added to [server] (after listen)
    std::string auth;    // lines added to [auth]
    std::string actions; // [action:...] sections
    bool listen = true;  // write listen = unix:<dir>/wfhookd.sock
    // A document store: <dir>/store as its root, its index, thumbnail cache, audit file and a
    // link secret in <dir>; `store_config` adds lines to [store].
    bool store = false;
    std::string store_config;
    // [oauth2]: when not empty, these lines (client_id, redirect_uri, the ttls...) plus a
    // client secret in <dir>/<name>.client-secret (client_secret()) and, without a store, a
    // token database <dir>/<name>.oauth2.sqlite.
    std::string oauth2;
    // [auth] api_key_file; false leaves it out (an [oauth2]-only setup): [auth] is then
    // written only when `auth` has lines.
    bool api_keys = true;
};

// One wfhookd master (with its workers), run from `dir`.
class Wfhookd {
public:
    Wfhookd(const TempDir& dir, const WfhookdOptions& options, const std::string& name = "wfhookd");
    ~Wfhookd();

    std::string config_text() const;
    void write_config(const WfhookdOptions& options);           // for reload tests
    void start(const std::vector<std::string>& extra_env = {}); // waits for "ready:"
    bool start_and_wait_ready(const std::vector<std::string>& extra_env = {});
    int stop(int sig = SIGTERM); // returns the wait status
    Process& process() { return proc_; }
    pid_t pid() const { return proc_.pid(); }
    std::vector<pid_t> workers() const { return children_of(proc_.pid()); }

    const std::string& socket_path() const { return socket_; }
    // The store's root (<dir>/store) and its link secret, when options.store.
    std::string store_root() const;
    std::string link_secret() const;
    std::string audit_file() const; // [store] audit_file
    const std::string& config_path() const { return config_; }
    const std::string& api_key() const { return api_key_; }
    std::string client_secret() const; // [oauth2] client_secret_file's content
    std::string log() const { return read_file(log_path_); }
    // Waits until `needle` occurs in the log at least `count` times.
    bool wait_log(const std::string& needle, int count = 1,
                  std::chrono::milliseconds timeout = std::chrono::seconds(15)) const;
    int log_count(const std::string& needle) const;

private:
    const TempDir& dir_;
    std::string name_, socket_, config_, log_path_, api_key_, key_file_;
    WfhookdOptions options_;
    Process proc_;
};

struct NginxOptions {
    // FastCGI connections kept open (fastcgi_keep_conn on, an upstream keepalive pool)
    // instead of the shipped snippets' one connection per request.
    bool keep_conn = false;
    // What the server block holds instead of the shipped
    // `include snippets/wfhookd-locations.conf;` (an operator's own configuration).
    std::string locations;
    // Lines added to the upstream block (`keepalive 32;`).
    std::string upstream_extra;
    // The store the internal /wfhookd-store/ location serves (default: the stack's store).
    std::string store_root;
    // The basic-auth password file in front of /oauth2/authorize (default: DIR/htpasswd).
    std::string htpasswd;
    // limit_req on /oauth2/token: generous by default, so that only the test of the limit
    // meets it.
    std::string token_rate = "1000r/s";
};

// A private nginx in front of one or more upstream servers ("unix:/path", "127.0.0.2:9000").
class Nginx {
public:
    Nginx(const TempDir& dir, const std::vector<std::string>& upstreams,
          const NginxOptions& options = {});
    ~Nginx();
    unsigned short http_port() const { return http_port_; }
    unsigned short https_port() const { return https_port_; }
    std::string error_log() const { return read_file(prefix_ + "/error.log"); }
    void stop();

private:
    std::string prefix_;
    unsigned short http_port_ = 0, https_port_ = 0;
    Process proc_;
};

// The common case: one wfhookd behind one nginx.
class Stack {
public:
    explicit Stack(const WfhookdOptions& options = {}, const NginxOptions& nginx_options = {});
    TempDir dir;
    Wfhookd wfhookd;
    Nginx nginx;

    // GET (or another method) through nginx over HTTP.
    HttpResponse request(const std::string& method, const std::string& target,
                         const Headers& headers = {}, const std::string& body = {});
    HttpResponse get(const std::string& target, const Headers& headers = {}) {
        return request("GET", target, headers);
    }
    // The headers of an authenticated call: apiKey and username.
    Headers auth(const std::string& username = "alice@example.com") const {
        return {{"apiKey", wfhookd.api_key()}, {"username", username}};
    }
};

// A config section for an exec action running fixture `script` with `args`.
std::string exec_action(const std::string& name, const std::string& script,
                        const std::string& args = "", int timeout = 10,
                        const std::string& extra = "");

// Percent-encodes everything but unreserved characters.
std::string url_encode(const std::string& s);

// Whether the daemon runs under the sanitizers (make test SANITIZE=...): its memory then
// carries shadow memory and a quarantine, and a bound meant for the real daemon is scaled.
bool sanitized();
// `kib` for the real daemon; four times as much under the sanitizers (still far below what
// holding a gigabyte would take).
long memory_bound_kib(long kib);

} // namespace wftest
