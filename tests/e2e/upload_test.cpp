// Uploads through a real nginx (spec §6.6-6.7, §8 test 7, §12 items 12-13): what Workfront's
// "Send to" does, the bytes back by SHA-256 from 0 bytes to a gigabyte in bounded memory,
// hostile names, a new version replacing the old one in one step, concurrent uploads, an
// item renamed or deleted under an upload, chunked and multipart bodies. Failures:
// upload_failures_test.cpp.
#include "e2e/store_writes.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cctype>
#include <future>
#include <set>
#include <sys/xattr.h>
#include <thread>

using namespace wftest;
using namespace wftest::writes;

namespace {

long status_kib(pid_t pid, const std::string& field) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);)
        if (line.starts_with(field + ":")) return std::stol(line.substr(field.size() + 1));
    return -1;
}

} // namespace

BOOST_AUTO_TEST_SUITE(upload)

// Spec §8 test 7 as Workfront runs it: the user picks a folder (/files), Save sends
// /uploadInit, then /upload; the file is then what /metadata describes and /download gives.
BOOST_AUTO_TEST_CASE(send_to_the_provider_round_trips_every_byte) {
    WriteStack t;
    t.dir.write("store/Workfront/.keep", "", 0600);
    const std::string folder = t.id_of("/", "Workfront");
    BOOST_TEST_REQUIRE(!folder.empty());
    struct Case {
        std::string name;
        Content content;
        std::string mime;
    };
    const Case cases[] = {
        {"empty.txt", {1, 0}, "text/plain"},
        {"one byte.bin", {2, 1}, "application/octet-stream"},
        {"big report.pdf", {3, 100 * kMiB}, "application/pdf"},
    };
    for (const Case& c : cases) {
        BOOST_TEST_CONTEXT(c.name) {
            const std::string sha = c.content.sha256();
            const Json init = t.upload_init(folder, c.name,
                                            "&documentId=511ea6e000023edb38d2effb2f4e6e3b"
                                            "&documentVersionId=511ea6e000023edb38d2effb2f4e6e3c");
            BOOST_TEST(init.at("title").text == c.name);
            BOOST_TEST(init.at("kind").text == "file");
            BOOST_TEST(init.at("size").text == "0");
            const std::string id = init.at("id").text;
            BOOST_TEST_REQUIRE(!id.empty());

            const StreamResult up = t.upload(id, c.content);
            BOOST_TEST(up.response.status == 200, up.response.body);
            BOOST_TEST(up.response.body == kUploaded);
            BOOST_TEST(up.response.header("content-type") == "application/json; charset=utf-8");
            BOOST_TEST(up.sent == c.content.length);

            const Json m = t.meta(id);
            BOOST_TEST(m.at("title").text == c.name);
            BOOST_TEST(m.at("size").text == std::to_string(c.content.length));
            BOOST_TEST(m.at("mimeType").text.starts_with(c.mime), m.at("mimeType").text);
            BOOST_TEST(t.download(id) == WriteStack::expect(sha, c.content.length));
            BOOST_TEST(Sha256::of_file(t.root() + "/Workfront/" + c.name) == sha);
        }
    }
    std::set<std::string> titles;
    for (const Json& item : t.list(folder))
        titles.insert(item.at("title").text);
    BOOST_TEST(titles == (std::set<std::string>{"big report.pdf", "empty.txt", "one byte.bin"}),
               boost::test_tools::per_element());
    BOOST_TEST(t.leftovers().empty());
}

