// A private temporary directory for one test, removed with everything in it when the object
// goes out of scope.
#pragma once

#include <string>
#include <string_view>
#include <sys/types.h>

namespace wftest {

class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    // path() + "/" + name (the file need not exist).
    std::string file(std::string_view name) const;
    // Writes `content` to path()/name with `mode` (set exactly, whatever the umask), creating
    // missing parent directories; returns the full path.
    std::string write(std::string_view name, std::string_view content, mode_t mode = 0600) const;

private:
    std::string path_;
};

// The whole content of a file (empty when it cannot be read).
std::string read_file(const std::string& path);

// Whether anything (file, socket, dangling link) exists at `path`.
bool file_exists(const std::string& path);

} // namespace wftest
