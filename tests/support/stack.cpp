#include "stack.hpp"

#include "fcgi_client.hpp"

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <random>
#include <regex>
#include <stdexcept>
#include <unistd.h>

namespace wftest {

namespace {

std::string random_key() {
    std::random_device rd;
    std::string key;
    static constexpr char hex[] = "0123456789abcdef";
    for (int i = 0; i < 40; ++i)
        key.push_back(hex[rd() % 16]);
    return key;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (std::size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
        s.replace(p, from.size(), to);
    return s;
}

// One self-signed certificate per test process.
const TempDir& cert_dir() {
    static TempDir dir;
    static bool made = false;
    if (!made) {
        const std::string cmd =
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
            "-nodes -days 2 -subj /CN=localhost -keyout " +
            dir.file("key.pem") + " -out " + dir.file("cert.pem") + " >/dev/null 2>&1";
        if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl failed");
        made = true;
    }
    return dir;
}

} // namespace

std::string source_dir() {
    const char* d = std::getenv("WFHOOKD_SOURCE_DIR");
    return d != nullptr ? d : ".";
}

std::string wfhookd_binary() {
    const char* b = std::getenv("WFHOOKD_BIN");
    return b != nullptr ? b : source_dir() + "/build/wfhookd";
}

std::string fixture(const std::string& name) {
    return source_dir() + "/tests/e2e/fixtures/" + name;
}

Wfhookd::Wfhookd(const TempDir& dir, const WfhookdOptions& options, const std::string& name)
    : dir_(dir), name_(name), socket_(dir.file(name + ".sock")), config_(dir.file(name + ".conf")),
      log_path_(dir.file(name + ".log")), api_key_(random_key()),
      key_file_(dir.file(name + ".api-keys")), options_(options) {
    dir.write(name + ".api-keys", "# test key\n" + api_key_ + "\n", 0600);
    if (options.store) {
        dir.write("store/.keep", "", 0600); // hidden: never listed
        dir.write(name + ".link-secret", random_key() + random_key() + "\n", 0640);
    }
    write_config(options);
}

Wfhookd::~Wfhookd() {
    stop();
}

std::string Wfhookd::config_text() const {
    std::string c = "[server]\n";
    if (options_.listen) c += "listen = unix:" + socket_ + "\n";
    c += options_.server;
    c += "\n[service]\npublisher = Test Corp\n";
    if (options_.api_keys || !options_.auth.empty()) c += "\n[auth]\n";
    if (options_.api_keys) c += "api_key_file = " + key_file_ + "\n";
    c += options_.auth;
    if (!options_.oauth2.empty())
        c += "\n[oauth2]\nclient_secret_file = " + dir_.file(name_ + ".client-secret") +
             (options_.store ? "" : "\ndatabase = " + dir_.file(name_ + ".oauth2.sqlite")) + "\n" +
             options_.oauth2 + "\n";
    if (options_.store) {
        c += "\n[store]\nroot = " + store_root() +
             "\nindex = " + dir_.file(name_ + ".index.sqlite") +
             "\nlink_secret_file = " + dir_.file(name_ + ".link-secret") +
             "\nthumbnail_cache = " + dir_.file(name_ + ".thumbnails") +
             "\naudit_file = " + audit_file() + "\n" + options_.store_config + "\n";
    }
    c += "\n" + options_.actions;
    return c;
}

void Wfhookd::write_config(const WfhookdOptions& options) {
    options_ = options;
    if (!options.oauth2.empty() && !file_exists(dir_.file(name_ + ".client-secret")))
        dir_.write(name_ + ".client-secret", random_key() + random_key() + "\n", 0640);
    // Write-then-rename, as an editor or config tool would: a reload never sees half a file.
    dir_.write(name_ + ".conf.new", config_text());
    std::rename(dir_.file(name_ + ".conf.new").c_str(), config_.c_str());
}

bool Wfhookd::start_and_wait_ready(const std::vector<std::string>& extra_env) {
    const int before = log_count("ready:");
    proc_ = Process({wfhookd_binary(), "-c", config_}, log_path_, extra_env);
    return wait_until([&] { return log_count("ready:") > before || !proc_.running(); }, 15s) &&
           proc_.running();
}

void Wfhookd::start(const std::vector<std::string>& extra_env) {
    if (!start_and_wait_ready(extra_env))
        throw std::runtime_error("wfhookd did not become ready; its log:\n" + log());
}

std::string Wfhookd::audit_file() const {
    return dir_.file(name_ + ".store-audit.jsonl");
}

std::string Wfhookd::store_root() const {
    return dir_.file("store");
}

std::string Wfhookd::client_secret() const {
    std::string s = read_file(dir_.file(name_ + ".client-secret"));
    while (!s.empty() && s.back() == '\n')
        s.pop_back();
    return s;
}

std::string Wfhookd::link_secret() const {
    std::string s = read_file(dir_.file(name_ + ".link-secret"));
    while (!s.empty() && s.back() == '\n')
        s.pop_back();
    return s;
}

int Wfhookd::stop(int sig) {
    return proc_.pid() > 0 ? proc_.stop(sig) : -1;
}

int Wfhookd::log_count(const std::string& needle) const {
    const std::string text = log();
    int n = 0;
    for (std::size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1))
        ++n;
    return n;
}

bool Wfhookd::wait_log(const std::string& needle, int count,
                       std::chrono::milliseconds timeout) const {
    // Logs grow to megabytes under load; re-reading one every 2 ms would starve the daemon.
    return wait_until([&] { return log_count(needle) >= count; }, timeout, 20ms);
}

Nginx::Nginx(const TempDir& dir, const std::vector<std::string>& upstreams,
             const NginxOptions& options) {
    prefix_ = dir.file("nginx");
    const std::string conf_dir = prefix_ + "/conf";
    std::string servers;
    for (const std::string& u : upstreams)
        servers += (servers.empty() ? "" : ";\n        server ") + u;
    // An idle kept connection is closed by nginx, before wfhookd's keep_conn_idle (5 s) runs
    // out, rather than by wfhookd under a request nginx is sending.
    if (options.keep_conn) servers += ";\n        keepalive 32;\n        keepalive_timeout 4s";
    const std::string templ = read_file(source_dir() + "/nginx/dev.conf.in");
    if (templ.empty()) throw std::runtime_error("cannot read nginx/dev.conf.in");
    for (const char* snippet : {"wfhookd-fastcgi.conf", "wfhookd-locations.conf",
                                "wfhookd-errors.conf", "wfhookd-oauth2.conf"}) {
        std::string text = read_file(source_dir() + "/nginx/" + snippet);
        if (options.keep_conn && std::string(snippet) == "wfhookd-fastcgi.conf") {
            const std::string off = "fastcgi_keep_conn off;";
            const std::size_t p = text.find(off);
            if (p == std::string::npos)
                throw std::runtime_error("nginx/wfhookd-fastcgi.conf no longer has " + off);
            text.replace(p, off.size(), "fastcgi_keep_conn on;");
        }
        dir.write(std::string("nginx/conf/snippets/") + snippet, text);
    }
    for (const char* t : {"client_body", "fastcgi", "proxy", "uwsgi", "scgi"})
        dir.write(std::string("nginx/tmp/") + t + "/.keep", "");
    // Several attempts: a port found free may be taken before nginx binds it.
    for (int attempt = 0; attempt < 5; ++attempt) {
        http_port_ = free_port();
        https_port_ = free_port();
        std::string conf = templ;
        conf = replace_all(conf, "@USER@", geteuid() == 0 ? "user root root;" : "");
        conf = replace_all(conf, "@PREFIX@", prefix_);
        conf = replace_all(conf, "@ACCESS_LOG@", prefix_ + "/access.log");
        conf = replace_all(
            conf, "@UPSTREAM@",
            servers +
                (options.upstream_extra.empty()
                     ? ""
                     : ";\n        " + options.upstream_extra.substr(
                                           0, options.upstream_extra.find_last_not_of(";\n") + 1)));
        if (!options.locations.empty())
            conf = replace_all(conf, "include snippets/wfhookd-locations.conf;", options.locations);
        conf = replace_all(conf, "@STORE_ROOT@",
                           options.store_root.empty() ? dir.file("store") : options.store_root);
        conf = replace_all(conf, "@HTPASSWD@",
                           options.htpasswd.empty() ? dir.file("htpasswd") : options.htpasswd);
        conf = replace_all(conf, "@TOKEN_RATE@", options.token_rate);
        conf = replace_all(conf, "@HTTP_PORT@", std::to_string(http_port_));
        conf = replace_all(conf, "@HTTPS_PORT@", std::to_string(https_port_));
        conf = replace_all(conf, "@CERT@", cert_dir().file("cert.pem"));
        conf = replace_all(conf, "@KEY@", cert_dir().file("key.pem"));
        dir.write("nginx/conf/nginx.conf", conf);
        proc_ = Process({"/usr/sbin/nginx", "-p", prefix_, "-c", conf_dir + "/nginx.conf", "-e",
                         prefix_ + "/error.log"},
                        prefix_ + "/stdout.log");
        const bool up = wait_until(
            [&] {
                const int fd = connect_tcp("127.0.0.1", http_port_);
                if (fd >= 0) close(fd);
                return fd >= 0 || !proc_.running();
            },
            10s);
        if (up && proc_.running()) return;
        proc_.stop(SIGKILL);
    }
    throw std::runtime_error("nginx did not start:\n" + read_file(prefix_ + "/error.log"));
}

Nginx::~Nginx() {
    stop();
}

void Nginx::stop() {
    if (proc_.pid() > 0) proc_.stop(SIGTERM);
}

Stack::Stack(const WfhookdOptions& options, const NginxOptions& nginx_options)
    : dir(), wfhookd(dir, options), nginx(dir, {"unix:" + wfhookd.socket_path()}, nginx_options) {
    wfhookd.start();
}

HttpResponse Stack::request(const std::string& method, const std::string& target,
                            const Headers& headers, const std::string& body) {
    return http_request("127.0.0.1", nginx.http_port(), method, target, headers, body);
}

std::string exec_action(const std::string& name, const std::string& script, const std::string& args,
                        int timeout, const std::string& extra) {
    return "[action:" + name + "]\ntype = exec\ncommand = " + fixture(script) +
           (args.empty() ? "" : " " + args) + "\ntimeout = " + std::to_string(timeout) + "\n" +
           extra + "\n";
}

std::string url_encode(const std::string& s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

bool sanitized() {
    const char* asan = std::getenv("ASAN_OPTIONS");
    return asan != nullptr && std::string_view(asan).find("log_path") != std::string_view::npos;
}

long memory_bound_kib(long kib) {
    return sanitized() ? 4 * kib : kib;
}

} // namespace wftest
