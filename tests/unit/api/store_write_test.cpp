// The store's write endpoints through the router (src/api/store_write.cpp; spec §6.6-6.9,
// §6.11, §12 items 12-18): status codes, JSON bodies, where parameters may come from, the
// read-only store, upload limits and bodies, and the audit trail.
#include "api/router.hpp"

#include "api/context.hpp"
#include "api/store_context.hpp"
#include "config/config.hpp"
#include "support/json_check.hpp"
#include "support/temp_dir.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <dirent.h>
#include <memory>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <vector>

namespace bdata = boost::unit_test::data;
using wfhookd::BodySource;
using wfhookd::Context;
using wfhookd::Item;
using wfhookd::Outcome;
using wfhookd::Request;
using wfhookd::Response;
using wfhookd::RouteInfo;
using wftest::Json;

namespace {

const std::string kKey = "key-one-0123456789abcdef-0123456";
const std::string kUser = "alice@example.com";
const std::string kPublic = "https://docs.example.com/wf";

// A store with the write side, in a temporary directory, behind a worker's Context.
struct Api {
    wftest::TempDir dir;
    std::shared_ptr<const wfhookd::Config> config;
    std::unique_ptr<Context> ctx;

    explicit Api(const std::string& store_extra = "") {
        const std::string keys = dir.write("keys", kKey + "\n", 0600);
        const std::string secret = dir.write("secret", std::string(48, 's') + "\n", 0640);
        BOOST_TEST_REQUIRE(mkdir(dir.file("store").c_str(), 0750) == 0);
        const std::string path = dir.write(
            "wfhookd.conf",
            "[server]\nmax_body_size = 64k\n[auth]\napi_key_file = " + keys +
                "\n[store]\nroot = " + dir.file("store") + "\nindex = " + dir.file("index.sqlite") +
                "\nlink_secret_file = " + secret + "\nthumbnail_cache = " + dir.file("thumbnails") +
                "\naudit_file = " + dir.file("audit.jsonl") + "\npublic_url = " + kPublic +
                "\nmax_upload_size = 1000\n" + store_extra);
        wfhookd::ConfigResult r = wfhookd::load_config(path);
        if (!r.config) throw std::runtime_error("test config rejected: " + r.errors.at(0));
        config = r.config;
        ctx = std::make_unique<Context>(config);
        std::string error;
        BOOST_TEST_REQUIRE(ctx->open_store(error), error);
    }

    wfhookd::Store& store() { return ctx->store->store; }
    std::string path(const std::string& rel) const { return dir.file("store/" + rel); }
    std::string audit() const { return wftest::read_file(dir.file("audit.jsonl")); }

    // The id of the item at a store path (listing its folder first, as /files would).
    std::string id_of(const std::string& rel) {
        Item folder;
        BOOST_TEST_REQUIRE((store().find("/", folder) == Outcome::ok));
        std::size_t start = 0;
        for (;;) {
            const auto slash = rel.find('/', start);
            const std::string name = rel.substr(start, slash - start);
            wfhookd::Listing l;
            BOOST_TEST_REQUIRE((store().list(folder, l) == Outcome::ok));
            const auto it =
                std::find_if(l.items.begin(), l.items.end(),
                             [&](const wfhookd::IndexRow& r) { return r.name == name; });
            BOOST_TEST_REQUIRE((it != l.items.end()), rel);
            if (slash == std::string::npos) return it->id;
            BOOST_TEST_REQUIRE((store().find(it->id, folder) == Outcome::ok));
            start = slash + 1;
        }
    }
};

// The request: views into these strings.
struct Req {
    std::string method = "POST";
    std::string path;
    std::string query;
    std::string content_type;
    std::string body;
    std::int64_t content_length = -2; // -2: the body's size
    BodySource* source = nullptr;
    std::string username = kUser;
};

struct Sent {
    Response res;
    RouteInfo info;
    Json json;
    std::string json_error; // empty when the body is strict JSON
    // The "error" member, or a description of what the body is instead.
    std::string error() const {
        const Json* e = json.get("error");
        return e != nullptr ? e->text : "<no error member in " + res.body + ">";
    }
};

Sent send(Api& api, const Req& r) {
    Request req;
    req.method = r.method;
    req.path = r.path;
    req.query = r.query;
    req.api_key = kKey;
    req.username = r.username;
    req.content_type = r.content_type;
    req.body = r.body;
    req.content_length =
        r.content_length == -2 ? static_cast<std::int64_t>(r.body.size()) : r.content_length;
    req.body_source = r.source;
    req.host = "ignored.example.com";
    Sent s;
    wfhookd::route(*api.ctx, req, s.res, s.info);
    if (!wftest::json_parse(s.res.body, s.json, s.json_error) && s.json_error.empty())
        s.json_error = "invalid";
    return s;
}

Sent post(Api& api, const std::string& path, const std::string& query) {
    Req r;
    r.path = path;
    r.query = query;
    return send(api, r);
}

Sent put(Api& api, const std::string& path, const std::string& query, const std::string& body = "",
         const std::string& content_type = "") {
    Req r;
    r.method = "PUT";
    r.path = path;
    r.query = query;
    r.body = body;
    r.content_type = content_type;
    return send(api, r);
}

std::string encode(std::string_view s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') ||
            u == '-' || u == '_' || u == '.' || u == '~') {
            out += c;
        } else {
            out += '%';
            out += hex[u >> 4];
            out += hex[u & 15];
        }
    }
    return out;
}

// The member names of an object, in order.
std::vector<std::string> keys(const Json& j) {
    std::vector<std::string> out;
    for (const auto& m : j.members)
        out.push_back(m.first);
    return out;
}

