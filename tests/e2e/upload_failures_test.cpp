// Uploads that fail, through a real nginx (spec §12 item 13): a worker killed mid-body, a
// client that hangs up, a full store, bodies over nginx's or wfhookd's limit. Each leaves the
// old content whole, nothing half-written on disk (not even after a restart), a JSON answer in
// the upload vocabulary wherever an answer is possible, and a service that goes on.
#include "e2e/store_writes.hpp"

#include <boost/test/unit_test.hpp>

#include <csignal>
#include <future>

using namespace wftest;
using namespace wftest::writes;

namespace {

// The shipped locations snippet with the upload location's client_max_body_size lowered.
std::string upload_limit_locations(const std::string& limit) {
    std::string text = read_file(source_dir() + "/nginx/wfhookd-locations.conf");
    const std::string from = "client_max_body_size 1g;";
    const auto at = text.find(from);
    if (at == std::string::npos) throw std::runtime_error("no " + from + " in the snippet");
    return text.replace(at, from.size(), "client_max_body_size " + limit + ";");
}

} // namespace

BOOST_AUTO_TEST_SUITE(upload_failures)

// kill -9 of the worker while the body of a 200 MiB upload is half-way in: the old content
// stays, nothing half-written is ever visible (not even after a restart), and the service
// goes on with a new worker.
BOOST_AUTO_TEST_CASE(a_worker_killed_mid_upload_leaves_the_old_content) {
    WriteOptions o;
    o.server = "workers = 2\nstatus = yes\n";
    WriteStack t(o);
    const std::string folder = t.create_folder("/", "Projects").at("id").text;
    const std::string id = t.upload_init(folder, "model.bin").at("id").text;
    const Content old{21, kMiB + 3};
    const std::string old_sha = old.sha256();
    BOOST_TEST_REQUIRE(t.upload(id, old).response.status == 200);

    StreamRequest r = t.upload_request(id, Content{22, 200 * kMiB});
    PauseAt pause(100 * kMiB);
    r.progress = [&](std::uint64_t sent) { pause(sent); };
    auto upload = std::async(std::launch::async, [&] { return t.stream(r); });
    BOOST_TEST_REQUIRE(pause.wait_reached());
    pid_t worker = 0;
    BOOST_TEST_REQUIRE(wait_until(
        [&] {
            worker = t.upload_worker();
            return worker != 0 && t.temp_bytes(worker) >= 64 * kMiB;
        },
        30s));
    const std::vector<pid_t> before = t.wfhookd.workers();
    BOOST_TEST_REQUIRE(kill(worker, SIGKILL) == 0);
    pause.release();
    const StreamResult killed = upload.get();
    BOOST_TEST(killed.sent < r.body.length);
    // nginx answers for the worker that cannot: its 502 in JSON (docs/operations.md), not an
    // HTML page about the size of a body the error page's location was not meant to take.
    BOOST_TEST(killed.response.status == 502, killed.response.body);
    BOOST_TEST(killed.response.header("content-type") == "application/json; charset=utf-8");
    BOOST_TEST(killed.response.body ==
               R"({"status":"error","error":"the service did not answer; try again"})"
               "\n");

    // A new worker takes its place; the service answers.
    BOOST_TEST(wait_until([&] {
        const std::vector<pid_t> now = t.wfhookd.workers();
        return now.size() == before.size() &&
               std::find(now.begin(), now.end(), worker) == now.end();
    }));
    BOOST_TEST(t.list(folder).size() == 1u);
    BOOST_TEST(t.meta(id).at("size").text == std::to_string(old.length));
    BOOST_TEST(t.download(id) == WriteStack::expect(old_sha, old.length));
    BOOST_TEST(WriteStack::names_in(t.root() + "/Projects") ==
                   std::vector<std::string>{"model.bin"},
               boost::test_tools::per_element());
    BOOST_TEST(t.leftovers().empty());
    // After a restart as well.
    t.restart();
    BOOST_TEST(t.leftovers().empty());
    BOOST_TEST(t.download(id) == WriteStack::expect(old_sha, old.length));
    // Only the upload that succeeded is in the audit file.
    int uploads = 0;
    for (const std::string& line : t.audit_lines())
        uploads += parse_json(line).at("endpoint").text == "upload";
    BOOST_TEST(uploads == 1);
    // And the next upload works.
    const Content next{23, 2 * kMiB};
    BOOST_TEST(t.upload(id, next).response.body == kUploaded);
    BOOST_TEST(t.download(id) == WriteStack::expect(next.sha256(), next.length));
}

