#include "store/index.hpp"

#include "http/utf8.hpp"

#include <sqlite3.h>

namespace wfhookd {

namespace {

// Writers wait up to this long for another worker's transaction (they are short).
constexpr int kBusyTimeoutMs = 10'000;

// Version 1: items, their search table, and the Workfront documents of uploads.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE items (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    parent TEXT NOT NULL,
    name BLOB NOT NULL,
    path BLOB NOT NULL UNIQUE,
    folder INTEGER NOT NULL,
    ino INTEGER NOT NULL DEFAULT 0,
    title TEXT NOT NULL,
    UNIQUE (parent, name)
);
CREATE INDEX items_parent ON items(parent);
CREATE VIRTUAL TABLE titles USING fts5(title, content='items', content_rowid='rowid',
                                       tokenize='trigram');
CREATE TRIGGER items_insert AFTER INSERT ON items BEGIN
    INSERT INTO titles(rowid, title) VALUES (new.rowid, new.title);
END;
CREATE TRIGGER items_delete AFTER DELETE ON items BEGIN
    INSERT INTO titles(titles, rowid, title) VALUES ('delete', old.rowid, old.title);
END;
CREATE TRIGGER items_update AFTER UPDATE OF title ON items BEGIN
    INSERT INTO titles(titles, rowid, title) VALUES ('delete', old.rowid, old.title);
    INSERT INTO titles(rowid, title) VALUES (new.rowid, new.title);
END;
CREATE TABLE documents (
    document_id TEXT PRIMARY KEY,
    document_version_id TEXT,
    item TEXT NOT NULL
);
CREATE INDEX documents_item ON documents(item);
)sql";

constexpr const char* kColumns = "id, parent, path, name, folder, ino";

IndexRow row_of(const Statement& s) {
    IndexRow r;
    r.id = s.text(0);
    r.parent = s.text(1);
    r.path = s.text(2);
    r.name = s.text(3);
    r.folder = s.integer(4) != 0;
    r.ino = static_cast<std::uint64_t>(s.integer(5));
    return r;
}

// Bounds of the paths beneath `folder`: every path starting with "folder/" sorts between
// "folder/" and "folder0" ('0' follows '/').
std::pair<std::string, std::string> subtree(std::string_view folder) {
    return {std::string(folder) + "/", std::string(folder) + "0"};
}

// Code points in UTF-8 text.
std::size_t characters(std::string_view s) {
    std::size_t n = 0;
    for (const char c : s)
        n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    return n;
}

} // namespace

std::string title_of(std::string_view name) {
    return to_valid_utf8(name);
}

Statement::Statement(sqlite3* db, const char* sql) {
    ok_ = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) == SQLITE_OK;
}

Statement::Statement(Statement&& o) noexcept : stmt_(o.stmt_), ok_(o.ok_) {
    o.stmt_ = nullptr;
}

Statement& Statement::operator=(Statement&& o) noexcept {
    if (this != &o) {
        sqlite3_finalize(stmt_);
        stmt_ = o.stmt_;
        ok_ = o.ok_;
        o.stmt_ = nullptr;
    }
    return *this;
}

Statement::~Statement() {
    sqlite3_finalize(stmt_);
}

Statement& Statement::bind(int i, std::string_view text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
}

Statement& Statement::bind_blob(int i, std::string_view bytes) {
    // A zero-length blob must not be bound as NULL.
    sqlite3_bind_blob(stmt_, i, bytes.empty() ? "" : bytes.data(), static_cast<int>(bytes.size()),
                      SQLITE_TRANSIENT);
    return *this;
}

Statement& Statement::bind(int i, std::int64_t n) {
    sqlite3_bind_int64(stmt_, i, n);
    return *this;
}

bool Statement::step() {
    const int rc = sqlite3_step(stmt_);
    ok_ = rc == SQLITE_ROW || rc == SQLITE_DONE;
    return rc == SQLITE_ROW;
}

void Statement::reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

std::string Statement::text(int col) const {
    const void* p = sqlite3_column_blob(stmt_, col);
    const int n = sqlite3_column_bytes(stmt_, col);
    return p == nullptr ? std::string() : std::string(static_cast<const char*>(p), n);
}

std::int64_t Statement::integer(int col) const {
    return sqlite3_column_int64(stmt_, col);
}

