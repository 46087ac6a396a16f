#include "edgebench/isolated.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <stdexcept>

namespace edgebench {
namespace {

TEST(RunIsolated, ReturnsTheChildsBytes) {
  // More than a pipe holds at once: the parent must read while the child writes.
  const std::string big(3 << 20, 'x');
  auto answer = RunIsolated("copy", [&] { return big + "end"; }, 60);
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(*answer, big + "end");
}

TEST(RunIsolated, ChildsStateDoesNotReachTheParent) {
  int touched = 0;
  auto answer = RunIsolated("touch", [&] { touched = 1; return std::string(); }, 60);
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(touched, 0);
}

TEST(RunIsolated, CrashIsAnErrorNamingTheSignal) {
  auto answer = RunIsolated("inspect model.onnx", [] {
    std::raise(SIGSEGV);
    return std::string("unreachable");
  }, 60);
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().code, ErrorCode::kRuntimeError);
  EXPECT_EQ(answer.error().message, "inspect model.onnx: crashed with signal 11 (SIGSEGV)");
}

TEST(RunIsolated, ExceptionIsAnErrorWithItsMessage) {
  auto answer = RunIsolated("convert", []() -> std::string { throw std::runtime_error("std::bad_alloc"); }, 60);
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().message, "convert: std::bad_alloc");
}

TEST(RunIsolated, ChildStillRunningAtTheTimeoutIsKilled) {
  // The child never ends on its own; the test ends when the 0.2 s timeout kills it.
  auto answer = RunIsolated("hang", [] {
    for (;;) pause();
    return std::string();
  }, 0.2);
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().message, "hang: still running after 0.2 s, stopped");
}

}  // namespace
}  // namespace edgebench
