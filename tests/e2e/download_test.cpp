// /download through a real nginx (spec §6.4, §8 tests 3-5, §12 items 10 and 24): the bytes
// with the headers a browser needs, conditional and partial requests, signed links a browser
// opens without Workfront's headers, and memory and workers that do not depend on the size.
#include "support/json_check.hpp"
#include "support/process.hpp"
#include "support/signed_links.hpp"
#include "support/stack.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <ctime>
#include <fstream>
#include <ostream>
#include <thread>

using namespace wftest;
namespace bdata = boost::unit_test::data;

namespace {

struct DownloadStack {
    explicit DownloadStack(const std::string& extra = "")
        : s([&] {
              WfhookdOptions o;
              o.store = true;
              o.store_config = extra;
              o.server = "workers = 2\n";
              return o;
          }()) {}
    Stack s;
    void file(const std::string& rel, const std::string& content) const {
        s.dir.write("store/" + rel, content, 0644);
    }
    Json json(const std::string& target) { return parse_json(s.get(target, s.auth()).body); }
    // The item's metadata (listing the root first, so that it has an id).
    Json item(const std::string& title) {
        for (const Json& i : json("/wf/files?max=1000").items)
            if (i.at("title").text == title) return i;
        throw std::runtime_error("no item " + title);
    }
    // The path and query of an absolute link.
    static std::string target(const std::string& url) {
        const auto slash = url.find('/', url.find("://") + 3);
        return url.substr(slash);
    }
    HttpResponse get(const std::string& target, const Headers& h = {}) { return s.get(target, h); }
};

const std::string kContent = "0123456789abcdefghijklmnopqrstuvwxyz";

// Served by nginx (X-Accel-Redirect, the default) or streamed by the worker.
const char* const kModes[] = {"accel", "stream"};

std::string mode_config(const std::string& mode) {
    return mode == "stream" ? "accel_redirect =\n" : "";
}

long rss_kib(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);)
        if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
    return -1;
}

} // namespace

BOOST_AUTO_TEST_SUITE(download)

BOOST_DATA_TEST_CASE(bytes_and_headers, bdata::make(kModes), mode) {
    DownloadStack t(mode_config(mode));
    t.file("Résumé final.txt", kContent);
    const Json item = t.item("Résumé final.txt");
    const std::string url = DownloadStack::target(item.at("downloadLink").text);
    const HttpResponse r = t.get(url); // no apiKey: the signed link is enough
    BOOST_TEST(r.status == 200, r.body);
    BOOST_TEST(r.body == kContent);
    BOOST_TEST(r.header("content-type").starts_with("text/plain"), r.header("content-type"));
    BOOST_TEST(r.header("content-length") == std::to_string(kContent.size()));
    BOOST_TEST(r.header("content-disposition") == "attachment; filename=\"R__sum__ final.txt\"; "
                                                  "filename*=UTF-8''R%C3%A9sum%C3%A9%20final.txt");
    BOOST_TEST(!r.header("etag").empty());
    BOOST_TEST(!r.header("last-modified").empty());
    BOOST_TEST(r.header("x-accel-redirect").empty()); // nginx's business, never the client's
    // With Workfront's headers and no signature: the same.
    BOOST_TEST(t.get("/wf/download?id=" + item.at("id").text, t.s.auth()).body == kContent);

    const HttpResponse head = t.s.request("HEAD", url);
    BOOST_TEST(head.status == 200);
    BOOST_TEST(head.body.empty());
    BOOST_TEST(head.header("content-length") == std::to_string(kContent.size()));

    const HttpResponse cached = t.get(url, {{"If-None-Match", r.header("etag")}});
    BOOST_TEST(cached.status == 304);
    BOOST_TEST(cached.body.empty());
    BOOST_TEST(t.get(url, {{"If-None-Match", "\"other\""}}).status == 200);

    const HttpResponse part = t.get(url, {{"Range", "bytes=2-5"}});
    BOOST_TEST(part.status == 206);
    BOOST_TEST(part.body == "2345");
    BOOST_TEST(part.header("content-range") == "bytes 2-5/" + std::to_string(kContent.size()));
    const HttpResponse tail = t.get(url, {{"Range", "bytes=-3"}});
    BOOST_TEST(tail.status == 206);
    BOOST_TEST(tail.body == "xyz");
    BOOST_TEST(t.get(url, {{"Range", "bytes=1000-"}}).status == 416);
}

BOOST_DATA_TEST_CASE(every_hostile_name_downloads, bdata::make(kModes), mode) {
    DownloadStack t(mode_config(mode));
    const std::vector<std::string> names = {
        "100% sure?.txt",       "#hash &amp; more.txt", "quote\"d's.txt", "line\nbreak.txt",
        "\xF0\x9F\x93\x84.txt", "caf\xE9.bin",          "..dots..txt"};
    for (const std::string& n : names)
        t.file(n, "bytes of " + n);
    for (const Json& item : t.json("/wf/files").items) {
        const HttpResponse r = t.get(DownloadStack::target(item.at("downloadLink").text));
        BOOST_TEST(r.status == 200, item.at("title").text << ": " << r.body);
        BOOST_TEST(r.body.starts_with("bytes of "), item.at("title").text);
    }
}

struct BadLink {
    std::string name;
    int status;
    std::string error;
};

std::ostream& operator<<(std::ostream& os, const BadLink& c) {
    return os << c.name;
}

