#include "http/html.hpp"

#include "http/utf8.hpp"

namespace wfhookd {

void append_html_escaped(std::string& out, std::string_view s) {
    const std::string text = is_valid_utf8(s) ? std::string(s) : to_valid_utf8(s);
    for (const char c : text) {
        switch (c) {
        case '&':
            out.append("&amp;");
            break;
        case '<':
            out.append("&lt;");
            break;
        case '>':
            out.append("&gt;");
            break;
        case '"':
            out.append("&quot;");
            break;
        case '\'':
            out.append("&#39;");
            break;
        default:
            out.push_back(c);
        }
    }
}

} // namespace wfhookd
