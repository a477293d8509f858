// [action:NAME]: one configured action each, checked against its type's settings table.
#include "config/loader.hpp"
#include "store/store.hpp"

#include "http/utf8.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace wfhookd {

namespace {

constexpr std::string_view kCommonActionKeys[] = {"type", "display_name", "max_concurrent"};

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

} // namespace

void Loader::action(const std::string& section, const pt::ptree& node) {
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
            key_error(
                section, key,
                fmt::format("unknown key for a {} action (allowed: {})", a.type->name, allowed));
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
            a.defaulted.emplace_back(spec.key);
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

bool Loader::check_setting(const std::string& section, const SettingSpec& spec,
                           const std::string& v) {
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
            return fail(fmt::format("\"{}\" is not a whole number of seconds from 1 to 86400", v));
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
    case SettingKind::existing_directory: {
        if (v.front() != '/') return fail(fmt::format("\"{}\" is not an absolute path", v));
        struct stat st {};
        if (stat(v.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
            return fail(fmt::format("directory {} does not exist", v));
        return true;
    }
    case SettingKind::store_folder: {
        if (v.front() == '/')
            return fail(
                fmt::format("\"{}\" must be relative to [store] root (e.g. Archive/2026)", v));
        for (std::size_t start = 0; start < v.size();) {
            std::size_t end = v.find('/', start);
            if (end == std::string::npos) end = v.size();
            const std::string_view part = std::string_view(v).substr(start, end - start);
            if (!part.empty())
                if (const std::string problem = name_problem(part); !problem.empty())
                    return fail(fmt::format("\"{}\": the folder name \"{}\" {}", v, part, problem));
            start = end + 1;
        }
        return true;
    }
    case SettingKind::umask: {
        unsigned mask = 0;
        if (!parse_number(v, mask, 8) || mask > 0777)
            return fail(fmt::format("\"{}\" is not an octal umask such as 027", v));
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
                return fail(
                    fmt::format("{} is not readable and writable: {}", v, describe_errno(errno)));
        } else if (access(dir.c_str(), W_OK) != 0) {
            return fail(fmt::format("cannot create files in {}: {}", dir, describe_errno(errno)));
        }
        return true;
    }
    }
    return true;
}

} // namespace wfhookd
