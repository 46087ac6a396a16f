#include "edgebench/bench.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "testing/test_models.h"

namespace edgebench {
namespace {

std::string AnyModelFile() {
  const std::string path = testing::MakeTempDir() + "/model.onnx";
  std::ofstream(path, std::ios::binary) << std::string("\x08\x07", 2);
  return path;
}

BenchRequest NullRequest() {
  BenchRequest request{AnyModelFile(), "null", {}};
  request.settings.warmup_min_ms = 0;
  request.settings.min_duration_ms = 0;
  request.settings.options = {{"spin_ns", "1000"}};
  return request;
}

TEST(RunBenchmark, FillsEveryStageOnSuccess) {
  const BenchResult r = RunBenchmark(NullRequest());
  ASSERT_FALSE(r.failure.has_value()) << r.failure->error.message;
  EXPECT_EQ(r.runtime_name, "null");
  EXPECT_EQ(r.runtime_options.at("spin_ns"), "1000");
  EXPECT_EQ(r.model.format, ModelFormat::kOnnx);
  EXPECT_EQ(r.model.sha256.size(), 64u);
  EXPECT_EQ(r.samples_ms.size(), 30u);
  EXPECT_EQ(r.latency_ms.count, 30u);
  EXPECT_EQ(r.warmup_runs, 5);
  EXPECT_EQ(r.stop_reason, StopReason::kReachedMinimums);
  EXPECT_GE(r.latency_ms.min, 0.001);  // spin_ns = 1000 ns
  EXPECT_GT(r.peak_rss_bytes, 0);
  EXPECT_FALSE(r.environment.cpu_model.empty());
  EXPECT_FALSE(r.started_at_utc.empty());
}

TEST(RunBenchmark, ProfileFromARuntimeWithoutProfilerIsAWarningNotAFailure) {
  BenchRequest request = NullRequest();
  request.settings.profile_runs = 3;
  const BenchResult r = RunBenchmark(request);
  ASSERT_FALSE(r.failure.has_value()) << r.failure->error.message;
  EXPECT_FALSE(r.profile.has_value());
  const auto& warnings = r.validity.warnings;
  EXPECT_EQ(std::count_if(warnings.begin(), warnings.end(),
                          [](const std::string& w) {
                            return w.starts_with("no operator profile from null");
                          }),
            1);
  EXPECT_EQ(r.samples_ms.size(), 30u);  // the timed runs are unaffected
}

struct FailureCase {
  std::string name;
  void (*change)(BenchRequest&);
  std::string stage;
  ErrorCode code;
  std::string fragment;
};

TEST(RunBenchmark, RecordsEachBadInputAsAFailureWithStage) {
  const std::vector<FailureCase> cases = {
      {"unknown runtime", [](BenchRequest& r) { r.runtime = "nope"; }, "runtime",
       ErrorCode::kNotFound, "unknown runtime 'nope'"},
      {"missing model", [](BenchRequest& r) { r.model_path += ".missing"; }, "model",
       ErrorCode::kNotFound, "no such file"},
      {"bad option", [](BenchRequest& r) { r.settings.options = {{"spin_ns", "-1"}}; }, "options",
       ErrorCode::kInvalidArgument, "spin_ns=-1"},
      {"unknown option", [](BenchRequest& r) { r.settings.options = {{"turbo", "1"}}; }, "options",
       ErrorCode::kInvalidArgument, "unknown option 'turbo'"},
      {"shape for a missing input", [](BenchRequest& r) { r.settings.shapes = {{"x", {1}}}; },
       "inputs", ErrorCode::kInvalidArgument, "--shape names input 'x'"},
      {"input file for a missing input",
       [](BenchRequest& r) { r.settings.input_files = {{"x", "/dev/null"}}; }, "inputs",
       ErrorCode::kInvalidArgument, "--input names 'x'"},
      {"zero min runs", [](BenchRequest& r) { r.settings.min_runs = 0; }, "settings",
       ErrorCode::kInvalidArgument, "--min-runs"},
      {"max below min duration", [](BenchRequest& r) { r.settings.max_duration_ms = -1; },
       "settings", ErrorCode::kInvalidArgument, "--max-duration-ms"},
      {"target ci out of range", [](BenchRequest& r) { r.settings.target_ci_percent = 0; },
       "settings", ErrorCode::kInvalidArgument, "--target-ci"},
      {"negative profile runs", [](BenchRequest& r) { r.settings.profile_runs = -1; },
       "settings", ErrorCode::kInvalidArgument, "--profile-runs"},
  };
  for (const auto& c : cases) {
    BenchRequest request = NullRequest();
    c.change(request);
    const BenchResult r = RunBenchmark(request);
    ASSERT_TRUE(r.failure.has_value()) << c.name;
    EXPECT_EQ(r.failure->stage, c.stage) << c.name;
    EXPECT_EQ(r.failure->error.code, c.code) << c.name;
    EXPECT_NE(r.failure->error.message.find(c.fragment), std::string::npos)
        << c.name << ": " << r.failure->error.message;
    EXPECT_FALSE(r.validity.valid) << c.name;
    EXPECT_EQ(r.stop_reason, StopReason::kFailed) << c.name;
  }
}

}  // namespace
}  // namespace edgebench
