// bare_responder: the architecture's ceiling for the benchmark (docs/performance.md, target b).
//
// The least a pre-forked libfcgi program can do for /customAction: N workers block in
// FCGX_Accept_r on one unix socket, take name and documentId from QUERY_STRING, and answer
// {"status":"success"} with the headers wfhookd sends. No authentication, no logging, no
// scoreboard. Like wfhookd it calls FCGX_Detach before FCGX_Finish_r, which skips libfcgi's
// lingering close (shutdown + poll + read until nginx closes): the fastest stock-libfcgi
// variant measured in the baseline, so the ceiling is not lowered by a handicap wfhookd avoids.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcgiapp.h>
#include <string_view>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

volatile sig_atomic_t g_stop = 0;

void on_stop(int) {
    g_stop = 1;
}

int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Percent-decodes `in` into `out` (at most `cap` bytes); returns the length, or -1.
int urldecode(std::string_view in, char* out, int cap) {
    int n = 0;
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (n == cap) return -1;
        char c = in[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= in.size()) return -1;
            const int h = hex(in[i + 1]), l = hex(in[i + 2]);
            if (h < 0 || l < 0) return -1;
            c = static_cast<char>(h * 16 + l);
            i += 2;
        }
        out[n++] = c;
    }
    return n;
}

constexpr char kSuccess[] = "Status: 200 OK\r\n"
                            "Content-Type: application/json; charset=utf-8\r\n"
                            "Cache-Control: no-store\r\n"
                            "X-Content-Type-Options: nosniff\r\n"
                            "Content-Length: 20\r\n"
                            "\r\n"
                            R"({"status":"success"})";
constexpr char kMissing[] = "Status: 400 Bad Request\r\n"
                            "Content-Type: application/json; charset=utf-8\r\n"
                            "Cache-Control: no-store\r\n"
                            "X-Content-Type-Options: nosniff\r\n"
                            "Content-Length: 55\r\n"
                            "\r\n"
                            R"({"status":"error","error":"missing name or documentId"})";

// Is everything there? name and documentId present and not empty once decoded.
bool query_ok(const char* qs) {
    if (qs == nullptr) return false;
    char name[256], doc[256];
    int name_len = -1, doc_len = -1;
    std::string_view rest(qs);
    while (!rest.empty()) {
        const auto amp = rest.find('&');
        const std::string_view pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
        const auto eq = pair.find('=');
        if (eq == std::string_view::npos) continue;
        const std::string_view k = pair.substr(0, eq), v = pair.substr(eq + 1);
        if (k == "name")
            name_len = urldecode(v, name, sizeof name);
        else if (k == "documentId")
            doc_len = urldecode(v, doc, sizeof doc);
    }
    return name_len > 0 && doc_len > 0;
}

[[noreturn]] void serve(int listen_fd, bool detach) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    std::signal(SIGTERM, SIG_DFL);
    std::signal(SIGINT, SIG_DFL);
    if (FCGX_Init() != 0) _exit(3);
    FCGX_Request req;
    FCGX_InitRequest(&req, listen_fd, 0);
    while (FCGX_Accept_r(&req) >= 0) {
        const bool ok = query_ok(FCGX_GetParam("QUERY_STRING", req.envp));
        if (ok)
            FCGX_PutStr(kSuccess, sizeof kSuccess - 1, req.out);
        else
            FCGX_PutStr(kMissing, sizeof kMissing - 1, req.out);
        if (detach) FCGX_Detach(&req);
        FCGX_Finish_r(&req);
    }
    _exit(0);
}

void usage(FILE* out) {
    std::fprintf(out, "usage: bare_responder -s SOCKET_PATH [-w WORKERS] [-L]\n"
                      "  -s PATH  unix socket to create (mode 0666; an old file is replaced)\n"
                      "  -w N     worker processes (default 2)\n"
                      "  -L       keep libfcgi's lingering close (no FCGX_Detach)\n"
                      "SIGTERM or SIGINT stops the workers and removes the socket.\n");
}

} // namespace

int main(int argc, char** argv) {
    const char* path = nullptr;
    int workers = 2;
    bool detach = true;
    int opt;
    while ((opt = getopt(argc, argv, "s:w:Lh")) != -1) {
        switch (opt) {
        case 's':
            path = optarg;
            break;
        case 'w':
            workers = std::atoi(optarg);
            break;
        case 'L':
            detach = false;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    sockaddr_un sa{};
    if (path == nullptr || workers < 1 || std::strlen(path) >= sizeof sa.sun_path) {
        usage(stderr);
        return 2;
    }

    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sa.sun_family = AF_UNIX;
    std::strcpy(sa.sun_path, path);
    unlink(path);
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        chmod(path, 0666) != 0 || listen(fd, 511) != 0) {
        std::fprintf(stderr, "bare_responder: %s: %s\n", path, std::strerror(errno));
        return 1;
    }

    struct sigaction act {};
    act.sa_handler = on_stop;
    sigemptyset(&act.sa_mask);
    sigaction(SIGTERM, &act, nullptr);
    sigaction(SIGINT, &act, nullptr);

    std::vector<pid_t> pids;
    for (int i = 0; i < workers; ++i) {
        const pid_t pid = fork();
        if (pid == 0) serve(fd, detach);
        if (pid < 0) {
            std::perror("bare_responder: fork");
            g_stop = 1;
            break;
        }
        pids.push_back(pid);
    }
    std::fprintf(stderr, "bare_responder: %d workers on %s%s\n", workers, path,
                 detach ? "" : " (lingering close)");

    // Wait for a stop signal (or for every worker to be gone).
    std::size_t live = pids.size();
    while (!g_stop && live > 0) {
        int status;
        const pid_t pid = wait(&status);
        if (pid > 0) {
            --live;
            std::fprintf(stderr, "bare_responder: worker %d exited (status %d)\n", pid, status);
        }
    }
    for (const pid_t pid : pids)
        kill(pid, SIGTERM);
    while (wait(nullptr) > 0 || errno == EINTR) {
    }
    unlink(path);
    return 0;
}
