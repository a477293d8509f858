// multipart/form-data uploads (src/http/multipart.cpp, spec §12 item 12): the boundary of a
// Content-Type, and the bytes of the file part exactly, however the body arrives.
#include "http/multipart.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace bdata = boost::unit_test::data;
using wfhookd::BodySource;
using wfhookd::multipart_boundary;
using wfhookd::MultipartReader;

namespace {

// A body handed out in chunks whose sizes cycle through `sizes`; at its end, `at_end` (0, or
// -1: the peer went away).
class Chunks : public BodySource {
public:
    Chunks(std::string data, std::vector<std::size_t> sizes, long at_end = 0)
        : data_(std::move(data)), sizes_(std::move(sizes)), at_end_(at_end) {}
    long read(char* buf, std::size_t size) override {
        ++reads;
        if (pos_ == data_.size()) return at_end_;
        const std::size_t n =
            std::min({size, sizes_[next_++ % sizes_.size()], data_.size() - pos_});
        std::copy_n(data_.data() + pos_, n, buf);
        pos_ += n;
        return static_cast<long>(n);
    }
    std::size_t pulled() const { return pos_; }
    int reads = 0;

private:
    std::string data_;
    std::vector<std::size_t> sizes_;
    long at_end_;
    std::size_t next_ = 0, pos_ = 0;
};

struct Result {
    std::string bytes; // everything read before the end (or the failure)
    long last = 0;     // 0 at the end, -1 on failure
    std::string error;
};

// Reads the whole file part with reads of `out` bytes.
Result read_all(MultipartReader& r, std::size_t out) {
    Result res;
    std::string buf(out, '\0');
    for (int guard = 0; guard < 50'000'000; ++guard) {
        const long n = r.read(buf.data(), buf.size());
        if (n <= 0) {
            res.last = n;
            break;
        }
        BOOST_TEST_REQUIRE(static_cast<std::size_t>(n) <= out);
        res.bytes.append(buf.data(), static_cast<std::size_t>(n));
    }
    res.error = std::string(r.error());
    return res;
}

const std::string kB = "XyZzy-42";

std::string disposition(const std::string& name, const std::string& filename) {
    return "Content-Disposition: form-data; name=\"" + name + "\"; filename=\"" + filename + "\"";
}
std::string field(const std::string& name) {
    return "Content-Disposition: form-data; name=\"" + name + "\"";
}

// A multipart body: each part its header lines (CRLF-joined, may be empty) and content; then
// the closing delimiter.
std::string form(const std::vector<std::pair<std::string, std::string>>& parts,
                 const std::string& preamble = "", const std::string& epilogue = "\r\n") {
    std::string out = preamble;
    for (const auto& [headers, content] : parts) {
        out += "--" + kB + "\r\n";
        out += headers.empty() ? "\r\n" : headers + "\r\n\r\n";
        out += content + "\r\n";
    }
    return out + "--" + kB + "--" + epilogue;
}

std::string binary(std::size_t size, std::uint32_t seed) {
    std::string out(size, '\0');
    std::uint32_t x = seed;
    for (std::size_t i = 0; i < size; ++i) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        out[i] = static_cast<char>(i % 5 == 0 ? '\r' : i % 5 == 1 ? '\n' : x & 0xFF);
    }
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(multipart)

// ---- multipart_boundary -------------------------------------------------------------------------

struct BoundaryCase {
    std::string content_type, boundary;
};

std::ostream& operator<<(std::ostream& os, const BoundaryCase& c) {
    return os << '"' << c.content_type.substr(0, 80) << '"';
}

const std::string k70(70, 'b');

const BoundaryCase kBoundaryCases[] = {
    {"multipart/form-data; boundary=abc", "abc"},
    {"multipart/form-data;boundary=abc", "abc"},
    {"multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
     "----WebKitFormBoundary7MA4YWxkTrZu0gW"},
    {"multipart/form-data; boundary=\"abc\"", "abc"},
    {"multipart/form-data; boundary=\"a b:c,d\"", "a b:c,d"},
    {"multipart/form-data; boundary=\"a;b\"; charset=utf-8", "a;b"},
    {"multipart/form-data; boundary=abc; charset=utf-8", "abc"},
    {"multipart/form-data; charset=utf-8; boundary=abc", "abc"},
    {"multipart/form-data; boundary=abc charset", "abc"},
    {"multipart/form-data; boundary=abc\tx", "abc"},
    {"Multipart/Form-Data; boundary=abc", "abc"},
    {"MULTIPART/FORM-DATA; boundary=abc", "abc"},
    {"multipart/form-data; BOUNDARY=abc", "abc"},
    {"multipart/form-data; Boundary=\"abc\"", "abc"},
    {"multipart/form-data; xboundary=wrong; boundary=right", "right"},
    {"multipart/form-data; boundary=" + k70, k70},
    {"multipart/form-data; boundary=\"" + k70 + "\"", k70},
    {"multipart/form-data; boundary=" + k70 + "b", ""},
    {"multipart/form-data; boundary=\"" + k70 + "b\"", ""},
    {"multipart/form-data", ""},
    {"multipart/form-data;", ""},
    {"multipart/form-data; charset=utf-8", ""},
    {"multipart/form-data; boundary=", ""},
    {"multipart/form-data; boundary=\"\"", ""},
    {"multipart/form-data; boundary=\"abc", ""},
    {"multipart/form-data; boundary=\"a\\\"b\"", "a\"b"},
    {"multipart/form-data; boundary=;", ""},
    {"multipart/form-datax; boundary=abc", ""},
    {"multipart/mixed; boundary=abc", ""},
    {"text/plain; boundary=abc", ""},
    {"application/octet-stream", ""},
    {"application/x-www-form-urlencoded", ""},
    {"", ""},
};

BOOST_DATA_TEST_CASE(boundary_of_a_content_type, bdata::make(kBoundaryCases), c) {
    BOOST_TEST(multipart_boundary(c.content_type) == c.boundary);
}

// ---- MultipartReader --------------------------------------------------------------------------

struct ReadCase {
    std::string what;
    std::string body;
    std::string content; // the bytes handed out (before the failure, a prefix of them)
    std::string error;   // empty: read to its end
    long at_end = 0;     // what the body source returns at its end
};

std::ostream& operator<<(std::ostream& os, const ReadCase& c) {
    return os << c.what;
}

// How a body arrives and is read: the body source's chunk sizes, the reader's buffer.
struct Reading {
    std::vector<std::size_t> chunks;
    std::size_t out;
};

std::ostream& operator<<(std::ostream& os, const Reading& r) {
    os << "chunks";
    for (const std::size_t c : r.chunks)
        os << ' ' << c;
    return os << ", reads of " << r.out;
}

const Reading kReadings[] = {
    {{1}, 65536},     {{2, 3, 5, 7, 11}, 65536}, {{64}, 3},      {{4096}, 4096},
    {{65536}, 65536}, {{1 << 20}, 65536},        {{1 << 20}, 1}, {{100'000, 1, 13}, 8192},
};

const std::string kFile = disposition("file", "report.pdf") + "\r\nContent-Type: application/pdf";

std::vector<ReadCase> read_cases() {
    const std::string small = binary(5000, 7);
    const std::string large = binary(300'000, 11);
    const std::string d = "\r\n--" + kB; // the delimiter
    return {
        // Well-formed.
        {"one file part", form({{kFile, "hello"}}), "hello", ""},
        {"an empty file", form({{kFile, ""}}), "", ""},
        {"CRLF inside", form({{kFile, "line 1\r\nline 2\r\n\r\n"}}), "line 1\r\nline 2\r\n\r\n",
         ""},
        {"CRLF first", form({{kFile, "\r\nx"}}), "\r\nx", ""},
        {"ends with CR", form({{kFile, "abc\r"}}), "abc\r", ""},
        {"ends with CRLF", form({{kFile, "abc\r\n"}}), "abc\r\n", ""},
        {"delimiter prefixes inside",
         form({{kFile, "a" + d.substr(0, 5) + "b" + d.substr(0, d.size() - 1) + "c\r\n-\r\n--" +
                           kB.substr(1) + "--" + kB + "d"}}),
         "a" + d.substr(0, 5) + "b" + d.substr(0, d.size() - 1) + "c\r\n-\r\n--" + kB.substr(1) +
             "--" + kB + "d",
         ""},
        {"ends with part of a delimiter", form({{kFile, "x" + d.substr(0, d.size() - 1)}}),
         "x" + d.substr(0, d.size() - 1), ""},
        {"binary", form({{kFile, small}}), small, ""},
        {"larger than a read", form({{kFile, large}}), large, ""},
        {"NUL bytes", form({{kFile, std::string("\0\0a\0", 4)}}), std::string("\0\0a\0", 4), ""},
        {"a preamble", form({{kFile, "data"}}, "This is the preamble.\r\nIgnore it.\r\n"), "data",
         ""},
        {"a preamble holding the boundary mid-line",
         form({{kFile, "data"}}, "see --" + kB + " here\r\n"), "data", ""},
        {"an epilogue", form({{kFile, "data"}}, "", "\r\nepilogue\r\n--" + kB + "\r\n"), "data",
         ""},
        {"no CRLF after the closing delimiter", form({{kFile, "data"}}, "", ""), "data", ""},
        {"fields before the file",
         form({{field("parentId"), "12345"},
               {field("note"), "two\r\nlines" + d.substr(0, 4)},
               {kFile, small}}),
         small, ""},
        {"a field after the file", form({{kFile, "data"}, {field("after"), "x"}}), "data", ""},
        {"two files: the first", form({{kFile, "first"}, {disposition("f2", "b.txt"), "second"}}),
         "first", ""},
        {"an empty filename is a file part",
         form({{field("a"), "x"}, {disposition("file", ""), "data"}}), "data", ""},
        {"header names in any case",
         form({{field("a"), "x"},
               {"CONTENT-DISPOSITION: form-data; name=\"f\"; filename=\"x\"", "data"}}),
         "data", ""},
        {"no filename: the first part", form({{field("file"), "the content"}}), "the content", ""},
        {"no filename in any part: the first",
         form({{field("one"), "first"}, {field("two"), "second"}}), "first", ""},
        {"a part without headers", form({{"", "bare"}}), "bare", ""},
        {"padding after the delimiter",
         "--" + kB + "  \t\r\n" + kFile + "\r\n\r\ndata\r\n--" + kB + "--\r\n", "data", ""},
        {"the body ends after the file's delimiter",
         "--" + kB + "\r\n" + kFile + "\r\n\r\ndata" + d, "data", ""},
        // Malformed.
        {"an empty body", "", "", "no multipart delimiter in the body"},
        {"no delimiter", "just some bytes\r\n", "", "no multipart delimiter in the body"},
        {"a delimiter not at the start of a line", "x--" + kB + "\r\n" + kFile + "\r\n\r\ndata", "",
         "no multipart delimiter in the body"},
        {"another boundary", "--other\r\n" + kFile + "\r\n\r\ndata\r\n--other--\r\n", "",
         "no multipart delimiter in the body"},
        {"only the closing delimiter", "--" + kB + "--\r\n", "", "no file in the multipart body"},
        {"the file part not closed", "--" + kB + "\r\n" + kFile + "\r\n\r\ndata, then nothing",
         "data, then nothing", "the multipart body ends inside its file"},
        {"the file part closed by half a delimiter",
         "--" + kB + "\r\n" + kFile + "\r\n\r\ndata" + d.substr(0, 6), "data" + d.substr(0, 6),
         "the multipart body ends inside its file"},
        {"the body ends inside the headers", "--" + kB + "\r\nContent-Disposition: form-da", "",
         "the multipart body ends inside a part's headers"},
        {"the body ends before the headers", "--" + kB + "\r\n", "",
         "the multipart body ends inside a part's headers"},
        {"headers too long",
         "--" + kB + "\r\nX-Pad: " + std::string(100'000, 'p') + "\r\n" + kFile +
             "\r\n\r\ndata\r\n--" + kB + "--\r\n",
         "", "a multipart part's headers are too long"},
        {"a field not closed", "--" + kB + "\r\n" + field("a") + "\r\n\r\nvalue", "",
         "a multipart part is not closed"},
        {"a field, then the end", "--" + kB + "\r\n" + field("a") + "\r\n\r\nvalue" + d, "",
         "the multipart body ends inside a part's headers"},
        {"the peer goes away inside the file", "--" + kB + "\r\n" + kFile + "\r\n\r\n" + small,
         small, "the request body ended early", -1},
        {"the peer goes away inside a field", "--" + kB + "\r\n" + field("a") + "\r\n\r\nvalue", "",
         "the request body ended early", -1},
        {"the peer goes away inside the headers", "--" + kB + "\r\n" + kFile, "",
         "the request body ended early", -1},
        {"the peer goes away before the first delimiter", "preamble", "",
         "the request body ended early", -1},
    };
}

// Every case read every way, except large bodies in tiny pieces (time, and nothing more to see).
struct ReadRun {
    ReadCase c;
    Reading reading;
};

std::ostream& operator<<(std::ostream& os, const ReadRun& r) {
    return os << r.c << "; " << r.reading;
}

std::vector<ReadRun> read_runs() {
    std::vector<ReadRun> out;
    for (const ReadCase& c : read_cases())
        for (const Reading& reading : kReadings) {
            const bool slow = reading.chunks.front() < 64 || reading.out < 64;
            if (!(slow && c.body.size() > 100'000)) out.push_back({c, reading});
        }
    return out;
}

BOOST_DATA_TEST_CASE(the_file_part_exactly, bdata::make(read_runs()), run) {
    const ReadCase& c = run.c;
    Chunks body(c.body, run.reading.chunks, c.at_end);
    MultipartReader r(body, kB);
    const Result res = read_all(r, run.reading.out);
    if (c.error.empty()) {
        BOOST_TEST(res.last == 0);
        BOOST_TEST(res.error == "");
        BOOST_TEST(res.bytes.size() == c.content.size());
        BOOST_TEST((res.bytes == c.content));
    } else {
        BOOST_TEST(res.last == -1);
        BOOST_TEST(res.error == c.error);
        // What was handed out before the failure is the start of the part, nothing else.
        BOOST_TEST(c.content.starts_with(res.bytes), res.bytes.size() << " bytes handed out");
    }
    // Once over, it stays over.
    char more[16];
    BOOST_TEST(r.read(more, sizeof more) == res.last);
    BOOST_TEST(r.read(more, sizeof more) == res.last);
    BOOST_TEST(r.error() == res.error);
}

// The headers of a part are bounded: a huge header section is refused once past the bound,
// not read (and held) to its end.
BOOST_AUTO_TEST_CASE(a_huge_header_section_is_refused_not_buffered) {
    const std::string body = "--" + kB + "\r\nX-Pad: " + std::string(20'000'000, 'p');
    for (const std::size_t chunk : {std::size_t(4096), std::size_t(65536), std::size_t(1) << 20}) {
        Chunks source(body, {chunk});
        MultipartReader r(source, kB);
        char buf[65536];
        BOOST_TEST(r.read(buf, sizeof buf) == -1);
        BOOST_TEST(r.error() == "a multipart part's headers are too long");
        BOOST_TEST(source.pulled() < 200'000u + chunk, chunk);
    }
}

// A preamble or a field of any size is skipped in bounded pieces, and the file after it found.
BOOST_AUTO_TEST_CASE(large_skipped_parts_are_streamed_past) {
    const std::string file = binary(70'000, 3);
    const std::string body = form({{field("big"), std::string(3'000'000, 'f')},
                                   {field("big2"), std::string(2'000'000, 'g')},
                                   {kFile, file}},
                                  std::string(2'000'000, 'p') + "\r\n");
    Chunks source(body, {65536});
    MultipartReader r(source, kB);
    const Result res = read_all(r, 65536);
    // A first part without a file name larger than what is held is taken as the document.
    BOOST_TEST(res.last == 0);
    BOOST_TEST(res.error == "");
    BOOST_TEST((res.bytes == std::string(3'000'000, 'f')));

    // Small fields first: skipped, the file found after them.
    const std::string body2 = form({{field("a"), std::string(1000, 'a')},
                                    {field("b"), std::string(3'000'000, 'b')},
                                    {kFile, file}},
                                   std::string(2'000'000, 'p') + "\r\n");
    Chunks source2(body2, {65536});
    MultipartReader r2(source2, kB);
    const Result res2 = read_all(r2, 65536);
    BOOST_TEST(res2.last == 0);
    BOOST_TEST(res2.error == "");
    BOOST_TEST((res2.bytes == file));
}

// The reader stops at the end of the file part: what follows is not waited for.
BOOST_AUTO_TEST_CASE(reading_stops_at_the_end_of_the_file_part) {
    const std::string body = form({{kFile, "data"}, {field("after"), std::string(1'000'000, 'a')}});
    Chunks source(body, {4096});
    MultipartReader r(source, kB);
    const Result res = read_all(r, 65536);
    BOOST_TEST(res.last == 0);
    BOOST_TEST(res.bytes == "data");
    BOOST_TEST(source.pulled() < 100'000u);
}

BOOST_AUTO_TEST_SUITE_END()
