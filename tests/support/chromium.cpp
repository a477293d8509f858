#include "support/chromium.hpp"

#include "support/process.hpp"

#include <chrono>
#include <stdexcept>
#include <sys/stat.h>

using namespace std::chrono_literals;

namespace wftest {

std::vector<std::string> Browser::argv(const std::vector<std::string>& extra) {
    std::vector<std::string> a = {
        "/usr/bin/chromium",
        "--headless",
        "--no-sandbox", // as root
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking", // nothing reaches out of the machine
        "--disable-component-update",
        "--disable-sync",
        "--ignore-certificate-errors", // the test stacks' certificates are self-signed
        "--user-data-dir=" + dir_.file("chromium-" + std::to_string(runs_++)),
    };
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
}

std::string Browser::run(const std::vector<std::string>& extra, const std::string& out) {
    Process p(argv(extra), dir_.file(out));
    if (p.wait(90s) != 0) throw std::runtime_error("chromium failed: " + read_file(dir_.file(out)));
    return read_file(dir_.file(out));
}

bool Browser::screenshot(const std::string& url) {
    const std::string png = dir_.file("shot.png");
    run({"--screenshot=" + png, "--window-size=1000,800", url}, "shot.log");
    struct stat st {};
    return stat(png.c_str(), &st) == 0 && st.st_size > 1000 && read_file(png).substr(1, 3) == "PNG";
}

} // namespace wftest
