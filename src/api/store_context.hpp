// What the document endpoints need in a worker: the store (its own SQLite connection), the
// link signer and the content-type table. Made after the fork, once per worker.
#pragma once

#include "http/links.hpp"
#include "http/mime.hpp"
#include "store/store.hpp"

#include <memory>
#include <string>

namespace wfhookd {

class Thumbnailer;

struct StoreContext {
    explicit StoreContext(const StoreConfig& config);
    ~StoreContext();

    Store store;
    LinkSigner signer;
    MimeTypes mime;
    std::unique_ptr<Thumbnailer> thumbnails; // libvips starts lazily, at the first thumbnail
};

} // namespace wfhookd
