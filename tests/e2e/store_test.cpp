// The document store's read side through a real nginx (spec §5, §6.1–6.3, §12 items 2–9):
// the metadata object, folder listings and search with paging, stable ids, hostile names,
// nothing outside the root.
#include "support/json_check.hpp"
#include "support/process.hpp"
#include "support/stack.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <map>
#include <ostream>
#include <regex>
#include <set>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

using namespace wftest;
namespace bdata = boost::unit_test::data;

namespace {

WfhookdOptions store_options(const std::string& extra = "") {
    WfhookdOptions o;
    o.store = true;
    o.store_config = extra;
    return o;
}

// The names a user may give a file: spaces, URL and shell metacharacters, quotes, a newline,
// emoji, and bytes that are not UTF-8.
const std::vector<std::string> kHostileNames = {
    "with space.txt",
    "100% sure.txt",
    "what?.txt",
    "#hash.txt",
    "a+b=c&d.txt",
    "quote\"d.txt",
    "it's.txt",
    "line\nbreak.txt",
    "\xF0\x9F\x93\x84 emoji.txt",
    "caf\xE9-latin1.txt",
    "<script>alert(1)<\\script>.txt",
    "back\\slash.txt",
    "semi;colon.txt",
};

struct StoreStack {
    explicit StoreStack(const std::string& extra = "") : s(store_options(extra)) {}
    Stack s;
    std::string root() const { return s.wfhookd.store_root(); }
    void file(const std::string& rel, const std::string& content = "x") const {
        s.dir.write("store/" + rel, content, 0640);
    }
    void folder(const std::string& rel) const { s.dir.write("store/" + rel + "/.keep", "", 0600); }
    HttpResponse get(const std::string& target) { return s.get(target, s.auth()); }
    Json json(const std::string& target) {
        const HttpResponse r = get(target);
        if (r.status != 200)
            throw std::runtime_error(target + ": " + std::to_string(r.status) + " " + r.body);
        return parse_json(r.body);
    }
    // Every item of a folder, paged with `max`.
    std::vector<Json> all(const std::string& parent, int max) {
        std::vector<Json> out;
        for (int offset = 0;; offset += max) {
            const Json page =
                json("/wf/files?parentId=" + url_encode(parent) + "&max=" + std::to_string(max) +
                     "&offset=" + std::to_string(offset));
            out.insert(out.end(), page.items.begin(), page.items.end());
            if (static_cast<int>(page.items.size()) < max) return out;
        }
    }
    std::string id_of(const std::string& parent, const std::string& title) {
        for (const Json& item : all(parent, 1000))
            if (item.at("title").text == title) return item.at("id").text;
        return {};
    }
};

const std::regex kRfc3339(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
const std::regex kId(R"([A-Za-z0-9_-]{1,64})");

} // namespace

BOOST_AUTO_TEST_SUITE(store)

BOOST_AUTO_TEST_CASE(without_a_store_the_document_endpoints_say_so) {
    Stack s;
    for (const char* ep :
         {"metadata?id=%2F", "files", "search?query=a", "download?id=x", "thumbnail?id=x"}) {
        const HttpResponse r = s.get(std::string("/wf/") + ep, s.auth());
        BOOST_TEST(r.status == 404, ep);
        BOOST_TEST(r.body == R"({"status":"error","error":"no document store is configured"})");
    }
    const Json info = parse_json(s.get("/wf/serviceInfo").body);
    std::vector<std::string> listed;
    for (const Json& e : info.at("availableEndpoints").items)
        listed.push_back(e.text);
    BOOST_TEST(listed == (std::vector<std::string>{"serviceInfo", "customAction"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(service_info_lists_exactly_what_is_served) {
    StoreStack t;
    const Json info = parse_json(t.s.get("/wf/serviceInfo").body);
    std::vector<std::string> listed;
    for (const Json& e : info.at("availableEndpoints").items)
        listed.push_back(e.text);
    BOOST_TEST(listed ==
                   (std::vector<std::string>{"serviceInfo", "customAction", "metadata", "files",
                                             "search", "download", "thumbnail", "uploadInit",
                                             "upload", "createFolder", "delete", "rename"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(metadata_objects_have_the_spec_shape_and_no_server_path) {
    StoreStack t;
    t.folder("Reports");
    t.file("Reports/q1.pdf", std::string(1234, 'p'));
    for (const std::string root : {"/wf/metadata?id=/", "/wf/metadata?id=%2F"}) {
        const Json r = t.json(root);
        BOOST_TEST(r.at("id").text == "/");
        BOOST_TEST(r.at("kind").text == "folder");
        BOOST_TEST(r.at("title").text == "store"); // the root folder's name
        BOOST_TEST(r.get("size") == nullptr);
        BOOST_TEST(r.get("mimeType") == nullptr);
    }
    const std::string folder = t.id_of("/", "Reports");
    BOOST_TEST_REQUIRE(std::regex_match(folder, kId), folder);
    const std::string file = t.id_of(folder, "q1.pdf");
    BOOST_TEST_REQUIRE(std::regex_match(file, kId), file);
    const HttpResponse raw = t.get("/wf/metadata?id=" + file);
    BOOST_TEST(raw.header("content-type") == "application/json; charset=utf-8");
    BOOST_TEST(raw.body.find(t.root()) == std::string::npos);  // no server path, ever
    BOOST_TEST(raw.body.find("Reports") == std::string::npos); // ids never reveal the path
    const Json m = parse_json(raw.body);
    const std::vector<std::string> keys = {"title",        "kind",         "id",
                                           "viewLink",     "downloadLink", "mimeType",
                                           "dateModified", "size",         "readOnly"};
    BOOST_TEST_REQUIRE(m.members.size() == keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i)
        BOOST_TEST(m.members[i].first == keys[i]);
    BOOST_TEST(m.at("title").text == "q1.pdf");
    BOOST_TEST(m.at("kind").text == "file");
    BOOST_TEST(m.at("mimeType").text == "application/pdf");
    BOOST_TEST(m.at("size").is(Json::Type::number));
    BOOST_TEST(m.at("size").text == "1234");
    BOOST_TEST(m.at("readOnly").is(Json::Type::boolean));
    BOOST_TEST(!m.at("readOnly").boolean);
    BOOST_TEST(std::regex_match(m.at("dateModified").text, kRfc3339), m.at("dateModified").text);
    // The test client sends Host: localhost; nginx passes $host, wfhookd adds the port.
    const std::string base = "http://localhost:" + std::to_string(t.s.nginx.http_port()) + "/wf/";
    BOOST_TEST(m.at("viewLink").text.starts_with(base + "view?id=" + file + "&expires="),
               m.at("viewLink").text);
    BOOST_TEST(m.at("downloadLink").text.starts_with(base + "download?id=" + file + "&expires="));
    const Json f = t.json("/wf/metadata?id=" + folder);
    BOOST_TEST(f.at("kind").text == "folder");
    BOOST_TEST(f.at("downloadLink").text.empty());
    BOOST_TEST(f.at("viewLink").text.starts_with(base + "view?id=" + folder));
}

struct BadCall {
    std::string name;
    std::string target; // @FILE@: a file's id
    int status;
    std::string error;
};

std::ostream& operator<<(std::ostream& os, const BadCall& c) {
    return os << c.name;
}

const BadCall kBadCalls[] = {
    {"unknown id", "/wf/metadata?id=AAAAAAAAAAAAAAAAAAAAAA", 404, "no such file or folder"},
    {"an id that is a path", "/wf/metadata?id=..%2F..%2Fetc%2Fpasswd", 404,
     "no such file or folder"},
    {"an absolute path", "/wf/metadata?id=%2Fetc%2Fpasswd", 404, "no such file or folder"},
    {"missing id", "/wf/metadata", 400, "missing parameter id"},
    {"files of a file", "/wf/files?parentId=@FILE@", 400, "parentId @FILE@ is not a folder"},
    {"files of nothing", "/wf/files?parentId=nope", 404, "no such file or folder"},
    {"negative max", "/wf/files?max=-1", 400, "parameter max must be a whole number of 0 or more"},
    {"max not a number", "/wf/files?max=ten", 400,
     "parameter max must be a whole number of 0 or more"},
    {"offset not a number", "/wf/files?offset=1.5", 400,
     "parameter offset must be a whole number of 0 or more"},
    {"repeated parentId", "/wf/files?parentId=a&parentId=b", 400,
     "parameter parentId is given more than once"},
    {"search within a file", "/wf/search?query=abc&parentId=@FILE@", 400,
     "parentId @FILE@ is not a folder"},
    {"download of a folder (root)", "/wf/download?id=%2F", 400,
     "/ is a folder: only files can be downloaded"},
    {"thumbnail size too small", "/wf/thumbnail?id=@FILE@&size=15", 400,
     "parameter size must be a whole number from 16 to 1024"},
};

BOOST_DATA_TEST_CASE(bad_calls_get_json_errors, bdata::make(kBadCalls), c) {
    static StoreStack t; // one stack for the table
    static const std::string file = [] {
        t.file("only.txt");
        return t.id_of("/", "only.txt");
    }();
    const auto fill = [&](std::string s) {
        return std::regex_replace(s, std::regex("@FILE@"), file);
    };
    const HttpResponse r = t.get(fill(c.target));
    BOOST_TEST(r.status == c.status, r.body);
    BOOST_TEST(r.body == R"({"status":"error","error":")" + fill(c.error) + R"("})");
}

BOOST_AUTO_TEST_CASE(calls_without_credentials_are_refused) {
    StoreStack t;
    for (const char* ep : {"metadata?id=%2F", "files", "search?query=abc"}) {
        const HttpResponse r = t.s.get(std::string("/wf/") + ep);
        BOOST_TEST(r.status == 403, ep);
        BOOST_TEST(r.body == R"({"status":"error","error":"missing apiKey header"})");
    }
}

BOOST_AUTO_TEST_CASE(folders_first_then_files_by_name_case_insensitively) {
    StoreStack t;
    for (const char* f : {"b.txt", "A.txt", "a.txt", "C.txt"})
        t.file(f);
    for (const char* d : {"zeta", "Alpha", "beta"})
        t.folder(d);
    t.file(".hidden");
    t.folder(".wfhookd-trash");
    std::vector<std::string> titles;
    for (const Json& item : t.all("/", 100))
        titles.push_back(item.at("title").text);
    BOOST_TEST(titles == (std::vector<std::string>{"Alpha", "beta", "zeta", "A.txt", "a.txt",
                                                   "b.txt", "C.txt"}),
               boost::test_tools::per_element());
    // Absent, empty and "/" parentId are the root.
    BOOST_TEST(t.json("/wf/files").items.size() == 7u);
    BOOST_TEST(t.json("/wf/files?parentId=").items.size() == 7u);
    BOOST_TEST(t.json("/wf/files?parentId=%2F").items.size() == 7u);
}

// 10,000 files in one folder: paging with max=100 returns each exactly once, in order, and
// a search over them pages the same way.
BOOST_AUTO_TEST_CASE(ten_thousand_files_page_without_gaps_or_repeats) {
    StoreStack t;
    t.folder("big");
    for (int i = 0; i < 10000; ++i)
        t.file("big/file-" + std::to_string(100000 + i) + ".txt", "");
    const std::string big = t.id_of("/", "big");
    const std::vector<Json> items = t.all(big, 100);
    std::set<std::string> ids, titles;
    std::string previous;
    bool ordered = true;
    for (const Json& item : items) {
        ids.insert(item.at("id").text);
        titles.insert(item.at("title").text);
        ordered = ordered && previous < item.at("title").text;
        previous = item.at("title").text;
    }
    BOOST_TEST(items.size() == 10000u);
    BOOST_TEST(ids.size() == 10000u);
    BOOST_TEST(titles.size() == 10000u);
    BOOST_TEST(ordered);

    std::set<std::string> found;
    std::size_t pages = 0, total = 0;
    for (int offset = 0;; offset += 100) {
        const Json page =
            t.json("/wf/search?query=file-1&max=100&offset=" + std::to_string(offset));
        ++pages;
        total += page.items.size();
        for (const Json& item : page.items)
            found.insert(item.at("id").text);
        if (page.items.size() < 100) break;
    }
    BOOST_TEST(total == 10000u);
    BOOST_TEST(found == ids);
    BOOST_TEST(pages == 101u);
    // max is capped by [store] max_page (1000).
    BOOST_TEST(t.json("/wf/files?parentId=" + big + "&max=5000").items.size() == 1000u);
}

BOOST_AUTO_TEST_CASE(search_finds_names_case_insensitively_within_a_folder) {
    StoreStack t;
    t.folder("cv");
    t.file("cv/RÉSUMÉ 2025.pdf");
    t.file("Résumé final.docx");
    t.file("resume.txt"); // no accents: not the same word
    t.file("notes.txt");
    t.folder("cv/résumés");
    t.all(t.id_of("/", "cv"), 100); // files appear in searches once their folder is listed
    const auto titles = [&](const std::string& target) {
        std::set<std::string> out;
        for (const Json& item : t.json(target).items)
            out.insert(item.at("title").text);
        return out;
    };
    BOOST_TEST(titles("/wf/search?query=r%C3%A9sum%C3%A9") ==
                   (std::set<std::string>{"RÉSUMÉ 2025.pdf", "Résumé final.docx", "résumés"}),
               boost::test_tools::per_element());
    BOOST_TEST(titles("/wf/search?query=RESUME") == (std::set<std::string>{"resume.txt"}),
               boost::test_tools::per_element());
    const std::string cv = t.id_of("/", "cv");
    BOOST_TEST(titles("/wf/search?query=r%C3%A9sum%C3%A9&parentId=" + cv) ==
                   (std::set<std::string>{"RÉSUMÉ 2025.pdf", "résumés"}),
               boost::test_tools::per_element());
    BOOST_TEST(titles("/wf/search?query=no") == (std::set<std::string>{"notes.txt"}),
               boost::test_tools::per_element());
    BOOST_TEST(t.json("/wf/search?query=").items.empty());
    BOOST_TEST(t.json("/wf/search").items.empty());
}

// Items copied in by other means appear once their folder is listed (or after --reindex);
// ones deleted behind wfhookd's back answer 404.
BOOST_AUTO_TEST_CASE(the_index_follows_the_tree) {
    StoreStack t;
    t.file("gone.txt");
    const std::string gone = t.id_of("/", "gone.txt");
    BOOST_TEST_REQUIRE(!gone.empty());
    unlink((t.root() + "/gone.txt").c_str());
    BOOST_TEST(t.get("/wf/metadata?id=" + gone).status == 404);
    t.folder("late");
    t.file("late/arrived.txt");
    BOOST_TEST(t.json("/wf/search?query=arrived").items.empty()); // not listed yet
    const std::string late = t.id_of("/", "late");
    BOOST_TEST(t.id_of(late, "arrived.txt").size() > 0u);
    BOOST_TEST(t.json("/wf/search?query=arrived").items.size() == 1u);
}

BOOST_AUTO_TEST_CASE(hostile_names_are_listed_searched_and_reachable_by_id) {
    StoreStack t;
    t.folder("h");
    for (const std::string& n : kHostileNames)
        t.file("h/" + n, "content of " + n);
    const std::string h = t.id_of("/", "h");
    std::map<std::string, std::string> ids; // title -> id
    for (const Json& item : t.all(h, 5))
        ids[item.at("title").text] = item.at("id").text;
    BOOST_TEST(ids.size() == kHostileNames.size());
    for (const std::string& n : kHostileNames) {
        // Not UTF-8: the title carries U+FFFD, the item is still there by its id.
        const std::string title = n == "caf\xE9-latin1.txt" ? "caf\xEF\xBF\xBD-latin1.txt" : n;
        BOOST_TEST_CONTEXT(title) {
            BOOST_TEST_REQUIRE(ids.count(title) == 1u, [&] {
                std::string all;
                for (const auto& [k, v] : ids)
                    all += "[" + k + "] ";
                return all;
            }());
            const Json m = t.json("/wf/metadata?id=" + ids[title]);
            BOOST_TEST(m.at("title").text == title);
            BOOST_TEST(m.at("size").text == std::to_string(("content of " + n).size()));
        }
    }
    BOOST_TEST(t.json("/wf/search?query=" + url_encode("100%")).items.size() == 1u);
    BOOST_TEST(t.json("/wf/search?query=" + url_encode("?.t")).items.size() == 1u);
    BOOST_TEST(t.json("/wf/search?query=" + url_encode("\"d.")).items.size() == 1u);
    BOOST_TEST(t.json("/wf/search?query=" + url_encode("\xF0\x9F\x93\x84")).items.size() == 1u);
}

// Symbolic links are never followed, whether they point outside the root or inside it;
// devices, FIFOs and sockets are never served.
BOOST_AUTO_TEST_CASE(nothing_outside_the_root_and_no_special_files) {
    StoreStack t;
    t.folder("d");
    t.file("d/real.txt", "real");
    const std::string r = t.root();
    BOOST_TEST_REQUIRE(symlink("/etc/passwd", (r + "/passwd-link").c_str()) == 0);
    BOOST_TEST_REQUIRE(symlink("/etc", (r + "/etc-link").c_str()) == 0);
    BOOST_TEST_REQUIRE(symlink("d/real.txt", (r + "/inside-link").c_str()) == 0);
    BOOST_TEST_REQUIRE(mkfifo((r + "/fifo").c_str(), 0600) == 0);
    std::vector<std::string> titles;
    for (const Json& item : t.all("/", 100))
        titles.push_back(item.at("title").text);
    BOOST_TEST(titles == std::vector<std::string>{"d"}, boost::test_tools::per_element());
    BOOST_TEST(t.json("/wf/search?query=link").items.empty());
    BOOST_TEST(t.json("/wf/search?query=passwd").items.empty());

    // A folder swapped for a link after it was listed: its id leads nowhere.
    const std::string d = t.id_of("/", "d");
    const std::string real = t.id_of(d, "real.txt");
    BOOST_TEST_REQUIRE(rename((r + "/d").c_str(), (r + "/d.moved").c_str()) == 0);
    BOOST_TEST_REQUIRE(symlink("/etc", (r + "/d").c_str()) == 0);
    BOOST_TEST(t.get("/wf/metadata?id=" + d).status == 404);
    BOOST_TEST(t.get("/wf/metadata?id=" + real).status == 404);
    BOOST_TEST(t.get("/wf/files?parentId=" + d).status == 404);
}

// Ids survive a restart, a --reindex, a rename outside wfhookd (the id travels in
// user.wfhookd.id), and a lost index rebuilt with --reindex.
BOOST_AUTO_TEST_CASE(ids_are_stable) {
    StoreStack t;
    t.folder("a/b");
    t.file("a/b/doc.txt");
    t.file("a/top.txt");
    const std::string a = t.id_of("/", "a");
    const std::string b = t.id_of(a, "b");
    const std::string doc = t.id_of(b, "doc.txt");
    const std::string top = t.id_of(a, "top.txt");
    const std::string r = t.root();
    char attr[80] = {};
    const bool xattrs =
        getxattr((r + "/a/b/doc.txt").c_str(), "user.wfhookd.id", attr, sizeof attr - 1) > 0;
    BOOST_TEST_REQUIRE(xattrs, "this file system has no user xattrs");
    BOOST_TEST(std::string(attr) == doc);

    t.s.wfhookd.stop();
    t.s.wfhookd.start();
    BOOST_TEST(t.id_of(b, "doc.txt") == doc);

    const auto reindex = [&] {
        Process p({wfhookd_binary(), "--reindex", "-c", t.s.wfhookd.config_path()},
                  t.s.dir.file("reindex.out"));
        return p.wait(30s);
    };
    BOOST_TEST(reindex() == 0, read_file(t.s.dir.file("reindex.out")));
    BOOST_TEST(t.id_of(b, "doc.txt") == doc);

    // Renamed and moved outside wfhookd: same ids, the folder's contents follow it.
    BOOST_TEST_REQUIRE(rename((r + "/a/b").c_str(), (r + "/moved-b").c_str()) == 0);
    BOOST_TEST(t.id_of("/", "moved-b") == b);
    BOOST_TEST(t.id_of(b, "doc.txt") == doc);
    BOOST_TEST(t.json("/wf/metadata?id=" + doc).at("title").text == "doc.txt");

    // The index lost: --reindex gives every item its id back.
    t.s.wfhookd.stop();
    for (const char* suffix : {"", "-wal", "-shm"})
        unlink((t.s.dir.file("wfhookd.index.sqlite") + suffix).c_str());
    BOOST_TEST(reindex() == 0, read_file(t.s.dir.file("reindex.out")));
    BOOST_TEST(read_file(t.s.dir.file("reindex.out")).find("0 new") != std::string::npos,
               read_file(t.s.dir.file("reindex.out")));
    t.s.wfhookd.start();
    BOOST_TEST(t.id_of("/", "a") == a);
    BOOST_TEST(t.id_of(a, "top.txt") == top);
    BOOST_TEST(t.id_of("/", "moved-b") == b);
    BOOST_TEST(t.id_of(b, "doc.txt") == doc);
}

// A copy that kept the id attribute (cp -a) is a new item: the original keeps its id.
BOOST_AUTO_TEST_CASE(a_copy_with_the_attribute_gets_a_new_id) {
    StoreStack t;
    t.file("orig.txt", "o");
    const std::string orig = t.id_of("/", "orig.txt");
    const std::string r = t.root();
    t.file("copy.txt", "o");
    BOOST_TEST_REQUIRE(
        setxattr((r + "/copy.txt").c_str(), "user.wfhookd.id", orig.data(), orig.size(), 0) == 0);
    const std::string copy = t.id_of("/", "copy.txt");
    BOOST_TEST(!copy.empty());
    BOOST_TEST(copy != orig);
    BOOST_TEST(t.id_of("/", "orig.txt") == orig);
}

BOOST_AUTO_TEST_CASE(a_new_store_is_indexed_at_start) {
    TempDir dir;
    WfhookdOptions o = store_options();
    Wfhookd w(dir, o);
    dir.write("store/deep/er/needle.txt", "x", 0640);
    Nginx nginx(dir, {"unix:" + w.socket_path()});
    w.start();
    BOOST_TEST(w.log().find("store: indexed 3 folders and 1 files") != std::string::npos, w.log());
    const HttpResponse r =
        http_request("127.0.0.1", nginx.http_port(), "GET", "/wf/search?query=needle",
                     {{"apiKey", w.api_key()}, {"username", "u"}});
    BOOST_TEST(parse_json(r.body).items.size() == 1u, r.body);
}

BOOST_AUTO_TEST_SUITE_END()
