#include "actions/action.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <ostream>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace bdata = boost::unit_test::data;
using V = std::vector<std::string>;

namespace {

struct SplitCase {
    std::string name;
    std::string command;
    V argv;
};

std::ostream& operator<<(std::ostream& os, const SplitCase& c) {
    return os << c.name;
}

const SplitCase kSplitCases[] = {
    {"empty", "", {}},
    {"only whitespace", " \t\n\r\v\f", {}},
    {"program only", "/bin/x", {"/bin/x"}},
    {"every ASCII space separates", "  /bin/x\ta\n\nb\v c\fd\r ", {"/bin/x", "a", "b", "c", "d"}},
    {"no quoting", "'a b' \"c d\" e\\ f", {"'a", "b'", "\"c", "d\"", "e\\", "f"}},
    {"no shell syntax", "/bin/x $HOME;ls|cat>y *", {"/bin/x", "$HOME;ls|cat>y", "*"}},
    {"non-ASCII is not space",
     "/bin/x a\xC2\xA0"
     "b",
     {"/bin/x", "a\xC2\xA0"
                "b"}},
};

} // namespace

BOOST_AUTO_TEST_SUITE(registry)

BOOST_DATA_TEST_CASE(split_command_table, bdata::make(kSplitCases), c) {
    BOOST_TEST(wfhookd::split_command(c.command) == c.argv, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(built_in_types) {
    std::vector<std::string> names;
    for (const wfhookd::ActionType& t : wfhookd::action_types()) {
        names.emplace_back(t.name);
        BOOST_TEST(wfhookd::find_action_type(t.name) == &t);
        BOOST_TEST(t.run != nullptr);
        BOOST_TEST(!t.summary.empty());
    }
    // The built-in types, in docs order; more may follow, but names never repeat.
    BOOST_TEST_REQUIRE(names.size() >= 3u);
    BOOST_TEST((V(names.begin(), names.begin() + 2) == V{"exec", "append"}));
    BOOST_TEST(names.back() == "noop");
    BOOST_TEST(std::set<std::string>(names.begin(), names.end()).size() == names.size());
    BOOST_TEST(wfhookd::find_action_type("exec")->run == &wfhookd::run_exec);
    BOOST_TEST(wfhookd::find_action_type("append")->run == &wfhookd::run_append);
    BOOST_TEST(wfhookd::find_action_type("noop")->run == &wfhookd::run_noop);
    BOOST_TEST(wfhookd::find_action_type("") == nullptr);
    BOOST_TEST(wfhookd::find_action_type("Exec") == nullptr);
    BOOST_TEST(wfhookd::find_action_type("exec ") == nullptr);
}

BOOST_AUTO_TEST_CASE(setting_tables) {
    const auto keys = [](std::string_view type) {
        std::set<std::string> out;
        for (const wfhookd::SettingSpec& s : wfhookd::find_action_type(type)->settings) {
            out.emplace(s.key);
            BOOST_TEST(!s.doc.empty());
            BOOST_TEST((s.required || !s.default_value.empty()), s.key << " has no default");
        }
        return out;
    };
    BOOST_TEST(keys("exec") == (std::set<std::string>{"command", "timeout", "directory", "umask"}),
               boost::test_tools::per_element());
    BOOST_TEST(keys("append") == (std::set<std::string>{"file", "lock_timeout"}),
               boost::test_tools::per_element());
    BOOST_TEST(keys("noop").empty());
}

BOOST_AUTO_TEST_CASE(settings_and_seconds) {
    wfhookd::ActionConfig a;
    a.type = wfhookd::find_action_type("exec");
    a.settings = {{"command", "/bin/true"}, {"timeout", "25"}};
    BOOST_TEST(a.setting("command") == "/bin/true");
    BOOST_TEST(a.seconds("timeout") == 25u);
    // A key the type does not declare is a programming error, not a silent empty value.
    BOOST_CHECK_THROW(a.setting("file"), std::logic_error);
    BOOST_CHECK_THROW(a.seconds("missing"), std::logic_error);
}

BOOST_AUTO_TEST_CASE(noop_succeeds) {
    wfhookd::ActionConfig a;
    a.name = "n";
    a.type = wfhookd::find_action_type("noop");
    wfhookd::ActionCall call;
    call.action = "n";
    call.document_id = "d";
    const wfhookd::ActionResult r = wfhookd::run_noop(a, call);
    BOOST_TEST(r.ok);
    BOOST_TEST(r.error.empty());
    BOOST_TEST(r.detail.empty());
}

BOOST_AUTO_TEST_SUITE_END()
