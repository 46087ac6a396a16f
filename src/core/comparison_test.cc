#include "edgebench/comparison.h"

#include <gtest/gtest.h>

#include "edgebench/result_json.h"
#include "edgebench/validity.h"

namespace edgebench {
namespace {

// Two variants over `rounds` rounds: the baseline's per-round time follows `baseline(k)`, the
// other's is the baseline's times `ratio(k)`.
template <typename Baseline, typename Ratio>
ComparisonResult TwoVariants(int rounds, Baseline baseline, Ratio ratio) {
  ComparisonResult c;
  c.settings.min_runs = 30;
  c.settings.max_drift_percent = 5;
  c.rounds = rounds;
  c.stop_reason = StopReason::kReachedMinimums;
  c.variants.resize(2);
  c.variants[0].label = "a";
  c.variants[1].label = "b";
  for (int k = 0; k < rounds; ++k) {
    c.variants[0].result.samples_ms.push_back(baseline(k));
    c.variants[1].result.samples_ms.push_back(baseline(k) * ratio(k));
  }
  for (const auto& v : c.variants) c.ratios.push_back({v.label, PairedRatio(c.variants[0].result.samples_ms, v.result.samples_ms)});
  return c;
}

TEST(JudgeComparison, DriftThatHitsBothVariantsDoesNotVoidTheRatio) {
  // The machine slows down by half over the run; b stays 1.25x a in every round.
  ComparisonResult c = TwoVariants(60, [](int k) { return 10.0 + k / 6.0; }, [](int) { return 1.25; });
  c.variants[0].result.validity = {false, {"median of the last third is 35.0% slower than the first third"}, {}};
  const Validity verdict = JudgeComparison(c);
  EXPECT_TRUE(verdict.valid);
  ASSERT_EQ(verdict.warnings.size(), 1u);
  EXPECT_EQ(verdict.warnings[0].rfind("a's own figures are INVALID", 0), 0u) << verdict.warnings[0];
  EXPECT_DOUBLE_EQ(c.ratios[1].estimate.median, 1.25);
}

TEST(JudgeComparison, ARatioThatMovesIsInvalid) {
  // b goes from 1.0x to 1.3x of a during the run (it throttles alone).
  ComparisonResult c = TwoVariants(60, [](int) { return 10.0; }, [](int k) { return 1.0 + 0.005 * k; });
  const Validity verdict = JudgeComparison(c);
  EXPECT_FALSE(verdict.valid);
  ASSERT_EQ(verdict.reasons.size(), 1u);
  EXPECT_NE(verdict.reasons[0].find("the ratio b / a moved by"), std::string::npos) << verdict.reasons[0];
}

TEST(JudgeComparison, TooFewRoundsAndAMissedTargetAreReasons) {
  ComparisonResult c = TwoVariants(12, [](int) { return 10.0; }, [](int k) { return k % 2 ? 1.5 : 1.0; });
  c.settings.target_ci_percent = 1;
  c.stop_reason = StopReason::kMaxDuration;
  const Validity verdict = JudgeComparison(c);
  EXPECT_FALSE(verdict.valid);
  ASSERT_EQ(verdict.reasons.size(), 2u);
  EXPECT_EQ(verdict.reasons[0], "only 12 rounds, fewer than the minimum 30 (stopped at the maximum duration)");
  EXPECT_NE(verdict.reasons[1].find("target 1.0% not reached before the maximum duration"), std::string::npos);
}

TEST(JudgeComparison, AFailureIsTheOnlyReason) {
  ComparisonResult c;
  c.failure = RunFailure{"load (b)", RuntimeError("b: cannot load")};
  const Validity verdict = JudgeComparison(c);
  EXPECT_FALSE(verdict.valid);
  EXPECT_EQ(verdict.reasons, std::vector<std::string>{"the comparison failed at stage 'load (b)'"});
}

TEST(ComparisonJson, RoundTrips) {
  ComparisonResult c = TwoVariants(40, [](int k) { return 10.0 + k % 3; }, [](int) { return 2.0; });
  c.started_at_utc = "2026-12-06T09:00:00Z";
  c.round_target_ms = 20;
  c.measure_ms = 1234;
  c.variants[0].runs_per_round = 2;
  c.variants[1].runs_per_round = 1;
  for (auto& v : c.variants) v.result.latency_ms = ComputeLatencyStats(v.result.samples_ms);
  c.validity = JudgeComparison(c);
  const auto read = ComparisonFromJson(ToJson(c));
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(ToJson(*read), ToJson(c));
  EXPECT_EQ(read->variants[1].result.samples_ms, c.variants[1].result.samples_ms);
  EXPECT_DOUBLE_EQ(read->ratios[1].estimate.median, 2.0);

  nlohmann::json wrong = ToJson(c);
  wrong["schema"] = "edgebench.result/1";
  EXPECT_FALSE(ComparisonFromJson(wrong).ok());
  wrong = ToJson(c);
  wrong["ratios"].erase(1);
  const auto mismatched = ComparisonFromJson(wrong);
  ASSERT_FALSE(mismatched.ok());
  EXPECT_NE(mismatched.error().message.find("1 ratios for 2 variants"), std::string::npos);
}

}  // namespace
}  // namespace edgebench
