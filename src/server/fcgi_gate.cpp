#include "server/fcgi_gate.hpp"

#include <algorithm>
#include <cstring>

namespace wfhookd {

namespace {

constexpr char kContentLength[] = "CONTENT_LENGTH";
constexpr std::size_t kContentLengthName = sizeof kContentLength - 1;

} // namespace

std::size_t RequestScanner::fail(std::string_view why, std::size_t taken) {
    state_ = State::invalid;
    error_ = why;
    consumed_ += taken;
    return taken;
}

std::size_t RequestScanner::readable() const {
    if (state_ == State::done || state_ == State::invalid || streams_body()) return 0;
    if (header_got_ < fcgi::kHeaderSize) return fcgi::kHeaderSize - header_got_;
    // Inside a record. After an empty record a decision is due (end of the parameters, end of
    // the request); after any other record comes at least the next header.
    const bool empty_record = header_[4] == 0 && header_[5] == 0;
    return content_left_ + padding_left_ + (empty_record ? 0 : fcgi::kHeaderSize);
}

bool RequestScanner::scan_params(const unsigned char* p, std::size_t n) {
    params_bytes_ += n;
    if (params_bytes_ > limits_.max_params) {
        error_ = "FastCGI parameters larger than max_params_size";
        return false;
    }
    while (n > 0) {
        if (pair_step_ <= 1) {
            // A length: one byte below 128, else four bytes with the top bit set.
            const unsigned char b = *p++;
            --n;
            std::size_t len = 0;
            if (len_got_ == 0 && b < 0x80) {
                len = b;
            } else {
                len_bytes_[len_got_++] = b;
                if (len_got_ < 4) continue;
                len = (std::size_t(len_bytes_[0] & 0x7F) << 24) |
                      (std::size_t(len_bytes_[1]) << 16) | (std::size_t(len_bytes_[2]) << 8) |
                      len_bytes_[3];
            }
            len_got_ = 0;
            if (pair_step_ == 0) {
                name_len_ = len;
                pair_step_ = 1;
                continue;
            }
            value_len_ = len;
            // Checked here, before a byte of the pair is taken: libfcgi adds the two lengths
            // without checking for overflow.
            if (name_len_ > limits_.max_params || value_len_ > limits_.max_params ||
                name_len_ + value_len_ > limits_.max_params) {
                error_ = "a FastCGI parameter longer than max_params_size";
                return false;
            }
            pair_step_ = 2;
            left_ = name_len_;
            capture_ = name_len_ == kContentLengthName;
            name_got_ = value_got_ = 0;
        } else {
            const std::size_t k = std::min(left_, n);
            if (capture_ && pair_step_ == 2) {
                std::memcpy(name_ + name_got_, p, k);
                name_got_ += k;
            } else if (capture_ && value_got_ + k <= sizeof value_) {
                std::memcpy(value_ + value_got_, p, k);
                value_got_ += k;
            } else if (capture_) {
                value_got_ = sizeof value_ + 1; // too long to be a length we accept
            }
            p += k;
            n -= k;
            left_ -= k;
        }
        // Zero-length names and values end without taking a byte.
        while (pair_step_ >= 2 && left_ == 0) {
            if (pair_step_ == 2) {
                capture_ = capture_ && std::memcmp(name_, kContentLength, kContentLengthName) == 0;
                pair_step_ = 3;
                left_ = value_len_;
                continue;
            }
            if (capture_) {
                // The last CONTENT_LENGTH counts, as for every server parameter.
                std::int64_t v = -1;
                if (value_got_ > 0 && value_got_ <= 18) {
                    v = 0;
                    for (std::size_t i = 0; i < value_got_ && v >= 0; ++i)
                        v = value_[i] >= '0' && value_[i] <= '9' ? v * 10 + (value_[i] - '0') : -1;
                }
                content_length_ = v;
            }
            capture_ = false;
            pair_step_ = 0;
        }
    }
    return true;
}

void RequestScanner::end_params() {
    wait_body_ = content_length_ >= 0 && std::uint64_t(content_length_) <= limits_.max_wait;
    state_ = State::stdin_;
}

std::size_t RequestScanner::feed(const char* data, std::size_t size) {
    const auto* p = reinterpret_cast<const unsigned char*>(data);
    std::size_t i = 0;
    while (state_ != State::done && state_ != State::invalid) {
        if (header_got_ < fcgi::kHeaderSize) {
            if (i == size) break;
            const std::size_t k = std::min(fcgi::kHeaderSize - header_got_, size - i);
            std::memcpy(header_ + header_got_, p + i, k);
            header_got_ += k;
            i += k;
            if (header_got_ < fcgi::kHeaderSize) break;
            if (header_[0] != fcgi::kVersion) return fail("not a FastCGI request", i);
            type_ = header_[1];
            const std::uint16_t id = std::uint16_t((header_[2] << 8) | header_[3]);
            content_left_ = (std::size_t(header_[4]) << 8) | header_[5];
            padding_left_ = header_[6];
            if (state_ == State::begin) {
                if (type_ != fcgi::kBeginRequest || content_left_ != 8 || id == 0)
                    return fail("a FastCGI connection must start with BEGIN_REQUEST", i);
                request_id_ = id;
                begin_got_ = 0;
            } else if (id != request_id_) {
                return fail("FastCGI records of another request (multiplexing is not supported)",
                            i);
            } else if (type_ != (state_ == State::params ? fcgi::kParams : fcgi::kStdin)) {
                return fail(state_ == State::params ? "FastCGI record other than PARAMS before "
                                                      "the end of the parameters"
                                                    : "FastCGI record other than STDIN in the body",
                            i);
            }
            // Record headers and padding count too: a request split into tiny records must
            // not cost more than one in big ones.
            if (state_ != State::stdin_ &&
                consumed_ + i > limits_.max_params + fcgi::kRecordOverhead + 16)
                return fail("FastCGI parameters larger than max_params_size", i);
            if (state_ == State::stdin_ && wait_body_ &&
                consumed_ + i - params_end_ > std::size_t(content_length_) + fcgi::kRecordOverhead)
                return fail("FastCGI body split into too many records", i);
        }
        // Inside a record: content, then padding.
        if (content_left_ > 0) {
            if (i == size) break;
            const std::size_t k = std::min(content_left_, size - i);
            if (state_ == State::begin) {
                std::memcpy(begin_body_ + begin_got_, p + i, k);
                begin_got_ += k;
            } else if (state_ == State::params) {
                if (!scan_params(p + i, k)) return fail(error_, i + k);
            } else {
                stdin_bytes_ += k;
                if (wait_body_ && stdin_bytes_ > std::uint64_t(content_length_))
                    return fail("FastCGI body longer than CONTENT_LENGTH", i + k);
            }
            content_left_ -= k;
            i += k;
            if (content_left_ > 0) continue;
        }
        if (padding_left_ > 0) {
            if (i == size) break;
            const std::size_t k = std::min(padding_left_, size - i);
            padding_left_ -= k;
            i += k;
            if (padding_left_ > 0) continue;
        }
        // The record is complete.
        const bool empty = header_[4] == 0 && header_[5] == 0;
        header_got_ = 0;
        if (state_ == State::begin) {
            const std::uint16_t role = std::uint16_t((begin_body_[0] << 8) | begin_body_[1]);
            if (role != fcgi::kResponder)
                return fail("FastCGI role other than RESPONDER (authorizer and filter are not "
                            "supported)",
                            i);
            keep_conn_ = (begin_body_[2] & fcgi::kKeepConn) != 0;
            state_ = State::params;
        } else if (state_ == State::params && empty) {
            if (pair_step_ != 0 || len_got_ != 0)
                return fail("FastCGI parameters end inside a name-value pair", i);
            end_params();
            params_end_ = consumed_ + i;
        } else if (state_ == State::stdin_ && empty) {
            if (wait_body_ && stdin_bytes_ != std::uint64_t(content_length_))
                return fail("FastCGI body shorter than CONTENT_LENGTH", i);
            state_ = State::done;
        }
    }
    consumed_ += i;
    return i;
}

} // namespace wfhookd
