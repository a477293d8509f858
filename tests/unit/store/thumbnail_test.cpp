#include "store/thumbnail.hpp"

#include "support/capture_stderr.hpp"
#include "support/fds.hpp"
#include "support/temp_dir.hpp"
#include "util/clock.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <gio/gio.h>
#include <vips/vips.h>
// After vips.h, which it needs but does not include.
#include <vips/vector.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <dirent.h>
#include <fcntl.h>
#include <functional>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace bdata = boost::unit_test::data;
using namespace wfhookd;

namespace {

// ---- Fixtures, made at run time --------------------------------------------------------------

struct Unref {
    void operator()(gpointer object) const { g_object_unref(object); }
};
template <typename T>
using Object = std::unique_ptr<T, Unref>;

// libvips for making fixtures and reading thumbnails back. Started by the test itself: a
// Thumbnailer's started() says whether *it* started libvips, which these calls do not touch.
void vips_up() {
    static const bool ok = VIPS_INIT("unit_tests") == 0;
    BOOST_TEST_REQUIRE(ok);
}

// Runs a libvips call that makes an image into its `out` argument, failing the test when it
// fails, and owns the image.
template <typename Call>
Object<VipsImage> made(Call call) {
    VipsImage* out = nullptr;
    const int status = call(&out);
    BOOST_TEST_REQUIRE(status == 0, vips_error_buffer());
    return Object<VipsImage>(out);
}

enum class Alpha { none, opaque, half };

// A gradient picture: red across, green down; with an alpha channel that is opaque, or
// transparent on the right half.
Object<VipsImage> picture(int width, int height, Alpha alpha = Alpha::none) {
    vips_up();
    using Out = VipsImage**;
    const auto xy = made([&](Out o) { return vips_xyz(o, width, height, nullptr); });
    const auto x = made([&](Out o) { return vips_extract_band(xy.get(), o, 0, nullptr); });
    const auto y = made([&](Out o) { return vips_extract_band(xy.get(), o, 1, nullptr); });
    const auto red =
        made([&](Out o) { return vips_linear1(x.get(), o, 255.0 / width, 0, nullptr); });
    const auto green =
        made([&](Out o) { return vips_linear1(y.get(), o, 255.0 / height, 0, nullptr); });
    std::array<VipsImage*, 2> rg = {red.get(), green.get()};
    const auto both = made([&](Out o) { return vips_bandjoin(rg.data(), o, 2, nullptr); });
    const auto rgb = made([&](Out o) { return vips_bandjoin_const1(both.get(), o, 128, nullptr); });
    const auto cast = made([&](Out o) { return vips_cast_uchar(rgb.get(), o, nullptr); });
    auto image = made([&](Out o) {
        return vips_copy(cast.get(), o, "interpretation", VIPS_INTERPRETATION_sRGB, nullptr);
    });
    if (alpha == Alpha::opaque)
        return made([&](Out o) { return vips_bandjoin_const1(image.get(), o, 255, nullptr); });
    if (alpha == Alpha::half) {
        const auto left = made([&](Out o) {
            return vips_relational_const1(x.get(), o, VIPS_OPERATION_RELATIONAL_LESS, width / 2.0,
                                          nullptr);
        });
        return made([&](Out o) { return vips_bandjoin2(image.get(), left.get(), o, nullptr); });
    }
    return image;
}

// Saves `image` in the format its name's extension says.
std::string save(const wftest::TempDir& dir, const std::string& name, VipsImage* image) {
    const std::string path = dir.file(name);
    BOOST_TEST_REQUIRE(vips_image_write_to_file(image, path.c_str(), nullptr) == 0,
                       vips_error_buffer());
    return path;
}

// A PDF with one page per entry of `pages` (width and height in points), each filled with a
// blue rectangle on white. libvips cannot write PDF; the format is simple enough to write.
std::string pdf(const std::vector<std::pair<int, int>>& pages) {
    std::vector<std::string> objects = {"<< /Type /Catalog /Pages 2 0 R >>"};
    std::string kids;
    for (std::size_t i = 0; i < pages.size(); ++i)
        kids += std::to_string(3 + 2 * i) + " 0 R ";
    objects.push_back("<< /Type /Pages /Kids [" + kids + "] /Count " +
                      std::to_string(pages.size()) + " >>");
    for (std::size_t i = 0; i < pages.size(); ++i) {
        const auto [w, h] = pages[i];
        objects.push_back("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 " + std::to_string(w) + " " +
                          std::to_string(h) + "] /Contents " + std::to_string(4 + 2 * i) +
                          " 0 R /Resources << >> >>");
        const std::string content =
            "0 0 1 rg 10 10 " + std::to_string(w - 20) + " " + std::to_string(h - 20) + " re f\n";
        objects.push_back("<< /Length " + std::to_string(content.size()) + " >>\nstream\n" +
                          content + "endstream");
    }
    std::string out = "%PDF-1.4\n";
    std::vector<std::size_t> offsets;
    for (std::size_t i = 0; i < objects.size(); ++i) {
        offsets.push_back(out.size());
        out += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
    }
    const std::size_t xref = out.size();
    out += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
    for (const std::size_t offset : offsets) {
        const std::string digits = std::to_string(offset);
        out += std::string(10 - digits.size(), '0') + digits + " 00000 n \n";
    }
    out += "trailer\n<< /Size " + std::to_string(objects.size() + 1) +
           " /Root 1 0 R >>\nstartxref\n" + std::to_string(xref) + "\n%%EOF\n";
    return out;
}

std::uint32_t crc32(std::string_view bytes) {
    std::uint32_t crc = 0xFFFFFFFFu;
    for (const char c : bytes) {
        crc ^= static_cast<unsigned char>(c);
        for (int k = 0; k < 8; ++k)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

std::string be32(std::uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
            static_cast<char>(v)};
}

std::string png_chunk(std::string_view type, std::string_view data) {
    const std::string body = std::string(type) + std::string(data);
    return be32(static_cast<std::uint32_t>(data.size())) + body + be32(crc32(body));
}

// A valid, all-black PNG (`colour` is the PNG colour type: 0 grey, 2 RGB, 6 RGBA): a few
// hundred kilobytes on disk for hundreds of megabytes of pixels (a decompression bomb when
// large). Written directly, because having libvips encode that many pixels takes seconds.
std::string black_png(std::uint32_t width, std::uint32_t height, int depth, int colour,
                      bool interlaced = false) {
    const int channels = colour == 2 ? 3 : colour == 6 ? 4 : 1;
    const std::uint64_t bits = std::uint64_t(depth) * channels;
    GZlibCompressor* zlib = g_zlib_compressor_new(G_ZLIB_COMPRESSOR_FORMAT_ZLIB, 9);
    GOutputStream* memory = g_memory_output_stream_new_resizable();
    GOutputStream* stream = g_converter_output_stream_new(memory, G_CONVERTER(zlib));
    // The passes of Adam7 interlacing, or the whole image: x0, y0, dx, dy.
    static constexpr std::uint32_t kAdam7[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8},
                                                   {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2},
                                                   {0, 1, 1, 2}};
    static constexpr std::uint32_t kWhole[1][4] = {{0, 0, 1, 1}};
    bool ok = true;
    using Passes = std::span<const std::uint32_t[4]>;
    for (const auto& pass : interlaced ? Passes(kAdam7) : Passes(kWhole)) {
        const std::uint32_t w = width > pass[0] ? (width - pass[0] + pass[2] - 1) / pass[2] : 0;
        const std::uint32_t h = height > pass[1] ? (height - pass[1] + pass[3] - 1) / pass[3] : 0;
        if (w == 0) continue;
        const std::string row(1 + (w * bits + 7) / 8, '\0'); // filter type 0, then the pixels
        for (std::uint32_t y = 0; y < h && ok; ++y)
            ok = g_output_stream_write_all(stream, row.data(), row.size(), nullptr, nullptr,
                                           nullptr);
    }
    ok = ok && g_output_stream_close(stream, nullptr, nullptr);
    const auto* data =
        static_cast<const char*>(g_memory_output_stream_get_data(G_MEMORY_OUTPUT_STREAM(memory)));
    const std::string idat(data,
                           g_memory_output_stream_get_data_size(G_MEMORY_OUTPUT_STREAM(memory)));
    g_object_unref(stream);
    g_object_unref(memory);
    g_object_unref(zlib);
    BOOST_TEST_REQUIRE(ok);
    // Deflate, filter method 0, then the interlace method.
    const std::string ihdr = be32(width) + be32(height) + char(depth) + char(colour) +
                             std::string(2, '\0') + char(interlaced ? 1 : 0);
    return std::string("\x89PNG\r\n\x1a\n", 8) + png_chunk("IHDR", ihdr) + png_chunk("IDAT", idat) +
           png_chunk("IEND", "");
}

// A 96x64 HEIC of picture(96, 64), 441 bytes, made with libvips' heifsave. Embedded because
// x265, the only HEVC encoder here, leaks an allocation that LeakSanitizer reports (`make
// test SANITIZE=address,undefined`); the daemon only decodes HEVC (libde265).
constexpr const char* kHeic =
    "AAAAHGZ0eXBoZWljAAAAAG1pZjFoZWljbWlhZgAAAUJtZXRhAAAAAAAAACFoZGxyAAAAAAAAAABwaWN0AAAAAAAA"
    "AAAAAAAAAAAAAA5waXRtAAAAAAABAAAAImlsb2MAAAAAREAAAQABAAAAAAFmAAEAAAAAAAAAUwAAACNpaW5mAAAA"
    "AAABAAAAFWluZmUCAAAAAAEAAGh2YzEAAAAAwmlwcnAAAACkaXBjbwAAAHhodmNDAQNwAAAAAAAAAAAAHvAA/P34"
    "+AAADwMgAAEAGEABDAH//wNwAAADAJAAAAMAAAMAHroCQCEAAQArQgEBA3AAAAMAkAAAAwAAAwAeoDCBBZbqSSmu"
    "bgQEDAgAAAMACAAAAwAIQCIAAQAHRAHBcrAiQAAAABRpc3BlAAAAAAAAAGAAAABAAAAAEHBpeGkAAAAAAwgICAAA"
    "ABZpcG1hAAAAAAAAAAEAAQOBAoMAAABbbWRhdAAAAE8oAa8ZgPeA+grwKzvxxJGIXiaLqzft0otBDXi5dxO2pW1f"
    "kmfUykT0uaDnuzwTEu0OK6FjzQKox5f8B2okPGsqXUjFyApw1e6BU6iaoUE2";

std::string heic() {
    gsize size = 0;
    guchar* bytes = g_base64_decode(kHeic, &size);
    std::string out(reinterpret_cast<const char*>(bytes), size);
    g_free(bytes);
    return out;
}

// Fixtures shared by the tests, made once per run.
const wftest::TempDir& shared_dir() {
    static const wftest::TempDir dir;
    return dir;
}

const std::string& large_jpeg() {
    static const std::string path = save(shared_dir(), "large.jpg", picture(6000, 4000).get());
    return path;
}

std::string jpeg_bytes() {
    static const std::string bytes =
        wftest::read_file(save(shared_dir(), "plain.jpg", picture(300, 200).get()));
    return bytes;
}

// ---- Running the Thumbnailer ----------------------------------------------------------------

struct Document {
    Fd fd;
    struct stat st {};
};

Document open_document(const std::string& path) {
    Document d;
    d.fd.reset(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    BOOST_TEST_REQUIRE(d.fd.get() >= 0, path);
    BOOST_TEST_REQUIRE(fstat(d.fd.get(), &d.st) == 0);
    return d;
}

std::int64_t in_a_minute() {
    return monotonic_ns() + 60'000'000'000;
}

// A store configuration whose thumbnail cache is a folder (with a missing parent) of a
// temporary directory.
struct Cache {
    wftest::TempDir dir;
    StoreConfig config;
    Cache() { config.thumbnail_cache = dir.file("cache/thumbnails"); }

    // The cache folder's entries, sorted; empty when it does not exist.
    std::vector<std::string> entries() const {
        std::vector<std::string> names;
        if (DIR* d = opendir(config.thumbnail_cache.c_str())) {
            while (const dirent* e = readdir(d))
                if (std::string_view(e->d_name) != "." && std::string_view(e->d_name) != "..")
                    names.emplace_back(e->d_name);
            closedir(d);
        }
        std::sort(names.begin(), names.end());
        return names;
    }
    std::string path(const std::string& name) const { return config.thumbnail_cache + "/" + name; }
};

struct Result {
    ThumbnailResult result = ThumbnailResult::error;
    Thumbnail thumb;
    std::string detail;
};

Result make_thumbnail(Thumbnailer& t, const Document& doc, std::string_view id = "doc1",
                      unsigned size = 64, std::int64_t deadline_ns = in_a_minute()) {
    Result r;
    r.result = t.get(doc.fd.get(), doc.st, id, size, deadline_ns, r.thumb, r.detail);
    return r;
}

// What a thumbnail is, read back with libvips.
struct Seen {
    int width = 0, height = 0, bands = 0;
    VipsBandFormat format = VIPS_FORMAT_NOTSET;
    bool metadata = false; // EXIF or XMP
    double max = 0;        // the largest value of any band: 0 for an empty transparent image
    std::string loader;
};

Seen look(const Thumbnail& thumb) {
    vips_up();
    BOOST_TEST_REQUIRE(lseek(thumb.file.get(), 0, SEEK_SET) == 0);
    const Object<VipsSource> source(vips_source_new_from_descriptor(thumb.file.get()));
    BOOST_TEST_REQUIRE(source != nullptr);
    Seen seen;
    const char* loader = vips_foreign_find_load_source(source.get());
    BOOST_TEST_REQUIRE(loader != nullptr);
    seen.loader = loader;
    const Object<VipsImage> image(vips_image_new_from_source(source.get(), "", nullptr));
    BOOST_TEST_REQUIRE(image != nullptr);
    seen.width = image->Xsize;
    seen.height = image->Ysize;
    seen.bands = image->Bands;
    seen.format = image->BandFmt;
    seen.metadata = vips_image_get_typeof(image.get(), VIPS_META_EXIF_NAME) != 0 ||
                    vips_image_get_typeof(image.get(), VIPS_META_XMP_NAME) != 0;
    // Decodes every pixel: a thumbnail that only has a valid header fails here.
    BOOST_TEST_REQUIRE(vips_max(image.get(), &seen.max, nullptr) == 0, vips_error_buffer());
    return seen;
}

std::string hex(std::uint64_t v) {
    std::string s;
    do {
        s.insert(s.begin(), "0123456789abcdef"[v % 16]);
        v /= 16;
    } while (v != 0);
    return s;
}

// The cache file name the implementation documents: id, size, mtime (ns) and size in hex.
std::string key(std::string_view id, unsigned size, const struct stat& st) {
    const std::uint64_t mtime_ns =
        std::uint64_t(st.st_mtim.tv_sec) * 1'000'000'000u + std::uint64_t(st.st_mtim.tv_nsec);
    return std::string(id) + "-" + std::to_string(size) + "-" + hex(mtime_ns) + "-" +
           hex(std::uint64_t(st.st_size));
}

// ---- Tables ---------------------------------------------------------------------------------

struct FormatCase {
    std::string name;
    std::function<std::string(const wftest::TempDir&)> make; // returns the document's path
    unsigned size;
    int width, height;
    std::string type;
    int bands;
};

std::ostream& operator<<(std::ostream& os, const FormatCase& c) {
    return os << c.name;
}

const std::string kSvgOpaque = R"(<svg xmlns="http://www.w3.org/2000/svg" width="400" height="200">
<rect width="400" height="200" fill="#3366cc"/></svg>)";
const std::string kSvgTransparent = R"(<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 200" width="400" height="200">
<circle cx="100" cy="100" r="80" fill="red"/></svg>)";