BOOST_AUTO_TEST_CASE(hostile_names_upload_and_download) {
    WriteStack t;
    std::set<std::string> expected = {".keep"}; // the test harness's own, hidden
    for (const std::string& name : kHostileNames) {
        BOOST_TEST_CONTEXT(name) {
            const Json init = t.upload_init("/", name);
            BOOST_TEST(init.at("title").text == name);
            const std::string content = "content of " + name;
            const HttpResponse up = t.upload_bytes(init.at("id").text, content);
            BOOST_TEST(up.status == 200, up.body);
            BOOST_TEST(t.download(init.at("id").text) ==
                       WriteStack::expect(Sha256::of(content), content.size()));
            BOOST_TEST(read_file(t.root() + "/" + name) == content);
            expected.insert(name);
        }
    }
    for (const auto& [name, error] : kInvalidNames) {
        BOOST_TEST_CONTEXT(name) {
            const HttpResponse r =
                t.call("POST", "/wf/uploadInit?parentId=%2F&filename=" + url_encode(name));
            BOOST_TEST(r.status == 400);
            BOOST_TEST(r.body == R"({"status":"error","error":")" + error + R"("})");
        }
    }
    const std::vector<std::string> on_disk = WriteStack::names_in(t.root());
    BOOST_TEST(std::set<std::string>(on_disk.begin(), on_disk.end()) == expected,
               boost::test_tools::per_element());
    BOOST_TEST(t.list("/").size() == kHostileNames.size());
}

// A second upload to an id: readers see the old content until the new one is complete, then
// the new one, under the same id; the old content stays in the trash as a version.
BOOST_AUTO_TEST_CASE(a_new_version_replaces_the_old_in_one_step) {
    WriteStack t;
    const std::string folder = t.create_folder("/", "Plans").at("id").text;
    const std::string id = t.upload_init(folder, "plan.pdf").at("id").text;
    const Content v1{11, 3 * kMiB}, v2{12, 5 * kMiB + 3};
    const std::string sha1 = v1.sha256(), sha2 = v2.sha256();
    BOOST_TEST_REQUIRE(t.upload(id, v1).response.status == 200);

    StreamRequest r = t.upload_request(id, v2);
    PauseAt pause(3 * kMiB);
    r.progress = [&](std::uint64_t sent) { pause(sent); };
    auto second = std::async(std::launch::async, [&] { return t.stream(r); });
    BOOST_TEST_REQUIRE(pause.wait_reached());
    // Mid-way: part of the new content is in wfhookd's hands, none of it is visible.
    pid_t worker = 0;
    BOOST_TEST(wait_until([&] {
        worker = t.upload_worker();
        return worker != 0 && t.temp_bytes(worker) >= kMiB;
    }));
    BOOST_TEST(t.download(id) == WriteStack::expect(sha1, v1.length));
    BOOST_TEST(t.meta(id).at("size").text == std::to_string(v1.length));
    BOOST_TEST(t.list(folder).size() == 1u);
    pause.release();
    const StreamResult done = second.get();
    BOOST_TEST(done.response.status == 200, done.response.body);
    BOOST_TEST(done.response.body == kUploaded);

    BOOST_TEST(t.download(id) == WriteStack::expect(sha2, v2.length));
    BOOST_TEST(t.meta(id).at("title").text == "plan.pdf");
    BOOST_TEST(t.id_of(folder, "plan.pdf") == id);
    char attr[80] = {};
    BOOST_TEST(getxattr((t.root() + "/Plans/plan.pdf").c_str(), "user.wfhookd.id", attr,
                        sizeof attr - 1) > 0);
    BOOST_TEST(std::string(attr) == id);

    const std::vector<std::string> trash = WriteStack::names_in(t.trash());
    BOOST_TEST_REQUIRE(trash.size() == 1u);
    const std::string entry = trash[0];
    BOOST_TEST(entry.ends_with("-" + id + "-version"), entry);
    BOOST_TEST(std::isdigit(static_cast<unsigned char>(entry[0])), entry);
    BOOST_TEST(WriteStack::names_in(t.trash() + "/" + entry) ==
                   (std::vector<std::string>{".wfhookd-origin", "plan.pdf"}),
               boost::test_tools::per_element());
    BOOST_TEST(read_file(t.trash() + "/" + entry + "/.wfhookd-origin") == "Plans/plan.pdf\n");
    BOOST_TEST(Sha256::of_file(t.trash() + "/" + entry + "/plan.pdf") == sha1);
    BOOST_TEST(t.leftovers().empty());
}

