// The files an operator reads and edits stay in step with the loader: the sample
// configuration (etc/wfhookd.conf, installed as /etc/wfhookd/wfhookd.conf) and
// docs/configuration.md list every key with its default, and the sample and every example in
// it pass `wfhookd -t`.
#include "config/config.hpp"
#include "support/stack.hpp"

#include <boost/test/unit_test.hpp>

#include <regex>
#include <sstream>
#include <sys/wait.h>

using namespace wftest;

namespace {

std::string sample_path() {
    return source_dir() + "/etc/wfhookd.conf";
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (std::size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
        s.replace(p, from.size(), to);
    return s;
}

// A literal default ("4", "no", "0660"); the others are explanations in parentheses.
bool literal(std::string_view default_text) {
    return !default_text.starts_with("(");
}

struct Check {
    int status;
    std::string output;
};

Check check_config(const TempDir& dir, const std::string& text) {
    dir.write("sample.conf", text);
    Process p({wfhookd_binary(), "-t", "-c", dir.file("sample.conf")}, dir.file("check.out"));
    const int status = p.wait(15s);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(dir.file("check.out"))};
}

} // namespace

BOOST_AUTO_TEST_SUITE(deployment_files)

// Each key appears as `key = value` (commented out or not) in its section, and its default is
// visible: as that value for a literal default, in a "Default: ..." comment otherwise.
BOOST_AUTO_TEST_CASE(the_sample_config_lists_every_key_with_its_default) {
    const std::string sample = read_file(sample_path());
    BOOST_TEST_REQUIRE(!sample.empty());
    // section -> the `key = value` lines in it, with any leading '#' removed.
    std::multimap<std::string, std::string> lines;
    std::istringstream in(sample);
    std::string line, section;
    const std::regex header(R"(^#?\[([a-z0-9]+)(:[A-Za-z0-9_.-]+)?\]$)");
    const std::regex setting(R"(^#?([a-z_]+ = .*)$)");
    std::smatch m;
    while (std::getline(in, line)) {
        if (std::regex_match(line, m, header))
            section = m[2].matched ? "action:NAME" : std::string(m[1]);
        else if (std::regex_match(line, m, setting))
            lines.emplace(section, m[1]);
    }
    for (const wfhookd::KeyInfo& k : wfhookd::config_keys()) {
        const std::string key(k.key), def(k.default_text);
        BOOST_TEST_CONTEXT("[" << k.section << "] " << key << ", default " << def) {
            bool present = false, with_default = false;
            const auto [from, to] = lines.equal_range(std::string(k.section));
            for (auto it = from; it != to; ++it) {
                present = present || it->second.starts_with(key + " = ");
                with_default = with_default || it->second == key + " = " + def;
            }
            BOOST_TEST(present);
            if (literal(def))
                BOOST_TEST(with_default);
            else
                BOOST_TEST(sample.find("Default: " + def) != std::string::npos);
        }
    }
}

BOOST_AUTO_TEST_CASE(the_sample_config_passes_wfhookd_t_as_shipped_and_with_every_example) {
    TempDir dir;
    dir.write("api-keys", "0123456789abcdef0123456789abcdef\n", 0640);
    dir.write("link-secret", "0123456789abcdef0123456789abcdef0123456789\n", 0640);
    dir.write("oauth2-client-secret", "0123456789abcdef0123456789abcdef0123456789\n", 0640);
    std::string sample = read_file(sample_path());
    sample = replace_all(sample, "/etc/wfhookd/api-keys", dir.file("api-keys"));
    sample = replace_all(sample, "/etc/wfhookd/link-secret", dir.file("link-secret"));
    sample =
        replace_all(sample, "/etc/wfhookd/oauth2-client-secret", dir.file("oauth2-client-secret"));
    sample = replace_all(sample, "/srv/wfhookd", dir.file("srv"));
    sample = replace_all(sample, "/var/cache/wfhookd", dir.file("cache"));
    const Check shipped = check_config(dir, sample);
    BOOST_TEST(shipped.status == 0, shipped.output);
    BOOST_TEST(shipped.output.find("is valid (0 actions)") != std::string::npos, shipped.output);

    // Every commented-out setting and example action switched on, with the paths of an
    // installed system moved here.
    dir.write("state/review/.keep", "");
    sample = replace_all(sample, "/var/lib/wfhookd", dir.file("state"));
    sample = replace_all(sample, "/usr/share/wfhookd/examples", source_dir() + "/examples");
    sample = std::regex_replace(
        sample, std::regex(R"((^|\n)#([a-z_0-9]+ = |\[action:|\[oauth2\]))"), "$1$2");
    // The two download modes exclude each other: keep the X-Sendfile example.
    sample = replace_all(sample, "\naccel_redirect = ", "\n#accel_redirect = ");
    const Check all = check_config(dir, sample);
    BOOST_TEST(all.status == 0, all.output + sample);
    BOOST_TEST(all.output.find("is valid (4 actions)") != std::string::npos, all.output);
}

// docs/configuration.md: a table row per key with its default, and a section per action type
// with a row per setting.
BOOST_AUTO_TEST_CASE(configuration_md_documents_every_key_and_action_type) {
    const std::string doc = read_file(source_dir() + "/docs/configuration.md");
    BOOST_TEST_REQUIRE(!doc.empty());
    for (const wfhookd::KeyInfo& k : wfhookd::config_keys()) {
        const std::string def(k.default_text);
        const std::string key = "| `" + std::string(k.key) + "` | ";
        const std::string code = key + "`" + def + "` |", plain = key + def + " |";
        // A literal default is code; an explanation may be either.
        BOOST_TEST((doc.find(code) != std::string::npos ||
                    (!literal(def) && doc.find(plain) != std::string::npos)),
                   code);
    }
    for (const wfhookd::ActionType& t : wfhookd::action_types()) {
        const std::string heading = "### `type = " + std::string(t.name) + "`";
        BOOST_TEST(doc.find(heading) != std::string::npos, heading);
        for (const wfhookd::SettingSpec& s : t.settings) {
            const std::string row = "| `" + std::string(s.key) + "` |";
            BOOST_TEST(doc.find(row, doc.find(heading)) != std::string::npos,
                       t.name << ": " << row);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