// A client that hangs up half-way: wfhookd drops what it had, the worker is free again.
BOOST_AUTO_TEST_CASE(a_client_that_hangs_up_mid_upload_changes_nothing) {
    WriteOptions o;
    o.server = "workers = 2\nstatus = yes\n";
    WriteStack t(o);
    const std::string id = t.upload_init("/", "draft.docx").at("id").text;
    const Content old{31, 700 * 1024};
    BOOST_TEST_REQUIRE(t.upload(id, old).response.status == 200);

    StreamRequest r = t.upload_request(id, Content{32, 64 * kMiB});
    r.abort_at = 32 * kMiB;
    PauseAt pause(32 * kMiB); // just before hanging up
    r.progress = [&](std::uint64_t sent) { pause(sent); };
    auto upload = std::async(std::launch::async, [&] { return t.stream(r); });
    BOOST_TEST_REQUIRE(pause.wait_reached());
    pid_t worker = 0;
    BOOST_TEST_REQUIRE(wait_until([&] {
        worker = t.upload_worker();
        return worker != 0 && t.temp_bytes(worker) >= 16 * kMiB;
    }));
    pause.release();
    const StreamResult gone = upload.get();
    BOOST_TEST(!gone.response.ok);
    BOOST_TEST(gone.sent == 32 * kMiB);
    // The worker notices and gives the upload up.
    BOOST_TEST(wait_until([&] { return t.upload_worker() == 0; }));
    BOOST_TEST(process_alive(worker));
    BOOST_TEST(t.leftovers().empty());
    BOOST_TEST(t.download(id) == WriteStack::expect(old.sha256(), old.length));
    BOOST_TEST(WriteStack::names_in(t.root()) == (std::vector<std::string>{".keep", "draft.docx"}),
               boost::test_tools::per_element());
    BOOST_TEST(t.audit_lines().size() == 2u); // uploadInit and the first upload
    t.restart();
    BOOST_TEST(t.leftovers().empty());
    BOOST_TEST(t.download(id) == WriteStack::expect(old.sha256(), old.length));
    const Content next{33, 100};
    BOOST_TEST(t.upload(id, next).response.body == kUploaded);
    BOOST_TEST(t.download(id) == WriteStack::expect(next.sha256(), next.length));
}

// A client that stops sending mid-body: the worker waits io_timeout for more, then gives the
// upload up (a stalled client never holds a worker), answering in the upload vocabulary.
BOOST_AUTO_TEST_CASE(a_stalled_upload_frees_its_worker_at_io_timeout) {
    WriteOptions o;
    o.server = "workers = 2\nstatus = yes\nio_timeout = 1\n";
    WriteStack t(o);
    const std::string id = t.upload_init("/", "stalled.bin").at("id").text;
    const Content old{35, 5000};
    BOOST_TEST_REQUIRE(t.upload(id, old).response.body == kUploaded);
    StreamRequest r = t.upload_request(id, Content{36, 8 * kMiB});
    PauseAt pause(2 * kMiB);
    r.progress = [&](std::uint64_t sent) { pause(sent); };
    auto upload = std::async(std::launch::async, [&] { return t.stream(r); });
    BOOST_TEST_REQUIRE(pause.wait_reached());
    pid_t worker = 0;
    BOOST_TEST_REQUIRE(wait_until([&] {
        worker = t.upload_worker();
        return worker != 0 && t.temp_bytes(worker) > 0;
    }));
    // Still paused: the worker lets go by itself.
    BOOST_TEST(wait_until([&] { return t.upload_worker() == 0; }, 10s));
    BOOST_TEST(process_alive(worker));
    pause.release();
    const StreamResult stalled = upload.get();
    BOOST_TEST(stalled.response.status == 400, stalled.response.body);
    BOOST_TEST(stalled.response.body.starts_with(R"({"result":"fail","status":"error",)"),
               stalled.response.body);
    BOOST_TEST(t.download(id) == WriteStack::expect(old.sha256(), old.length));
    BOOST_TEST(t.leftovers().empty());
}

