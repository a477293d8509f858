// What the end-to-end tests of the store's write side share (upload_test.cpp,
// upload_failures_test.cpp, store_changes_test.cpp, thumbnail_test.cpp): a store behind nginx,
// the calls a Workfront client makes, and looks at the store's folder on disk (the trash,
// what uploads leave).
#pragma once

#include "support/http_stream.hpp"
#include "support/json_check.hpp"
#include "support/process.hpp"
#include "support/signed_links.hpp"
#include "support/stack.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

namespace wftest::writes {

inline constexpr std::uint64_t kMiB = 1 << 20;

// The names a user may give a file (the valid ones of store_test.cpp's list): spaces, URL and
// shell metacharacters, quotes, emoji. Then names uploadInit refuses (store_test.cpp's
// control character and non-UTF-8 bytes, a hidden name, a slash), with the reason it gives.
inline const std::vector<std::string> kHostileNames = {
    "with space.txt",
    "100% sure.txt",
    "what?.txt",
    "#hash.txt",
    "a+b=c&d.txt",
    "quote\"d.txt",
    "it's.txt",
    "\xF0\x9F\x93\x84 emoji.txt",
    "<script>alert(1)<\\script>.txt",
    "back\\slash.txt",
    "semi;colon.txt",
};
inline const std::vector<std::pair<std::string, std::string>> kInvalidNames = {
    {"line\nbreak.txt", "parameter filename cannot contain control characters"},
    {"caf\xE9-latin1.txt", "parameter filename is not valid UTF-8"},
    {".hidden", "parameter filename cannot start with '.' (hidden names are wfhookd's own)"},
    {"a/b.txt", "parameter filename cannot contain '/'"},
};

// /upload's answers (spec §6.7, §12 item 13).
inline const std::string kUploaded = R"({"result":"success"})";
inline std::string upload_fail(const std::string& error) {
    return R"({"result":"fail","status":"error","error":")" + error + R"("})";
}

// The path and query of an absolute link.
inline std::string target_of(const std::string& url) {
    const auto slash = url.find('/', url.find("://") + 3);
    return url.substr(slash);
}

// A tmpfs mounted for one test, unmounted (lazily, whatever still uses it) when it goes away.
class TmpfsMount {
public:
    TmpfsMount() = default;
    TmpfsMount(const TmpfsMount&) = delete;
    TmpfsMount& operator=(const TmpfsMount&) = delete;
    ~TmpfsMount() {
        if (!path_.empty()) umount2(path_.c_str(), MNT_DETACH);
    }
    void mount(const std::string& path, const std::string& options) {
        if (::mount("tmpfs", path.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0)
            throw std::runtime_error("mount -t tmpfs -o " + options + " " + path + ": " +
                                     std::strerror(errno));
        path_ = path;
    }

private:
    std::string path_;
};

struct WriteOptions {
    std::string store;                     // lines added to [store]
    std::string server = "status = yes\n"; // lines added to [server]
    NginxOptions nginx;                    // e.g. other locations
    std::string tmpfs;                     // mount the store's root as tmpfs -o THIS
};

// wfhookd with a writable store (and /status) behind nginx, and what a client does with it.
class WriteStack {
public:
    explicit WriteStack(const WriteOptions& o = {})
        : wfhookd(dir, options(o)), nginx(dir, {"unix:" + wfhookd.socket_path()}, o.nginx) {
        if (!o.tmpfs.empty()) mount.mount(root(), o.tmpfs);
        wfhookd.start();
    }
    static WfhookdOptions options(const WriteOptions& o) {
        WfhookdOptions w;
        w.store = true;
        w.store_config = o.store;
        w.server = o.server;
        return w;
    }

    TempDir dir;
    TmpfsMount mount; // after dir, before wfhookd: unmounted once wfhookd has stopped
    Wfhookd wfhookd;
    Nginx nginx;

    std::string root() const { return wfhookd.store_root(); }
    std::string audit_path() const { return dir.file("wfhookd.store-audit.jsonl"); }
    std::string trash() const { return root() + "/.wfhookd-trash"; }
    Headers auth(const std::string& user = "alice@example.com") const {
        return {{"apiKey", wfhookd.api_key()}, {"username", user}};
    }
    unsigned short port() const { return nginx.http_port(); }

