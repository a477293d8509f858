// fcgi_load: a FastCGI load generator for the benchmark (docs/performance.md, target f).
//
// Plays nginx without nginx: keeps C connections busy, each request on a new connection (like
// nginx with fastcgi_keep_conn off), sends the parameters nginx/wfhookd-fastcgi.conf sends, and
// closes the connection as soon as FCGI_END_REQUEST arrives (as nginx does). Reports requests
// per second and latency percentiles (connect to END_REQUEST), as text or one JSON object.
// Requests are encoded by tests/support/fcgi_client.cpp.
#include "fcgi_client.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <netinet/in.h>
#include <string>
#include <string_view>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

namespace {

constexpr std::uint8_t kEndRequest = 3, kStdout = 6;

void usage(FILE* out) {
    std::fprintf(
        out, "usage: fcgi_load [options] ADDRESS\n"
             "  ADDRESS       unix:/PATH, /PATH or tcp:HOST:PORT (IPv4)\n"
             "  -c N          concurrent connections (default 32)\n"
             "  -d SECONDS    run this long (default 10; fractions allowed)\n"
             "  -n N          send exactly N requests instead (then -d is only a safety limit)\n"
             "  -u URI        request URI (default "
             "/customAction?name=noop&documentId=123&documentVersionId=456)\n"
             "  -m METHOD     request method (default GET)\n"
             "  -H 'N: V'     a request header, sent as HTTP_N (like nginx: upper case, - to _)\n"
             "  -p NAME=VALUE an extra FastCGI parameter (e.g. SCRIPT_FILENAME=/x.php)\n"
             "  -s STATUS     the status every reply must have (default 200)\n"
             "  -t SECONDS    per-request timeout (default 10)\n"
             "  -v            print the first reply\n"
             "  -j            print the result as one JSON object\n"
             "Each request uses a new connection; the connection is closed when FCGI_END_REQUEST\n"
             "arrives. Exit status 0 when every request got the expected status, 1 otherwise.\n");
}

std::int64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

struct Address {
    bool unix_socket = true;
    sockaddr_storage sa{};
    socklen_t len = 0;
};

bool parse_address(std::string_view a, Address& out) {
    if (a.starts_with("unix:")) a.remove_prefix(5);
    if (a.starts_with("/")) {
        auto* un = reinterpret_cast<sockaddr_un*>(&out.sa);
        if (a.size() >= sizeof un->sun_path) return false;
        un->sun_family = AF_UNIX;
        std::memcpy(un->sun_path, a.data(), a.size());
        out.len = sizeof(sockaddr_un);
        return true;
    }
    if (!a.starts_with("tcp:")) return false;
    a.remove_prefix(4);
    const auto colon = a.rfind(':');
    if (colon == std::string_view::npos) return false;
    auto* in = reinterpret_cast<sockaddr_in*>(&out.sa);
    in->sin_family = AF_INET;
    in->sin_port =
        htons(static_cast<std::uint16_t>(std::atoi(std::string(a.substr(colon + 1)).c_str())));
    if (inet_pton(AF_INET, std::string(a.substr(0, colon)).c_str(), &in->sin_addr) != 1)
        return false;
    out.unix_socket = false;
    out.len = sizeof(sockaddr_in);
    return true;
}

// Walks the records received so far. Returns true once FCGI_END_REQUEST is complete; `status`
// is taken from a leading "Status: NNN" in the first FCGI_STDOUT record (200 when absent).
bool reply_complete(std::string_view bytes, int& status) {
    std::size_t pos = 0;
    bool first_stdout = true;
    while (pos + 8 <= bytes.size()) {
        const auto* h = reinterpret_cast<const unsigned char*>(bytes.data() + pos);
        const std::size_t len = (std::size_t(h[4]) << 8) | h[5];
        const std::size_t total = 8 + len + h[6];
        if (pos + total > bytes.size()) return false;
        if (h[1] == kStdout && first_stdout && len > 0) {
            first_stdout = false;
            const std::string_view c = bytes.substr(pos + 8, len);
            status = 200;
            if (c.size() >= 11 && c.starts_with("Status: ")) status = std::atoi(c.data() + 8);
        }
        if (h[1] == kEndRequest) return true;
        pos += total;
    }
    return false;
}

struct Conn {
    int fd = -1;
    bool connecting = false;
    std::size_t sent = 0;
    std::int64_t start = 0;
    std::string in;
};

struct Stats {
    std::uint64_t ok = 0, bad_status = 0, errors = 0, connect_retries = 0, timeouts = 0;
    std::vector<std::int64_t> latency_ns;
};

class Load {
public:
    Load(const Address& addr, std::string request, int expect_status, std::int64_t timeout_ns,
         bool verbose)
        : addr_(addr), request_(std::move(request)), expect_(expect_status),
          timeout_ns_(timeout_ns), verbose_(verbose) {}

