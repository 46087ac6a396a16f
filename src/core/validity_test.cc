#include "edgebench/validity.h"

#include <gtest/gtest.h>

namespace edgebench {
namespace {

Environment PinnedMachine() {
  Environment env;
  env.cpu_governor = "performance";
  env.usable_cores = 2;
  return env;
}

bool HasReason(const Validity& v, const std::string& fragment) {
  for (const auto& reason : v.reasons) {
    if (reason.find(fragment) != std::string::npos) return true;
  }
  return false;
}

Validity Judge(const std::vector<double>& samples, StopReason stop, const BenchSettings& settings,
               const Environment& env = PinnedMachine()) {
  return JudgeValidity(samples, ComputeLatencyStats(samples), stop, settings, env);
}

TEST(JudgeValidity, StableRunIsValid) {
  std::vector<double> samples(40, 5.0);
  samples[3] = 5.1;
  const Validity v = Judge(samples, StopReason::kReachedMinimums, {});
  EXPECT_TRUE(v.valid);
  EXPECT_TRUE(v.reasons.empty());
}

TEST(JudgeValidity, TooFewRuns) {
  std::vector<double> samples(10, 5.0);
  const Validity v = Judge(samples, StopReason::kMaxDuration, {});
  EXPECT_FALSE(v.valid);
  EXPECT_TRUE(HasReason(v, "only 10 timed runs, fewer than the minimum 30"));
}

TEST(JudgeValidity, HalfAndHalfTwoClustersIsInvalidByTheRobustSpread) {
  // Median 7.5, MAD 2.5: robust CV 1.4826 x 2.5 / 7.5 = 49.4%.
  std::vector<double> samples;
  for (int i = 0; i < 40; ++i) samples.push_back(i % 2 ? 10.0 : 5.0);
  const Validity v = Judge(samples, StopReason::kReachedMinimums, {});
  EXPECT_TRUE(HasReason(v, "robust coefficient of variation (1.4826 x MAD / median) 49.4% above 10.0%"));
}

TEST(JudgeValidity, UnevenTwoClustersIsInvalidByTheOutlierShare) {
  // 24 runs at 5 ms, 16 at 10 ms: median and MAD come from the larger cluster (MAD 0, robust
  // CV 0), and the 40% of the runs in the other cluster are outliers.
  std::vector<double> samples;
  for (int i = 0; i < 40; ++i) samples.push_back(i % 5 < 3 ? 5.0 : 10.0);
  const Validity v = Judge(samples, StopReason::kReachedMinimums, {});
  EXPECT_FALSE(v.valid);
  EXPECT_TRUE(HasReason(v, "16 of 40 runs (40.0%) are outliers, above 10.0%"));
  EXPECT_EQ(v.reasons.size(), 1u);
}

TEST(JudgeValidity, OneHiccupDoesNotVoidAResult) {
  // A fast model: 1000 runs of 0.0152 ms and one of 4.19 ms (CV above 700%).
  std::vector<double> samples(1000, 0.0152);
  samples[400] = 4.19;
  const Validity v = Judge(samples, StopReason::kReachedMinimums, {});
  EXPECT_TRUE(v.valid) << (v.reasons.empty() ? "" : v.reasons[0]);
}

TEST(JudgeValidity, AFewOutliersAreAllowed) {
  std::vector<double> samples(100, 5.0);
  for (int i = 0; i < 10; ++i) samples[i * 10] = 9.0;  // 10%: at the limit, not above
  EXPECT_TRUE(Judge(samples, StopReason::kReachedMinimums, {}).valid);
  samples[1] = 9.0;
  EXPECT_FALSE(Judge(samples, StopReason::kReachedMinimums, {}).valid);
}

TEST(JudgeValidity, DriftBetweenFirstAndLastThird) {
  std::vector<double> samples;
  for (int i = 0; i < 30; ++i) samples.push_back(i < 15 ? 10.0 : 10.8);  // +8% in the last third
  BenchSettings settings;
  settings.max_cv_percent = 100;
  const Validity v = Judge(samples, StopReason::kReachedMinimums, settings);
  EXPECT_TRUE(HasReason(v, "8.0% slower than the first third"));
}

TEST(JudgeValidity, TargetCiNotReached) {
  // 5.00 to 5.39 ms in a shuffled order: 95% CI of the median [5.13, 5.26], +/-1.3%.
  std::vector<double> samples;
  for (int i = 0; i < 40; ++i) samples.push_back(5 + ((i * 7) % 40) * 0.01);
  BenchSettings settings;
  settings.target_ci_percent = 1;
  EXPECT_TRUE(HasReason(Judge(samples, StopReason::kMaxDuration, settings), "target 1.0% not reached"));
  EXPECT_TRUE(Judge(samples, StopReason::kReachedTargetCi, settings).valid);
}

TEST(JudgeValidity, GovernorMustBePinnedWhenKnown) {
  std::vector<double> samples(40, 5.0);
  Environment env = PinnedMachine();
  env.cpu_governor = "powersave";
  EXPECT_TRUE(HasReason(Judge(samples, StopReason::kReachedMinimums, {}, env), "'powersave'"));
  BenchSettings lenient;
  lenient.allow_unpinned_governor = true;
  const Validity v = Judge(samples, StopReason::kReachedMinimums, lenient, env);
  EXPECT_TRUE(v.valid);
  EXPECT_EQ(v.warnings.size(), 1u);
  env.cpu_governor = "";
  const Validity unknown = Judge(samples, StopReason::kReachedMinimums, {}, env);
  EXPECT_TRUE(unknown.valid);
  EXPECT_NE(unknown.warnings.at(0).find("not exposed"), std::string::npos);
}

TEST(JudgeValidity, TargetCiWithinReachButSpreadTooWideNamesOnlyTheSpread) {
  // The CI of the median is 0 (the larger cluster), but 15% outliers void the result: the
  // reason is the spread, not the target.
  std::vector<double> samples;
  for (int i = 0; i < 40; ++i) samples.push_back(i % 20 < 17 ? 5.0 : 10.0);
  BenchSettings settings;
  settings.target_ci_percent = 1;
  const Validity v = Judge(samples, StopReason::kMaxRuns, settings);
  EXPECT_FALSE(v.valid);
  EXPECT_FALSE(HasReason(v, "not reached"));
  EXPECT_TRUE(HasReason(v, "outliers"));
}

Interference Quiet() {
  Interference interference;
  interference.steal_percent = 0.5;
  return interference;
}

TEST(JudgeValidity, CpuStealAboveTheLimit) {
  std::vector<double> samples(40, 5.0);
  Interference noisy = Quiet();
  noisy.steal_percent = 12.5;
  const Validity v = JudgeValidity(samples, ComputeLatencyStats(samples), StopReason::kReachedMinimums, {},
                                   PinnedMachine(), noisy);
  EXPECT_TRUE(HasReason(v, "CPU steal 12.5% of the time during the timed runs, above 5.0%"));
  EXPECT_TRUE(JudgeValidity(samples, ComputeLatencyStats(samples), StopReason::kReachedMinimums, {},
                            PinnedMachine(), Quiet())
                  .valid);
}

TEST(JudgeValidity, ThermalClockDropAndThrottling) {
  std::vector<double> samples(40, 5.0);
  const LatencyStats stats = ComputeLatencyStats(samples);
  Interference hot = Quiet();
  hot.thermal_frequency_drop_percent = 20;
  EXPECT_TRUE(HasReason(JudgeValidity(samples, stats, StopReason::kReachedMinimums, {}, PinnedMachine(), hot),
                        "CPU clock fell 20.0% while getting hotter"));
  hot.thermal_frequency_drop_percent = 8;  // within the 10% default
  EXPECT_TRUE(JudgeValidity(samples, stats, StopReason::kReachedMinimums, {}, PinnedMachine(), hot).valid);
  Interference pi = Quiet();
  pi.throttled_flags = 0x5;
  EXPECT_TRUE(HasReason(JudgeValidity(samples, stats, StopReason::kReachedMinimums, {}, PinnedMachine(), pi),
                        "throttling flags set during the timed runs: under-voltage, throttled"));
  pi.throttled_flags = 0;
  EXPECT_TRUE(JudgeValidity(samples, stats, StopReason::kReachedMinimums, {}, PinnedMachine(), pi).valid);
  Interference x86 = Quiet();
  x86.throttle_events = 3;
  EXPECT_TRUE(HasReason(JudgeValidity(samples, stats, StopReason::kReachedMinimums, {}, PinnedMachine(), x86),
                        "3 thermal throttling events"));
}

TEST(JudgeValidity, AbsentSensorsAreNeitherReasonsNorWarnings) {
  std::vector<double> samples(40, 5.0);
  const Validity v = JudgeValidity(samples, ComputeLatencyStats(samples), StopReason::kReachedMinimums, {},
                                   PinnedMachine(), Interference{});
  EXPECT_TRUE(v.valid);
  EXPECT_TRUE(v.warnings.empty());
}

TEST(JudgeValidity, FailedRunIsInvalid) {
  std::vector<double> samples(40, 5.0);
  EXPECT_FALSE(Judge(samples, StopReason::kFailed, {}).valid);
}

}  // namespace
}  // namespace edgebench
