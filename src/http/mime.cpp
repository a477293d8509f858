#include "http/mime.hpp"

#include <fstream>
#include <sstream>

namespace wfhookd {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

} // namespace

void MimeTypes::add(std::string_view extension, std::string_view type) {
    by_extension_.insert_or_assign(lower(extension), std::string(type));
}

bool MimeTypes::load(const std::string& file) {
    std::ifstream in(file);
    if (!in) return false;
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line.front() == '#') continue;
        std::istringstream words(line);
        std::string type, ext;
        if (!(words >> type) || type.find('/') == std::string::npos) continue;
        while (words >> ext)
            by_extension_.emplace(lower(ext), type); // the first type listed for an extension
    }
    return true;
}

std::string_view MimeTypes::type_for(std::string_view name) const {
    constexpr std::string_view kDefault = "application/octet-stream";
    const auto dot = name.rfind('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size()) return kDefault;
    const auto it = by_extension_.find(lower(name.substr(dot + 1)));
    return it == by_extension_.end() ? kDefault : std::string_view(it->second);
}

} // namespace wfhookd
