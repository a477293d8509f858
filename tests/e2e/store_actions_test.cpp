// Custom actions meet the store through nginx: a document Workfront sent (uploadInit with its
// documentId) reaches exec actions as WF_STORE_ID/WF_STORE_PATH, and a move action archives
// it keeping its id.
#include "support/json_check.hpp"
#include "support/process.hpp"
#include "support/stack.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>

using namespace wftest;

namespace {

struct ActionStack {
    TempDir out;
    Stack s;
    explicit ActionStack(const std::string& actions) : s(options(actions)) {}
    static WfhookdOptions options(const std::string& actions) {
        WfhookdOptions o;
        o.store = true;
        o.actions = actions;
        return o;
    }
    HttpResponse call(const std::string& method, const std::string& target,
                      const std::string& body = {}) {
        return s.request(method, target, s.auth(), body);
    }
    // Workfront's "Send To…": a new file in `folder` (an id), tied to document `wf_id`.
    std::string send(const std::string& parent, const std::string& name, const std::string& wf_id,
                     const std::string& content) {
        const HttpResponse init =
            call("POST", "/wf/uploadInit?parentId=" + url_encode(parent) +
                             "&filename=" + url_encode(name) + "&documentId=" + wf_id +
                             "&documentVersionId=" + wf_id + "-v1");
        BOOST_TEST_REQUIRE(init.status == 200, init.body);
        const std::string id = parse_json(init.body).at("id").text;
        const HttpResponse up = call("PUT", "/wf/upload?id=" + url_encode(id), content);
        BOOST_TEST_REQUIRE(up.status == 200, up.body);
        return id;
    }
    std::string folder(const std::string& name) {
        const HttpResponse r = call("POST", "/wf/createFolder?name=" + url_encode(name));
        BOOST_TEST_REQUIRE(r.status == 200, r.body);
        return parse_json(r.body).at("id").text;
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(store_actions)

BOOST_AUTO_TEST_CASE(an_exec_action_gets_the_store_file_of_a_sent_document) {
    TempDir out;
    ActionStack t(exec_action("review", "record.sh", out.path(), 10));
    const std::string inbox = t.folder("Inbox");
    const std::string id = t.send(inbox, "contract 1.pdf", "wfdoc1", "%PDF-1.4 hello");
    const HttpResponse r = t.call("GET", "/wf/customAction?name=review&documentId=wfdoc1");
    BOOST_TEST_REQUIRE(r.status == 200, r.body);
    BOOST_TEST_REQUIRE(wait_until([&] { return file_exists(out.file("done")); }));
    BOOST_TEST(read_file(out.file("WF_STORE_ID")) == id);
    const std::string path = read_file(out.file("WF_STORE_PATH"));
    BOOST_TEST(path == t.s.wfhookd.store_root() + "/Inbox/contract 1.pdf");
    BOOST_TEST(read_file(path) == "%PDF-1.4 hello"); // the actual file

    // A document that never came through uploadInit: no store variables at all.
    std::filesystem::remove(out.file("done"));
    const HttpResponse other = t.call("GET", "/wf/customAction?name=review&documentId=elsewhere");
    BOOST_TEST_REQUIRE(other.status == 200, other.body);
    BOOST_TEST_REQUIRE(wait_until([&] { return file_exists(out.file("done")); }));
    BOOST_TEST(read_file(out.file("WF_DOCUMENT_ID")) == "elsewhere");
    const std::string env = read_file(out.file("env"));
    BOOST_TEST(env.find("WF_STORE_ID") == std::string::npos, env);
    BOOST_TEST(env.find("WF_STORE_PATH") == std::string::npos, env);
}

BOOST_AUTO_TEST_CASE(a_move_action_archives_the_file_keeping_its_id) {
    ActionStack t("[action:archive]\ntype = move\nfolder = Archive/2026\n");
    const std::string inbox = t.folder("Inbox");
    const std::string id = t.send(inbox, "report.pdf", "wfdoc2", "content");
    const HttpResponse r = t.call("GET", "/wf/customAction?name=archive&documentId=wfdoc2");
    BOOST_TEST_REQUIRE(r.status == 200, r.body);
    BOOST_TEST(r.body == R"({"status":"success"})");

    // Same id, new place: /metadata answers, and the new folder lists it.
    const Json meta = parse_json(t.call("GET", "/wf/metadata?id=" + url_encode(id)).body);
    BOOST_TEST(meta.at("title").text == "report.pdf");
    BOOST_TEST(file_exists(t.s.wfhookd.store_root() + "/Archive/2026/report.pdf"));
    BOOST_TEST(!file_exists(t.s.wfhookd.store_root() + "/Inbox/report.pdf"));
    const Json root = parse_json(t.call("GET", "/wf/files").body);
    std::string archive;
    for (const Json& item : root.items)
        if (item.at("title").text == "Archive") archive = item.at("id").text;
    BOOST_TEST_REQUIRE(!archive.empty());
    const Json in_archive =
        parse_json(t.call("GET", "/wf/files?parentId=" + url_encode(archive)).body);
    BOOST_TEST_REQUIRE(in_archive.items.size() == 1u);
    const std::string year = in_archive.items[0].at("id").text;
    const Json in_year = parse_json(t.call("GET", "/wf/files?parentId=" + url_encode(year)).body);
    BOOST_TEST_REQUIRE(in_year.items.size() == 1u);
    BOOST_TEST(in_year.items[0].at("id").text == id);
    BOOST_TEST(
        parse_json(t.call("GET", "/wf/files?parentId=" + url_encode(inbox)).body).items.empty());
    // The download link still serves the same bytes.
    const std::string link = meta.at("downloadLink").text;
    const HttpResponse dl = t.s.get(link.substr(link.find("/wf/")));
    BOOST_TEST(dl.status == 200);
    BOOST_TEST(dl.body == "content");

    // The audit file says who moved it from where to where.
    const std::string audit = read_file(t.s.wfhookd.audit_file());
    BOOST_TEST(audit.find("\"from\":\"Inbox/report.pdf\",\"to\":\"Archive/2026/report.pdf\"") !=
                   std::string::npos,
               audit);
}

BOOST_AUTO_TEST_CASE(a_move_of_a_document_not_in_the_store_is_404) {
    ActionStack t("[action:archive]\ntype = move\nfolder = Archive\n");
    const HttpResponse r = t.call("GET", "/wf/customAction?name=archive&documentId=nowhere");
    BOOST_TEST(r.status == 404);
    BOOST_TEST(r.body == R"({"status":"error","error":"this document is not in the store"})");
}

BOOST_AUTO_TEST_SUITE_END()