    bool run(int conns, std::int64_t duration_ns, std::uint64_t count) {
        count_ = count;
        ep_ = epoll_create1(EPOLL_CLOEXEC);
        if (ep_ < 0) return false;
        conns_.resize(static_cast<std::size_t>(conns));
        stats_.latency_ns.reserve(count ? count : 1 << 20);
        start_ns_ = now_ns();
        const std::int64_t deadline = start_ns_ + duration_ns;
        for (std::size_t i = 0; i < conns_.size(); ++i)
            if (may_start()) begin(i);
        std::vector<epoll_event> events(conns_.size() + 1);
        for (;;) {
            const std::int64_t now = now_ns();
            if (now >= deadline) break;
            if (count != 0 && finished() >= count && in_flight_ == 0) break;
            if (count == 0 && in_flight_ == 0 && retry_.empty()) break; // nothing can run
            // Wake up at least every 10 ms: retries, timeouts, the deadline.
            const int wait_ms = retry_.empty() ? 10 : 1;
            const int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()),
                                     static_cast<int>(std::min<std::int64_t>(
                                         wait_ms, (deadline - now) / 1'000'000 + 1)));
            for (int k = 0; k < n; ++k)
                on_event(events[static_cast<std::size_t>(k)].data.u32,
                         events[static_cast<std::size_t>(k)].events);
            if (!retry_.empty()) {
                std::vector<std::size_t> again;
                again.swap(retry_);
                for (const std::size_t i : again)
                    if (may_start()) begin(i);
            }
            expire(now_ns());
        }
        end_ns_ = now_ns();
        for (Conn& c : conns_)
            if (c.fd >= 0) close(c.fd);
        return true;
    }

    Stats& stats() { return stats_; }
    double elapsed_s() const { return static_cast<double>(end_ns_ - start_ns_) / 1e9; }

