#include "temp_dir.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>

namespace wftest {

TempDir::TempDir() {
    // Under the run's own directory when scripts/run-tests gives one, so that it can find
    // anything a crashed test binary left running.
    const char* base = std::getenv("WFHOOKD_TEST_TMP");
    std::string tmpl =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/wfhookd-test.XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
    // Traversable by daemons the tests start under another user (nginx workers).
    chmod(path_.c_str(), 0755);
}

TempDir::~TempDir() {
    std::error_code ec;
    // Tests may leave read-only or non-searchable directories behind: open them up first.
    for (auto it = std::filesystem::recursive_directory_iterator(
             path_, std::filesystem::directory_options::skip_permission_denied, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_directory(ec) && !it->is_symlink(ec)) chmod(it->path().c_str(), 0700);
    }
    std::filesystem::remove_all(path_, ec);
}

std::string TempDir::file(std::string_view name) const {
    return path_ + "/" + std::string(name);
}

std::string TempDir::write(std::string_view name, std::string_view content, mode_t mode) const {
    const std::string p = file(name);
    // Missing parent directories inside the temporary directory are created.
    std::filesystem::create_directories(std::filesystem::path(p).parent_path());
    {
        std::ofstream out(p, std::ios::binary | std::ios::trunc);
        out.write(content.data(), static_cast<std::streamsize>(content.size()));
        if (!out) throw std::runtime_error("cannot write " + p);
    }
    if (chmod(p.c_str(), mode) != 0) throw std::runtime_error("cannot chmod " + p);
    return p;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

bool file_exists(const std::string& path) {
    struct stat st {};
    return lstat(path.c_str(), &st) == 0;
}

} // namespace wftest
