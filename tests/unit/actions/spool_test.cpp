#include "actions/action.hpp"
#include "support/json_check.hpp"
#include "support/temp_dir.hpp"
#include "util/clock.hpp"

#include <boost/test/unit_test.hpp>

#include <dirent.h>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using namespace wfhookd;

namespace {

ActionConfig spool_into(const std::string& dir) {
    ActionConfig c;
    c.name = "review";
    c.display_name = "Request review";
    c.type = find_action_type("spool");
    c.settings = {{"directory", dir}};
    return c;
}

std::vector<std::string> entries(const std::string& dir) {
    std::vector<std::string> out;
    DIR* d = opendir(dir.c_str());
    while (dirent* e = readdir(d))
        if (std::string(e->d_name) != "." && std::string(e->d_name) != "..")
            out.push_back(e->d_name);
    closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(spool)

BOOST_AUTO_TEST_CASE(is_registered_with_its_settings) {
    const ActionType* t = find_action_type("spool");
    BOOST_TEST_REQUIRE(t != nullptr);
    BOOST_TEST(t->settings.size() == 1u);
    BOOST_TEST(t->settings[0].key == "directory");
    BOOST_TEST(t->settings[0].required);
}

BOOST_AUTO_TEST_CASE(writes_one_complete_json_file_per_call_and_no_temporary_files) {
    wftest::TempDir dir;
    const ActionConfig c = spool_into(dir.path());
    const ActionResult a = run_spool(c, {"review", "doc/../1", "v1", true, "ann@example.com"});
    const ActionResult b = run_spool(c, {"review", "doc-2", "", false, "bob@example.com"});
    BOOST_TEST(a.ok);
    BOOST_TEST(b.ok);
    const std::vector<std::string> files = entries(dir.path());
    BOOST_TEST_REQUIRE(files.size() == 2u);
    for (const std::string& f : files) {
        BOOST_TEST(f.size() > 5u);
        BOOST_TEST(f.substr(f.size() - 5) == ".json");
        BOOST_TEST(f.front() != '.'); // no temporary file left
    }
    wftest::Json first, second;
    std::string err;
    BOOST_TEST_REQUIRE(wftest::json_parse(wftest::read_file(dir.file(files[0])), first, err), err);
    BOOST_TEST_REQUIRE(wftest::json_parse(wftest::read_file(dir.file(files[1])), second, err), err);
    // File names sort in arrival order; the document id never becomes a path.
    BOOST_TEST(first.at("documentId").text == "doc/../1");
    BOOST_TEST(first.at("documentVersionId").text == "v1");
    BOOST_TEST(second.at("documentId").text == "doc-2");
    BOOST_TEST(second.at("documentVersionId").is(wftest::Json::Type::null));
    BOOST_TEST(second.at("username").text == "bob@example.com");
    struct stat st {};
    stat(dir.file(files[0]).c_str(), &st);
    BOOST_TEST((st.st_mode & 0777) == 0640u);
}

BOOST_AUTO_TEST_CASE(names_are_unique_across_processes) {
    wftest::TempDir dir;
    const ActionConfig c = spool_into(dir.path());
    std::vector<pid_t> kids;
    for (int k = 0; k < 4; ++k) {
        const pid_t pid = fork();
        if (pid == 0) {
            bool ok = true;
            for (int i = 0; i < 50; ++i)
                ok &= run_spool(c, {"review", "d", "", false, "u"}).ok;
            _exit(ok ? 0 : 1);
        }
        kids.push_back(pid);
    }
    for (const pid_t pid : kids) {
        int status = 0;
        waitpid(pid, &status, 0);
        BOOST_TEST(WIFEXITED(status));
        BOOST_TEST(WEXITSTATUS(status) == 0);
    }
    BOOST_TEST(entries(dir.path()).size() == 200u);
}

BOOST_AUTO_TEST_CASE(names_start_with_the_wall_clock_so_they_sort_across_reboots) {
    // The monotonic clock restarts at boot: names from it would sort after a reboot's before
    // the older files still waiting in the directory.
    wftest::TempDir dir;
    const std::int64_t before = realtime_ns();
    BOOST_TEST_REQUIRE(run_spool(spool_into(dir.path()), {"review", "d", "", false, "u"}).ok);
    const std::int64_t after = realtime_ns();
    const std::vector<std::string> files = entries(dir.path());
    BOOST_TEST_REQUIRE(files.size() == 1u);
    const std::int64_t stamp = std::stoll(files[0].substr(0, files[0].find('-')));
    BOOST_TEST(stamp >= before);
    BOOST_TEST(stamp <= after);
}

BOOST_AUTO_TEST_CASE(a_missing_directory_is_an_error_without_the_path_for_the_user) {
    wftest::TempDir dir;
    const ActionResult r = run_spool(spool_into(dir.file("gone")), {"review", "d", "", false, "u"});
    BOOST_TEST(!r.ok);
    BOOST_TEST(r.error == "could not record the action (No such file or directory)");
    BOOST_TEST(r.error.find(dir.path()) == std::string::npos);
    BOOST_TEST(r.detail.find(dir.file("gone")) != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