private:
    std::uint64_t finished() const { return stats_.ok + stats_.bad_status + stats_.errors; }
    bool may_start() const { return count_ == 0 || started_ < count_; }

    void begin(std::size_t i) {
        Conn& c = conns_[i];
        c.in.clear();
        c.sent = 0;
        c.start = now_ns();
        c.fd = socket(addr_.unix_socket ? AF_UNIX : AF_INET,
                      SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c.fd < 0) { // out of descriptors? count it and try again shortly
            ++stats_.errors;
            retry_.push_back(i);
            return;
        }
        const int rc = connect(c.fd, reinterpret_cast<const sockaddr*>(&addr_.sa), addr_.len);
        if (rc != 0 && errno == EAGAIN) { // unix socket backlog full: try again shortly
            close(c.fd);
            c.fd = -1;
            ++stats_.connect_retries;
            retry_.push_back(i);
            return;
        }
        ++started_;
        ++in_flight_;
        if (rc != 0 && errno != EINPROGRESS) return fail(i);
        c.connecting = rc != 0;
        epoll_event ev{};
        ev.data.u32 = static_cast<std::uint32_t>(i);
        ev.events = c.connecting ? EPOLLOUT : EPOLLIN;
        epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
        if (!c.connecting) send_some(i);
    }

    void send_some(std::size_t i) {
        Conn& c = conns_[i];
        while (c.sent < request_.size()) {
            const ssize_t n =
                send(c.fd, request_.data() + c.sent, request_.size() - c.sent, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) {
                epoll_event ev{};
                ev.data.u32 = static_cast<std::uint32_t>(i);
                ev.events = EPOLLOUT | EPOLLIN;
                epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
                return;
            }
            if (n <= 0) return fail(i);
            c.sent += static_cast<std::size_t>(n);
        }
    }

    void on_event(std::size_t i, std::uint32_t events) {
        Conn& c = conns_[i];
        if (c.fd < 0) return;
        if (c.connecting) {
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err != 0) return fail(i);
            c.connecting = false;
            epoll_event ev{};
            ev.data.u32 = static_cast<std::uint32_t>(i);
            ev.events = EPOLLIN;
            epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
            send_some(i);
            if (c.fd < 0) return;
        }
        if ((events & EPOLLOUT) && c.sent < request_.size()) {
            send_some(i);
            if (c.fd < 0) return;
            if (c.sent == request_.size()) {
                epoll_event ev{};
                ev.data.u32 = static_cast<std::uint32_t>(i);
                ev.events = EPOLLIN;
                epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
            }
        }
        if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
        char buf[4096];
        for (;;) {
            const ssize_t n = recv(c.fd, buf, sizeof buf, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) break;
            if (n <= 0) { // EOF (or reset) before END_REQUEST
                int status = 0;
                if (reply_complete(c.in, status)) return done(i, status);
                return fail(i);
            }
            c.in.append(buf, static_cast<std::size_t>(n));
        }
        int status = 0;
        if (reply_complete(c.in, status)) done(i, status);
    }

    void done(std::size_t i, int status) {
        Conn& c = conns_[i];
        const std::int64_t t = now_ns();
        if (verbose_ && !printed_) {
            printed_ = true;
            const wftest::FcgiReply r = wftest::fcgi_parse_reply(c.in);
            std::fprintf(stderr, "first reply: status %d\n%s\n", r.status, r.stdout_raw.c_str());
        }
        stats_.latency_ns.push_back(t - c.start);
        if (status == expect_)
            ++stats_.ok;
        else
            ++stats_.bad_status;
        close_conn(i);
        if (may_start()) begin(i);
    }

    // A failed request is counted; its slot starts again from the retry list (never
    // recursively, so a server that refuses everything cannot blow the stack).
    void fail(std::size_t i) {
        ++stats_.errors;
        close_conn(i);
        retry_.push_back(i);
    }

    void close_conn(std::size_t i) {
        Conn& c = conns_[i];
        if (c.fd >= 0) close(c.fd); // also removes it from the epoll set
        c.fd = -1;
        --in_flight_;
    }

    void expire(std::int64_t now) {
        for (std::size_t i = 0; i < conns_.size(); ++i) {
            if (conns_[i].fd >= 0 && now - conns_[i].start > timeout_ns_) {
                ++stats_.timeouts;
                fail(i);
            }
        }
    }

    Address addr_;
    std::string request_;
    int expect_;
    std::int64_t timeout_ns_;
    bool verbose_;
    bool printed_ = false;
    int ep_ = -1;
    std::vector<Conn> conns_;
    std::vector<std::size_t> retry_;
    std::uint64_t count_ = 0, started_ = 0, in_flight_ = 0;
    std::int64_t start_ns_ = 0, end_ns_ = 0;
    Stats stats_;
};

double percentile_ms(std::vector<std::int64_t>& v, double p) {
    if (v.empty()) return 0;
    const std::size_t k = std::min(v.size() - 1, static_cast<std::size_t>(p * v.size()));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return static_cast<double>(v[k]) / 1e6;
}

std::string header_param(std::string_view header, std::string& value) {
    const auto colon = header.find(':');
    if (colon == std::string_view::npos) return {};
    std::string name = "HTTP_";
    for (const char ch : header.substr(0, colon))
        name.push_back(ch == '-' ? '_'
                                 : static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
    std::string_view v = header.substr(colon + 1);
    while (!v.empty() && v.front() == ' ')
        v.remove_prefix(1);
    value = v;
    return name;
}

} // namespace

