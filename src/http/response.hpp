// What a handler produces; fcgi_adapter.cpp turns it into CGI headers and a body.
#pragma once

#include <string>
#include <string_view>

namespace wfhookd {

std::string_view reason_phrase(int status);

struct Response {
    int status = 200;
    std::string_view allow; // Allow header, sent with 405
    std::string body;       // always JSON
    std::string log_error;  // the error message, for the request log line

    // Ready for the next request; keeps the body's capacity so steady state allocates nothing.
    void clear() {
        status = 200;
        allow = {};
        body.clear();
        log_error.clear();
    }

    // {"status":"error","error":message} with the given status code.
    void set_error(int code, std::string_view message);
    // {"status":"success"} with 200.
    void set_success();
};

} // namespace wfhookd
