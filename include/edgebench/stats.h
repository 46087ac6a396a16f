// Statistics over raw latency samples. Pure functions: no I/O, no clocks, no state.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

namespace edgebench {

struct LatencyStats {
  std::size_t count = 0;
  double mean = 0, std = 0;  // std: sample standard deviation (n - 1)
  double min = 0, max = 0;
  double p50 = 0, p90 = 0, p95 = 0, p99 = 0;
  double cv = 0;  // std / mean, as a fraction; for information (one slow run inflates it)
  double median_ci95_low = 0, median_ci95_high = 0;
  // Robust spread: median absolute deviation (same unit as the samples) and the robust CV
  // 1.4826 * mad / p50 (a fraction; equals the CV for normal data, a few outliers do not move it).
  double mad = 0;
  double robust_cv = 0;
  // Samples outside p50 +/- max(kOutlierMads * 1.4826 * mad, kOutlierFloor * p50, kOutlierFloorMs).
  std::size_t outliers = 0;
};

// Outlier fences: this many robust standard deviations (1.4826 * MAD) from the median, but never
// closer than this fraction of the median nor than this many milliseconds (so that clock and
// timer granularity, with MAD 0 when most runs read the same, makes no outliers).
inline constexpr double kOutlierMads = 3;
inline constexpr double kOutlierFloor = 0.01;
inline constexpr double kOutlierFloorMs = 0.001;

// Percentile q in [0, 100] of sorted data, linear interpolation between closest ranks
// (Hyndman-Fan type 7, as numpy's default). `sorted` must be non-empty and ascending.
double Percentile(std::span<const double> sorted, double q);

// Distribution-free 95% confidence interval of the median from order statistics: ranks
// chosen from the Binomial(n, 1/2) distribution (exact up to n = 1000, normal beyond).
// Returns {sorted[lo], sorted[hi]}; for n < 6 the whole range {min, max}.
struct Interval {
  double low = 0, high = 0;
};
Interval MedianConfidenceInterval95(std::span<const double> sorted);

// Half-width of the median CI relative to the median, in percent.
double MedianCiHalfWidthPercent(std::span<const double> sorted);

// All of the above for unsorted samples in milliseconds (the outlier fence has a floor in ms).
// Empty input gives count == 0 and zeros.
LatencyStats ComputeLatencyStats(std::span<const double> samples);

// How much the median of the last third of `samples` (in run order) differs from that of the
// first third, in percent of the first (positive: slower at the end); nullopt for fewer than 9
// samples or a first-third median of 0.
std::optional<double> DriftPercent(std::span<const double> samples);

// The paired ratio of two variants timed in the same rounds (edgebench compare): round k gives
// the ratio other[k] / baseline[k]; the estimate is the median of those ratios and its 95%
// interval the order-statistic interval of MedianConfidenceInterval95 over them (distribution
// free: it assumes only that the rounds' ratios are independent draws). A slowdown that hits both
// variants within a round cancels in its ratio. The spans must have the same, non-zero length
// and positive baseline values.
struct RatioEstimate {
  double median = 0;
  Interval ci95;
  std::size_t rounds = 0;
  // max(median - low, high - median) / median, in percent.
  double HalfWidthPercent() const;
};
RatioEstimate PairedRatio(std::span<const double> baseline, std::span<const double> other);

// The rounds' ratios other[k] / baseline[k], in round order (over the shorter span), from which
// PairedRatio estimates and whose drift (DriftPercent) the comparison's verdict judges.
std::vector<double> RoundRatios(std::span<const double> baseline, std::span<const double> other);

}  // namespace edgebench
