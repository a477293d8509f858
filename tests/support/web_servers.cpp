#include "web_servers.hpp"

#include "fcgi_client.hpp"
#include "stack.hpp"

#include <csignal>
#include <filesystem>
#include <grp.h>
#include <regex>
#include <stdexcept>
#include <unistd.h>

namespace wftest {

namespace {

std::string example(const std::string& name) {
    return source_dir() + "/examples/web-servers/" + name;
}

std::string wrapper(const std::string& name) {
    return source_dir() + "/tests/support/web-servers/" + name;
}

// `conf` without the enablereuse=on of its ProxyPass directive (not of a comment).
std::string without_reuse(const std::string& conf, const std::string& where) {
    const std::regex directive(R"((\n[ \t]*ProxyPass [^\n]*) enablereuse=on)");
    if (!std::regex_search(conf, directive))
        throw std::runtime_error(where + ": no ProxyPass with enablereuse=on");
    return std::regex_replace(conf, directive, "$1");
}

} // namespace

std::string fill_template(const std::string& path,
                          const std::vector<std::pair<std::string, std::string>>& values) {
    std::string text = read_file(path);
    if (text.empty()) throw std::runtime_error("cannot read " + path);
    for (const auto& [name, value] : values) {
        if (text.find(name) == std::string::npos)
            throw std::runtime_error(path + " has no placeholder " + name);
        for (std::size_t p = text.find(name); p != std::string::npos;
             p = text.find(name, p + value.size()))
            text.replace(p, name.size(), value);
    }
    std::smatch left;
    if (std::regex_search(text, left, std::regex("@[A-Z_]+@")))
        throw std::runtime_error(path + ": placeholder " + left.str() + " is not filled in");
    return text;
}

std::string web_server_socket_group() {
    return geteuid() == 0 && getgrnam("www-data") != nullptr ? "socket_group = www-data\n" : "";
}

WebServer::WebServer(const TempDir& dir, std::string name)
    : name_(std::move(name)), prefix_(dir.file(name_)) {
    std::filesystem::create_directories(prefix_);
}

WebServer::~WebServer() {
    stop();
}

void WebServer::stop() {
    if (proc_.pid() > 0) proc_.stop(SIGTERM);
}

void WebServer::start(const std::function<std::vector<std::string>(unsigned short)>& configure,
                      const std::vector<std::string>& env) {
    // Several attempts: a port found free may be taken before the server binds it.
    for (int attempt = 0; attempt < 5; ++attempt) {
        port_ = free_port();
        proc_ = Process(configure(port_), prefix_ + "/stdout.log", env);
        const bool up = wait_until(
            [&] {
                const int fd = connect_tcp("127.0.0.1", port_);
                if (fd >= 0) close(fd);
                return fd >= 0 || !proc_.running();
            },
            10s);
        if (up && proc_.running()) return;
        proc_.stop(SIGKILL);
    }
    throw std::runtime_error(name_ + " did not start:\n" + read_file(prefix_ + "/stdout.log") +
                             error_log());
}

Apache::Apache(const TempDir& dir, const std::string& socket, const ApacheOptions& options)
    : WebServer(dir, "apache2") {
    const std::string site = example("apache2/wfhookd.conf.in");
    std::string conf = fill_template(site, {{"@SOCKET@", socket}});
    if (!options.reuse) conf = without_reuse(conf, site);
    dir.write("apache2/wfhookd.conf", conf);
    // Apache's children never run as root: as root, they become www-data, which the socket
    // lets in (web_server_socket_group) and which can traverse the test's directory (0755).
    const std::string user = geteuid() == 0 ? "User www-data\nGroup www-data" : "";
    start([&](unsigned short port) {
        dir.write("apache2/apache2.conf", fill_template(wrapper("apache2.conf.in"),
                                                        {{"@PREFIX@", prefix()},
                                                         {"@USER@", user},
                                                         {"@HTTP_PORT@", std::to_string(port)}}));
        return std::vector<std::string>{
            "/usr/sbin/apache2", "-f", prefix() + "/apache2.conf", "-d", prefix(), "-DFOREGROUND"};
    });
}

Lighttpd::Lighttpd(const TempDir& dir, const std::string& socket) : WebServer(dir, "lighttpd") {
    dir.write("lighttpd/wfhookd.conf",
              fill_template(example("lighttpd/50-wfhookd.conf.in"),
                            {{"@SOCKET@", socket}, {"@ERRORS@", example("lighttpd/errors")}}));
    dir.write("lighttpd/www/.keep", "");
    start([&](unsigned short port) {
        dir.write("lighttpd/lighttpd.conf",
                  fill_template(wrapper("lighttpd.conf.in"),
                                {{"@PREFIX@", prefix()}, {"@HTTP_PORT@", std::to_string(port)}}));
        return std::vector<std::string>{"/usr/sbin/lighttpd", "-D", "-f",
                                        prefix() + "/lighttpd.conf"};
    });
}

Caddy::Caddy(const TempDir& dir, const std::string& socket) : WebServer(dir, "caddy") {
    dir.write("caddy/wfhookd.caddy",
              fill_template(example("caddy/wfhookd.caddy.in"), {{"@SOCKET@", socket}}));
    start(
        [&](unsigned short port) {
            dir.write("caddy/Caddyfile", fill_template(wrapper("Caddyfile.in"),
                                                       {{"@PREFIX@", prefix()},
                                                        {"@HTTP_PORT@", std::to_string(port)}}));
            return std::vector<std::string>{"/usr/bin/caddy",        "run",       "--config",
                                            prefix() + "/Caddyfile", "--adapter", "caddyfile"};
        },
        // Caddy keeps its state (certificates, the last configuration) under these.
        {"HOME=" + prefix(), "XDG_DATA_HOME=" + prefix() + "/data",
         "XDG_CONFIG_HOME=" + prefix() + "/config"});
}

} // namespace wftest