// A store on a 64 KiB tmpfs: an upload that does not fit is refused with 500 and the upload
// vocabulary, the old content stays, the space is given back.
BOOST_AUTO_TEST_CASE(a_full_store_refuses_the_upload_and_keeps_the_old_content) {
    WriteOptions o;
    o.tmpfs = "size=64k,mode=0755";
    WriteStack t(o);
    const std::string id = t.upload_init("/", "notes.txt").at("id").text;
    const Content old{41, 16 * 1024};
    BOOST_TEST_REQUIRE(t.upload(id, old).response.status == 200);

    for (const bool chunked : {false, true}) {
        BOOST_TEST_CONTEXT((chunked ? "chunked" : "Content-Length")) {
            StreamRequest r = t.upload_request(id, Content{42, kMiB});
            r.chunked = chunked;
            const StreamResult full = t.stream(r);
            BOOST_TEST(full.response.status == 500, full.response.body);
            BOOST_TEST(full.response.body == upload_fail("no space left in the document store"));
            BOOST_TEST(t.download(id) == WriteStack::expect(old.sha256(), old.length));
            BOOST_TEST(t.leftovers().empty());
            BOOST_TEST(WriteStack::names_in(t.root()) == std::vector<std::string>{"notes.txt"},
                       boost::test_tools::per_element());
        }
    }
    t.restart();
    BOOST_TEST(t.leftovers().empty());
    BOOST_TEST(t.download(id) == WriteStack::expect(old.sha256(), old.length));
    // What the refused uploads took is free again: two more files of 16 KiB fit.
    for (const char* name : {"more.txt", "even more.txt"}) {
        const std::string more = t.upload_init("/", name).at("id").text;
        const Content c{43, 16 * 1024};
        BOOST_TEST(t.upload(more, c).response.body == kUploaded, name);
        BOOST_TEST(t.download(more) == WriteStack::expect(c.sha256(), c.length));
    }
}

// Uploads that died where O_TMPFILE is missing leave a hidden .wfhookd-up- file: swept at
// start, wherever it is; nothing else goes.
BOOST_AUTO_TEST_CASE(stale_upload_files_are_swept_at_start) {
    WriteStack t;
    t.dir.write("store/.wfhookd-up-0123456789ab", "partial", 0640);
    t.dir.write("store/Deep/er/.wfhookd-up-ba9876543210", "partial", 0640);
    t.dir.write("store/Deep/er/kept.txt", "kept", 0640);
    t.dir.write("store/.wfhookd-upper.txt", "not ours", 0640); // no '-' after "up": not ours
    BOOST_TEST_REQUIRE(t.leftovers().size() == 2u);
    t.restart();
    BOOST_TEST(t.leftovers().empty());
    BOOST_TEST(t.wfhookd.log_count("left by an upload that never finished") == 2);
    BOOST_TEST(read_file(t.root() + "/Deep/er/kept.txt") == "kept");
    BOOST_TEST(file_exists(t.root() + "/.wfhookd-upper.txt"));
}

