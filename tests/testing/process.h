// Runs a real child process for end-to-end tests and captures its output.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace edgebench::testing {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal number when killed by a signal
  std::string out;
  std::string err;
  double wall_ms = 0;       // from fork to the child's exit
  long peak_rss_kb = 0;     // the child's peak resident memory (wait4's ru_maxrss)
};

// Runs argv[0] with argv (no shell), waits for it, and returns its exit code and output.
ProcessResult RunProcess(const std::vector<std::string>& argv);

// A child process left running in the background (server, agent); killed when destroyed.
class Background {
 public:
  // stdout goes to a pipe (read with ReadLine) when `pipe_stdout`, else with stderr to `log_path`.
  Background(const std::vector<std::string>& argv, const std::string& log_path, bool pipe_stdout);
  ~Background();
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  bool running() const { return pid_ > 0 && !exited_; }
  pid_t pid() const { return pid_; }

  // The next line of stdout, or "" after `timeout_ms`.
  std::string ReadLine(int timeout_ms);
  // Exit code, or -1 when still running after `timeout_ms`.
  int Wait(int timeout_ms);
  // Sends `signal` and waits (10 s at most) for the exit.
  void Kill(int signal);

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  bool exited_ = false;
  int exit_code_ = -1;
};

}  // namespace edgebench::testing
