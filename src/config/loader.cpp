#include "config/loader.hpp"

#include <algorithm>
#include <boost/property_tree/ini_parser.hpp>
#include <sstream>

#ifndef WFHOOKD_VERSION
#define WFHOOKD_VERSION "0.0.0"
#endif

namespace wfhookd {

namespace {

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
    {"server", "max_params_size", "(64k, or max_query_size + 16k if larger)"},
    {"server", "keep_conn_max", "4"},
    {"server", "keep_conn_idle", "5"},
    {"server", "status", "no"},
    {"server", "status_from", "(empty: loopback only)"},
    {"server", "allow_from", "(empty: any peer)"},
    {"service", "publisher", "wfhookd"},
    {"service", "version", "(wfhookd's own version)"},
    {"auth", "api_key_file", "(required)"},
    {"auth", "users", "(empty: any username)"},
    {"store", "root", "(required)"},
    {"store", "index", "/var/lib/wfhookd/index.sqlite"},
    {"store", "title", "(the root folder's name)"},
    {"store", "read_only", "no"},
    {"store", "max_page", "1000"},
    {"store", "link_secret_file", "(required)"},
    {"store", "link_ttl", "3600"},
    {"store", "public_url", "(empty: the request's own scheme, host and path)"},
    {"store", "accel_redirect", "/wfhookd-store/"},
    {"store", "sendfile_header", "(empty: none)"},
    {"store", "thumbnail_cache", "/var/cache/wfhookd/thumbnails"},
    {"store", "thumbnail_cache_size", "256m"},
    {"store", "max_upload_size", "1g"},
    {"store", "trash_days", "30"},
    {"store", "audit_file", "/var/lib/wfhookd/store-audit.jsonl"},
    {"oauth2", "client_id", "(required)"},
    {"oauth2", "client_secret_file", "(required)"},
    {"oauth2", "redirect_uri", "(required)"},
    {"oauth2", "access_token_ttl", "3600"},
    {"oauth2", "refresh_token_ttl", "90d"},
    {"oauth2", "code_ttl", "300"},
    {"oauth2", "user_header", "REMOTE_USER"},
    {"oauth2", "database", "/var/lib/wfhookd/oauth2.sqlite"},
    {"action:NAME", "type", "(required)"},
    {"action:NAME", "display_name", "(the action's NAME)"},
    {"action:NAME", "max_concurrent", "(0: at most workers - 1 at once)"},
};

// The sections, and what each one's name dispatches to. [action:NAME] is matched by prefix.
struct Section {
    std::string_view name;
    void (Loader::*parse)(const pt::ptree&);
};
constexpr Section kSections[] = {
    {"server", &Loader::server}, {"service", &Loader::service}, {"auth", &Loader::auth},
    {"store", &Loader::store},   {"oauth2", &Loader::oauth2},
};
constexpr std::string_view kKnownSections =
    "[server], [service], [auth], [store], [oauth2], [action:NAME]";

const Section* find_section(std::string_view name) {
    for (const Section& s : kSections)
        if (s.name == name) return &s;
    return nullptr;
}

} // namespace

std::vector<std::string> split_words(std::string_view s) {
    return split_command(s);
}

std::string size_text(std::uint64_t n) {
    if (n % (1024 * 1024) == 0) return fmt::format("{}m", n / (1024 * 1024));
    if (n % 1024 == 0) return fmt::format("{}k", n / 1024);
    return fmt::format("{}", n);
}

bool Loader::is_known(std::string_view section, std::string_view key) {
    return std::any_of(std::begin(kKeys), std::end(kKeys),
                       [&](const KeyInfo& k) { return k.section == section && k.key == key; });
}

void Loader::file_error(const std::string& msg) {
    result_.errors.push_back(fmt::format("{}: {}", path_, msg));
}
void Loader::section_error(std::string_view section, const std::string& msg) {
    result_.errors.push_back(fmt::format("{}: [{}]: {}", path_, section, msg));
}
void Loader::key_error(std::string_view section, std::string_view key, const std::string& msg) {
    result_.errors.push_back(fmt::format("{}: [{}] {}: {}", path_, section, key, msg));
}
void Loader::key_warning(std::string_view section, std::string_view key, const std::string& msg) {
    result_.warnings.push_back(fmt::format("{}: [{}] {}: {}", path_, section, key, msg));
}

