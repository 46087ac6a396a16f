#include "edgebench/validity.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <vector>

#include "edgebench/text.h"

namespace edgebench {
namespace {

std::string Percent(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%%", value);
  return text;
}

void JudgeInterference(const Interference& interference, const BenchSettings& settings,
                       const std::function<void(std::string)>& invalid) {
  if (interference.steal_percent && *interference.steal_percent > settings.max_steal_percent) {
    invalid("CPU steal " + Percent(*interference.steal_percent) + " of the time during the timed runs, above " +
            Percent(settings.max_steal_percent) + ": the hypervisor ran other guests on these CPUs");
  }
  if (interference.thermal_frequency_drop_percent &&
      *interference.thermal_frequency_drop_percent > settings.max_frequency_drop_percent) {
    invalid("CPU clock fell " + Percent(*interference.thermal_frequency_drop_percent) +
            " while getting hotter during the timed runs, above " + Percent(settings.max_frequency_drop_percent) +
            ": thermal throttling");
  }
  if (interference.throttled_flags && *interference.throttled_flags != 0) {
    invalid("throttling flags set during the timed runs: " +
            Join(ThrottledFlagNames(*interference.throttled_flags), ", "));
  }
  if (interference.throttle_events && *interference.throttle_events > 0) {
    invalid(std::to_string(*interference.throttle_events) +
            " thermal throttling events on the CPUs used during the timed runs");
  }
}

}  // namespace

std::vector<std::string> SampleReasons(std::span<const double> samples_ms, const LatencyStats& stats,
                                       const BenchSettings& settings) {
  std::vector<std::string> reasons;
  const std::size_t n = samples_ms.size();
  if (n < 2) return reasons;
  if (100 * stats.robust_cv > settings.max_cv_percent) {
    reasons.push_back("robust coefficient of variation (1.4826 x MAD / median) " + Percent(100 * stats.robust_cv) +
                      " above " + Percent(settings.max_cv_percent) + ": timing is unstable");
  }
  const double outlier_percent = 100.0 * static_cast<double>(stats.outliers) / static_cast<double>(n);
  if (outlier_percent > settings.max_outlier_percent) {
    reasons.push_back(std::to_string(stats.outliers) + " of " + std::to_string(n) + " runs (" +
                      Percent(outlier_percent) + ") are outliers, above " + Percent(settings.max_outlier_percent) +
                      ": the run times form more than one cluster");
  }
  if (const auto drift = DriftPercent(samples_ms); drift && std::abs(*drift) > settings.max_drift_percent) {
    reasons.push_back("median of the last third is " + Percent(std::abs(*drift)) +
                      (*drift > 0 ? " slower" : " faster") +
                      " than the first third (throttling or changing background load?)");
  }
  return reasons;
}

Validity JudgeValidity(std::span<const double> samples_ms, const LatencyStats& stats,
                       StopReason stop_reason, const BenchSettings& settings,
                       const Environment& environment, const std::optional<Interference>& interference) {
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
    // A CI within target that did not stop the loop was held up by the spread (reason below).
    if (const double half_width = MedianCiHalfWidthPercent(sorted); half_width > *settings.target_ci_percent) {
      invalid("95% CI of the median is +/-" + Percent(half_width) + ", target " +
              Percent(*settings.target_ci_percent) + " not reached before the " +
              (stop_reason == StopReason::kMaxRuns ? "maximum run count" : "maximum duration"));
    }
  }
  for (auto& reason : SampleReasons(samples_ms, stats, settings)) invalid(std::move(reason));
  if (interference) JudgeInterference(*interference, settings, invalid);
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
    const auto drift = DriftPercent(RoundRatios(baseline, comparison.variants[i].result.samples_ms));
    if (drift && std::abs(*drift) > settings.max_drift_percent) {
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
