// The loader behind load_config(): one object per load, one member function per section
// (each in a file of its own: server.cpp, auth.cpp, actions.cpp, ...). Messages always name
// the file, the section and the key.
#pragma once

#include "config/config.hpp"
#include "config/values.hpp"

#include <boost/property_tree/ptree.hpp>
#include <fmt/format.h>
#include <string>
#include <string_view>

namespace wfhookd {

namespace pt = boost::property_tree;

class Loader {
public:
    Loader(std::string path, ConfigResult& result, Config& config)
        : path_(std::move(path)), result_(result), c_(config) {}

    void run();

    // The sections (dispatched from kSections in loader.cpp).
    void server(const pt::ptree& node);
    void service(const pt::ptree& node);
    void auth(const pt::ptree& node);
    void action(const std::string& section, const pt::ptree& node);
    void store(const pt::ptree& node);
    void oauth2(const pt::ptree& node);

private:
    bool read(pt::ptree& tree);
    void empty_sections(const pt::ptree& tree);
    void ini_error(const std::string& message, unsigned long line);
    void cross_checks();
    void read_keys();
    // A secret of at least `min_bytes` from a file readable by the daemon and nobody else but
    // its group; problems are errors naming the key.
    bool read_secret(std::string_view section, std::string_view key, const std::string& file,
                     std::size_t min_bytes, std::string& out);
    // A folder the daemon can write: exists, or can be created with its missing parents
    // (`create`: -t never creates anything, the daemon does at start).
    bool writable_dir(std::string_view section, std::string_view key, const std::string& dir);
    bool check_setting(const std::string& section, const SettingSpec& spec, const std::string& v);

    void file_error(const std::string& msg);
    void section_error(std::string_view section, const std::string& msg);
    void key_error(std::string_view section, std::string_view key, const std::string& msg);
    void key_warning(std::string_view section, std::string_view key, const std::string& msg);

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
    static bool is_known(std::string_view section, std::string_view key);

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
    // A size key from `min` to `max` bytes (with a k, m or g suffix); false when invalid.
    bool size_key(std::string_view sec, std::string_view key, std::string_view v,
                  std::uint64_t& out, std::uint64_t min, std::uint64_t max);
    void prefixes_key(std::string_view sec, std::string_view key, std::string_view v,
                      std::vector<AddressPrefix>& out);

    std::string path_;
    std::string text_;
    ConfigResult& result_;
    Config& c_;
    bool max_params_set_ = false;
    bool auth_without_keys_ = false; // [auth] without api_key_file (fine with [oauth2])
};

// Splits a value on whitespace (lists of users, addresses).
std::vector<std::string> split_words(std::string_view s);

// "1k", "64k", "2m" for messages.
std::string size_text(std::uint64_t n);

} // namespace wfhookd
