// Every endpoint wfhookd serves: one line each, the router does the rest. An endpoint's
// parameters are a plain struct of Param members, declared here with the rules the router
// applies to each.
#include "api/handlers.hpp"

#include <cstddef>

namespace wfhookd {

namespace {

constexpr ParamSpec kCustomActionParams[] = {
    {"name", true, 255, offsetof(CustomActionParams, name)},
    {"documentId", true, 255, offsetof(CustomActionParams, document_id)},
    {"documentVersionId", false, 255, offsetof(CustomActionParams, document_version_id)},
};

// Ids are at most 64 characters (Store::valid_id); 255 is the spec's limit for what a caller
// may send, checked before the lookup says "no such item".
constexpr ParamSpec kIdParams[] = {
    {"id", true, 255, offsetof(IdParams, id)},
};
constexpr ParamSpec kListParams[] = {
    {"parentId", false, 255, offsetof(ListParams, parent_id)},
    {"max", false, 20, offsetof(ListParams, max)},
    {"offset", false, 20, offsetof(ListParams, offset)},
};
constexpr ParamSpec kSearchParams[] = {
    {"query", false, 1024, offsetof(SearchParams, query)},
    {"parentId", false, 255, offsetof(SearchParams, parent_id)},
    {"max", false, 20, offsetof(SearchParams, max)},
    {"offset", false, 20, offsetof(SearchParams, offset)},
};
constexpr ParamSpec kLinkParams[] = {
    {"id", true, 255, offsetof(LinkParams, id)},
    {"expires", false, 20, offsetof(LinkParams, expires)},
    {"sig", false, 64, offsetof(LinkParams, sig)},
};
constexpr ParamSpec kThumbnailParams[] = {
    {"id", true, 255, offsetof(ThumbnailParams, id)},
    {"expires", false, 20, offsetof(ThumbnailParams, expires)},
    {"sig", false, 64, offsetof(ThumbnailParams, sig)},
    {"size", false, 10, offsetof(ThumbnailParams, size)},
};
constexpr ParamSpec kViewParams[] = {
    {"id", true, 255, offsetof(ViewParams, id)},
    {"expires", false, 20, offsetof(ViewParams, expires)},
    {"sig", false, 64, offsetof(ViewParams, sig)},
    {"content", false, 1, offsetof(ViewParams, content)},
    {"offset", false, 20, offsetof(ViewParams, offset)},
};

// Parameters of POST/PUT endpoints come in the query string or an
// application/x-www-form-urlencoded body (spec §12 item 16); one given in both is refused.
constexpr ParamSpec kUploadInitParams[] = {
    {"parentId", false, 255, offsetof(UploadInitParams, parent_id)},
    {"filename", true, 1024, offsetof(UploadInitParams, filename)},
    {"documentId", false, 255, offsetof(UploadInitParams, document_id)},
    {"documentVersionId", false, 255, offsetof(UploadInitParams, document_version_id)},
};
constexpr ParamSpec kCreateFolderParams[] = {
    {"parentId", false, 255, offsetof(CreateFolderParams, parent_id)},
    {"name", true, 1024, offsetof(CreateFolderParams, name)},
};
constexpr ParamSpec kDeleteParams[] = {
    {"id", false, 255, offsetof(DeleteParams, id)},
    {"documentId", false, 255, offsetof(DeleteParams, document_id)},
    {"folderId", false, 255, offsetof(DeleteParams, folder_id)},
};
constexpr ParamSpec kRenameParams[] = {
    {"id", true, 255, offsetof(RenameParams, id)},
    {"name", true, 1024, offsetof(RenameParams, name)},
};

// OAuth2: what Workfront sends is checked by the handlers, which answer in their own
// vocabulary (an HTML page, RFC 6749 errors). Unknown parameters (response_type, scope) are
// ignored.
constexpr ParamSpec kAuthorizeParams[] = {
    {"state", false, 4096, offsetof(AuthorizeParams, state)},
    {"client_id", false, 255, offsetof(AuthorizeParams, client_id)},
    {"redirect_uri", false, 2048, offsetof(AuthorizeParams, redirect_uri)},
    {"expires", false, 20, offsetof(AuthorizeParams, expires)},
    {"csrf", false, 64, offsetof(AuthorizeParams, csrf)},
    {"decision", false, 10, offsetof(AuthorizeParams, decision)},
};
constexpr ParamSpec kTokenParams[] = {
    {"grant_type", false, 64, offsetof(TokenParams, grant_type)},
    {"code", false, 128, offsetof(TokenParams, code)},
    {"refresh_token", false, 128, offsetof(TokenParams, refresh_token)},
    {"client_id", false, 255, offsetof(TokenParams, client_id)},
    {"client_secret", false, 1024, offsetof(TokenParams, client_secret)},
    {"redirect_uri", false, 2048, offsetof(TokenParams, redirect_uri)},
};

bool always(const Config&) {
    return true;
}

bool status_enabled(const Config& c) {
    return c.server.status;
}

bool oauth2_enabled(const Config& c) {
    return c.oauth2.enabled;
}

bool store_enabled(const Config& c) {
    return c.store.enabled;
}

// The write endpoints are served (and listed) only when the store accepts changes; a
// read-only store answers them with 403 (api/store_write.cpp) rather than "unknown".
bool store_writable(const Config& c) {
    return c.store.enabled && !c.store.read_only;
}

constexpr std::string_view kNoStore = "no document store is configured";
constexpr std::string_view kNoOAuth2 = "OAuth2 is not configured";

constexpr unsigned kRead = kGet | kHead;
// Spec: PUT. POST too, for clients that only post forms; DELETE for /delete (spec §12 item 17).
constexpr unsigned kChange = kPut | kPost;
constexpr unsigned kRemove = kPut | kDelete | kPost;

// One line per endpoint (kept as a table by hand: clang-format would give each field a line).
// clang-format off
const Endpoint kEndpoints[] = {
    // name          methods  Allow                access            listed          body          parameters          log handler               enabled         when not enabled
    {"serviceInfo",  kRead,   "GET, HEAD",         Access::open,     always,         Body::none,   {},                  -1, handle_service_info,  nullptr,        {}},
    {"customAction", kGet,    "GET",               Access::caller,   always,         Body::none,   kCustomActionParams,  0, handle_custom_action, nullptr,        {}},
    {"status",       kRead,   "GET, HEAD",         Access::loopback, nullptr,        Body::none,   {},                  -1, handle_status,        status_enabled, {}},
    {"metadata",     kRead,   "GET, HEAD",         Access::caller,   always,         Body::none,   kIdParams,           -1, handle_metadata,      store_enabled,  kNoStore},
    {"files",        kRead,   "GET, HEAD",         Access::caller,   always,         Body::none,   kListParams,         -1, handle_files,         store_enabled,  kNoStore},
    {"search",       kRead,   "GET, HEAD",         Access::caller,   always,         Body::none,   kSearchParams,       -1, handle_search,        store_enabled,  kNoStore},
    {"download",     kRead,   "GET, HEAD",         Access::link,     always,         Body::none,   kLinkParams,         -1, handle_download,      store_enabled,  kNoStore},
    {"thumbnail",    kRead,   "GET, HEAD",         Access::link,     always,         Body::none,   kThumbnailParams,    -1, handle_thumbnail,     store_enabled,  kNoStore},
    {"uploadInit",   kPost,   "POST",              Access::caller,   store_writable, Body::form,   kUploadInitParams,   -1, handle_upload_init,   store_enabled,  kNoStore},
    {"upload",       kChange, "PUT, POST",         Access::caller,   store_writable, Body::stream, kIdParams,           -1, handle_upload,        store_enabled,  kNoStore,  Errors::upload},
    {"createFolder", kPost,   "POST",              Access::caller,   store_writable, Body::form,   kCreateFolderParams, -1, handle_create_folder, store_enabled,  kNoStore},
    {"delete",       kRemove, "PUT, DELETE, POST", Access::caller,   store_writable, Body::form,   kDeleteParams,       -1, handle_delete,        store_enabled,  kNoStore},
    {"rename",       kChange, "PUT, POST",         Access::caller,   store_writable, Body::form,   kRenameParams,       -1, handle_rename,        store_enabled,  kNoStore},
    {"authorize",    kGet | kPost, "GET, POST", Access::open, nullptr,        Body::form,   kAuthorizeParams,    -1, handle_authorize,     oauth2_enabled, kNoOAuth2},
    {"token",        kPost,   "POST",              Access::open,     nullptr,        Body::form,   kTokenParams,        -1, handle_token,         oauth2_enabled, kNoOAuth2, Errors::oauth2},
    {"view",         kRead,   "GET, HEAD",         Access::link,     nullptr,        Body::none,   kViewParams,         -1, handle_view,          store_enabled,  kNoStore},
};
// clang-format on

} // namespace

std::span<const Endpoint> endpoints() {
    return kEndpoints;
}

} // namespace wfhookd
