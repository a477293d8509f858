#include "http/response.hpp"

#include "http/json_writer.hpp"

namespace wfhookd {

std::string_view reason_phrase(int status) {
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Content Too Large";
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

void Response::set_error(int code, std::string_view message) {
    status = code;
    body.clear();
    JsonWriter(body).begin_object().field("status", "error").field("error", message).end_object();
    log_error.assign(message);
}

void Response::set_success() {
    status = 200;
    body.assign(R"({"status":"success"})");
    log_error.clear();
}

} // namespace wfhookd
