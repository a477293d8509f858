#include "config/config.hpp"

#include "support/temp_dir.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <ostream>
#include <string>
#include <sys/stat.h>
#include <sys/un.h>
#include <vector>

namespace bdata = boost::unit_test::data;
using wfhookd::ConfigResult;
using wfhookd::load_config;
using wfhookd::ServerConfig;

namespace {

const std::string kKey = "0123456789abcdef0123456789ABCDEF"; // a valid 32-character key
const std::string kAuth = "[auth]\napi_key_file = @KEYS@\n";
// A store in the fixture directory (make_fixture_files writes its link secret).
const std::string kStore = "[store]\nroot = @DIR@/store\nindex = @DIR@/index.sqlite\n"
                           "link_secret_file = @DIR@/link-secret\nthumbnail_cache = @DIR@/thumbs\n"
                           "audit_file = @DIR@/audit.jsonl\n";

// The registered type names, as the loader lists them. Called
// from test bodies only: the registry is not initialised yet when test cases are registered.
std::string known_types() {
    std::string out;
    for (const wfhookd::ActionType& t : wfhookd::action_types())
        out += (out.empty() ? "" : ", ") + std::string(t.name);
    return out;
}

// A temporary directory with a valid key file; configs are written next to it. @KEYS@, @DIR@
// and @TYPES@ in a config text stand for the key file, the directory and known_types().
struct ConfigDir {
    wftest::TempDir dir;
    std::string keys = dir.write("api-keys", "# keys\n" + kKey + "\n", 0600);
    std::string path = dir.file("wfhookd.conf");

