#include "config/config.hpp"

#include <algorithm>
#include <boost/property_tree/ini_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <grp.h>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include "http/utf8.hpp"

#ifndef WFHOOKD_VERSION
#define WFHOOKD_VERSION "0.0.0"
#endif

namespace wfhookd {

namespace {

namespace pt = boost::property_tree;

constexpr KeyInfo kKeys[] = {
    {"server", "listen", "(none: use the inherited socket)"},
    {"server", "socket_mode", "0660"},
    {"server", "socket_group", "(none: the daemon's group)"},
    {"server", "backlog", "511"},
    {"server", "workers", "4"},
    {"server", "shutdown_timeout", "30"},
    {"server", "request_timeout", "60"},
    {"server", "io_timeout", "10"},
    {"server", "max_requests", "0"},
    {"server", "max_requests_jitter", "(max_requests / 10)"},
    {"server", "max_query_size", "8192"},
    {"server", "max_body_size", "65536"},
    {"server", "status", "no"},
    {"server", "allow_from", "(empty: any peer)"},
    {"service", "publisher", "wfhookd"},
    {"service", "version", "(wfhookd's own version)"},
    {"auth", "api_key_file", "(required)"},
    {"auth", "users", "(empty: any username)"},
    {"action:NAME", "type", "(required)"},
    {"action:NAME", "display_name", "(the action's NAME)"},
    {"action:NAME", "max_concurrent", "0"},
};

constexpr std::string_view kCommonActionKeys[] = {"type", "display_name", "max_concurrent"};

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_space(s.back()))
        s.remove_suffix(1);
    return s;
}

// PropertyTree keeps inline comments as part of the value. We strip a `;` or `#` that follows
// whitespace (so `key = value   ; note` works as operators expect) and keep one that does not
// (so `--flag=#1` survives).
std::string clean_value(std::string_view raw) {
    std::string_view v = trim(raw);
    for (std::size_t i = 1; i < v.size(); ++i) {
        if ((v[i] == ';' || v[i] == '#') && is_space(v[i - 1])) {
            v = v.substr(0, i);
            break;
        }
    }
    if (!v.empty() && (v.front() == ';' || v.front() == '#')) v = {};
    return std::string(trim(v));
}

template <typename T>
bool parse_number(std::string_view s, T& out, int base = 10) {
    if (s.empty()) return false;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
    return ec == std::errc() && p == s.data() + s.size();
}

// Byte sizes: a whole number with an optional k/K or m/M suffix (powers of 1024).
bool parse_size(std::string_view s, std::size_t& out) {
    std::size_t mult = 1;
    if (!s.empty() && (s.back() == 'k' || s.back() == 'K')) mult = 1024;
    if (!s.empty() && (s.back() == 'm' || s.back() == 'M')) mult = 1024 * 1024;
    if (mult != 1) s.remove_suffix(1);
    std::size_t n = 0;
    if (!parse_number(s, n) || n > (std::size_t(1) << 40) / mult) return false;
    out = n * mult;
    return true;
}

bool parse_bool(std::string_view s, bool& out) {
    if (s == "yes" || s == "true" || s == "on" || s == "1") return out = true, true;
    if (s == "no" || s == "false" || s == "off" || s == "0") return out = false, true;
    return false;
}

std::vector<std::string> split_words(std::string_view s) {
    return split_command(s);
}

bool valid_action_name(std::string_view name) {
    if (name.empty() || name.size() > kMaxNameLength) return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        const bool alnum =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '_' && c != '-' && c != '.'))) return false;
    }
    return true;
}

std::string known_types() {
    std::string known;
    for (const ActionType& t : action_types())
        known += (known.empty() ? "" : ", ") + std::string(t.name);
    return known;
}

std::string describe_errno(int e) {
    return std::strerror(e);
}

class Loader {
public:
    Loader(std::string path, ConfigResult& result, Config& config)
        : path_(std::move(path)), result_(result), c_(config) {}

