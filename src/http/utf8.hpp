// UTF-8 validation shared by the JSON writer, the parameter checks and the logger.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace wfhookd {

// Length of the well-formed UTF-8 sequence starting at s[i] (1-4), or 0 when the bytes there
// are not one (overlong forms, surrogates, code points above U+10FFFF, truncated sequences).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i);

bool is_valid_utf8(std::string_view s);

// `s` with every byte that does not start a well-formed sequence replaced by U+FFFD (file
// names are whatever bytes the file system holds; titles are text).
std::string to_valid_utf8(std::string_view s);

} // namespace wfhookd
