// Which FastCGI parameters fill which Request fields, and what a repeated parameter or a
// missing DOCUMENT_URI means. Every web server fills them its own way (docs/deployment.md,
// "Other web servers"): nginx sends DOCUMENT_URI, lighttpd SCRIPT_NAME + PATH_INFO, Apache a
// full SCRIPT_NAME, Caddy an empty DOCUMENT_URI and the whole path in PATH_INFO.
#pragma once

#include "http/request.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace wfhookd {

class ParamReader {
public:
    // `user_param`: the parameter that names the user the web server authenticated
    // ([oauth2] user_header).
    explicit ParamReader(std::string user_param = "REMOTE_USER");

    // Fills `out` (all but the body) from the "NAME=value" strings of `envp` (null-terminated).
    // Views point into `envp` and into this reader (a composed or decoded path) and stay valid
    // until the next read().
    //
    // A parameter repeated with the same value is one parameter. A client header (HTTP_*)
    // repeated with different values is ambiguous: out.malformed is set (400). A server
    // parameter repeated with different values is the web server's configuration, not the
    // client's doing: the last one wins, as in php-fpm, and `conflict` names it the first time
    // this reader sees it (the worker logs it once).
    void read(const char* const* envp, Request& out, std::string_view& conflict);

private:
    std::string user_param_;
    std::string path_;
    std::uint64_t reported_ = 0; // parameters whose conflict was already reported
};

} // namespace wfhookd
