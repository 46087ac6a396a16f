#include "edgebench/comparison.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace edgebench {
namespace {

std::string Percent(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%%", value);
  return text;
}

double MedianOf(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return Percentile(values, 50);
}

void AddOnce(std::vector<std::string>& list, const std::string& item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(item);
}

}  // namespace

Validity JudgeComparison(const ComparisonResult& comparison) {
  Validity verdict;
  auto invalid = [&verdict](std::string reason) {
    verdict.valid = false;
    verdict.reasons.push_back(std::move(reason));
  };
  if (comparison.failure) {
    invalid("the comparison failed at stage '" + comparison.failure->stage + "'");
    return verdict;
  }
  const BenchSettings& settings = comparison.settings;
  if (comparison.rounds < settings.min_runs) {
    invalid("only " + std::to_string(comparison.rounds) + " rounds, fewer than the minimum " +
            std::to_string(settings.min_runs) +
            (comparison.stop_reason == StopReason::kMaxDuration ? " (stopped at the maximum duration)" : ""));
  }
  if (comparison.variants.empty()) return verdict;
  const std::vector<double>& baseline = comparison.variants[0].result.samples_ms;
  for (std::size_t i = 1; i < comparison.ratios.size(); ++i) {
    const ComparedRatio& ratio = comparison.ratios[i];
    if (settings.target_ci_percent && ratio.estimate.HalfWidthPercent() > *settings.target_ci_percent) {
      invalid("95% CI of the ratio " + ratio.label + " / " + comparison.ratios[0].label + " is +/-" +
              Percent(ratio.estimate.HalfWidthPercent()) + ", target " + Percent(*settings.target_ci_percent) +
              " not reached before the " +
              (comparison.stop_reason == StopReason::kMaxRuns ? "maximum round count" : "maximum duration"));
    }
    const std::vector<double>& other = comparison.variants[i].result.samples_ms;
    const std::size_t n = std::min(baseline.size(), other.size());
    if (n < 9) continue;
    std::vector<double> ratios(n);
    for (std::size_t k = 0; k < n; ++k) ratios[k] = other[k] / baseline[k];
    const std::size_t third = n / 3;
    const double first = MedianOf({ratios.begin(), ratios.begin() + static_cast<std::ptrdiff_t>(third)});
    const double last = MedianOf({ratios.end() - static_cast<std::ptrdiff_t>(third), ratios.end()});
    const double drift = first > 0 ? 100 * (last - first) / first : 0;
    if (std::abs(drift) > settings.max_drift_percent) {
      invalid("the ratio " + ratio.label + " / " + comparison.ratios[0].label + " moved by " +
              Percent(std::abs(drift)) + " between the first and the last third of the rounds (one variant "
              "changed speed and not the other: thermal limits, caches, background work on its cores?)");
    }
  }
  for (const ComparedVariant& variant : comparison.variants) {
    if (!variant.result.validity.valid) {
      std::string reasons;
      for (const auto& reason : variant.result.validity.reasons) reasons += (reasons.empty() ? "" : "; ") + reason;
      AddOnce(verdict.warnings, variant.label + " alone would be INVALID (" + reasons +
                                    "); the paired ratios absorb what hit every variant alike");
    }
    for (const auto& warning : variant.result.validity.warnings) AddOnce(verdict.warnings, warning);
  }
  return verdict;
}

}  // namespace edgebench