    std::string expand(std::string text) const {
        for (const auto& [from, to] : {std::pair<std::string, std::string>{"@KEYS@", keys},
                                       {"@DIR@", dir.path()},
                                       {"@TYPES@", known_types()}}) {
            for (std::size_t at; (at = text.find(from)) != std::string::npos;)
                text.replace(at, from.size(), to);
        }
        return text;
    }
    ConfigResult load(const std::string& text) const {
        dir.write("wfhookd.conf", expand(text));
        return load_config(path);
    }
};

std::string join(const std::vector<std::string>& lines) {
    std::string out;
    for (const std::string& l : lines)
        out += "\n  " + l;
    return out;
}

// ------------------------------------------------------------------------------------------
// Invalid configs: each produces exactly one error, "FILE: WHERE: MESSAGE...".

struct BadCase {
    std::string name;
    std::string text;    // @KEYS@ / @DIR@ expanded
    std::string where;   // "[section] key", "[section]", "line N: [section] key", or "" (file)
    std::string message; // the start of the message after "WHERE: "
};

std::ostream& operator<<(std::ostream& os, const BadCase& c) {
    return os << c.name;
}

std::string server(const std::string& key, const std::string& value) {
    return "[server]\n" + key + " = " + value + "\n" + kAuth;
}

std::string number_error(const std::string& v, const std::string& range) {
    return "\"" + v + "\" is not a whole number from " + range;
}

const std::string kLongUnixPath = "/" + std::string(sizeof(sockaddr_un::sun_path) - 1, 's');

std::vector<BadCase> bad_cases() {
    std::vector<BadCase> c = {
        // Unknown keys and sections.
        {"unknown key in [server]", server("bogus", "1"), "[server] bogus", "unknown key"},
        {"unknown key in [service]", "[service]\nbogus = 1\n" + kAuth, "[service] bogus",
         "unknown key"},
        {"unknown key in [auth]", kAuth + "bogus = 1\n", "[auth] bogus", "unknown key"},
        {"misspelt key", server("worker", "2"), "[server] worker", "unknown key"},
        {"key names are case-sensitive", server("Workers", "2"), "[server] Workers", "unknown key"},
        {"unknown key in a noop action", kAuth + "[action:a]\ntype = noop\nbogus = 1\n",
         "[action:a] bogus",
         "unknown key for a noop action (allowed: type, display_name, max_concurrent)"},
        {"unknown key in an exec action",
         kAuth + "[action:a]\ntype = exec\ncommand = /bin/true\nbogus = 1\n", "[action:a] bogus",
         "unknown key for a exec action (allowed: type, display_name, max_concurrent, command, "
         "timeout, directory, umask)"},
        {"unknown key in an append action",
         kAuth + "[action:a]\ntype = append\nfile = @DIR@/a.jsonl\nbogus = 1\n", "[action:a] bogus",
         "unknown key for a append action (allowed: type, display_name, max_concurrent, file, "
         "lock_timeout)"},
        {"unknown section", "[bogus]\nx = 1\n" + kAuth, "[bogus]", "unknown section"},
        {"empty unknown section", "[bogus]\n" + kAuth, "[bogus]", "unknown section"},
        {"section named like a prefix", "[actions]\nx = 1\n" + kAuth, "[actions]",
         "unknown section"},
        {"key outside a section", "x = 1\n" + kAuth, "", "key \"x\" is outside any section"},
        {"key outside a section named like a section", "server = 1\n" + kAuth, "",
         "key \"server\" is outside any section"},
        {"UTF-8 byte-order mark", "\xEF\xBB\xBF" + kAuth, "",
         "starts with a UTF-8 byte-order mark"},
        // INI syntax (PropertyTree errors, named by line, section and key).
        {"line without =", kAuth + "[server]\nworkers\n", "line 4",
         "'=' character not found in line: \"workers\""},
        {"duplicate key", "[server]\nworkers = 2\nbacklog = 5\nworkers = 3\n" + kAuth,
         "line 4: [server] workers", "duplicate key"},
        {"duplicate section", "[server]\nworkers = 2\n[server]\nbacklog = 5\n" + kAuth,
         "line 3: [server]", "duplicate section"},
        {"duplicate action", kAuth + "[action:a]\ntype = noop\n\n[action:a]\ntype = noop\n",
         "line 6: [action:a]", "duplicate action (each action name once)"},
        // [auth].
        {"missing [auth]", "[server]\nworkers = 2\n", "[auth]",
         "missing section: api_key_file is required"},
        {"missing api_key_file", "[auth]\nusers = alice\n", "[auth] api_key_file", "required"},
        {"empty api_key_file", "[auth]\napi_key_file =\n", "[auth] api_key_file", "required"},
        {"relative api_key_file", "[auth]\napi_key_file = keys\n", "[auth] api_key_file",
         "\"keys\" is not an absolute path"},
        {"key file writable by its group", "[auth]\napi_key_file = @DIR@/group-writable\n",
         "[auth] api_key_file",
         "@DIR@/group-writable is writable by its group: anyone who can write it can let "
         "themselves "
         "in; chmod 0640 it"},
        {"key file writable by everyone", "[auth]\napi_key_file = @DIR@/world-writable\n",
         "[auth] api_key_file", "@DIR@/world-writable is writable by every user"},
        {"max_params_size too small for max_query_size",
         "[server]\nmax_query_size = 60k\nmax_params_size = 32k\n" + kAuth,
         "[server] max_params_size",
         "32k leaves no room for a query string of max_query_size (60k)"},
        {"too-long username", kAuth + "users = alice " + std::string(256, 'u') + "\n",
         "[auth] users", "usernames must be at most 255 bytes of UTF-8"},
        {"username not UTF-8", kAuth + "users = caf\xE9\n", "[auth] users",
         "usernames must be at most 255 bytes of UTF-8"},
        // [server] values.
        {"workers 0", server("workers", "0"), "[server] workers", number_error("0", "1 to 256")},
        {"workers 257", server("workers", "257"), "[server] workers",
         number_error("257", "1 to 256")},
        {"workers abc", server("workers", "abc"), "[server] workers",
         number_error("abc", "1 to 256")},
        {"workers 4x", server("workers", "4x"), "[server] workers", number_error("4x", "1 to 256")},
        {"workers -1", server("workers", "-1"), "[server] workers", number_error("-1", "1 to 256")},
        {"workers +4", server("workers", "+4"), "[server] workers", number_error("+4", "1 to 256")},
        {"workers empty", server("workers", ""), "[server] workers", number_error("", "1 to 256")},
        {"backlog 0", server("backlog", "0"), "[server] backlog", number_error("0", "1 to 65535")},
        {"backlog 65536", server("backlog", "65536"), "[server] backlog",
         number_error("65536", "1 to 65535")},
        {"shutdown_timeout 0", server("shutdown_timeout", "0"), "[server] shutdown_timeout",
         number_error("0", "1 to 3600")},
        {"request_timeout too big", server("request_timeout", "86401"), "[server] request_timeout",
         number_error("86401", "0 to 86400")},
        {"io_timeout 0", server("io_timeout", "0"), "[server] io_timeout",
         number_error("0", "1 to 3600")},
        {"max_requests negative", server("max_requests", "-5"), "[server] max_requests",
         number_error("-5", "0 to 1000000000000")},
        {"jitter not below max_requests",
         "[server]\nmax_requests = 10\nmax_requests_jitter = 10\n" + kAuth,
         "[server] max_requests_jitter", "must be less than max_requests (10)"},
        {"socket_mode 999", server("socket_mode", "999"), "[server] socket_mode",
         "\"999\" is not an octal mode such as 0660"},
        {"socket_mode rw", server("socket_mode", "rw"), "[server] socket_mode",
         "\"rw\" is not an octal mode such as 0660"},
        {"socket_mode above 0777", server("socket_mode", "1777"), "[server] socket_mode",
         "\"1777\" is not an octal mode such as 0660"},
        {"unknown socket_group", server("socket_group", "no-such-group-wfhookd"),
         "[server] socket_group", "no such group \"no-such-group-wfhookd\""},
        {"listen tcp: without host", server("listen", "tcp:"), "[server] listen",
         "expected tcp:HOST:PORT"},
        {"listen tcp:host without port", server("listen", "tcp:host"), "[server] listen",
         "expected tcp:HOST:PORT"},
        {"listen tcp with an empty host", server("listen", "tcp::9000"), "[server] listen",
         "expected tcp:HOST:PORT with a host"},
        {"listen unix relative", server("listen", "unix:relative.sock"), "[server] listen",
         "a unix socket path must be absolute"},
        {"listen unix empty", server("listen", "unix:"), "[server] listen",
         "a unix socket path must be absolute"},
        {"listen udp", server("listen", "udp:x"), "[server] listen",
         "expected unix:PATH or tcp:HOST:PORT"},
        {"listen without a scheme", server("listen", "/run/x.sock"), "[server] listen",
         "expected unix:PATH or tcp:HOST:PORT"},
        {"listen unix path too long", server("listen", "unix:" + kLongUnixPath), "[server] listen",
         "unix socket path is " + std::to_string(kLongUnixPath.size()) + " bytes; the limit is " +
             std::to_string(sizeof(sockaddr_un::sun_path) - 1)},
        {"listen port too big", server("listen", "tcp:[::1]:99999"), "[server] listen",
         "\"99999\" is not a port number (0-65535)"},
        {"listen port not a number", server("listen", "tcp:127.0.0.1:http"), "[server] listen",
         "\"http\" is not a port number (0-65535)"},
        {"listen IPv6 without brackets", server("listen", "tcp:::1:9000"), "[server] listen",
         "write IPv6 addresses in brackets"},
        {"listen IPv6 without port", server("listen", "tcp:[::1]"), "[server] listen",
         "expected tcp:[IPV6]:PORT"},
        {"max_query_size below 1k", server("max_query_size", "1023"), "[server] max_query_size",
         "\"1023\" is not a size from 1k to 1000k"},
        {"max_query_size over 1000k", server("max_query_size", "1m"), "[server] max_query_size",
         "\"1m\" is not a size from 1k to 1000k"},
        {"max_body_size above 1024m", server("max_body_size", "1025m"), "[server] max_body_size",
         "\"1025m\" is not a size from 1k to 1024m"},
        {"max_body_size text", server("max_body_size", "big"), "[server] max_body_size",
         "\"big\" is not a size from 1k to 1024m"},
        {"max_body_size bare suffix", server("max_body_size", "k"), "[server] max_body_size",
         "\"k\" is not a size from 1k to 1024m"},
        {"status maybe", server("status", "maybe"), "[server] status",
         "\"maybe\" is not yes or no"},
        {"allow_from not an address", server("allow_from", "127.0.0.1 nonsense"),
         "[server] allow_from", "\"nonsense\" is not an IPv4 or IPv6 address"},
        {"allow_from prefix too long", server("allow_from", "10.0.0.0/33"), "[server] allow_from",
         "\"33\" is not a prefix length (0-32)"},
        // [service].
        {"empty publisher", "[service]\npublisher =\n" + kAuth, "[service] publisher",
         "must be 1 to 255 bytes of UTF-8 text"},
        {"too-long version", "[service]\nversion = " + std::string(256, 'v') + "\n" + kAuth,
         "[service] version", "must be 1 to 255 bytes of UTF-8 text"},
        {"publisher not UTF-8", "[service]\npublisher = Acme\xFF\n" + kAuth, "[service] publisher",
         "must be 1 to 255 bytes of UTF-8 text"},
        // Actions.
        {"unknown action type", kAuth + "[action:a]\ntype = bogus\n", "[action:a] type",
         "unknown type \"bogus\" (known: @TYPES@)"},
        {"missing action type", kAuth + "[action:a]\ndisplay_name = A\n", "[action:a] type",
         "required (one of: @TYPES@)"},
        {"empty action section", kAuth + "[action:a]\n", "[action:a] type",
         "required (one of: @TYPES@)"},
        {"empty action section between others",
         kAuth + "[action:a]\n; nothing here\n[action:b]\ntype = noop\n", "[action:a] type",
         "required (one of: @TYPES@)"},
        {"empty action section with a bad name", kAuth + "[action:-x]\n", "[action:-x]",
         "action names are 1 to 64"},
        {"empty action name", kAuth + "[action:]\ntype = noop\n", "[action:]",
         "action names are 1 to 64 letters, digits, '_', '-' or '.', starting with a letter or "
         "digit"},
        {"action name starting with -", kAuth + "[action:-x]\ntype = noop\n", "[action:-x]",
         "action names are 1 to 64"},
        {"action name starting with _", kAuth + "[action:_x]\ntype = noop\n", "[action:_x]",
         "action names are 1 to 64"},
        {"action name with a space", kAuth + "[action:a b]\ntype = noop\n", "[action:a b]",
         "action names are 1 to 64"},
        {"action name with a slash", kAuth + "[action:a/b]\ntype = noop\n", "[action:a/b]",
         "action names are 1 to 64"},
        {"action name not ASCII", kAuth + "[action:caf\xC3\xA9]\ntype = noop\n",
         "[action:caf\xC3\xA9]", "action names are 1 to 64"},
        {"action name of 65 characters",
         kAuth + "[action:" + std::string(65, 'n') + "]\ntype = noop\n",
         "[action:" + std::string(65, 'n') + "]", "action names are 1 to 64"},
        {"display_name too long",
         kAuth + "[action:a]\ntype = noop\ndisplay_name = " + std::string(256, 'd') + "\n",
         "[action:a] display_name", "must be 1 to 255 bytes of UTF-8 text"},
        {"display_name empty", kAuth + "[action:a]\ntype = noop\ndisplay_name =\n",
         "[action:a] display_name", "must be 1 to 255 bytes of UTF-8 text"},
        {"display_name not UTF-8", kAuth + "[action:a]\ntype = noop\ndisplay_name = \xC3\n",
         "[action:a] display_name", "must be 1 to 255 bytes of UTF-8 text"},
        {"max_concurrent text", kAuth + "[action:a]\ntype = noop\nmax_concurrent = many\n",
         "[action:a] max_concurrent", number_error("many", "0 to 100000")},
        {"max_concurrent too big", kAuth + "[action:a]\ntype = noop\nmax_concurrent = 100001\n",
         "[action:a] max_concurrent", number_error("100001", "0 to 100000")},
        {"exec without command", kAuth + "[action:a]\ntype = exec\n", "[action:a] command",
         "required: "},
        {"exec with an empty command", kAuth + "[action:a]\ntype = exec\ncommand =\n",
         "[action:a] command", "must not be empty"},
        {"exec with a relative command", kAuth + "[action:a]\ntype = exec\ncommand = bin/true\n",
         "[action:a] command",
         "\"bin/true\" is not an absolute path (no shell and no PATH search: write "
         "/usr/bin/bin/true)"},
        {"exec with a bare program name", kAuth + "[action:a]\ntype = exec\ncommand = true -x\n",
         "[action:a] command", "\"true\" is not an absolute path"},
        {"exec with a missing command",
         kAuth + "[action:a]\ntype = exec\ncommand = @DIR@/missing arg\n", "[action:a] command",
         "@DIR@/missing: No such file or directory"},
        {"exec with a non-executable file",
         kAuth + "[action:a]\ntype = exec\ncommand = @DIR@/not-executable\n", "[action:a] command",
         "@DIR@/not-executable is not an executable file"},
        {"exec with a directory", kAuth + "[action:a]\ntype = exec\ncommand = @DIR@\n",
         "[action:a] command", "@DIR@ is not an executable file"},
        {"exec timeout 0", kAuth + "[action:a]\ntype = exec\ncommand = /bin/true\ntimeout = 0\n",
         "[action:a] timeout", "\"0\" is not a whole number of seconds from 1 to 86400"},
        {"exec timeout abc",
         kAuth + "[action:a]\ntype = exec\ncommand = /bin/true\ntimeout = abc\n",
         "[action:a] timeout", "\"abc\" is not a whole number of seconds from 1 to 86400"},
        {"exec timeout too big",
         "[server]\nrequest_timeout = 0\n" + kAuth +
             "[action:a]\ntype = exec\ncommand = /bin/true\ntimeout = 86401\n",
         "[action:a] timeout", "\"86401\" is not a whole number of seconds from 1 to 86400"},
        {"exec timeout equal to request_timeout",
         "[server]\nrequest_timeout = 10\n" + kAuth +
             "[action:a]\ntype = exec\ncommand = /bin/true\ntimeout = 10\n",
         "[action:a] timeout", "10 must be less than [server] request_timeout (10)"},
        {"exec timeout above request_timeout",
         "[server]\nrequest_timeout = 10\n" + kAuth +
             "[action:a]\ntype = exec\ncommand = /bin/true\ntimeout = 11\n",
         "[action:a] timeout", "11 must be less than [server] request_timeout (10)"},
        {"default exec timeout above request_timeout",
         "[server]\nrequest_timeout = 30\n" + kAuth +
             "[action:a]\ntype = exec\ncommand = /bin/true\n",
         "[action:a] timeout", "30 must be less than [server] request_timeout (30)"},
        {"append without file", kAuth + "[action:a]\ntype = append\n", "[action:a] file",
         "required: "},
        {"move without a store", kAuth + "[action:a]\ntype = move\nfolder = Archive\n",
         "[action:a] type", "a move action moves files of the document store: add a [store]"},
        {"move into an absolute folder",
         kAuth + kStore + "[action:a]\ntype = move\nfolder = /srv/x\n", "[action:a] folder",
         "\"/srv/x\" must be relative to [store] root"},
        {"move into a parent folder", kAuth + kStore + "[action:a]\ntype = move\nfolder = a/../b\n",
         "[action:a] folder", "\"a/../b\": the folder name \"..\" cannot be"},
        {"move into a hidden folder", kAuth + kStore + "[action:a]\ntype = move\nfolder = .trash\n",
         "[action:a] folder", "\".trash\": the folder name \".trash\""},
        {"append with a relative file", kAuth + "[action:a]\ntype = append\nfile = a.jsonl\n",
         "[action:a] file", "\"a.jsonl\" is not an absolute path"},
        {"append in a missing directory",
         kAuth + "[action:a]\ntype = append\nfile = @DIR@/nodir/a.jsonl\n", "[action:a] file",
         "directory @DIR@/nodir does not exist"},
        {"append to a directory", kAuth + "[action:a]\ntype = append\nfile = @DIR@/subdir\n",
         "[action:a] file", "@DIR@/subdir is not a regular file"},
        {"append to a path ending in /", kAuth + "[action:a]\ntype = append\nfile = @DIR@/x/\n",
         "[action:a] file", "\"@DIR@/x/\" names a directory"},
    };
    return c;
}

// Files some bad cases refer to.
void make_fixture_files(const ConfigDir& d) {
    d.dir.write("empty-keys", "# only a comment\n\n   \n", 0600);
    d.dir.write("short-key", "# comment\n0123456789abcde\n", 0600);
    d.dir.write("long-key", std::string(1025, 'k') + "\n", 0600);
    d.dir.write("spaced-key", "01234567 89abcdef01\n", 0600);
    d.dir.write("group-writable", std::string(20, 'k') + "\n", 0660);
    d.dir.write("world-writable", std::string(20, 'k') + "\n", 0602);
    d.dir.write("not-executable", "#!/bin/sh\n", 0644);
    mkdir(d.dir.file("subdir").c_str(), 0700);
    d.dir.write("link-secret", std::string(40, 's') + "\n", 0640);
}

// ------------------------------------------------------------------------------------------
// Every key of config_keys(), with a value the loader accepts and one it must reject.

struct KeyProbe {
    std::string_view section, key;
    std::string valid, invalid;
};

const KeyProbe kProbes[] = {
    {"server", "listen", "tcp:127.0.0.1:9000", "udp:x"},
    {"server", "socket_mode", "0600", "rw"},
    {"server", "socket_group", "root", "no-such-group-wfhookd"},
    {"server", "backlog", "128", "0"},
    {"server", "workers", "2", "0"},
    {"server", "shutdown_timeout", "5", "0"},
    {"server", "request_timeout", "0", "x"},
    {"server", "io_timeout", "3", "0"},
    {"server", "max_requests", "100", "-1"},
    {"server", "max_requests_jitter", "0", "x"},
    {"server", "max_query_size", "4k", "1"},
    {"server", "max_body_size", "1m", "1"},
    {"server", "status", "yes", "maybe"},
    {"server", "allow_from", "127.0.0.1 ::1", "nope"},
    {"server", "max_params_size", "128k", "1k"},
    {"server", "keep_conn_max", "0", "65"},
    {"server", "keep_conn_idle", "30", "0"},
    {"server", "status_from", "10.0.0.0/8 ::1", "nope"},
    {"service", "publisher", "Acme", ""},
    {"service", "version", "2.0", std::string(256, 'v')},
    {"auth", "api_key_file", "@KEYS@", "relative/keys"},
    {"auth", "users", "alice bob", std::string(256, 'u')},
    {"action:NAME", "type", "noop", "bogus"},
    {"action:NAME", "display_name", "Nice name", ""},
    {"action:NAME", "max_concurrent", "3", "x"},
    {"store", "root", "@DIR@/store", "relative/store"},
    {"store", "index", "@DIR@/other.sqlite", "@DIR@/subdir"},
    {"store", "title", "Documents", ""},
    {"store", "read_only", "yes", "maybe"},
    {"store", "max_page", "50", "0"},
    {"store", "link_secret_file", "@DIR@/link-secret", "@DIR@/short-secret"},
    {"store", "link_ttl", "600", "0"},
    {"store", "public_url", "https://docs.example.com/wf", "ftp://docs.example.com"},
    {"store", "accel_redirect", "/internal/", "internal"},
    {"store", "sendfile_header", "X-Sendfile", "X Sendfile"},
    {"store", "thumbnail_cache", "@DIR@/thumbs2", "relative/thumbs"},
    {"store", "thumbnail_cache_size", "64m", "1k"},
    {"store", "max_upload_size", "10m", "0"},
    {"store", "trash_days", "0", "x"},
    {"store", "audit_file", "@DIR@/changes.jsonl", "relative/audit"},
    {"oauth2", "client_id", "workfront", "with space"},
    {"oauth2", "client_secret_file", "@DIR@/link-secret", "@DIR@/short-secret"},
    {"oauth2", "redirect_uri", "https://acme.my.workfront.com/oauth2/callback",
     "http://acme.example.com/callback"},
    {"oauth2", "access_token_ttl", "15m", "0"},
    {"oauth2", "refresh_token_ttl", "90d", "3651d"},
    {"oauth2", "code_ttl", "60", "2h"},
    {"oauth2", "user_header", "HTTP_X_REMOTE_USER", "remote-user"},
    {"oauth2", "database", "@DIR@/tokens.sqlite", "relative/tokens.sqlite"},
};

// The keys [oauth2] needs; a probed key replaces its line.
const std::pair<std::string_view, std::string_view> kOAuth2Base[] = {
    {"client_id", "workfront"},
    {"client_secret_file", "@DIR@/link-secret"},
    {"redirect_uri", "https://acme.my.workfront.com/oauth2/callback"},
    {"database", "@DIR@/oauth2.sqlite"},
};

// The keys a store needs, with files of the fixture directory; a probed key replaces its line.
const std::pair<std::string_view, std::string_view> kStoreBase[] = {
    {"root", "@DIR@/store"},
    {"index", "@DIR@/index.sqlite"},
    {"link_secret_file", "@DIR@/link-secret"},
    {"thumbnail_cache", "@DIR@/thumbs"},
    {"audit_file", "@DIR@/audit.jsonl"},
};

std::string probe_config(const KeyProbe& p, const std::string& value) {
    const std::string line = std::string(p.key) + " = " + value + "\n";
    if (p.section == "auth") {
        return p.key == "api_key_file" ? "[auth]\n" + line : kAuth + line;
    }
    if (p.section == "action:NAME") {
        return kAuth + "[action:t]\n" + (p.key == "type" ? "" : "type = noop\n") + line;
    }
    if (p.section == "oauth2") {
        std::string text = kAuth + "[oauth2]\n" + line;
        for (const auto& [key, v] : kOAuth2Base)
            if (key != p.key) text += std::string(key) + " = " + std::string(v) + "\n";
        return text;
    }
    if (p.section == "store") {
        std::string text = kAuth + "[store]\n" + line;
        for (const auto& [key, v] : kStoreBase)
            if (key != p.key) text += std::string(key) + " = " + std::string(v) + "\n";
        return text;
    }
    return "[" + std::string(p.section) + "]\n" + line + kAuth;
}

std::string probe_where(const KeyProbe& p) {
    const std::string section = p.section == "action:NAME" ? "action:t" : std::string(p.section);
    return "[" + section + "] " + std::string(p.key);
}

} // namespace

