#include "http/response.hpp"

#include "http/json_writer.hpp"

namespace wfhookd {

std::string_view reason_phrase(int status) {
    switch (status) {
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 416:
        return "Range Not Satisfiable";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Unknown";
    }
}

void Response::clear() {
    status = 200;
    content_type.assign(kJsonType);
    cache_control.assign("no-store");
    allow = {};
    headers.clear();
    body.clear();
    file.reset();
    file_offset = file_length = 0;
    log_error.clear();
}

void Response::add_header(std::string_view name, std::string_view value) {
    headers.append(name).append(": ");
    for (const char c : value)
        headers.push_back(c == '\r' || c == '\n' ? ' ' : c);
    headers.append("\r\n");
}

void Response::set_error(int code, std::string_view message) {
    status = code;
    content_type.assign(kJsonType);
    body.clear();
    file.reset();
    JsonWriter(body).begin_object().field("status", "error").field("error", message).end_object();
    log_error.assign(message);
}

void Response::set_upload_error(int code, std::string_view message) {
    status = code;
    content_type.assign(kJsonType);
    body.clear();
    file.reset();
    JsonWriter(body)
        .begin_object()
        .field("result", "fail")
        .field("status", "error")
        .field("error", message)
        .end_object();
    log_error.assign(message);
}

void Response::set_oauth2_error(int code, std::string_view error, std::string_view description) {
    status = code;
    content_type.assign(kJsonType);
    cache_control = "no-store";
    add_header("Pragma", "no-cache");
    body.clear();
    file.reset();
    JsonWriter(body)
        .begin_object()
        .field("error", error)
        .field("error_description", description)
        .end_object();
    log_error.assign(error).append(": ").append(description);
}

void Response::set_success() {
    status = 200;
    content_type.assign(kJsonType);
    body.assign(R"({"status":"success"})");
    file.reset();
    log_error.clear();
}

} // namespace wfhookd