// An RFC 3339 UTC time with milliseconds: 2026-11-23T15:04:05.123Z.
bool rfc3339_ms(const std::string& t) {
    if (t.size() != 24) return false;
    for (std::size_t i = 0; i < t.size(); ++i) {
        const char want = i == 4 || i == 7     ? '-'
                          : i == 10            ? 'T'
                          : i == 13 || i == 16 ? ':'
                          : i == 19            ? '.'
                          : i == 23            ? 'Z'
                                               : '#';
        if (want == '#' ? (t[i] < '0' || t[i] > '9') : t[i] != want) return false;
    }
    return true;
}

// A body that counts what it is asked for; -1 after `fail_after` bytes when set.
class Source : public BodySource {
public:
    explicit Source(std::string data, long fail_after = -1)
        : data_(std::move(data)), fail_after_(fail_after) {}
    long read(char* buf, std::size_t size) override {
        ++reads;
        if (fail_after_ >= 0 && pos_ >= static_cast<std::size_t>(fail_after_)) return -1;
        std::size_t n = std::min({size, data_.size() - pos_, std::size_t(997)});
        if (fail_after_ >= 0) n = std::min(n, static_cast<std::size_t>(fail_after_) - pos_);
        std::copy_n(data_.data() + pos_, n, buf);
        pos_ += n;
        return static_cast<long>(n);
    }
    int reads = 0;

private:
    std::string data_;
    long fail_after_;
    std::size_t pos_ = 0;
};

std::vector<std::string> entries(const std::string& dir) {
    std::vector<std::string> out;
    if (DIR* d = opendir(dir.c_str())) {
        while (const dirent* e = readdir(d)) {
            const std::string n = e->d_name;
            if (n != "." && n != "..") out.push_back(n);
        }
        closedir(d);
    }
    std::sort(out.begin(), out.end());
    return out;
}

const std::string kSuccess = R"({"status":"success"})";
const std::string kUploaded = R"({"result":"success"})";

} // namespace

BOOST_AUTO_TEST_SUITE(api_store_write)