bool Loader::size_key(std::string_view sec, std::string_view key, std::string_view v,
                      std::uint64_t& out, std::uint64_t min, std::uint64_t max) {
    std::uint64_t n = 0;
    if (!parse_size(v, n) || n < min || n > max) {
        key_error(sec, key,
                  fmt::format("\"{}\" is not a size from {} to {} (bytes, or with a k, m or g "
                              "suffix)",
                              v, size_text(min), size_text(max)));
        return false;
    }
    out = n;
    return true;
}

void Loader::prefixes_key(std::string_view sec, std::string_view key, std::string_view v,
                          std::vector<AddressPrefix>& out) {
    std::string err;
    for (const std::string& word : split_words(v)) {
        AddressPrefix p;
        if (!parse_address_prefix(word, p, err))
            key_error(sec, key, err);
        else
            out.push_back(p);
    }
}

void Loader::run() {
    pt::ptree tree;
    if (!read(tree)) return;
    c_.service.version = WFHOOKD_VERSION;
    bool seen_auth = false;
    for (const auto& [name, node] : tree) {
        // A section has children or nothing; a value without children is a key written
        // before the first section, even when it is named like one (`server = 1`).
        if (node.empty() && !node.data().empty()) {
            file_error(fmt::format("key \"{}\" is outside any section", name));
        } else if (const Section* s = find_section(name)) {
            seen_auth |= name == "auth";
            (this->*s->parse)(node);
        } else if (name.rfind("action:", 0) == 0) {
            action(name, node);
        } else if (node.empty()) {
            file_error(fmt::format("key \"{}\" is outside any section", name));
        } else {
            section_error(name, fmt::format("unknown section (known: {})", kKnownSections));
        }
    }
    empty_sections(tree);
    // OAuth2 alone is a valid setup (bearer tokens only); otherwise API keys are the way in.
    if (!seen_auth && !c_.oauth2.enabled)
        section_error("auth", "missing section: api_key_file is required (or configure [oauth2])");
    if (auth_without_keys_ && !c_.oauth2.enabled)
        key_error("auth", "api_key_file",
                  "required: a file with one API key per line (or configure [oauth2])");
    if (c_.oauth2.enabled && c_.auth.api_key_file.empty())
        c_.auth.keys_refused = "no [auth] api_key_file: OAuth2 bearer tokens only";
    c_.oauth2.token_file = c_.store.enabled ? c_.store.index : c_.oauth2.database;
    if (c_.oauth2.enabled && !c_.store.enabled && c_.oauth2.database.starts_with("/"))
        writable_dir("oauth2", "database", parent_of(c_.oauth2.database));
    cross_checks();
}

bool Loader::read(pt::ptree& tree) {
    std::string error;
    if (!read_small_file(path_, kMaxConfigFile, text_, error)) {
        file_error(fmt::format("cannot read the configuration: {}", error));
        return false;
    }
    if (text_.starts_with("\xEF\xBB\xBF")) {
        file_error("starts with a UTF-8 byte-order mark; save the file without it");
        return false;
    }
    std::istringstream stream(text_);
    try {
        pt::ini_parser::read_ini(stream, tree);
    } catch (const pt::ini_parser_error& e) {
        ini_error(e.message(), e.line());
        return false;
    }
    return true;
}

