#include "edgebench/isolated.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <exception>

namespace edgebench {
namespace {

// Writes all of `bytes` to `fd`; false when the reader went away.
bool WriteAll(int fd, const std::string& bytes) {
  for (std::size_t done = 0; done < bytes.size();) {
    const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

std::string DescribeEnd(int wait_status) {
  if (WIFSIGNALED(wait_status)) {
    const int signal = WTERMSIG(wait_status);
    const char* name = sigabbrev_np(signal);
    return "crashed with signal " + std::to_string(signal) + (name ? std::string(" (SIG") + name + ")" : "");
  }
  return "exited with status " + std::to_string(WEXITSTATUS(wait_status));
}

}  // namespace

Expected<std::string> RunIsolated(const std::string& what, const std::function<std::string()>& work,
                                  double timeout_s) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return RuntimeError(what + ": cannot create a pipe: " + strerror(errno));
  const pid_t pid = fork();
  if (pid < 0) {
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return RuntimeError(what + ": cannot fork: " + strerror(errno));
  }
  if (pid == 0) {
    close(pipe_fds[0]);
    // Exit status 0: the bytes are the answer; 1: they are an exception's message.
    int status = 0;
    std::string answer;
    try {
      answer = work();
    } catch (const std::exception& error) {
      answer = error.what();
      status = 1;
    } catch (...) {
      answer = "an exception that is not a std::exception";
      status = 1;
    }
    _exit(WriteAll(pipe_fds[1], answer) ? status : 2);
  }
  close(pipe_fds[1]);
  std::string bytes;
  bool timed_out = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd readable{pipe_fds[0], POLLIN, 0};
    const int ready = poll(&readable, 1, static_cast<int>(std::min<int64_t>(left.count(), 1 << 30)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;  // the deadline is checked above
    char buffer[1 << 16];
    const ssize_t n = read(pipe_fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the child closed its end: it has ended
    bytes.append(buffer, static_cast<std::size_t>(n));
  }
  close(pipe_fds[0]);
  if (timed_out) kill(pid, SIGKILL);
  int wait_status = 0;
  while (waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", timeout_s);
    return RuntimeError(what + ": still running after " + seconds + " s, stopped");
  }
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) return bytes;
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 1) return RuntimeError(what + ": " + bytes);
  return RuntimeError(what + ": " + DescribeEnd(wait_status));
}

}  // namespace edgebench
