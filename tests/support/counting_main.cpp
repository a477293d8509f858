// main() for both test binaries: Boost.Test's own runner plus an observer that counts test
// cases, prints "<suite>: N passed, N failed, N skipped" and, when WFHOOKD_TEST_COUNTS names a
// file, writes "passed failed skipped" there for scripts/run-tests to add up. A binary that
// dies before the end writes nothing, which run-tests counts as a failure.
#include <boost/test/results_collector.hpp>
#include <boost/test/tree/observer.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace {

namespace utf = boost::unit_test;

class Counter : public utf::test_observer {
public:
    void test_unit_finish(const utf::test_unit& tu, unsigned long) override {
        if (tu.p_type != utf::TUT_CASE) return;
        const utf::test_results& r = utf::results_collector.results(tu.p_id);
        if (r.p_skipped)
            ++skipped_;
        else if (r.passed())
            ++passed_;
        else
            ++failed_;
    }
    void test_unit_skipped(const utf::test_unit& tu, utf::const_string) override {
        if (tu.p_type == utf::TUT_CASE) ++skipped_;
    }
    void test_finish() override {
        const char* name = std::getenv("WFHOOKD_TEST_SUITE");
        std::printf("%s: %u passed, %u failed, %u skipped\n", name ? name : "tests", passed_,
                    failed_, skipped_);
        std::fflush(stdout);
        if (const char* path = std::getenv("WFHOOKD_TEST_COUNTS")) {
            std::ofstream(path) << passed_ << ' ' << failed_ << ' ' << skipped_ << '\n';
        }
    }
    // After the results collector (priority 3), so a finished case's result is known.
    int priority() override { return 5; }

private:
    unsigned passed_ = 0, failed_ = 0, skipped_ = 0;
};

Counter g_counter;

bool init_tests() {
    utf::framework::register_observer(g_counter);
    return true;
}

} // namespace

int main(int argc, char* argv[]) {
    return utf::unit_test_main(&init_tests, argc, argv);
}
