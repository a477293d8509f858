// GET /download: a file's bytes. By default nginx sends them (X-Accel-Redirect to an internal
// location over the store's root), so neither the worker's memory nor the worker itself is
// tied to the file's size; behind Apache or lighttpd, X-Sendfile does the same; without
// either the worker streams the file in bounded chunks. GET /thumbnail: its preview.
#include "api/handlers.hpp"
#include "api/store_items.hpp"

#include "http/download.hpp"
#include "store/thumbnail.hpp"
#include "util/clock.hpp"

#include <cerrno>
#include <charconv>
#include <fmt/format.h>

namespace wfhookd {

namespace {

// Validators, then 304 for a matching If-None-Match, 206/416 for a Range: what nginx does for
// a static file, for the answers the worker sends itself.
void answer_with_file(const Request& req, Response& res, Fd file, const struct stat& st,
                      std::string_view type) {
    const std::string etag = etag_of(st);
    const auto size = static_cast<std::uint64_t>(st.st_size);
    res.content_type.assign(type);
    res.add_header("ETag", etag);
    res.add_header("Last-Modified", http_date(st.st_mtim.tv_sec));
    res.add_header("Accept-Ranges", "bytes");
    if (!req.if_none_match.empty() && etag_matches(req.if_none_match, etag)) {
        res.status = 304;
        return;
    }
    ByteRange range = parse_range(req.range, size);
    // If-Range: the range holds only for the version the client has.
    if (!req.if_range.empty() && req.if_range != etag) range = ByteRange{};
    if (range.kind == ByteRange::Kind::unsatisfiable) {
        res.status = 416;
        res.add_header("Content-Range", fmt::format("bytes */{}", size));
        res.body.clear();
        return;
    }
    res.file = std::move(file);
    res.file_offset = range.start;
    res.file_length = range.kind == ByteRange::Kind::partial ? range.length : size;
    if (range.kind == ByteRange::Kind::partial) {
        res.status = 206;
        res.add_header("Content-Range", fmt::format("bytes {}-{}/{}", range.start,
                                                    range.start + range.length - 1, size));
    }
}

} // namespace

void send_file(StoreContext& sc, const Request& req, const Item& item, bool inline_,
               Response& res) {
    const StoreConfig& config = sc.store.config();
    // Opened beneath the root, never through a link: what is served is what was checked.
    Fd file = sc.store.tree().open_file(item.row.path);
    struct stat st {};
    if (!file || fstat(file.get(), &st) != 0) return res.set_error(404, "no such file or folder");

    res.status = 200;
    res.body.clear();
    res.cache_control = "private, no-cache";
    res.add_header("Content-Disposition", content_disposition(item.row.name, inline_));
    const std::string_view type = sc.mime.type_for(item.row.name);
    if (!config.accel_redirect.empty()) {
        // nginx serves the file from its internal location, with Range, If-None-Match and
        // sendfile; the URI is percent-encoded so that every legal name survives (a '?'
        // would start arguments, a '%' an escape).
        std::string uri = config.accel_redirect;
        append_percent_encoded(uri, item.row.path, true);
        res.content_type.assign(type);
        res.add_header("X-Accel-Redirect", uri);
        return;
    }
    if (!config.sendfile_header.empty()) {
        res.content_type.assign(type);
        res.add_header(config.sendfile_header, config.root + "/" + item.row.path);
        return;
    }
    answer_with_file(req, res, std::move(file), st, type);
}

void handle_download(const Context& ctx, const Call& call, Response& res) {
    StoreContext& sc = *ctx.store;
    const auto& p = call.params_as<LinkParams>();
    Item item;
    if (!find_item(sc, p.id, false, item, res)) return;
    if (item.folder())
        return res.set_error(
            400, fmt::format("{} is a folder: only files can be downloaded", p.id.value));
    send_file(sc, call.request, item, false, res);
}

void handle_thumbnail(const Context& ctx, const Call& call, Response& res) {
    StoreContext& sc = *ctx.store;
    const auto& p = call.params_as<ThumbnailParams>();
    unsigned size = 200;
    if (!p.size.empty()) {
        const auto [end, ec] =
            std::from_chars(p.size.value.data(), p.size.value.data() + p.size.value.size(), size);
        if (ec != std::errc() || end != p.size.value.data() + p.size.value.size() || size < 16 ||
            size > 1024)
            return res.set_error(400, "parameter size must be a whole number from 16 to 1024");
    }
    Item item;
    if (!find_item(sc, p.id, false, item, res)) return;
    if (item.folder()) return res.set_error(404, "no thumbnail for this kind of file");
    const Fd file = sc.store.tree().open_file(item.row.path);
    struct stat st {};
    if (!file || fstat(file.get(), &st) != 0) return res.set_error(404, "no such file or folder");
    // The request's deadline, less a margin to answer in: a thumbnail that takes longer is
    // given up, the worker lives.
    const unsigned timeout = ctx.config->server.request_timeout;
    const std::int64_t budget_s = timeout == 0 ? 30 : std::max<std::int64_t>(1, timeout / 2);
    Thumbnail thumb;
    std::string detail;
    switch (sc.thumbnails->get(file.get(), st, item.row.id, size,
                               monotonic_ns() + budget_s * 1'000'000'000, thumb, detail)) {
    case ThumbnailResult::ok:
        break;
    case ThumbnailResult::unsupported:
        res.set_error(404, "no thumbnail for this kind of file");
        if (!detail.empty()) res.log_error += " [" + detail + "]";
        return;
    case ThumbnailResult::error:
        res.set_error(500, "the thumbnail could not be made; try again");
        if (!detail.empty()) res.log_error += " [" + detail + "]";
        return;
    }
    res.status = 200;
    res.body.clear();
    res.cache_control = "private, no-cache";
    const struct stat cached = thumb.st;
    answer_with_file(call.request, res, std::move(thumb.file), cached, thumb.type);
}

} // namespace wfhookd