std::vector<FormatCase> format_cases() {
    using D = const wftest::TempDir&;
    return {
        {"large JPEG: shrunk on load, aspect kept", [](D) { return large_jpeg(); }, 256, 256, 171,
         "image/jpeg", 3},
        {"PNG with transparency stays PNG",
         [](D d) { return save(d, "a.png", picture(300, 200, Alpha::half).get()); }, 64, 64, 43,
         "image/png", 4},
        {"PNG whose alpha is opaque everywhere becomes JPEG",
         [](D d) { return save(d, "a.png", picture(300, 200, Alpha::opaque).get()); }, 64, 64, 43,
         "image/jpeg", 3},
        {"16-bit PNG with transparency becomes an 8-bit PNG",
         [](D d) {
             const auto rgba = picture(300, 200, Alpha::half);
             const auto deep =
                 made([&](VipsImage** o) { return vips_linear1(rgba.get(), o, 257, 0, nullptr); });
             const auto wide =
                 made([&](VipsImage** o) { return vips_cast_ushort(deep.get(), o, nullptr); });
             const auto rgb16 = made([&](VipsImage** o) {
                 return vips_copy(wide.get(), o, "interpretation", VIPS_INTERPRETATION_RGB16,
                                  nullptr);
             });
             return save(d, "a.png", rgb16.get());
         },
         64, 64, 43, "image/png", 4},
        {"interlaced PNG",
         [](D d) {
             const std::string path = d.file("a.png");
             BOOST_TEST_REQUIRE(vips_pngsave(picture(300, 200).get(), path.c_str(), "interlace",
                                             TRUE, nullptr) == 0);
             return path;
         },
         64, 64, 43, "image/jpeg", 3},
        {"GIF", [](D d) { return save(d, "a.gif", picture(120, 80).get()); }, 64, 64, 43,
         "image/jpeg", 3},
        {"WebP", [](D d) { return save(d, "a.webp", picture(300, 200).get()); }, 64, 64, 43,
         "image/jpeg", 3},
        {"TIFF", [](D d) { return save(d, "a.tif", picture(300, 200).get()); }, 64, 64, 43,
         "image/jpeg", 3},
        {"HEIC", [](D d) { return d.write("a.heic", heic()); }, 64, 64, 43, "image/jpeg", 3},
        {"AVIF",
         [](D d) {
             const std::string path = d.file("a.avif");
             BOOST_TEST_REQUIRE(vips_heifsave(picture(300, 200).get(), path.c_str(), "compression",
                                              VIPS_FOREIGN_HEIF_COMPRESSION_AV1, nullptr) == 0,
                                vips_error_buffer());
             return path;
         },
         64, 64, 43, "image/jpeg", 3},
        {"portrait", [](D d) { return save(d, "a.jpg", picture(200, 300).get()); }, 64, 43, 64,
         "image/jpeg", 3},
        {"EXIF orientation is applied, and EXIF not copied",
         [](D d) {
             auto image = picture(300, 200);
             vips_image_set_int(image.get(), VIPS_META_ORIENTATION, 6);
             const std::string xmp = "<x:xmpmeta xmlns:x='adobe:ns:meta/'/>";
             vips_image_set_blob_copy(image.get(), VIPS_META_XMP_NAME, xmp.data(), xmp.size());
             return save(d, "a.jpg", image.get());
         },
         64, 43, 64, "image/jpeg", 3},
        {"an image smaller than the size is not enlarged",
         [](D d) { return save(d, "a.png", picture(40, 30).get()); }, 256, 40, 30, "image/jpeg", 3},
        {"SVG", [](D d) { return d.write("a.svg", kSvgOpaque); }, 64, 64, 32, "image/jpeg", 3},
        {"SVG with transparency", [](D d) { return d.write("a.svg", kSvgTransparent); }, 64, 64, 32,
         "image/png", 4},
        {"PDF: its first page",
         [](D d) {
             return d.write("a.pdf", pdf({{200, 100}, {100, 200}}));
         },
         64, 64, 32, "image/jpeg", 3},
        {"named as anything: the content decides",
         [](D d) {
             return d.write("a.txt", wftest::read_file(save(d, "b.png", picture(30, 20).get())));
         },
         16, 16, 11, "image/jpeg", 3},
    };
}

