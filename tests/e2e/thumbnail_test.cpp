// /thumbnail through a real nginx (spec §6.5, §8 test 8, §12 item 11): pictures of uploaded
// JPEGs and PNGs no wider than asked, in the format their transparency needs; a JSON 404 for
// what is no picture; signed links a browser opens without apiKey; the cache answering the
// second time, and a new upload getting a new thumbnail.
#include "e2e/store_writes.hpp"

#include <boost/test/unit_test.hpp>

#include <vips/vips.h>

using namespace wftest;
using namespace wftest::writes;

namespace {

// libvips in the test process, to make the pictures and to read the answers back.
void start_vips() {
    static const bool started = [] {
        if (VIPS_INIT("e2e_tests") != 0) throw std::runtime_error("VIPS_INIT failed");
        return true;
    }();
    (void)started;
}

struct Unref {
    void operator()(gpointer p) const { g_object_unref(p); }
};
using Image = std::unique_ptr<VipsImage, Unref>;

Image take(VipsImage* p) {
    if (p == nullptr) throw std::runtime_error(vips_error_buffer());
    return Image(p);
}

// A w x h colour gradient, encoded as JPEG or PNG; `alpha`: with its left half transparent.
std::string make_image(int w, int h, bool png, bool alpha) {
    start_vips();
    VipsImage *xy = nullptr, *x = nullptr, *y = nullptr, *r = nullptr, *g = nullptr, *b = nullptr,
              *a = nullptr, *joined = nullptr, *pixels = nullptr;
    vips_xyz(&xy, w, h, nullptr);
    const Image xy_(take(xy));
    vips_extract_band(xy, &x, 0, nullptr);
    const Image x_(take(x));
    vips_extract_band(xy, &y, 1, nullptr);
    const Image y_(take(y));
    vips_linear1(x, &r, 255.0 / w, 0, nullptr);
    const Image r_(take(r));
    vips_linear1(y, &g, 255.0 / h, 0, nullptr);
    const Image g_(take(g));
    vips_linear1(x, &b, 0, 90, nullptr);
    const Image b_(take(b));
    vips_more_const1(x, &a, w / 2.0, nullptr); // 255 right of the middle, 0 left of it
    const Image a_(take(a));
    VipsImage* bands[] = {r, g, b, a};
    vips_bandjoin(bands, &joined, alpha ? 4 : 3, nullptr);
    const Image joined_(take(joined));
    vips_cast_uchar(joined, &pixels, nullptr);
    const Image pixels_(take(pixels));
    void* data = nullptr;
    std::size_t length = 0;
    const int rc = png ? vips_pngsave_buffer(pixels, &data, &length, nullptr)
                       : vips_jpegsave_buffer(pixels, &data, &length, "Q", 85, nullptr);
    if (rc != 0) throw std::runtime_error(vips_error_buffer());
    std::string out(static_cast<const char*>(data), length);
    g_free(data);
    return out;
}

// The width and height of an encoded picture ("0x0" when it is none).
std::string dimensions(const std::string& encoded) {
    start_vips();
    VipsImage* p = vips_image_new_from_buffer(encoded.data(), encoded.size(), "", nullptr);
    if (p == nullptr) {
        vips_error_clear();
        return "0x0";
    }
    const Image image(p);
    return std::to_string(vips_image_get_width(p)) + "x" + std::to_string(vips_image_get_height(p));
}

std::string uploaded(const WriteStack& t, const std::string& name, const std::string& bytes) {
    const std::string id = t.upload_init("/", name).at("id").text;
    const HttpResponse r = t.upload_bytes(id, bytes);
    if (r.status != 200) throw std::runtime_error("upload of " + name + ": " + r.body);
    return id;
}

// The cache's files for an item's thumbnails.
std::vector<std::string> cached(const WriteStack& t, const std::string& id) {
    std::vector<std::string> out;
    for (const std::string& n : WriteStack::names_in(t.dir.file("wfhookd.thumbnails")))
        if (n.starts_with(id + "-")) out.push_back(n);
    return out;
}

const std::string kNoThumbnail =
    R"({"status":"error","error":"no thumbnail for this kind of file"})";

} // namespace

BOOST_AUTO_TEST_SUITE(thumbnail)

