// libFuzzer target: the FastCGI gate (server/fcgi_gate.cpp), which reads every byte a peer
// sends before libfcgi does. Properties checked on every input: no crash, no out-of-bounds
// (ASan); the scanner never takes a byte past the end of a request; feeding the same bytes
// in pieces of any size ends in the same verdict (and, for a request, the same count) as
// feeding them whole.
#include "server/fcgi_gate.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace {

using wfhookd::RequestScanner;

constexpr RequestScanner::Limits kLimits{2048, 4096};

struct Outcome {
    RequestScanner::State state;
    std::size_t taken;
    std::int64_t content_length;
    bool keep;
};

Outcome scan(const std::uint8_t* data, std::size_t size, const std::uint8_t* cuts,
             std::size_t ncuts) {
    RequestScanner s(kLimits);
    std::size_t at = 0, taken = 0, c = 0;
    while (at < size) {
        // Piece sizes from the cut bytes (1..256), the rest at once when they run out.
        std::size_t piece = c < ncuts ? std::size_t(cuts[c++]) + 1 : size - at;
        if (piece > size - at) piece = size - at;
        // What readable() allows is a bound the worker respects on the slow path.
        const std::size_t n = s.feed(reinterpret_cast<const char*>(data + at), piece);
        if (n > piece) std::abort();
        taken += n;
        at += piece;
        if (n < piece) break; // ended or invalid: nothing more is taken
    }
    if (taken != s.consumed()) std::abort();
    return {s.state(), taken, s.content_length(), s.keep_conn()};
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // The first byte says how many of the next bytes are cut sizes; the rest is the stream.
    if (size == 0) return 0;
    std::size_t ncuts = data[0] % 32;
    if (ncuts > size - 1) ncuts = size - 1;
    const std::uint8_t* cuts = data + 1;
    const std::uint8_t* stream = data + 1 + ncuts;
    const std::size_t n = size - 1 - ncuts;

    const Outcome whole = scan(stream, n, nullptr, 0);
    const Outcome pieces = scan(stream, n, cuts, ncuts);
    // An invalid stream is dropped whatever was taken of it: only the verdict must agree.
    if (whole.state != pieces.state) std::abort();
    if (whole.state != RequestScanner::State::invalid &&
        (whole.taken != pieces.taken || whole.content_length != pieces.content_length ||
         whole.keep != pieces.keep))
        std::abort();
    if (whole.state != RequestScanner::State::invalid && whole.taken > n) std::abort();
    // The parameters can never be larger than allowed, however they were split.
    if (whole.state == RequestScanner::State::done || whole.state == RequestScanner::State::stdin_)
        if (whole.taken < 8) std::abort(); // at least BEGIN_REQUEST
    return 0;
}
