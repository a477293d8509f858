#include "server/fcgi_gate.hpp"

#include "support/fcgi_client.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <ostream>
#include <string>

namespace bdata = boost::unit_test::data;
using wfhookd::RequestScanner;
using wftest::fcgi_begin_request;
using wftest::fcgi_encode_params;
using wftest::fcgi_record;
using wftest::fcgi_request;

namespace {

constexpr std::uint8_t kParams = 4, kStdin = 5;
constexpr RequestScanner::Limits kLimits{65536, 65536};

const wftest::Params kGet = {
    {"REQUEST_METHOD", "GET"},
    {"DOCUMENT_URI", "/wf/serviceInfo"},
    {"QUERY_STRING", ""},
    {"CONTENT_LENGTH", ""},
};

wftest::Params with_length(const std::string& length) {
    wftest::Params p = kGet;
    p.back().second = length;
    return p;
}

std::string be32(std::uint32_t n) {
    return {static_cast<char>(0x80 | (n >> 24)), static_cast<char>(n >> 16),
            static_cast<char>(n >> 8), static_cast<char>(n)};
}

struct Fed {
    std::size_t taken = 0;
    RequestScanner scanner{kLimits};
};

Fed feed_all(const std::string& bytes, RequestScanner::Limits limits = kLimits) {
    Fed f;
    f.scanner = RequestScanner(limits);
    f.taken = f.scanner.feed(bytes.data(), bytes.size());
    return f;
}

// Feeds one byte at a time: records and name-value pairs split everywhere.
Fed feed_bytewise(const std::string& bytes) {
    Fed f;
    for (std::size_t i = 0; i < bytes.size() && !f.scanner.invalid() && !f.scanner.complete(); ++i)
        f.taken += f.scanner.feed(bytes.data() + i, 1);
    return f;
}

struct BadCase {
    std::string name;
    std::string bytes;
    std::string error; // substring of error()
};

std::ostream& operator<<(std::ostream& os, const BadCase& c) {
    return os << c.name;
}

std::string begin_with(std::uint16_t role, std::uint16_t id = 1) {
    const char body[8] = {static_cast<char>(role >> 8), static_cast<char>(role), 0, 0, 0, 0, 0, 0};
    return fcgi_record(1, id, std::string_view(body, 8));
}

std::string params_of(const wftest::Params& p) {
    return fcgi_record(kParams, 1, fcgi_encode_params(p)) + fcgi_record(kParams, 1, {});
}

const BadCase kBad[] = {
    {"HTTP instead of FastCGI", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "not a FastCGI request"},
    {"wrong version",
     [] {
         std::string r = fcgi_request(kGet);
         r[0] = 2;
         return r;
     }(),
     "not a FastCGI request"},
    {"PARAMS before BEGIN_REQUEST", params_of(kGet), "must start with BEGIN_REQUEST"},
    {"request id 0", begin_with(1, 0) + params_of(kGet), "must start with BEGIN_REQUEST"},
    {"authorizer role", begin_with(2) + params_of(kGet), "RESPONDER"},
    {"records of another request",
     fcgi_begin_request(1) + fcgi_record(kParams, 2, fcgi_encode_params(kGet)), "another request"},
    {"STDIN before the end of the parameters", fcgi_begin_request(1) + fcgi_record(kStdin, 1, "x"),
     "other than PARAMS"},
    {"PARAMS again in the body",
     fcgi_begin_request(1) + params_of(kGet) + fcgi_record(kParams, 1, "x"), "other than STDIN"},
    {"parameters over the limit",
     fcgi_begin_request(1) +
         fcgi_record(kParams, 1, fcgi_encode_params({{"Q", std::string(40000, 'q')}})) +
         fcgi_record(kParams, 1, fcgi_encode_params({{"R", std::string(40000, 'r')}})),
     "larger than max_params_size"},
    {"lengths that overflow when added (libfcgi does not check)",
     fcgi_begin_request(1) + fcgi_record(kParams, 1, be32(0x7FFFFFF0) + be32(0x7FFFFFF0) + "x"),
     "longer than max_params_size"},
    {"a pair cut by the end of the parameters",
     fcgi_begin_request(1) +
         fcgi_record(kParams, 1,
                     std::string("\x05\x03"
                                 "ab",
                                 4)) +
         fcgi_record(kParams, 1, {}),
     "inside a name-value pair"},
    {"body longer than CONTENT_LENGTH",
     fcgi_begin_request(1) + params_of(with_length("2")) + fcgi_record(kStdin, 1, "abc"),
     "longer than CONTENT_LENGTH"},
    {"body shorter than CONTENT_LENGTH",
     fcgi_begin_request(1) + params_of(with_length("5")) + fcgi_record(kStdin, 1, "abc") +
         fcgi_record(kStdin, 1, {}),
     "shorter than CONTENT_LENGTH"},
    {"parameters in thousands of tiny padded records",
     [] {
         // One byte of a 2000-byte pair per record, each padded with 255 bytes.
         const std::string pair = fcgi_encode_params({{"Q", std::string(2000, 'q')}});
         std::string r = fcgi_begin_request(1);
         for (const char c : pair) {
             std::string rec = fcgi_record(kParams, 1, std::string(1, c)).substr(0, 9);
             rec[6] = static_cast<char>(255);
             r += rec + std::string(255, '\0');
         }
         return r;
     }(),
     "larger than max_params_size"},
};

} // namespace

