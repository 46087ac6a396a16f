// Runs a real child process for end-to-end tests and captures its output.
#pragma once

#include <string>
#include <vector>

namespace edgebench::testing {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal number when killed by a signal
  std::string out;
  std::string err;
};

// Runs argv[0] with argv (no shell), waits for it, and returns its exit code and output.
ProcessResult RunProcess(const std::vector<std::string>& argv);

}  // namespace edgebench::testing