struct UnsupportedCase {
    std::string name;
    std::function<std::string()> content;
    std::string detail; // a part of it
};

std::ostream& operator<<(std::ostream& os, const UnsupportedCase& c) {
    return os << c.name;
}

std::vector<UnsupportedCase> unsupported_cases() {
    return {
        {"truncated JPEG", [] { return jpeg_bytes().substr(0, jpeg_bytes().size() / 2); },
         "Premature end"},
        {"garbled JPEG",
         [] {
             std::string b = jpeg_bytes();
             for (std::size_t i = 4; i < b.size(); ++i)
                 b[i] = static_cast<char>((i * 7919) >> 3);
             return b;
         },
         ""},
        {"empty file", [] { return std::string(); }, "not an image format"},
        {"text", [] { return std::string("Quarterly report\nnothing to see\n"); },
         "not an image format"},
        {"zip container, as .docx is",
         [] {
             return std::string("PK\3\4\24\0\0\0\10\0", 10) + std::string(200, 'x') +
                    std::string("PK\5\6", 4) + std::string(18, '\0');
         },
         "not an image format"},
        {"text that libvips reads as a matrix", [] { return std::string("2 2\n0 255\n255 0\n"); },
         "no thumbnails for this format"},
        {"PPM, a format blocked for untrusted input",
         [] { return std::string("P6\n2 2\n255\n") + std::string(12, '\x7f'); },
         "no thumbnails for this format"},
        {"decompression bomb: 30000x30000 PNG", [] { return black_png(30000, 30000, 1, 0); },
         "over the limit"},
        {"interlaced PNG, decoded whole: 6000x6000 RGBA, 137 MiB",
         [] { return black_png(6000, 6000, 8, 6, true); }, "decoded whole"},
    };
}

} // namespace

