// [store]: the document store. Every path it names is checked now, so that `wfhookd -t`
// finds what would fail later: the root must be a readable folder, the index and caches must
// be where the daemon can write, the link secret must be long and private.
#include "config/loader.hpp"

#include "http/utf8.hpp"

#include <cerrno>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

namespace wfhookd {

namespace {

bool absolute(const std::string& p) {
    return !p.empty() && p.front() == '/';
}

bool header_token(std::string_view s) {
    if (s.empty() || s.size() > 64) return false;
    for (const char c : s)
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-'))
            return false;
    return true;
}

// http(s)://host[:port][/path], without query or fragment; returned without a trailing '/'.
bool parse_public_url(std::string v, std::string& out) {
    const bool https = v.rfind("https://", 0) == 0;
    if (!https && v.rfind("http://", 0) != 0) return false;
    const std::size_t host_start = https ? 8 : 7;
    if (v.size() == host_start || v[host_start] == '/') return false;
    for (const char c : v)
        if (c == '?' || c == '#' || static_cast<unsigned char>(c) <= 0x20 || c == 0x7F)
            return false;
    while (v.size() > host_start && v.back() == '/')
        v.pop_back();
    out = v;
    return true;
}

} // namespace

bool Loader::read_secret(std::string_view section, std::string_view key, const std::string& file,
                         std::size_t min_bytes, std::string& out) {
    if (!absolute(file)) {
        key_error(section, key, fmt::format("\"{}\" is not an absolute path", file));
        return false;
    }
    std::string text, error;
    struct stat st {};
    if (!read_small_file(file, kMaxConfigFile, text, error, &st)) {
        key_error(section, key, fmt::format("cannot read {}: {}", file, error));
        return false;
    }
    if (st.st_mode & S_IROTH) {
        key_error(section, key,
                  fmt::format("{} is readable by every user: anyone on the host could forge "
                              "what it signs; chmod 0640 it",
                              file));
        return false;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        key_error(section, key, fmt::format("{} is writable by others; chmod 0640 it", file));
        return false;
    }
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
        text.pop_back();
    if (text.size() < min_bytes) {
        // The secret itself never appears in a message: only its length.
        key_error(section, key,
                  fmt::format("{} holds {} bytes; a secret needs at least {} (head -c 48 "
                              "/dev/urandom | base64 > FILE)",
                              file, text.size(), min_bytes));
        return false;
    }
    out = std::move(text);
    return true;
}

bool Loader::writable_dir(std::string_view section, std::string_view key, const std::string& dir) {
    if (!absolute(dir)) {
        key_error(section, key, fmt::format("\"{}\" is not an absolute path", dir));
        return false;
    }
    // The folder, or the nearest existing parent (the daemon creates the rest at start).
    std::string existing = dir;
    struct stat st {};
    while (::stat(existing.c_str(), &st) != 0 && existing != "/")
        existing = parent_of(existing);
    if (!S_ISDIR(st.st_mode)) {
        key_error(section, key, fmt::format("{} is not a folder", existing));
        return false;
    }
    if (access(existing.c_str(), W_OK | X_OK) != 0) {
        key_error(section, key,
                  fmt::format("cannot write in {}: {}", existing, std::strerror(errno)));
        return false;
    }
    return true;
}

void Loader::store(const pt::ptree& node) {
    StoreConfig& s = c_.store;
    s.enabled = true;
    constexpr std::string_view kSec = "store";
    keys(kSec, node, [&](const std::string& key, const std::string& v) {
        std::uint64_t size = 0;
        if (key == "root") {
            s.root = v;
        } else if (key == "index") {
            s.index = v;
        } else if (key == "title") {
            if (v.empty() || v.size() > 255 || !is_valid_utf8(v))
                key_error(kSec, key, "must be 1 to 255 bytes of UTF-8 text");
            s.title = v;
        } else if (key == "read_only") {
            if (!parse_bool(v, s.read_only))
                key_error(kSec, key, fmt::format("\"{}\" is not yes or no", v));
        } else if (key == "max_page") {
            uint_key(kSec, key, v, s.max_page, 1u, 100000u);
        } else if (key == "link_secret_file") {
            s.link_secret_file = v;
        } else if (key == "link_ttl") {
            uint_key(kSec, key, v, s.link_ttl, 1u, 30u * 86400u);
        } else if (key == "public_url") {
            if (!v.empty() && !parse_public_url(v, s.public_url))
                key_error(kSec, key,
                          fmt::format("\"{}\" is not an http:// or https:// URL without a query "
                                      "(the base URL registered in Workfront, e.g. "
                                      "https://docs.example.com/wf)",
                                      v));
        } else if (key == "accel_redirect") {
            if (!v.empty() && (v.front() != '/' || v.back() != '/'))
                key_error(kSec, key,
                          fmt::format("\"{}\" must be empty or the prefix of an internal nginx "
                                      "location, starting and ending with '/'",
                                      v));
            s.accel_redirect = v;
        } else if (key == "sendfile_header") {
            if (!v.empty() && !header_token(v))
                key_error(kSec, key, fmt::format("\"{}\" is not a header name", v));
            s.sendfile_header = v;
        } else if (key == "thumbnail_cache") {
            s.thumbnail_cache = v;
        } else if (key == "thumbnail_cache_size") {
            if (size_key(kSec, key, v, size, 1 << 20, std::uint64_t(1) << 40))
                s.thumbnail_cache_size = size;
        } else if (key == "max_upload_size") {
            if (size_key(kSec, key, v, size, 1, std::uint64_t(1) << 40)) s.max_upload_size = size;
        } else if (key == "trash_days") {
            uint_key(kSec, key, v, s.trash_days, 0u, 3650u);
        } else if (key == "audit_file") {
            s.audit_file = v;
        }
    });
    // sendfile_header set and accel_redirect left at its default: the operator chose the
    // header; both set explicitly is a contradiction.
    const bool accel_set = node.find("accel_redirect") != node.not_found();
    if (!s.sendfile_header.empty()) {
        if (accel_set && !s.accel_redirect.empty())
            key_error(kSec, "sendfile_header",
                      "set either accel_redirect (nginx) or sendfile_header (Apache "
                      "mod_xsendfile, lighttpd), not both");
        s.accel_redirect.clear();
    }

    if (s.root.empty()) {
        key_error(kSec, "root", "required: the folder served as the store's root \"/\"");
    } else if (!absolute(s.root)) {
        key_error(kSec, "root", fmt::format("\"{}\" is not an absolute path", s.root));
    } else {
        struct stat st {};
        if (::stat(s.root.c_str(), &st) != 0) {
            // Missing: the daemon makes it at start (mode 2750: files nginx must read for
            // X-Accel-Redirect inherit the folder's group), if it can.
            if (errno != ENOENT)
                key_error(kSec, "root", fmt::format("{}: {}", s.root, std::strerror(errno)));
            else
                writable_dir(kSec, "root", s.root);
        } else if (!S_ISDIR(st.st_mode)) {
            key_error(kSec, "root", fmt::format("{} is not a folder", s.root));
        } else if (access(s.root.c_str(), R_OK | X_OK) != 0) {
            key_error(kSec, "root",
                      fmt::format("cannot read {}: {}", s.root, std::strerror(errno)));
        } else if (!s.read_only && access(s.root.c_str(), W_OK) != 0) {
            key_warning(kSec, "root",
                        fmt::format("{} is not writable by the daemon: every item is read-only "
                                    "(set read_only = yes to say so)",
                                    s.root));
        }
        while (s.root.size() > 1 && s.root.back() == '/')
            s.root.pop_back();
    }
    if (writable_dir(kSec, "index", parent_of(s.index))) {
        struct stat st {};
        if (::stat(s.index.c_str(), &st) == 0 &&
            (!S_ISREG(st.st_mode) || access(s.index.c_str(), R_OK | W_OK) != 0))
            key_error(kSec, "index",
                      fmt::format("{} is not a file the daemon can read and write", s.index));
    }
    if (s.link_secret_file.empty())
        key_error(kSec, "link_secret_file",
                  "required: a file with a random secret of at least 32 bytes, mode 0640, that "
                  "signs the links browsers open");
    else
        read_secret(kSec, "link_secret_file", s.link_secret_file, 32, s.link_secret);
    writable_dir(kSec, "thumbnail_cache", s.thumbnail_cache);
    if (!s.read_only) writable_dir(kSec, "audit_file", parent_of(s.audit_file));
}

} // namespace wfhookd
