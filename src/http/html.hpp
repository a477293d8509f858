// HTML text for the pages browsers open (/view, the OAuth2 consent page): everything that
// comes from a file name or a request is escaped, so it is text, never markup.
#pragma once

#include <string>
#include <string_view>

namespace wfhookd {

// Appends `s` with & < > " ' escaped, and invalid UTF-8 replaced by U+FFFD.
void append_html_escaped(std::string& out, std::string_view s);

} // namespace wfhookd
