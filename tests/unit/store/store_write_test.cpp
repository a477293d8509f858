// The document store's write side (src/store/store_write.cpp): new files and folders, new
// content, renames, moves, deletions into the trash, the purge of the trash and of unfinished
// uploads, and the names the store accepts. Every check looks at the tree on disk itself, not
// only at what the store answers.
#include "store/store.hpp"

#include "support/capture_stderr.hpp"
#include "support/temp_dir.hpp"
#include "util/clock.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <dirent.h>
#include <fcntl.h>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <vector>

namespace bdata = boost::unit_test::data;
using namespace wfhookd;

namespace wfhookd {

// For BOOST_TEST messages (found by argument-dependent lookup; internal to this file).
static std::ostream& operator<<(std::ostream& os, Outcome o) {
    switch (o) {
    case Outcome::ok:
        return os << "ok";
    case Outcome::not_found:
        return os << "not_found";
    case Outcome::not_a_folder:
        return os << "not_a_folder";
    case Outcome::error:
        return os << "error";
    case Outcome::exists:
        return os << "exists";
    case Outcome::no_space:
        return os << "no_space";
    case Outcome::too_large:
        return os << "too_large";
    case Outcome::read_only:
        return os << "read_only";
    case Outcome::body_error:
        return os << "body_error";
    }
    return os << "Outcome(" << static_cast<int>(o) << ")";
}

} // namespace wfhookd

