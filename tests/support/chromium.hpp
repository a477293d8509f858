// Debian's chromium, headless, as the tests that check HTML pages run it (view_test.cpp,
// oauth2_test.cpp): as root, without network, a fresh profile per run in the test's folder.
#pragma once

#include "support/temp_dir.hpp"

#include <string>
#include <vector>

namespace wftest {

class Browser {
public:
    explicit Browser(const TempDir& dir) : dir_(dir) {}
    // The command line of one run with `extra` options and URL (for a run the test drives).
    std::vector<std::string> argv(const std::vector<std::string>& extra);
    // Runs to its end (90 s at most, else throws); what it printed, kept in the folder as `out`.
    std::string run(const std::vector<std::string>& extra, const std::string& out);
    // The DOM Chromium has after loading `url` (and the page's images and frames).
    std::string dump_dom(const std::string& url) { return run({"--dump-dom", url}, "dom.html"); }
    // Whether a screenshot of `url` was written (a PNG of some size).
    bool screenshot(const std::string& url);

private:
    const TempDir& dir_;
    int runs_ = 0;
};

} // namespace wftest
