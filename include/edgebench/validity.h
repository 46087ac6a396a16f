// The verdicts on a measurement and on a comparison: pure functions of samples, statistics,
// settings and environment.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "edgebench/comparison.h"
#include "edgebench/environment.h"
#include "edgebench/result.h"
#include "edgebench/settings.h"
#include "edgebench/stats.h"

namespace edgebench {

// Reasons (invalidating): a failed run; fewer runs than min_runs; target CI not reached before
// the maximum duration or run count; the samples themselves (SampleReasons); a known cpufreq
// governor other than "performance" (when required); from `interference`: CPU steal above
// max_steal_percent, a thermal clock drop above max_frequency_drop_percent, throttling flags or
// events during the timed runs.
// Warnings: governor unknown, load average above the usable core count, very short runs.
// Absent sensors are neither.
Validity JudgeValidity(std::span<const double> samples_ms, const LatencyStats& stats,
                       StopReason stop_reason, const BenchSettings& settings,
                       const Environment& environment,
                       const std::optional<Interference>& interference = std::nullopt);

// Why the samples (in run order, with their statistics) void a result, empty when they do not:
// the robust CV above max_cv_percent; more outliers than max_outlier_percent of the runs (two
// clusters); the median of the last third off that of the first by more than max_drift_percent.
// The adaptive stop (Measure) keeps running while this is not empty, so that it agrees with the
// verdict.
std::vector<std::string> SampleReasons(std::span<const double> samples_ms, const LatencyStats& stats,
                                       const BenchSettings& settings);

// The comparison's verdict. Reasons: a failure; fewer rounds than settings.min_runs; the target
// CI (settings.target_ci_percent) not reached by every ratio; a ratio that drifts (median of the
// last third of the rounds' ratios vs the first third above settings.max_drift_percent: something
// changed one variant and not the others). Warnings: each variant whose own bench verdict is
// INVALID (its absolute figures drifted or spread, which the paired ratios absorb).
Validity JudgeComparison(const ComparisonResult& comparison);

}  // namespace edgebench
