// What a handler produces; server/fcgi_adapter.cpp turns it into CGI headers and a body.
#pragma once

#include "util/fs.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace wfhookd {

std::string_view reason_phrase(int status);

inline constexpr std::string_view kJsonType = "application/json; charset=utf-8";

struct Response {
    int status = 200;
    std::string content_type{kJsonType};
    std::string cache_control = "no-store";
    std::string_view allow; // Allow header, sent with 405
    std::string headers;    // further header lines, "Name: value\r\n" each (add_header)
    std::string body;
    // When set, the body is `file_length` bytes of this file from `file_offset`, streamed in
    // bounded chunks (downloads without X-Accel-Redirect). The response owns the descriptor.
    Fd file;
    std::uint64_t file_offset = 0;
    std::uint64_t file_length = 0;
    std::string log_error; // the error message, for the request log line

    // Ready for the next request; keeps the strings' capacity so steady state allocates
    // nothing.
    void clear();

    // Adds "name: value"; a CR or LF in the value (which would split the header) is replaced
    // by a space.
    void add_header(std::string_view name, std::string_view value);

    // {"status":"error","error":message} with the given status code.
    void set_error(int code, std::string_view message);
    // The same with the upload vocabulary as well (spec §12 item 13):
    // {"result":"fail","status":"error","error":message}.
    void set_upload_error(int code, std::string_view message);
    // The OAuth2 endpoints' vocabulary (RFC 6749 §5.2): {"error":error,
    // "error_description":description}, never cached (Cache-Control and Pragma, §5.1).
    void set_oauth2_error(int code, std::string_view error, std::string_view description);
    // {"status":"success"} with 200.
    void set_success();
};

} // namespace wfhookd
