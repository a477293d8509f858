#include "actions/files.hpp"
#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <cerrno>
#include <fcntl.h>
#include <string>
#include <unistd.h>

using namespace wfhookd;

BOOST_AUTO_TEST_SUITE(files)

BOOST_AUTO_TEST_CASE(file_failure_keeps_the_path_out_of_the_users_message) {
    const ActionResult r = file_failure("write", "/var/lib/x/audit.jsonl", ENOSPC);
    BOOST_TEST(!r.ok);
    BOOST_TEST(r.error == "could not record the action (No space left on device)");
    BOOST_TEST(r.detail == "write /var/lib/x/audit.jsonl: No space left on device");
}

BOOST_AUTO_TEST_SUITE_END()