// ---- uploadInit ---------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(upload_init_answers_the_new_files_metadata) {
    Api api;
    const Sent s =
        post(api, "/uploadInit",
             "parentId=%2F&filename=new-file.png&documentId=511ea6e000023edb38d2effb2f4e6e3b"
             "&documentVersionId=511ea6e000023edb38d2effb2f4e6e3c");
    BOOST_TEST_REQUIRE(s.res.status == 200, s.res.body);
    BOOST_TEST_REQUIRE(s.json_error == "", s.res.body);
    const Json& j = s.json;
    BOOST_TEST(keys(j) ==
                   (std::vector<std::string>{"title", "kind", "id", "viewLink", "downloadLink",
                                             "mimeType", "dateModified", "size", "readOnly"}),
               boost::test_tools::per_element());
    const std::string id = j.at("id").text;
    BOOST_TEST(wfhookd::Store::valid_id(id));
    BOOST_TEST(id != "/");
    BOOST_TEST(j.at("title").text == "new-file.png");
    BOOST_TEST(j.at("kind").text == "file");
    BOOST_TEST(j.at("viewLink").text.starts_with(kPublic + "/view?id=" + id + "&expires="));
    BOOST_TEST(j.at("downloadLink").text.starts_with(kPublic + "/download?id=" + id + "&expires="));
    BOOST_TEST(j.at("mimeType").text == "image/png");
    BOOST_TEST(rfc3339_ms(j.at("dateModified").text), j.at("dateModified").text);
    BOOST_TEST(j.at("size").is(Json::Type::number));
    BOOST_TEST(j.at("size").text == "0");
    BOOST_TEST(j.at("readOnly").is(Json::Type::boolean));
    BOOST_TEST(!j.at("readOnly").boolean);
    // An empty file on disk, and the same item for /metadata.
    BOOST_TEST(wftest::file_exists(api.path("new-file.png")));
    BOOST_TEST(wftest::read_file(api.path("new-file.png")).empty());
    Req meta;
    meta.method = "GET";
    meta.path = "/metadata";
    meta.query = "id=" + id;
    const Sent m = send(api, meta);
    BOOST_TEST(m.res.status == 200);
    BOOST_TEST(m.json.at("title").text == "new-file.png");
    // Workfront's ids lead to it.
    Item item;
    BOOST_TEST_REQUIRE(
        (api.store().find_document("511ea6e000023edb38d2effb2f4e6e3b", item) == Outcome::ok));
    BOOST_TEST(item.row.id == id);

    // The same name again: numbered, a new id (spec §12 item 14; docs/workfront.md).
    const Sent again = post(api, "/uploadInit", "parentId=%2F&filename=new-file.png");
    BOOST_TEST_REQUIRE(again.res.status == 200, again.res.body);
    BOOST_TEST(again.json.at("title").text == "new-file (2).png");
    BOOST_TEST(again.json.at("id").text != id);
    const Sent third = post(api, "/uploadInit", "filename=new-file.png"); // no parentId: root
    BOOST_TEST_REQUIRE(third.res.status == 200, third.res.body);
    BOOST_TEST(third.json.at("title").text == "new-file (3).png");
    const Sent fourth = post(api, "/uploadInit", "parentId=&filename=new%20file.png");
    BOOST_TEST_REQUIRE(fourth.res.status == 200, fourth.res.body);
    BOOST_TEST(fourth.json.at("title").text == "new file.png");
    BOOST_TEST(entries(api.path("")) ==
                   (std::vector<std::string>{"new file.png", "new-file (2).png", "new-file (3).png",
                                             "new-file.png"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(upload_init_into_a_folder) {
    Api api;
    api.dir.write("store/docs/old.txt", "old", 0640);
    const std::string docs = api.id_of("docs");
    const std::string old = api.id_of("docs/old.txt");
    const Sent s = post(api, "/uploadInit", "parentId=" + docs + "&filename=a.txt");
    BOOST_TEST_REQUIRE(s.res.status == 200, s.res.body);
    BOOST_TEST(wftest::file_exists(api.path("docs/a.txt")));
    BOOST_TEST(api.id_of("docs/a.txt") == s.json.at("id").text);

    const Sent file = post(api, "/uploadInit", "parentId=" + old + "&filename=a.txt");
    BOOST_TEST(file.res.status == 400);
    BOOST_TEST(file.error() == "parentId " + old + " is not a folder");
    const Sent unknown = post(api, "/uploadInit", "parentId=nosuchid&filename=a.txt");
    BOOST_TEST(unknown.res.status == 404);
    BOOST_TEST(unknown.res.body == R"({"status":"error","error":"no such file or folder"})");
    BOOST_TEST(entries(api.path("docs")) == (std::vector<std::string>{"a.txt", "old.txt"}),
               boost::test_tools::per_element());
    // uploadInit takes POST only.
    Req get;
    get.method = "GET";
    get.path = "/uploadInit";
    get.query = "filename=b.txt";
    const Sent g = send(api, get);
    BOOST_TEST(g.res.status == 405);
    BOOST_TEST(g.res.allow == "POST");
    BOOST_TEST(!wftest::file_exists(api.path("b.txt")));
}

// ---- createFolder -------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(create_folder_answers_the_folders_metadata) {
    Api api;
    api.dir.write("store/taken.txt", "t", 0640);
    const Sent s = post(api, "/createFolder", "parentId=%2F&name=New%20Folder");
    BOOST_TEST_REQUIRE(s.res.status == 200, s.res.body);
    BOOST_TEST_REQUIRE(s.json_error == "", s.res.body);
    const Json& j = s.json;
    // A folder has neither mimeType nor size (spec §12 items 3-4).
    BOOST_TEST(keys(j) == (std::vector<std::string>{"title", "kind", "id", "viewLink",
                                                    "downloadLink", "dateModified", "readOnly"}),
               boost::test_tools::per_element());
    const std::string id = j.at("id").text;
    BOOST_TEST(j.at("title").text == "New Folder");
    BOOST_TEST(j.at("kind").text == "folder");
    BOOST_TEST(wfhookd::Store::valid_id(id));
    BOOST_TEST(j.at("viewLink").text.starts_with(kPublic + "/view?id=" + id + "&expires="));
    BOOST_TEST(j.at("downloadLink").text == "");
    BOOST_TEST(rfc3339_ms(j.at("dateModified").text), j.at("dateModified").text);
    BOOST_TEST(!j.at("readOnly").boolean);
    struct stat st {};
    BOOST_TEST_REQUIRE(stat(api.path("New Folder").c_str(), &st) == 0);
    BOOST_TEST(S_ISDIR(st.st_mode));

    // A name in use: 409, whatever holds it.
    const Sent again = post(api, "/createFolder", "parentId=%2F&name=New%20Folder");
    BOOST_TEST(again.res.status == 409);
    BOOST_TEST(again.res.body ==
               R"({"status":"error","error":"a folder named New Folder already exists"})");
    const Sent file = post(api, "/createFolder", "name=taken.txt");
    BOOST_TEST(file.res.status == 409);
    BOOST_TEST(file.error() == "a folder named taken.txt already exists");
    BOOST_TEST(wftest::read_file(api.path("taken.txt")) == "t");

    // Inside the new folder; no parentId is the root.
    const Sent inner = post(api, "/createFolder", "parentId=" + id + "&name=New%20Folder");
    BOOST_TEST_REQUIRE(inner.res.status == 200, inner.res.body);
    BOOST_TEST(wftest::file_exists(api.path("New Folder/New Folder")));
    const Sent unknown = post(api, "/createFolder", "parentId=nosuchid&name=x");
    BOOST_TEST(unknown.res.status == 404);
    BOOST_TEST(unknown.error() == "no such file or folder");
    const Sent missing = post(api, "/createFolder", "parentId=%2F");
    BOOST_TEST(missing.res.status == 400);
    BOOST_TEST(missing.error() == "missing parameter name");
    BOOST_TEST(entries(api.path("")) == (std::vector<std::string>{"New Folder", "taken.txt"}),
               boost::test_tools::per_element());
}

// ---- Names
// ----------------------------------------------------------------------------------------

struct BadName {
    std::string what;
    std::string encoded; // as the query carries it
    std::string problem; // after "parameter <name> "
};

std::ostream& operator<<(std::ostream& os, const BadName& c) {
    return os << c.what;
}

const BadName kBadNames[] = {
    {"dot", ".", "cannot be \".\" or \"..\""},
    {"dot dot", "..", "cannot be \".\" or \"..\""},
    {"hidden", ".hidden", "cannot start with '.' (hidden names are wfhookd's own)"},
    {"the trash", ".wfhookd-trash", "cannot start with '.' (hidden names are wfhookd's own)"},
    {"slash", "a%2Fb", "cannot contain '/'"},
    {"a path", "..%2F..%2Fetc", "cannot contain '/'"},
    {"control character", "a%01b", "cannot contain control characters"},
    {"newline", "a%0Ab", "cannot contain control characters"},
    {"DEL", "a%7F", "cannot contain control characters"},
    {"256 bytes", std::string(256, 'n'), "must be 1 to 255 bytes"},
    {"1024 bytes", std::string(1024, 'n'), "must be 1 to 255 bytes"},
    // The router's own checks.
    {"empty", "", "is empty"},
    {"NUL", "a%00b", "(NUL)"},
    {"not UTF-8", "caf%E9", "is not valid UTF-8"},
    {"1025 bytes", std::string(1025, 'n'), "is 1025 bytes; the limit is 1024"},
};

struct NameEndpoint {
    std::string path, method, param;
};

std::ostream& operator<<(std::ostream& os, const NameEndpoint& e) {
    return os << e.path;
}

const NameEndpoint kNameEndpoints[] = {
    {"/uploadInit", "POST", "filename"},
    {"/createFolder", "POST", "name"},
    {"/rename", "PUT", "name"},
};

BOOST_DATA_TEST_CASE(bad_names_are_refused_with_the_reason,
                     bdata::make(kBadNames) * bdata::make(kNameEndpoints), c, ep) {
    Api api;
    api.dir.write("store/existing.txt", "e", 0640);
    const std::string id = api.id_of("existing.txt");
    Req r;
    r.method = ep.method;
    r.path = ep.path;
    r.query =
        (ep.path == "/rename" ? "id=" + id + "&" : std::string()) + ep.param + "=" + c.encoded;
    const Sent s = send(api, r);
    BOOST_TEST(s.res.status == 400);
    const std::string message = s.error();
    if (c.problem == "(NUL)") {
        BOOST_TEST(message == "%00 (NUL byte) is not allowed in the query string");
    } else {
        BOOST_TEST(message == "parameter " + ep.param + " " + c.problem);
    }
    BOOST_TEST(entries(api.path("")) == std::vector<std::string>{"existing.txt"},
               boost::test_tools::per_element());
    BOOST_TEST(api.audit().empty());
}

BOOST_AUTO_TEST_CASE(good_unusual_names_are_accepted) {
    Api api;
    const std::string emoji = "\xF0\x9F\x98\x80 r\xC3\xA9sum\xC3\xA9.pdf";
    const std::string longest = std::string(251, 'x') + ".txt";
    for (const std::string& name : {emoji, longest, std::string("a..b"), std::string("#1 (x)")}) {
        const Sent s = post(api, "/uploadInit", "filename=" + encode(name));
        BOOST_TEST(s.res.status == 200, s.res.body);
        BOOST_TEST(s.json.at("title").text == name);
        BOOST_TEST(wftest::file_exists(api.path(name)));
    }
    // Names that differ only by case are different items.
    BOOST_TEST(post(api, "/createFolder", "name=Box").res.status == 200);
    BOOST_TEST(post(api, "/createFolder", "name=BOX").res.status == 200);
    BOOST_TEST(post(api, "/createFolder", "name=box").res.status == 200);
}

// ---- delete
// ---------------------------------------------------------------------------------------

struct DeleteCase {
    std::string what;
    std::string query; // {file} and {folder} stand for the ids
    int status;
    std::string error; // empty: success
    std::string gone;  // the item that must be gone ("file", "folder" or "")
    std::string method = "PUT";
};

std::ostream& operator<<(std::ostream& os, const DeleteCase& c) {
    return os << c.what;
}

const std::string kOneOf = "give exactly one of id, documentId and folderId";

const DeleteCase kDeleteCases[] = {
    {"a file by id", "id={file}", 200, "", "file"},
    {"a file by documentId", "documentId={file}", 200, "", "file"},
    {"a folder by folderId", "folderId={folder}", 200, "", "folder"},
    {"a folder by id", "id={folder}", 200, "", "folder"},
    {"with DELETE", "id={file}", 200, "", "file", "DELETE"},
    {"with POST", "id={file}", 200, "", "file", "POST"},
    {"an empty id does not count", "id=&documentId={file}", 200, "", "file"},
    {"a folder by documentId", "documentId={folder}", 400, "{folder} is a folder: use folderId",
     ""},
    {"a file by folderId", "folderId={file}", 400, "{file} is not a folder: use documentId", ""},
    {"nothing named", "", 400, kOneOf, ""},
    {"only empty parameters", "id=&documentId=&folderId=", 400, kOneOf, ""},
    {"id and documentId", "id={file}&documentId={file}", 400, kOneOf, ""},
    {"documentId and folderId", "documentId={file}&folderId={folder}", 400, kOneOf, ""},
    {"all three", "id={file}&documentId={file}&folderId={folder}", 400, kOneOf, ""},
    {"the root", "id=%2F", 400, "the root folder cannot be deleted", ""},
    {"the root by folderId", "folderId=/", 400, "the root folder cannot be deleted", ""},
    {"an unknown id", "id=AAAAAAAAAAAAAAAAAAAAAA", 404, "no such file or folder", ""},
    {"an id of another shape", "documentId=..%2Fetc", 404, "no such file or folder", ""},
    {"id twice", "id={file}&id={file}", 400, "parameter id is given more than once", ""},
    {"with GET", "id={file}", 405, "method GET is not allowed here; use PUT, DELETE, POST", "",
     "GET"},
};

std::string with_ids(std::string s, const std::string& file, const std::string& folder) {
    for (const auto& [key, value] : {std::pair<std::string, std::string>{"{file}", file},
                                     std::pair<std::string, std::string>{"{folder}", folder}})
        for (auto at = s.find(key); at != std::string::npos; at = s.find(key))
            s.replace(at, key.size(), value);
    return s;
}

BOOST_DATA_TEST_CASE(delete_needs_exactly_one_item, bdata::make(kDeleteCases), c) {
    Api api;
    api.dir.write("store/doc.txt", "doc", 0640);
    api.dir.write("store/box/inner/deep.txt", "deep", 0640);
    const std::string file = api.id_of("doc.txt"), folder = api.id_of("box");
    const std::string deep = api.id_of("box/inner/deep.txt");
    Req r;
    r.method = c.method;
    r.path = "/delete";
    r.query = with_ids(c.query, file, folder);
    const Sent s = send(api, r);
    BOOST_TEST(s.res.status == c.status, s.res.body);
    Item item;
    if (c.error.empty()) {
        BOOST_TEST(s.res.body == kSuccess);
        const std::string& id = c.gone == "file" ? file : folder;
        BOOST_TEST((api.store().find(id, item) == Outcome::not_found));
        BOOST_TEST(!wftest::file_exists(api.path(c.gone == "file" ? "doc.txt" : "box")));
        if (c.gone == "folder") BOOST_TEST((api.store().find(deep, item) == Outcome::not_found));
        BOOST_TEST(api.audit() != "");
    } else {
        BOOST_TEST(s.error() == with_ids(c.error, file, folder));
        BOOST_TEST(wftest::read_file(api.path("doc.txt")) == "doc");
        BOOST_TEST(wftest::read_file(api.path("box/inner/deep.txt")) == "deep");
        BOOST_TEST((api.store().find(file, item) == Outcome::ok));
        BOOST_TEST((api.store().find(deep, item) == Outcome::ok));
        BOOST_TEST(api.audit() == "");
    }
}

BOOST_AUTO_TEST_CASE(deleted_items_go_to_the_trash_and_vanish_from_the_api) {
    Api api;
    api.dir.write("store/box/needle.txt", "sharp", 0640);
    const std::string box = api.id_of("box"), needle = api.id_of("box/needle.txt");
    BOOST_TEST_REQUIRE(put(api, "/delete", "folderId=" + box).res.body == kSuccess);
    Req meta;
    meta.method = "GET";
    meta.path = "/metadata";
    meta.query = "id=" + needle;
    BOOST_TEST(send(api, meta).res.status == 404);
    Req search;
    search.method = "GET";
    search.path = "/search";
    search.query = "query=needle";
    BOOST_TEST(send(api, search).res.body == "[]");
    Req files;
    files.method = "GET";
    files.path = "/files";
    BOOST_TEST(send(api, files).res.body == "[]"); // the trash is not listed
    // Kept in the trash, whence it can be restored.
    const std::vector<std::string> trash = entries(api.path(".wfhookd-trash"));
    BOOST_TEST_REQUIRE(trash.size() == 1u);
    BOOST_TEST(trash[0].ends_with("-" + box));
    BOOST_TEST(wftest::read_file(api.path(".wfhookd-trash/" + trash[0] + "/box/needle.txt")) ==
               "sharp");
}

// ---- rename
// ---------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(rename_keeps_the_id) {
    Api api;
    api.dir.write("store/a.txt", "a", 0640);
    api.dir.write("store/b.txt", "b", 0640);
    api.dir.write("store/box/in.txt", "in", 0640);
    const std::string a = api.id_of("a.txt"), box = api.id_of("box"), in = api.id_of("box/in.txt");

    const Sent ok = put(api, "/rename", "id=" + a + "&name=" + encode("Renamed é.txt"));
    BOOST_TEST(ok.res.status == 200);
    BOOST_TEST(ok.res.body == kSuccess);
    BOOST_TEST(wftest::read_file(api.path("Renamed é.txt")) == "a");
    BOOST_TEST(!wftest::file_exists(api.path("a.txt")));
    Req meta;
    meta.method = "GET";
    meta.path = "/metadata";
    meta.query = "id=" + a;
    BOOST_TEST(send(api, meta).json.at("title").text == "Renamed é.txt");

    // A folder: what is inside keeps its id.
    BOOST_TEST(put(api, "/rename", "id=" + box + "&name=Crate").res.body == kSuccess);
    meta.query = "id=" + in;
    const Sent inner = send(api, meta);
    BOOST_TEST(inner.res.status == 200);
    BOOST_TEST(wftest::read_file(api.path("Crate/in.txt")) == "in");

    // POST works too; a taken name is a conflict.
    Req post_rename;
    post_rename.path = "/rename";
    post_rename.query = "id=" + a + "&name=b.txt";
    const Sent taken = send(api, post_rename);
    BOOST_TEST(taken.res.status == 409);
    BOOST_TEST(taken.res.body ==
               R"({"status":"error","error":"an item named b.txt already exists"})");
    BOOST_TEST(wftest::read_file(api.path("b.txt")) == "b");
    BOOST_TEST(wftest::read_file(api.path("Renamed é.txt")) == "a");

    const Sent root = put(api, "/rename", "id=%2F&name=x");
    BOOST_TEST(root.res.status == 400);
    BOOST_TEST(root.error() == "the root folder cannot be renamed");
    const Sent unknown = put(api, "/rename", "id=AAAAAAAAAAAAAAAAAAAAAA&name=x");
    BOOST_TEST(unknown.res.status == 404);
    BOOST_TEST(unknown.error() == "no such file or folder");
    const Sent no_name = put(api, "/rename", "id=" + a);
    BOOST_TEST(no_name.res.status == 400);
    BOOST_TEST(no_name.error() == "missing parameter name");
    const Sent no_id = put(api, "/rename", "name=x");
    BOOST_TEST(no_id.res.status == 400);
    BOOST_TEST(no_id.error() == "missing parameter id");
    BOOST_TEST(entries(api.path("")) ==
                   (std::vector<std::string>{"Crate", "Renamed é.txt", "b.txt"}),
               boost::test_tools::per_element());
}

// ---- Parameters from a form body (spec §12 item 16)
// -----------------------------------------------

BOOST_AUTO_TEST_CASE(parameters_come_from_a_form_body_too) {
    Api api;
    api.dir.write("store/a.txt", "a", 0640);
    api.dir.write("store/gone.txt", "g", 0640);
    const std::string a = api.id_of("a.txt"), gone = api.id_of("gone.txt");
    const std::string form = "application/x-www-form-urlencoded";

    Req r;
    r.path = "/createFolder";
    r.content_type = form;
    r.body = "parentId=%2F&name=New+Folder";
    const Sent created = send(api, r);
    BOOST_TEST(created.res.status == 200, created.res.body);
    BOOST_TEST(created.json.at("title").text == "New Folder");

    r.content_type = "Application/X-WWW-Form-Urlencoded; charset=UTF-8";
    r.body = "name=Second";
    BOOST_TEST(send(api, r).res.status == 200);

    // Split between the query and the body.
    r.content_type = form;
    r.query = "parentId=%2F";
    r.body = "name=Third";
    BOOST_TEST(send(api, r).res.status == 200);

    // The same parameter in both: refused, whatever the values.
    r.query = "name=Fourth";
    r.body = "name=Fourth";
    const Sent twice = send(api, r);
    BOOST_TEST(twice.res.status == 400);
    BOOST_TEST(twice.error() == "parameter name is given more than once");
    r.body = "name=Fifth";
    BOOST_TEST(send(api, r).error() == "parameter name is given more than once");

    // A body of another type holds no parameters.
    r.query = "";
    r.content_type = "text/plain";
    r.body = "name=Sixth";
    const Sent plain = send(api, r);
    BOOST_TEST(plain.res.status == 400);
    BOOST_TEST(plain.error() == "missing parameter name");

    BOOST_TEST(put(api, "/rename", "", "id=" + a + "&name=b.txt", form).res.body == kSuccess);
    BOOST_TEST(wftest::file_exists(api.path("b.txt")));
    BOOST_TEST(put(api, "/rename", "id=" + a, "name=c.txt", form).res.body == kSuccess);
    BOOST_TEST(wftest::file_exists(api.path("c.txt")));
    BOOST_TEST(put(api, "/rename", "id=" + a, "id=" + a + "&name=d.txt", form).error() ==
               "parameter id is given more than once");
    BOOST_TEST(put(api, "/delete", "", "documentId=" + gone, form).res.body == kSuccess);
    BOOST_TEST(!wftest::file_exists(api.path("gone.txt")));

    Req init;
    init.path = "/uploadInit";
    init.content_type = form;
    init.body = "filename=from+a+form.txt&documentId=wf1";
    const Sent made = send(api, init);
    BOOST_TEST(made.res.status == 200, made.res.body);
    BOOST_TEST(made.json.at("title").text == "from a form.txt");
    BOOST_TEST(entries(api.path("")) ==
                   (std::vector<std::string>{".wfhookd-trash", "New Folder", "Second", "Third",
                                             "c.txt", "from a form.txt"}),
               boost::test_tools::per_element());
}

// ---- A read-only store
// ----------------------------------------------------------------------------

struct WriteCall {
    std::string path, method, query; // {file}, {folder}: ids
    bool upload;
};

std::ostream& operator<<(std::ostream& os, const WriteCall& c) {
    return os << c.method << ' ' << c.path;
}

const WriteCall kWriteCalls[] = {
    {"/uploadInit", "POST", "parentId=%2F&filename=new.txt", false},
    {"/uploadInit", "POST", "parentId={folder}&filename=new.txt", false},
    {"/upload", "PUT", "id={file}", true},
    {"/upload", "POST", "id={file}", true},
    {"/createFolder", "POST", "parentId=%2F&name=new", false},
    {"/delete", "PUT", "id={file}", false},
    {"/delete", "DELETE", "folderId={folder}", false},
    {"/rename", "PUT", "id={file}&name=new.txt", false},
    {"/rename", "POST", "id={folder}&name=new", false},
};

BOOST_DATA_TEST_CASE(a_read_only_store_refuses_every_change, bdata::make(kWriteCalls), c) {
    Api api("read_only = yes\n");
    api.dir.write("store/file.txt", "content", 0640);
    api.dir.write("store/folder/inner.txt", "inner", 0640);
    const std::string file = api.id_of("file.txt"), folder = api.id_of("folder");
    Req r;
    r.method = c.method;
    r.path = c.path;
    r.query = with_ids(c.query, file, folder);
    r.body = "new content";
    const Sent s = send(api, r);
    BOOST_TEST(s.res.status == 403);
    const std::string message = "the document store is read-only";
    if (c.upload)
        BOOST_TEST(s.res.body ==
                   R"({"result":"fail","status":"error","error":")" + message + "\"}");
    else
        BOOST_TEST(s.res.body == R"({"status":"error","error":")" + message + "\"}");
    BOOST_TEST(entries(api.path("")) == (std::vector<std::string>{"file.txt", "folder"}),
               boost::test_tools::per_element());
    BOOST_TEST(entries(api.path("folder")) == std::vector<std::string>{"inner.txt"},
               boost::test_tools::per_element());
    BOOST_TEST(wftest::read_file(api.path("file.txt")) == "content");
    BOOST_TEST(!wftest::file_exists(api.dir.file("audit.jsonl")));
}

