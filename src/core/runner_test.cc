#include "edgebench/runner.h"

#include <gtest/gtest.h>

#include <chrono>

namespace edgebench {
namespace {

// A backend double with scripted behaviour: counts runs, can fail at a given run, and can
// busy-wait so that a duration limit is certainly exceeded.
class ScriptedBackend final : public Backend {
 public:
  int runs = 0;
  int fail_at_run = -1;  // 0-based index of the run that fails; -1 = never
  std::chrono::microseconds busy{0};
  int slow_every = 0;  // every slow_every-th run takes `slow` instead of `busy` (0 = none)
  std::chrono::microseconds slow{0};

  Status Load(const LoadRequest&) override { return OkStatus(); }
  std::vector<TensorSpec> InputSpecs() const override { return {}; }
  std::vector<TensorSpec> OutputSpecs() const override { return {}; }
  Status SetInputs(const std::vector<Tensor>&) override { return OkStatus(); }
  Status RunOnce() override {
    if (runs++ == fail_at_run) return RuntimeError("scripted failure");
    const auto until = std::chrono::steady_clock::now() + (slow_every && runs % slow_every == 0 ? slow : busy);
    while (std::chrono::steady_clock::now() < until) {
    }
    return OkStatus();
  }
  Expected<std::vector<Tensor>> Outputs() override { return std::vector<Tensor>{}; }
};

class StageRecorder final : public RunListener {
 public:
  std::vector<std::string> events;
  std::size_t timed_runs = 0;
  void OnStageStart(Stage stage) override { events.push_back("start " + std::string(StageName(stage))); }
  void OnStageEnd(Stage stage, double) override { events.push_back("end " + std::string(StageName(stage))); }
  void OnTimedRun(std::size_t index, int64_t) override { timed_runs = index + 1; }
};

BenchSettings CountOnly(int warmup_runs, int min_runs) {
  BenchSettings settings;
  settings.warmup_runs = warmup_runs;
  settings.warmup_min_ms = 0;
  settings.min_runs = min_runs;
  settings.min_duration_ms = 0;
  return settings;
}

TEST(Measure, StopsAtTheMinimumCountWhenDurationIsZero) {
  ScriptedBackend backend;
  StageRecorder recorder;
  RunListener* listeners[] = {&recorder};
  const Measurement m = Measure(backend, CountOnly(7, 50), listeners);
  EXPECT_EQ(m.warmup_runs, 7);
  EXPECT_EQ(m.samples_ms.size(), 50u);
  EXPECT_EQ(backend.runs, 57);
  EXPECT_EQ(m.stop_reason, StopReason::kReachedMinimums);
  EXPECT_FALSE(m.error.has_value());
  EXPECT_EQ(recorder.timed_runs, 50u);
  EXPECT_EQ(recorder.events, (std::vector<std::string>{"start warmup", "end warmup",
                                                        "start measure", "end measure"}));
}

TEST(Measure, MaxRunsCapsTheLoop) {
  ScriptedBackend backend;
  BenchSettings settings = CountOnly(0, 5);
  settings.min_duration_ms = 1e6;
  settings.max_duration_ms = 1e6;
  settings.max_runs = 10;
  const Measurement m = Measure(backend, settings);
  EXPECT_EQ(m.samples_ms.size(), 10u);
  EXPECT_EQ(m.stop_reason, StopReason::kMaxRuns);
}

TEST(Measure, MaxDurationStopsTheLoop) {
  ScriptedBackend backend;
  backend.busy = std::chrono::microseconds(1000);  // each run outlasts the 0.5 ms limit
  BenchSettings settings = CountOnly(0, 30);
  settings.max_duration_ms = 0.5;
  const Measurement m = Measure(backend, settings);
  EXPECT_EQ(m.samples_ms.size(), 1u);
  EXPECT_EQ(m.stop_reason, StopReason::kMaxDuration);
  EXPECT_GE(m.samples_ms[0], 1.0);
}

TEST(Measure, AFailedRunEndsTheLoopWithTheError) {
  ScriptedBackend backend;
  backend.fail_at_run = 12;
  const Measurement m = Measure(backend, CountOnly(2, 30));
  EXPECT_EQ(m.stop_reason, StopReason::kFailed);
  ASSERT_TRUE(m.error.has_value());
  EXPECT_EQ(m.error->message, "scripted failure");
  EXPECT_EQ(m.samples_ms.size(), 10u);  // runs 2..11 were timed
}

TEST(Measure, FailureDuringWarmupIsReported) {
  ScriptedBackend backend;
  backend.fail_at_run = 0;
  const Measurement m = Measure(backend, CountOnly(3, 30));
  EXPECT_EQ(m.stop_reason, StopReason::kFailed);
  EXPECT_TRUE(m.samples_ms.empty());
}

TEST(Measure, TargetCiStopsOnlyWhenTheIntervalIsNarrowEnough) {
  ScriptedBackend backend;
  backend.busy = std::chrono::microseconds(50);
  BenchSettings settings = CountOnly(0, 30);
  settings.target_ci_percent = 5;
  settings.max_duration_ms = 2000;
  const Measurement m = Measure(backend, settings);
  // Either outcome is possible on a noisy machine; the stop reason must agree with the data.
  std::vector<double> sorted = m.samples_ms;
  std::sort(sorted.begin(), sorted.end());
  if (m.stop_reason == StopReason::kReachedTargetCi) {
    EXPECT_LE(MedianCiHalfWidthPercent(sorted), 5.0);
  } else {
    EXPECT_EQ(m.stop_reason, StopReason::kMaxDuration);
  }
  EXPECT_GE(m.samples_ms.size(), 30u);
}

TEST(Measure, TargetCiIsNotReachedWhileTheSpreadWouldVoidTheResult) {
  // Two clusters, every 5th run twice as slow: the median's CI is narrow at once (the fast
  // cluster), which stopped the old loop at reached_target_ci with an INVALID verdict (20% of
  // the runs are outliers). Now the loop runs on to max_runs: the outlier share stays at 20%.
  ScriptedBackend backend;
  backend.busy = std::chrono::microseconds(200);
  backend.slow = std::chrono::microseconds(400);
  backend.slow_every = 5;
  BenchSettings settings = CountOnly(0, 30);
  settings.target_ci_percent = 5;
  settings.max_duration_ms = 60000;
  settings.max_runs = 150;
  const Measurement m = Measure(backend, settings);
  EXPECT_EQ(m.stop_reason, StopReason::kMaxRuns);
  EXPECT_EQ(m.samples_ms.size(), 150u);
}

}  // namespace
}  // namespace edgebench