// nginx's own limit (client_max_body_size 1g on /upload) answers in the upload vocabulary.
BOOST_AUTO_TEST_CASE(nginx_refuses_a_body_over_its_limit_in_json) {
    WriteStack t;
    const std::string id = t.upload_init("/", "huge.iso").at("id").text;
    // A gigabyte and a byte announced, a few bytes sent: refused on the announcement.
    StreamRequest big = t.upload_request(id, Content{1, 13});
    big.announce = (std::int64_t(1) << 30) + 1;
    const HttpResponse r = t.stream(big).response;
    BOOST_TEST(r.status == 413);
    BOOST_TEST(r.header("content-type") == "application/json; charset=utf-8");
    BOOST_TEST(r.body == upload_fail("request body too large") + "\n");
    BOOST_TEST(t.meta(id).at("size").text == "0");
}

// The same limit lowered to 1 MiB: a chunked body over it is cut off by nginx (413), and
// wfhookd drops what it had received.
BOOST_AUTO_TEST_CASE(a_chunked_body_over_nginx_limit_is_cut_off_cleanly) {
    WriteOptions o;
    o.nginx.locations = upload_limit_locations("1m");
    WriteStack t(o);
    const std::string id = t.upload_init("/", "a.bin").at("id").text;
    const Content old{51, 1000};
    BOOST_TEST_REQUIRE(t.upload(id, old).response.body == kUploaded);
    StreamRequest r = t.upload_request(id, Content{52, 3 * kMiB});
    r.chunked = true;
    const StreamResult over = t.stream(r);
    BOOST_TEST(over.response.status == 413, over.response.body);
    BOOST_TEST(over.response.body == upload_fail("request body too large") + "\n");
    BOOST_TEST(wait_until([&] { return t.upload_worker() == 0; }));
    BOOST_TEST(t.download(id) == WriteStack::expect(old.sha256(), old.length));
    BOOST_TEST(t.leftovers().empty());
    const Content fits{53, 512 * 1024};
    r.body = fits;
    BOOST_TEST(t.stream(r).response.body == kUploaded);
    BOOST_TEST(t.download(id) == WriteStack::expect(fits.sha256(), fits.length));
}

// [store] max_upload_size: wfhookd's own 413, before reading when the length is announced,
// as soon as the limit is passed when it is not.
BOOST_AUTO_TEST_CASE(max_upload_size_is_wfhookd_own_413) {
    WriteOptions o;
    o.store = "max_upload_size = 1m\n";
    WriteStack t(o);
    const std::string id = t.upload_init("/", "limited.bin").at("id").text;
    const Content old{61, 100 * 1024};
    BOOST_TEST_REQUIRE(t.upload(id, old).response.body == kUploaded);
    struct Case {
        std::uint64_t length;
        bool chunked;
        int status;
        std::string body;
    };
    const Case cases[] = {
        {2 * kMiB, false, 413, upload_fail("the upload is 2097152 bytes; the limit is 1048576")},
        {kMiB + 1, false, 413, upload_fail("the upload is 1048577 bytes; the limit is 1048576")},
        {2 * kMiB, true, 413, upload_fail("the upload is larger than the store accepts")},
        {kMiB + 1, true, 413, upload_fail("the upload is larger than the store accepts")},
        {kMiB, false, 200, kUploaded},
        {kMiB, true, 200, kUploaded},
    };
    for (const Case& c : cases) {
        BOOST_TEST_CONTEXT(c.length << (c.chunked ? " chunked" : "")) {
            const Content body{62 + c.length, c.length};
            StreamRequest r = t.upload_request(id, body);
            r.chunked = c.chunked;
            const StreamResult res = t.stream(r);
            BOOST_TEST(res.response.status == c.status, res.response.body);
            BOOST_TEST(res.response.body == c.body);
            BOOST_TEST(t.download(id) == (c.status == 200
                                              ? WriteStack::expect(body.sha256(), body.length)
                                              : WriteStack::expect(old.sha256(), old.length)));
            BOOST_TEST(t.leftovers().empty());
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