BOOST_AUTO_TEST_SUITE(thumbnail)

BOOST_DATA_TEST_CASE(formats_make_thumbnails_within_the_size, bdata::make(format_cases()), c) {
    Cache cache;
    wftest::TempDir docs;
    const Document doc = open_document(c.make(docs));
    Thumbnailer t(cache.config);
    Result r = make_thumbnail(t, doc, "doc1", c.size);
    BOOST_TEST_REQUIRE((r.result == ThumbnailResult::ok), r.detail);
    BOOST_TEST(r.thumb.type == c.type);
    // Readable as it is handed over, from its first byte.
    std::string bytes(static_cast<std::size_t>(r.thumb.st.st_size) + 1, '\0');
    BOOST_TEST(read(r.thumb.file.get(), bytes.data(), bytes.size()) == r.thumb.st.st_size);
    BOOST_TEST(bytes.starts_with(c.type == "image/png" ? "\x89PNG" : "\xff\xd8\xff"));
    const Seen seen = look(r.thumb);
    BOOST_TEST(seen.width == c.width);
    BOOST_TEST(seen.height == c.height);
    BOOST_TEST(seen.bands == c.bands);
    BOOST_TEST(seen.format == VIPS_FORMAT_UCHAR);
    BOOST_TEST(!seen.metadata); // no camera details or locations from the original
    BOOST_TEST(seen.loader.starts_with(c.type == "image/png" ? "VipsForeignLoadPng"
                                                             : "VipsForeignLoadJpeg"));
    // Written to the cache under its key, nothing else left there, and `st` is that file's.
    const std::string name =
        key("doc1", c.size, doc.st) + (c.type == "image/png" ? ".png" : ".jpg");
    BOOST_TEST(cache.entries() == std::vector<std::string>{name});
    struct stat st {};
    BOOST_TEST_REQUIRE(stat(cache.path(name).c_str(), &st) == 0);
    BOOST_TEST(r.thumb.st.st_ino == st.st_ino);
    BOOST_TEST(r.thumb.st.st_size == st.st_size);
    BOOST_TEST(r.thumb.st.st_size > 0);
}

