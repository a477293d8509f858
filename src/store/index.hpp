// The store's index: SQLite, one connection per worker (opened after the fork), WAL mode so
// that readers never wait for the one writer. It maps ids to locations and holds what the
// file system cannot: the search table (FTS5 with the trigram tokenizer: substrings,
// case-insensitive), and the Workfront document ids of uploads. The file system is the truth
// for content; the index can always be rebuilt from the tree (wfhookd --reindex).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace wfhookd {

// A folder or file as the index knows it.
struct IndexRow {
    std::string id;
    std::string parent; // the parent folder's id; "/" for the root's children
    std::string path;   // relative to the root, components joined by '/'
    std::string name;   // the last component, the file system's bytes
    bool folder = false;
    std::uint64_t ino = 0;
};

// A prepared statement, finalised with its owner.
class Statement {
public:
    Statement() = default;
    Statement(sqlite3* db, const char* sql);
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    Statement(Statement&& o) noexcept;
    Statement& operator=(Statement&& o) noexcept;
    ~Statement();

    Statement& bind(int i, std::string_view text);
    Statement& bind_blob(int i, std::string_view bytes);
    Statement& bind(int i, std::int64_t n);
    // SQLITE_ROW: true; SQLITE_DONE: false; an error: false with ok() false.
    bool step();
    bool ok() const { return ok_; }
    void reset();
    std::string text(int col) const;
    std::int64_t integer(int col) const;
    sqlite3_stmt* get() const { return stmt_; }

private:
    sqlite3_stmt* stmt_ = nullptr;
    bool ok_ = true;
};

class Index {
public:
    Index() = default;
    Index(const Index&) = delete;
    Index& operator=(const Index&) = delete;
    ~Index();

    // Opens (creating) the index file: WAL, synchronous=FULL, a busy timeout, the schema
    // created or migrated to the current version. false with `error` set.
    bool open(const std::string& file, std::string& error);
    sqlite3* db() const { return db_; }

    static constexpr int kSchemaVersion = 1;

    bool by_id(std::string_view id, IndexRow& out);
    bool by_path(std::string_view path, IndexRow& out);
    std::vector<IndexRow> children(std::string_view parent_id);
    std::int64_t count();

    bool insert(const IndexRow& row);
    bool set_ino(std::string_view id, std::uint64_t ino);
    // Gives an item a new place: parent, name and path; a folder's descendants follow.
    bool move(std::string_view id, std::string_view parent, std::string_view name,
              std::string_view path);
    // Removes an item, and everything beneath it when it is a folder.
    bool remove(const IndexRow& row);

    // Items whose title contains `query` (case-insensitive), within `scope` (a folder's path;
    // "" for the whole store), by relevance then name, skipping `offset`, at most `max`.
    std::vector<IndexRow> search(std::string_view query, std::string_view scope, std::size_t offset,
                                 std::size_t max);

    // BEGIN IMMEDIATE ... COMMIT: one writer at a time over all workers.
    bool begin();
    bool commit();
    void rollback();

    std::string last_error() const;

private:
    bool exec(const char* sql);
    bool migrate(std::string& error);

    sqlite3* db_ = nullptr;
    Statement by_id_, by_path_, children_, insert_, set_ino_, remove_one_, remove_under_, count_;
    Statement move_one_, move_under_;
};

// Search text for an item's name: valid UTF-8 (U+FFFD for the rest).
std::string title_of(std::string_view name);

} // namespace wfhookd
