// [service] (what /serviceInfo reports) and [auth] (API keys, allowed users).
#include "config/loader.hpp"

#include "http/utf8.hpp"

#include <algorithm>

namespace wfhookd {

void Loader::service(const pt::ptree& node) {
    keys("service", node, [&](const std::string& key, const std::string& v) {
        std::string& out = key == "publisher" ? c_.service.publisher : c_.service.version;
        if (v.empty() || v.size() > 255 || !is_valid_utf8(v))
            key_error("service", key, "must be 1 to 255 bytes of UTF-8 text");
        else
            out = v;
    });
}

void Loader::auth(const pt::ptree& node) {
    keys("auth", node, [&](const std::string& key, const std::string& v) {
        if (key == "api_key_file") {
            c_.auth.api_key_file = v;
        } else if (key == "users") {
            c_.auth.users = split_words(v);
            for (const std::string& u : c_.auth.users)
                if (u.size() > 255 || !is_valid_utf8(u))
                    key_error("auth", key, "usernames must be at most 255 bytes of UTF-8");
        }
    });
    if (c_.auth.api_key_file.empty()) {
        // With [oauth2] (wherever it is in the file) API keys are optional: Loader::run.
        auth_without_keys_ = true;
        return;
    }
    if (c_.auth.api_key_file.front() != '/') {
        key_error("auth", "api_key_file",
                  fmt::format("\"{}\" is not an absolute path", c_.auth.api_key_file));
        return;
    }
    read_keys();
}

// The key file's content never stops a configuration from loading: a file that is missing,
// unreadable, empty or holds no valid key means "no API key is accepted" (a warning), so that
// emptying it and reloading revokes a leaked key at once (docs/operations.md). Its
// permissions are a different matter: a key file others can write is an error.
void Loader::read_keys() {
    const std::string& file = c_.auth.api_key_file;
    const auto refuse = [&](const std::string& why) {
        c_.auth.keys.clear();
        c_.auth.keys_refused = fmt::format("{} {}", file, why);
        key_warning("auth", "api_key_file",
                    fmt::format("{} {}: every request with an API key is refused (403) until it "
                                "holds a key",
                                file, why));
    };
    std::string text, error;
    struct stat st {};
    if (!read_small_file(file, kMaxConfigFile, text, error, &st)) {
        if (st.st_mode != 0 && S_ISREG(st.st_mode) && (st.st_mode & (S_IWGRP | S_IWOTH)))
            key_error("auth", "api_key_file",
                      fmt::format("{} is writable by {}: anyone who can write it can let "
                                  "themselves in; chmod 0640 it",
                                  file, (st.st_mode & S_IWOTH) ? "every user" : "its group"));
        return refuse(fmt::format("cannot be read ({})", error));
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        key_error("auth", "api_key_file",
                  fmt::format("{} is writable by {}: anyone who can write it can let themselves "
                              "in; chmod 0640 it",
                              file, (st.st_mode & S_IWOTH) ? "every user" : "its group"));
    } else if (st.st_mode & S_IROTH) {
        key_warning("auth", "api_key_file",
                    fmt::format("{} is readable by every user; chmod 0640 it", file));
    }
    std::size_t line_number = 0, start = 0, bad = 0;
    while (start <= text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        const std::string_view k = trim(std::string_view(text).substr(start, end - start));
        start = end + 1;
        ++line_number;
        if (k.empty() || k.front() == '#') continue;
        const bool printable =
            std::all_of(k.begin(), k.end(), [](char c) { return c > 0x20 && c < 0x7F; });
        // The key itself never appears in a message: only where it is and what is wrong.
        if (!printable) {
            ++bad;
            key_warning("auth", "api_key_file",
                        fmt::format("{} line {}: ignored: a key must be printable ASCII without "
                                    "spaces",
                                    file, line_number));
        } else if (k.size() < 16 || k.size() > 1024) {
            ++bad;
            key_warning("auth", "api_key_file",
                        fmt::format("{} line {}: ignored: a key must be 16 to 1024 characters "
                                    "long (this one has {})",
                                    file, line_number, k.size()));
        } else {
            c_.auth.keys.emplace_back(k);
        }
    }
    if (c_.auth.keys.empty()) refuse(bad > 0 ? "holds no valid key" : "contains no key");
}

} // namespace wfhookd