    void run() {
        pt::ptree tree;
        if (!read(tree)) return;
        c_.service.version = WFHOOKD_VERSION;
        bool seen_auth = false;
        for (const auto& [name, node] : tree) {
            // A section has children or nothing; a value without children is a key written
            // before the first section, even when it is named like one (`server = 1`).
            if (node.empty() && !node.data().empty()) {
                file_error(fmt::format("key \"{}\" is outside any section", name));
            } else if (name == "server") {
                server(node);
            } else if (name == "service") {
                service(node);
            } else if (name == "auth") {
                seen_auth = true;
                auth(node);
            } else if (name.rfind("action:", 0) == 0) {
                action(name, node);
            } else if (node.empty()) {
                file_error(fmt::format("key \"{}\" is outside any section", name));
            } else {
                section_error(name, "unknown section (known: [server], [service], [auth], "
                                    "[action:NAME])");
            }
        }
        empty_sections(tree);
        if (!seen_auth) section_error("auth", "missing section: api_key_file is required");
        cross_checks();
    }

private:
    bool read(pt::ptree& tree) {
        std::ifstream in(path_, std::ios::binary);
        if (!in) {
            file_error(fmt::format("cannot open: {}", describe_errno(errno)));
            return false;
        }
        std::stringstream buffer;
        buffer << in.rdbuf();
        text_ = buffer.str();
        if (text_.starts_with("\xEF\xBB\xBF")) {
            file_error("starts with a UTF-8 byte-order mark; save the file without it");
            return false;
        }
        std::istringstream stream(text_);
        try {
            pt::ini_parser::read_ini(stream, tree);
        } catch (const pt::ini_parser_error& e) {
            ini_error(e);
            return false;
        }
        return true;
    }

    // PropertyTree drops a section that has no keys. Check those names too, so an empty
    // [action:NAME] (no type) or a misspelt empty section is an error, not silently nothing.
    void empty_sections(const pt::ptree& tree) {
        std::istringstream lines(text_);
        std::string line;
        while (std::getline(lines, line)) {
            const std::string_view t = trim(line);
            if (!t.starts_with("[")) continue;
            const std::string name(trim(t.substr(1, t.find(']') - 1)));
            if (tree.find(name) != tree.not_found()) continue;
            if (name.rfind("action:", 0) == 0)
                action(name, pt::ptree());
            else if (name != "server" && name != "service" && name != "auth")
                section_error(name, "unknown section (known: [server], [service], [auth], "
                                    "[action:NAME])");
        }
    }

    // PropertyTree reports "duplicate section name" / "duplicate key name" with a line number
    // only; name the section and key so the message stands on its own.
    void ini_error(const pt::ini_parser_error& e) {
        std::istringstream lines(text_);
        std::string line, section;
        for (unsigned long n = 1; std::getline(lines, line) && n <= e.line(); ++n) {
            const std::string_view t = trim(line);
            if (t.starts_with("[") && t.ends_with("]")) section = t.substr(1, t.size() - 2);
            if (n == e.line()) break;
        }
        const std::string_view t = trim(line);
        const std::string msg = e.message();
        const std::string where = fmt::format("{}: line {}", path_, e.line());
        if (msg.find("duplicate section") != std::string::npos) {
            result_.errors.push_back(fmt::format("{}: [{}]: {}", where, section,
                                                 section.rfind("action:", 0) == 0
                                                     ? "duplicate action (each action name once)"
                                                     : "duplicate section"));
        } else if (msg.find("duplicate key") != std::string::npos) {
            const std::string key(trim(t.substr(0, t.find('='))));
            result_.errors.push_back(
                fmt::format("{}: [{}] {}: duplicate key", where, section, key));
        } else {
            result_.errors.push_back(fmt::format("{}: {}: \"{}\"", where, msg, t));
        }
    }

    void file_error(const std::string& msg) {
        result_.errors.push_back(fmt::format("{}: {}", path_, msg));
    }
    void section_error(std::string_view section, const std::string& msg) {
        result_.errors.push_back(fmt::format("{}: [{}]: {}", path_, section, msg));
    }
    void key_error(std::string_view section, std::string_view key, const std::string& msg) {
        result_.errors.push_back(fmt::format("{}: [{}] {}: {}", path_, section, key, msg));
    }
    void key_warning(std::string_view section, std::string_view key, const std::string& msg) {
        result_.warnings.push_back(fmt::format("{}: [{}] {}: {}", path_, section, key, msg));
    }

    static bool is_known(std::string_view section, std::string_view key) {
        return std::any_of(std::begin(kKeys), std::end(kKeys),
                           [&](const KeyInfo& k) { return k.section == section && k.key == key; });
    }

