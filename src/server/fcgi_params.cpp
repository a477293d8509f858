#include "server/fcgi_params.hpp"

#include <charconv>
#include <cstring>

namespace wfhookd {

namespace {

// The parameters we read. Client headers (HTTP_*) first: kFirstServer marks where the web
// server's own parameters start.
enum Param {
    kApiKey,
    kUsername,
    kAuthorization,
    kHost,
    kIfNoneMatch,
    kRange,
    kIfRange,
    kOrigin,
    kReferer,
    kFirstServer,
    kMethod = kFirstServer,
    kDocumentUri,
    kScriptName,
    kPathInfo,
    kRequestUri,
    kQuery,
    kContentLength,
    kContentType,
    kRemoteAddr,
    kRequestId,
    kHttps,
    kScheme,
    kServerPort,
    kUser, // [oauth2] user_header: its name is configured (and may be an HTTP_ header)
    kParamCount
};

constexpr const char* kNames[kParamCount] = {
    "HTTP_APIKEY",    "HTTP_USERNAME", "HTTP_AUTHORIZATION", "HTTP_HOST",    "HTTP_IF_NONE_MATCH",
    "HTTP_RANGE",     "HTTP_IF_RANGE", "HTTP_ORIGIN",        "HTTP_REFERER", "REQUEST_METHOD",
    "DOCUMENT_URI",   "SCRIPT_NAME",   "PATH_INFO",          "REQUEST_URI",  "QUERY_STRING",
    "CONTENT_LENGTH", "CONTENT_TYPE",  "REMOTE_ADDR",        "REQUEST_ID",   "HTTPS",
    "REQUEST_SCHEME", "SERVER_PORT",   "(user_header)",
};

// Which parameter `name` is, or -1. Called for every parameter of every request: a switch on
// the length and one or two comparisons, rather than a scan of a table.
int param_index(std::string_view name) {
    switch (name.size()) {
    case 5:
        return name == "HTTPS" ? kHttps : -1;
    case 9:
        if (name == "HTTP_HOST") return kHost;
        return name == "PATH_INFO" ? kPathInfo : -1;
    case 10:
        if (name == "REQUEST_ID") return kRequestId;
        return name == "HTTP_RANGE" ? kRange : -1;
    case 11:
        if (name == "HTTP_APIKEY") return kApiKey;
        if (name == "REMOTE_ADDR") return kRemoteAddr;
        if (name == "SCRIPT_NAME") return kScriptName;
        if (name == "REQUEST_URI") return kRequestUri;
        if (name == "HTTP_ORIGIN") return kOrigin;
        return name == "SERVER_PORT" ? kServerPort : -1;
    case 12:
        if (name == "DOCUMENT_URI") return kDocumentUri;
        if (name == "QUERY_STRING") return kQuery;
        if (name == "CONTENT_TYPE") return kContentType;
        return name == "HTTP_REFERER" ? kReferer : -1;
    case 13:
        if (name == "HTTP_USERNAME") return kUsername;
        return name == "HTTP_IF_RANGE" ? kIfRange : -1;
    case 14:
        if (name == "REQUEST_METHOD") return kMethod;
        if (name == "CONTENT_LENGTH") return kContentLength;
        return name == "REQUEST_SCHEME" ? kScheme : -1;
    case 18:
        if (name == "HTTP_AUTHORIZATION") return kAuthorization;
        return name == "HTTP_IF_NONE_MATCH" ? kIfNoneMatch : -1;
    default:
        return -1;
    }
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// The path of a REQUEST_URI, percent-decoded as a web server would before matching it
// (nginx: /wf/service%49nfo is /wf/serviceInfo). A malformed escape stays as it is; false for
// an encoded NUL.
bool decode_path(std::string_view uri, std::string& out) {
    uri = uri.substr(0, uri.find('?'));
    out.clear();
    for (std::size_t i = 0; i < uri.size(); ++i) {
        const int hi = uri[i] == '%' && i + 2 < uri.size() ? hex_value(uri[i + 1]) : -1;
        const int lo = hi >= 0 ? hex_value(uri[i + 2]) : -1;
        if (lo < 0) {
            out.push_back(uri[i]);
            continue;
        }
        const char c = static_cast<char>(hi * 16 + lo);
        if (c == '\0') return false;
        out.push_back(c);
        i += 2;
    }
    return true;
}

} // namespace

ParamReader::ParamReader(std::string user_param) : user_param_(std::move(user_param)) {}

void ParamReader::read(const char* const* envp, Request& out, std::string_view& conflict) {
    out = Request{};
    conflict = {};
    std::string_view found[kParamCount];
    bool seen[kParamCount] = {};
    for (const char* const* p = envp; *p != nullptr; ++p) {
        const char* eq = std::strchr(*p, '=');
        if (eq == nullptr) continue;
        const std::string_view name(*p, static_cast<std::size_t>(eq - *p));
        int i = param_index(name);
        if (name == user_param_) i = kUser; // may also be a name param_index knows
        if (i < 0) continue;
        const std::string_view value(eq + 1);
        if (seen[i] && found[i] != value) {
            if (i < kFirstServer || (i == kUser && name.starts_with("HTTP_"))) {
                out.malformed = "a request header was sent twice with different values";
            } else if ((reported_ & (std::uint64_t(1) << i)) == 0) {
                reported_ |= std::uint64_t(1) << i;
                conflict = i == kUser ? std::string_view(user_param_) : kNames[i];
            }
        }
        seen[i] = true;
        found[i] = value;
    }
    out.method = found[kMethod];
    out.query = found[kQuery];
    out.api_key = found[kApiKey];
    out.username = found[kUsername];
    out.authorization = found[kAuthorization];
    out.remote_addr = found[kRemoteAddr];
    out.request_id = found[kRequestId];
    out.content_type = found[kContentType];
    out.host = found[kHost];
    out.server_port = found[kServerPort];
    out.https = found[kHttps] == "on" || found[kHttps] == "ON" || found[kHttps] == "1" ||
                found[kScheme] == "https";
    out.if_none_match = found[kIfNoneMatch];
    out.range = found[kRange];
    out.if_range = found[kIfRange];
    out.origin = found[kOrigin];
    out.referer = found[kReferer];
    out.remote_user = found[kUser];

    // The path: the first non-empty of DOCUMENT_URI, SCRIPT_NAME + PATH_INFO, REQUEST_URI.
    if (!found[kDocumentUri].empty()) {
        out.path = found[kDocumentUri];
    } else if (!found[kScriptName].empty() || !found[kPathInfo].empty()) {
        if (found[kPathInfo].empty()) {
            out.path = found[kScriptName];
        } else if (found[kScriptName].empty()) {
            out.path = found[kPathInfo];
        } else {
            path_.assign(found[kScriptName]).append(found[kPathInfo]);
            out.path = path_;
        }
    } else if (!found[kRequestUri].empty()) {
        if (decode_path(found[kRequestUri], path_))
            out.path = path_;
        else
            out.malformed = "the request path contains an encoded NUL byte";
    }

    // CONTENT_LENGTH: absent, empty or -1 mean "unknown" (a chunked body, Caddy sends -1);
    // the body, if any, is read to its end under the same limits.
    const std::string_view cl = found[kContentLength];
    if (cl.empty() || cl == "-1") {
        out.content_length = -1;
    } else {
        std::uint64_t n = 0;
        const auto [end, ec] = std::from_chars(cl.data(), cl.data() + cl.size(), n);
        if (ec != std::errc() || end != cl.data() + cl.size() || n > (std::uint64_t(1) << 62))
            out.malformed = "CONTENT_LENGTH is not a number";
        else
            out.content_length = static_cast<std::int64_t>(n);
    }
}

} // namespace wfhookd
