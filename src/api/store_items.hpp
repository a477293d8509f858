// What the document endpoints share: finding the item a parameter names (with the spec's
// answers when there is none), the metadata object (spec §5), and paging parameters.
#pragma once

#include "api/router.hpp"
#include "api/store_context.hpp"
#include "http/json_writer.hpp"

#include <cstdint>
#include <string>

namespace wfhookd {

// The base and expiry of the signed links one answer carries.
struct LinkContext {
    std::string base;
    std::int64_t expires = 0;
};
LinkContext link_context(const StoreContext& sc, const Request& req);

// Finds the item `id` names ("/" for the root: also absent or empty when `empty_is_root`);
// on failure sets the 404 (or 500) answer and returns false.
bool find_item(StoreContext& sc, const Param& id, bool empty_is_root, Item& out, Response& res);

// The metadata object: title, kind, id, viewLink, downloadLink, mimeType and size (files),
// dateModified (RFC 3339 UTC, ms), readOnly. Never a server path.
void write_item(JsonWriter& w, StoreContext& sc, const Item& item, const LinkContext& links);

// Answers with the file's bytes: X-Accel-Redirect, X-Sendfile or streamed by the worker
// ([store] accel_redirect, sendfile_header), attachment or inline.
void send_file(StoreContext& sc, const Request& req, const Item& item, bool inline_, Response& res);

// max and offset of /files and /search: whole numbers; max defaults to 100 and is capped by
// [store] max_page. On a bad value sets the 400 answer and returns false.
bool paging(const StoreConfig& config, const Param& max, const Param& offset, std::size_t& out_max,
            std::size_t& out_offset, Response& res);

} // namespace wfhookd