BOOST_AUTO_TEST_SUITE(config)

BOOST_DATA_TEST_CASE(invalid_config_names_file_section_and_key, bdata::make(bad_cases()), c) {
    ConfigDir d;
    make_fixture_files(d);
    ConfigResult r;
    BOOST_REQUIRE_NO_THROW(r = d.load(c.text));
    BOOST_TEST(!r.config);
    const std::string prefix = d.path + ": " + (c.where.empty() ? "" : d.expand(c.where) + ": ");
    const std::string expected = prefix + d.expand(c.message);
    BOOST_TEST(r.errors.size() == 1u, "errors:" << join(r.errors));
    const bool found = std::any_of(r.errors.begin(), r.errors.end(),
                                   [&](const std::string& e) { return e.starts_with(expected); });
    BOOST_TEST(found, "no error starts with\n  " << expected << "\nerrors:" << join(r.errors));
}

BOOST_AUTO_TEST_CASE(missing_config_file) {
    ConfigDir d;
    const std::string path = d.dir.file("absent.conf");
    const ConfigResult r = load_config(path);
    BOOST_TEST(!r.config);
    BOOST_TEST(r.errors ==
                   std::vector<std::string>{path +
                                            ": cannot read the configuration: No such file or "
                                            "directory"},
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(every_problem_is_reported_not_just_the_first) {
    ConfigDir d;
    const ConfigResult r = d.load("[server]\nworkers = 0\nbacklog = x\nbogus = 1\n" + kAuth +
                                  "[action:a]\ntype = exec\ncommand = relative\n");
    BOOST_TEST(!r.config);
    BOOST_TEST(r.errors.size() == 4u, "errors:" << join(r.errors));
    for (const std::string where :
         {"[server] workers: ", "[server] backlog: ", "[server] bogus: ", "[action:a] command: "}) {
        BOOST_TEST(
            std::any_of(r.errors.begin(), r.errors.end(),
                        [&](const std::string& e) { return e.starts_with(d.path + ": " + where); }),
            where << " missing from:" << join(r.errors));
    }
}

BOOST_AUTO_TEST_CASE(key_text_never_appears_in_messages) {
    ConfigDir d;
    const std::string short_key = "sekrit-short";
    const std::string spaced_key = "sekrit spaced key text";
    const std::string good_key = "sekrit-good-key-0123456789";
    d.dir.write("bad-keys", short_key + "\n" + spaced_key + "\n" + good_key + "\n", 0644);
    const ConfigResult r = d.load("[auth]\napi_key_file = @DIR@/bad-keys\n");
    BOOST_TEST(r.errors.empty(), "errors:" << join(r.errors));
    BOOST_TEST(r.warnings.size() == 3u); // world-readable, and each bad line
    std::vector<std::string> all = r.errors;
    all.insert(all.end(), r.warnings.begin(), r.warnings.end());
    for (const std::string& m : all) {
        BOOST_TEST(m.find("sekrit") == std::string::npos, m);
    }
}

BOOST_AUTO_TEST_CASE(too_many_actions) {
    ConfigDir d;
    std::string text = kAuth;
    for (std::size_t i = 0; i <= wfhookd::kMaxActions; ++i)
        text += "[action:a" + std::to_string(i) + "]\ntype = noop\n";
    const ConfigResult r = d.load(text);
    BOOST_TEST(!r.config);
    BOOST_TEST(r.errors == std::vector<std::string>{d.path + ": [action:a" +
                                                    std::to_string(wfhookd::kMaxActions) +
                                                    "]: too many actions (at most 128)"},
               boost::test_tools::per_element());
    // Exactly the limit is fine.
    text = kAuth;
    for (std::size_t i = 0; i < wfhookd::kMaxActions; ++i)
        text += "[action:a" + std::to_string(i) + "]\ntype = noop\n";
    const ConfigResult ok = d.load(text);
    BOOST_TEST_REQUIRE(ok.errors.empty(), "errors:" << join(ok.errors));
    BOOST_TEST(ok.config->actions.size() == wfhookd::kMaxActions);
}

// ------------------------------------------------------------------------------------------
// Valid configs.

BOOST_AUTO_TEST_CASE(defaults_are_applied) {
    ConfigDir d;
    const ConfigResult r = d.load(kAuth);
    BOOST_TEST_REQUIRE(r.errors.empty(), "errors:" << join(r.errors));
    BOOST_TEST(r.warnings.empty(), "warnings:" << join(r.warnings));
    const wfhookd::Config& c = *r.config;
    const ServerConfig def{};
    const ServerConfig& s = c.server;
    BOOST_TEST(c.path == d.path);
    BOOST_TEST((s.listen == def.listen));
    BOOST_TEST((s.listen.kind == wfhookd::ListenAddress::Kind::inherited));
    BOOST_TEST(s.socket_mode == def.socket_mode);
    BOOST_TEST(s.socket_group == def.socket_group);
    BOOST_TEST(s.backlog == def.backlog);
    BOOST_TEST(s.workers == def.workers);
    BOOST_TEST(s.shutdown_timeout == def.shutdown_timeout);
    BOOST_TEST(s.request_timeout == def.request_timeout);
    BOOST_TEST(s.io_timeout == def.io_timeout);
    BOOST_TEST(s.max_requests == def.max_requests);
    BOOST_TEST(s.max_requests_jitter == def.max_requests_jitter);
    BOOST_TEST(s.max_query_size == def.max_query_size);
    BOOST_TEST(s.max_body_size == def.max_body_size);
    BOOST_TEST(s.status == def.status);
    BOOST_TEST(s.allow_from.empty());
    BOOST_TEST(c.service.publisher == wfhookd::ServiceConfig{}.publisher);
    BOOST_TEST(c.service.version == WFHOOKD_VERSION);
    BOOST_TEST(c.auth.api_key_file == d.keys);
    BOOST_TEST(c.auth.keys == std::vector<std::string>{kKey}, boost::test_tools::per_element());
    BOOST_TEST(c.auth.users.empty());
    BOOST_TEST(c.actions.empty());
}

// The defaults documented in config_keys() are the ones the struct and loader apply.
BOOST_AUTO_TEST_CASE(documented_defaults_match_the_struct) {
    ConfigDir d;
    const ConfigResult r = d.load(kAuth + "[action:a]\ntype = noop\n");
    BOOST_TEST_REQUIRE(r.errors.empty(), "errors:" << join(r.errors));
    const wfhookd::Config& c = *r.config;
    const auto doc = [](std::string_view section, std::string_view key) {
        for (const wfhookd::KeyInfo& k : wfhookd::config_keys())
            if (k.section == section && k.key == key) return std::string(k.default_text);
        return std::string("<undocumented>");
    };
    const auto u = [](auto v) { return std::to_string(v); };
    BOOST_TEST(doc("server", "socket_mode") == "0" + [&] {
        char buf[8];
        std::snprintf(buf, sizeof buf, "%o", c.server.socket_mode);
        return std::string(buf);
    }());
    BOOST_TEST(doc("server", "backlog") == u(c.server.backlog));
    BOOST_TEST(doc("server", "workers") == u(c.server.workers));
    BOOST_TEST(doc("server", "shutdown_timeout") == u(c.server.shutdown_timeout));
    BOOST_TEST(doc("server", "request_timeout") == u(c.server.request_timeout));
    BOOST_TEST(doc("server", "io_timeout") == u(c.server.io_timeout));
    BOOST_TEST(doc("server", "max_requests") == u(c.server.max_requests));
    BOOST_TEST(doc("server", "max_query_size") == u(c.server.max_query_size));
    BOOST_TEST(doc("server", "max_body_size") == u(c.server.max_body_size));
    BOOST_TEST(doc("server", "status") == (c.server.status ? "yes" : "no"));
    BOOST_TEST(doc("service", "publisher") == c.service.publisher);
    BOOST_TEST(
        doc("action:NAME", "max_concurrent").starts_with("(" + u(c.actions.at(0).max_concurrent)));
    BOOST_TEST(doc("server", "keep_conn_max") == u(c.server.keep_conn_max));
    BOOST_TEST(doc("server", "keep_conn_idle") == u(c.server.keep_conn_idle));
}

BOOST_AUTO_TEST_CASE(every_value_is_read) {
    ConfigDir d;
    const ConfigResult r = d.load("[server]\n"
                                  "listen = tcp:[::1]:9001\n"
                                  "socket_mode = 0600\n"
                                  "socket_group = root\n"
                                  "backlog = 128\n"
                                  "workers = 256\n"
                                  "shutdown_timeout = 7\n"
                                  "request_timeout = 0\n"
                                  "io_timeout = 3\n"
                                  "max_requests = 1000\n"
                                  "max_requests_jitter = 50\n"
                                  "max_query_size = 16k\n"
                                  "max_body_size = 2M\n"
                                  "status = on\n"
                                  "allow_from = 127.0.0.1 10.0.0.0/8 ::1 fd00::/8\n"
                                  "[service]\n"
                                  "publisher = Acme, LLC\n"
                                  "version = 2.0-beta\n" +
                                  kAuth + "users = alice  bob\tcarol\n");
    BOOST_TEST_REQUIRE(r.errors.empty(), "errors:" << join(r.errors));
    const ServerConfig& s = r.config->server;
    BOOST_TEST((s.listen.kind == wfhookd::ListenAddress::Kind::tcp));
    BOOST_TEST(s.listen.host == "::1");
    BOOST_TEST(s.listen.port == 9001);
    BOOST_TEST(s.socket_mode == 0600u);
    BOOST_TEST(s.socket_group == "root");
    BOOST_TEST(s.backlog == 128);
    BOOST_TEST(s.workers == 256u);
    BOOST_TEST(s.shutdown_timeout == 7u);
    BOOST_TEST(s.request_timeout == 0u);
    BOOST_TEST(s.io_timeout == 3u);
    BOOST_TEST(s.max_requests == 1000u);
    BOOST_TEST(s.max_requests_jitter == 50u);
    BOOST_TEST(s.max_query_size == 16u * 1024);
    BOOST_TEST(s.max_body_size == 2u * 1024 * 1024);
    BOOST_TEST(s.status);
    std::vector<wfhookd::AddressPrefix> expected;
    for (const char* p : {"127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8"}) {
        wfhookd::AddressPrefix a;
        std::string err;
        BOOST_TEST_REQUIRE(wfhookd::parse_address_prefix(p, a, err));
        expected.push_back(a);
    }
    BOOST_TEST_REQUIRE(s.allow_from.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i)
        BOOST_TEST((s.allow_from[i] == expected[i]));
    BOOST_TEST(r.config->service.publisher == "Acme, LLC");
    BOOST_TEST(r.config->service.version == "2.0-beta");
    BOOST_TEST(r.config->auth.users == (std::vector<std::string>{"alice", "bob", "carol"}),
               boost::test_tools::per_element());
    BOOST_TEST(r.warnings.empty(), "warnings:" << join(r.warnings));
}

struct SizeCase {
    std::string text;
    std::size_t bytes;
};

std::ostream& operator<<(std::ostream& os, const SizeCase& c) {
    return os << c.text;
}

const SizeCase kSizes[] = {
    {"1024", 1024},  {"1k", 1024},        {"1K", 1024},          {"64k", 65536},
    {"1m", 1048576}, {"3M", 3 * 1048576}, {"1024m", 1073741824}, {"1073741824", 1073741824},
};

BOOST_DATA_TEST_CASE(sizes_take_k_and_m_suffixes, bdata::make(kSizes), c) {
    ConfigDir d;
    const ConfigResult r = d.load("[server]\nmax_body_size = " + c.text + "\n" + kAuth);
    BOOST_TEST_REQUIRE(r.errors.empty(), "errors:" << join(r.errors));
    BOOST_TEST(r.config->server.max_body_size == c.bytes);
}

BOOST_AUTO_TEST_CASE(max_params_size_follows_max_query_size_unless_set) {
    ConfigDir d;
    const ConfigResult small = d.load("[server]\nmax_query_size = 4k\n" + kAuth);
    BOOST_TEST_REQUIRE(small.errors.empty(), "errors:" << join(small.errors));
    BOOST_TEST(small.config->server.max_params_size == 65536u);
    const ConfigResult big = d.load("[server]\nmax_query_size = 100k\n" + kAuth);
    BOOST_TEST_REQUIRE(big.errors.empty(), "errors:" << join(big.errors));
    BOOST_TEST(big.config->server.max_params_size == (100u + 16u) * 1024u);
    const ConfigResult set =
        d.load("[server]\nmax_query_size = 4k\nmax_params_size = 8k\n" + kAuth);
    BOOST_TEST_REQUIRE(set.errors.empty(), "errors:" << join(set.errors));
    BOOST_TEST(set.config->server.max_params_size == 8192u);
}

struct KeyFileCase {
    std::string name;
    std::string file; // under @DIR@
    std::string why;
};

std::ostream& operator<<(std::ostream& os, const KeyFileCase& c) {
    return os << c.name;
}

// A key file that holds no usable key never stops the configuration from loading: API keys
// are refused (so emptying the file and reloading revokes a key at once) and a warning says
// why, without the key's text.
const KeyFileCase kKeyFiles[] = {
    {"missing key file", "nope", "cannot be read (No such file or directory)"},
    {"key file is a directory", "subdir", "cannot be read (not a regular file)"},
    {"key file is a FIFO", "fifo", "cannot be read (not a regular file)"},
    {"key file with no keys", "empty-keys", "contains no key"},
    {"too-short key", "short-key", "holds no valid key"},
    {"too-long key", "long-key", "holds no valid key"},
    {"key with a space", "spaced-key", "holds no valid key"},
};

BOOST_DATA_TEST_CASE(a_key_file_without_a_key_refuses_api_keys, bdata::make(kKeyFiles), c) {
    ConfigDir d;
    make_fixture_files(d);
    mkfifo(d.dir.file("fifo").c_str(), 0600);
    const ConfigResult r = d.load("[auth]\napi_key_file = @DIR@/" + c.file + "\n");
    BOOST_TEST_REQUIRE(r.errors.empty(), "errors:" << join(r.errors));
    BOOST_TEST(r.config->auth.keys.empty());
    BOOST_TEST(r.config->auth.keys_refused == d.dir.file(c.file) + " " + c.why);
    const std::string refused = d.path + ": [auth] api_key_file: " + d.dir.file(c.file) + " " +
                                c.why +
                                ": every request with an API key is refused (403) until it "
                                "holds a key";
    BOOST_TEST((std::find(r.warnings.begin(), r.warnings.end(), refused) != r.warnings.end()),
               "warnings:" << join(r.warnings));
}

BOOST_AUTO_TEST_CASE(a_bad_line_beside_a_good_key_is_ignored_with_a_warning) {
    ConfigDir d;
    d.dir.write("keys", "0123456789abcde\n" + kKey + "\n", 0600);
    const ConfigResult r = d.load("[auth]\napi_key_file = @DIR@/keys\n");
    BOOST_TEST_REQUIRE(r.errors.empty(), "errors:" << join(r.errors));
    BOOST_TEST(r.config->auth.keys == std::vector<std::string>{kKey},
               boost::test_tools::per_element());
    BOOST_TEST(r.warnings == std::vector<std::string>{d.path + ": [auth] api_key_file: " +
                                                      d.dir.file("keys") +
                                                      " line 1: ignored: a key must be 16 to 1024 "
                                                      "characters long (this one has 15)"},
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_config_that_is_not_a_regular_file_or_too_big_is_refused_at_once) {
    ConfigDir d;
    mkfifo(d.dir.file("fifo.conf").c_str(), 0600);
    const ConfigResult fifo = wfhookd::load_config(d.dir.file("fifo.conf")); // never blocks
    BOOST_TEST(fifo.errors == std::vector<std::string>{d.dir.file("fifo.conf") +
                                                       ": cannot read the configuration: not a "
                                                       "regular file"},
               boost::test_tools::per_element());
    const ConfigResult zero = wfhookd::load_config("/dev/zero");
    BOOST_TEST(zero.errors == std::vector<std::string>{"/dev/zero: cannot read the configuration: "
                                                       "not a regular file"},
               boost::test_tools::per_element());
    const std::string big = d.dir.write("big.conf", kAuth + std::string(2 << 20, '#'));
    const ConfigResult r = wfhookd::load_config(big);
    BOOST_TEST(r.errors == std::vector<std::string>{big + ": cannot read the configuration: larger "
                                                          "than 1024 KiB"},
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(listening_on_every_address_without_allow_from_is_a_warning) {
    ConfigDir d;
    for (const std::string listen : {"tcp:0.0.0.0:9000", "tcp:[::]:9000"}) {
        const ConfigResult r = d.load("[server]\nlisten = " + listen + "\n" + kAuth);
        BOOST_TEST_REQUIRE(r.errors.empty(), "errors:" << join(r.errors));
        BOOST_TEST_REQUIRE(r.warnings.size() == 1u, "warnings:" << join(r.warnings));
        BOOST_TEST(r.warnings[0].starts_with(d.path + ": [server] listen: " + listen +
                                             " accepts FastCGI connections from every network"),
                   r.warnings[0]);
        const ConfigResult allowed =
            d.load("[server]\nlisten = " + listen + "\nallow_from = 10.0.0.1\n" + kAuth);
        BOOST_TEST(allowed.warnings.empty(), "warnings:" << join(allowed.warnings));
    }
}

struct BoolCase {
    std::string text;
    bool value;
};

std::ostream& operator<<(std::ostream& os, const BoolCase& c) {
    return os << c.text;
}

const BoolCase kBools[] = {{"yes", true}, {"true", true},   {"on", true},   {"1", true},
                           {"no", false}, {"false", false}, {"off", false}, {"0", false}};

BOOST_DATA_TEST_CASE(status_takes_yes_and_no_words, bdata::make(kBools), c) {
    ConfigDir d;
    // Start from the opposite value so a loader that ignored the key would fail.
    const ConfigResult r = d.load("[server]\nstatus = " + c.text + "\n" + kAuth);
    BOOST_TEST_REQUIRE(r.errors.empty(), "errors:" << join(r.errors));
    BOOST_TEST(r.config->server.status == c.value);
}

struct JitterCase {
    std::string server;
    std::uint64_t jitter;
};

std::ostream& operator<<(std::ostream& os, const JitterCase& c) {
    return os << c.server;
}

const JitterCase kJitter[] = {
    {"max_requests = 1000\n", 100},
    {"max_requests = 5\n", 0},
    {"max_requests = 19\n", 1},
    {"max_requests = 0\n", 0},
    {"max_requests = 1000\nmax_requests_jitter = 7\n", 7},
    {"max_requests_jitter = 7\nmax_requests = 1000\n", 7},
    {"max_requests = 1000\nmax_requests_jitter = 0\n", 0},
    {"max_requests_jitter = 5\n", 5}, // no recycling: the jitter is unused, not an error
};

BOOST_DATA_TEST_CASE(max_requests_jitter_defaults_to_a_tenth, bdata::make(kJitter), c) {
    ConfigDir d;
    const ConfigResult r = d.load("[server]\n" + c.server + kAuth);
    BOOST_TEST_REQUIRE(r.errors.empty(), "errors:" << join(r.errors));
    BOOST_TEST(r.config->server.max_requests_jitter == c.jitter);
}

struct CommentCase {
    std::string name;
    std::string raw;      // as written after "publisher = "
    std::string expected; // the value the loader keeps
};

std::ostream& operator<<(std::ostream& os, const CommentCase& c) {
    return os << c.name;
}

const CommentCase kComments[] = {
    {"; comment after a space", "Acme ; the publisher", "Acme"},
    {"# comment after a space", "Acme # the publisher", "Acme"},
    {"comment after a tab", "Acme\t# the publisher", "Acme"},
    {"; inside a word kept", "Acme;Corp", "Acme;Corp"},
    {"# inside a word kept", "Acme#1", "Acme#1"},
    {"--flag=#1 kept", "--flag=#1", "--flag=#1"},
    {"first comment wins", "Acme ; one # two", "Acme"},
    {"= kept", "a=b", "a=b"},
    {"inner spaces kept", "Acme   Corp", "Acme   Corp"},
    {"quotes kept", "\"Acme\"", "\"Acme\""},
};

BOOST_DATA_TEST_CASE(inline_comments_are_stripped_after_whitespace, bdata::make(kComments), c) {
    ConfigDir d;
    const ConfigResult r = d.load("[service]\npublisher = " + c.raw + "\n" + kAuth);
    BOOST_TEST_REQUIRE(r.errors.empty(), "errors:" << join(r.errors));
    BOOST_TEST(r.config->service.publisher == c.expected);
}

BOOST_AUTO_TEST_CASE(a_value_that_is_only_a_comment_is_empty) {
    ConfigDir d;
    const ConfigResult r =
        d.load("[server]\nsocket_group = ; none\nlisten = # inherited\n" + kAuth);
    BOOST_TEST_REQUIRE(r.errors.empty(), "errors:" << join(r.errors));
    BOOST_TEST(r.config->server.socket_group == "");
    BOOST_TEST((r.config->server.listen.kind == wfhookd::ListenAddress::Kind::inherited));
}

BOOST_AUTO_TEST_CASE(comments_in_exec_commands) {
    ConfigDir d;
    const ConfigResult r = d.load(kAuth + "[action:a]\ntype = exec\n"
                                          "command = /bin/echo --flag=#1 a;b   ; run echo\n"
                                          "timeout = 5 # seconds\n");
    BOOST_TEST_REQUIRE(r.errors.empty(), "errors:" << join(r.errors));
    const wfhookd::ActionConfig& a = r.config->actions.at(0);
    BOOST_TEST(a.setting("command") == "/bin/echo --flag=#1 a;b");
    BOOST_TEST(a.seconds("timeout") == 5u);
}

BOOST_AUTO_TEST_CASE(whole_line_comments_and_crlf) {
    ConfigDir d;
    const ConfigResult r =
        d.load("; a comment\r\n# another\r\n  ; indented\r\n[server]\r\nworkers = 3\r\n" +
               std::string("[auth]\r\napi_key_file = @KEYS@\r\n"));
    BOOST_TEST_REQUIRE(r.errors.empty(), "errors:" << join(r.errors));
    BOOST_TEST(r.config->server.workers == 3u);
    BOOST_TEST(r.config->auth.api_key_file == d.keys);
}

BOOST_AUTO_TEST_CASE(empty_known_sections_are_fine) {
    ConfigDir d;
    const ConfigResult r = d.load("[server]\n[service]\n; nothing\n" + kAuth);
    BOOST_TEST(r.errors.empty(), "errors:" << join(r.errors));
}

BOOST_AUTO_TEST_CASE(actions_keep_file_order_and_settings) {
    ConfigDir d;
    d.dir.write("script", "#!/bin/sh\n", 0755);
    const ConfigResult r =
        d.load(kAuth + "[action:zeta]\ntype = noop\n"
                       "[action:alpha]\ntype = exec\ncommand = @DIR@/script  a   b\n"
                       "display_name = Run \xE2\x9C\x93 it\nmax_concurrent = 2\n"
                       "[action:Mid-1.x_y]\ntype = append\nfile = @DIR@/log.jsonl\n");
    BOOST_TEST_REQUIRE(r.errors.empty(), "errors:" << join(r.errors));
    const auto& actions = r.config->actions;
    BOOST_TEST_REQUIRE(actions.size() == 3u);
    const std::string names[] = {"zeta", "alpha", "Mid-1.x_y"};
    const std::string types[] = {"noop", "exec", "append"};
    for (std::size_t i = 0; i < 3; ++i) {
        BOOST_TEST(actions[i].name == names[i]);
        BOOST_TEST(actions[i].index == i);
        BOOST_TEST_REQUIRE(actions[i].type != nullptr);
        BOOST_TEST(actions[i].type->name == types[i]);
        BOOST_TEST(r.config->find_action(names[i]) == &actions[i]);
    }
    BOOST_TEST(actions[0].display_name == "zeta"); // defaults to the name
    BOOST_TEST(actions[0].max_concurrent == 0u);
    BOOST_TEST(actions[0].settings.empty());
    BOOST_TEST(actions[1].display_name == "Run \xE2\x9C\x93 it");
    BOOST_TEST(actions[1].max_concurrent == 2u);
    BOOST_TEST(actions[1].setting("command") == d.dir.file("script") + "  a   b");
    BOOST_TEST(actions[1].setting("timeout") == "30"); // default filled in
    BOOST_TEST(actions[2].setting("file") == d.dir.file("log.jsonl"));
    BOOST_TEST(actions[2].display_name == "Mid-1.x_y");
    BOOST_TEST(r.config->find_action("ZETA") == nullptr);
    BOOST_TEST(r.config->find_action("") == nullptr);
}

BOOST_AUTO_TEST_CASE(action_name_of_64_characters_is_fine) {
    ConfigDir d;
    const std::string name(64, 'n');
    const ConfigResult r = d.load(kAuth + "[action:" + name + "]\ntype = noop\n");
    BOOST_TEST_REQUIRE(r.errors.empty(), "errors:" << join(r.errors));
    BOOST_TEST(r.config->actions.at(0).name == name);
}

BOOST_AUTO_TEST_CASE(exec_timeout_below_request_timeout_and_without_deadline) {
    ConfigDir d;
    const ConfigResult below =
        d.load("[server]\nrequest_timeout = 10\n" + kAuth +
               "[action:a]\ntype = exec\ncommand = /bin/true\ntimeout = 9\n");
    BOOST_TEST(below.errors.empty(), "errors:" << join(below.errors));
    const ConfigResult none =
        d.load("[server]\nrequest_timeout = 0\n" + kAuth +
               "[action:a]\ntype = exec\ncommand = /bin/true\ntimeout = 86400\n");
    BOOST_TEST(none.errors.empty(), "errors:" << join(none.errors));
}

BOOST_AUTO_TEST_CASE(the_default_append_lock_wait_fits_a_short_request_timeout) {
    ConfigDir d;
    const ConfigResult r = d.load("[server]\nrequest_timeout = 3\n" + kAuth +
                                  "[action:a]\ntype = append\nfile = @DIR@/a.jsonl\n");
    BOOST_TEST_REQUIRE(r.errors.empty(), join(r.errors));
    BOOST_TEST(r.config->actions.at(0).seconds("lock_timeout") == 2u);
    // Written by the operator, it is checked like any timeout.
    const ConfigResult set = d.load("[server]\nrequest_timeout = 3\n" + kAuth +
                                    "[action:a]\ntype = append\nfile = @DIR@/a.jsonl\n"
                                    "lock_timeout = 5\n");
    BOOST_TEST(set.errors.size() == 1u);
}

BOOST_AUTO_TEST_CASE(append_file_may_exist_or_be_created) {
    ConfigDir d;
    d.dir.write("existing.jsonl", "", 0600);
    const ConfigResult r = d.load(kAuth + "[action:a]\ntype = append\nfile = @DIR@/existing.jsonl\n"
                                          "[action:b]\ntype = append\nfile = @DIR@/new.jsonl\n");
    BOOST_TEST(r.errors.empty(), "errors:" << join(r.errors));
}

BOOST_AUTO_TEST_CASE(key_file_lines) {
    ConfigDir d;
    const std::string k1(16, 'a'), k2(1024, 'b'), k3 = "~!@#$%^&*()_+{}|:<>?";
    d.dir.write("keys", "# comment\n\n  " + k1 + "  \n" + k2 + "\r\n\t# indented comment\n" + k3,
                0640);
    const ConfigResult r = d.load("[auth]\napi_key_file = @DIR@/keys\n");
    BOOST_TEST_REQUIRE(r.errors.empty(), "errors:" << join(r.errors));
    BOOST_TEST(r.config->auth.keys == (std::vector<std::string>{k1, k2, k3}),
               boost::test_tools::per_element());
    BOOST_TEST(r.warnings.empty(), "warnings:" << join(r.warnings)); // 0640 is fine
}

BOOST_AUTO_TEST_CASE(world_readable_key_file_is_a_warning) {
    ConfigDir d;
    d.dir.write("keys", kKey + "\n", 0644);
    const ConfigResult r = d.load("[auth]\napi_key_file = @DIR@/keys\n");
    BOOST_TEST_REQUIRE(r.errors.empty(), "errors:" << join(r.errors));
    BOOST_TEST(r.warnings == std::vector<std::string>{d.path + ": [auth] api_key_file: " +
                                                      d.dir.file("keys") +
                                                      " is readable by every user; chmod 0640 it"},
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(allow_from_on_a_unix_socket_is_a_warning) {
    ConfigDir d;
    const ConfigResult r =
        d.load("[server]\nlisten = unix:/run/wfhookd.sock\nallow_from = 127.0.0.1\n" + kAuth);
    BOOST_TEST_REQUIRE(r.errors.empty(), "errors:" << join(r.errors));
    BOOST_TEST(r.warnings ==
                   std::vector<std::string>{d.path + ": [server] allow_from: ignored for unix "
                                                     "sockets (file permissions guard those)"},
               boost::test_tools::per_element());
    BOOST_TEST(r.config->server.listen.path == "/run/wfhookd.sock");
}

// The key table (config_keys(), used for the docs) and the loader cannot drift apart: every
// documented key is accepted in its section, and actually parsed (a bad value is refused).
BOOST_AUTO_TEST_CASE(every_documented_key_is_accepted_and_parsed) {
    BOOST_TEST(wfhookd::config_keys().size() == std::size(kProbes));
    for (const wfhookd::KeyInfo& k : wfhookd::config_keys()) {
        BOOST_TEST_CONTEXT("[" << k.section << "] " << k.key) {
            const KeyProbe* p = nullptr;
            for (const KeyProbe& probe : kProbes)
                if (probe.section == k.section && probe.key == k.key) p = &probe;
            BOOST_TEST_REQUIRE(p != nullptr, "no probe for this key: add one to kProbes");
            ConfigDir d;
            d.dir.write("link-secret", std::string(40, 's') + "\n", 0640);
            d.dir.write("short-secret", "too short\n", 0640);
            mkdir(d.dir.file("subdir").c_str(), 0700);
            const ConfigResult good = d.load(probe_config(*p, p->valid));
            BOOST_TEST(good.errors.empty(), "errors:" << join(good.errors));
            const ConfigResult bad = d.load(probe_config(*p, p->invalid));
            const std::string prefix = d.path + ": " + probe_where(*p) + ": ";
            BOOST_TEST(std::any_of(bad.errors.begin(), bad.errors.end(),
                                   [&](const std::string& e) { return e.starts_with(prefix); }),
                       "no error starts with " << prefix << "; errors:" << join(bad.errors));
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
