#include "store/thumbnail.hpp"

#include "util/clock.hpp"
#include "util/log.hpp"

#include <vips/vips.h>
// After vips.h, which it needs but does not include.
#include <vips/vector.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <memory>
#include <mutex>
#include <vector>

namespace wfhookd {

namespace {

// The caller validates the size against the same range; checked again because it becomes
// part of a file name and a libvips argument.
constexpr unsigned kMinSize = 16;
constexpr unsigned kMaxSize = 1024;
constexpr std::size_t kMaxIdLength = 64;
// Loaders that decode the whole image before the first row can be read (GIF, HEIF, interlaced
// PNG) hold all of it in memory: up to 800 MB for a 100-megapixel 16-bit RGBA PNG of a few
// hundred kilobytes. This admits 24-megapixel HEIC photos (72 MB) and refuses 48-megapixel
// ones (146 MB); the rest of a thumbnail takes a few tens of MiB.
constexpr std::uint64_t kMaxDecodedBytes = 128ull << 20;
// A hidden file this old is a temporary file whose writer died.
constexpr std::int64_t kStaleTemporaryNs = 60'000'000'000;

// The loaders we use, by GType name prefix. Everything else (vips, matrix, csv, ppm, FITS,
// ImageMagick, OpenSlide…) stays blocked: a text file that happens to parse as a libvips
// matrix must not become a thumbnail. PDF (poppler) and SVG (librsvg) are flagged untrusted
// by libvips 8.14 and blocked by vips_block_untrusted_set; they are unblocked here on
// purpose, because thumbnails of documents and drawings are what the store is for.
constexpr std::array<const char*, 8> kLoaders = {
    "VipsForeignLoadJpeg", "VipsForeignLoadPng",  "VipsForeignLoadNsgif", "VipsForeignLoadWebp",
    "VipsForeignLoadTiff", "VipsForeignLoadHeif", "VipsForeignLoadSvg",   "VipsForeignLoadPdf",
};

struct Unref {
    void operator()(gpointer object) const { g_object_unref(object); }
};
template <typename T>
using Object = std::unique_ptr<T, Unref>;

bool starts_with(const char* loader, const char* prefix) {
    return std::strncmp(loader, prefix, std::strlen(prefix)) == 0;
}

bool allowed_loader(const char* loader) {
    return std::any_of(kLoaders.begin(), kLoaders.end(),
                       [&](const char* prefix) { return starts_with(loader, prefix); });
}

bool decoded_whole(const char* loader, VipsImage* header) {
    int interlaced = 0;
    return starts_with(loader, "VipsForeignLoadNsgif") ||
           starts_with(loader, "VipsForeignLoadHeif") ||
           (starts_with(loader, "VipsForeignLoadPng") &&
            vips_image_get_typeof(header, "interlaced") != 0 &&
            vips_image_get_int(header, "interlaced", &interlaced) == 0 && interlaced != 0);
}

bool valid_id(std::string_view id) {
    if (id.empty() || id.size() > kMaxIdLength) return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
}

// The cache file's name without its extension: the document's modification time and size
// are part of it, so a changed document never meets its old thumbnail.
std::string cache_key(std::string_view id, unsigned size, const struct stat& st) {
    const auto mtime_ns = static_cast<std::uint64_t>(st.st_mtim.tv_sec) * 1'000'000'000u +
                          static_cast<std::uint64_t>(st.st_mtim.tv_nsec);
    return fmt::format("{}-{}-{:x}-{:x}", id, size, mtime_ns,
                       static_cast<std::uint64_t>(st.st_size));
}

// libvips' error buffer as one line, cleared: it is per process and grows with every failure
// (and every warning a loader records) until something clears it.
std::string take_vips_error() {
    std::string text = vips_error_buffer();
    vips_error_clear();
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    std::replace_if(
        text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    return text;
}

// glib's default handler writes its own multi-line format to stderr, which is our log; route
// libvips', poppler's and librsvg's messages through log_line instead. Their warnings about a
// bad file repeat what `detail` says, hence debug; criticals are bugs. libvips may call this
// from its worker thread, hence the lock.
void glib_log(const gchar* domain, GLogLevelFlags level, const gchar* message, gpointer) {
    if (level & (G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG)) return;
    static std::mutex mutex;
    const std::lock_guard lock(mutex);
    std::string line = fmt::format("thumbnail: {}: {}", domain ? domain : "glib", message);
    std::replace_if(
        line.begin(), line.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    log_line(level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL) ? Level::warning : Level::debug,
             line);
}

// Opens the cached thumbnail `key`.jpg or `key`.png if there is one.
bool open_cached(int dir, const std::string& key, Thumbnail& out) {
    static constexpr std::array<std::pair<const char*, std::string_view>, 2> kTypes = {{
        {".jpg", "image/jpeg"},
        {".png", "image/png"},
    }};
    for (const auto& [ext, type] : kTypes) {
        const std::string name = key + ext;
        Fd fd(openat(dir, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
        if (!fd) continue;
        struct stat st {};
        if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) continue;
        out.file = std::move(fd);
        out.st = st;
        out.type = type;
        return true;
    }
    return false;
}

// An encoded thumbnail, before it is written to the cache.
struct Encoded {
    std::unique_ptr<void, decltype(&g_free)> data{nullptr, g_free};
    std::size_t size = 0;
    const char* ext = ".jpg";
    std::string_view type = "image/jpeg";
};

// Computes `image` into memory one row at a time, checking the deadline between rows. (libvips'
// own progress callbacks come once per tile of the image being written, and a thumbnail is
// often a single tile: the whole decode would run before the first one.) Rows are pulled top
// to bottom, which the sequential pipeline of a thumbnail needs; every row costs about the
// same share of the decode, so the deadline is overrun by one row's worth at most.
VipsImage* compute(VipsImage* image, std::int64_t deadline_ns, bool& late) {
    late = false;
    Object<VipsImage> memory(vips_image_new_memory());
    if (vips_image_pipelinev(memory.get(), VIPS_DEMAND_STYLE_THINSTRIP, image, nullptr) != 0)
        return nullptr;
    const Object<VipsRegion> region(vips_region_new(image));
    for (int y = 0; y < image->Ysize; ++y) {
        if (monotonic_ns() >= deadline_ns) {
            late = true;
            return nullptr;
        }
        const VipsRect row{0, y, image->Xsize, 1};
        if (vips_region_prepare(region.get(), &row) != 0 ||
            vips_image_write_line(memory.get(), y, VIPS_REGION_ADDR(region.get(), 0, y)) != 0)
            return nullptr;
    }
    return memory.release();
}

// Whether the image has an alpha channel that is not opaque everywhere. (Opaque alpha, as every
// PDF page and many PNGs have, makes a JPEG: jpegsave drops it.) vips_thumbnail's output is
// 8-bit sRGB or B_W, so opaque is 255.
bool transparent(VipsImage* image, bool& failed) {
    failed = false;
    if (!vips_image_hasalpha(image)) return false;
    VipsImage* alpha = nullptr;
    double min = 0;
    failed = vips_extract_band(image, &alpha, image->Bands - 1, nullptr) != 0;
    const Object<VipsImage> owned(alpha);
    failed = failed || vips_min(alpha, &min, nullptr) != 0;
    return !failed && min < 255;
}

// Makes the thumbnail of the file open as `source`, encoded; unsupported with `detail` when
// libvips cannot or may not make one.
ThumbnailResult render(int source, unsigned size, std::int64_t deadline_ns, Encoded& out,
                       std::string& detail) {
    // libvips reads a dup of the descriptor (its own to close), seeking to the start itself.
    const Object<VipsSource> src(vips_source_new_from_descriptor(source));
    if (!src) {
        detail = take_vips_error();
        return ThumbnailResult::unsupported;
    }
    const char* loader = vips_foreign_find_load_source(src.get());
    if (loader == nullptr) {
        vips_error_clear();
        detail = "not an image format libvips reads";
        return ThumbnailResult::unsupported;
    }
    if (!allowed_loader(loader)) {
        detail = fmt::format("no thumbnails for this format ({})", loader);
        return ThumbnailResult::unsupported;
    }

    // The header only: pixels are decoded when the first row is asked for, so a decompression
    // bomb is refused here for the price of reading its first bytes.
    {
        const Object<VipsImage> header(vips_image_new_from_source(src.get(), "", "access",
                                                                  VIPS_ACCESS_SEQUENTIAL, "fail_on",
                                                                  VIPS_FAIL_ON_ERROR, nullptr));
        if (!header) {
            detail = take_vips_error();
            return ThumbnailResult::unsupported;
        }
        const auto width = static_cast<std::uint64_t>(vips_image_get_width(header.get()));
        const auto height = static_cast<std::uint64_t>(vips_image_get_height(header.get()));
        if (width * height > Thumbnailer::kMaxPixels) {
            detail = fmt::format("{}x{} pixels is over the limit of {}", width, height,
                                 Thumbnailer::kMaxPixels);
            return ThumbnailResult::unsupported;
        }
        const std::uint64_t bytes = width * height * VIPS_IMAGE_SIZEOF_PEL(header.get());
        if (decoded_whole(loader, header.get()) && bytes > kMaxDecodedBytes) {
            detail = fmt::format("{}x{} pixels decoded whole would take {} MiB, over the limit "
                                 "of {} MiB",
                                 width, height, bytes >> 20, kMaxDecodedBytes >> 20);
            return ThumbnailResult::unsupported;
        }
    }

    // Shrink-on-load where the format has it (JPEG, WebP, HEIF, PDF, SVG, pyramidal TIFF).
    // EXIF orientation is applied below, once the small image is in memory: vips_thumbnail
    // would copy to memory itself, with no deadline checked on the way. Images smaller
    // than `size` are not enlarged. libvips 8.14 does not pass thumbnail_source's fail_on on
    // to the loader (a truncated JPEG would become a grey-bottomed thumbnail); the loader
    // options string does reach it.
    VipsImage* made = nullptr;
    if (vips_thumbnail_source(src.get(), &made, static_cast<int>(size), "height",
                              static_cast<int>(size), "size", VIPS_SIZE_DOWN, "no_rotate", TRUE,
                              "fail_on", VIPS_FAIL_ON_ERROR, "option_string", "fail_on=error",
                              nullptr) != 0) {
        detail = take_vips_error();
        return ThumbnailResult::unsupported;
    }
    const Object<VipsImage> thumbnail(made);

    bool late = false;
    const Object<VipsImage> pixels(compute(thumbnail.get(), deadline_ns, late));
    if (!pixels) {
        const std::string error = take_vips_error();
        detail = late ? "the deadline passed while the thumbnail was made" : error;
        return ThumbnailResult::unsupported;
    }

    VipsImage* rotated = nullptr;
    if (vips_autorot(pixels.get(), &rotated, nullptr) != 0) {
        detail = take_vips_error();
        return ThumbnailResult::unsupported;
    }
    const Object<VipsImage> image(rotated);

    bool failed = false;
    const bool png = transparent(image.get(), failed);
    if (failed) {
        detail = take_vips_error();
        return ThumbnailResult::unsupported;
    }

    void* data = nullptr;
    std::size_t length = 0;
    const int saved = png ? vips_pngsave_buffer(image.get(), &data, &length, "strip", TRUE,
                                                "compression", 6, nullptr)
                          : vips_jpegsave_buffer(image.get(), &data, &length, "strip", TRUE, "Q",
                                                 80, "optimize_coding", TRUE, nullptr);
    out.data.reset(data);
    if (saved != 0 || length == 0) {
        detail = take_vips_error();
        return ThumbnailResult::unsupported;
    }
    out.size = length;
    out.ext = png ? ".png" : ".jpg";
    out.type = png ? "image/png" : "image/jpeg";
    return ThumbnailResult::ok;
}

// Writes `thumb` to the cache as `name` atomically and durably (hidden temporary file, fsync,
// rename, fsync of the folder) and hands back the written file, open.
ThumbnailResult publish(int dir, const std::string& dir_path, const std::string& name,
                        const Encoded& thumb, Thumbnail& out, std::string& detail) {
    static unsigned serial = 0;
    const std::string temp = fmt::format(".{}.{}.{}.tmp", name, getpid(), ++serial);
    Fd fd(openat(dir, temp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640));
    const char* step = "create";
    int err = 0;
    if (!fd) {
        err = errno;
    } else if (!write_all(fd.get(), {static_cast<const char*>(thumb.data.get()), thumb.size})) {
        step = "write";
        err = errno;
    } else if (fsync(fd.get()) != 0) {
        step = "fsync";
        err = errno;
    } else if ((err = rename_new_at(dir, temp.c_str(), dir, name.c_str())) == EEXIST) {
        // Another worker made the same thumbnail meanwhile: ours is as good, and ours is open.
        unlinkat(dir, temp.c_str(), 0);
        err = 0;
    } else if (err != 0) {
        step = "rename";
    } else if (fsync(dir) != 0) {
        step = "fsync the folder of";
        err = errno;
    }
    if (err == 0 && (fstat(fd.get(), &out.st) != 0 || lseek(fd.get(), 0, SEEK_SET) != 0)) {
        step = "rewind";
        err = errno;
    }
    if (err != 0) {
        if (fd) unlinkat(dir, temp.c_str(), 0);
        detail = fmt::format("cannot {} {}/{}: {}", step, dir_path, temp, std::strerror(err));
        log(Level::error, "thumbnail cache: {}", detail);
        return ThumbnailResult::error;
    }
    out.file = std::move(fd);
    out.type = thumb.type;
    return ThumbnailResult::ok;
}

} // namespace

Thumbnailer::Thumbnailer(const StoreConfig& config) : config_(config) {}

Thumbnailer::~Thumbnailer() = default;

bool Thumbnailer::start(std::string& detail) {
    if (started_) return true;
    if (VIPS_INIT("wfhookd") != 0) {
        detail = "cannot start libvips: " + take_vips_error();
        log(Level::error, "thumbnail: {}", detail);
        return false;
    }
    g_log_set_default_handler(glib_log, nullptr);
    // One thread and no operation cache: a worker makes one thumbnail at a time, and cached
    // operations would keep images, memory and the documents' descriptors alive between
    // requests.
    vips_concurrency_set(1);
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    vips_cache_set_max_files(0);
    // No run-time code generation (orc): the service runs with MemoryDenyWriteExecute, and
    // the thumbnail path gains nothing measurable from it.
    vips_vector_set_enabled(FALSE);
    vips_block_untrusted_set(TRUE);
    vips_operation_block_set("VipsForeignLoad", TRUE);
    for (const char* loader : kLoaders)
        vips_operation_block_set(loader, FALSE);
    started_ = true;
    return true;
}

ThumbnailResult Thumbnailer::get(int source, const struct stat& st, std::string_view id,
                                 unsigned size, std::int64_t deadline_ns, Thumbnail& out,
                                 std::string& detail) {
    if (!valid_id(id) || size < kMinSize || size > kMaxSize) {
        detail = fmt::format("no thumbnail of size {} for id \"{}\"", size, id);
        return ThumbnailResult::unsupported;
    }
    const std::string& dir_path = config_.thumbnail_cache;
    const std::string key = cache_key(id, size, st);
    Fd dir(open(dir_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir && open_cached(dir.get(), key, out)) return ThumbnailResult::ok;

    if (monotonic_ns() >= deadline_ns) {
        detail = "the deadline passed before the thumbnail was started";
        return ThumbnailResult::unsupported;
    }
    if (!start(detail)) return ThumbnailResult::error;
    Encoded thumb;
    const ThumbnailResult made = render(source, size, deadline_ns, thumb, detail);
    // Warnings a loader recorded on success stay in libvips' buffer otherwise.
    vips_error_clear();
    if (made != ThumbnailResult::ok) return made;

    if (!dir) {
        if (std::string error; !make_dirs(dir_path, error)) {
            detail = "cannot create " + error;
            log(Level::error, "thumbnail cache: {}", detail);
            return ThumbnailResult::error;
        }
        dir.reset(open(dir_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!dir) {
            detail = fmt::format("cannot open {}: {}", dir_path, std::strerror(errno));
            log(Level::error, "thumbnail cache: {}", detail);
            return ThumbnailResult::error;
        }
    }
    return publish(dir.get(), dir_path, key + thumb.ext, thumb, out, detail);
}

// Oldest first by modification time, which is when the thumbnail was written: access times
// are unreliable (relatime, noatime), and touching a file on every hit would change the
// validators its answers carry.
void Thumbnailer::trim_cache(const std::string& dir, std::uint64_t limit) {
    const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    struct Closedir {
        void operator()(DIR* d) const { closedir(d); }
    };
    const std::unique_ptr<DIR, Closedir> listing(fdopendir(fd));
    if (!listing) {
        close(fd);
        return;
    }
    const int dir_fd = dirfd(listing.get());
    struct Entry {
        std::string name;
        std::int64_t mtime_ns;
        std::uint64_t size;
    };
    std::vector<Entry> files;
    std::uint64_t total = 0;
    const std::int64_t now = realtime_ns();
    while (const dirent* e = readdir(listing.get())) {
        const std::string_view name = e->d_name;
        if (name == "." || name == "..") continue;
        struct stat st {};
        // Only regular files: links (never followed), folders and the rest are left alone.
        if (fstatat(dir_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        const std::int64_t mtime_ns =
            std::int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
        if (name.front() == '.') {
            // A temporary file: being written now, or left by a worker that died.
            if (now - mtime_ns > kStaleTemporaryNs) unlinkat(dir_fd, e->d_name, 0);
            continue;
        }
        files.push_back({std::string(name), mtime_ns, static_cast<std::uint64_t>(st.st_size)});
        total += static_cast<std::uint64_t>(st.st_size);
    }
    std::sort(files.begin(), files.end(), [](const Entry& a, const Entry& b) {
        return a.mtime_ns != b.mtime_ns ? a.mtime_ns < b.mtime_ns : a.name < b.name;
    });
    for (const Entry& f : files) {
        if (total <= limit) break;
        if (unlinkat(dir_fd, f.name.c_str(), 0) == 0) total -= f.size;
    }
}

} // namespace wfhookd