Index::~Index() {
    // Statements first: a connection with live statements does not close.
    by_id_ = Statement();
    by_path_ = Statement();
    children_ = Statement();
    insert_ = Statement();
    set_ino_ = Statement();
    remove_one_ = Statement();
    remove_under_ = Statement();
    count_ = Statement();
    move_one_ = Statement();
    move_under_ = Statement();
    sqlite3_close(db_);
}

bool Index::exec(const char* sql) {
    return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
}

std::string Index::last_error() const {
    return db_ != nullptr ? sqlite3_errmsg(db_) : "no index";
}

bool Index::migrate(std::string& error) {
    Statement v(db_, "PRAGMA user_version");
    const int version = v.step() ? static_cast<int>(v.integer(0)) : -1;
    if (version > kSchemaVersion) {
        error = "the index was written by a newer wfhookd (schema " + std::to_string(version) +
                "); remove it and run wfhookd --reindex";
        return false;
    }
    if (version == kSchemaVersion) return true;
    if (!exec("BEGIN IMMEDIATE")) return error = last_error(), false;
    // Another worker may have migrated while we waited for the lock.
    Statement again(db_, "PRAGMA user_version");
    const int now = again.step() ? static_cast<int>(again.integer(0)) : -1;
    bool ok = true;
    if (now == 0) ok = exec(kSchemaV1);
    // Later versions: one step per version, here.
    ok = ok && exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str());
    if (!ok) {
        error = last_error();
        exec("ROLLBACK");
        return false;
    }
    return exec("COMMIT") || (error = last_error(), false);
}

