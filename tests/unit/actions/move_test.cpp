// type = move: the store's file of the called document goes into a folder of the store.
#include "actions/action.hpp"
#include "store/store.hpp"
#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

using wfhookd::ActionCall;
using wfhookd::ActionConfig;
using wfhookd::ActionResult;
using wfhookd::Item;
using wfhookd::Outcome;
using wfhookd::Store;
using wfhookd::StoreConfig;

namespace {

// A store in a temporary directory, with a file Workfront sent (document "wf-1") and the
// move action's configuration.
struct Fixture {
    wftest::TempDir dir;
    StoreConfig config;
    Store store{config};
    Item file;

    Fixture() {
        config.enabled = true;
        config.root = dir.file("store");
        config.index = dir.file("index.sqlite");
        config.audit_file = dir.file("audit.jsonl");
        mkdir(config.root.c_str(), 0750);
        std::string error;
        BOOST_TEST_REQUIRE(store.open(error), error);
        Item root, inbox;
        BOOST_TEST_REQUIRE((store.find("/", root) == Outcome::ok));
        BOOST_TEST_REQUIRE((store.create_folder(root, "Inbox", inbox) == Outcome::ok));
        BOOST_TEST_REQUIRE((store.create_file(inbox, "report.pdf", false, file) == Outcome::ok));
        BOOST_TEST_REQUIRE(store.set_document("wf-1", "wf-1-v1", file.row.id));
    }

    ActionConfig move_to(const std::string& folder) const {
        ActionConfig a;
        a.name = "archive";
        a.display_name = "Archive";
        a.type = wfhookd::find_action_type("move");
        a.settings = {{"folder", folder}};
        return a;
    }
    ActionResult run(const std::string& folder, std::string_view document_id) {
        ActionCall call{"archive", document_id, "", false, "ann@example.com"};
        call.store = &store;
        return wfhookd::run_move(move_to(folder), call);
    }
    bool on_disk(const std::string& path) const {
        struct stat st {};
        return lstat((config.root + "/" + path).c_str(), &st) == 0;
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(move)

BOOST_AUTO_TEST_CASE(moves_the_file_into_a_new_folder_keeping_its_id) {
    Fixture f;
    const ActionResult r = f.run("Archive/2026", "wf-1");
    BOOST_TEST_REQUIRE(r.ok, r.error);
    Item moved;
    BOOST_TEST_REQUIRE((f.store.find(f.file.row.id, moved) == Outcome::ok));
    BOOST_TEST(moved.row.path == "Archive/2026/report.pdf");
    BOOST_TEST(f.on_disk("Archive/2026/report.pdf"));
    BOOST_TEST(!f.on_disk("Inbox/report.pdf"));
    // Who moved what, from where to where.
    const std::string audit = wftest::read_file(f.config.audit_file);
    BOOST_TEST(audit.find("\"user\":\"ann@example.com\"") != std::string::npos, audit);
    BOOST_TEST(audit.find("\"endpoint\":\"customAction:archive\"") != std::string::npos, audit);
    BOOST_TEST(audit.find("\"from\":\"Inbox/report.pdf\",\"to\":\"Archive/2026/report.pdf\"") !=
                   std::string::npos,
               audit);
}

BOOST_AUTO_TEST_CASE(a_taken_name_in_the_destination_is_numbered) {
    Fixture f;
    Item archive, other;
    BOOST_TEST_REQUIRE((f.store.folder_at("Archive", archive) == Outcome::ok));
    BOOST_TEST_REQUIRE((f.store.create_file(archive, "report.pdf", false, other) == Outcome::ok));
    BOOST_TEST_REQUIRE(f.run("Archive", "wf-1").ok);
    Item moved;
    BOOST_TEST_REQUIRE((f.store.find(f.file.row.id, moved) == Outcome::ok));
    BOOST_TEST(moved.row.path == "Archive/report (2).pdf");
    BOOST_TEST(f.on_disk("Archive/report.pdf")); // the other file is untouched
}

BOOST_AUTO_TEST_CASE(a_file_already_there_stays_as_it_is) {
    Fixture f;
    BOOST_TEST_REQUIRE(f.run("Inbox", "wf-1").ok);
    Item same;
    BOOST_TEST_REQUIRE((f.store.find(f.file.row.id, same) == Outcome::ok));
    BOOST_TEST(same.row.path == "Inbox/report.pdf"); // not "report (2).pdf"
}

BOOST_AUTO_TEST_CASE(a_document_not_in_the_store_is_404) {
    Fixture f;
    const ActionResult r = f.run("Archive", "wf-unknown");
    BOOST_TEST(!r.ok);
    BOOST_TEST(r.status == 404);
    BOOST_TEST(r.error == "this document is not in the store");
    BOOST_TEST(!f.on_disk("Archive")); // nothing made for nothing
}

BOOST_AUTO_TEST_CASE(a_destination_that_is_a_file_fails_and_moves_nothing) {
    Fixture f;
    Item root, blocker;
    BOOST_TEST_REQUIRE((f.store.find("/", root) == Outcome::ok));
    BOOST_TEST_REQUIRE((f.store.create_file(root, "Archive", false, blocker) == Outcome::ok));
    const ActionResult r = f.run("Archive/2026", "wf-1");
    BOOST_TEST(!r.ok);
    BOOST_TEST(r.status == 500);
    BOOST_TEST(f.on_disk("Inbox/report.pdf"));
}

BOOST_AUTO_TEST_CASE(without_a_store_it_fails) {
    Fixture f;
    ActionCall call{"archive", "wf-1", "", false, "ann@example.com"};
    const ActionResult r = wfhookd::run_move(f.move_to("Archive"), call);
    BOOST_TEST(!r.ok);
    BOOST_TEST(r.error == "no document store is configured");
}

BOOST_AUTO_TEST_SUITE_END()
