#include "edgebench/validity.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

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

}  // namespace

Validity JudgeValidity(std::span<const double> samples_ms, const LatencyStats& stats,
                       StopReason stop_reason, const BenchSettings& settings,
                       const Environment& environment) {
  Validity verdict;
  auto invalid = [&verdict](std::string reason) {
    verdict.valid = false;
    verdict.reasons.push_back(std::move(reason));
  };

  if (stop_reason == StopReason::kFailed) invalid("a run failed; the figures are incomplete");
  const std::size_t n = samples_ms.size();
  if (n < static_cast<std::size_t>(settings.min_runs)) {
    invalid("only " + std::to_string(n) + " timed runs, fewer than the minimum " +
            std::to_string(settings.min_runs) +
            (stop_reason == StopReason::kMaxDuration ? " (stopped at the maximum duration)" : ""));
  }
  if (settings.target_ci_percent && stop_reason != StopReason::kReachedTargetCi && n > 0) {
    std::vector<double> sorted(samples_ms.begin(), samples_ms.end());
    std::sort(sorted.begin(), sorted.end());
    invalid("95% CI of the median is +/-" + Percent(MedianCiHalfWidthPercent(sorted)) +
            ", target " + Percent(*settings.target_ci_percent) + " not reached before the " +
            (stop_reason == StopReason::kMaxRuns ? "maximum run count" : "maximum duration"));
  }
  if (n > 1 && 100 * stats.cv > settings.max_cv_percent) {
    invalid("coefficient of variation " + Percent(100 * stats.cv) + " above " +
            Percent(settings.max_cv_percent) + ": timing is unstable");
  }
  if (n >= 9) {
    const std::size_t third = n / 3;
    const double first = MedianOf({samples_ms.begin(), samples_ms.begin() + third});
    const double last = MedianOf({samples_ms.end() - third, samples_ms.end()});
    const double drift = first > 0 ? 100 * (last - first) / first : 0;
    if (std::abs(drift) > settings.max_drift_percent) {
      invalid("median of the last third is " + Percent(std::abs(drift)) +
              (drift > 0 ? " slower" : " faster") +
              " than the first third (throttling or changing background load?)");
    }
  }
  if (environment.cpu_governor.empty()) {
    verdict.warnings.push_back(
        "cpufreq governor not exposed (VM or container?): frequency scaling unknown");
  } else if (environment.cpu_governor != "performance") {
    const std::string text = "cpufreq governor is '" + environment.cpu_governor +
                             "', not 'performance': the clock may vary during the run";
    if (!settings.allow_unpinned_governor) {
      invalid(text + " (pin it, or pass --allow-unpinned-governor)");
    } else {
      verdict.warnings.push_back(text);
    }
  }
  if (environment.usable_cores > 0 && environment.load_average_1m > environment.usable_cores) {
    char text[128];
    std::snprintf(text, sizeof text, "load average %.2f exceeds the %d usable cores",
                  environment.load_average_1m, environment.usable_cores);
    verdict.warnings.push_back(text);
  }
  if (n > 0 && stats.p50 < 0.01) {
    verdict.warnings.push_back("runs shorter than 10 us: clock overhead is a visible share");
  }
  return verdict;
}

}  // namespace edgebench
