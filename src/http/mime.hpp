// Content types by file name extension, from the system's /etc/mime.types (Debian package
// media-types), read once per worker.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

namespace wfhookd {

class MimeTypes {
public:
    // Reads a mime.types file ("type ext ext ..." lines, '#' comments). A missing file leaves
    // the table empty: everything is application/octet-stream.
    bool load(const std::string& file = "/etc/mime.types");
    void add(std::string_view extension, std::string_view type);

    // The type for a file name (its extension, case-insensitive), or application/octet-stream.
    std::string_view type_for(std::string_view name) const;

private:
    std::unordered_map<std::string, std::string> by_extension_;
};

} // namespace wfhookd