int main(int argc, char** argv) {
    int conns = 32, expect = 200;
    double duration = 10, timeout = 10;
    std::uint64_t count = 0;
    std::string uri = "/customAction?name=noop&documentId=123&documentVersionId=456";
    std::string method = "GET";
    bool verbose = false, json = false;
    wftest::Params extra;
    int opt;
    while ((opt = getopt(argc, argv, "c:d:n:u:m:H:p:s:t:vjh")) != -1) {
        switch (opt) {
        case 'c':
            conns = std::atoi(optarg);
            break;
        case 'd':
            duration = std::atof(optarg);
            break;
        case 'n':
            count = std::strtoull(optarg, nullptr, 10);
            break;
        case 'u':
            uri = optarg;
            break;
        case 'm':
            method = optarg;
            break;
        case 'H': {
            std::string value;
            std::string name = header_param(optarg, value);
            if (name.empty()) {
                std::fprintf(stderr, "fcgi_load: -H wants 'Name: value'\n");
                return 2;
            }
            extra.emplace_back(std::move(name), std::move(value));
            break;
        }
        case 'p': {
            const std::string_view p(optarg);
            const auto eq = p.find('=');
            if (eq == std::string_view::npos) {
                std::fprintf(stderr, "fcgi_load: -p wants NAME=VALUE\n");
                return 2;
            }
            extra.emplace_back(std::string(p.substr(0, eq)), std::string(p.substr(eq + 1)));
            break;
        }
        case 's':
            expect = std::atoi(optarg);
            break;
        case 't':
            timeout = std::atof(optarg);
            break;
        case 'v':
            verbose = true;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    Address addr;
    if (optind + 1 != argc || conns < 1 || duration <= 0 || !parse_address(argv[optind], addr)) {
        usage(stderr);
        return 2;
    }
    if (count != 0 && duration == 10) duration = 3600; // -n: run until done

    // What nginx/wfhookd-fastcgi.conf sends (CONTENT_LENGTH is empty for a GET, REQUEST_ID is
    // nginx's 32 hex digits), then the caller's headers and parameters.
    const auto q = uri.find('?');
    wftest::Params params = {
        {"REQUEST_METHOD", method},
        {"DOCUMENT_URI", uri.substr(0, q)},
        {"QUERY_STRING", q == std::string::npos ? std::string() : uri.substr(q + 1)},
        {"CONTENT_LENGTH", ""},
        {"REMOTE_ADDR", "127.0.0.1"},
        {"REQUEST_ID", "0123456789abcdef0123456789abcdef"},
    };
    params.insert(params.end(), extra.begin(), extra.end());

    Load load(addr, wftest::fcgi_request(params), expect, static_cast<std::int64_t>(timeout * 1e9),
              verbose);
    if (!load.run(conns, static_cast<std::int64_t>(duration * 1e9), count)) {
        std::perror("fcgi_load");
        return 2;
    }
    Stats& s = load.stats();
    const double elapsed = load.elapsed_s();
    const std::uint64_t replies = s.ok + s.bad_status;
    const double rps = elapsed > 0 ? static_cast<double>(replies) / elapsed : 0;
    const double p50 = percentile_ms(s.latency_ns, 0.50), p90 = percentile_ms(s.latency_ns, 0.90),
                 p99 = percentile_ms(s.latency_ns, 0.99), max = percentile_ms(s.latency_ns, 1.0);
    if (json) {
        std::printf("{\"requests\":%" PRIu64 ",\"ok\":%" PRIu64 ",\"bad_status\":%" PRIu64
                    ",\"errors\":%" PRIu64 ",\"timeouts\":%" PRIu64 ",\"connect_retries\":%" PRIu64
                    ",\"connections\":%d,\"elapsed_s\":%.3f,\"rps\":%.1f,\"p50_ms\":%.3f,"
                    "\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f}\n",
                    replies, s.ok, s.bad_status, s.errors, s.timeouts, s.connect_retries, conns,
                    elapsed, rps, p50, p90, p99, max);
    } else {
        std::printf("%" PRIu64 " replies in %.2f s over %d connections: %.0f req/s\n"
                    "latency p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  max %.3f ms\n"
                    "status %d: %" PRIu64 "  other status: %" PRIu64 "  errors: %" PRIu64
                    " (timeouts %" PRIu64 ")  connect retries: %" PRIu64 "\n",
                    replies, elapsed, conns, rps, p50, p90, p99, max, expect, s.ok, s.bad_status,
                    s.errors, s.timeouts, s.connect_retries);
    }
    return s.bad_status == 0 && s.errors == 0 && replies > 0 ? 0 : 1;
}