std::vector<std::string> available(Api& api) {
    Req r;
    r.method = "GET";
    r.path = "/serviceInfo";
    const Sent s = send(api, r);
    BOOST_TEST_REQUIRE(s.res.status == 200);
    std::vector<std::string> out;
    for (const Json& e : s.json.at("availableEndpoints").items)
        out.push_back(e.text);
    return out;
}

BOOST_AUTO_TEST_CASE(service_info_lists_the_write_endpoints_only_when_writable) {
    Api writable;
    BOOST_TEST(available(writable) ==
                   (std::vector<std::string>{"serviceInfo", "customAction", "metadata", "files",
                                             "search", "download", "thumbnail", "uploadInit",
                                             "upload", "createFolder", "delete", "rename"}),
               boost::test_tools::per_element());
    Api read_only("read_only = yes\n");
    BOOST_TEST(available(read_only) ==
                   (std::vector<std::string>{"serviceInfo", "customAction", "metadata", "files",
                                             "search", "download", "thumbnail"}),
               boost::test_tools::per_element());
}

// ---- upload
// ---------------------------------------------------------------------------------------

// uploadInit, then the id of the new file.
std::string init(Api& api, const std::string& name) {
    const Sent s = post(api, "/uploadInit", "filename=" + encode(name));
    BOOST_TEST_REQUIRE(s.res.status == 200, s.res.body);
    return s.json.at("id").text;
}

