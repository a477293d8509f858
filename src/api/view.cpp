// GET /view: the page a user's browser opens from Workfront's "Open" (viewLink). A file's page
// shows its name, size, date, the image itself or the PDF, and a download button; a folder's
// page lists its items, paged. Every link on it is signed like viewLink itself.
//
// The pages load nothing from elsewhere and run no script: a strict Content-Security-Policy,
// every name HTML-escaped, no Referer sent (the links carry their signature).
#include "api/handlers.hpp"
#include "api/store_items.hpp"

#include "http/download.hpp"
#include "http/html.hpp"
#include "http/text.hpp"

#include <charconv>
#include <fcntl.h>
#include <fmt/format.h>

namespace wfhookd {

namespace {

constexpr std::size_t kPageSize = 100;

constexpr std::string_view kStyle =
    "body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:60rem}"
    "h1{font-size:1.4rem;word-break:break-all}"
    "dl{display:grid;grid-template-columns:max-content auto;gap:.3rem 1rem}"
    "dt{color:#666}dd{margin:0}"
    "img.preview{max-width:100%;max-height:70vh;border:1px solid #ddd}"
    "iframe.preview{width:100%;height:70vh;border:1px solid #ddd}"
    "a.button{display:inline-block;margin-top:1rem;padding:.5rem 1rem;background:#1565c0;"
    "color:#fff;text-decoration:none;border-radius:4px}"
    "table{border-collapse:collapse;width:100%}td{padding:.3rem .6rem;border-bottom:1px solid #eee}"
    "td.size,td.date{color:#666;white-space:nowrap}nav a{margin-right:1rem}";

// Images a browser shows in <img> (never SVG: it may carry script when opened on its own), and
// PDFs, shown in a frame of this origin.
bool raster_image(std::string_view type) {
    return type == "image/jpeg" || type == "image/png" || type == "image/gif" ||
           type == "image/webp";
}

std::string human_size(std::uint64_t bytes) {
    if (bytes < 1024) return fmt::format("{} bytes", bytes);
    const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(bytes);
    int u = -1;
    while (v >= 1024 && u < 3) {
        v /= 1024;
        ++u;
    }
    return fmt::format("{:.1f} {} ({} bytes)", v, units[u], bytes);
}

void begin_page(std::string& out, std::string_view title) {
    out.assign("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
               "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>");
    append_html_escaped(out, title);
    out.append("</title><style>").append(kStyle).append("</style></head><body><main>");
}

void page_headers(Response& res) {
    res.status = 200;
    res.content_type.assign("text/html; charset=utf-8");
    res.cache_control = "private, no-store";
    res.add_header("Content-Security-Policy",
                   "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-src "
                   "'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    res.add_header("Referrer-Policy", "no-referrer");
    res.add_header("X-Frame-Options", "DENY");
}

void file_page(StoreContext& sc, const Item& item, const LinkContext& links, std::string& out) {
    const std::string_view type = sc.mime.type_for(item.row.name);
    const std::string download =
        signed_link(sc.signer, links.base, "download", item.row.id, links.expires);
    const std::string content =
        signed_link(sc.signer, links.base, "view", item.row.id, links.expires) + "&content=1";
    begin_page(out, item.row.name);
    out.append("<h1 id=\"name\">");
    append_html_escaped(out, item.row.name);
    out.append("</h1><dl><dt>Size</dt><dd id=\"size\">");
    append_html_escaped(out, human_size(static_cast<std::uint64_t>(item.st.st_size)));
    out.append("</dd><dt>Modified</dt><dd id=\"modified\">");
    out.append(rfc3339(item.st.st_mtim));
    out.append("</dd><dt>Type</dt><dd id=\"type\">");
    append_html_escaped(out, type);
    out.append("</dd></dl>");
    if (raster_image(type)) {
        out.append("<p><img class=\"preview\" id=\"preview\" src=\"");
        append_html_escaped(out, content);
        out.append("\" alt=\"");
        append_html_escaped(out, item.row.name);
        out.append("\"></p>");
    } else if (type == "application/pdf") {
        out.append("<p><iframe class=\"preview\" id=\"preview\" src=\"");
        append_html_escaped(out, content);
        out.append("\" title=\"");
        append_html_escaped(out, item.row.name);
        out.append("\"></iframe></p>");
    } else {
        // Whatever libvips can make a picture of (an SVG, a TIFF): its thumbnail, which is a
        // plain image; nothing when there is none.
        out.append("<p><img class=\"preview\" id=\"thumbnail\" src=\"");
        append_html_escaped(
            out, signed_link(sc.signer, links.base, "thumbnail", item.row.id, links.expires) +
                     "&size=512");
        out.append("\" alt=\"\"></p>");
    }
    out.append("<a class=\"button\" id=\"download\" href=\"");
    append_html_escaped(out, download);
    out.append("\">Download</a></main></body></html>\n");
}

void folder_page(StoreContext& sc, const Item& folder, Listing& listing, std::size_t offset,
                 const LinkContext& links, std::string& out) {
    begin_page(out, folder.row.name);
    out.append("<h1 id=\"name\">");
    append_html_escaped(out, folder.row.name);
    out.append("</h1><table id=\"items\">");
    const std::size_t end = std::min(listing.items.size(), offset + kPageSize);
    for (std::size_t i = offset; i < end; ++i) {
        const IndexRow& row = listing.items[i];
        struct stat st {};
        if (fstatat(listing.folder.get(), row.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        out.append("<tr class=\"")
            .append(row.folder ? "folder" : "file")
            .append("\"><td><a href=\"");
        append_html_escaped(out, signed_link(sc.signer, links.base, "view", row.id, links.expires));
        out.append("\">");
        append_html_escaped(out, row.name);
        out.append(row.folder ? "/" : "").append("</a></td><td class=\"size\">");
        if (!row.folder)
            append_html_escaped(out, human_size(static_cast<std::uint64_t>(st.st_size)));
        out.append("</td><td class=\"date\">").append(rfc3339(st.st_mtim)).append("</td></tr>");
    }
    out.append("</table><nav>");
    const std::string self =
        signed_link(sc.signer, links.base, "view", folder.row.id, links.expires);
    if (offset > 0) {
        out.append("<a id=\"previous\" href=\"");
        append_html_escaped(
            out, fmt::format("{}&offset={}", self, offset > kPageSize ? offset - kPageSize : 0));
        out.append("\">Previous</a>");
    }
    if (end < listing.items.size()) {
        out.append("<a id=\"next\" href=\"");
        append_html_escaped(out, fmt::format("{}&offset={}", self, end));
        out.append("\">Next</a>");
    }
    out.append("</nav></main></body></html>\n");
}

} // namespace

void handle_view(const Context& ctx, const Call& call, Response& res) {
    StoreContext& sc = *ctx.store;
    const auto& p = call.params_as<ViewParams>();
    Item item;
    if (!find_item(sc, p.id, false, item, res)) return;
    const LinkContext links = link_context(sc, call.request);
    if (links.base.empty())
        return res.set_error(400, "the request names no host to link to; set [store] public_url");

    if (!p.content.empty()) {
        // The file itself, for the page's <img> or frame: images and PDFs only, inline.
        const std::string_view type = sc.mime.type_for(item.row.name);
        if (item.folder() || !(raster_image(type) || type == "application/pdf"))
            return res.set_error(404, "this file is not shown inline; download it");
        return send_file(sc, call.request, item, true, res);
    }

    std::string& out = res.body;
    if (!item.folder()) {
        page_headers(res);
        file_page(sc, item, links, out);
        return;
    }
    std::size_t offset = 0;
    if (!p.offset.empty()) {
        const auto [end, ec] = std::from_chars(
            p.offset.value.data(), p.offset.value.data() + p.offset.value.size(), offset);
        if (ec != std::errc() || end != p.offset.value.data() + p.offset.value.size())
            return res.set_error(400, "parameter offset must be a whole number of 0 or more");
    }
    Listing listing;
    if (sc.store.list(item, listing) != Outcome::ok)
        return res.set_error(404, "no such file or folder");
    page_headers(res);
    folder_page(sc, item, listing, offset, links, out);
}

} // namespace wfhookd