    // Visits the section's keys: unknown keys are errors, known ones go to `apply`.
    template <typename Apply>
    void keys(std::string_view section, const pt::ptree& node, Apply&& apply) {
        for (const auto& [key, child] : node) {
            if (!is_known(section, key)) {
                key_error(section, key, "unknown key");
                continue;
            }
            apply(key, clean_value(child.data()));
        }
    }

    template <typename T>
    void uint_key(std::string_view sec, std::string_view key, std::string_view v, T& out, T min,
                  T max) {
        T n{};
        if (!parse_number(v, n) || n < min || n > max)
            key_error(sec, key,
                      fmt::format("\"{}\" is not a whole number from {} to {}", v, min, max));
        else
            out = n;
    }

    void server(const pt::ptree& node) {
        ServerConfig& s = c_.server;
        bool jitter_set = false;
        keys("server", node, [&](const std::string& key, const std::string& v) {
            std::string err;
            if (key == "listen") {
                if (v.empty()) return; // same as absent: inherited socket
                if (!parse_listen_address(v, s.listen, err)) key_error("server", key, err);
            } else if (key == "socket_mode") {
                unsigned mode = 0;
                if (!parse_number(v, mode, 8) || mode > 0777)
                    key_error("server", key,
                              fmt::format("\"{}\" is not an octal mode such as 0660", v));
                else
                    s.socket_mode = mode;
            } else if (key == "socket_group") {
                if (!v.empty() && getgrnam(v.c_str()) == nullptr)
                    key_error("server", key, fmt::format("no such group \"{}\"", v));
                s.socket_group = v;
            } else if (key == "backlog") {
                uint_key("server", key, v, s.backlog, 1, 65535);
            } else if (key == "workers") {
                uint_key("server", key, v, s.workers, 1u, kMaxWorkers);
            } else if (key == "shutdown_timeout") {
                uint_key("server", key, v, s.shutdown_timeout, 1u, 3600u);
            } else if (key == "request_timeout") {
                uint_key("server", key, v, s.request_timeout, 0u, 86400u);
            } else if (key == "io_timeout") {
                uint_key("server", key, v, s.io_timeout, 1u, 3600u);
            } else if (key == "max_requests") {
                uint_key<std::uint64_t>("server", key, v, s.max_requests, 0, 1'000'000'000'000);
            } else if (key == "max_requests_jitter") {
                jitter_set = true;
                uint_key<std::uint64_t>("server", key, v, s.max_requests_jitter, 0,
                                        1'000'000'000'000);
            } else if (key == "max_query_size" || key == "max_body_size") {
                std::size_t n = 0;
                if (!parse_size(v, n) || n < 1024 || n > (std::size_t(1) << 30))
                    key_error("server", key,
                              fmt::format("\"{}\" is not a size from 1k to 1024m (bytes, or "
                                          "with a k or m suffix)",
                                          v));
                else
                    (key == "max_query_size" ? s.max_query_size : s.max_body_size) = n;
            } else if (key == "status") {
                if (!parse_bool(v, s.status))
                    key_error("server", key, fmt::format("\"{}\" is not yes or no", v));
            } else if (key == "allow_from") {
                for (const std::string& word : split_words(v)) {
                    AddressPrefix p;
                    if (!parse_address_prefix(word, p, err))
                        key_error("server", key, err);
                    else
                        s.allow_from.push_back(p);
                }
            }
        });
        if (!jitter_set) s.max_requests_jitter = s.max_requests / 10;
        if (s.max_requests > 0 && s.max_requests_jitter >= s.max_requests)
            key_error("server", "max_requests_jitter",
                      fmt::format("must be less than max_requests ({})", s.max_requests));
        if (!s.allow_from.empty() && s.listen.kind == ListenAddress::Kind::unix_path)
            key_warning("server", "allow_from",
                        "ignored for unix sockets (file permissions guard those)");
    }

    void service(const pt::ptree& node) {
        keys("service", node, [&](const std::string& key, const std::string& v) {
            std::string& out = key == "publisher" ? c_.service.publisher : c_.service.version;
            if (v.empty() || v.size() > 255 || !is_valid_utf8(v))
                key_error("service", key, "must be 1 to 255 bytes of UTF-8 text");
            else
                out = v;
        });
    }