BOOST_DATA_TEST_CASE(what_cannot_be_thumbnailed_is_unsupported_and_never_cached,
                     bdata::make(unsupported_cases()), c) {
    Cache cache;
    wftest::TempDir docs;
    const Document doc = open_document(docs.write("document", c.content()));
    Thumbnailer t(cache.config);
    Result r;
    // libvips may warn about the file on its way to refusing it.
    wftest::capture_stderr([&] { r = make_thumbnail(t, doc); });
    BOOST_TEST((r.result == ThumbnailResult::unsupported));
    BOOST_TEST(r.detail.find(c.detail) != std::string::npos, r.detail);
    BOOST_TEST(!r.detail.empty());
    BOOST_TEST(!r.thumb.file);
    BOOST_TEST(cache.entries().empty());
}

BOOST_AUTO_TEST_CASE(svg_never_reads_other_files) {
    // librsvg reading from a stream has no base to resolve references against: an image
    // elsewhere on disk is left out of the drawing, and an external entity fails the parse.
    Cache cache;
    wftest::TempDir docs;
    const std::string secret = save(docs, "secret.png", picture(100, 100).get());
    const std::string image = R"(<svg xmlns="http://www.w3.org/2000/svg" )"
                              R"(xmlns:xlink="http://www.w3.org/1999/xlink" width="100" )"
                              R"(height="100"><image width="100" height="100" )";
    const std::pair<std::string, ThumbnailResult> svgs[] = {
        {image + R"(xlink:href="file://)" + secret + R"("/></svg>)", ThumbnailResult::ok},
        {image + R"(href=")" + secret + R"("/></svg>)", ThumbnailResult::ok},
        {image + R"(href="secret.png"/></svg>)", ThumbnailResult::ok},
        {R"(<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/hostname">]>)"
         R"(<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">)"
         R"(<text x="0" y="50">&x;</text></svg>)",
         ThumbnailResult::unsupported},
    };
    Thumbnailer t(cache.config);
    int n = 0;
    for (const auto& [svg, expected] : svgs) {
        const std::string id = "drawing" + std::to_string(++n);
        const Document doc = open_document(docs.write(id + ".svg", svg));
        Result r;
        wftest::capture_stderr([&] { r = make_thumbnail(t, doc, id); });
        BOOST_TEST_REQUIRE((r.result == expected), svg << ": " << r.detail);
        if (expected == ThumbnailResult::ok)
            BOOST_TEST(look(r.thumb).max == 0, svg); // nothing drawn
    }
}

BOOST_AUTO_TEST_CASE(decompression_bombs_are_small_on_disk) {
    // The bomb cases above mean something only if the files are cheap to send.
    BOOST_TEST(black_png(30000, 30000, 1, 0).size() < 1'000'000u);
    BOOST_TEST(black_png(6000, 6000, 8, 6, true).size() < 1'000'000u);
}

BOOST_AUTO_TEST_CASE(cache_hit_never_starts_libvips) {
    Cache cache;
    wftest::TempDir docs;
    const Document doc = open_document(save(docs, "a.jpg", picture(300, 200).get()));
    Thumbnailer first(cache.config);
    const Result made = make_thumbnail(first, doc);
    BOOST_TEST_REQUIRE((made.result == ThumbnailResult::ok), made.detail);
    BOOST_TEST(first.started());

    // A hit does not read the document at all: no descriptor is needed.
    Thumbnailer second(cache.config);
    Result hit;
    hit.result = second.get(-1, doc.st, "doc1", 64, in_a_minute(), hit.thumb, hit.detail);
    BOOST_TEST_REQUIRE((hit.result == ThumbnailResult::ok), hit.detail);
    BOOST_TEST(!second.started());
    BOOST_TEST(hit.thumb.type == "image/jpeg");
    BOOST_TEST(hit.thumb.st.st_ino == made.thumb.st.st_ino);
    BOOST_TEST(hit.thumb.st.st_size == made.thumb.st.st_size);
    BOOST_TEST(look(hit.thumb).width == 64);

    // Another size is another thumbnail.
    Result other;
    other.result = second.get(-1, doc.st, "doc1", 32, in_a_minute(), other.thumb, other.detail);
    BOOST_TEST((other.result != ThumbnailResult::ok));
}

BOOST_AUTO_TEST_CASE(cache_hit_for_a_transparent_thumbnail_is_png) {
    Cache cache;
    wftest::TempDir docs;
    const Document doc = open_document(save(docs, "a.png", picture(300, 200, Alpha::half).get()));
    Thumbnailer first(cache.config);
    BOOST_TEST_REQUIRE((make_thumbnail(first, doc).result == ThumbnailResult::ok));
    Thumbnailer second(cache.config);
    const Result hit = make_thumbnail(second, doc);
    BOOST_TEST_REQUIRE((hit.result == ThumbnailResult::ok), hit.detail);
    BOOST_TEST(!second.started());
    BOOST_TEST(hit.thumb.type == "image/png");
}