BOOST_AUTO_TEST_CASE(pictures_no_wider_than_asked) {
    WriteStack t;
    const std::string photo = uploaded(t, "photo.jpg", make_image(800, 600, false, false));
    const std::string logo = uploaded(t, "logo.png", make_image(300, 600, true, true));
    const std::string chart = uploaded(t, "chart.png", make_image(640, 480, true, false));
    struct Case {
        std::string id, size, type, dimensions;
    };
    const Case cases[] = {
        {photo, "100", "image/jpeg", "100x75"},
        {photo, "", "image/jpeg", "200x150"},     // the default size, 200
        {photo, "1024", "image/jpeg", "800x600"}, // never enlarged
        {logo, "64", "image/png", "32x64"},       // transparent: PNG; fits 64 x 64
        {chart, "160", "image/jpeg", "160x120"},  // an opaque PNG: JPEG is smaller
    };
    for (const Case& c : cases) {
        BOOST_TEST_CONTEXT(c.id << " size " << c.size) {
            const HttpResponse r = t.call("GET", "/wf/thumbnail?id=" + c.id +
                                                     (c.size.empty() ? "" : "&size=" + c.size));
            BOOST_TEST(r.status == 200, r.body);
            BOOST_TEST(r.header("content-type") == c.type);
            BOOST_TEST(r.header("content-length") == std::to_string(r.body.size()));
            BOOST_TEST(dimensions(r.body) == c.dimensions);
        }
    }
}

BOOST_AUTO_TEST_CASE(what_is_no_picture_gets_a_json_404) {
    WriteStack t;
    const std::string text = uploaded(t, "notes.txt", "just words, no pixels\n");
    const std::string fake = uploaded(t, "fake.jpg", "\xFF\xD8\xFF\xE0 not really a JPEG");
    const std::string empty = t.upload_init("/", "empty.png").at("id").text;
    const std::string folder = t.create_folder("/", "Pictures").at("id").text;
    for (const std::string& id : {text, fake, empty, folder}) {
        const HttpResponse r = t.call("GET", "/wf/thumbnail?id=" + id + "&size=100");
        BOOST_TEST(r.status == 404, id);
        BOOST_TEST(r.header("content-type") == "application/json; charset=utf-8");
        BOOST_TEST(r.body == kNoThumbnail);
    }
    // The worker that tried is still there and makes real thumbnails.
    const std::string photo = uploaded(t, "photo.jpg", make_image(320, 240, false, false));
    BOOST_TEST(dimensions(t.call("GET", "/wf/thumbnail?id=" + photo + "&size=32").body) == "32x24");
}

BOOST_AUTO_TEST_CASE(signed_links_and_the_cache) {
    WriteStack t;
    const std::string id = uploaded(t, "photo.jpg", make_image(800, 600, false, false));
    const std::int64_t expires = std::time(nullptr) + 600;
    const std::string link =
        signed_link(t.wfhookd.link_secret(), "thumbnail", id, expires) + "&size=120";
    const HttpResponse first = http_request("127.0.0.1", t.port(), "GET", link); // no apiKey
    BOOST_TEST_REQUIRE(first.status == 200, first.body);
    BOOST_TEST(first.header("content-type") == "image/jpeg");
    BOOST_TEST(dimensions(first.body) == "120x90");
    const std::vector<std::string> files = cached(t, id);
    BOOST_TEST_REQUIRE(files.size() == 1u);
    BOOST_TEST(files[0].starts_with(id + "-120-"), files[0]);
    BOOST_TEST(files[0].ends_with(".jpg"), files[0]);
    const std::string path = t.dir.file("wfhookd.thumbnails/" + files[0]);
    struct stat before {};
    BOOST_TEST_REQUIRE(stat(path.c_str(), &before) == 0);

    // Served from the cache: the same bytes, the cached file untouched.
    const HttpResponse second = http_request("127.0.0.1", t.port(), "GET", link);
    BOOST_TEST(second.status == 200);
    BOOST_TEST((second.body == first.body));
    BOOST_TEST((t.call("GET", "/wf/thumbnail?id=" + id + "&size=120").body == first.body));
    struct stat after {};
    BOOST_TEST_REQUIRE(stat(path.c_str(), &after) == 0);
    BOOST_TEST(after.st_ino == before.st_ino);
    BOOST_TEST(after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
    BOOST_TEST(after.st_mtim.tv_sec == before.st_mtim.tv_sec);
    BOOST_TEST(cached(t, id) == files, boost::test_tools::per_element());

    // Without a signature or apiKey, or signed for another endpoint: refused.
    const HttpResponse bare =
        http_request("127.0.0.1", t.port(), "GET", "/wf/thumbnail?id=" + id + "&size=120");
    BOOST_TEST(bare.status == 403);
    BOOST_TEST(bare.body == R"({"status":"error","error":"missing apiKey header"})");
    std::string other = signed_link(t.wfhookd.link_secret(), "download", id, expires);
    other.replace(other.find("/download?"), 10, "/thumbnail?");
    BOOST_TEST(http_request("127.0.0.1", t.port(), "GET", other).status == 403);

    // New content under the same id: a new thumbnail, never the old one.
    BOOST_TEST_REQUIRE(t.upload_bytes(id, make_image(400, 400, false, false)).status == 200);
    const HttpResponse renewed = http_request("127.0.0.1", t.port(), "GET", link);
    BOOST_TEST(renewed.status == 200);
    BOOST_TEST(dimensions(renewed.body) == "120x120");
    BOOST_TEST(cached(t, id).size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