    // An authenticated call through nginx.
    HttpResponse call(const std::string& method, const std::string& target,
                      const std::string& body = {}, Headers extra = {}) const {
        Headers h = auth();
        h.insert(h.end(), extra.begin(), extra.end());
        return http_request("127.0.0.1", port(), method, target, h, body);
    }
    Json json(const std::string& method, const std::string& target) const {
        const HttpResponse r = call(method, target);
        if (r.status != 200)
            throw std::runtime_error(method + " " + target + ": " + std::to_string(r.status) + " " +
                                     r.body);
        return parse_json(r.body);
    }
    Json meta(const std::string& id) const {
        return json("GET", "/wf/metadata?id=" + url_encode(id));
    }
    std::vector<Json> list(const std::string& parent) const {
        return json("GET", "/wf/files?max=1000&parentId=" + url_encode(parent)).items;
    }
    std::string id_of(const std::string& parent, const std::string& title) const {
        for (const Json& item : list(parent))
            if (item.at("title").text == title) return item.at("id").text;
        return {};
    }
    // POST /uploadInit: the new file's metadata (throws unless 200).
    Json upload_init(const std::string& parent, const std::string& filename,
                     const std::string& extra = "") const {
        return json("POST", "/wf/uploadInit?parentId=" + url_encode(parent) +
                                "&filename=" + url_encode(filename) + extra);
    }
    Json create_folder(const std::string& parent, const std::string& name) const {
        return json("POST", "/wf/createFolder?parentId=" + url_encode(parent) +
                                "&name=" + url_encode(name));
    }
    // PUT /upload of generated content (a request to adjust, then stream()).
    StreamRequest upload_request(const std::string& id, const Content& body) const {
        StreamRequest r;
        r.target = "/wf/upload?id=" + url_encode(id);
        r.headers = auth();
        r.headers.emplace_back("Content-Type", "application/octet-stream");
        r.body = body;
        return r;
    }
    StreamResult stream(const StreamRequest& r) const { return http_stream(port(), r); }
    StreamResult upload(const std::string& id, const Content& body) const {
        return stream(upload_request(id, body));
    }
    HttpResponse upload_bytes(const std::string& id, const std::string& bytes) const {
        return call("PUT", "/wf/upload?id=" + url_encode(id), bytes);
    }
    // What the item's downloadLink gives a browser (no apiKey): "<status> <sha256> <bytes>".
    std::string download(const std::string& id) const {
        const std::string link = meta(id).at("downloadLink").text;
        Sha256 h;
        std::uint64_t n = 0;
        StreamRequest r;
        r.method = "GET";
        r.target = target_of(link);
        r.sink = [&](std::string_view bytes) {
            h.update(bytes);
            n += bytes.size();
        };
        const StreamResult s = stream(r);
        return std::to_string(s.response.status) + (s.response.ok ? "" : " incomplete") + " " +
               h.hex() + " " + std::to_string(n);
    }
    static std::string expect(const std::string& sha, std::uint64_t n) {
        return "200 " + sha + " " + std::to_string(n);
    }

    // GET /status (loopback): the pid of the worker serving an upload, 0 if none.
    pid_t upload_worker() const {
        const HttpResponse r = http_request("127.0.0.1", port(), "GET", "/wf/status");
        if (r.status != 200) return 0;
        const Json status = parse_json(r.body);
        for (const Json& p : status.at("processes").items)
            if (const Json* ep = p.get("endpoint"); ep != nullptr && ep->text == "upload")
                return static_cast<pid_t>(std::stol(p.at("pid").text));
        return 0;
    }

    // The size of the upload temporary file a worker has open (unnamed, O_TMPFILE, or a
    // .wfhookd-up- name): how much of a body reached wfhookd. 0 when it has none.
    std::uint64_t temp_bytes(pid_t pid) const {
        std::uint64_t most = 0;
        const std::string fds = "/proc/" + std::to_string(pid) + "/fd";
        for (const std::string& n : names_in(fds)) {
            char target[4096];
            const ssize_t len = readlink((fds + "/" + n).c_str(), target, sizeof target - 1);
            if (len <= 0) continue;
            const std::string t(target, static_cast<std::size_t>(len));
            if (!t.starts_with(root() + "/") ||
                (t.find("/.wfhookd-up-") == std::string::npos && !t.ends_with(" (deleted)")))
                continue;
            struct stat st {};
            if (stat((fds + "/" + n).c_str(), &st) == 0)
                most = std::max(most, static_cast<std::uint64_t>(st.st_size));
        }
        return most;
    }

    // Every upload temporary file (.wfhookd-up-*) anywhere beneath the root, trash included.
    std::vector<std::string> leftovers() const {
        std::vector<std::string> out;
        std::error_code ec;
        for (auto it = std::filesystem::recursive_directory_iterator(root(), ec);
             !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
            if (it->path().filename().string().starts_with(".wfhookd-up-"))
                out.push_back(it->path().string());
        return out;
    }
    // Names in a folder on disk (hidden ones included), sorted.
    static std::vector<std::string> names_in(const std::string& path) {
        std::vector<std::string> out;
        if (DIR* d = opendir(path.c_str())) {
            while (const dirent* e = readdir(d))
                if (std::string_view(e->d_name) != "." && std::string_view(e->d_name) != "..")
                    out.emplace_back(e->d_name);
            closedir(d);
        }
        std::sort(out.begin(), out.end());
        return out;
    }
    std::vector<std::string> audit_lines() const {
        std::vector<std::string> out;
        std::ifstream in(audit_path());
        for (std::string line; std::getline(in, line);)
            out.push_back(line);
        return out;
    }
    // Stops and starts the daemon (nginx stays).
    void restart() {
        wfhookd.stop();
        wfhookd.start();
    }
};

// A progress callback that holds an upload once `at` body bytes are sent, until released (or
// a minute passed: a failed test must not hang).
class PauseAt {
public:
    explicit PauseAt(std::uint64_t at) : at_(at) {}
    void operator()(std::uint64_t sent) {
        if (sent < at_) return;
        std::unique_lock lock(m_);
        if (reached_) return;
        reached_ = true;
        cv_.notify_all();
        cv_.wait_for(lock, std::chrono::seconds(60), [&] { return released_; });
    }
    bool wait_reached(std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
        std::unique_lock lock(m_);
        return cv_.wait_for(lock, timeout, [&] { return reached_; });
    }
    void release() {
        const std::lock_guard lock(m_);
        released_ = true;
        cv_.notify_all();
    }

private:
    std::uint64_t at_;
    std::mutex m_;
    std::condition_variable cv_;
    bool reached_ = false, released_ = false;
};

} // namespace wftest::writes