// Two uploads to one id at once, round after round: both succeed, the file is whole (one of
// the two), and each replaced content has its own version in the trash.
BOOST_AUTO_TEST_CASE(concurrent_uploads_to_one_id_both_succeed_whole) {
    WriteStack t;
    const std::string id = t.upload_init("/", "shared.txt").at("id").text;
    BOOST_TEST_REQUIRE(t.upload_bytes(id, "initial").status == 200);
    for (int round = 0; round < 10; ++round) {
        BOOST_TEST_CONTEXT("round " << round) {
            const std::string a = "a" + std::to_string(round), b = "b" + std::to_string(round);
            auto first = std::async(std::launch::async, [&] { return t.upload_bytes(id, a); });
            auto second = std::async(std::launch::async, [&] { return t.upload_bytes(id, b); });
            const HttpResponse ra = first.get(), rb = second.get();
            BOOST_TEST(ra.body == kUploaded);
            BOOST_TEST(rb.body == kUploaded);
            const std::string now = read_file(t.root() + "/shared.txt");
            BOOST_TEST((now == a || now == b), now);
        }
    }
    BOOST_TEST(WriteStack::names_in(t.trash()).size() == 20u);
    BOOST_TEST(t.leftovers().empty());
}

// An item renamed or deleted while an upload to it is on its way: the content goes to the
// item under its new name, or nowhere (404) when it is gone; never to a new file at the old
// name (which would bring a deleted item back, or give the upload to an item nobody asked for).
BOOST_AUTO_TEST_CASE(an_upload_follows_its_item_renamed_or_deleted_meanwhile) {
    WriteOptions o;
    o.server = "workers = 2\nstatus = yes\n";
    WriteStack t(o);
    for (const std::string change : {"rename", "delete"}) {
        BOOST_TEST_CONTEXT(change) {
            const std::string id = t.upload_init("/", change + ".txt").at("id").text;
            BOOST_TEST_REQUIRE(t.upload_bytes(id, "old content").status == 200);
            const Content next{101, 2 * kMiB};
            StreamRequest r = t.upload_request(id, next);
            PauseAt pause(kMiB);
            r.progress = [&](std::uint64_t sent) { pause(sent); };
            auto upload = std::async(std::launch::async, [&] { return t.stream(r); });
            BOOST_TEST_REQUIRE(pause.wait_reached());
            pid_t worker = 0;
            BOOST_TEST_REQUIRE(wait_until([&] {
                worker = t.upload_worker();
                return worker != 0 && t.temp_bytes(worker) > 0;
            }));
            const HttpResponse changed =
                change == "rename"
                    ? t.call("PUT", "/wf/rename?id=" + id + "&name=" + change + "d.txt")
                    : t.call("PUT", "/wf/delete?id=" + id);
            BOOST_TEST_REQUIRE(changed.status == 200, changed.body);
            pause.release();
            const StreamResult done = upload.get();
            if (change == "rename") {
                BOOST_TEST(done.response.body == kUploaded);
                BOOST_TEST(t.meta(id).at("title").text == "renamed.txt");
                BOOST_TEST(t.download(id) == WriteStack::expect(next.sha256(), next.length));
                // The audit file says where the content went.
                const Json last = parse_json(t.audit_lines().back());
                BOOST_TEST(last.at("endpoint").text == "upload");
                BOOST_TEST(last.at("to").text == "renamed.txt");
            } else {
                BOOST_TEST(done.response.status == 404, done.response.body);
                BOOST_TEST(done.response.body == upload_fail("no such file or folder"));
                BOOST_TEST(t.call("GET", "/wf/metadata?id=" + id).status == 404);
            }
            BOOST_TEST(!file_exists(t.root() + "/" + change + ".txt"));
            BOOST_TEST(t.list("/").size() == 1u); // renamed.txt
            BOOST_TEST(t.leftovers().empty());
        }
    }
}

