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
    std::vector<double> ratios(std::min(baseline.size(), other.size()));
    for (std::size_t k = 0; k < ratios.size(); ++k) ratios[k] = other[k] / baseline[k];
    if (const auto drift = DriftPercent(ratios); drift && std::abs(*drift) > settings.max_drift_percent) {
      invalid("the ratio " + ratio.label + " / " + comparison.ratios[0].label + " moved by " +
              Percent(std::abs(*drift)) + " between the first and the last third of the rounds (one variant "
              "changed speed and not the other: thermal limits, caches, background work on its cores?)");
    }
  }
  for (const ComparedVariant& variant : comparison.variants) {
    if (!variant.result.validity.valid) {
      verdict.warnings.push_back(variant.label + "'s own figures are INVALID (see its result); the paired ratios "
                                 "absorb what hit every variant alike");
    }
  }
  return verdict;
}

}  // namespace edgebench