const BadLink kBadLinks[] = {
    {"expired", 403, "this link has expired; open the document again from Workfront"},
    {"tampered signature", 403, "invalid link"},
    {"another item's signature", 403, "invalid link"},
    {"another endpoint's signature", 403, "invalid link"},
    {"signed with another secret", 403, "invalid link"},
    {"a later expiry than signed", 403, "invalid link"},
    {"no signature", 403, "missing apiKey header"},
    {"expires not a number", 403, "invalid link"},
};

BOOST_DATA_TEST_CASE(bad_links_are_refused, bdata::make(kBadLinks), c) {
    static DownloadStack t;
    static const std::pair<std::string, std::string> ids = [] {
        t.file("a.txt", "a");
        t.file("b.txt", "b");
        return std::pair{t.item("a.txt").at("id").text, t.item("b.txt").at("id").text};
    }();
    const std::string secret = t.s.wfhookd.link_secret();
    const std::int64_t later = std::time(nullptr) + 600;
    const auto& [a, b] = ids;
    // The good link works, so the refusals below are about what each changes.
    BOOST_TEST_REQUIRE(
        t.get(link_target("download", a, later, link_signature(secret, "download", a, later)))
            .status == 200);
    std::string target;
    if (c.name == "expired") {
        const std::int64_t past = std::time(nullptr) - 5;
        target = link_target("download", a, past, link_signature(secret, "download", a, past));
    } else if (c.name == "tampered signature") {
        std::string sig = link_signature(secret, "download", a, later);
        sig[5] = sig[5] == 'A' ? 'B' : 'A';
        target = link_target("download", a, later, sig);
    } else if (c.name == "another item's signature") {
        target = link_target("download", a, later, link_signature(secret, "download", b, later));
    } else if (c.name == "another endpoint's signature") {
        target = link_target("download", a, later, link_signature(secret, "view", a, later));
    } else if (c.name == "signed with another secret") {
        target =
            link_target("download", a, later, link_signature(secret + "x", "download", a, later));
    } else if (c.name == "a later expiry than signed") {
        target =
            link_target("download", a, later + 86400, link_signature(secret, "download", a, later));
    } else if (c.name == "no signature") {
        target = "/wf/download?id=" + a + "&expires=" + std::to_string(later);
    } else {
        target = "/wf/download?id=" + a +
                 "&expires=soon&sig=" + link_signature(secret, "download", a, later);
    }
    const HttpResponse r = t.get(target);
    BOOST_TEST(r.status == c.status);
    BOOST_TEST(r.body == R"({"status":"error","error":")" + c.error + R"("})");
}

// A 1 GiB file (sparse: it costs no disk). Served by nginx, no worker is held while it
// transfers: a slow client leaves the only worker free. Streamed, the worker reads it in
// bounded chunks: its memory stays under 16 MiB.
BOOST_AUTO_TEST_CASE(a_gigabyte_never_holds_a_worker_through_nginx) {
    DownloadStack t("");
    t.s.wfhookd.write_config([] {
        WfhookdOptions o;
        o.store = true;
        o.server = "workers = 1\n";
        return o;
    }());
    t.s.wfhookd.process().signal(SIGHUP);
    BOOST_TEST_REQUIRE(t.s.wfhookd.wait_log("reload complete"));
    const std::string big = t.s.wfhookd.store_root() + "/big.bin";
    BOOST_TEST_REQUIRE(truncate((t.s.dir.write("store/big.bin", ""), big).c_str(), 1ll << 30) == 0);
    const std::string url = DownloadStack::target(t.item("big.bin").at("downloadLink").text);
    Process slow({"/usr/bin/curl", "-s", "-o", "/dev/null", "--limit-rate", "20M", "-w",
                  "%{http_code} %{size_download}",
                  "http://127.0.0.1:" + std::to_string(t.s.nginx.http_port()) + url},
                 t.s.dir.file("curl.out"));
    // While it transfers (a minute at 20 MB/s), the one worker answers at once.
    BOOST_TEST(wait_until([&] { return t.s.get("/wf/serviceInfo").status == 200; }, 5s));
    BOOST_TEST(t.s.get("/wf/serviceInfo").status == 200);
    BOOST_TEST(slow.running());
    slow.stop(SIGTERM);
    const pid_t worker = t.s.wfhookd.workers().at(0);
    BOOST_TEST(rss_kib(worker) < memory_bound_kib(16 * 1024));
}

BOOST_AUTO_TEST_CASE(a_gigabyte_streamed_by_the_worker_in_bounded_memory) {
    DownloadStack t("accel_redirect =\n");
    const std::string big = t.s.wfhookd.store_root() + "/big.bin";
    t.s.dir.write("store/big.bin", "");
    BOOST_TEST_REQUIRE(truncate(big.c_str(), 1ll << 30) == 0);
    const std::string url = DownloadStack::target(t.item("big.bin").at("downloadLink").text);
    std::atomic<bool> done{false};
    std::atomic<long> most{0};
    std::thread sampler([&] {
        while (!done) {
            for (const pid_t w : t.s.wfhookd.workers())
                most = std::max(most.load(), rss_kib(w));
            usleep(5000);
        }
    });
    Process curl({"/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                  "http://127.0.0.1:" + std::to_string(t.s.nginx.http_port()) + url},
                 t.s.dir.file("curl.out"));
    const int status = curl.wait(120s);
    done = true;
    sampler.join();
    BOOST_TEST(status == 0);
    BOOST_TEST(read_file(t.s.dir.file("curl.out")) == "200 1073741824");
    BOOST_TEST(most.load() > 0);
    BOOST_TEST(most.load() < memory_bound_kib(16 * 1024), "worker RSS " << most.load() << " KiB");
}

BOOST_AUTO_TEST_SUITE_END()
