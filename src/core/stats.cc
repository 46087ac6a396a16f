#include "edgebench/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace edgebench {

double Percentile(std::span<const double> sorted, double q) {
  const double h = (static_cast<double>(sorted.size()) - 1) * std::clamp(q, 0.0, 100.0) / 100.0;
  const auto lower = static_cast<std::size_t>(std::floor(h));
  if (lower + 1 >= sorted.size()) return sorted.back();
  return sorted[lower] + (h - static_cast<double>(lower)) * (sorted[lower + 1] - sorted[lower]);
}

namespace {

// Largest 1-based rank l with P(X <= l - 1) <= 0.025 for X ~ Binomial(n, 1/2); 0 if none.
std::size_t MedianCiLowerRank(std::size_t n) {
  if (n > 1000) {
    const double half_width = 1.959964 * std::sqrt(static_cast<double>(n)) / 2;
    return static_cast<std::size_t>(
        std::max(1.0, std::floor(static_cast<double>(n) / 2 - half_width)));
  }
  const double log_half_n = static_cast<double>(n) * std::log(0.5);
  double cumulative = 0;
  std::size_t rank = 0;
  for (std::size_t k = 0; k <= n / 2; ++k) {
    const double log_choose = std::lgamma(static_cast<double>(n) + 1) -
                              std::lgamma(static_cast<double>(k) + 1) -
                              std::lgamma(static_cast<double>(n - k) + 1);
    cumulative += std::exp(log_choose + log_half_n);  // P(X <= k)
    if (cumulative > 0.025) break;
    rank = k + 1;
  }
  return rank;
}

}  // namespace

Interval MedianConfidenceInterval95(std::span<const double> sorted) {
  if (sorted.empty()) return {};
  const std::size_t n = sorted.size();
  const std::size_t lower = MedianCiLowerRank(n);
  if (lower == 0) return {sorted.front(), sorted.back()};
  return {sorted[lower - 1], sorted[n - lower]};
}

double MedianCiHalfWidthPercent(std::span<const double> sorted) {
  if (sorted.empty()) return 0;
  const double median = Percentile(sorted, 50);
  if (median <= 0) return 0;
  const Interval ci = MedianConfidenceInterval95(sorted);
  return 100.0 * std::max(median - ci.low, ci.high - median) / median;
}

LatencyStats ComputeLatencyStats(std::span<const double> samples) {
  LatencyStats stats;
  stats.count = samples.size();
  if (samples.empty()) return stats;
  std::vector<double> sorted(samples.begin(), samples.end());
  std::sort(sorted.begin(), sorted.end());
  const double n = static_cast<double>(sorted.size());
  stats.mean = std::accumulate(sorted.begin(), sorted.end(), 0.0) / n;
  double squares = 0;
  for (double x : sorted) squares += (x - stats.mean) * (x - stats.mean);
  stats.std = sorted.size() > 1 ? std::sqrt(squares / (n - 1)) : 0;
  stats.min = sorted.front();
  stats.max = sorted.back();
  stats.p50 = Percentile(sorted, 50);
  stats.p90 = Percentile(sorted, 90);
  stats.p95 = Percentile(sorted, 95);
  stats.p99 = Percentile(sorted, 99);
  stats.cv = stats.mean > 0 ? stats.std / stats.mean : 0;
  const Interval ci = MedianConfidenceInterval95(sorted);
  stats.median_ci95_low = ci.low;
  stats.median_ci95_high = ci.high;
  std::vector<double> deviations;
  deviations.reserve(sorted.size());
  for (double x : sorted) deviations.push_back(std::abs(x - stats.p50));
  std::sort(deviations.begin(), deviations.end());
  stats.mad = Percentile(deviations, 50);
  stats.robust_cv = stats.p50 > 0 ? 1.4826 * stats.mad / stats.p50 : 0;
  const double fence = std::max({kOutlierMads * 1.4826 * stats.mad, kOutlierFloor * stats.p50, kOutlierFloorMs});
  stats.outliers = static_cast<std::size_t>(std::count_if(
      sorted.begin(), sorted.end(), [&](double x) { return std::abs(x - stats.p50) > fence; }));
  return stats;
}

std::optional<double> DriftPercent(std::span<const double> samples) {
  if (samples.size() < 9) return std::nullopt;
  const auto third = static_cast<std::ptrdiff_t>(samples.size() / 3);
  auto median = [](std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return Percentile(values, 50);
  };
  const double first = median({samples.begin(), samples.begin() + third});
  const double last = median({samples.end() - third, samples.end()});
  if (first <= 0) return std::nullopt;
  return 100 * (last - first) / first;
}

double RatioEstimate::HalfWidthPercent() const {
  if (median <= 0) return 0;
  return 100.0 * std::max(median - ci95.low, ci95.high - median) / median;
}

std::vector<double> RoundRatios(std::span<const double> baseline, std::span<const double> other) {
  std::vector<double> ratios(std::min(baseline.size(), other.size()));
  for (std::size_t k = 0; k < ratios.size(); ++k) ratios[k] = other[k] / baseline[k];
  return ratios;
}

RatioEstimate PairedRatio(std::span<const double> baseline, std::span<const double> other) {
  std::vector<double> ratios = RoundRatios(baseline, other);
  RatioEstimate estimate;
  estimate.rounds = ratios.size();
  if (ratios.empty()) return estimate;
  std::sort(ratios.begin(), ratios.end());
  estimate.median = Percentile(ratios, 50);
  estimate.ci95 = MedianConfidenceInterval95(ratios);
  return estimate;
}

}  // namespace edgebench