namespace {

const std::string kTrash(Store::kTrash);
const std::string kUp(Store::kUploadPrefix);

// ---- The tree on disk -----------------------------------------------------------------------

// The names in a folder, hidden ones included, sorted ("." and ".." left out); empty when it
// cannot be read.
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

bool is_dir(const std::string& path) {
    struct stat st {};
    return lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_file(const std::string& path) {
    struct stat st {};
    return lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

ino_t inode(const std::string& path) {
    struct stat st {};
    return lstat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// The id recorded on an item (user.wfhookd.id), or empty.
std::string xattr_id(const std::string& path) {
    char buf[128];
    const ssize_t n = lgetxattr(path.c_str(), "user.wfhookd.id", buf, sizeof buf);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

// Everything beneath `dir`, hidden entries included: relative path -> "dir", "link -> target"
// or "file:" + content.
std::map<std::string, std::string> snapshot(const std::string& dir, const std::string& rel = "") {
    std::map<std::string, std::string> out;
    for (const std::string& n : entries(dir)) {
        const std::string path = dir + "/" + n, key = rel.empty() ? n : rel + "/" + n;
        struct stat st {};
        if (lstat(path.c_str(), &st) != 0) continue;
        if (S_ISLNK(st.st_mode)) {
            char target[4096];
            const ssize_t len = readlink(path.c_str(), target, sizeof target);
            out[key] =
                "link -> " + std::string(target, static_cast<std::size_t>(len > 0 ? len : 0));
        } else if (S_ISDIR(st.st_mode)) {
            out[key] = "dir";
            out.merge(snapshot(path, key));
        } else {
            out[key] = "file:" + wftest::read_file(path);
        }
    }
    return out;
}

// Relative paths of every entry beneath `dir` whose name starts with `prefix`.
std::vector<std::string> named_like(const std::string& dir, const std::string& prefix) {
    std::vector<std::string> out;
    for (const auto& [path, what] : snapshot(dir)) {
        const auto slash = path.rfind('/');
        if (path.substr(slash == std::string::npos ? 0 : slash + 1).starts_with(prefix))
            out.push_back(path);
    }
    return out;
}

// Sets a file's (or a link's own) modification time to `seconds_ago` before now.
void age(const std::string& path, std::int64_t seconds_ago) {
    const std::int64_t t = realtime_ns() / 1'000'000'000 - seconds_ago;
    const timespec times[2] = {{static_cast<time_t>(t), 0}, {static_cast<time_t>(t), 0}};
    BOOST_TEST_REQUIRE(utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0);
}

std::int64_t now_ms() {
    return realtime_ns() / 1'000'000;
}

// A body in chunks of at most `chunk` bytes; with `fail_after` set, -1 once that many bytes
// have been handed out (the peer went away). `on_read` runs before each read.
class Body : public ByteSource {
public:
    explicit Body(std::string data, std::size_t chunk = 1 << 20, long fail_after = -1)
        : data_(std::move(data)), chunk_(chunk), fail_after_(fail_after) {}
    long read(char* buf, std::size_t size) override {
        ++reads;
        if (on_read) on_read();
        if (fail_after_ >= 0 && pos_ >= static_cast<std::size_t>(fail_after_)) return -1;
        std::size_t n = std::min({size, chunk_, data_.size() - pos_});
        if (fail_after_ >= 0) n = std::min(n, static_cast<std::size_t>(fail_after_) - pos_);
        std::copy_n(data_.data() + pos_, n, buf);
        pos_ += n;
        return static_cast<long>(n);
    }
    std::function<void()> on_read;
    int reads = 0;

private:
    std::string data_;
    std::size_t chunk_;
    long fail_after_;
    std::size_t pos_ = 0;
};

// Bytes that are not text: every byte value, NULs, CRLFs and what looks like a delimiter.
std::string binary(std::size_t size) {
    std::string out(size, '\0');
    std::uint32_t x = 2463534242u;
    for (std::size_t i = 0; i < size; ++i) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        out[i] = static_cast<char>(i % 7 == 0 ? 0 : x & 0xFF);
    }
    return out;
}

std::string repeat(std::string_view s, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i)
        out += s;
    return out;
}

// ---- A store in a temporary folder ------------------------------------------------------------

struct Fx {
    wftest::TempDir dir;
    StoreConfig config;
    std::unique_ptr<Store> store;

    explicit Fx(unsigned trash_days = 30) {
        config.enabled = true;
        config.root = dir.file("root");
        config.index = dir.file("index.sqlite");
        config.trash_days = trash_days;
        BOOST_TEST_REQUIRE(mkdir(config.root.c_str(), 0750) == 0);
        store = std::make_unique<Store>(config);
        std::string error;
        BOOST_TEST_REQUIRE(store->open(error), error);
    }

    // The absolute path of a store path ("" for the root).
    std::string path(std::string_view rel) const {
        return rel.empty() ? config.root : config.root + "/" + std::string(rel);
    }
    std::string trash() const { return path(kTrash); }

    Item root() { return get(std::string(kRootId)); }
    Item get(const std::string& id) {
        Item out;
        const Outcome o = store->find(id, out);
        BOOST_TEST_REQUIRE(o == Outcome::ok, "find " << id);
        return out;
    }
    Outcome find(const std::string& id) {
        Item out;
        return store->find(id, out);
    }
    Item folder(const Item& parent, const std::string& name) {
        Item out;
        const Outcome o = store->create_folder(parent, name, out);
        BOOST_TEST_REQUIRE(o == Outcome::ok, "create_folder " << name);
        return out;
    }
    // A file with this content, made the way uploadInit and upload make it.
    Item file(const Item& parent, const std::string& name, const std::string& content) {
        Item out;
        const Outcome o = store->create_file(parent, name, false, out);
        BOOST_TEST_REQUIRE(o == Outcome::ok, "create_file " << name);
        if (!content.empty()) {
            Body body(content);
            std::uint64_t written = 0;
            BOOST_TEST_REQUIRE(store->replace_content(out, body, 1 << 30, written) == Outcome::ok);
        }
        return get(out.row.id); // as it is now
    }
    std::vector<std::string> listed(const Item& folder) {
        Listing l;
        BOOST_TEST_REQUIRE(store->list(folder, l) == Outcome::ok);
        std::vector<std::string> names;
        for (const IndexRow& r : l.items)
            names.push_back(r.name);
        return names;
    }
    std::vector<std::string> searched(const std::string& query) {
        std::vector<Item> found;
        BOOST_TEST_REQUIRE(store->search(query, root(), 0, 100, found) == Outcome::ok);
        std::vector<std::string> paths;
        for (const Item& i : found)
            paths.push_back(i.row.path);
        return paths;
    }
    std::vector<std::string> trash_entries() const {
        std::vector<std::string> out;
        for (const std::string& e : entries(trash()))
            if (!e.starts_with(".")) out.push_back(e);
        return out;
    }
};

// Splits a trash entry's name "<ms>-<id>[-version]" into its parts (a "-2"... after it stays in
// `id`); false when it has another shape.
bool trash_entry(const std::string& entry, std::int64_t& ms, std::string& id, bool& version) {
    const auto dash = entry.find('-');
    if (dash == std::string::npos || dash == 0) return false;
    for (std::size_t i = 0; i < dash; ++i)
        if (entry[i] < '0' || entry[i] > '9') return false;
    ms = std::stoll(entry.substr(0, dash));
    id = entry.substr(dash + 1);
    version = id.ends_with("-version");
    if (version) id.resize(id.size() - 8);
    return true;
}

} // namespace

BOOST_AUTO_TEST_SUITE(store_write)

// ---- Names --------------------------------------------------------------------------------------

struct NameCase {
    std::string what, name, problem;
};

std::ostream& operator<<(std::ostream& os, const NameCase& c) {
    return os << c.what;
}

const std::string kLength = "must be 1 to 255 bytes";
const std::string kDots = "cannot be \".\" or \"..\"";
const std::string kSlash = "cannot contain '/'";
const std::string kControl = "cannot contain control characters";
const std::string kHidden = "cannot start with '.' (hidden names are wfhookd's own)";
const std::string kUtf8 = "must be valid UTF-8";

const NameCase kNameCases[] = {
    {"empty", "", kLength},
    {"256 bytes", std::string(256, 'a'), kLength},
    {"255 bytes", std::string(255, 'a'), ""},
    {"255 bytes of two-byte characters and one", repeat("\xC3\xA9", 127) + "a", ""},
    {"256 bytes of two-byte characters", repeat("\xC3\xA9", 128), kLength},
    {"one byte", "a", ""},
    {"dot", ".", kDots},
    {"dot dot", "..", kDots},
    {"three dots (hidden)", "...", kHidden},
    {"slash", "/", kSlash},
    {"slash inside", "a/b", kSlash},
    {"trailing slash", "a/", kSlash},
    {"NUL", std::string("a\0b", 3), kControl},
    {"NUL alone", std::string(1, '\0'), kControl},
    {"SOH", "a\x01", kControl},
    {"tab", "a\tb", kControl},
    {"newline", "a\nb", kControl},
    {"carriage return", "a\rb", kControl},
    {"unit separator", "a\x1F", kControl},
    {"DEL", "a\x7F", kControl},
    {"C1 control NEL (U+0085)", "a\xC2\x85z", kControl},
    {"C1 control CSI (U+009B)", "a\xC2\x9Bz", kControl},
    {"hidden", ".profile", kHidden},
    {"our trash", ".wfhookd-trash", kHidden},
    {"an upload's temporary name", ".wfhookd-up-abc", kHidden},
    {"Latin-1 byte", "caf\xE9", kUtf8},
    {"lone continuation byte", "\x80", kUtf8},
    {"overlong '/'", "a\xC0\xAF", kUtf8},
    {"surrogate", "\xED\xA0\x80", kUtf8},
    {"beyond U+10FFFF", "\xF4\x90\x80\x80", kUtf8},
    {"truncated sequence", "a\xE2\x9C", kUtf8},
    {"emoji", "\xF0\x9F\x98\x80 smile.png", ""},
    {"accented", "r\xC3\xA9sum\xC3\xA9.pdf", ""},
    {"CJK", "\xE6\x96\x87\xE6\x9B\xB8.txt", ""},
    {"dot inside", "a.b.c", ""},
    {"trailing dot", "a.", ""},
    {"dots inside", "a..b", ""},
    {"spaces", " a b ", ""},
    {"punctuation", "#%&*?<>|\"':;=+[]{}()!@$^~`,\\", ""},
    {"non-breaking space (not a control)", "a\xC2\xA0z", ""},
};

BOOST_DATA_TEST_CASE(name_problem_says_what_is_wrong, bdata::make(kNameCases), c) {
    BOOST_TEST(name_problem(c.name) == c.problem);
}

BOOST_AUTO_TEST_CASE(names_differing_only_by_case_are_different_items) {
    Fx fx;
    Item a, b, c;
    BOOST_TEST_REQUIRE(fx.store->create_file(fx.root(), "Readme.md", false, a) == Outcome::ok);
    BOOST_TEST_REQUIRE(fx.store->create_file(fx.root(), "README.md", false, b) == Outcome::ok);
    BOOST_TEST_REQUIRE(fx.store->create_folder(fx.root(), "readme.md", c) == Outcome::ok);
    BOOST_TEST(b.row.name == "README.md");
    BOOST_TEST(c.row.name == "readme.md");
    BOOST_TEST(a.row.id != b.row.id);
    BOOST_TEST(entries(fx.path("")) ==
                   (std::vector<std::string>{"README.md", "Readme.md", "readme.md"}),
               boost::test_tools::per_element());
}

// ---- create_file and numbering ---------------------------------------------------------------

struct CreateCase {
    std::string what;
    std::vector<std::string> files, folders; // on disk before
    std::string wanted;
    bool numbered;
    Outcome outcome;
    std::string got; // the name it gets
};

std::ostream& operator<<(std::ostream& os, const CreateCase& c) {
    return os << c.what;
}

std::vector<CreateCase> create_cases() {
    const std::string e2 = "\xC3\xA9"; // é
    const std::string long_ascii = std::string(251, 'x') + ".txt";
    const std::string cut_after_e = "x" + repeat(e2, 123) + "a.txt";
    const std::string all_e = repeat(e2, 125) + "a.txt";
    const std::string long_ext = "a." + std::string(253, 'e');
    std::vector<std::string> nine = {"a.txt"};
    for (int n = 2; n <= 9; ++n)
        nine.push_back("a (" + std::to_string(n) + ").txt");
    return {
        {"a free name", {}, {}, "report.pdf", true, Outcome::ok, "report.pdf"},
        {"a free name, not numbered",
         {"other.pdf"},
         {},
         "report.pdf",
         false,
         Outcome::ok,
         "report.pdf"},
        {"taken", {"report.pdf"}, {}, "report.pdf", true, Outcome::ok, "report (2).pdf"},
        {"(2) taken too",
         {"report.pdf", "report (2).pdf"},
         {},
         "report.pdf",
         true,
         Outcome::ok,
         "report (3).pdf"},
        {"the first free number",
         {"report.pdf", "report (3).pdf"},
         {},
         "report.pdf",
         true,
         Outcome::ok,
         "report (2).pdf"},
        {"the tenth", nine, {}, "a.txt", true, Outcome::ok, "a (10).txt"},
        {"taken, not numbered", {"report.pdf"}, {}, "report.pdf", false, Outcome::exists, ""},
        {"taken by a folder",
         {},
         {"report.pdf"},
         "report.pdf",
         true,
         Outcome::ok,
         "report (2).pdf"},
        {"taken by a folder, not numbered",
         {},
         {"report.pdf"},
         "report.pdf",
         false,
         Outcome::exists,
         ""},
        {"no extension", {"README"}, {}, "README", true, Outcome::ok, "README (2)"},
        {"only the last extension",
         {"backup.tar.gz"},
         {},
         "backup.tar.gz",
         true,
         Outcome::ok,
         "backup.tar (2).gz"},
        {"a trailing dot", {"notes."}, {}, "notes.", true, Outcome::ok, "notes (2)."},
        {"hidden: no extension", {".profile"}, {}, ".profile", true, Outcome::ok, ".profile (2)"},
        {"hidden with an extension",
         {".config.json"},
         {},
         ".config.json",
         true,
         Outcome::ok,
         ".config (2).json"},
        {"UTF-8",
         {"r" + e2 + "sum" + e2 + ".doc"},
         {},
         "r" + e2 + "sum" + e2 + ".doc",
         true,
         Outcome::ok,
         "r" + e2 + "sum" + e2 + " (2).doc"},
        {"other case is another name",
         {"Report.PDF"},
         {},
         "report.pdf",
         false,
         Outcome::ok,
         "report.pdf"},
        {"numbered name of (2) itself",
         {"a (2).txt"},
         {},
         "a (2).txt",
         true,
         Outcome::ok,
         "a (2) (2).txt"},
        {"255 bytes: shortened to fit",
         {long_ascii},
         {},
         long_ascii,
         true,
         Outcome::ok,
         std::string(247, 'x') + " (2).txt"},
        {"255 bytes of two-byte characters: cut between characters",
         {all_e},
         {},
         all_e,
         true,
         Outcome::ok,
         repeat(e2, 123) + " (2).txt"},
        {"cut after a whole two-byte character",
         {cut_after_e},
         {},
         cut_after_e,
         true,
         Outcome::ok,
         "x" + repeat(e2, 123) + " (2).txt"},
        {"an extension too long to keep",
         {long_ext},
         {},
         long_ext,
         true,
         Outcome::ok,
         long_ext.substr(0, 251) + " (2)"},
    };
}

BOOST_DATA_TEST_CASE(create_file_names_and_numbering, bdata::make(create_cases()), c) {
    Fx fx;
    for (const std::string& f : c.files)
        fx.dir.write("root/" + f, "old:" + f, 0640);
    for (const std::string& d : c.folders)
        BOOST_TEST_REQUIRE(mkdir(fx.path(d).c_str(), 0750) == 0);
    const auto before = snapshot(fx.path(""));

    Item out;
    BOOST_TEST_REQUIRE(fx.store->create_file(fx.root(), c.wanted, c.numbered, out) == c.outcome);
    auto after = snapshot(fx.path(""));
    if (c.outcome != Outcome::ok) {
        BOOST_TEST(after == before); // nothing made, nothing touched
        return;
    }
    BOOST_TEST(out.row.name == c.got);
    BOOST_TEST(out.row.path == c.got);
    BOOST_TEST(out.row.parent == "/");
    BOOST_TEST(!out.row.folder);
    BOOST_TEST(Store::valid_id(out.row.id));
    BOOST_TEST(out.row.id != "/");
    BOOST_TEST(S_ISREG(out.st.st_mode));
    BOOST_TEST(out.st.st_size == 0);
    BOOST_TEST(out.row.ino == out.st.st_ino);
    // On disk: an empty regular file under that name, carrying its id; the rest untouched.
    BOOST_TEST(is_file(fx.path(c.got)));
    BOOST_TEST(after[c.got] == "file:");
    after.erase(c.got);
    BOOST_TEST(after == before);
    BOOST_TEST(xattr_id(fx.path(c.got)) == out.row.id);
    // The index knows it.
    const Item found = fx.get(out.row.id);
    BOOST_TEST(found.row.path == c.got);
    BOOST_TEST(found.st.st_ino == out.st.st_ino);
}

BOOST_AUTO_TEST_CASE(create_file_in_a_subfolder) {
    Fx fx;
    const Item sub = fx.folder(fx.root(), "sub");
    Item a, b;
    BOOST_TEST_REQUIRE(fx.store->create_file(sub, "a.txt", true, a) == Outcome::ok);
    BOOST_TEST_REQUIRE(fx.store->create_file(sub, "a.txt", true, b) == Outcome::ok);
    BOOST_TEST(a.row.path == "sub/a.txt");
    BOOST_TEST(a.row.parent == sub.row.id);
    BOOST_TEST(b.row.path == "sub/a (2).txt");
    BOOST_TEST(b.row.parent == sub.row.id);
    BOOST_TEST(a.row.id != b.row.id);
    BOOST_TEST(entries(fx.path("sub")) == (std::vector<std::string>{"a (2).txt", "a.txt"}),
               boost::test_tools::per_element());
    BOOST_TEST(fx.listed(sub) == (std::vector<std::string>{"a (2).txt", "a.txt"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(numbering_gives_up_after_a_thousand) {
    Fx fx;
    fx.dir.write("root/a.txt", "");
    for (int n = 2; n <= 1000; ++n)
        fx.dir.write("root/a (" + std::to_string(n) + ").txt", "");
    Item out;
    BOOST_TEST(fx.store->create_file(fx.root(), "a.txt", true, out) == Outcome::exists);
    BOOST_TEST(!wftest::file_exists(fx.path("a (1001).txt")));
    BOOST_TEST(entries(fx.path("")).size() == 1000u);
    // One number fewer taken: the last one is found.
    BOOST_TEST_REQUIRE(unlink(fx.path("a (1000).txt").c_str()) == 0);
    BOOST_TEST(fx.store->create_file(fx.root(), "a.txt", true, out) == Outcome::ok);
    BOOST_TEST(out.row.name == "a (1000).txt");
}

BOOST_AUTO_TEST_CASE(create_file_needs_a_folder) {
    Fx fx;
    const Item f = fx.file(fx.root(), "plain.txt", "x");
    Item out;
    BOOST_TEST(fx.store->create_file(f, "inside.txt", true, out) == Outcome::not_a_folder);
    BOOST_TEST(fx.store->create_folder(f, "inside", out) == Outcome::not_a_folder);
    BOOST_TEST(entries(fx.path("")) == std::vector<std::string>{"plain.txt"},
               boost::test_tools::per_element());
}

// The store itself never takes a name for a path (its callers check names with name_problem
// first): a '/' would lead into a subfolder, or through a link out of the store.
BOOST_DATA_TEST_CASE(names_that_are_not_one_component_are_refused,
                     bdata::make({"link/escaped.txt", "sub/x", "/abs", "sub/", ".", "..", "",
                                  "a\0b"}) ^
                         bdata::make({16u, 5u, 4u, 4u, 1u, 2u, 0u, 3u}),
                     text, size) {
    Fx fx;
    const std::string name(text, size);
    fx.dir.write("outside/keep.txt", "k", 0640);
    BOOST_TEST_REQUIRE(symlink(fx.dir.file("outside").c_str(), fx.path("link").c_str()) == 0);
    const Item sub = fx.folder(fx.root(), "sub");
    const Item f = fx.file(fx.root(), "f.txt", "f");
    const auto before = snapshot(fx.dir.path());
    Store& store = *fx.store;
    const Item root = fx.root();
    Outcome made_file = Outcome::ok, made_folder = Outcome::ok, renamed = Outcome::ok;
    const std::string log =
        wftest::capture_stderr([&store, &root, &f, &name, &made_file, &made_folder, &renamed] {
            Item out;
            made_file = store.create_file(root, name, true, out);
            made_folder = store.create_folder(root, name, out);
            renamed = store.rename(f, name);
        });
    BOOST_TEST(made_file == Outcome::error);
    BOOST_TEST(made_folder == Outcome::error);
    BOOST_TEST(renamed == Outcome::error);
    BOOST_TEST(log.find("not one path component") != std::string::npos, log);
    auto after = snapshot(fx.dir.path());
    after.erase("index.sqlite"); // the index's own files change as it is used
    after.erase("index.sqlite-wal");
    after.erase("index.sqlite-shm");
    auto was = before;
    was.erase("index.sqlite");
    was.erase("index.sqlite-wal");
    was.erase("index.sqlite-shm");
    BOOST_TEST(after == was);
    BOOST_TEST(fx.get(f.row.id).row.path == "f.txt");
    BOOST_TEST(fx.listed(sub).empty());
}

// ---- create_folder ------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(create_folder_makes_a_folder_and_refuses_a_taken_name) {
    Fx fx;
    fx.dir.write("root/taken.txt", "content", 0640);
    Item a;
    BOOST_TEST_REQUIRE(fx.store->create_folder(fx.root(), "New Folder", a) == Outcome::ok);
    BOOST_TEST(a.row.name == "New Folder");
    BOOST_TEST(a.row.path == "New Folder");
    BOOST_TEST(a.row.folder);
    BOOST_TEST(a.folder());
    BOOST_TEST(Store::valid_id(a.row.id));
    BOOST_TEST(is_dir(fx.path("New Folder")));
    BOOST_TEST(entries(fx.path("New Folder")).empty());
    BOOST_TEST(xattr_id(fx.path("New Folder")) == a.row.id);
    BOOST_TEST(fx.get(a.row.id).row.path == "New Folder");

    Item again;
    BOOST_TEST(fx.store->create_folder(fx.root(), "New Folder", again) == Outcome::exists);
    BOOST_TEST(fx.store->create_folder(fx.root(), "taken.txt", again) == Outcome::exists);
    BOOST_TEST(wftest::read_file(fx.path("taken.txt")) == "content");
    // Another case is another name; inside the new folder, the same name is free.
    BOOST_TEST(fx.store->create_folder(fx.root(), "new folder", again) == Outcome::ok);
    Item inner;
    BOOST_TEST_REQUIRE(fx.store->create_folder(a, "New Folder", inner) == Outcome::ok);
    BOOST_TEST(inner.row.path == "New Folder/New Folder");
    BOOST_TEST(inner.row.parent == a.row.id);
    BOOST_TEST(is_dir(fx.path("New Folder/New Folder")));
    BOOST_TEST(fx.listed(fx.root()) ==
                   (std::vector<std::string>{"New Folder", "new folder", "taken.txt"}),
               boost::test_tools::per_element());
}

// ---- replace_content ------------------------------------------------------------------------

struct ContentCase {
    std::string what;
    std::string data;
    std::size_t chunk;
};

std::ostream& operator<<(std::ostream& os, const ContentCase& c) {
    return os << c.what << " in chunks of " << c.chunk;
}

std::vector<ContentCase> content_cases() {
    std::vector<ContentCase> out;
    const std::pair<std::string, std::string> data[] = {
        {"empty", ""},
        {"one byte", "x"},
        {"text", "hello, world\r\n"},
        {"every byte value", binary(3 * 256)},
        {"a delimiter-like line", "a\r\n--boundary\r\n--boundary--\r\nz"},
        {"more than one buffer", binary(200'001)},
    };
    for (const auto& [what, bytes] : data)
        for (const std::size_t chunk :
             {std::size_t(1), std::size_t(4093), std::size_t(65536), std::size_t(1) << 20}) {
            if (chunk == 1 && bytes.size() > 10'000) continue; // slow, and nothing more to see
            out.push_back({what, bytes, chunk});
        }
    return out;
}

BOOST_DATA_TEST_CASE(replace_content_lands_whole, bdata::make(content_cases()), c) {
    Fx fx;
    const Item sub = fx.folder(fx.root(), "sub");
    const Item f = fx.file(sub, "doc.bin", "");
    const ino_t old_ino = inode(fx.path("sub/doc.bin"));
    Body body(c.data, c.chunk);
    // While the body streams in, readers see the old (empty) file and nothing else.
    int looks = 0;
    const std::string folder = fx.path("sub"), file = fx.path("sub/doc.bin");
    body.on_read = [&looks, &folder, &file] {
        ++looks;
        if (looks % 97 != 1) return; // often enough, not at every byte
        // (Where the file system has no O_TMPFILE, the new content has a hidden name.)
        std::vector<std::string> seen = entries(folder);
        std::erase_if(seen, [](const std::string& n) { return n.starts_with(kUp); });
        BOOST_TEST(seen == std::vector<std::string>{"doc.bin"}, boost::test_tools::per_element());
        BOOST_TEST(wftest::read_file(file).empty());
    };
    std::uint64_t written = 99;
    BOOST_TEST_REQUIRE(fx.store->replace_content(f, body, 1 << 30, written) == Outcome::ok);
    BOOST_TEST(looks > 0);
    BOOST_TEST(written == c.data.size());
    BOOST_TEST(wftest::read_file(fx.path("sub/doc.bin")) == c.data);
    BOOST_TEST(entries(fx.path("sub")) == std::vector<std::string>{"doc.bin"},
               boost::test_tools::per_element());
    // Same id, same place; the index follows the new inode, which carries the id.
    const Item now = fx.get(f.row.id);
    BOOST_TEST(now.row.path == "sub/doc.bin");
    BOOST_TEST(now.st.st_size == static_cast<off_t>(c.data.size()));
    const ino_t new_ino = inode(fx.path("sub/doc.bin"));
    BOOST_TEST(new_ino != old_ino); // a new file renamed into place, not rewritten in place
    IndexRow row;
    BOOST_TEST_REQUIRE(fx.store->index().by_id(f.row.id, row));
    BOOST_TEST(row.ino == new_ino);
    BOOST_TEST(xattr_id(fx.path("sub/doc.bin")) == f.row.id);
    // An empty file from uploadInit is not worth a version.
    BOOST_TEST(fx.trash_entries().empty());
    BOOST_TEST(named_like(fx.path(""), kUp).empty());
}

struct LimitCase {
    std::size_t size;
    std::uint64_t limit;
    bool fits;
};

std::ostream& operator<<(std::ostream& os, const LimitCase& c) {
    return os << c.size << " bytes, limit " << c.limit;
}

const LimitCase kLimitCases[] = {
    {0, 0, true},
    {1, 0, false},
    {10, 10, true},
    {11, 10, false},
    {65536, 65536, true},
    {65537, 65536, false},
    {200'000, 1, false},
    {200'000, 70'000, false},
    {200'000, 200'000, true},
};

BOOST_DATA_TEST_CASE(replace_content_within_the_limit, bdata::make(kLimitCases), c) {
    Fx fx;
    const Item f = fx.file(fx.root(), "doc.bin", "the old content");
    const ino_t old_ino = inode(fx.path("doc.bin"));
    const auto trash_before = snapshot(fx.trash());
    const std::string data = binary(c.size);
    Body body(data, 4096);
    std::uint64_t written = 0;
    const Outcome o = fx.store->replace_content(f, body, c.limit, written);
    if (c.fits) {
        BOOST_TEST(o == Outcome::ok);
        BOOST_TEST(written == c.size);
        BOOST_TEST(wftest::read_file(fx.path("doc.bin")) == data);
        return;
    }
    BOOST_TEST(o == Outcome::too_large);
    BOOST_TEST(written > c.limit);
    // Nothing visible changed: the old content, the old file, no version, no leftover.
    BOOST_TEST(wftest::read_file(fx.path("doc.bin")) == "the old content");
    BOOST_TEST(inode(fx.path("doc.bin")) == old_ino);
    BOOST_TEST(entries(fx.path("")) == std::vector<std::string>{"doc.bin"},
               boost::test_tools::per_element());
    BOOST_TEST(snapshot(fx.trash()) == trash_before);
    BOOST_TEST(named_like(fx.path(""), kUp).empty());
    // It stops reading once past the limit: a body far larger is not read to its end.
    if (c.size >= 200'000 && c.limit < 100'000) BOOST_TEST(body.reads < 49);
}

BOOST_DATA_TEST_CASE(a_body_that_ends_early_changes_nothing,
                     bdata::make({0L, 1L, 4096L, 70'000L, 199'999L}), fail_after) {
    Fx fx;
    const Item f = fx.file(fx.root(), "doc.bin", "the old content");
    const ino_t old_ino = inode(fx.path("doc.bin"));
    const auto before = snapshot(fx.path(""));
    Body body(binary(200'000), 4096, fail_after);
    std::uint64_t written = 0;
    BOOST_TEST(fx.store->replace_content(f, body, 1 << 30, written) == Outcome::body_error);
    BOOST_TEST(written == static_cast<std::uint64_t>(fail_after));
    BOOST_TEST(wftest::read_file(fx.path("doc.bin")) == "the old content");
    BOOST_TEST(inode(fx.path("doc.bin")) == old_ino);
    // No version of content that was not replaced, and no temporary file left anywhere.
    BOOST_TEST(snapshot(fx.path("")) == before);
    BOOST_TEST(named_like(fx.path(""), kUp).empty());
    BOOST_TEST(named_like(fx.dir.path(), kUp).empty());
    // The file still takes a complete upload afterwards.
    Body again("new");
    BOOST_TEST(fx.store->replace_content(f, again, 1 << 30, written) == Outcome::ok);
    BOOST_TEST(wftest::read_file(fx.path("doc.bin")) == "new");
}

BOOST_AUTO_TEST_CASE(replaced_content_is_kept_in_the_trash_as_a_version) {
    Fx fx;
    const Item sub = fx.folder(fx.root(), "sub");
    const std::int64_t t0 = now_ms();
    const Item f = fx.file(sub, "report.txt", "version one");
    BOOST_TEST(fx.trash_entries().empty()); // the first content replaced an empty file

    Body two("version two");
    std::uint64_t written = 0;
    BOOST_TEST_REQUIRE(fx.store->replace_content(f, two, 1 << 30, written) == Outcome::ok);
    const std::int64_t t1 = now_ms();
    BOOST_TEST(wftest::read_file(fx.path("sub/report.txt")) == "version two");
    std::vector<std::string> trash = fx.trash_entries();
    BOOST_TEST_REQUIRE(trash.size() == 1u);
    std::int64_t ms = 0;
    std::string id;
    bool version = false;
    BOOST_TEST_REQUIRE(trash_entry(trash[0], ms, id, version), trash[0]);
    BOOST_TEST(id == f.row.id);
    BOOST_TEST(version);
    BOOST_TEST(ms >= t0);
    BOOST_TEST(ms <= t1);
    const std::string entry = fx.trash() + "/" + trash[0];
    BOOST_TEST(entries(entry) == (std::vector<std::string>{".wfhookd-origin", "report.txt"}),
               boost::test_tools::per_element());
    BOOST_TEST(wftest::read_file(entry + "/report.txt") == "version one");
    BOOST_TEST(wftest::read_file(entry + "/.wfhookd-origin") == "sub/report.txt\n");

    // A third content: a second version, the first kept.
    Body three("version three");
    BOOST_TEST_REQUIRE(fx.store->replace_content(f, three, 1 << 30, written) == Outcome::ok);
    trash = fx.trash_entries();
    BOOST_TEST_REQUIRE(trash.size() == 2u);
    std::vector<std::string> kept;
    for (const std::string& e : trash)
        kept.push_back(wftest::read_file(fx.trash() + "/" + e + "/report.txt"));
    std::sort(kept.begin(), kept.end());
    BOOST_TEST(kept == (std::vector<std::string>{"version one", "version two"}),
               boost::test_tools::per_element());
    BOOST_TEST(wftest::read_file(fx.path("sub/report.txt")) == "version three");
    // The trash is no item: not listed, not found.
    BOOST_TEST(fx.listed(fx.root()) == std::vector<std::string>{"sub"},
               boost::test_tools::per_element());
    BOOST_TEST(fx.searched("report") == std::vector<std::string>{"sub/report.txt"},
               boost::test_tools::per_element());
}

// Two versions of one file in the same millisecond (two uploads at once, two workers) must
// both be kept, not make the second upload fail.
BOOST_AUTO_TEST_CASE(versions_made_in_the_same_millisecond_are_both_kept) {
    Fx fx;
    const Item f = fx.file(fx.root(), "report.txt", "version one");
    // Every trash entry name this version could get in the next second is taken: a second
    // ahead of the clock when the last folder is made, unless making them took seconds.
    BOOST_TEST_REQUIRE(mkdir(fx.trash().c_str(), 0750) == 0);
    const std::int64_t t0 = now_ms();
    std::int64_t taken_until = t0 - 50;
    for (; taken_until < now_ms() + 1000 && taken_until < t0 + 10'000; ++taken_until)
        BOOST_TEST_REQUIRE(
            mkdir((fx.trash() + "/" + std::to_string(taken_until) + "-" + f.row.id + "-version")
                      .c_str(),
                  0750) == 0);
    Body two("version two");
    std::uint64_t written = 0;
    BOOST_TEST_REQUIRE(fx.store->replace_content(f, two, 1 << 30, written) == Outcome::ok);
    BOOST_TEST(wftest::read_file(fx.path("report.txt")) == "version two");
    // The old content is in one of the entries, with where it came from.
    int found = 0;
    for (const std::string& e : fx.trash_entries()) {
        const std::string entry = fx.trash() + "/" + e;
        if (!wftest::file_exists(entry + "/report.txt")) continue;
        ++found;
        std::int64_t ms = 0;
        std::string rest;
        bool version = false;
        BOOST_TEST_REQUIRE(trash_entry(e, ms, rest, version), e);
        BOOST_TEST(ms >= t0 - 50, e);
        BOOST_TEST(ms <= now_ms(), e);
        // Still <ms>-<id>-version, with "-2" after it when made while that name was taken
        // (always, unless this machine stalled for a second since the folders above).
        const std::string named = e.substr(e.find('-') + 1);
        BOOST_TEST(named.starts_with(f.row.id + "-version"), e);
        if (ms < taken_until) BOOST_TEST(named == f.row.id + "-version-2", e);
        BOOST_TEST(wftest::read_file(entry + "/report.txt") == "version one");
        BOOST_TEST(wftest::read_file(entry + "/.wfhookd-origin") == "report.txt\n");
    }
    BOOST_TEST(found == 1);
}

BOOST_AUTO_TEST_CASE(with_trash_days_0_replaced_content_is_not_kept) {
    Fx fx(0);
    const Item f = fx.file(fx.root(), "report.txt", "version one");
    Body two("version two");
    std::uint64_t written = 0;
    BOOST_TEST_REQUIRE(fx.store->replace_content(f, two, 1 << 30, written) == Outcome::ok);
    BOOST_TEST(wftest::read_file(fx.path("report.txt")) == "version two");
    BOOST_TEST(!wftest::file_exists(fx.trash()));
    BOOST_TEST(entries(fx.path("")) == std::vector<std::string>{"report.txt"},
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(replace_content_of_a_folder_is_refused) {
    Fx fx;
    const Item sub = fx.folder(fx.root(), "sub");
    Body body("x");
    std::uint64_t written = 0;
    BOOST_TEST(fx.store->replace_content(sub, body, 1 << 30, written) == Outcome::not_a_folder);
    BOOST_TEST(body.reads == 0);
    BOOST_TEST(is_dir(fx.path("sub")));
    BOOST_TEST(entries(fx.path("sub")).empty());
}

// ---- rename ---------------------------------------------------------------------------------

struct RenameCase {
    std::string what, from, to;
    Outcome outcome;
};

std::ostream& operator<<(std::ostream& os, const RenameCase& c) {
    return os << c.what;
}

// The tree: a.txt, b.txt, Folder/ (with inner.txt), each holding its own name.
const RenameCase kRenameCases[] = {
    {"a file", "a.txt", "renamed.txt", Outcome::ok},
    {"a file to another case", "a.txt", "A.TXT", Outcome::ok},
    {"a file to its own name", "a.txt", "a.txt", Outcome::ok},
    {"a file to a taken name", "a.txt", "b.txt", Outcome::exists},
    {"a file to a folder's name", "a.txt", "Folder", Outcome::exists},
    {"a folder", "Folder", "Renamed", Outcome::ok},
    {"a folder to a file's name", "Folder", "b.txt", Outcome::exists},
    {"UTF-8", "a.txt", "\xF0\x9F\x93\x84 r\xC3\xA9sum\xC3\xA9.txt", Outcome::ok},
};

BOOST_DATA_TEST_CASE(rename_keeps_the_id, bdata::make(kRenameCases), c) {
    Fx fx;
    std::map<std::string, Item> items;
    items["a.txt"] = fx.file(fx.root(), "a.txt", "a.txt");
    items["b.txt"] = fx.file(fx.root(), "b.txt", "b.txt");
    items["Folder"] = fx.folder(fx.root(), "Folder");
    const Item inner = fx.file(items["Folder"], "inner.txt", "inner.txt");
    const Item deep_folder = fx.folder(items["Folder"], "deep");
    const Item deep = fx.file(deep_folder, "deeper.txt", "deeper.txt");
    const auto before = snapshot(fx.path(""));
    const Item& item = items[c.from];

    BOOST_TEST_REQUIRE(fx.store->rename(item, c.to) == c.outcome);
    if (c.outcome != Outcome::ok) {
        BOOST_TEST(snapshot(fx.path("")) == before);
        for (const auto& [name, i] : items)
            BOOST_TEST(fx.get(i.row.id).row.path == name);
        return;
    }
    const Item now = fx.get(item.row.id);
    BOOST_TEST(now.row.path == c.to);
    BOOST_TEST(now.row.name == c.to);
    BOOST_TEST(now.row.parent == "/");
    if (c.from != c.to) BOOST_TEST(!wftest::file_exists(fx.path(c.from)));
    if (item.folder()) {
        BOOST_TEST(is_dir(fx.path(c.to)));
        // What is inside keeps its ids, at its new paths.
        BOOST_TEST(fx.get(inner.row.id).row.path == c.to + "/inner.txt");
        BOOST_TEST(fx.get(deep_folder.row.id).row.path == c.to + "/deep");
        BOOST_TEST(fx.get(deep.row.id).row.path == c.to + "/deep/deeper.txt");
        BOOST_TEST(wftest::read_file(fx.path(c.to + "/deep/deeper.txt")) == "deeper.txt");
        BOOST_TEST(fx.searched("deeper") == std::vector<std::string>{c.to + "/deep/deeper.txt"},
                   boost::test_tools::per_element());
    } else {
        BOOST_TEST(wftest::read_file(fx.path(c.to)) == c.from);
        BOOST_TEST(xattr_id(fx.path(c.to)) == item.row.id);
    }
    // Listing the root does not make a new id for the renamed item.
    const auto names = fx.listed(fx.root());
    BOOST_TEST(std::count(names.begin(), names.end(), c.to) == 1);
    BOOST_TEST(fx.get(item.row.id).row.path == c.to);
}

// ---- move -----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(move_keeps_the_id_and_numbers_a_taken_name) {
    Fx fx;
    const Item src = fx.folder(fx.root(), "src");
    const Item dst = fx.folder(fx.root(), "dst");
    const Item a = fx.file(src, "a.txt", "first a");
    const Item a2 = fx.file(fx.root(), "a.txt", "second a");
    const Item taken = fx.file(dst, "a.txt", "already there");

    Item out;
    BOOST_TEST(fx.store->move(a, dst, false, out) == Outcome::exists);
    BOOST_TEST(wftest::read_file(fx.path("src/a.txt")) == "first a");
    BOOST_TEST(fx.get(a.row.id).row.path == "src/a.txt");

    BOOST_TEST_REQUIRE(fx.store->move(a, dst, true, out) == Outcome::ok);
    BOOST_TEST(out.row.id == a.row.id);
    BOOST_TEST(out.row.path == "dst/a (2).txt");
    BOOST_TEST(out.row.parent == dst.row.id);
    BOOST_TEST(!wftest::file_exists(fx.path("src/a.txt")));
    BOOST_TEST(wftest::read_file(fx.path("dst/a (2).txt")) == "first a");
    BOOST_TEST(wftest::read_file(fx.path("dst/a.txt")) == "already there");
    BOOST_TEST(fx.get(a.row.id).row.path == "dst/a (2).txt");
    BOOST_TEST(fx.get(taken.row.id).row.path == "dst/a.txt");

    BOOST_TEST_REQUIRE(fx.store->move(a2, dst, true, out) == Outcome::ok);
    BOOST_TEST(out.row.path == "dst/a (3).txt");
    BOOST_TEST(out.row.id == a2.row.id);
    BOOST_TEST(fx.listed(dst) == (std::vector<std::string>{"a (2).txt", "a (3).txt", "a.txt"}),
               boost::test_tools::per_element());
    BOOST_TEST(fx.listed(src).empty());
}

BOOST_AUTO_TEST_CASE(move_a_folder_with_its_contents) {
    Fx fx;
    const Item box = fx.folder(fx.root(), "box");
    const Item inner = fx.folder(box, "inner");
    const Item f = fx.file(inner, "f.txt", "f");
    const Item dst = fx.folder(fx.root(), "dst");
    Item out;
    BOOST_TEST_REQUIRE(fx.store->move(box, dst, false, out) == Outcome::ok);
    BOOST_TEST(out.row.id == box.row.id);
    BOOST_TEST(out.row.path == "dst/box");
    BOOST_TEST(fx.get(inner.row.id).row.path == "dst/box/inner");
    BOOST_TEST(fx.get(f.row.id).row.path == "dst/box/inner/f.txt");
    BOOST_TEST(fx.get(f.row.id).row.parent == inner.row.id);
    BOOST_TEST(wftest::read_file(fx.path("dst/box/inner/f.txt")) == "f");
    BOOST_TEST(!wftest::file_exists(fx.path("box")));
    // Into a file: refused.
    BOOST_TEST(fx.store->move(dst, f, false, out) == Outcome::not_a_folder);
    BOOST_TEST(is_dir(fx.path("dst")));
}

// Moving an item into the folder it is in changes nothing (a move action run twice must not
// rename the document to "NAME (2)").
BOOST_AUTO_TEST_CASE(move_into_its_own_folder_changes_nothing) {
    Fx fx;
    const Item dst = fx.folder(fx.root(), "dst");
    const Item a = fx.file(dst, "a.txt", "a");
    const Item top = fx.file(fx.root(), "top.txt", "top");
    const auto before = snapshot(fx.path(""));
    for (const bool numbered : {true, false}) {
        Item out;
        BOOST_TEST(fx.store->move(a, dst, numbered, out) == Outcome::ok, numbered);
        BOOST_TEST(out.row.id == a.row.id);
        BOOST_TEST(out.row.path == "dst/a.txt");
        BOOST_TEST(fx.store->move(top, fx.root(), numbered, out) == Outcome::ok, numbered);
        BOOST_TEST(out.row.path == "top.txt");
    }
    BOOST_TEST(snapshot(fx.path("")) == before);
    BOOST_TEST(fx.get(a.row.id).row.path == "dst/a.txt");
}

// A folder cannot go into itself or beneath itself.
BOOST_AUTO_TEST_CASE(move_a_folder_into_itself_is_refused) {
    Fx fx;
    const Item box = fx.folder(fx.root(), "box");
    const Item inner = fx.folder(box, "inner");
    const auto before = snapshot(fx.path(""));
    Item out;
    BOOST_TEST(fx.store->move(box, box, true, out) != Outcome::ok);
    BOOST_TEST(fx.store->move(box, inner, true, out) != Outcome::ok);
    BOOST_TEST(snapshot(fx.path("")) == before);
    BOOST_TEST(fx.get(box.row.id).row.path == "box");
    BOOST_TEST(fx.get(inner.row.id).row.path == "box/inner");
}

// ---- remove -----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(remove_puts_a_file_into_the_trash) {
    Fx fx;
    const Item sub = fx.folder(fx.root(), "sub");
    const Item f = fx.file(sub, "needle.txt", "sharp");
    const Item other = fx.file(sub, "hay.txt", "soft");
    BOOST_TEST(fx.searched("needle") == std::vector<std::string>{"sub/needle.txt"},
               boost::test_tools::per_element());
    const std::int64_t t0 = now_ms();
    BOOST_TEST_REQUIRE(fx.store->remove(f) == Outcome::ok);
    const std::int64_t t1 = now_ms();

    BOOST_TEST(!wftest::file_exists(fx.path("sub/needle.txt")));
    BOOST_TEST(fx.find(f.row.id) == Outcome::not_found);
    BOOST_TEST(fx.get(other.row.id).row.path == "sub/hay.txt");
    const auto trash = fx.trash_entries();
    BOOST_TEST_REQUIRE(trash.size() == 1u);
    std::int64_t ms = 0;
    std::string id;
    bool version = true;
    BOOST_TEST_REQUIRE(trash_entry(trash[0], ms, id, version), trash[0]);
    BOOST_TEST(id == f.row.id);
    BOOST_TEST(!version);
    BOOST_TEST(ms >= t0);
    BOOST_TEST(ms <= t1);
    const std::string entry = fx.trash() + "/" + trash[0];
    BOOST_TEST(entries(entry) == (std::vector<std::string>{".wfhookd-origin", "needle.txt"}),
               boost::test_tools::per_element());
    BOOST_TEST(wftest::read_file(entry + "/needle.txt") == "sharp");
    BOOST_TEST(wftest::read_file(entry + "/.wfhookd-origin") == "sub/needle.txt\n");

    // The trash is hidden from listings and searches, also after a full reindex.
    BOOST_TEST(fx.listed(fx.root()) == std::vector<std::string>{"sub"},
               boost::test_tools::per_element());
    BOOST_TEST(fx.listed(sub) == std::vector<std::string>{"hay.txt"},
               boost::test_tools::per_element());
    BOOST_TEST(fx.searched("needle").empty());
    BOOST_TEST(fx.searched("wfhookd").empty());
    ReindexStats stats;
    std::string error;
    BOOST_TEST_REQUIRE(fx.store->reindex(stats, error), error);
    BOOST_TEST(stats.files == 1u);
    BOOST_TEST(stats.folders == 2u);
    BOOST_TEST(fx.searched("needle").empty());
    BOOST_TEST(fx.listed(fx.root()) == std::vector<std::string>{"sub"},
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(remove_puts_a_folder_and_its_contents_into_the_trash) {
    Fx fx;
    const Item box = fx.folder(fx.root(), "box");
    const Item inner = fx.folder(box, "inner");
    const Item f = fx.file(inner, "f.txt", "f content");
    const Item g = fx.file(box, "g.txt", "g content");
    const Item keep = fx.file(fx.root(), "keep.txt", "kept");
    BOOST_TEST_REQUIRE(fx.store->remove(box) == Outcome::ok);
    BOOST_TEST(!wftest::file_exists(fx.path("box")));
    for (const Item* i : {&box, &inner, &f, &g})
        BOOST_TEST(fx.find(i->row.id) == Outcome::not_found, i->row.path);
    BOOST_TEST(fx.get(keep.row.id).row.path == "keep.txt");
    const auto trash = fx.trash_entries();
    BOOST_TEST_REQUIRE(trash.size() == 1u);
    BOOST_TEST(trash[0].ends_with("-" + box.row.id));
    const std::string entry = fx.trash() + "/" + trash[0];
    BOOST_TEST(wftest::read_file(entry + "/.wfhookd-origin") == "box\n");
    BOOST_TEST(wftest::read_file(entry + "/box/inner/f.txt") == "f content");
    BOOST_TEST(wftest::read_file(entry + "/box/g.txt") == "g content");
    BOOST_TEST(fx.searched("content").empty());
    BOOST_TEST(fx.searched(".txt") == std::vector<std::string>{"keep.txt"},
               boost::test_tools::per_element());
    // A new item may take the name at once.
    Item again;
    BOOST_TEST(fx.store->create_folder(fx.root(), "box", again) == Outcome::ok);
    BOOST_TEST(again.row.id != box.row.id);
}

BOOST_AUTO_TEST_CASE(with_trash_days_0_remove_deletes_at_once) {
    Fx fx(0);
    // Outside the store, reached through a link inside a removed folder: never followed.
    fx.dir.write("outside/precious.txt", "precious", 0640);
    const Item box = fx.folder(fx.root(), "box");
    const Item inner = fx.folder(box, "inner");
    const Item f = fx.file(inner, "f.txt", "f");
    fx.dir.write("root/box/inner/.hidden", "h", 0640);
    BOOST_TEST_REQUIRE(symlink(fx.dir.file("outside").c_str(), fx.path("box/link").c_str()) == 0);
    const Item lone = fx.file(fx.root(), "lone.txt", "lone");

    BOOST_TEST_REQUIRE(fx.store->remove(lone) == Outcome::ok);
    BOOST_TEST(!wftest::file_exists(fx.path("lone.txt")));
    BOOST_TEST_REQUIRE(fx.store->remove(box) == Outcome::ok);
    BOOST_TEST(!wftest::file_exists(fx.path("box")));
    BOOST_TEST(entries(fx.path("")).empty()); // no trash either
    BOOST_TEST(wftest::read_file(fx.dir.file("outside/precious.txt")) == "precious");
    for (const Item* i : {&box, &inner, &f, &lone})
        BOOST_TEST(fx.find(i->row.id) == Outcome::not_found, i->row.path);
}

// ---- folder_at --------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(folder_at_makes_missing_parents) {
    Fx fx;
    Item out;
    BOOST_TEST_REQUIRE(fx.store->folder_at("a/b/c", out) == Outcome::ok);
    BOOST_TEST(out.row.path == "a/b/c");
    BOOST_TEST(out.folder());
    BOOST_TEST(is_dir(fx.path("a/b/c")));
    const std::string id = out.row.id;
    BOOST_TEST(fx.get(id).row.path == "a/b/c");
    // Found again, whatever the slashes; nothing new made.
    const auto before = snapshot(fx.path(""));
    for (const char* path : {"a/b/c", "/a/b/c", "a//b/c/", "a/b/c//"}) {
        Item again;
        BOOST_TEST_REQUIRE(fx.store->folder_at(path, again) == Outcome::ok, path);
        BOOST_TEST(again.row.id == id, path);
    }
    BOOST_TEST(snapshot(fx.path("")) == before);
    // Part of it there: the rest made beneath it.
    Item a;
    BOOST_TEST_REQUIRE(fx.store->folder_at("a", a) == Outcome::ok);
    BOOST_TEST(a.row.path == "a");
    BOOST_TEST_REQUIRE(fx.store->folder_at("a/x", out) == Outcome::ok);
    BOOST_TEST(out.row.path == "a/x");
    BOOST_TEST(out.row.parent == a.row.id);
    BOOST_TEST(entries(fx.path("a")) == (std::vector<std::string>{"b", "x"}),
               boost::test_tools::per_element());
    // The root itself.
    BOOST_TEST_REQUIRE(fx.store->folder_at("", out) == Outcome::ok);
    BOOST_TEST(out.root());
    BOOST_TEST_REQUIRE(fx.store->folder_at("/", out) == Outcome::ok);
    BOOST_TEST(out.root());
}

BOOST_AUTO_TEST_CASE(folder_at_stops_at_a_file) {
    Fx fx;
    fx.file(fx.root(), "f.txt", "x");
    Item out;
    BOOST_TEST(fx.store->folder_at("f.txt/inside", out) == Outcome::not_a_folder);
    BOOST_TEST(is_file(fx.path("f.txt")));
    BOOST_TEST(entries(fx.path("")) == std::vector<std::string>{"f.txt"},
               boost::test_tools::per_element());
}

// A name on the way that is neither a folder nor a file the store shows (a symbolic link, or
// anything else a listing leaves out) must stop the walk: not be skipped, so that the rest of
// the path is made one level too high.
BOOST_AUTO_TEST_CASE(folder_at_never_skips_a_part_it_cannot_use) {
    Fx fx;
    fx.dir.write("outside/keep.txt", "k", 0640);
    BOOST_TEST_REQUIRE(symlink(fx.dir.file("outside").c_str(), fx.path("link").c_str()) == 0);
    BOOST_TEST_REQUIRE(mkfifo(fx.path("fifo").c_str(), 0640) == 0);
    for (const char* path : {"link/x", "fifo/x"}) {
        Item out;
        const Outcome o = fx.store->folder_at(path, out);
        BOOST_TEST(o != Outcome::ok, path << ": made " << out.row.path);
        BOOST_TEST(!wftest::file_exists(fx.path("x")), path);
    }
    BOOST_TEST(entries(fx.dir.file("outside")) == std::vector<std::string>{"keep.txt"},
               boost::test_tools::per_element());
    BOOST_TEST(entries(fx.path("")) == (std::vector<std::string>{"fifo", "link"}),
               boost::test_tools::per_element());
}

// ---- Workfront document ids ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(document_ids_find_their_item) {
    Fx fx;
    const Item a = fx.file(fx.root(), "a.txt", "a");
    const Item b = fx.file(fx.root(), "b.txt", "b");
    Item out;
    BOOST_TEST(fx.store->find_document("wf-doc-1", out) == Outcome::not_found);
    BOOST_TEST_REQUIRE(fx.store->set_document("wf-doc-1", "wf-ver-1", a.row.id));
    BOOST_TEST_REQUIRE(fx.store->set_document("wf-doc-2", "", b.row.id));
    BOOST_TEST_REQUIRE(fx.store->find_document("wf-doc-1", out) == Outcome::ok);
    BOOST_TEST(out.row.id == a.row.id);
    BOOST_TEST(out.row.path == "a.txt");
    BOOST_TEST_REQUIRE(fx.store->find_document("wf-doc-2", out) == Outcome::ok);
    BOOST_TEST(out.row.id == b.row.id);
    BOOST_TEST(fx.store->find_document("WF-DOC-1", out) == Outcome::not_found);
    // A later upload of the same Workfront document names the new item.
    BOOST_TEST_REQUIRE(fx.store->set_document("wf-doc-1", "wf-ver-2", b.row.id));
    BOOST_TEST_REQUIRE(fx.store->find_document("wf-doc-1", out) == Outcome::ok);
    BOOST_TEST(out.row.id == b.row.id);
    // It follows the item when it is renamed, and ends with it.
    BOOST_TEST_REQUIRE(fx.store->rename(b, "c.txt") == Outcome::ok);
    BOOST_TEST_REQUIRE(fx.store->find_document("wf-doc-2", out) == Outcome::ok);
    BOOST_TEST(out.row.path == "c.txt");
    BOOST_TEST_REQUIRE(fx.store->remove(fx.get(b.row.id)) == Outcome::ok);
    BOOST_TEST(fx.store->find_document("wf-doc-2", out) == Outcome::not_found);
}

// ---- read_only --------------------------------------------------------------------------------

struct WriteOp {
    std::string what;
    std::function<Outcome(Fx&, const Item& file, const Item& folder)> run;
};

std::ostream& operator<<(std::ostream& os, const WriteOp& op) {
    return os << op.what;
}

std::vector<WriteOp> write_ops() {
    return {
        {"create_file",
         [](Fx& fx, const Item&, const Item&) {
             Item o;
             return fx.store->create_file(fx.root(), "new.txt", true, o);
         }},
        {"create_file in a folder",
         [](Fx& fx, const Item&, const Item& folder) {
             Item o;
             return fx.store->create_file(folder, "new.txt", false, o);
         }},
        {"create_folder",
         [](Fx& fx, const Item&, const Item&) {
             Item o;
             return fx.store->create_folder(fx.root(), "new", o);
         }},
        {"replace_content",
         [](Fx& fx, const Item& file, const Item&) {
             Body body("new content");
             std::uint64_t written = 0;
             const Outcome o = fx.store->replace_content(file, body, 1 << 30, written);
             BOOST_TEST(body.reads == 0);
             return o;
         }},
        {"rename a file", [](Fx& fx, const Item& file,
                             const Item&) { return fx.store->rename(file, "renamed.txt"); }},
        {"rename a folder", [](Fx& fx, const Item&,
                               const Item& folder) { return fx.store->rename(folder, "renamed"); }},
        {"move",
         [](Fx& fx, const Item& file, const Item& folder) {
             Item o;
             return fx.store->move(file, folder, true, o);
         }},
        {"remove a file",
         [](Fx& fx, const Item& file, const Item&) { return fx.store->remove(file); }},
        {"remove a folder",
         [](Fx& fx, const Item&, const Item& folder) { return fx.store->remove(folder); }},
        {"folder_at a new path",
         [](Fx& fx, const Item&, const Item&) {
             Item o;
             return fx.store->folder_at("folder/new/deeper", o);
         }},
    };
}

BOOST_DATA_TEST_CASE(a_read_only_store_changes_nothing, bdata::make(write_ops()), op) {
    Fx fx;
    const Item file = fx.file(fx.root(), "file.txt", "content");
    const Item folder = fx.folder(fx.root(), "folder");
    fx.file(folder, "inner.txt", "inner");
    const auto before = snapshot(fx.dir.path());
    fx.config.read_only = true; // the store reads its config, not a copy
    BOOST_TEST(op.run(fx, file, folder) == Outcome::read_only);
    BOOST_TEST(snapshot(fx.dir.path()) == before);
    BOOST_TEST(fx.get(file.row.id).row.path == "file.txt");
    BOOST_TEST(fx.get(folder.row.id).row.path == "folder");
    BOOST_TEST(!fx.store->writable(fx.get(file.row.id).st));
}

// ---- purge --------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(purge_removes_every_unfinished_upload_at_start) {
    Fx fx;
    fx.dir.write("root/" + kUp + "a", "partial", 0640);
    fx.dir.write("root/sub/" + kUp + "b", "partial", 0640);
    fx.dir.write("root/sub/deep/er/" + kUp + "c", "", 0640);
    fx.dir.write("root/sub/visible.txt", "keep", 0640);
    fx.dir.write("root/.wfhookd-up", "not the prefix", 0640);
    fx.dir.write("root/wfhookd-up-x", "not hidden", 0640);
    fx.dir.write("root/sub/.other", "someone else's", 0640);
    fx.dir.write("root/" + kUp + "dir/inside.txt", "a folder is no upload", 0640);
    fx.dir.write("root/" + kTrash + "/" + std::to_string(now_ms()) + "-abc/" + kUp + "t",
                 "in the trash", 0640);
    age(fx.path(kUp + "a"), -3600); // even one from the future
    auto expected = snapshot(fx.path(""));
    expected.erase(kUp + "a");
    expected.erase("sub/" + kUp + "b");
    expected.erase("sub/deep/er/" + kUp + "c");

    // Without `uploads`, they are left alone.
    wftest::capture_stderr([&] { Store::purge(fx.config, 0, false); });
    BOOST_TEST(named_like(fx.path(""), kUp).size() == 5u);
    const std::string log = wftest::capture_stderr([&] { Store::purge(fx.config, 0, true); });
    BOOST_TEST(snapshot(fx.path("")) == expected);
    BOOST_TEST(log.find(fx.path("sub/deep/er") + "/" + kUp + "c") != std::string::npos, log);
}

BOOST_AUTO_TEST_CASE(purge_keeps_uploads_that_may_still_be_running) {
    Fx fx;
    fx.dir.write("root/" + kUp + "old", "", 0640);
    fx.dir.write("root/sub/" + kUp + "old", "", 0640);
    fx.dir.write("root/" + kUp + "recent", "", 0640);
    fx.dir.write("root/sub/" + kUp + "fresh", "", 0640);
    age(fx.path(kUp + "old"), 7200);
    age(fx.path("sub/" + kUp + "old"), 3700);
    age(fx.path(kUp + "recent"), 3000);
    wftest::capture_stderr([&] { Store::purge(fx.config, 3600, true); });
    BOOST_TEST(named_like(fx.path(""), kUp) ==
                   (std::vector<std::string>{kUp + "recent", "sub/" + kUp + "fresh"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(purge_never_follows_a_link) {
    Fx fx;
    fx.dir.write("outside/" + kUp + "o", "outside", 0640);
    fx.dir.write("outside/target.txt", "target", 0640);
    age(fx.dir.file("outside/" + kUp + "o"), 7200);
    BOOST_TEST_REQUIRE(symlink(fx.dir.file("outside").c_str(), fx.path("linked").c_str()) == 0);
    BOOST_TEST_REQUIRE(
        symlink(fx.dir.file("outside/target.txt").c_str(), fx.path(kUp + "link").c_str()) == 0);
    // The trash itself a link: left alone.
    fx.dir.write("elsewhere/1-old/f.txt", "f", 0640);
    BOOST_TEST_REQUIRE(symlink(fx.dir.file("elsewhere").c_str(), fx.trash().c_str()) == 0);
    const auto before = snapshot(fx.dir.path());
    wftest::capture_stderr([&] { Store::purge(fx.config, 0, true); });
    BOOST_TEST(snapshot(fx.dir.path()) == before);
}

BOOST_AUTO_TEST_CASE(purge_empties_the_trash_of_old_entries) {
    Fx fx(30);
    const std::int64_t day = 86'400'000, now = now_ms();
    const std::string old1 = std::to_string(now - 31 * day) + "-oldfile";
    const std::string old2 = std::to_string(now - 400 * day) + "-oldfolder";
    const std::string old3 = std::to_string(now - 31 * day) + "-oldfile-version";
    const std::string young = std::to_string(now - 29 * day) + "-young";
    const std::string fresh = std::to_string(now) + "-fresh";
    fx.dir.write("root/" + kTrash + "/" + old1 + "/a.txt", "a", 0640);
    fx.dir.write("root/" + kTrash + "/" + old1 + "/.wfhookd-origin", "a.txt\n", 0640);
    fx.dir.write("root/" + kTrash + "/" + old2 + "/box/inner/b.txt", "b", 0640);
    fx.dir.write("root/" + kTrash + "/" + old3 + "/a.txt", "a0", 0640);
    fx.dir.write("root/" + kTrash + "/" + young + "/y.txt", "y", 0640);
    fx.dir.write("root/" + kTrash + "/" + fresh + "/f.txt", "f", 0640);
    fx.dir.write("root/" + kTrash + "/not-a-time/n.txt", "n", 0640);
    fx.dir.write("root/" + kTrash + "/.hidden", "h", 0640);
    // Links in old entries, and an old entry that is a link: removed, never followed.
    fx.dir.write("outside/keep/precious.txt", "precious", 0640);
    BOOST_TEST_REQUIRE(symlink(fx.dir.file("outside/keep").c_str(),
                               fx.path(kTrash + "/" + old2 + "/box/link").c_str()) == 0);
    const std::string linked = std::to_string(now - 31 * day) + "-linked";
    BOOST_TEST_REQUIRE(
        symlink(fx.dir.file("outside/keep").c_str(), fx.path(kTrash + "/" + linked).c_str()) == 0);
    // Files of the live tree are never the trash's business.
    fx.dir.write("root/" + std::to_string(now - 31 * day) + "-live.txt", "live", 0640);

    const std::string log = wftest::capture_stderr([&] { Store::purge(fx.config, 0, false); });
    std::vector<std::string> left = {fresh, young, ".hidden", "not-a-time"};
    std::sort(left.begin(), left.end());
    BOOST_TEST(entries(fx.trash()) == left, boost::test_tools::per_element());
    BOOST_TEST(wftest::read_file(fx.path(kTrash + "/" + young + "/y.txt")) == "y");
    BOOST_TEST(wftest::read_file(fx.dir.file("outside/keep/precious.txt")) == "precious");
    BOOST_TEST(wftest::file_exists(fx.path(std::to_string(now - 31 * day) + "-live.txt")));
    BOOST_TEST(log.find(old2) != std::string::npos, log);
}

// trash_days = 0 means nothing stays in the trash: what an earlier setting left there goes at
// the next purge.
BOOST_AUTO_TEST_CASE(purge_with_trash_days_0_empties_the_trash) {
    Fx fx(0);
    const std::string entry = std::to_string(now_ms() - 86'400'000) + "-before";
    const std::string recent = std::to_string(now_ms()) + "-recent";
    fx.dir.write("root/" + kTrash + "/" + entry + "/a.txt", "a", 0640);
    fx.dir.write("root/" + kTrash + "/" + recent + "/b.txt", "b", 0640);
    wftest::capture_stderr([&] { Store::purge(fx.config, 0, true); });
    BOOST_TEST(fx.trash_entries().empty());
}

BOOST_AUTO_TEST_CASE(purge_of_a_missing_root_does_nothing) {
    Fx fx;
    StoreConfig gone = fx.config;
    gone.root = fx.dir.file("no-such-root");
    const std::string log = wftest::capture_stderr([&] { Store::purge(gone, 0, true); });
    BOOST_TEST(log.empty(), log);
    BOOST_TEST(!wftest::file_exists(gone.root));
}

BOOST_AUTO_TEST_SUITE_END()
