#include "util/log.hpp"

#include "support/capture_stderr.hpp"
#include "support/pattern.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <optional>
#include <ostream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace bdata = boost::unit_test::data;
using wfhookd::append_field;
using wfhookd::Level;

namespace {

struct FieldCase {
    std::string name;
    std::string value;
    std::string expected; // what follows " k="
};

std::ostream& operator<<(std::ostream& os, const FieldCase& c) {
    return os << c.name;
}

const FieldCase kFieldCases[] = {
    {"plain", "value", "value"},
    {"printable punctuation stays plain", "a-b_c.d/e:f@g,h;i{j}k~", "a-b_c.d/e:f@g,h;i{j}k~"},
    {"empty is quoted", "", "\"\""},
    {"space", "a b", "\"a b\""},
    {"leading space", " a", "\" a\""},
    {"quote", "a\"b", "\"a\\\"b\""},
    {"backslash", "a\\b", "\"a\\\\b\""},
    {"equals sign", "a=b", "\"a=b\""},
    {"forged field", "x status=200", "\"x status=200\""},
    {"newline", "a\nb", "\"a\\x0ab\""},
    {"carriage return", "a\rb", "\"a\\x0db\""},
    {"tab", "a\tb", "\"a\\x09b\""},
    {"NUL", std::string("a\0b", 3), "\"a\\x00b\""},
    {"escape character", "\x1b[31m", "\"\\x1b[31m\""},
    {"DEL", "a\x7F", "\"a\\x7f\""},
    {"UTF-8", "caf\xC3\xA9", "\"caf\\xc3\\xa9\""},
    {"invalid UTF-8", "\xFF", "\"\\xff\""},
    {"256 bytes stay whole", std::string(256, 'a'), std::string(256, 'a')},
    {"257 bytes are cut", std::string(257, 'a'), std::string(256, 'a') + "..."},
    {"long quoted value is cut inside the quotes", "a b" + std::string(300, 'c'),
     "\"a b" + std::string(253, 'c') + "...\""},
    {"cut before escaping", std::string(255, 'a') + "\n\n",
     "\"" + std::string(255, 'a') + "\\x0a...\""},
    {"quote after the cut still quotes", std::string(300, 'a') + "\"",
     "\"" + std::string(256, 'a') + "...\""},
};

// Restores JOURNAL_STREAM and the logger's state after a test.
struct JournalEnv {
    std::optional<std::string> saved;
    JournalEnv() {
        if (const char* v = std::getenv("JOURNAL_STREAM")) saved = v;
    }
    ~JournalEnv() {
        if (saved)
            setenv("JOURNAL_STREAM", saved->c_str(), 1);
        else
            unsetenv("JOURNAL_STREAM");
        wfhookd::log_init();
    }
};

struct LevelCase {
    Level level;
    int priority;
    std::string name;
};

std::ostream& operator<<(std::ostream& os, const LevelCase& c) {
    return os << c.name;
}

const LevelCase kLevels[] = {
    {Level::error, 3, "error"}, {Level::warning, 4, "warning"}, {Level::notice, 5, "notice"},
    {Level::info, 6, "info"},   {Level::debug, 7, "debug"},
};

} // namespace

// Not "log": that would clash with ::log from <cmath>.
BOOST_AUTO_TEST_SUITE(logging)

BOOST_DATA_TEST_CASE(append_field_table, bdata::make(kFieldCases), c) {
    std::string line = "request";
    append_field(line, "k", c.value);
    BOOST_TEST(line == "request k=" + c.expected);
}

// Whatever the value, the field is one run of printable ASCII: it cannot end the line, start a
// new one, or smuggle terminal escapes.
BOOST_AUTO_TEST_CASE(values_never_break_the_line) {
    std::vector<std::string> values;
    for (int b = 0; b < 256; ++b)
        values.push_back(std::string(1, static_cast<char>(b)));
    for (std::size_t n : {1u, 100u, 255u, 256u, 257u, 600u}) {
        values.push_back(std::string(n, '\n'));
        values.push_back(std::string(n, 'a') + "\r\nforged=1");
        values.push_back("x\n" + std::string(n, '\xC3'));
    }
    int bad = 0;
    for (const std::string& v : values) {
        std::string line;
        append_field(line, "k", v);
        for (const char ch : line) {
            const auto u = static_cast<unsigned char>(ch);
            if (u < 0x20 || u >= 0x7F) {
                ++bad;
                break;
            }
        }
        // At most 256 source bytes, each shown as up to 4 characters, plus quotes and "...".
        BOOST_TEST(line.size() <= std::string(" k=").size() + 2 + 256 * 4 + 3);
    }
    BOOST_TEST(bad == 0);
}

BOOST_DATA_TEST_CASE(journal_lines_carry_the_priority, bdata::make(kLevels), c) {
    JournalEnv env;
    const std::string out = wftest::capture_stderr([&] {
        struct stat st {};
        fstat(STDERR_FILENO, &st);
        const std::string stream = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
        setenv("JOURNAL_STREAM", stream.c_str(), 1);
        wfhookd::log_init();
        wfhookd::log_line(c.level, "hello journal");
    });
    BOOST_TEST(out == "<" + std::to_string(c.priority) + ">hello journal\n");
}

BOOST_DATA_TEST_CASE(terminal_lines_carry_time_pid_and_level, bdata::make(kLevels), c) {
    JournalEnv env;
    const std::string out = wftest::capture_stderr([&] {
        unsetenv("JOURNAL_STREAM");
        wfhookd::log_init();
        wfhookd::log(c.level, "value {} and {}", 42, "text");
    });
    const std::string pattern = std::string(wftest::kTimestampPattern) + " wfhookd[" +
                                std::to_string(getpid()) + "] " + c.name + ": value 42 and text\n";
    BOOST_TEST(wftest::matches_pattern(out, pattern), out);
}

BOOST_AUTO_TEST_CASE(journal_stream_of_another_file_is_ignored) {
    JournalEnv env;
    const std::string out = wftest::capture_stderr([&] {
        setenv("JOURNAL_STREAM", "1:1", 1);
        wfhookd::log_init();
        wfhookd::log_line(Level::info, "not journal");
    });
    BOOST_TEST(out.find("<6>") == std::string::npos);
    BOOST_TEST(out.ends_with(" info: not journal\n"), out);
}

BOOST_AUTO_TEST_CASE(long_lines_are_written_whole) {
    JournalEnv env;
    const std::string big(10000, 'x');
    const std::string out = wftest::capture_stderr([&] {
        unsetenv("JOURNAL_STREAM");
        wfhookd::log_init();
        wfhookd::log_line(Level::error, big);
        wfhookd::log_line(Level::error, "second");
    });
    const auto first_end = out.find('\n');
    BOOST_TEST_REQUIRE(first_end != std::string::npos);
    BOOST_TEST(out.substr(0, first_end).ends_with(" error: " + big));
    BOOST_TEST(out.substr(first_end + 1).ends_with(" error: second\n"));
}

BOOST_AUTO_TEST_SUITE_END()
