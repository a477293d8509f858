// The production nginx site, nginx/wfhookd.conf, served for real by a private nginx: only its
// listen addresses, the socket and the certificate paths are changed (to loopback ports, the
// test's socket and a certificate made here), and it is included at http level after the
// TLS defaults of Debian's /etc/nginx/nginx.conf, as on a server. Clients are curl and
// openssl s_client.
#include "support/fcgi_client.hpp"
#include "support/stack.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <cctype>
#include <map>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

using namespace wftest;
namespace bdata = boost::unit_test::data;

namespace {

constexpr const char* kHost = "wfhookd.example.com"; // server_name in the shipped site

int exit_code(int status) {
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Replaces `from` by `to`, which must occur exactly once: a changed site fails loudly here
// instead of being tested half-rendered.
std::string replace_once(std::string s, const std::string& from, const std::string& to) {
    const auto p = s.find(from);
    if (p == std::string::npos || s.find(from, p + 1) != std::string::npos)
        throw std::runtime_error("nginx/wfhookd.conf: expected exactly one \"" + from + "\"");
    return s.replace(p, from.size(), to);
}

std::string lower(std::string s) {
    for (char& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

struct CurlResult {
    int exit = -1;
    int status = 0;
    std::map<std::string, std::string> headers; // names lower-cased, last value wins
    std::string body;
    std::string output; // curl's own messages
    std::string header(const std::string& name) const {
        const auto it = headers.find(name);
        return it == headers.end() ? std::string() : it->second;
    }
};

// The site behind a private nginx, with wfhookd behind it.
class Site {
public:
    explicit Site(const WfhookdOptions& options)
        : wfhookd(dir, options), prefix_(dir.file("nginx")) {
        make_certificate();
        for (const char* snippet : {"wfhookd-fastcgi.conf", "wfhookd-locations.conf",
                                    "wfhookd-errors.conf", "wfhookd-oauth2.conf"})
            dir.write(std::string("nginx/conf/snippets/") + snippet,
                      read_file(source_dir() + "/nginx/" + snippet));
        for (const char* t : {"client_body", "fastcgi", "proxy", "uwsgi", "scgi"})
            dir.write(std::string("nginx/tmp/") + t + "/.keep", "");
        wfhookd.start();
        // Several attempts: a port found free may be taken before nginx binds it.
        for (int attempt = 0; attempt < 5; ++attempt) {
            http_port = free_port();
            https_port = free_port();
            write_config();
            nginx_ = Process({"/usr/sbin/nginx", "-p", prefix_, "-c", conf(), "-e", log_path()},
                             prefix_ + "/stdout.log");
            const bool up =
                wait_until([&] { return served_on(https_port) || !nginx_.running(); }, 10s);
            if (up && nginx_.running()) return;
            nginx_.stop(SIGKILL);
        }
        throw std::runtime_error("nginx did not start:\n" + read_file(log_path()));
    }
    ~Site() { nginx_.stop(SIGTERM); }

    std::string conf() const { return prefix_ + "/conf/nginx.conf"; }
    std::string log_path() const { return prefix_ + "/error.log"; }
    std::string cert() const { return dir.file("tls/fullchain.pem"); }

    // curl against https://wfhookd.example.com:PORT (or http://) resolved to 127.0.0.1,
    // trusting only the test certificate.
    CurlResult curl(const std::string& url_path, std::vector<std::string> extra = {},
                    bool https = true) const {
        const unsigned short port = https ? https_port : http_port;
        const std::string url = std::string(https ? "https://" : "http://") + kHost + ":" +
                                std::to_string(port) + url_path;
        std::vector<std::string> argv{"/usr/bin/curl",
                                      "-sS",
                                      "--max-time",
                                      "20",
                                      "--cacert",
                                      cert(),
                                      "--resolve",
                                      std::string(kHost) + ":" + std::to_string(port) +
                                          ":127.0.0.1",
                                      "-D",
                                      dir.file("curl.headers"),
                                      "-o",
                                      dir.file("curl.body"),
                                      "-w",
                                      "%{http_code}\\n"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        argv.push_back(url);
        for (const char* f : {"curl.headers", "curl.body", "curl.out"})
            std::remove(dir.file(f).c_str());
        Process p(argv, dir.file("curl.out"));
        CurlResult r;
        r.exit = exit_code(p.wait(30s));
        r.output = read_file(dir.file("curl.out"));
        r.status = std::atoi(r.output.c_str());
        r.body = read_file(dir.file("curl.body"));
        std::istringstream headers(read_file(dir.file("curl.headers")));
        for (std::string line; std::getline(headers, line);) {
            if (!line.empty() && line.back() == '\r') line.pop_back();
            const auto colon = line.find(':');
            if (colon == std::string::npos) continue;
            std::string value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ')
                value.erase(0, 1);
            r.headers[lower(line.substr(0, colon))] = value;
        }
        return r;
    }

    // Whether a TLS handshake with these openssl s_client options succeeds.
    bool handshake(const std::vector<std::string>& options) const {
        std::vector<std::string> argv{"/usr/bin/openssl", "s_client",
                                      "-connect",         "127.0.0.1:" + std::to_string(https_port),
                                      "-servername",      kHost};
        argv.insert(argv.end(), options.begin(), options.end());
        Process p(argv, dir.file("s_client.out"));
        return exit_code(p.wait(20s)) == 0;
    }

    TempDir dir;
    Wfhookd wfhookd;
    unsigned short http_port = 0, https_port = 0;

private:
    void make_certificate() const {
        dir.write("tls/.keep", "");
        Process p({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                   "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                   std::string("/CN=") + kHost, "-addext",
                   std::string("subjectAltName=DNS:") + kHost, "-keyout",
                   dir.file("tls/privkey.pem"), "-out", cert()},
                  dir.file("tls/openssl.out"));
        if (exit_code(p.wait(30s)) != 0)
            throw std::runtime_error("openssl: " + read_file(dir.file("tls/openssl.out")));
    }

    void write_config() const {
        std::string site = read_file(source_dir() + "/nginx/wfhookd.conf");
        if (site.empty()) throw std::runtime_error("cannot read nginx/wfhookd.conf");
        site = replace_once(site, "server unix:/run/wfhookd/wfhookd.sock;",
                            "server unix:" + wfhookd.socket_path() + ";");
        site = replace_once(site, "    listen 80;\n",
                            "    listen 127.0.0.1:" + std::to_string(http_port) + ";\n");
        site = replace_once(site, "    listen [::]:80;\n", "");
        site = replace_once(site, "    listen 443 ssl http2;\n",
                            "    listen 127.0.0.1:" + std::to_string(https_port) + " ssl http2;\n");
        site = replace_once(site, "    listen [::]:443 ssl http2;\n", "");
        site = replace_once(site, "/etc/ssl/wfhookd/fullchain.pem", cert());
        site = replace_once(site, "/etc/ssl/wfhookd/privkey.pem", dir.file("tls/privkey.pem"));
        dir.write("nginx/conf/wfhookd.conf", site);

        const std::string p = prefix_;
        dir.write("nginx/conf/nginx.conf",
                  std::string(geteuid() == 0 ? "user root root;\n" : "") +
                      "worker_processes 1;\n"
                      "daemon off;\n"
                      "pid " +
                      p + "/nginx.pid;\nerror_log " + p +
                      "/error.log notice;\n"
                      "events { worker_connections 256; }\n"
                      "http {\n"
                      "    access_log " +
                      p + "/access.log;\n    client_body_temp_path " + p +
                      "/tmp/client_body;\n    fastcgi_temp_path " + p +
                      "/tmp/fastcgi;\n    proxy_temp_path " + p +
                      "/tmp/proxy;\n    uwsgi_temp_path " + p + "/tmp/uwsgi;\n    scgi_temp_path " +
                      p +
                      "/tmp/scgi;\n"
                      "    # As in Debian's /etc/nginx/nginx.conf: the site must override them.\n"
                      "    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;\n"
                      "    ssl_prefer_server_ciphers on;\n"
                      "    include wfhookd.conf;\n"
                      "}\n");
    }

    bool served_on(unsigned short port) const {
        const int fd = connect_tcp("127.0.0.1", port);
        if (fd >= 0) close(fd);
        return fd >= 0;
    }

    std::string prefix_;
    Process nginx_;
};

WfhookdOptions with_ping() {
    WfhookdOptions o;
    o.server = "status = yes\n";
    o.actions = "[action:ping]\ndisplay_name = Test the connection\ntype = noop\n";
    return o;
}

} // namespace

BOOST_AUTO_TEST_SUITE(nginx_site)

BOOST_AUTO_TEST_CASE(nginx_t_accepts_the_site_and_it_sets_what_wfhookd_needs) {
    Site site(with_ping());
    TempDir out;
    Process t({"/usr/sbin/nginx", "-t", "-p", site.dir.file("nginx"), "-c", site.conf(), "-e",
               out.file("error.log")},
              out.file("t.out"));
    BOOST_TEST(exit_code(t.wait(30s)) == 0, read_file(out.file("t.out")));
    BOOST_TEST(read_file(out.file("t.out")).find("test is successful") != std::string::npos);

    Process dump({"/usr/sbin/nginx", "-T", "-p", site.dir.file("nginx"), "-c", site.conf(), "-e",
                  out.file("error.log")},
                 out.file("T.out"));
    BOOST_TEST(exit_code(dump.wait(30s)) == 0);
    const std::string all = read_file(out.file("T.out"));
    for (const char* directive :
         {"fastcgi_keep_conn off;", "fastcgi_param HTTP_APIKEY $http_apikey if_not_empty;",
          "fastcgi_param HTTP_USERNAME $http_username if_not_empty;", "server_tokens off;",
          "ssl_protocols TLSv1.2 TLSv1.3;", "client_max_body_size 64k;",
          "fastcgi_read_timeout 75s;", "client_body_timeout 10s;"})
        BOOST_TEST(all.find(directive) != std::string::npos, directive);
}

BOOST_AUTO_TEST_CASE(plain_http_is_redirected_to_https) {
    Site site(with_ping());
    const CurlResult r = site.curl("/serviceInfo?x=1", {}, false);
    BOOST_TEST(r.exit == 0, r.output);
    BOOST_TEST(r.status == 301);
    BOOST_TEST(r.header("location") == "https://wfhookd.example.com/serviceInfo?x=1");
    BOOST_TEST(r.header("server") == "nginx"); // server_tokens off: no version
}

BOOST_AUTO_TEST_CASE(https_serves_the_api_with_hsts) {
    Site site(with_ping());
    const CurlResult info = site.curl("/serviceInfo");
    BOOST_TEST(info.exit == 0, info.output);
    BOOST_TEST(info.status == 200);
    BOOST_TEST(info.body.find("\"customActions\":[{\"name\":\"ping\"") != std::string::npos,
               info.body);
    BOOST_TEST(info.header("strict-transport-security") == "max-age=63072000");
    BOOST_TEST(info.header("server") == "nginx");

    // apiKey and username reach wfhookd.
    const CurlResult ok =
        site.curl("/customAction?name=ping&documentId=42",
                  {"-H", "apiKey: " + site.wfhookd.api_key(), "-H", "username: jane@example.com"});
    BOOST_TEST(ok.status == 200, ok.body);
    BOOST_TEST(ok.body == R"({"status":"success"})");
    BOOST_TEST(site.wfhookd.wait_log("action=ping status=200 user=jane@example.com"));
    const CurlResult wrong =
        site.curl("/customAction?name=ping&documentId=42",
                  {"-H", "apiKey: not-the-key-0123456789", "-H", "username: jane@example.com"});
    BOOST_TEST(wrong.status == 403, wrong.body);
    BOOST_TEST(wrong.header("strict-transport-security") == "max-age=63072000");
}

BOOST_AUTO_TEST_CASE(only_tls_1_2_and_1_3_with_the_mozilla_intermediate_ciphers) {
    Site site(with_ping());
    BOOST_TEST(site.handshake({"-tls1_3"}));
    BOOST_TEST(site.handshake({"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"}));
    BOOST_TEST(site.handshake({"-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"}));
    // Offered by the client (security level 0 lets it), refused by the site.
    BOOST_TEST(!site.handshake({"-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"}));
    BOOST_TEST(!site.handshake({"-tls1", "-cipher", "DEFAULT@SECLEVEL=0"}));
    // TLS 1.2 suites outside the intermediate list: CBC, no forward secrecy.
    BOOST_TEST(!site.handshake({"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA"}));
    BOOST_TEST(!site.handshake({"-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-SHA384"}));
    BOOST_TEST(!site.handshake({"-tls1_2", "-cipher", "AES128-GCM-SHA256"}));
}

BOOST_AUTO_TEST_CASE(status_is_served_to_loopback_only) {
    Site site(with_ping());
    const CurlResult local = site.curl("/status");
    BOOST_TEST(local.status == 200, local.body);
    BOOST_TEST(local.body.find("\"configuredWorkers\":4") != std::string::npos, local.body);
    // 127.0.0.2 is not in the snippet's allow list (127.0.0.1, ::1): it stands for any
    // other client.
    const CurlResult remote = site.curl("/status", {"--interface", "127.0.0.2"});
    BOOST_TEST(remote.exit == 0, remote.output);
    BOOST_TEST(remote.status == 403);
    BOOST_TEST(remote.body == "{\"status\":\"error\",\"error\":\"forbidden\"}\n");
    // The rest of the API is for everyone.
    BOOST_TEST(site.curl("/serviceInfo", {"--interface", "127.0.0.2"}).status == 200);
}

struct NginxError {
    std::string name;
    std::vector<std::string> curl; // curl arguments before the URL path
    std::string path;
    int status;
    std::string error;
};

std::ostream& operator<<(std::ostream& os, const NginxError& c) {
    return os << c.name;
}

// Errors nginx answers itself, some before any location is chosen: each in wfhookd's JSON
// shape, with HSTS and no-store like every other answer.
const NginxError kNginxErrors[] = {
    {"request line too long",
     {"--http1.1"},
     "/" + std::string(20000, 'a'),
     414,
     "request line too long"},
    {"header too large",
     {"--http1.1", "-H", "X-Big: " + std::string(20000, 'h')},
     "/serviceInfo",
     400,
     "bad request"},
    {"a path above the root", {"--http1.1", "--path-as-is"}, "/../serviceInfo", 400, "bad request"},
    {"a path above the root (HTTP/2)", {"--path-as-is"}, "/../serviceInfo", 400, "bad request"},
    {"TRACE", {"--http1.1", "-X", "TRACE"}, "/serviceInfo", 405, "method not allowed"},
    {"status from elsewhere", {"--interface", "127.0.0.2"}, "/status", 403, "forbidden"},
};

BOOST_DATA_TEST_CASE(nginx_errors_are_json_with_hsts, bdata::make(kNginxErrors), c) {
    Site site(with_ping());
    const CurlResult r = site.curl(c.path, c.curl);
    BOOST_TEST(r.exit == 0, r.output);
    BOOST_TEST(r.status == c.status);
    BOOST_TEST(r.body == "{\"status\":\"error\",\"error\":\"" + c.error + "\"}\n");
    BOOST_TEST(r.header("content-type") == "application/json; charset=utf-8");
    BOOST_TEST(r.header("cache-control") == "no-store");
    BOOST_TEST(r.header("strict-transport-security") == "max-age=63072000");
}

BOOST_AUTO_TEST_CASE(bodies_over_64k_are_refused_by_nginx) {
    Site site(with_ping());
    site.dir.write("big", std::string(65 * 1024, 'x'));
    const CurlResult r =
        site.curl("/customAction?name=ping&documentId=1",
                  {"-X", "POST", "--data-binary", "@" + site.dir.file("big"), "-H",
                   "apiKey: " + site.wfhookd.api_key(), "-H", "username: jane@example.com"});
    BOOST_TEST(r.status == 413, r.body);
    BOOST_TEST(r.body.find("request body too large") != std::string::npos, r.body);
    BOOST_TEST(r.header("strict-transport-security") == "max-age=63072000");
}

BOOST_AUTO_TEST_SUITE_END()
