// Template part of query.hpp (kept apart so query.hpp reads as an interface).
#pragma once

namespace wfhookd {

template <typename Visit>
std::string parse_query(std::string_view query, std::string& scratch, Visit&& visit) {
    std::string error;
    // Decoded text is never longer than its source, so this reservation keeps every view
    // handed to `visit` valid for the whole parse.
    scratch.clear();
    scratch.reserve(query.size());
    std::size_t pos = 0;
    while (pos <= query.size()) {
        std::size_t end = query.find('&', pos);
        if (end == std::string_view::npos) end = query.size();
        const std::string_view pair = query.substr(pos, end - pos);
        pos = end + 1;
        if (pair.empty()) continue;
        const std::size_t eq = pair.find('=');
        const std::string_view raw_key = pair.substr(0, eq);
        const std::string_view raw_value =
            eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
        const std::string_view key = percent_decode(raw_key, scratch, error);
        if (!error.empty()) return error;
        const std::string_view value = percent_decode(raw_value, scratch, error);
        if (!error.empty()) return error;
        if (!visit(key, value)) break;
    }
    return error;
}

} // namespace wfhookd
