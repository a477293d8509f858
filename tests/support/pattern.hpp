// A tiny text pattern for tests (std::regex trips GCC 12's -Wmaybe-uninitialized in sanitizer
// builds): '#' matches one ASCII digit, every other character matches itself.
#pragma once

#include <string_view>

namespace wftest {

inline bool matches_pattern(std::string_view text, std::string_view pattern) {
    if (text.size() != pattern.size()) return false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (pattern[i] == '#' ? (text[i] < '0' || text[i] > '9') : text[i] != pattern[i])
            return false;
    }
    return true;
}

// RFC 3339 UTC with milliseconds, as wfhookd writes timestamps: 2026-11-23T15:04:05.123Z
inline constexpr std::string_view kTimestampPattern = "####-##-##T##:##:##.###Z";

} // namespace wftest