bool Index::open(const std::string& file, std::string& error) {
    if (sqlite3_open_v2(file.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                            SQLITE_OPEN_EXRESCODE,
                        nullptr) != SQLITE_OK) {
        error = last_error();
        return false;
    }
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    // WAL: readers never wait for the writer. FULL: a commit is on disk before it returns
    // (the ids of acknowledged uploads are in it).
    if (!exec("PRAGMA journal_mode = WAL") || !exec("PRAGMA synchronous = FULL") ||
        !exec("PRAGMA foreign_keys = ON")) {
        error = last_error();
        return false;
    }
    if (!migrate(error)) return false;
    const std::string cols = kColumns;
    by_id_ = Statement(db_, ("SELECT " + cols + " FROM items WHERE id = ?1").c_str());
    by_path_ = Statement(db_, ("SELECT " + cols + " FROM items WHERE path = ?1").c_str());
    children_ = Statement(db_, ("SELECT " + cols + " FROM items WHERE parent = ?1").c_str());
    insert_ = Statement(db_, "INSERT INTO items (id, parent, path, name, folder, ino, title) "
                             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    set_ino_ = Statement(db_, "UPDATE items SET ino = ?2 WHERE id = ?1");
    remove_one_ = Statement(db_, "DELETE FROM items WHERE id = ?1");
    remove_under_ = Statement(db_, "DELETE FROM items WHERE path > ?1 AND path < ?2");
    count_ = Statement(db_, "SELECT count(*) FROM items");
    move_one_ = Statement(db_, "UPDATE items SET parent = ?2, name = ?3, path = ?4, title = ?5 "
                               "WHERE id = ?1");
    move_under_ = Statement(db_, "UPDATE items SET path = CAST(?3 || substr(path, ?4) AS BLOB) "
                                 "WHERE path > ?1 AND path < ?2");
    for (const Statement* s : {&by_id_, &by_path_, &children_, &insert_, &set_ino_, &remove_one_,
                               &remove_under_, &count_, &move_one_, &move_under_})
        if (!s->ok()) {
            error = last_error();
            return false;
        }
    return true;
}

bool Index::by_id(std::string_view id, IndexRow& out) {
    by_id_.reset();
    by_id_.bind(1, id);
    const bool found = by_id_.step();
    if (found) out = row_of(by_id_);
    by_id_.reset();
    return found;
}

bool Index::by_path(std::string_view path, IndexRow& out) {
    by_path_.reset();
    by_path_.bind_blob(1, path);
    const bool found = by_path_.step();
    if (found) out = row_of(by_path_);
    by_path_.reset();
    return found;
}

std::vector<IndexRow> Index::children(std::string_view parent_id) {
    std::vector<IndexRow> out;
    children_.reset();
    children_.bind(1, parent_id);
    while (children_.step())
        out.push_back(row_of(children_));
    children_.reset();
    return out;
}

std::int64_t Index::count() {
    count_.reset();
    const std::int64_t n = count_.step() ? count_.integer(0) : 0;
    count_.reset();
    return n;
}

bool Index::insert(const IndexRow& row) {
    insert_.reset();
    insert_.bind(1, row.id)
        .bind(2, row.parent)
        .bind_blob(3, row.path)
        .bind_blob(4, row.name)
        .bind(5, std::int64_t(row.folder))
        .bind(6, static_cast<std::int64_t>(row.ino))
        .bind(7, title_of(row.name));
    insert_.step();
    const bool ok = insert_.ok();
    insert_.reset();
    return ok;
}

bool Index::set_ino(std::string_view id, std::uint64_t ino) {
    set_ino_.reset();
    set_ino_.bind(1, id).bind(2, static_cast<std::int64_t>(ino));
    set_ino_.step();
    const bool ok = set_ino_.ok();
    set_ino_.reset();
    return ok;
}

bool Index::move(std::string_view id, std::string_view parent, std::string_view name,
                 std::string_view path) {
    IndexRow old;
    if (!by_id(id, old)) return false;
    if (old.folder) {
        const auto [lo, hi] = subtree(old.path);
        move_under_.reset();
        move_under_.bind_blob(1, lo).bind_blob(2, hi).bind_blob(3, path).bind(
            4, static_cast<std::int64_t>(old.path.size() + 1));
        move_under_.step();
        const bool ok = move_under_.ok();
        move_under_.reset();
        if (!ok) return false;
    }
    move_one_.reset();
    move_one_.bind(1, id).bind(2, parent).bind_blob(3, name).bind_blob(4, path).bind(
        5, title_of(name));
    move_one_.step();
    const bool ok = move_one_.ok();
    move_one_.reset();
    return ok;
}

bool Index::remove(const IndexRow& row) {
    if (row.folder) {
        const auto [lo, hi] = subtree(row.path);
        remove_under_.reset();
        remove_under_.bind_blob(1, lo).bind_blob(2, hi);
        remove_under_.step();
        const bool ok = remove_under_.ok();
        remove_under_.reset();
        if (!ok) return false;
    }
    remove_one_.reset();
    remove_one_.bind(1, row.id);
    remove_one_.step();
    const bool ok = remove_one_.ok();
    remove_one_.reset();
    return ok;
}

std::vector<IndexRow> Index::search(std::string_view query, std::string_view scope,
                                    std::size_t offset, std::size_t max) {
    std::vector<IndexRow> out;
    const std::string cols = "i.id, i.parent, i.path, i.name, i.folder, i.ino";
    const std::string where_scope = scope.empty() ? "1" : "i.path > ?2 AND i.path < ?3";
    const std::string paging = " LIMIT ?4 OFFSET ?5";
    Statement s;
    std::string pattern;
    if (characters(query) >= 3) {
        // A phrase of the trigram tokenizer: the title contains the query, case-insensitive.
        pattern = "\"";
        for (const char c : query)
            pattern += c == '"' ? std::string("\"\"") : std::string(1, c);
        pattern += "\"";
        s = Statement(db_, ("SELECT " + cols +
                            " FROM titles JOIN items i ON i.rowid = titles.rowid "
                            "WHERE titles MATCH ?1 AND " +
                            where_scope +
                            " ORDER BY titles.rank, i.title COLLATE NOCASE, i.name, i.id" + paging)
                               .c_str());
    } else {
        // Too short for trigrams: a scan of the titles (ASCII letters case-insensitive).
        pattern = "%";
        for (const char c : query) {
            if (c == '%' || c == '_' || c == '\\') pattern += '\\';
            pattern += c;
        }
        pattern += "%";
        s = Statement(db_,
                      ("SELECT " + cols + " FROM items i WHERE i.title LIKE ?1 ESCAPE '\\' AND " +
                       where_scope + " ORDER BY i.title COLLATE NOCASE, i.name, i.id" + paging)
                          .c_str());
    }
    if (!s.ok()) return out;
    s.bind(1, pattern);
    if (!scope.empty()) {
        const auto [lo, hi] = subtree(scope);
        s.bind_blob(2, lo).bind_blob(3, hi);
    }
    s.bind(4, static_cast<std::int64_t>(max)).bind(5, static_cast<std::int64_t>(offset));
    while (s.step())
        out.push_back(row_of(s));
    return out;
}

bool Index::begin() {
    return exec("BEGIN IMMEDIATE");
}

bool Index::commit() {
    return exec("COMMIT");
}

void Index::rollback() {
    exec("ROLLBACK");
}

} // namespace wfhookd
