#include "support/temp_dir.hpp"
#include "util/fs.hpp"

#include <boost/test/unit_test.hpp>

#include <cerrno>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

using namespace wfhookd;

BOOST_AUTO_TEST_SUITE(fs)

BOOST_AUTO_TEST_CASE(rename_new_never_replaces_a_file) {
    wftest::TempDir dir;
    dir.write("kept.json", "acknowledged\n");
    dir.write(".new.tmp", "newer\n");
    BOOST_TEST(rename_new(dir.file(".new.tmp"), dir.file("kept.json")) == EEXIST);
    BOOST_TEST(wftest::read_file(dir.file("kept.json")) == "acknowledged\n");
    BOOST_TEST(wftest::read_file(dir.file(".new.tmp")) == "newer\n");
    BOOST_TEST(rename_new(dir.file(".new.tmp"), dir.file("other.json")) == 0);
    BOOST_TEST(wftest::read_file(dir.file("other.json")) == "newer\n");
    BOOST_TEST(!wftest::file_exists(dir.file(".new.tmp")));
}

BOOST_AUTO_TEST_CASE(sync_directory_reports_what_failed) {
    wftest::TempDir dir;
    BOOST_TEST(sync_directory(dir.path()) == 0);
    BOOST_TEST(sync_directory(dir.file("gone")) == ENOENT);
    BOOST_TEST(sync_directory(dir.write("plain", "x")) == ENOTDIR);
}

// A socket's umask (0117 for a 0660 socket) leaking into the daemon would make folders without
// x for their owner; what make_dirs creates stays usable, with the umask's other cuts kept.
BOOST_AUTO_TEST_CASE(make_dirs_keeps_the_folders_usable_under_any_umask) {
    wftest::TempDir dir;
    const mode_t old = umask(0117);
    std::string error;
    const bool made = make_dirs(dir.file("a/b/c"), error);
    umask(old);
    BOOST_TEST_REQUIRE(made, error);
    for (const char* d : {"a", "a/b", "a/b/c"}) {
        struct stat st {};
        BOOST_TEST_REQUIRE(stat(dir.file(d).c_str(), &st) == 0);
        BOOST_TEST((st.st_mode & 07777) == 0740u, d); // 0750, less the umask, plus the owner's x
    }
    BOOST_TEST(wftest::file_exists(dir.write("a/b/c/inside", "x")));
    // An existing folder is left as it is; a path through a file is an error naming it.
    BOOST_TEST(make_dirs(dir.file("a/b"), error));
    dir.write("file", "x");
    BOOST_TEST(!make_dirs(dir.file("file/sub"), error));
    BOOST_TEST(error.find("file/sub") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(remove_tree_at_removes_a_folder_and_never_follows_a_link) {
    wftest::TempDir dir;
    dir.write("outside/keep.txt", "not ours\n");
    dir.write("tree/a/b/deep.txt", "x");
    dir.write("tree/top.txt", "y");
    BOOST_TEST_REQUIRE(
        symlink(dir.file("outside").c_str(), dir.file("tree/a/to-outside").c_str()) == 0);
    BOOST_TEST_REQUIRE(symlink(dir.file("outside/keep.txt").c_str(), dir.file("link").c_str()) ==
                       0);
    const Fd parent(open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    BOOST_TEST(remove_tree_at(parent.get(), "tree"));
    BOOST_TEST(!wftest::file_exists(dir.file("tree")));
    BOOST_TEST(remove_tree_at(parent.get(), "link")); // the link goes, not its target
    BOOST_TEST(!wftest::file_exists(dir.file("link")));
    BOOST_TEST(wftest::read_file(dir.file("outside/keep.txt")) == "not ours\n");
    BOOST_TEST(remove_tree_at(parent.get(), "never-there")); // already gone is gone
}

BOOST_AUTO_TEST_CASE(fd_closes_what_it_owns) {
    const int raw = open("/dev/null", O_RDONLY | O_CLOEXEC);
    BOOST_TEST_REQUIRE(raw >= 0);
    {
        const Fd fd(raw);
        BOOST_TEST(fd.get() == raw);
        BOOST_TEST(fcntl(raw, F_GETFD) != -1);
    }
    BOOST_TEST(fcntl(raw, F_GETFD) == -1);
}

BOOST_AUTO_TEST_CASE(fd_moves_ownership) {
    const int raw = open("/dev/null", O_RDONLY | O_CLOEXEC);
    BOOST_TEST_REQUIRE(raw >= 0);
    {
        Fd a(raw);
        Fd b(std::move(a));
        BOOST_TEST(a.get() == -1);
        BOOST_TEST(b.get() == raw);
        Fd c;
        c = std::move(b);
        BOOST_TEST(c.get() == raw);
        BOOST_TEST(fcntl(raw, F_GETFD) != -1);
    }
    BOOST_TEST(fcntl(raw, F_GETFD) == -1);
}

BOOST_AUTO_TEST_SUITE_END()