    void auth(const pt::ptree& node) {
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
            key_error("auth", "api_key_file", "required: a file with one API key per line");
            return;
        }
        read_keys();
    }

    void read_keys() {
        const std::string& file = c_.auth.api_key_file;
        if (file.front() != '/') {
            key_error("auth", "api_key_file", fmt::format("\"{}\" is not an absolute path", file));
            return;
        }
        std::ifstream in(file);
        struct stat st {};
        if (!in || stat(file.c_str(), &st) != 0) {
            key_error("auth", "api_key_file",
                      fmt::format("cannot read {}: {}", file, describe_errno(errno)));
            return;
        }
        if (!S_ISREG(st.st_mode)) {
            key_error("auth", "api_key_file", fmt::format("{} is not a regular file", file));
            return;
        }
        if (st.st_mode & S_IROTH)
            key_warning("auth", "api_key_file",
                        fmt::format("{} is readable by every user; chmod 0640 it", file));
        const std::size_t errors_before = result_.errors.size();
        std::string line;
        for (unsigned n = 1; std::getline(in, line); ++n) {
            const std::string_view k = trim(line);
            if (k.empty() || k.front() == '#') continue;
            const bool printable =
                std::all_of(k.begin(), k.end(), [](char c) { return c > 0x20 && c < 0x7F; });
            // The key itself never appears in a message: only where it is and what is wrong.
            if (!printable)
                key_error("auth", "api_key_file",
                          fmt::format("{} line {}: a key must be printable ASCII without spaces",
                                      file, n));
            else if (k.size() < 16 || k.size() > 1024)
                key_error("auth", "api_key_file",
                          fmt::format("{} line {}: a key must be 16 to 1024 characters long "
                                      "(this one has {})",
                                      file, n, k.size()));
            else
                c_.auth.keys.emplace_back(k);
        }
        if (in.bad()) {
            key_error("auth", "api_key_file",
                      fmt::format("cannot read {}: {}", file, describe_errno(errno)));
        } else if (c_.auth.keys.empty() && result_.errors.size() == errors_before) {
            key_error("auth", "api_key_file", fmt::format("{} contains no key", file));
        }
    }

    void action(const std::string& section, const pt::ptree& node) {
        const std::string name = section.substr(7);
        if (!valid_action_name(name)) {
            section_error(section, fmt::format("action names are 1 to {} letters, digits, '_', "
                                               "'-' or '.', starting with a letter or digit",
                                               kMaxNameLength));
            return;
        }
        if (c_.actions.size() == kMaxActions) {
            section_error(section, fmt::format("too many actions (at most {})", kMaxActions));
            return;
        }
        ActionConfig a;
        a.name = name;
        a.display_name = name;
        a.index = c_.actions.size();
        std::vector<std::pair<std::string, std::string>> given;
        for (const auto& [key, child] : node) {
            const std::string v = clean_value(child.data());
            if (key == "type") {
                a.type = find_action_type(v);
                if (a.type == nullptr) {
                    key_error(section, key,
                              fmt::format("unknown type \"{}\" (known: {})", v, known_types()));
                    return;
                }
            } else if (key == "display_name") {
                if (v.empty() || v.size() > 255 || !is_valid_utf8(v))
                    key_error(section, key, "must be 1 to 255 bytes of UTF-8 text");
                a.display_name = v;
            } else if (key == "max_concurrent") {
                uint_key(section, key, v, a.max_concurrent, 0u, 100000u);
            } else {
                given.emplace_back(key, v);
            }
        }
        if (a.type == nullptr) {
            key_error(section, "type", fmt::format("required (one of: {})", known_types()));
            return;
        }
        for (const auto& kv : given) {
            const std::string& key = kv.first;
            const auto& specs = a.type->settings;
            if (std::none_of(specs.begin(), specs.end(),
                             [&](const SettingSpec& s) { return s.key == key; })) {
                std::string allowed;
                for (const std::string_view k : kCommonActionKeys)
                    allowed += std::string(allowed.empty() ? "" : ", ") + std::string(k);
                for (const SettingSpec& s : specs)
                    allowed += ", " + std::string(s.key);
                key_error(section, key,
                          fmt::format("unknown key for a {} action (allowed: {})", a.type->name,
                                      allowed));
            }
        }
        for (const SettingSpec& spec : a.type->settings) {
            auto it = std::find_if(given.begin(), given.end(),
                                   [&](const auto& kv) { return kv.first == spec.key; });
            if (it == given.end()) {
                if (spec.required) {
                    key_error(section, spec.key, fmt::format("required: {}", spec.doc));
                    continue;
                }
                a.settings.emplace_back(spec.key, spec.default_value);
                continue;
            }
            if (check_setting(section, spec, it->second)) a.settings.emplace_back(*it);
        }
        if (c_.find_action(name) != nullptr) {
            section_error(section, "duplicate action (each action name once)");
            return;
        }
        c_.actions.push_back(std::move(a));
    }

    bool check_setting(const std::string& section, const SettingSpec& spec, const std::string& v) {
        const auto fail = [&](const std::string& msg) {
            key_error(section, spec.key, msg);
            return false;
        };
        if (v.empty()) return fail("must not be empty");
        switch (spec.kind) {
        case SettingKind::text:
            return true;
        case SettingKind::seconds: {
            unsigned n = 0;
            if (!parse_number(v, n) || n < 1 || n > 86400)
                return fail(
                    fmt::format("\"{}\" is not a whole number of seconds from 1 to 86400", v));
            return true;
        }
        case SettingKind::command: {
            const std::vector<std::string> argv = split_command(v);
            const std::string& prog = argv.front();
            if (prog.front() != '/')
                return fail(fmt::format("\"{}\" is not an absolute path (no shell and no PATH "
                                        "search: write /usr/bin/{})",
                                        prog, prog));
            struct stat st {};
            if (stat(prog.c_str(), &st) != 0)
                return fail(fmt::format("{}: {}", prog, describe_errno(errno)));
            if (!S_ISREG(st.st_mode) || access(prog.c_str(), X_OK) != 0 || (st.st_mode & 0111) == 0)
                return fail(fmt::format("{} is not an executable file", prog));
            return true;
        }
        case SettingKind::directory: {
            if (v.front() != '/') return fail(fmt::format("\"{}\" is not an absolute path", v));
            struct stat st {};
            if (stat(v.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
                return fail(fmt::format("directory {} does not exist", v));
            if (access(v.c_str(), W_OK | X_OK) != 0)
                return fail(fmt::format("cannot create files in {}: {}", v, describe_errno(errno)));
            return true;
        }
        case SettingKind::file_path: {
            if (v.front() != '/') return fail(fmt::format("\"{}\" is not an absolute path", v));
            if (v.back() == '/') return fail(fmt::format("\"{}\" names a directory", v));
            const std::string dir = v.substr(0, std::max<std::size_t>(1, v.rfind('/')));
            struct stat st {};
            if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
                return fail(fmt::format("directory {} does not exist", dir));
            if (stat(v.c_str(), &st) == 0) {
                if (!S_ISREG(st.st_mode)) return fail(fmt::format("{} is not a regular file", v));
                // Read as well: a partial last line left by a crash is found by reading.
                if (access(v.c_str(), R_OK | W_OK) != 0)
                    return fail(fmt::format("{} is not readable and writable: {}", v,
                                            describe_errno(errno)));
            } else if (access(dir.c_str(), W_OK) != 0) {
                return fail(
                    fmt::format("cannot create files in {}: {}", dir, describe_errno(errno)));
            }
            return true;
        }
        }
        return true;
    }

    void cross_checks() {
        const unsigned deadline = c_.server.request_timeout;
        if (deadline == 0) return;
        for (const ActionConfig& a : c_.actions) {
            for (const SettingSpec& spec : a.type->settings) {
                if (spec.kind != SettingKind::seconds || spec.key != "timeout") continue;
                // A timeout that failed its own check was reported and left out of settings,
                // where a.seconds() would throw.
                if (std::none_of(a.settings.begin(), a.settings.end(),
                                 [&](const auto& kv) { return kv.first == spec.key; }))
                    continue;
                if (a.seconds("timeout") >= deadline)
                    key_error("action:" + a.name, "timeout",
                              fmt::format("{} must be less than [server] request_timeout ({}), or "
                                          "the request deadline kills the worker first",
                                          a.seconds("timeout"), deadline));
            }
        }
    }

    std::string path_;
    std::string text_;
    ConfigResult& result_;
    Config& c_;
};

} // namespace

const ActionConfig* Config::find_action(std::string_view name) const {
    for (const ActionConfig& a : actions)
        if (a.name == name) return &a;
    return nullptr;
}

ConfigResult load_config(const std::string& path) {
    ConfigResult result;
    auto config = std::make_shared<Config>();
    config->path = path;
    Loader(path, result, *config).run();
    if (result.errors.empty()) result.config = std::move(config);
    return result;
}

std::span<const KeyInfo> config_keys() {
    return kKeys;
}

} // namespace wfhookd
