// Time sources: monotonic for durations and deadlines (shared by master and workers), wall
// clock for timestamps people read.
#pragma once

#include <cstdint>
#include <string>
#include <time.h>

namespace wfhookd {

inline std::int64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Wall-clock nanoseconds since the epoch: survives a reboot, unlike the monotonic clock.
inline std::int64_t realtime_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// RFC 3339 UTC with milliseconds: 2026-11-23T15:04:05.123Z
std::string rfc3339_now();
void append_rfc3339_now(std::string& out);

} // namespace wfhookd
