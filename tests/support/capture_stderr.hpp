// Runs code with standard error (fd 2) sent to a temporary file, for tests that check what the
// daemon logs (and to keep expected warnings out of the test output).
#pragma once

#include <functional>
#include <string>

namespace wftest {

// Returns everything `body` wrote to fd 2. Not for code that forks children which outlive it.
std::string capture_stderr(const std::function<void()>& body);

} // namespace wftest
