// Placeholder until the libvips implementation lands: every document is "unsupported".
#include "store/thumbnail.hpp"

namespace wfhookd {

Thumbnailer::Thumbnailer(const StoreConfig& config) : config_(config) {}

Thumbnailer::~Thumbnailer() = default;

bool Thumbnailer::start(std::string& detail) {
    detail = "thumbnails are not available in this build";
    return false;
}

ThumbnailResult Thumbnailer::get(int, const struct stat&, std::string_view, unsigned, std::int64_t,
                                 Thumbnail&, std::string& detail) {
    start(detail);
    return ThumbnailResult::unsupported;
}

void Thumbnailer::trim_cache(const std::string&, std::uint64_t) {}

} // namespace wfhookd