BOOST_AUTO_TEST_SUITE(fcgi_gate)

BOOST_AUTO_TEST_CASE(a_whole_request_is_complete_and_nothing_more_is_taken) {
    const std::string request = fcgi_request(kGet, {}, 513, true);
    const std::string next = fcgi_request(kGet);
    const Fed f = feed_all(request + next);
    BOOST_TEST(f.scanner.complete());
    BOOST_TEST(f.scanner.ready());
    BOOST_TEST(f.taken == request.size());
    BOOST_TEST(f.scanner.consumed() == request.size());
    BOOST_TEST(f.scanner.request_id() == 513);
    BOOST_TEST(f.scanner.keep_conn());
    BOOST_TEST(f.scanner.readable() == 0u);
}

BOOST_AUTO_TEST_CASE(byte_by_byte_gives_the_same_answer) {
    const std::string request = fcgi_request(with_length("11"), "hello world");
    const Fed f = feed_bytewise(request);
    BOOST_TEST(f.scanner.complete());
    BOOST_TEST(f.taken == request.size());
    BOOST_TEST(f.scanner.content_length() == 11);
    BOOST_TEST(!f.scanner.keep_conn());
}

BOOST_AUTO_TEST_CASE(a_body_of_known_length_is_awaited) {
    const std::string request = fcgi_request(with_length("11"), "hello world");
    const std::string params_only = request.substr(0, request.size() - 24 - 8);
    const Fed f = feed_all(params_only);
    BOOST_TEST(!f.scanner.ready());
    BOOST_TEST((f.scanner.state() == RequestScanner::State::stdin_));
    BOOST_TEST(f.scanner.readable() > 0u);
}

BOOST_AUTO_TEST_CASE(a_body_over_the_wait_limit_or_of_unknown_length_streams) {
    for (const std::string length : {"100000", "", "-1"}) {
        const std::string request = fcgi_request(with_length(length), std::string(100, 'x'));
        // Only the parameters: the request can be served, its body read as it streams in.
        const std::size_t params_end = request.find(fcgi_record(kParams, 1, {})) + 8;
        const Fed f = feed_all(request.substr(0, params_end));
        BOOST_TEST(f.scanner.streams_body(), length);
        BOOST_TEST(f.scanner.ready(), length);
        BOOST_TEST(f.scanner.readable() == 0u, length);
    }
}

BOOST_AUTO_TEST_CASE(a_body_that_came_whole_is_complete_even_when_not_awaited) {
    const Fed f = feed_all(fcgi_request(with_length(""), "abc"));
    BOOST_TEST(f.scanner.complete());
}

BOOST_DATA_TEST_CASE(content_length_is_read_from_the_parameters,
                     bdata::make({"0", "5", "123456", "", "-1", "+5", "5x",
                                  "99999999999999999999"}) ^
                         bdata::make({0, 5, 123456, -1, -1, -1, -1, -1}),
                     text, expected) {
    const std::string request = fcgi_begin_request(1) + params_of(with_length(text));
    const Fed f = feed_all(request);
    BOOST_TEST(f.scanner.content_length() == expected);
}

BOOST_AUTO_TEST_CASE(the_last_content_length_counts) {
    wftest::Params p = with_length("3");
    p.push_back({"CONTENT_LENGTH", "7"});
    const Fed f = feed_all(fcgi_begin_request(1) + params_of(p));
    BOOST_TEST(f.scanner.content_length() == 7);
}

BOOST_DATA_TEST_CASE(hostile_requests_are_refused, bdata::make(kBad), c) {
    for (const Fed& f : {feed_all(c.bytes), feed_bytewise(c.bytes)}) {
        BOOST_TEST(f.scanner.invalid());
        BOOST_TEST(std::string(f.scanner.error()).find(c.error) != std::string::npos,
                   f.scanner.error());
        BOOST_TEST(f.scanner.readable() == 0u);
    }
}

// Reading exactly what readable() allows never takes a byte of what follows the request, at
// any split of the stream: what the worker reads itself is exactly the request.
BOOST_AUTO_TEST_CASE(readable_never_crosses_the_end_of_the_request) {
    const std::string request = fcgi_request(with_length("70000"), std::string(70000, 'b'), 7);
    const std::string stream = request + fcgi_request(kGet);
    RequestScanner s({65536, 1 << 20});
    std::size_t pos = 0;
    while (std::size_t want = s.readable()) {
        want = std::min(want, stream.size() - pos);
        BOOST_TEST_REQUIRE(s.feed(stream.data() + pos, want) == want);
        pos += want;
    }
    BOOST_TEST(s.complete());
    BOOST_TEST(pos == request.size());
}

BOOST_AUTO_TEST_CASE(parameters_exactly_at_the_limit_pass) {
    const std::string value(65536 - 6, 'v'); // 1 + 4 length bytes, a 1-byte name
    const std::string params = fcgi_encode_params({{"Q", value}});
    BOOST_TEST_REQUIRE(params.size() == 65536u);
    std::string request = fcgi_begin_request(1);
    for (std::size_t i = 0; i < params.size(); i += 65535)
        request += fcgi_record(kParams, 1, std::string_view(params).substr(i, 65535));
    request += fcgi_record(kParams, 1, {}) + fcgi_record(kStdin, 1, {});
    BOOST_TEST(feed_all(request).scanner.complete());
    BOOST_TEST(feed_all(request, {65535, 0}).scanner.invalid());
}

BOOST_AUTO_TEST_SUITE_END()
