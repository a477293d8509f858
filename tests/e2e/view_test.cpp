// /view, the page Workfront's "Open" sends a browser to (viewLink), checked in a real
// browser: headless Chromium (Debian's chromium) loads it through nginx; the test reads the
// DOM it dumps, which requests the page made (nginx's access log), and that a screenshot was
// produced.
#include "support/chromium.hpp"
#include "support/json_check.hpp"
#include "support/process.hpp"
#include "support/stack.hpp"

#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

using namespace wftest;

namespace {

// A 2x1 PNG and a 1x1 JPEG, small enough to spell out.
const unsigned char kPng[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x7b, 0x40, 0xe8,
    0xdd, 0x00, 0x00, 0x00, 0x0f, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x08, 0x00, 0x00, 0x00, 0xff, 0xff, 0x03, 0x00, 0x1a, 0xfc, 0x04, 0xfd, 0x72, 0x6e, 0x4a,
    0x19, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};

const char kPdf[] = "%PDF-1.4\n"
                    "1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
                    "2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
                    "3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
                    "trailer<</Root 1 0 R>>\n%%EOF\n";

struct ViewStack {
    ViewStack()
        : s([] {
              WfhookdOptions o;
              o.store = true;
              return o;
          }()) {}
    Stack s;
    Json item(const std::string& title, const std::string& parent = "/") {
        for (const Json& i :
             parse_json(s.get("/wf/files?max=1000&parentId=" + url_encode(parent), s.auth()).body)
                 .items)
            if (i.at("title").text == title) return i;
        throw std::runtime_error("no item " + title);
    }
    // Links are built on the Host the caller used: ask as a browser on 127.0.0.1 would.
    std::string browser_url(const std::string& link) const {
        const auto slash = link.find('/', link.find("://") + 3);
        return "http://127.0.0.1:" + std::to_string(s.nginx.http_port()) + link.substr(slash);
    }
    std::string access_log() const { return read_file(s.dir.file("nginx/access.log")); }
};

} // namespace

BOOST_AUTO_TEST_SUITE(view)

BOOST_AUTO_TEST_CASE(a_file_page_shows_the_image_and_a_download_button) {
    ViewStack t;
    t.s.dir.write("store/photo <1> & \"2\".png",
                  std::string(reinterpret_cast<const char*>(kPng), sizeof kPng), 0644);
    const Json photo = t.item("photo <1> & \"2\".png");
    const std::string url = t.browser_url(photo.at("viewLink").text);

    const HttpResponse page = t.s.get(url.substr(url.find("/wf/")));
    BOOST_TEST(page.status == 200);
    BOOST_TEST(page.header("content-type") == "text/html; charset=utf-8");
    BOOST_TEST(page.header("content-security-policy") ==
               "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-src 'self'; "
               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    BOOST_TEST(page.header("referrer-policy") == "no-referrer");
    BOOST_TEST(page.body.find("photo &lt;1&gt; &amp; &quot;2&quot;.png") != std::string::npos);
    BOOST_TEST(page.body.find("<1>") == std::string::npos);

    Browser browser(t.s.dir);
    const std::string dom = browser.dump_dom(url);
    BOOST_TEST(
        dom.find("<h1 id=\"name\">photo &lt;1&gt; &amp; \"2\".png</h1>") != std::string::npos, dom);
    BOOST_TEST(dom.find("id=\"preview\"") != std::string::npos);
    BOOST_TEST(dom.find("id=\"download\"") != std::string::npos);
    BOOST_TEST(dom.find("<script") == std::string::npos);
    // The browser fetched the image itself through its signed link, allowed by the CSP.
    BOOST_TEST(wait_until(
        [&] { return t.access_log().find("content=1 HTTP/1.1\" 200") != std::string::npos; }));
    BOOST_TEST(browser.screenshot(url));
}

BOOST_AUTO_TEST_CASE(a_pdf_is_shown_in_a_frame) {
    ViewStack t;
    t.s.dir.write("store/report.pdf", kPdf, 0644);
    const std::string url = t.browser_url(t.item("report.pdf").at("viewLink").text);
    Browser browser(t.s.dir);
    const std::string dom = browser.dump_dom(url);
    BOOST_TEST(dom.find("<iframe class=\"preview\" id=\"preview\"") != std::string::npos, dom);
    BOOST_TEST(wait_until(
        [&] { return t.access_log().find("content=1 HTTP/1.1\" 200") != std::string::npos; }));
}

BOOST_AUTO_TEST_CASE(a_folder_page_lists_its_items_with_signed_links) {
    ViewStack t;
    t.s.dir.write("store/docs/<script>alert(1)<\\script>.txt", "x", 0644);
    t.s.dir.write("store/docs/plain.txt", "y", 0644);
    t.s.dir.write("store/docs/sub/deep.txt", "z", 0644);
    const std::string url = t.browser_url(t.item("docs").at("viewLink").text);
    Browser browser(t.s.dir);
    const std::string dom = browser.dump_dom(url);
    BOOST_TEST(dom.find("&lt;script&gt;alert(1)&lt;\\script&gt;.txt") != std::string::npos, dom);
    BOOST_TEST(dom.find("<script") == std::string::npos);
    BOOST_TEST(dom.find(">sub/</a>") != std::string::npos);
    BOOST_TEST(dom.find(">plain.txt</a>") != std::string::npos);
    // Following a link from the page: it is signed, it opens without Workfront's headers.
    const auto href = dom.find("href=\"", dom.find("class=\"file\""));
    BOOST_TEST_REQUIRE(href != std::string::npos);
    std::string next = dom.substr(href + 6, dom.find('"', href + 6) - href - 6);
    for (std::size_t p; (p = next.find("&amp;")) != std::string::npos;)
        next.replace(p, 5, "&");
    const HttpResponse file_page = t.s.get(next.substr(next.find("/wf/")));
    BOOST_TEST(file_page.status == 200);
    BOOST_TEST(file_page.body.find("id=\"download\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_page_without_a_valid_link_is_refused) {
    ViewStack t;
    t.s.dir.write("store/a.txt", "x", 0644);
    const std::string link = t.item("a.txt").at("viewLink").text;
    std::string target = link.substr(link.find("/wf/"));
    target[target.size() - 3] = target[target.size() - 3] == 'A' ? 'B' : 'A';
    const HttpResponse r = t.s.get(target);
    BOOST_TEST(r.status == 403);
    BOOST_TEST(r.body == R"({"status":"error","error":"invalid link"})");
    // The file itself inline: only images and PDFs.
    const HttpResponse text = t.s.get(link.substr(link.find("/wf/")) + "&content=1");
    BOOST_TEST(text.status == 404);
}

BOOST_AUTO_TEST_SUITE_END()
