// A small FastCGI client for tests: encodes requests record by record (so tests can also send
// garbage, truncated or oversized records) and decodes the responder's reply.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wftest {

using Params = std::vector<std::pair<std::string, std::string>>;

// Raw records.
std::string fcgi_record(std::uint8_t type, std::uint16_t request_id, std::string_view content);
std::string fcgi_begin_request(std::uint16_t request_id, bool keep_conn = false);
std::string fcgi_encode_params(const Params& params); // name-value pairs, no record header
// A whole request: BEGIN_REQUEST, PARAMS (split into records as needed), empty PARAMS, STDIN
// with `body` if any, empty STDIN.
std::string fcgi_request(const Params& params, std::string_view body = {},
                         std::uint16_t request_id = 1, bool keep_conn = false);

struct FcgiReply {
    bool complete = false;                      // END_REQUEST seen
    int status = 200;                           // from the Status: header (200 when absent)
    std::map<std::string, std::string> headers; // names lower-cased
    std::string body;
    std::string stdout_raw; // all FCGI_STDOUT content
    std::uint32_t app_status = 0;
};

// Parses FCGI_STDOUT/END_REQUEST records of a complete reply.
FcgiReply fcgi_parse_reply(std::string_view bytes);

// Connection helpers (unix path or "host:port"); -1 on failure.
int connect_unix(const std::string& path);
int connect_tcp(const std::string& host, std::uint16_t port, const std::string& source = "");

// Writes all of `data`; false on error.
bool write_all(int fd, std::string_view data);
// Reads until EOF or the deadline.
std::string read_until_eof(int fd, std::chrono::milliseconds timeout);

// Reads one reply on a connection that stays open (FCGI_KEEP_CONN): up to and including its
// END_REQUEST record and not a byte further (a reply pipelined behind it stays on the
// connection for the next call), or what came before EOF or the deadline.
std::string read_reply(int fd, std::chrono::milliseconds timeout);

// Sends one request on a new connection to a unix socket and returns the reply.
FcgiReply fcgi_call(const std::string& socket_path, const Params& params,
                    std::string_view body = {},
                    std::chrono::milliseconds timeout = std::chrono::seconds(10));

} // namespace wftest
