// A small load generator for end-to-end tests: threads, each with one keep-alive HTTP/1.1
// connection to a web server, sending GET requests back to back. Every request that does not
// come back as a complete 200 counts as failed: a status, a connection refused, reset or
// closed under a request, a timeout. Nothing is retried; a connection is only replaced after
// a failure or when the server said "Connection: close".
#pragma once

#include "http_client.hpp"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace wftest {

struct LoadOptions {
    unsigned short port = 0;        // on 127.0.0.1
    unsigned connections = 4;       // concurrent connections, one thread each
    std::uint64_t total = 0;        // requests in all, then stop; 0: until finish()
    std::vector<std::string> paths; // request targets, taken in turn
    Headers headers;                // sent with every request
};

struct LoadResult {
    std::uint64_t sent = 0;
    std::uint64_t failed = 0;
    std::uint64_t connects = 0;     // connections opened (at least one per thread)
    std::string first_failure;      // what the first failed request got
    std::vector<double> latency_ms; // of every request that got its 200, sorted

    // The p-th percentile (0 < p <= 100) of latency_ms; 0 when nothing succeeded.
    double percentile(double p) const;
};

class Load {
public:
    explicit Load(LoadOptions options);
    ~Load(); // stops and joins
    Load(const Load&) = delete;
    Load& operator=(const Load&) = delete;

    // Requests sent and failed so far.
    std::uint64_t sent() const { return sent_; }
    std::uint64_t failed() const { return failed_; }
    // Whether `total` requests have been sent (never with total 0).
    bool done() const { return options_.total != 0 && sent_ >= options_.total; }
    // Stops after the requests in flight (with total set: waits until all were sent), joins
    // the threads and sums up.
    LoadResult finish();

private:
    void run();
    bool claim(); // takes the right to send one more request

    LoadOptions options_;
    std::atomic<bool> stop_{false};
    std::atomic<std::uint64_t> claimed_{0}, sent_{0}, failed_{0}, connects_{0};
    std::mutex mutex_; // guards the fields below
    std::string first_failure_;
    std::vector<double> latency_ms_;
    std::vector<std::thread> threads_;
};

} // namespace wftest
