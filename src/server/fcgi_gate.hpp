// The gate in front of libfcgi: a FastCGI request is scanned record by record as it arrives,
// before libfcgi reads a byte of it. libfcgi allocates every parameter as it reads it and
// trusts the lengths it is given (docs/architecture.md, "The FastCGI gate"); the gate counts
// the parameter bytes before anything is stored, checks every name-value length, and tells
// the worker when a request has arrived whole, so that no worker ever waits on a slow peer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace wfhookd {

namespace fcgi {
inline constexpr std::uint8_t kVersion = 1;
inline constexpr std::uint8_t kBeginRequest = 1;
inline constexpr std::uint8_t kParams = 4;
inline constexpr std::uint8_t kStdin = 5;
inline constexpr std::uint16_t kResponder = 1;
inline constexpr std::uint8_t kKeepConn = 1;
inline constexpr std::size_t kHeaderSize = 8;
// Bytes a request may spend on record headers and padding on top of its parameters (nginx
// sends its parameters in one or two records).
inline constexpr std::size_t kRecordOverhead = 4096;
} // namespace fcgi

// Scans one request: BEGIN_REQUEST, the PARAMS stream, then the STDIN stream. Feed it bytes
// in the order they arrive; it never takes a byte past the end of the request, so what it
// took can be handed to libfcgi and the rest of the connection is left for the next request.
class RequestScanner {
public:
    struct Limits {
        std::size_t max_params; // PARAMS content bytes
        std::size_t max_wait;   // CONTENT_LENGTH up to which the whole body is awaited
    };

    enum class State {
        begin,   // before or inside BEGIN_REQUEST
        params,  // inside the PARAMS stream
        stdin_,  // inside the STDIN stream
        done,    // the empty STDIN record has been seen: the request is all here
        invalid, // not a request we serve: drop the connection (error() says why)
    };

    explicit RequestScanner(Limits limits) : limits_(limits) {}
    Limits limits() const { return limits_; }

    // Takes bytes from `data` and returns how many it took (fewer than `size` only when the
    // request ended or turned out invalid). Bytes of a body that is not awaited are scanned
    // too when they are at hand, so that a request that came whole is known to be complete.
    std::size_t feed(const char* data, std::size_t size);

    State state() const { return state_; }
    bool invalid() const { return state_ == State::invalid; }
    bool complete() const { return state_ == State::done; }
    // The parameters have all arrived and the rest is a body that will not be awaited (of
    // unknown length, or longer than max_wait): the request can be served now, and its
    // body read while it streams in.
    bool streams_body() const { return state_ == State::stdin_ && !wait_body_; }
    // Whether the request can be served with what has arrived.
    bool ready() const { return complete() || streams_body(); }
    // How many bytes may be read from the connection next without going past the point where
    // ready() must be asked again (0 when it is ready or invalid).
    std::size_t readable() const;

    std::size_t consumed() const { return consumed_; }
    // Where the STDIN stream starts (the end of the parameters), once they have all arrived.
    std::size_t params_end() const { return params_end_; }
    bool keep_conn() const { return keep_conn_; }
    std::uint16_t request_id() const { return request_id_; }
    // CONTENT_LENGTH when it was sent as a plain decimal number, else -1.
    std::int64_t content_length() const { return content_length_; }
    std::string_view error() const { return error_; }

private:
    std::size_t fail(std::string_view why, std::size_t taken);
    // Takes the content of a PARAMS record; false when the pairs are malformed or too long.
    bool scan_params(const unsigned char* p, std::size_t n);
    void end_params();

    Limits limits_;
    State state_ = State::begin;
    std::size_t consumed_ = 0;
    std::string_view error_;

    // The record being read: its header bytes, then content and padding still to come.
    unsigned char header_[fcgi::kHeaderSize] = {};
    std::size_t header_got_ = 0;
    std::size_t content_left_ = 0;
    std::size_t padding_left_ = 0;
    std::uint8_t type_ = 0;
    unsigned char begin_body_[8] = {};
    std::size_t begin_got_ = 0;

    std::uint16_t request_id_ = 0;
    bool keep_conn_ = false;

    // The PARAMS stream: name-value pairs, which may span records.
    std::size_t params_bytes_ = 0;
    int pair_step_ = 0; // 0 name length, 1 value length, 2 name, 3 value
    unsigned char len_bytes_[4] = {};
    std::size_t len_got_ = 0;
    std::size_t name_len_ = 0, value_len_ = 0, left_ = 0;
    bool capture_ = false; // this pair is CONTENT_LENGTH
    char name_[14] = {};
    std::size_t name_got_ = 0;
    char value_[20] = {};
    std::size_t value_got_ = 0;
    std::int64_t content_length_ = -1;

    // The STDIN stream.
    std::size_t params_end_ = 0; // offset of its first byte
    bool wait_body_ = false;
    std::uint64_t stdin_bytes_ = 0;
};

} // namespace wfhookd
