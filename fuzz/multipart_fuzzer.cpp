// libFuzzer target: multipart/form-data uploads (http/multipart.cpp), the body of an upload as
// a hostile client sends it. Properties checked on every input: no crash, no out-of-bounds
// (ASan); the content handed out is never longer than the body; reading in pieces of any
// size gives the same bytes and the same verdict as reading in large ones.
#include "http/multipart.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

class Chunks : public wfhookd::BodySource {
public:
    Chunks(std::string_view body, std::size_t piece) : body_(body), piece_(piece) {}
    long read(char* buf, std::size_t size) override {
        std::size_t n = std::min({size, piece_, body_.size()});
        body_.copy(buf, n);
        body_.remove_prefix(n);
        return static_cast<long>(n);
    }

private:
    std::string_view body_;
    std::size_t piece_;
};

// The file part's bytes, and whether the body was well formed.
std::pair<std::string, bool> read_all(std::string_view body, std::size_t piece,
                                      std::size_t out_piece) {
    Chunks source(body, piece);
    wfhookd::MultipartReader reader(source, "b0undary");
    std::string out, buf(out_piece, '\0');
    for (;;) {
        const long n = reader.read(buf.data(), buf.size());
        if (n < 0) return {out, false};
        if (n == 0) return {out, true};
        out.append(buf.data(), static_cast<std::size_t>(n));
        if (out.size() > body.size()) std::abort();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::size_t piece = std::size_t(data[0]) % 17 + 1;
    const std::string_view body(reinterpret_cast<const char*>(data + 2), size - 2);
    const auto big = read_all(body, 1 << 16, 1 << 16);
    const auto small = read_all(body, piece, std::size_t(data[1]) % 7 + 1);
    if (big != small) std::abort();
    // The boundary parser on the same bytes as a Content-Type.
    const std::string boundary = wfhookd::multipart_boundary(body);
    if (boundary.size() > 70) std::abort();
    return 0;
}
