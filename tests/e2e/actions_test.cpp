// Actions end to end: what an exec action receives, what the user sees when it fails or
// times out, and what an append action writes.
#include "support/json_check.hpp"
#include "support/stack.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <ostream>
#include <sstream>

using namespace wftest;
namespace bdata = boost::unit_test::data;

namespace {

struct ActionStack {
    TempDir out; // where record.sh writes
    Stack stack;
    ActionStack()
        : out(), stack([this] {
              WfhookdOptions o;
              o.actions = exec_action("record", "record.sh", out.path() + " --mode fast") +
                          exec_action("fail", "fail.sh") +
                          exec_action("slow", "sleep.sh", "30 " + out.file("slow.pid"), 1) +
                          "[action:audit]\ntype = append\nfile = " + out.file("audit.jsonl") + "\n";
              return o;
          }()) {}
};

ActionStack& shared() {
    static ActionStack s;
    return s;
}

// Calls the record action with `id` and returns what the script saw as WF_DOCUMENT_ID.
std::string round_trip(const std::string& id, const std::string& query_suffix = "") {
    ActionStack& s = shared();
    std::remove(s.out.file("done").c_str());
    std::remove(s.out.file("WF_DOCUMENT_ID").c_str());
    const HttpResponse r = s.stack.get(
        "/customAction?name=record&documentId=" + url_encode(id) + query_suffix, s.stack.auth());
    BOOST_TEST(r.status == 200, r.body);
    return read_file(s.out.file("WF_DOCUMENT_ID"));
}

struct Literal {
    std::string name;
    std::string id;
};
std::ostream& operator<<(std::ostream& os, const Literal& l) {
    return os << l.name;
}

const Literal kLiterals[] = {
    {"command substitution", "$(touch /tmp/wfhookd-pwned)"},
    {"backticks", "`id`"},
    {"separators", "a; rm -rf / & b | c && d || e"},
    {"redirections", "> /etc/passwd < /dev/zero 2>&1"},
    {"globs", "* ? [a-z] ~root"},
    {"quotes", "\"double\" 'single' \\back\\slash"},
    {"variables", "$HOME ${PATH} $1 $@"},
    {"newline and tab", "line1\nline2\tcol"},
    {"unicode", "d\xC3\xA9j\xC3\xA0 vu \xE2\x82\xAC \xF0\x9F\x93\x84 \xE4\xB8\xAD\xE6\x96\x87"},
    {"spaces only inside", "  leading and trailing  "},
    {"plus and percent", "100% + 1"},
};

} // namespace

BOOST_AUTO_TEST_SUITE(actions)

BOOST_DATA_TEST_CASE(document_id_reaches_exec_byte_for_byte, bdata::make(kLiterals), l) {
    BOOST_TEST(round_trip(l.id) == l.id);
    BOOST_TEST(!file_exists("/tmp/wfhookd-pwned"));
}

BOOST_AUTO_TEST_CASE(exec_gets_its_argv_and_only_the_documented_environment) {
    ActionStack& s = shared();
    std::remove(s.out.file("WF_DOCUMENT_VERSION_ID").c_str());
    round_trip("doc-1", "&documentVersionId=" + url_encode("v 2"));
    BOOST_TEST(read_file(s.out.file("args")) == "--mode\nfast\n");
    BOOST_TEST(read_file(s.out.file("WF_ACTION")) == "record");
    BOOST_TEST(read_file(s.out.file("WF_DOCUMENT_VERSION_ID")) == "v 2");
    BOOST_TEST(read_file(s.out.file("WF_USERNAME")) == "alice@example.com");
    BOOST_TEST(read_file(s.out.file("PATH")) == "/usr/local/bin:/usr/bin:/bin");
    // bash adds PWD, SHLVL and _ itself; nothing of the daemon's environment leaks in.
    BOOST_TEST(
        read_file(s.out.file("env")) ==
        "PATH\nPWD\nSHLVL\nWF_ACTION\nWF_DOCUMENT_ID\nWF_DOCUMENT_VERSION_ID\nWF_USERNAME\n_\n");
}

BOOST_AUTO_TEST_CASE(version_id_absent_means_no_variable) {
    ActionStack& s = shared();
    std::remove(s.out.file("WF_DOCUMENT_VERSION_ID").c_str());
    round_trip("doc-2");
    BOOST_TEST(!file_exists(s.out.file("WF_DOCUMENT_VERSION_ID")));
}

BOOST_AUTO_TEST_CASE(failure_shows_the_last_stderr_line) {
    const HttpResponse r =
        shared().stack.get("/customAction?name=fail&documentId=1", shared().stack.auth());
    BOOST_TEST(r.status == 500);
    BOOST_TEST(
        r.body ==
        R"({"status":"error","error":"fail failed: archive server refused: quota exceeded"})");
}

BOOST_AUTO_TEST_CASE(timeout_kills_the_action_and_says_so) {
    ActionStack& s = shared();
    const HttpResponse r = s.stack.get("/customAction?name=slow&documentId=1", s.stack.auth());
    BOOST_TEST(r.status == 500);
    BOOST_TEST(r.body == R"({"status":"error","error":"slow failed: timed out after 1 s"})");
    const pid_t pid = std::atoi(read_file(s.out.file("slow.pid")).c_str());
    BOOST_TEST_REQUIRE(pid > 0);
    BOOST_TEST(wait_until([&] { return !process_alive(pid); }));
}

BOOST_AUTO_TEST_CASE(append_writes_one_json_line_per_call) {
    ActionStack& s = shared();
    for (int i = 0; i < 3; ++i) {
        const HttpResponse r = s.stack.get("/customAction?name=audit&documentId=d%22" +
                                               std::to_string(i) + "&documentVersionId=v",
                                           s.stack.auth("b\xC3\xA9@example.com"));
        BOOST_TEST(r.status == 200);
    }
    std::istringstream lines(read_file(s.out.file("audit.jsonl")));
    std::string line;
    int n = 0;
    while (std::getline(lines, line)) {
        Json doc;
        std::string err;
        BOOST_TEST_REQUIRE(json_parse(line, doc, err), err);
        BOOST_TEST(doc.at("action").text == "audit");
        BOOST_TEST(doc.at("documentId").text == "d\"" + std::to_string(n));
        BOOST_TEST(doc.at("documentVersionId").text == "v");
        BOOST_TEST(doc.at("username").text == "b\xC3\xA9@example.com");
        ++n;
    }
    BOOST_TEST(n == 3);
}

BOOST_AUTO_TEST_SUITE_END()