Sent upload(Api& api, const std::string& id, const std::string& body,
            const std::string& content_type = "", BodySource* source = nullptr,
            std::int64_t content_length = -2) {
    Req r;
    r.method = "PUT";
    r.path = "/upload";
    r.query = "id=" + id;
    r.body = body;
    r.content_type = content_type;
    r.source = source;
    r.content_length = content_length;
    return send(api, r);
}

std::string upload_error(const std::string& message) {
    return R"({"result":"fail","status":"error","error":")" + message + "\"}";
}

// The router's own refusals of an upload speak the upload vocabulary too.
BOOST_AUTO_TEST_CASE(upload_refusals_before_the_handler_carry_result_fail) {
    Api api;
    Req no_id;
    no_id.method = "PUT";
    no_id.path = "/upload";
    BOOST_TEST(send(api, no_id).res.body == upload_error("missing parameter id"));
    Req twice = no_id;
    twice.query = "id=a&id=b";
    BOOST_TEST(send(api, twice).res.body == upload_error("parameter id is given more than once"));
    Req get = no_id;
    get.method = "GET";
    get.query = "id=a";
    const Sent s = send(api, get);
    BOOST_TEST(s.res.status == 405);
    BOOST_TEST(s.res.body == upload_error("method GET is not allowed here; use PUT, POST"));
}

