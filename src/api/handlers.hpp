// Endpoint handlers and their parameter structs. Each handler sees a request that already
// passed the router's checks.
#pragma once

#include "api/router.hpp"

namespace wfhookd {

struct CustomActionParams {
    Param name;
    Param document_id;
    Param document_version_id;
};

// The document store's endpoints.
struct IdParams {
    Param id;
};
struct ListParams {
    Param parent_id;
    Param max;
    Param offset;
};
struct SearchParams {
    Param query;
    Param parent_id;
    Param max;
    Param offset;
};
// Endpoints a browser reaches with a signed link: the link's parts, then their own.
struct LinkParams {
    Param id;
    Param expires;
    Param sig;
};
struct ThumbnailParams {
    Param id;
    Param expires;
    Param sig;
    Param size;
};
struct ViewParams {
    Param id;
    Param expires;
    Param sig;
    Param content; // the file itself, inline (the page's image or frame)
    Param offset;  // a folder's page
};

// The write side.
struct UploadInitParams {
    Param parent_id;
    Param filename;
    Param document_id;
    Param document_version_id;
};
struct CreateFolderParams {
    Param parent_id;
    Param name;
};
struct DeleteParams {
    Param id;
    Param document_id; // Workfront's names for the same thing (spec §6.9)
    Param folder_id;
};
struct RenameParams {
    Param id;
    Param name;
};

// OAuth2 (api/oauth2_authorize.cpp, api/oauth2_token.cpp).
struct AuthorizeParams {
    Param state;
    Param client_id;    // refused when not ours
    Param redirect_uri; // refused when not ours
    Param expires;      // the consent form's
    Param csrf;
    Param decision; // allow or deny
};
struct TokenParams {
    Param grant_type;
    Param code;
    Param refresh_token;
    Param client_id;
    Param client_secret;
    Param redirect_uri;
};

void handle_service_info(const Context&, const Call&, Response&);
void handle_custom_action(const Context&, const Call&, Response&);
void handle_status(const Context&, const Call&, Response&);
void handle_metadata(const Context&, const Call&, Response&);
void handle_files(const Context&, const Call&, Response&);
void handle_search(const Context&, const Call&, Response&);
void handle_download(const Context&, const Call&, Response&);
void handle_thumbnail(const Context&, const Call&, Response&);
void handle_view(const Context&, const Call&, Response&);
void handle_upload_init(const Context&, const Call&, Response&);
void handle_upload(const Context&, const Call&, Response&);
void handle_create_folder(const Context&, const Call&, Response&);
void handle_delete(const Context&, const Call&, Response&);
void handle_rename(const Context&, const Call&, Response&);
void handle_authorize(const Context&, const Call&, Response&);
void handle_token(const Context&, const Call&, Response&);

// Builds the /serviceInfo body (done once per worker, kept in Context::service_info).
std::string build_service_info(const Config& config);

} // namespace wfhookd
