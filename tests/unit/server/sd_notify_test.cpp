#include "server/sd_notify.hpp"

#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace {

// A datagram socket playing systemd's notification socket, and NOTIFY_SOCKET restored after.
struct NotifySocket {
    std::optional<std::string> saved;
    int fd = -1;

    // `name` is a path, or "@name" for the abstract namespace.
    explicit NotifySocket(const std::string& name) {
        if (const char* v = std::getenv("NOTIFY_SOCKET")) saved = v;
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        std::memcpy(sa.sun_path, name.data(), name.size());
        if (name[0] == '@') sa.sun_path[0] = '\0';
        const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
        BOOST_TEST_REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&sa), len) == 0);
    }
    ~NotifySocket() {
        close(fd);
        if (saved)
            setenv("NOTIFY_SOCKET", saved->c_str(), 1);
        else
            unsetenv("NOTIFY_SOCKET");
    }
    // The next datagram, or nothing within `ms`.
    std::optional<std::string> receive(int ms) const {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, ms) != 1) return std::nullopt;
        char buf[512];
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0) return std::nullopt;
        return std::string(buf, static_cast<std::size_t>(n));
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(sd_notify)

BOOST_AUTO_TEST_CASE(sends_one_datagram_to_a_path) {
    wftest::TempDir dir;
    const std::string path = dir.file("notify");
    NotifySocket s(path);
    setenv("NOTIFY_SOCKET", path.c_str(), 1);
    wfhookd::sd_notify_state("READY=1\nSTATUS=4 workers");
    BOOST_TEST(s.receive(5000).value_or("<nothing>") == "READY=1\nSTATUS=4 workers");
}

BOOST_AUTO_TEST_CASE(sends_to_an_abstract_socket) {
    const std::string name = "@wfhookd-test-" + std::to_string(getpid());
    NotifySocket s(name);
    setenv("NOTIFY_SOCKET", name.c_str(), 1);
    wfhookd::sd_notify_state("RELOADING=1");
    BOOST_TEST(s.receive(5000).value_or("<nothing>") == "RELOADING=1");
}

BOOST_AUTO_TEST_CASE(does_nothing_without_a_usable_socket) {
    wftest::TempDir dir;
    const std::string path = dir.file("notify");
    NotifySocket s(path);
    unsetenv("NOTIFY_SOCKET");
    wfhookd::sd_notify_state("READY=1"); // not under systemd
    setenv("NOTIFY_SOCKET", "relative/notify", 1);
    wfhookd::sd_notify_state("READY=1");
    setenv("NOTIFY_SOCKET", ("/" + std::string(200, 'x')).c_str(), 1); // too long
    wfhookd::sd_notify_state("READY=1");
    // A marker sent last arrives first: nothing was sent before it.
    setenv("NOTIFY_SOCKET", path.c_str(), 1);
    wfhookd::sd_notify_state("MARKER=1");
    BOOST_TEST(s.receive(5000).value_or("<nothing>") == "MARKER=1");
}

BOOST_AUTO_TEST_SUITE_END()