BOOST_AUTO_TEST_CASE(upload_writes_the_raw_body) {
    Api api;
    const std::string id = init(api, "doc.bin");
    std::string bytes(1000, '\0');
    for (std::size_t i = 0; i < bytes.size(); ++i)
        bytes[i] = static_cast<char>(i * 7);
    const Sent s = upload(api, id, bytes, "application/octet-stream");
    BOOST_TEST(s.res.status == 200);
    BOOST_TEST(s.res.body == kUploaded);
    BOOST_TEST((wftest::read_file(api.path("doc.bin")) == bytes));
    Req meta;
    meta.method = "GET";
    meta.path = "/metadata";
    meta.query = "id=" + id;
    BOOST_TEST(send(api, meta).json.at("size").text == "1000");

    // Streamed from the body source, with POST; the old content kept as a version.
    Source source("streamed content");
    Req r;
    r.method = "POST";
    r.path = "/upload";
    r.query = "id=" + id;
    r.source = &source;
    r.content_length = -1; // unknown (chunked)
    const Sent streamed = send(api, r);
    BOOST_TEST(streamed.res.status == 200, streamed.res.body);
    BOOST_TEST(streamed.res.body == kUploaded);
    BOOST_TEST(wftest::read_file(api.path("doc.bin")) == "streamed content");
    const auto trash = entries(api.path(".wfhookd-trash"));
    BOOST_TEST_REQUIRE(trash.size() == 1u);
    BOOST_TEST(trash[0].ends_with("-" + id + "-version"));
    BOOST_TEST((wftest::read_file(api.path(".wfhookd-trash/" + trash[0] + "/doc.bin")) == bytes));
    // An empty body makes an empty file.
    BOOST_TEST(upload(api, id, "").res.body == kUploaded);
    BOOST_TEST(wftest::read_file(api.path("doc.bin")).empty());
}

