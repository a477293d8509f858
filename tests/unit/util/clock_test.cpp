#include "util/clock.hpp"

#include "support/pattern.hpp"

#include <boost/test/unit_test.hpp>

#include <ctime>
#include <string>

// Not "clock": that would clash with ::clock from <ctime>.
BOOST_AUTO_TEST_SUITE(clocks)

BOOST_AUTO_TEST_CASE(rfc3339_now_is_utc_with_milliseconds) {
    const std::time_t before = std::time(nullptr);
    const std::string now = wfhookd::rfc3339_now();
    const std::time_t after = std::time(nullptr);
    BOOST_TEST(wftest::matches_pattern(now, wftest::kTimestampPattern), now);
    // The same second as the C library's UTC clock (either side of a second boundary).
    const auto format = [](std::time_t t) {
        std::tm tm{};
        gmtime_r(&t, &tm);
        char buf[32];
        std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
        return std::string(buf);
    };
    const std::string second = now.substr(0, 19);
    BOOST_TEST((second == format(before) || second == format(after)), now);
}

BOOST_AUTO_TEST_CASE(monotonic_ns_never_goes_back) {
    std::int64_t last = wfhookd::monotonic_ns();
    BOOST_TEST(last > 0);
    int backwards = 0;
    for (int i = 0; i < 10000; ++i) {
        const std::int64_t t = wfhookd::monotonic_ns();
        backwards += t < last;
        last = t;
    }
    BOOST_TEST(backwards == 0);
}

BOOST_AUTO_TEST_SUITE_END()
