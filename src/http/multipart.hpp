// A multipart/form-data body (spec §12 item 12: an upload may come as a form with one file
// part): the content of its file part, read as it streams in, in bounded memory.
#pragma once

#include "http/request.hpp"

#include <string>
#include <string_view>

namespace wfhookd {

// The boundary of a multipart/form-data Content-Type, or empty.
std::string multipart_boundary(std::string_view content_type);

class MultipartReader {
public:
    MultipartReader(BodySource& body, std::string boundary);

    // Bytes of the first part that names a file (filename=...), or of the first part when
    // none does; 0 at the end of that part; -1 when the body is not well-formed multipart, or
    // ended early (error() says which).
    long read(char* buf, std::size_t size);
    std::string_view error() const { return error_; }

private:
    bool fill(); // reads more of the body; false at its end
    long fail(std::string_view why);
    bool start_part(bool& has_file); // past the delimiter line and the part's headers
    bool skip_part();

    BodySource& body_;
    std::string delimiter_; // "\r\n--" + boundary
    std::string buf_;       // read from the body, not yet handed out
    bool started_ = false, done_ = false, body_end_ = false;
    std::string_view error_;
};

} // namespace wfhookd