BOOST_AUTO_TEST_CASE(upload_over_max_upload_size_is_refused_before_reading) {
    Api api;
    const std::string id = init(api, "doc.bin");
    BOOST_TEST_REQUIRE(upload(api, id, "old").res.body == kUploaded);
    for (const std::string& target : {id, std::string("AAAAAAAAAAAAAAAAAAAAAA")}) {
        Source source(std::string(5000, 'x'));
        const Sent s = upload(api, target, "", "", &source, 1001);
        BOOST_TEST(s.res.status == 413);
        BOOST_TEST(s.res.body == upload_error("the upload is 1001 bytes; the limit is 1000"));
        BOOST_TEST(source.reads == 0);
    }
    // Exactly the limit is fine.
    Source exact(std::string(1000, 'y'));
    BOOST_TEST(upload(api, id, "", "", &exact, 1000).res.body == kUploaded);
    BOOST_TEST(wftest::read_file(api.path("doc.bin")) == std::string(1000, 'y'));
    // Of unknown length: stopped once past the limit, nothing changed.
    Source unknown(std::string(5000, 'z'));
    const Sent s = upload(api, id, "", "", &unknown, -1);
    BOOST_TEST(s.res.status == 413);
    BOOST_TEST(s.res.body == upload_error("the upload is larger than the store accepts"));
    BOOST_TEST(unknown.reads < 5);
    BOOST_TEST(wftest::read_file(api.path("doc.bin")) == std::string(1000, 'y'));
    // The body handed over whole, larger than announced.
    const Sent whole = upload(api, id, std::string(1001, 'w'), "", nullptr, -1);
    BOOST_TEST(whole.res.status == 413);
    BOOST_TEST(wftest::read_file(api.path("doc.bin")) == std::string(1000, 'y'));
}