BOOST_AUTO_TEST_CASE(cache_key_changes_with_the_documents_mtime_and_size) {
    Cache cache;
    wftest::TempDir docs;
    const std::string path = save(docs, "a.jpg", picture(300, 200).get());
    auto make = [&] {
        const Document doc = open_document(path);
        Thumbnailer t(cache.config);
        const Result r = make_thumbnail(t, doc);
        BOOST_TEST_REQUIRE((r.result == ThumbnailResult::ok), r.detail);
        return t.started(); // a miss
    };
    BOOST_TEST(make());
    BOOST_TEST(!make());
    BOOST_TEST(cache.entries().size() == 1u);

    // Same size, another modification time.
    const timespec times[2] = {{0, UTIME_OMIT}, {1'600'000'000, 123}};
    BOOST_TEST_REQUIRE(utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
    BOOST_TEST(make());
    BOOST_TEST(cache.entries().size() == 2u);

    // Same modification time, another size (bytes after a JPEG's end are ignored by readers).
    {
        const Fd fd(open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
        BOOST_TEST_REQUIRE(write_all(fd.get(), "trailing"));
    }
    BOOST_TEST_REQUIRE(utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
    BOOST_TEST(make());
    BOOST_TEST(cache.entries().size() == 3u);
    BOOST_TEST(!make());
}

BOOST_AUTO_TEST_CASE(cache_folder_is_created_with_its_parents) {
    Cache cache;
    wftest::TempDir docs;
    const Document doc = open_document(save(docs, "a.jpg", picture(300, 200).get()));
    BOOST_TEST_REQUIRE(!wftest::file_exists(cache.dir.file("cache")));
    Thumbnailer t(cache.config);
    const Result r = make_thumbnail(t, doc);
    BOOST_TEST_REQUIRE((r.result == ThumbnailResult::ok), r.detail);
    const mode_t mask = umask(0);
    umask(mask);
    for (const std::string& dir : {cache.dir.file("cache"), cache.config.thumbnail_cache}) {
        struct stat st {};
        BOOST_TEST_REQUIRE(lstat(dir.c_str(), &st) == 0);
        BOOST_TEST(S_ISDIR(st.st_mode));
        BOOST_TEST((st.st_mode & 07777) == (0750 & ~mask), dir);
    }
}

BOOST_AUTO_TEST_CASE(cache_folder_that_cannot_be_made_is_an_error_and_logged) {
    Cache cache;
    wftest::TempDir docs;
    const Document doc = open_document(save(docs, "a.jpg", picture(300, 200).get()));
    cache.dir.write("cache", "a file where the cache folder's parent should be");
    Thumbnailer t(cache.config);
    Result r;
    const std::string log = wftest::capture_stderr([&] { r = make_thumbnail(t, doc); });
    BOOST_TEST((r.result == ThumbnailResult::error));
    BOOST_TEST(!r.thumb.file);
    BOOST_TEST(r.detail.find("cannot create " + cache.config.thumbnail_cache) != std::string::npos,
               r.detail);
    BOOST_TEST(log.find("error: thumbnail cache: " + r.detail) != std::string::npos, log);
}

BOOST_AUTO_TEST_CASE(cache_file_that_cannot_be_written_is_an_error_and_logged) {
    // A folder that opens but where nothing can be created, whoever we are.
    Cache cache;
    cache.config.thumbnail_cache = "/proc";
    wftest::TempDir docs;
    const Document doc = open_document(save(docs, "a.jpg", picture(300, 200).get()));
    Thumbnailer t(cache.config);
    Result r;
    const std::string log = wftest::capture_stderr([&] { r = make_thumbnail(t, doc); });
    BOOST_TEST((r.result == ThumbnailResult::error));
    BOOST_TEST(!r.thumb.file);
    BOOST_TEST(r.detail.starts_with("cannot create /proc/.doc1-64-"), r.detail);
    BOOST_TEST(log.find("error: thumbnail cache: " + r.detail) != std::string::npos, log);
}

struct InTheWayCase {
    std::string name;
    std::function<void(const std::string& path, const std::string& outside)> make;
    mode_t type;
};

std::ostream& operator<<(std::ostream& os, const InTheWayCase& c) {
    return os << c.name;
}

const InTheWayCase kInTheWay[] = {
    {"link to a file elsewhere",
     [](const std::string& path, const std::string& outside) {
         BOOST_TEST_REQUIRE(symlink(outside.c_str(), path.c_str()) == 0);
     },
     S_IFLNK},
    {"folder",
     [](const std::string& path, const std::string&) {
         BOOST_TEST_REQUIRE(mkdir(path.c_str(), 0750) == 0);
     },
     S_IFDIR},
    {"empty file",
     [](const std::string& path, const std::string&) {
         BOOST_TEST_REQUIRE(Fd(open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0640)).get() >=
                            0);
     },
     S_IFREG},
};

BOOST_DATA_TEST_CASE(what_is_in_the_way_of_a_cache_file_is_neither_used_nor_replaced,
                     bdata::make(kInTheWay), c) {
    // Nothing the cache could hand out as a thumbnail: one is made, answered from the file
    // just written, and what is in the way is left as it is.
    Cache cache;
    wftest::TempDir docs;
    const Document doc = open_document(save(docs, "a.jpg", picture(300, 200).get()));
    const std::string name = key("doc1", 64, doc.st) + ".jpg";
    const std::string outside = docs.write("outside", "not an image");
    BOOST_TEST_REQUIRE(mkdir(cache.dir.file("cache").c_str(), 0750) == 0);
    BOOST_TEST_REQUIRE(mkdir(cache.config.thumbnail_cache.c_str(), 0750) == 0);
    c.make(cache.path(name), outside);
    Thumbnailer t(cache.config);
    const Result r = make_thumbnail(t, doc);
    BOOST_TEST_REQUIRE((r.result == ThumbnailResult::ok), r.detail);
    BOOST_TEST(t.started());
    BOOST_TEST(look(r.thumb).width == 64);
    BOOST_TEST(wftest::read_file(outside) == "not an image");
    struct stat st {};
    BOOST_TEST_REQUIRE(lstat(cache.path(name).c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & S_IFMT) == c.type);
    BOOST_TEST(st.st_ino != r.thumb.st.st_ino);
    BOOST_TEST(cache.entries() == std::vector<std::string>{name}); // no temporary file left
}

BOOST_AUTO_TEST_CASE(libvips_is_set_up_for_a_worker_at_the_first_thumbnail) {
    Cache cache;
    wftest::TempDir docs;
    const Document doc = open_document(save(docs, "a.jpg", picture(300, 200).get()));
    Thumbnailer t(cache.config);
    BOOST_TEST(!t.started());
    BOOST_TEST_REQUIRE((make_thumbnail(t, doc).result == ThumbnailResult::ok));
    BOOST_TEST(t.started());
    BOOST_TEST(vips_concurrency_get() == 1);
    BOOST_TEST(vips_cache_get_max() == 0);
    BOOST_TEST(vips_cache_get_max_mem() == 0u);
    BOOST_TEST(vips_cache_get_max_files() == 0);
    BOOST_TEST(!vips_vector_isenabled());
    // Blocked in the whole process, not only on the Thumbnailer's path: loaders flagged
    // untrusted (PPM) and trusted ones not on the list (matrix).
    for (const std::string& data : {std::string("P6\n1 1\n255\nabc"), std::string("1 1\n0\n")}) {
        const Object<VipsSource> source(vips_source_new_from_memory(data.data(), data.size()));
        const Object<VipsImage> image(vips_image_new_from_source(source.get(), "", nullptr));
        BOOST_TEST(!image);
        BOOST_TEST(std::string(vips_error_buffer()).find("operation is blocked") !=
                       std::string::npos,
                   vips_error_buffer());
        vips_error_clear();
    }
}

BOOST_AUTO_TEST_CASE(deadline_already_passed_is_unsupported_without_starting_libvips) {
    Cache cache;
    wftest::TempDir docs;
    const Document doc = open_document(save(docs, "a.jpg", picture(300, 200).get()));
    Thumbnailer t(cache.config);
    const Result r = make_thumbnail(t, doc, "doc1", 64, monotonic_ns() - 1);
    BOOST_TEST((r.result == ThumbnailResult::unsupported));
    BOOST_TEST(r.detail.find("deadline") != std::string::npos, r.detail);
    BOOST_TEST(!t.started());
    BOOST_TEST(cache.entries().empty());
}

BOOST_AUTO_TEST_CASE(deadline_stops_a_computation_under_way) {
    Cache cache;
    wftest::TempDir docs;
    // 100 megapixels (the limit) and no shrink-on-load for PNG: the longest computation a
    // small file can ask for.
    const Document doc = open_document(docs.write("big.png", black_png(10000, 10000, 1, 0)));
    Thumbnailer t(cache.config);
    // How long it takes here, whole (libvips started on the way), then a second thumbnail of
    // it (another size, so not a cache hit) with a quarter of that time.
    const std::int64_t start = monotonic_ns();
    const Result whole = make_thumbnail(t, doc, "big", 64);
    const std::int64_t took = monotonic_ns() - start;
    BOOST_TEST_REQUIRE((whole.result == ThumbnailResult::ok), whole.detail);
    const std::vector<std::string> before = cache.entries();
    const Result r = make_thumbnail(t, doc, "big", 65, monotonic_ns() + took / 4);
    BOOST_TEST((r.result == ThumbnailResult::unsupported));
    BOOST_TEST(r.detail == "the deadline passed while the thumbnail was made");
    BOOST_TEST(!r.thumb.file);
    BOOST_TEST(cache.entries() == before);
}

BOOST_AUTO_TEST_CASE(jpeg_with_corrupt_data_is_thumbnailed_and_libvips_warnings_are_logged) {
    // libjpeg recovers from corrupt entropy-coded data with a warning; only errors and
    // truncation refuse a file (real cameras write JPEGs that warn). What libvips says about
    // it reaches the log as our own lines, not in glib's format.
    Cache cache;
    wftest::TempDir docs;
    std::string bytes = jpeg_bytes();
    const std::size_t scan = bytes.find("\xff\xda");
    BOOST_TEST_REQUIRE(scan != std::string::npos);
    for (std::size_t i = (scan + bytes.size()) / 2, n = 0; n < 40; ++i, ++n)
        bytes[i] = static_cast<char>(i * 37 % 255); // never 0xff: no markers
    const Document doc = open_document(docs.write("scan.jpg", bytes));
    Thumbnailer t(cache.config);
    Result r;
    const std::string log = wftest::capture_stderr([&] { r = make_thumbnail(t, doc); });
    BOOST_TEST_REQUIRE((r.result == ThumbnailResult::ok), r.detail);
    BOOST_TEST(look(r.thumb).width == 64);
    BOOST_TEST(log.find("debug: thumbnail: VIPS: VipsJpeg: Corrupt JPEG data") != std::string::npos,
               log);
    BOOST_TEST(log.find("VIPS-WARNING") == std::string::npos, log);
    // And libvips' error buffer, which holds the warnings too, does not grow request by request.
    BOOST_TEST(std::string(vips_error_buffer()).empty(), vips_error_buffer());
}

struct BadRequestCase {
    std::string id;
    unsigned size;
};

std::ostream& operator<<(std::ostream& os, const BadRequestCase& c) {
    return os << '"' << c.id << "\" " << c.size;
}

const BadRequestCase kBadRequests[] = {
    {"", 64},     {"../../etc/passwd", 64}, {"a/b", 64},
    {"a.b", 64},  {".hidden", 64},          {std::string(65, 'a'), 64},
    {"doc1", 15}, {"doc1", 1025},           {"doc1", 0},
};

BOOST_DATA_TEST_CASE(ids_and_sizes_that_cannot_name_a_cache_file_are_refused,
                     bdata::make(kBadRequests), c) {
    Cache cache;
    wftest::TempDir docs;
    const Document doc = open_document(save(docs, "a.jpg", picture(300, 200).get()));
    Thumbnailer t(cache.config);
    const Result r = make_thumbnail(t, doc, c.id, c.size);
    BOOST_TEST((r.result == ThumbnailResult::unsupported));
    BOOST_TEST(!t.started());
    BOOST_TEST(cache.entries().empty());
}

BOOST_AUTO_TEST_CASE(ids_and_sizes_at_the_limits_are_accepted) {
    Cache cache;
    wftest::TempDir docs;
    const Document doc = open_document(save(docs, "a.jpg", picture(300, 200).get()));
    Thumbnailer t(cache.config);
    for (const auto& [id, size] :
         {std::pair<std::string, unsigned>{std::string(64, 'Z'), 16}, {"aZ09_-", 1024}}) {
        const Result r = make_thumbnail(t, doc, id, size);
        BOOST_TEST((r.result == ThumbnailResult::ok), id << ' ' << size << ": " << r.detail);
    }
}

BOOST_AUTO_TEST_CASE(source_descriptor_is_neither_closed_nor_leaked_and_read_from_its_start) {
    Cache cache;
    wftest::TempDir docs;
    const Document doc = open_document(save(docs, "a.jpg", picture(300, 200).get()));
    Thumbnailer t(cache.config);
    {
        const Result warm = make_thumbnail(t, doc, "warm");
        BOOST_TEST_REQUIRE((warm.result == ThumbnailResult::ok), warm.detail);
    }
    const int fds = wftest::open_fd_count();
    BOOST_TEST_REQUIRE(lseek(doc.fd.get(), 0, SEEK_END) > 0);
    {
        const Result r = make_thumbnail(t, doc);
        BOOST_TEST_REQUIRE((r.result == ThumbnailResult::ok), r.detail);
        BOOST_TEST(wftest::open_fd_count() == fds + 1); // the thumbnail's own
    }
    BOOST_TEST(wftest::open_fd_count() == fds);
    BOOST_TEST(fcntl(doc.fd.get(), F_GETFD) != -1);
    // And after a failure.
    const Document text = open_document(docs.write("b.txt", "plain text"));
    const int with_text = wftest::open_fd_count();
    BOOST_TEST((make_thumbnail(t, text, "text").result == ThumbnailResult::unsupported));
    BOOST_TEST(wftest::open_fd_count() == with_text);
    BOOST_TEST(fcntl(text.fd.get(), F_GETFD) != -1);
}

// ---- trim_cache ------------------------------------------------------------------------------

// A file of `size` bytes modified `age` seconds ago.
void aged_file(const wftest::TempDir& dir, const std::string& name, std::size_t size, int age) {
    const std::string path = dir.write(name, std::string(size, 'x'));
    const timespec now{time(nullptr) - age, 0};
    const timespec times[2] = {now, now};
    BOOST_TEST_REQUIRE(utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0);
}

std::vector<std::string> entries(const std::string& dir) {
    std::vector<std::string> names;
    if (DIR* d = opendir(dir.c_str())) {
        while (const dirent* e = readdir(d))
            if (std::string_view(e->d_name) != "." && std::string_view(e->d_name) != "..")
                names.emplace_back(e->d_name);
        closedir(d);
    }
    std::sort(names.begin(), names.end());
    return names;
}

struct TrimCase {
    std::uint64_t limit;
    std::vector<std::string> kept;
};

std::ostream& operator<<(std::ostream& os, const TrimCase& c) {
    return os << "limit " << c.limit;
}

const TrimCase kTrimCases[] = {
    {400, {"new.jpg", "newest.png", "old.jpg", "oldest.png"}},
    {300, {"new.jpg", "newest.png", "old.jpg"}},
    {250, {"new.jpg", "newest.png"}},
    {200, {"new.jpg", "newest.png"}},
    {100, {"newest.png"}},
    {99, {}},
    {0, {}},
};

BOOST_DATA_TEST_CASE(trim_cache_keeps_the_newest_within_the_limit, bdata::make(kTrimCases), c) {
    wftest::TempDir dir;
    aged_file(dir, "oldest.png", 100, 400);
    aged_file(dir, "old.jpg", 100, 300);
    aged_file(dir, "new.jpg", 100, 200);
    aged_file(dir, "newest.png", 100, 100);
    Thumbnailer::trim_cache(dir.path(), c.limit);
    BOOST_TEST(entries(dir.path()) == c.kept);
}

BOOST_AUTO_TEST_CASE(trim_cache_removes_stale_temporary_files_only) {
    wftest::TempDir dir;
    aged_file(dir, ".doc-64-1-2.jpg.10.1.tmp", 10, 61);
    aged_file(dir, ".doc-64-1-2.jpg.11.1.tmp", 10, 5); // being written now
    aged_file(dir, "doc-64-1-2.jpg", 10, 3600);
    Thumbnailer::trim_cache(dir.path(), 1'000'000);
    BOOST_TEST(entries(dir.path()) ==
               (std::vector<std::string>{".doc-64-1-2.jpg.11.1.tmp", "doc-64-1-2.jpg"}));
}

BOOST_AUTO_TEST_CASE(trim_cache_never_follows_links_nor_enters_folders) {
    wftest::TempDir outside;
    aged_file(outside, "precious", 1000, 10000);
    wftest::TempDir dir;
    BOOST_TEST_REQUIRE(symlink(outside.file("precious").c_str(), dir.file("link.jpg").c_str()) ==
                       0);
    aged_file(dir, "folder/inside.jpg", 1000, 10000);
    aged_file(dir, "a.jpg", 10, 10000);
    Thumbnailer::trim_cache(dir.path(), 0);
    BOOST_TEST(entries(dir.path()) == (std::vector<std::string>{"folder", "link.jpg"}));
    BOOST_TEST(entries(dir.file("folder")) == std::vector<std::string>{"inside.jpg"});
    BOOST_TEST(wftest::read_file(outside.file("precious")).size() == 1000u);
}

BOOST_AUTO_TEST_CASE(trim_cache_of_a_missing_folder_does_nothing) {
    wftest::TempDir dir;
    Thumbnailer::trim_cache(dir.file("missing"), 0);
    Thumbnailer::trim_cache(dir.write("file", "x"), 0);
    BOOST_TEST(entries(dir.path()) == std::vector<std::string>{"file"});
}

BOOST_AUTO_TEST_SUITE_END()
