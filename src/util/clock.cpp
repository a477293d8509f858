#include "util/clock.hpp"

namespace wfhookd {

namespace {

void put2(char* p, int v) {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
}

} // namespace

// Every request logs a timestamp, so the date and time of day are formatted once per second
// and only the milliseconds per call (gmtime_r and fmt cost ~4,700 instructions a call).
void append_rfc3339_now(std::string& out) {
    static time_t cached_second = -1;
    static char cached[19]; // YYYY-MM-DDTHH:MM:SS
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != cached_second) {
        tm utc{};
        gmtime_r(&ts.tv_sec, &utc);
        const int year = utc.tm_year + 1900;
        put2(cached, year / 100);
        put2(cached + 2, year % 100);
        cached[4] = '-';
        put2(cached + 5, utc.tm_mon + 1);
        cached[7] = '-';
        put2(cached + 8, utc.tm_mday);
        cached[10] = 'T';
        put2(cached + 11, utc.tm_hour);
        cached[13] = ':';
        put2(cached + 14, utc.tm_min);
        cached[16] = ':';
        put2(cached + 17, utc.tm_sec);
        cached_second = ts.tv_sec;
    }
    const int ms = static_cast<int>(ts.tv_nsec / 1'000'000);
    char tail[5] = {'.', static_cast<char>('0' + ms / 100), 0, 0, 'Z'};
    put2(tail + 2, ms % 100);
    out.append(cached, sizeof cached);
    out.append(tail, sizeof tail);
}

std::string rfc3339_now() {
    std::string s;
    append_rfc3339_now(s);
    return s;
}

} // namespace wfhookd
