#include "load.hpp"

#include "fcgi_client.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace wftest {

namespace {

using Clock = std::chrono::steady_clock;

// A request that takes longer than this has failed (the daemon's own deadlines are shorter).
constexpr auto kRequestTimeout = std::chrono::seconds(20);

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

// One keep-alive connection and its read buffer.
class Connection {
public:
    explicit Connection(unsigned short port) : port_(port) {}
    ~Connection() { drop(); }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    bool is_open() const { return fd_ >= 0; }
    bool open() {
        drop();
        fd_ = connect_tcp("127.0.0.1", port_);
        return fd_ >= 0;
    }
    void drop() {
        if (fd_ >= 0) close(fd_);
        fd_ = -1;
        buf_.clear();
    }

    // Sends `request` and reads its response. False with `why` set when no complete response
    // came back; `closes` when the server announced it closes the connection after it.
    bool exchange(const std::string& request, int& status, bool& closes, std::string& body,
                  std::string& why) {
        const auto deadline = Clock::now() + kRequestTimeout;
        if (!write_all(fd_, request)) return fail(why, "cannot send the request");
        std::size_t head_end;
        while ((head_end = buf_.find("\r\n\r\n")) == std::string::npos)
            if (!fill(deadline, why)) return false;
        const std::string head = buf_.substr(0, head_end);
        buf_.erase(0, head_end + 4);
        if (head.rfind("HTTP/1.", 0) != 0 || head.size() < 12)
            return fail(why, "not an HTTP response: " + head.substr(0, 80));
        status = std::atoi(head.c_str() + 9);
        long long length = -1;
        bool chunked = false;
        closes = head.rfind("HTTP/1.0", 0) == 0;
        for (std::size_t pos = head.find("\r\n"); pos != std::string::npos;) {
            const std::size_t start = pos + 2;
            pos = head.find("\r\n", start);
            const std::string line = lower(head.substr(start, pos - start));
            const std::size_t colon = line.find(':');
            if (colon == std::string::npos) continue;
            std::string value = line.substr(colon + 1);
            value.erase(0, value.find_first_not_of(' '));
            const std::string name = line.substr(0, colon);
            if (name == "content-length") length = std::atoll(value.c_str());
            if (name == "transfer-encoding") chunked = value.find("chunked") != std::string::npos;
            if (name == "connection") closes = value.find("close") != std::string::npos;
        }
        body.clear();
        if (chunked) return read_chunked(deadline, body, why);
        if (length < 0) {
            // Delimited by the end of the connection.
            while (fill(deadline, why)) {
            }
            body.swap(buf_);
            closes = true;
            return true;
        }
        while (buf_.size() < static_cast<std::size_t>(length))
            if (!fill(deadline, why)) return false;
        body = buf_.substr(0, static_cast<std::size_t>(length));
        buf_.erase(0, static_cast<std::size_t>(length));
        return true;
    }

private:
    static bool fail(std::string& why, const std::string& what) {
        why = what;
        return false;
    }

    // Reads what has arrived into buf_, waiting until `deadline`.
    bool fill(Clock::time_point deadline, std::string& why) {
        for (;;) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0) return fail(why, "no complete response within 20 s");
            pollfd p{fd_, POLLIN, 0};
            const int r = poll(&p, 1, static_cast<int>(left.count()));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) continue;
            char chunk[16384];
            const ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return fail(why, std::string("connection failed: ") + std::strerror(errno));
            if (n == 0) return fail(why, "connection closed before a complete response");
            buf_.append(chunk, static_cast<std::size_t>(n));
            return true;
        }
    }

    bool read_chunked(Clock::time_point deadline, std::string& body, std::string& why) {
        for (;;) {
            std::size_t eol;
            while ((eol = buf_.find("\r\n")) == std::string::npos)
                if (!fill(deadline, why)) return false;
            const std::size_t size = std::strtoul(buf_.c_str(), nullptr, 16);
            if (size == 0) {
                // The last chunk, then trailers (none expected) up to an empty line.
                while (buf_.find("\r\n\r\n", eol) == std::string::npos)
                    if (!fill(deadline, why)) return false;
                buf_.erase(0, buf_.find("\r\n\r\n", eol) + 4);
                return true;
            }
            while (buf_.size() < eol + 2 + size + 2)
                if (!fill(deadline, why)) return false;
            body.append(buf_, eol + 2, size);
            buf_.erase(0, eol + 2 + size + 2);
        }
    }

    unsigned short port_;
    int fd_ = -1;
    std::string buf_; // received, not yet parsed
};

} // namespace

double LoadResult::percentile(double p) const {
    if (latency_ms.empty()) return 0;
    const auto rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(latency_ms.size()));
    return latency_ms[std::min(rank, latency_ms.size() - 1)];
}

Load::Load(LoadOptions options) : options_(std::move(options)) {
    if (options_.paths.empty()) options_.paths.push_back("/");
    for (unsigned i = 0; i < options_.connections; ++i)
        threads_.emplace_back([this] { run(); });
}

Load::~Load() {
    stop_ = true;
    for (std::thread& t : threads_)
        if (t.joinable()) t.join();
}

bool Load::claim() {
    if (stop_) return false;
    return options_.total == 0 || claimed_.fetch_add(1) < options_.total;
}

void Load::run() {
    Connection conn(options_.port);
    std::vector<double> latencies;
    std::vector<std::string> requests;
    for (const std::string& path : options_.paths) {
        std::string r = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n";
        for (const auto& [k, v] : options_.headers)
            r += k + ": " + v + "\r\n";
        requests.push_back(r + "\r\n");
    }
    std::string body, why;
    for (std::size_t i = 0; claim(); ++i) {
        const std::string& request = requests[i % requests.size()];
        int status = 0;
        bool closes = false;
        const auto start = Clock::now();
        bool ok = conn.is_open();
        if (!ok) {
            ++connects_;
            ok = conn.open();
            if (!ok) why = std::string("cannot connect: ") + std::strerror(errno);
        }
        if (ok) ok = conn.exchange(request, status, closes, body, why);
        const auto took = std::chrono::duration<double, std::milli>(Clock::now() - start);
        ++sent_;
        if (ok && status == 200) {
            latencies.push_back(took.count());
        } else {
            ++failed_;
            const std::lock_guard<std::mutex> lock(mutex_);
            if (first_failure_.empty())
                first_failure_ = request.substr(0, request.find('\r')) + ": " +
                                 (ok ? std::to_string(status) + " " + body : why);
        }
        if (!ok || closes) conn.drop();
    }
    const std::lock_guard<std::mutex> lock(mutex_);
    latency_ms_.insert(latency_ms_.end(), latencies.begin(), latencies.end());
}

LoadResult Load::finish() {
    if (options_.total == 0) stop_ = true;
    for (std::thread& t : threads_)
        if (t.joinable()) t.join();
    LoadResult r;
    r.sent = sent_;
    r.failed = failed_;
    r.connects = connects_;
    const std::lock_guard<std::mutex> lock(mutex_);
    r.first_failure = first_failure_;
    r.latency_ms = latency_ms_;
    std::sort(r.latency_ms.begin(), r.latency_ms.end());
    return r;
}

} // namespace wftest
