#include "edgebench/stats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

namespace edgebench {
namespace {

std::vector<double> Range(int n) {
  std::vector<double> values(n);
  std::iota(values.begin(), values.end(), 1.0);
  return values;
}

TEST(ComputeLatencyStats, MatchesHandComputedValues) {
  // 10, 1, ..., 9 (unsorted on purpose); by hand: mean 5.5, sample std sqrt(82.5 / 9).
  std::vector<double> samples = {10, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  const LatencyStats stats = ComputeLatencyStats(samples);
  EXPECT_EQ(stats.count, 10u);
  EXPECT_DOUBLE_EQ(stats.mean, 5.5);
  EXPECT_NEAR(stats.std, 3.0276503540974917, 1e-12);
  EXPECT_DOUBLE_EQ(stats.min, 1);
  EXPECT_DOUBLE_EQ(stats.max, 10);
  EXPECT_DOUBLE_EQ(stats.p50, 5.5);   // h = 4.5
  EXPECT_DOUBLE_EQ(stats.p90, 9.1);   // h = 8.1
  EXPECT_DOUBLE_EQ(stats.p95, 9.55);  // h = 8.55
  EXPECT_DOUBLE_EQ(stats.p99, 9.91);  // h = 8.91
  EXPECT_NEAR(stats.cv, 3.0276503540974917 / 5.5, 1e-12);
  // n = 10: P(X <= 1) = 11/1024 <= 0.025 < P(X <= 2) = 56/1024, so ranks 2 and 9.
  EXPECT_DOUBLE_EQ(stats.median_ci95_low, 2);
  EXPECT_DOUBLE_EQ(stats.median_ci95_high, 9);
  // |x - 5.5| sorted: 0.5 0.5 1.5 1.5 2.5 2.5 3.5 3.5 4.5 4.5 -> MAD 2.5; fences 5.5 +/- 11.1.
  EXPECT_DOUBLE_EQ(stats.mad, 2.5);
  EXPECT_NEAR(stats.robust_cv, 1.4826 * 2.5 / 5.5, 1e-12);
  EXPECT_EQ(stats.outliers, 0u);
}

TEST(ComputeLatencyStats, CountsOutliersBeyondThreeRobustDeviations) {
  // Median 3; |x - 3| sorted: 0 1 1 2 97 -> MAD 1; fences 3 +/- 4.4478: only 100 is outside.
  std::vector<double> samples = {4, 100, 1, 3, 2};
  const LatencyStats stats = ComputeLatencyStats(samples);
  EXPECT_DOUBLE_EQ(stats.mad, 1);
  EXPECT_NEAR(stats.robust_cv, 1.4826 / 3, 1e-12);
  EXPECT_EQ(stats.outliers, 1u);
}

TEST(ComputeLatencyStats, OneHiccupMovesTheCvButNotTheRobustSpread) {
  // 999 runs of 0.0152 ms and one of 4.19 ms: CV 681%, MAD 0.
  std::vector<double> samples(1000, 0.0152);
  samples[500] = 4.19;
  const LatencyStats stats = ComputeLatencyStats(samples);
  EXPECT_GT(stats.cv, 6.8);
  EXPECT_DOUBLE_EQ(stats.mad, 0);
  EXPECT_DOUBLE_EQ(stats.robust_cv, 0);
  EXPECT_EQ(stats.outliers, 1u);
}

TEST(ComputeLatencyStats, DifferencesUnderOnePercentOfTheMedianAreNoOutliers) {
  // MAD 0 (most runs equal): the fence is 1% of the median, 0.1; 10.05 is inside, 10.2 outside.
  std::vector<double> samples(20, 10.0);
  samples[0] = 10.05;
  samples[1] = 10.2;
  EXPECT_EQ(ComputeLatencyStats(samples).outliers, 1u);
}

TEST(ComputeLatencyStats, DifferencesUnderOneMicrosecondAreNoOutliers) {
  // 20 ns runs (the null runtime): clock granularity is not a second cluster; 1.5 us is.
  std::vector<double> samples(20, 0.00002);
  samples[0] = 0.00003;
  samples[1] = 0.0009;
  samples[2] = 0.0015;
  EXPECT_EQ(ComputeLatencyStats(samples).outliers, 1u);
}

TEST(ComputeLatencyStats, HandlesEmptyAndSingleSample) {
  EXPECT_EQ(ComputeLatencyStats({}).count, 0u);
  std::vector<double> one = {4.0};
  const LatencyStats stats = ComputeLatencyStats(one);
  EXPECT_DOUBLE_EQ(stats.mean, 4.0);
  EXPECT_DOUBLE_EQ(stats.std, 0.0);
  EXPECT_DOUBLE_EQ(stats.p99, 4.0);
  EXPECT_DOUBLE_EQ(stats.median_ci95_low, 4.0);
}

TEST(MedianConfidenceInterval95, UsesBinomialOrderStatistics) {
  // n = 30: P(X <= 9) = 0.0214 <= 0.025 < P(X <= 10) = 0.0494 -> ranks 10 and 21.
  auto n30 = Range(30);
  EXPECT_DOUBLE_EQ(MedianConfidenceInterval95(n30).low, 10);
  EXPECT_DOUBLE_EQ(MedianConfidenceInterval95(n30).high, 21);
  // n = 6: P(X = 0) = 1/64 -> ranks 1 and 6; n = 5: no ranks qualify -> the whole range.
  auto n6 = Range(6);
  EXPECT_DOUBLE_EQ(MedianConfidenceInterval95(n6).low, 1);
  EXPECT_DOUBLE_EQ(MedianConfidenceInterval95(n6).high, 6);
  auto n5 = Range(5);
  EXPECT_DOUBLE_EQ(MedianConfidenceInterval95(n5).low, 1);
  EXPECT_DOUBLE_EQ(MedianConfidenceInterval95(n5).high, 5);
  // n = 2000 (normal approximation): floor(1000 - 1.96 * sqrt(2000) / 2) = 956 -> 956 and 1045.
  auto n2000 = Range(2000);
  EXPECT_DOUBLE_EQ(MedianConfidenceInterval95(n2000).low, 956);
  EXPECT_DOUBLE_EQ(MedianConfidenceInterval95(n2000).high, 1045);
}

TEST(MedianCiHalfWidthPercent, IsRelativeToTheMedian) {
  auto n10 = Range(10);  // median 5.5, CI [2, 9] -> max(3.5, 3.5) / 5.5
  EXPECT_NEAR(MedianCiHalfWidthPercent(n10), 100 * 3.5 / 5.5, 1e-9);
  std::vector<double> constant(40, 2.0);
  EXPECT_DOUBLE_EQ(MedianCiHalfWidthPercent(constant), 0.0);
}

TEST(Percentile, InterpolatesLinearly) {
  std::vector<double> sorted = {1, 2, 4};
  EXPECT_DOUBLE_EQ(Percentile(sorted, 0), 1);
  EXPECT_DOUBLE_EQ(Percentile(sorted, 25), 1.5);
  EXPECT_DOUBLE_EQ(Percentile(sorted, 75), 3);
  EXPECT_DOUBLE_EQ(Percentile(sorted, 100), 4);
}

}  // namespace
}  // namespace edgebench

namespace edgebench {
namespace {

TEST(PairedRatio, IsTheMedianOfPerRoundRatiosWithOrderStatisticInterval) {
  // The baseline slows down tenfold over the run (drift); the other variant is ~1.5x slower in
  // every round. Sorted ratios: 1.45 1.47 1.48 1.49 1.50 1.50 1.51 1.52 1.53 1.55; for n = 10
  // the interval is ranks 2 and 9 (P(X <= 1) = 0.0107 <= 0.025 < P(X <= 2) = 0.0547).
  const std::vector<double> ratios = {1.50, 1.52, 1.48, 1.55, 1.45, 1.51, 1.49, 1.53, 1.47, 1.50};
  std::vector<double> baseline, other;
  for (std::size_t k = 0; k < ratios.size(); ++k) {
    baseline.push_back(10.0 * static_cast<double>(k + 1));
    other.push_back(baseline.back() * ratios[k]);
  }
  const RatioEstimate estimate = PairedRatio(baseline, other);
  EXPECT_EQ(estimate.rounds, 10u);
  EXPECT_DOUBLE_EQ(estimate.median, 1.50);
  EXPECT_DOUBLE_EQ(estimate.ci95.low, 1.47);
  EXPECT_DOUBLE_EQ(estimate.ci95.high, 1.53);
  EXPECT_NEAR(estimate.HalfWidthPercent(), 2.0, 1e-9);
}

TEST(DriftPercent, ComparesTheLastThirdsMedianWithTheFirsts) {
  // Thirds of 3: medians 2 (first: 1 2 9) and 3 (last: 3 3 8); the middle third does not count.
  EXPECT_DOUBLE_EQ(*DriftPercent(std::vector<double>{1, 2, 9, 100, 100, 100, 3, 3, 8}), 50.0);
  EXPECT_DOUBLE_EQ(*DriftPercent(std::vector<double>{4, 4, 4, 1, 1, 1, 2, 2, 2}), 50.0 - 100.0);
  EXPECT_FALSE(DriftPercent(std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8}));  // fewer than 9
  EXPECT_FALSE(DriftPercent(std::vector<double>{0, 0, 0, 1, 1, 1, 1, 1, 1}));  // nothing to compare with
}

TEST(PairedRatio, FewRoundsGiveTheWholeRangeAndNoRoundsNothing) {
  const RatioEstimate three = PairedRatio(std::vector<double>{1, 2, 4}, std::vector<double>{2, 3, 4});
  EXPECT_DOUBLE_EQ(three.median, 1.5);
  EXPECT_DOUBLE_EQ(three.ci95.low, 1.0);
  EXPECT_DOUBLE_EQ(three.ci95.high, 2.0);
  const RatioEstimate none = PairedRatio({}, {});
  EXPECT_EQ(none.rounds, 0u);
  EXPECT_EQ(none.HalfWidthPercent(), 0);
}

}  // namespace
}  // namespace edgebench