BOOST_AUTO_TEST_CASE(upload_failures_use_both_vocabularies) {
    Api api;
    api.dir.write("store/box/x.txt", "x", 0640);
    const std::string box = api.id_of("box");
    const std::string id = init(api, "doc.bin");
    BOOST_TEST_REQUIRE(upload(api, id, "old content").res.body == kUploaded);

    const Sent folder = upload(api, box, "data");
    BOOST_TEST(folder.res.status == 400);
    BOOST_TEST(folder.res.body ==
               upload_error(box + " is a folder: upload into a file made by uploadInit"));
    BOOST_TEST(entries(api.path("box")) == std::vector<std::string>{"x.txt"},
               boost::test_tools::per_element());

    const Sent unknown = upload(api, "AAAAAAAAAAAAAAAAAAAAAA", "data");
    BOOST_TEST(unknown.res.status == 404);
    BOOST_TEST(unknown.res.body == upload_error("no such file or folder"));
    const Sent root = upload(api, "%2F", "data");
    BOOST_TEST(root.res.status == 400);
    BOOST_TEST(root.res.body ==
               upload_error("/ is a folder: upload into a file made by uploadInit"));

    Source broken(std::string(900, 'b'), 500);
    const Sent early = upload(api, id, "", "", &broken, 900);
    BOOST_TEST(early.res.status == 400);
    BOOST_TEST(early.res.body == upload_error("the request body ended early"));
    BOOST_TEST(wftest::read_file(api.path("doc.bin")) == "old content");
    // Nothing half-written is left beside it.
    BOOST_TEST(entries(api.path("")) == (std::vector<std::string>{"box", "doc.bin"}),
               boost::test_tools::per_element());
    BOOST_TEST(api.audit().find("\"endpoint\":\"upload\"") != std::string::npos);
    std::istringstream lines(api.audit());
    int n = 0;
    for (std::string line; std::getline(lines, line);)
        ++n;
    BOOST_TEST(n == 2); // uploadInit and the one upload that worked
}

BOOST_AUTO_TEST_CASE(upload_of_a_multipart_body_writes_its_file_part) {
    Api api;
    const std::string id = init(api, "photo.jpg");
    const char raw[] = "\xFF\xD8\xFF\xE0\r\n--not-it\r\n\0\0tail";
    const std::string content(raw, sizeof raw - 1);
    const std::string body = "--XyZ\r\nContent-Disposition: form-data; name=\"parentId\"\r\n\r\n"
                             "123\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; "
                             "filename=\"photo.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n" +
                             content + "\r\n--XyZ--\r\n";
    const Sent s = upload(api, id, body, "multipart/form-data; boundary=XyZ");
    BOOST_TEST(s.res.status == 200, s.res.body);
    BOOST_TEST(s.res.body == kUploaded);
    BOOST_TEST((wftest::read_file(api.path("photo.jpg")) == content));

    // The same body streamed in small pieces.
    Source source(body);
    BOOST_TEST(upload(api, id, "", "multipart/form-data; boundary=\"XyZ\"", &source,
                      static_cast<std::int64_t>(body.size()))
                   .res.body == kUploaded);
    BOOST_TEST((wftest::read_file(api.path("photo.jpg")) == content));

    // Without the multipart type, the body is the content as it is.
    BOOST_TEST(upload(api, id, body, "application/octet-stream").res.body == kUploaded);
    BOOST_TEST((wftest::read_file(api.path("photo.jpg")) == body));

    // Malformed: 400 with the reason, the content unchanged.
    const Sent cut =
        upload(api, id, body.substr(0, body.size() - 20), "multipart/form-data; boundary=XyZ");
    BOOST_TEST(cut.res.status == 400);
    BOOST_TEST(cut.res.body == upload_error("the multipart body ends inside its file"));
    const Sent other = upload(api, id, body, "multipart/form-data; boundary=Other");
    BOOST_TEST(other.res.status == 400);
    BOOST_TEST(other.res.body == upload_error("no multipart delimiter in the body"));
    BOOST_TEST((wftest::read_file(api.path("photo.jpg")) == body));
}

// ---- The audit trail
// ------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(every_change_is_audited) {
    Api api;
    const std::string id = init(api, "a.txt");
    BOOST_TEST_REQUIRE(upload(api, id, "content").res.body == kUploaded);
    const Sent box = post(api, "/createFolder", "name=box");
    BOOST_TEST_REQUIRE(box.res.status == 200);
    const std::string box_id = box.json.at("id").text;
    BOOST_TEST_REQUIRE(put(api, "/rename", "id=" + id + "&name=b.txt").res.body == kSuccess);
    BOOST_TEST_REQUIRE(put(api, "/delete", "folderId=" + box_id).res.body == kSuccess);
    // Refused changes leave no line.
    BOOST_TEST(post(api, "/createFolder", "name=b.txt").res.status == 409);
    BOOST_TEST(put(api, "/rename", "id=" + id + "&name=.x").res.status == 400);
    BOOST_TEST(put(api, "/delete", "id=" + box_id).res.status == 404);

    struct Line {
        std::string endpoint, id, from, to; // "" for null
    };
    const std::vector<Line> expected = {
        {"uploadInit", id, "", "a.txt"},     {"upload", id, "", "a.txt"},
        {"createFolder", box_id, "", "box"}, {"rename", id, "a.txt", "b.txt"},
        {"delete", box_id, "box", ""},
    };
    std::istringstream in(api.audit());
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    BOOST_TEST_REQUIRE(lines.size() == expected.size(), api.audit());
    BOOST_TEST(api.audit().back() == '\n');
    for (std::size_t i = 0; i < lines.size(); ++i) {
        BOOST_TEST_CONTEXT("line " << i + 1 << ": " << lines[i]) {
            Json j;
            std::string error;
            BOOST_TEST_REQUIRE(wftest::json_parse(lines[i], j, error), error);
            BOOST_TEST(keys(j) == (std::vector<std::string>{"time", "user", "endpoint", "id",
                                                            "from", "to"}),
                       boost::test_tools::per_element());
            BOOST_TEST(rfc3339_ms(j.at("time").text));
            BOOST_TEST(j.at("user").text == kUser);
            BOOST_TEST(j.at("endpoint").text == expected[i].endpoint);
            BOOST_TEST(j.at("id").text == expected[i].id);
            for (const auto& [key, want] :
                 {std::pair<std::string, std::string>{"from", expected[i].from},
                  std::pair<std::string, std::string>{"to", expected[i].to}}) {
                if (want.empty())
                    BOOST_TEST(j.at(key).is(Json::Type::null), key);
                else
                    BOOST_TEST(j.at(key).text == want, key);
            }
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
