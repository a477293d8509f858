// The store's other changes through a real nginx (spec §6.8, §6.9, §6.11, §12 items 14-18):
// names taken by concurrent callers, deletion into the trash and out of it (purge, restore),
// a read-only store, parameters from a form body, and the audit file.
#include "e2e/store_writes.hpp"

#include <boost/test/unit_test.hpp>

#include "support/pattern.hpp"

#include <chrono>
#include <future>
#include <latch>
#include <map>
#include <set>

using namespace wftest;
using namespace wftest::writes;

namespace {

// Runs the calls at the same moment (each on its own thread and connection).
std::vector<HttpResponse> together(const std::vector<std::function<HttpResponse()>>& calls) {
    std::latch go(static_cast<std::ptrdiff_t>(calls.size()));
    std::vector<std::future<HttpResponse>> running;
    for (const auto& call : calls)
        running.push_back(std::async(std::launch::async, [&go, &call] {
            go.arrive_and_wait();
            return call();
        }));
    std::vector<HttpResponse> out;
    for (auto& r : running)
        out.push_back(r.get());
    return out;
}

std::map<int, int> statuses(const std::vector<HttpResponse>& rs) {
    std::map<int, int> out;
    for (const HttpResponse& r : rs)
        ++out[r.status];
    return out;
}

std::string error_json(const std::string& error) {
    return R"({"status":"error","error":")" + error + R"("})";
}

const std::string kSuccess = R"({"status":"success"})";

std::int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// The trash entries of an item: <ms>-<id> (deleted) or <ms>-<id>-version (replaced).
std::vector<std::string> trash_entries(const WriteStack& t, const std::string& id) {
    std::vector<std::string> out;
    for (const std::string& n : WriteStack::names_in(t.trash())) {
        const auto dash = n.find('-');
        if (dash == std::string::npos) continue;
        const std::string rest = n.substr(dash + 1);
        if (rest == id || rest == id + "-version") out.push_back(n);
    }
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(store_changes)

// 50 "Send to" of the same name at once: 50 files, NAME and NAME (2) to NAME (50), none lost.
BOOST_AUTO_TEST_CASE(fifty_uploads_of_one_name_get_fifty_names) {
    WriteStack t;
    const std::vector<std::function<HttpResponse()>> calls(
        50, [&] { return t.call("POST", "/wf/uploadInit?parentId=%2F&filename=report.pdf"); });
    std::set<std::string> titles, ids, expected = {"report.pdf"};
    for (int n = 2; n <= 50; ++n)
        expected.insert("report (" + std::to_string(n) + ").pdf");
    for (const HttpResponse& r : together(calls)) {
        BOOST_TEST(r.status == 200, r.body);
        if (r.status != 200) continue;
        const Json m = parse_json(r.body);
        titles.insert(m.at("title").text);
        ids.insert(m.at("id").text);
    }
    BOOST_TEST(titles == expected, boost::test_tools::per_element());
    BOOST_TEST(ids.size() == 50u);
    std::set<std::string> listed;
    for (const Json& item : t.list("/"))
        listed.insert(item.at("title").text);
    BOOST_TEST(listed == expected, boost::test_tools::per_element());
    BOOST_TEST(WriteStack::names_in(t.root()).size() == 51u); // and .keep
}

BOOST_AUTO_TEST_CASE(twenty_createFolder_of_one_name_one_wins) {
    WriteStack t;
    const std::vector<std::function<HttpResponse()>> calls(
        20, [&] { return t.call("POST", "/wf/createFolder?parentId=%2F&name=Shared"); });
    const std::vector<HttpResponse> rs = together(calls);
    BOOST_TEST((statuses(rs) == std::map<int, int>{{200, 1}, {409, 19}}));
    std::string made;
    for (const HttpResponse& r : rs) {
        if (r.status == 200)
            made = parse_json(r.body).at("id").text;
        else
            BOOST_TEST(r.body == error_json("a folder named Shared already exists"));
    }
    BOOST_TEST(t.list("/").size() == 1u);
    BOOST_TEST(t.id_of("/", "Shared") == made);
    BOOST_TEST(t.meta(made).at("kind").text == "folder");
}

// Two items renamed to one name at the same moment: one gets it, the other keeps its own.
BOOST_AUTO_TEST_CASE(two_renames_to_one_name_one_wins) {
    WriteStack t;
    for (int round = 0; round < 5; ++round) {
        BOOST_TEST_CONTEXT("round " << round) {
            const std::string a = t.upload_init("/", "a.txt").at("id").text;
            const std::string b = t.create_folder("/", "b").at("id").text;
            const std::string name = "same " + std::to_string(round);
            const std::vector<HttpResponse> rs = together({
                [&] { return t.call("PUT", "/wf/rename?id=" + a + "&name=" + url_encode(name)); },
                [&] { return t.call("PUT", "/wf/rename?id=" + b + "&name=" + url_encode(name)); },
            });
            BOOST_TEST((statuses(rs) == std::map<int, int>{{200, 1}, {409, 1}}));
            const bool a_won = rs[0].status == 200;
            BOOST_TEST(rs[a_won ? 0 : 1].body == kSuccess);
            BOOST_TEST(rs[a_won ? 1 : 0].body ==
                       error_json("an item named " + name + " already exists"));
            BOOST_TEST(t.id_of("/", name) == (a_won ? a : b));
            BOOST_TEST(t.meta(a).at("title").text == (a_won ? name : "a.txt"));
            BOOST_TEST(t.meta(b).at("title").text == (a_won ? "b" : name));
            // Out of the way for the next round.
            BOOST_TEST(t.call("PUT", "/wf/delete?id=" + a).status == 200);
            BOOST_TEST(t.call("PUT", "/wf/delete?id=" + b).status == 200);
        }
    }
    BOOST_TEST(t.list("/").empty());
}

// The same item deleted twice at once: one deletion, one 404, one entry in the trash.
BOOST_AUTO_TEST_CASE(two_deletes_of_one_item_one_wins) {
    WriteStack t;
    for (int round = 0; round < 10; ++round) {
        BOOST_TEST_CONTEXT("round " << round) {
            const std::string id = t.upload_init("/", "twice.txt").at("id").text;
            BOOST_TEST_REQUIRE(t.upload_bytes(id, "deleted once").status == 200);
            const std::vector<HttpResponse> rs = together({
                [&] { return t.call("PUT", "/wf/delete?id=" + id); },
                [&] { return t.call("DELETE", "/wf/delete?documentId=" + id); },
            });
            BOOST_TEST((statuses(rs) == std::map<int, int>{{200, 1}, {404, 1}}),
                       rs[0].status << " " << rs[0].body << " / " << rs[1].status << " "
                                    << rs[1].body);
            for (const HttpResponse& r : rs)
                BOOST_TEST((r.body == kSuccess || r.body == error_json("no such file or folder")),
                           r.body);
            const std::vector<std::string> entries = trash_entries(t, id);
            BOOST_TEST_REQUIRE(entries.size() == 1u);
            BOOST_TEST(WriteStack::names_in(t.trash() + "/" + entries[0]) ==
                           (std::vector<std::string>{".wfhookd-origin", "twice.txt"}),
                       boost::test_tools::per_element());
            BOOST_TEST(read_file(t.trash() + "/" + entries[0] + "/twice.txt") == "deleted once");
        }
    }
    BOOST_TEST(t.list("/").empty());
}

// A deleted item is gone from every read endpoint and kept in the trash with its origin; a
// folder goes with everything in it.
BOOST_AUTO_TEST_CASE(a_deleted_item_is_gone_and_in_the_trash) {
    WriteStack t;
    const std::string reports = t.create_folder("/", "Reports").at("id").text;
    const std::string q1 = t.upload_init(reports, "q1 figures.pdf").at("id").text;
    BOOST_TEST_REQUIRE(t.upload_bytes(q1, "first quarter").status == 200);
    const std::string sub = t.create_folder(reports, "sub").at("id").text;
    const std::string deep = t.upload_init(sub, "deep.txt").at("id").text;
    BOOST_TEST_REQUIRE(t.upload_bytes(deep, "deep down").status == 200);
    BOOST_TEST_REQUIRE(t.json("GET", "/wf/search?query=figures").items.size() == 1u);
    const std::string old_link = target_of(t.meta(q1).at("downloadLink").text);

    const std::int64_t before = now_ms();
    const HttpResponse del = t.call("PUT", "/wf/delete?documentId=" + q1);
    const std::int64_t after = now_ms();
    BOOST_TEST(del.status == 200);
    BOOST_TEST(del.body == kSuccess);
    BOOST_TEST(t.call("GET", "/wf/metadata?id=" + q1).status == 404);
    BOOST_TEST(t.call("GET", "/wf/metadata?id=" + q1).body == error_json("no such file or folder"));
    BOOST_TEST(t.id_of(reports, "q1 figures.pdf").empty());
    BOOST_TEST(t.json("GET", "/wf/search?query=figures").items.empty());
    BOOST_TEST(http_request("127.0.0.1", t.port(), "GET", old_link).status == 404);
    BOOST_TEST(!file_exists(t.root() + "/Reports/q1 figures.pdf"));

    std::vector<std::string> entries = trash_entries(t, q1);
    BOOST_TEST_REQUIRE(entries.size() == 1u);
    const std::int64_t ms = std::stoll(entries[0]);
    BOOST_TEST((ms >= before && ms <= after), ms);
    const std::string entry = t.trash() + "/" + entries[0];
    BOOST_TEST(read_file(entry + "/.wfhookd-origin") == "Reports/q1 figures.pdf\n");
    BOOST_TEST(read_file(entry + "/q1 figures.pdf") == "first quarter");

    // A folder, with DELETE and folderId: everything in it goes with it.
    const HttpResponse gone = t.call("DELETE", "/wf/delete?folderId=" + sub);
    BOOST_TEST(gone.body == kSuccess);
    BOOST_TEST(t.call("GET", "/wf/metadata?id=" + sub).status == 404);
    BOOST_TEST(t.call("GET", "/wf/metadata?id=" + deep).status == 404);
    BOOST_TEST(t.call("GET", "/wf/files?parentId=" + sub).status == 404);
    BOOST_TEST(t.json("GET", "/wf/search?query=deep").items.empty());
    BOOST_TEST(t.list(reports).empty());
    entries = trash_entries(t, sub);
    BOOST_TEST_REQUIRE(entries.size() == 1u);
    BOOST_TEST(read_file(t.trash() + "/" + entries[0] + "/.wfhookd-origin") == "Reports/sub\n");
    BOOST_TEST(read_file(t.trash() + "/" + entries[0] + "/sub/deep.txt") == "deep down");
    // The trash is never listed or searched.
    BOOST_TEST(t.list("/").size() == 1u);
    BOOST_TEST(t.json("GET", "/wf/search?query=wfhookd").items.empty());

    // What /delete refuses.
    const std::string kept = t.upload_init(reports, "kept.txt").at("id").text;
    struct Bad {
        std::string target;
        int status;
        std::string error;
    };
    const Bad bad[] = {
        {"/wf/delete?documentId=" + reports, 400, reports + " is a folder: use folderId"},
        {"/wf/delete?folderId=" + kept, 400, kept + " is not a folder: use documentId"},
        {"/wf/delete?id=" + kept + "&documentId=" + kept, 400,
         "give exactly one of id, documentId and folderId"},
        {"/wf/delete", 400, "give exactly one of id, documentId and folderId"},
        {"/wf/delete?id=%2F", 400, "the root folder cannot be deleted"},
        {"/wf/delete?id=" + q1, 404, "no such file or folder"},
    };
    for (const Bad& b : bad) {
        const HttpResponse r = t.call("PUT", b.target);
        BOOST_TEST(r.status == b.status, b.target);
        BOOST_TEST(r.body == error_json(b.error), b.target);
    }
    BOOST_TEST(t.meta(kept).at("title").text == "kept.txt");
    BOOST_TEST(t.meta(reports).at("title").text == "Reports");
}

// Entries older than trash_days are purged by the master: at start (then every minute, which
// a test cannot wait for). Younger ones stay.
BOOST_AUTO_TEST_CASE(old_trash_is_purged_at_start) {
    WriteOptions o;
    o.store = "trash_days = 2\n";
    WriteStack t(o);
    const auto deleted = [&](const std::string& name) {
        const std::string id = t.upload_init("/", name).at("id").text;
        BOOST_TEST_REQUIRE(t.upload_bytes(id, "v1 of " + name).status == 200);
        BOOST_TEST_REQUIRE(t.upload_bytes(id, "v2 of " + name).status == 200); // a version
        BOOST_TEST_REQUIRE(t.call("PUT", "/wf/delete?id=" + id).status == 200);
        const std::vector<std::string> entries = trash_entries(t, id);
        BOOST_TEST_REQUIRE(entries.size() == 2u); // <ms>-<id> and <ms>-<id>-version
        return entries;
    };
    // Aged by renaming their entries: 3 days old (purged), 1 day old (kept), and new (kept).
    const auto age = [&](const std::vector<std::string>& entries, std::int64_t days) {
        std::vector<std::string> out;
        for (const std::string& e : entries) {
            const std::string aged =
                std::to_string(now_ms() - days * 86'400'000) + e.substr(e.find('-'));
            BOOST_TEST_REQUIRE(
                std::rename((t.trash() + "/" + e).c_str(), (t.trash() + "/" + aged).c_str()) == 0);
            out.push_back(aged);
        }
        return out;
    };
    const std::vector<std::string> old = age(deleted("old.txt"), 3);
    const std::vector<std::string> young = age(deleted("young.txt"), 1);
    const std::vector<std::string> fresh = deleted("fresh.txt");
    for (const std::string& e : old)
        BOOST_TEST_REQUIRE(file_exists(t.trash() + "/" + e));

    t.restart();
    BOOST_TEST(wait_until(
        [&] {
            return std::none_of(old.begin(), old.end(), [&](const std::string& e) {
                return file_exists(t.trash() + "/" + e);
            });
        },
        10s));
    BOOST_TEST(t.wfhookd.log_count("from the trash (older than 2 days)") == 2);
    for (const std::vector<std::string>* kept : {&young, &fresh})
        for (const std::string& e : *kept)
            BOOST_TEST(file_exists(t.trash() + "/" + e + "/.wfhookd-origin"), e);
}

// The running master purges too, every minute (kHousekeepingSeconds): an entry that ages past
// trash_days while the service runs goes without a restart. (The one test here that waits
// that long.)
BOOST_AUTO_TEST_CASE(old_trash_is_purged_by_the_running_master) {
    WriteOptions o;
    o.store = "trash_days = 1\n";
    WriteStack t(o);
    std::vector<std::string> entries;
    for (const char* name : {"aged.txt", "fresh.txt"}) {
        const std::string id = t.upload_init("/", name).at("id").text;
        BOOST_TEST_REQUIRE(t.call("PUT", "/wf/delete?id=" + id).status == 200);
        const std::vector<std::string> e = trash_entries(t, id);
        BOOST_TEST_REQUIRE(e.size() == 1u);
        entries.push_back(e[0]);
    }
    const std::string aged =
        std::to_string(now_ms() - 2 * 86'400'000) + entries[0].substr(entries[0].find('-'));
    BOOST_TEST_REQUIRE(
        std::rename((t.trash() + "/" + entries[0]).c_str(), (t.trash() + "/" + aged).c_str()) == 0);
    BOOST_TEST(wait_until([&] { return !file_exists(t.trash() + "/" + aged); }, 75s, 100ms));
    BOOST_TEST(t.wfhookd.process().running()); // the same master, never restarted
    BOOST_TEST(t.wfhookd.log_count("purged " + aged + " from the trash") == 1);
    BOOST_TEST(file_exists(t.trash() + "/" + entries[1] + "/fresh.txt"));
}

// Restoring (the trash entry's item moved back to where .wfhookd-origin says, then
// `wfhookd --reindex`): the item is back under its old id, with its content.
BOOST_AUTO_TEST_CASE(a_restored_item_keeps_its_id) {
    WriteStack t;
    const std::string folder = t.create_folder("/", "Contracts").at("id").text;
    const std::string id = t.upload_init(folder, "signed.pdf").at("id").text;
    BOOST_TEST_REQUIRE(t.upload_bytes(id, "signed by both").status == 200);
    BOOST_TEST_REQUIRE(t.call("PUT", "/wf/delete?id=" + id).status == 200);
    const std::vector<std::string> entries = trash_entries(t, id);
    BOOST_TEST_REQUIRE(entries.size() == 1u);
    const std::string entry = t.trash() + "/" + entries[0];
    std::string origin = read_file(entry + "/.wfhookd-origin");
    BOOST_TEST_REQUIRE(origin == "Contracts/signed.pdf\n");
    origin.pop_back();

    BOOST_TEST_REQUIRE(
        std::rename((entry + "/signed.pdf").c_str(), (t.root() + "/" + origin).c_str()) == 0);
    std::filesystem::remove_all(entry);
    Process reindex({wfhookd_binary(), "--reindex", "-c", t.wfhookd.config_path()},
                    t.dir.file("reindex.out"));
    BOOST_TEST(reindex.wait(30s) == 0, read_file(t.dir.file("reindex.out")));
    BOOST_TEST(read_file(t.dir.file("reindex.out")).find(" 0 new,") != std::string::npos,
               read_file(t.dir.file("reindex.out")));
    const Json m = t.meta(id);
    BOOST_TEST(m.at("title").text == "signed.pdf");
    BOOST_TEST(t.id_of(folder, "signed.pdf") == id);
    BOOST_TEST(t.json("GET", "/wf/search?query=signed").items.size() == 1u);
    BOOST_TEST(t.download(id) ==
               WriteStack::expect(Sha256::of("signed by both"), sizeof "signed by both" - 1));
}

// read_only = yes: no write endpoint is listed, each answers 403, every item is readOnly, and
// nothing changes on disk.
BOOST_AUTO_TEST_CASE(a_read_only_store_refuses_every_change) {
    WriteOptions o;
    o.store = "read_only = yes\n";
    WriteStack t(o);
    t.dir.write("store/Folder/doc.txt", "original", 0640);
    const std::string folder = t.id_of("/", "Folder");
    const std::string doc = t.id_of(folder, "doc.txt");
    BOOST_TEST_REQUIRE(!doc.empty());

    const Json info =
        parse_json(http_request("127.0.0.1", t.port(), "GET", "/wf/serviceInfo").body);
    std::vector<std::string> listed;
    for (const Json& e : info.at("availableEndpoints").items)
        listed.push_back(e.text);
    BOOST_TEST(listed == (std::vector<std::string>{"serviceInfo", "customAction", "metadata",
                                                   "files", "search", "download", "thumbnail"}),
               boost::test_tools::per_element());
    for (const std::string& id : {std::string("/"), folder, doc}) {
        const Json m = t.meta(id);
        BOOST_TEST(m.at("readOnly").is(Json::Type::boolean));
        BOOST_TEST(m.at("readOnly").boolean, id);
    }
    for (const Json& item : t.list(folder))
        BOOST_TEST(item.at("readOnly").boolean);

    const std::string refused = error_json("the document store is read-only");
    struct Call {
        std::string method, target, body, answer;
    };
    const Call calls[] = {
        {"POST", "/wf/uploadInit?parentId=" + folder + "&filename=new.txt", "", refused},
        {"PUT", "/wf/upload?id=" + doc, "replaced",
         R"({"result":"fail","status":"error","error":"the document store is read-only"})"},
        {"POST", "/wf/upload?id=" + doc, "replaced",
         R"({"result":"fail","status":"error","error":"the document store is read-only"})"},
        {"POST", "/wf/createFolder?parentId=%2F&name=New", "", refused},
        {"PUT", "/wf/delete?id=" + doc, "", refused},
        {"DELETE", "/wf/delete?folderId=" + folder, "", refused},
        {"PUT", "/wf/rename?id=" + doc + "&name=renamed.txt", "", refused},
        {"POST", "/wf/rename?id=" + folder + "&name=Renamed", "", refused},
    };
    for (const Call& c : calls) {
        const HttpResponse r = t.call(c.method, c.target, c.body);
        BOOST_TEST(r.status == 403, c.method << " " << c.target);
        BOOST_TEST(r.body == c.answer, c.method << " " << c.target);
    }
    BOOST_TEST(WriteStack::names_in(t.root()) == (std::vector<std::string>{".keep", "Folder"}),
               boost::test_tools::per_element());
    BOOST_TEST(WriteStack::names_in(t.root() + "/Folder") == std::vector<std::string>{"doc.txt"},
               boost::test_tools::per_element());
    BOOST_TEST(read_file(t.root() + "/Folder/doc.txt") == "original");
    BOOST_TEST(t.audit_lines().empty());
}

// POST/PUT parameters may come in an application/x-www-form-urlencoded body; one given both
// there and in the query string is refused, even with the same value.
BOOST_AUTO_TEST_CASE(parameters_from_a_form_body) {
    WriteStack t;
    const Headers form = {{"Content-Type", "application/x-www-form-urlencoded"}};
    const auto json = [&](const HttpResponse& r) {
        BOOST_TEST(r.status == 200, r.body);
        return parse_json(r.body);
    };
    const std::string folder =
        json(t.call("POST", "/wf/createFolder", "parentId=%2F&name=Form+Folder%21", form))
            .at("id")
            .text;
    BOOST_TEST(t.meta(folder).at("title").text == "Form Folder!");
    const Json file = json(t.call("POST", "/wf/uploadInit",
                                  "parentId=" + folder + "&filename=from%20a+form.txt" +
                                      "&documentId=511ea6e0&documentVersionId=511ea6e1",
                                  form));
    const std::string id = file.at("id").text;
    BOOST_TEST(file.at("title").text == "from a form.txt");
    BOOST_TEST(t.call("PUT", "/wf/rename", "id=" + id + "&name=renamed.txt", form).body ==
               kSuccess);
    BOOST_TEST(t.meta(id).at("title").text == "renamed.txt");
    BOOST_TEST(t.call("POST", "/wf/rename?id=" + id, "name=again.txt", form).body == kSuccess);
    BOOST_TEST(t.meta(id).at("title").text == "again.txt");

    struct Conflict {
        std::string method, target, body, param;
    };
    const Conflict conflicts[] = {
        {"POST", "/wf/createFolder?name=A", "parentId=%2F&name=B", "name"},
        {"POST", "/wf/createFolder?name=A", "name=A", "name"},
        {"POST", "/wf/uploadInit?filename=a.txt", "filename=a.txt", "filename"},
        {"POST", "/wf/uploadInit?parentId=%2F&filename=a.txt", "parentId=" + folder, "parentId"},
        {"PUT", "/wf/rename?id=" + id, "id=" + id + "&name=z.txt", "id"},
        {"PUT", "/wf/delete?documentId=" + id, "documentId=" + id, "documentId"},
    };
    for (const Conflict& c : conflicts) {
        const HttpResponse r = t.call(c.method, c.target, c.body, form);
        BOOST_TEST(r.status == 400, c.target << " " << c.body);
        BOOST_TEST(r.body == error_json("parameter " + c.param + " is given more than once"));
    }
    // A body of another type is not read for parameters.
    const HttpResponse plain =
        t.call("POST", "/wf/createFolder?parentId=%2F", "name=C", {{"Content-Type", "text/plain"}});
    BOOST_TEST(plain.status == 400);
    BOOST_TEST(plain.body == error_json("missing parameter name"));
    // None of the refused calls changed anything.
    BOOST_TEST(t.list("/").size() == 1u);
    BOOST_TEST(t.list(folder).size() == 1u);
    BOOST_TEST(t.meta(id).at("title").text == "again.txt");

    BOOST_TEST(t.call("PUT", "/wf/delete", "documentId=" + id, form).body == kSuccess);
    BOOST_TEST(t.call("GET", "/wf/metadata?id=" + id).status == 404);
}

// One JSON line per change: when, who, which endpoint, which item, from where to where.
// Refused calls write nothing.
BOOST_AUTO_TEST_CASE(the_audit_file_has_one_line_per_change) {
    WriteStack t;
    const auto as_bob = [&](const std::string& method, const std::string& target,
                            const std::string& body = {}) {
        return http_request("127.0.0.1", t.port(), method, target,
                            {{"apiKey", t.wfhookd.api_key()}, {"username", "bob@example.com"}},
                            body);
    };
    const std::string docs =
        parse_json(as_bob("POST", "/wf/createFolder?name=Docs").body).at("id").text;
    const std::string a =
        parse_json(as_bob("POST", "/wf/uploadInit?parentId=" + docs + "&filename=a.txt").body)
            .at("id")
            .text;
    BOOST_TEST(as_bob("PUT", "/wf/upload?id=" + a, "text").status == 200);
    BOOST_TEST(as_bob("PUT", "/wf/rename?id=" + a + "&name=b.txt").status == 200);
    // Refused: no line.
    BOOST_TEST(as_bob("POST", "/wf/createFolder?name=Docs").status == 409);
    BOOST_TEST(as_bob("PUT", "/wf/upload?id=AAAAAAAAAAAAAAAAAAAAAA", "x").status == 404);
    BOOST_TEST(as_bob("PUT", "/wf/rename?id=" + a + "&name=..").status == 400);
    BOOST_TEST(as_bob("PUT", "/wf/delete?id=" + a).status == 200);

    struct Line {
        std::string endpoint, id, from, to; // "" for null
    };
    const Line expected[] = {
        {"createFolder", docs, "", "Docs"}, {"uploadInit", a, "", "Docs/a.txt"},
        {"upload", a, "", "Docs/a.txt"},    {"rename", a, "Docs/a.txt", "Docs/b.txt"},
        {"delete", a, "Docs/b.txt", ""},
    };
    const std::vector<std::string> lines = t.audit_lines();
    BOOST_TEST_REQUIRE(lines.size() == std::size(expected), read_file(t.audit_path()));
    std::string previous_time;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        BOOST_TEST_CONTEXT(lines[i]) {
            const Json j = parse_json(lines[i]);
            std::vector<std::string> keys;
            for (const auto& m : j.members)
                keys.push_back(m.first);
            BOOST_TEST(
                keys == (std::vector<std::string>{"time", "user", "endpoint", "id", "from", "to"}),
                boost::test_tools::per_element());
            const std::string time = j.at("time").text;
            BOOST_TEST(matches_pattern(time, kTimestampPattern), time);
            BOOST_TEST(time >= previous_time);
            previous_time = time;
            BOOST_TEST(j.at("user").text == "bob@example.com");
            BOOST_TEST(j.at("endpoint").text == expected[i].endpoint);
            BOOST_TEST(j.at("id").text == expected[i].id);
            for (const auto& [key, value] :
                 {std::pair{"from", expected[i].from}, std::pair{"to", expected[i].to}}) {
                if (value.empty())
                    BOOST_TEST(j.at(key).is(Json::Type::null), key);
                else
                    BOOST_TEST(j.at(key).text == value, key);
            }
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
