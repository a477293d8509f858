// libFuzzer target: request handling as a handler sees it — routing, authentication,
// parameter validation, error bodies. The input is split into request fields; every response
// must have a known status and a body that is strict JSON (tests/support/json_check).
#include "api/context.hpp"
#include "api/router.hpp"
#include "http/request.hpp"
#include "http/response.hpp"
#include "support/json_check.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <unistd.h>

namespace {

const wfhookd::Context* g_ctx = nullptr;
std::string g_key;

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    char dir[] = "/tmp/wfhookd-fuzz-XXXXXX";
    if (mkdtemp(dir) == nullptr) std::abort();
    const std::string d = dir;
    g_key = "fuzz-key-0123456789abcdef";
    std::ofstream(d + "/keys") << g_key << "\n";
    std::ofstream(d + "/conf") << "[server]\nmax_query_size = 2k\n[auth]\napi_key_file = " << d
                               << "/keys\nusers = alice bob\n[action:noop]\ntype = noop\n"
                                  "[action:a.b-c_d]\ntype = noop\ndisplay_name = \xC3\xA9\n";
    wfhookd::ConfigResult r = wfhookd::load_config(d + "/conf");
    unlink((d + "/keys").c_str());
    unlink((d + "/conf").c_str());
    rmdir(d.c_str());
    if (!r.config) std::abort();
    g_ctx = new wfhookd::Context(r.config);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // Fields separated by '\n': method, path, query, apiKey, username, content length.
    // A first byte of '!' means "use the real key" so the fuzzer reaches past authentication.
    std::string_view in(reinterpret_cast<const char*>(data), size);
    bool real_key = false;
    if (!in.empty() && in.front() == '!') {
        real_key = true;
        in.remove_prefix(1);
    }
    std::string_view f[6];
    for (auto& field : f) {
        const auto nl = in.find('\n');
        field = in.substr(0, nl);
        in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    }
    wfhookd::Request req;
    req.method = f[0];
    req.path = f[1];
    req.query = f[2];
    req.api_key = real_key ? std::string_view(g_key) : f[3];
    req.username = f[4];
    req.content_length = f[5].size() * 1000;
    wfhookd::Response res;
    wfhookd::RouteInfo info;
    wfhookd::route(*g_ctx, req, res, info);
    switch (res.status) {
    case 200:
    case 400:
    case 403:
    case 404:
    case 405:
    case 413:
    case 500:
    case 503:
        break;
    default:
        std::abort();
    }
    if (!wftest::json_error(res.body).empty()) {
        std::fprintf(stderr, "invalid JSON: %s\n", wftest::json_error(res.body).c_str());
        std::abort();
    }
    return 0;
}