// Bodies of unknown length (Transfer-Encoding: chunked), the empty one included.
BOOST_AUTO_TEST_CASE(chunked_uploads_work) {
    WriteStack t;
    const std::string id = t.upload_init("/", "stream.log").at("id").text;
    for (const std::uint64_t length : {std::uint64_t(3 * kMiB + 7), std::uint64_t(0)}) {
        const Content c{71 + length, length};
        StreamRequest r = t.upload_request(id, c);
        r.chunked = true;
        r.piece = 10000; // odd-sized chunks
        const StreamResult res = t.stream(r);
        BOOST_TEST(res.response.status == 200, res.response.body);
        BOOST_TEST(res.response.body == kUploaded);
        BOOST_TEST(t.download(id) == WriteStack::expect(c.sha256(), c.length));
    }
}

// multipart/form-data (a browser form): the file part is the content, other fields are not.
BOOST_AUTO_TEST_CASE(a_multipart_body_stores_its_file_part) {
    WriteStack t;
    const std::string id = t.upload_init("/", "form.bin").at("id").text;
    // Binary content with pieces of the delimiter in it, across read boundaries.
    std::string payload = Content{81, 300 * 1024}.bytes(0, 300 * 1024);
    for (std::size_t at = 1000; at + 20 < payload.size(); at += 65531)
        payload.replace(at, 12, "\r\n--Boundar\r");
    const std::string boundary = "Boundary7MA4YWxkTrZu0gW";
    const std::string body = "--" + boundary +
                             "\r\nContent-Disposition: form-data; name=\"comment\"\r\n\r\nnot "
                             "the file\r\n--" +
                             boundary +
                             "\r\nContent-Disposition: form-data; name=\"file\"; "
                             "filename=\"form.bin\"\r\nContent-Type: application/octet-stream"
                             "\r\n\r\n" +
                             payload + "\r\n--" + boundary + "--\r\n";
    const HttpResponse r = t.call("PUT", "/wf/upload?id=" + id, body,
                                  {{"Content-Type", "multipart/form-data; boundary=" + boundary}});
    BOOST_TEST(r.status == 200, r.body);
    BOOST_TEST(r.body == kUploaded);
    BOOST_TEST(t.download(id) == WriteStack::expect(Sha256::of(payload), payload.size()));
}

// A gigabyte (the default limit, exactly): the worker's memory stays under 16 MiB.
BOOST_AUTO_TEST_CASE(a_gigabyte_upload_in_bounded_worker_memory) {
    WriteOptions o;
    o.server = "workers = 2\nstatus = yes\n";
    WriteStack t(o);
    const std::string id = t.upload_init("/", "disk.img").at("id").text;
    std::atomic<bool> done{false};
    std::atomic<long> most{0};
    std::atomic<pid_t> served_by{0};
    std::thread sampler([&] {
        while (!done) {
            for (const pid_t w : t.wfhookd.workers())
                most = std::max(most.load(), status_kib(w, "VmRSS"));
            if (served_by == 0) served_by = t.upload_worker();
            usleep(5000);
        }
    });
    const StreamResult res = t.upload(id, Content{91, std::uint64_t(1) << 30});
    done = true;
    sampler.join();
    BOOST_TEST(res.response.status == 200, res.response.body);
    BOOST_TEST(res.response.body == kUploaded);
    BOOST_TEST(res.sent == std::uint64_t(1) << 30);
    BOOST_TEST_REQUIRE(served_by.load() != 0);
    const long peak = status_kib(served_by, "VmHWM"); // its peak, over its whole life
    BOOST_TEST_MESSAGE("upload worker peak RSS " << peak << " KiB, sampled " << most.load());
    BOOST_TEST(peak > 0);
    BOOST_TEST(peak < memory_bound_kib(16 * 1024), "worker peak RSS " << peak << " KiB");
    BOOST_TEST(most.load() > 0);
    BOOST_TEST(most.load() < memory_bound_kib(16 * 1024), "worker RSS " << most.load() << " KiB");
    BOOST_TEST(t.meta(id).at("size").text == "1073741824");
    BOOST_TEST(Sha256::of_file(t.root() + "/disk.img") == res.body_sha256);
}

BOOST_AUTO_TEST_SUITE_END()