// PropertyTree drops a section that has no keys. Check those names too, so an empty
// [action:NAME] (no type) or a misspelt empty section is an error, not silently nothing.
void Loader::empty_sections(const pt::ptree& tree) {
    std::istringstream lines(text_);
    std::string line;
    while (std::getline(lines, line)) {
        const std::string_view t = trim(line);
        if (!t.starts_with("[")) continue;
        const std::string name(trim(t.substr(1, t.find(']') - 1)));
        if (tree.find(name) != tree.not_found()) continue;
        if (name.rfind("action:", 0) == 0)
            action(name, pt::ptree());
        else if (name == "store")
            store(pt::ptree()); // present but empty: root is still required
        else if (name == "oauth2")
            oauth2(pt::ptree()); // likewise: client_id and the rest
        else if (find_section(name) == nullptr)
            section_error(name, fmt::format("unknown section (known: {})", kKnownSections));
    }
}

// PropertyTree reports "duplicate section name" / "duplicate key name" with a line number
// only; name the section and key so the message stands on its own.
void Loader::ini_error(const std::string& msg, unsigned long line_number) {
    std::istringstream lines(text_);
    std::string line, section;
    for (unsigned long n = 1; std::getline(lines, line) && n <= line_number; ++n) {
        const std::string_view t = trim(line);
        if (t.starts_with("[") && t.ends_with("]")) section = t.substr(1, t.size() - 2);
        if (n == line_number) break;
    }
    const std::string_view t = trim(line);
    const std::string where = fmt::format("{}: line {}", path_, line_number);
    if (msg.find("duplicate section") != std::string::npos) {
        result_.errors.push_back(fmt::format("{}: [{}]: {}", where, section,
                                             section.rfind("action:", 0) == 0
                                                 ? "duplicate action (each action name once)"
                                                 : "duplicate section"));
    } else if (msg.find("duplicate key") != std::string::npos) {
        const std::string key(trim(t.substr(0, t.find('='))));
        result_.errors.push_back(fmt::format("{}: [{}] {}: duplicate key", where, section, key));
    } else {
        result_.errors.push_back(fmt::format("{}: {}: \"{}\"", where, msg, t));
    }
}

void Loader::cross_checks() {
    ServerConfig& s = c_.server;
    if (!max_params_set_)
        s.max_params_size = std::max<std::size_t>(65536, s.max_query_size + 16384);
    if (s.max_params_size < s.max_query_size + 1024)
        key_error("server", "max_params_size",
                  fmt::format("{} leaves no room for a query string of max_query_size ({}) and the "
                              "other parameters; make it at least max_query_size + 16k",
                              size_text(s.max_params_size), size_text(s.max_query_size)));
    for (const ActionConfig& a : c_.actions) {
        if (a.type->run != &run_move) continue;
        if (!c_.store.enabled)
            key_error("action:" + a.name, "type",
                      "a move action moves files of the document store: add a [store] section");
        else if (c_.store.read_only)
            key_warning("action:" + a.name, "type",
                        "the store is read-only ([store] read_only): every call will fail");
    }
    const unsigned deadline = s.request_timeout;
    if (deadline == 0) return;
    for (ActionConfig& a : c_.actions) {
        for (const SettingSpec& spec : a.type->settings) {
            if (spec.kind != SettingKind::seconds ||
                (spec.key != "timeout" && spec.key != "lock_timeout"))
                continue;
            // A timeout that failed its own check was reported and left out of settings,
            // where a.seconds() would throw.
            if (std::none_of(a.settings.begin(), a.settings.end(),
                             [&](const auto& kv) { return kv.first == spec.key; }))
                continue;
            // The append lock's default wait shrinks to fit a short request_timeout: it is a
            // detail no operator should have to tune. What the operator wrote is checked.
            if (spec.key == "lock_timeout" && a.seconds(spec.key) >= deadline &&
                std::find(a.defaulted.begin(), a.defaulted.end(), spec.key) != a.defaulted.end()) {
                for (auto& kv : a.settings)
                    if (kv.first == spec.key) kv.second = std::to_string(deadline - 1);
                continue;
            }
            if (a.seconds(spec.key) >= deadline)
                key_error("action:" + a.name, spec.key,
                          fmt::format("{} must be less than [server] request_timeout ({}), or "
                                      "the request deadline kills the worker first",
                                      a.seconds(spec.key), deadline));
        }
    }
}

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
