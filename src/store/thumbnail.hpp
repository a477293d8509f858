// Thumbnails of the store's documents, made with libvips and cached on disk.
//
// libvips treats every file as untrusted (vips_block_untrusted_set: loaders not fuzzed for
// hostile input are refused), shrinks on load where the format allows (a 24-megapixel JPEG is
// never decoded at full size), refuses images over kMaxPixels before decoding them
// (decompression bombs; for loaders that decode a whole image at once, over 128 MiB of
// pixels too), and stops at a deadline. It starts its threads in the worker, at the
// first thumbnail, never in the master.
#pragma once

#include "config/config.hpp"
#include "util/fs.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <sys/stat.h>

namespace wfhookd {

struct Thumbnail {
    Fd file;               // the cached image, open for reading
    struct stat st {};     // of the cached file: its size, and validators for the answer
    std::string_view type; // "image/jpeg", or "image/png" for images with transparency
};

enum class ThumbnailResult {
    ok,
    unsupported, // not an image libvips will read (or too large): 404, "no thumbnail for this kind
                 // of file"
    error,       // the cache could not be written (logged)
};

class Thumbnailer {
public:
    static constexpr std::uint64_t kMaxPixels = 100'000'000; // 10000 x 10000

    explicit Thumbnailer(const StoreConfig& config);
    ~Thumbnailer();
    Thumbnailer(const Thumbnailer&) = delete;
    Thumbnailer& operator=(const Thumbnailer&) = delete;

    // The thumbnail of the document open as `source` (whose lstat is `st`), at most `size`
    // pixels wide and high, aspect kept. Cached by id, size, and the document's modification
    // time and size: a cache hit opens the cached file and never starts libvips. A miss makes
    // it, writes it to the cache atomically (temporary file, fsync, rename) and opens it.
    // `deadline_ns` (monotonic) bounds the work. `detail` says why, for the log.
    ThumbnailResult get(int source, const struct stat& st, std::string_view id, unsigned size,
                        std::int64_t deadline_ns, Thumbnail& out, std::string& detail);

    // Whether libvips was started in this process (for tests: a cache hit must not).
    bool started() const { return started_; }

    // Removes the oldest files of the cache folder until it holds at most `limit` bytes, and
    // temporary files older than a minute (the master calls this periodically).
    static void trim_cache(const std::string& dir, std::uint64_t limit);

private:
    bool start(std::string& detail);

    const StoreConfig& config_;
    bool started_ = false;
};

} // namespace wfhookd
