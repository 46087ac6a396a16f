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

TEST(JudgeValidity, HighVariation) {
  std::vector<double> samples;
  for (int i = 0; i < 40; ++i) samples.push_back(i % 2 ? 10.0 : 5.0);
  const Validity v = Judge(samples, StopReason::kReachedMinimums, {});
  EXPECT_TRUE(HasReason(v, "coefficient of variation"));
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
  std::vector<double> samples(40, 5.0);
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

TEST(JudgeValidity, FailedRunIsInvalid) {
  std::vector<double> samples(40, 5.0);
  EXPECT_FALSE(Judge(samples, StopReason::kFailed, {}).valid);
}

}  // namespace
}  // namespace edgebench
