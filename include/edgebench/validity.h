// The verdict on a measurement: pure function of samples, statistics, settings and environment.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "edgebench/environment.h"
#include "edgebench/result.h"
#include "edgebench/settings.h"
#include "edgebench/stats.h"

namespace edgebench {

// Reasons (invalidating): a failed run; fewer runs than min_runs; target CI not reached before
// the maximum duration or run count; the spread (SpreadReasons); drift between the first and
// last third above max_drift_percent; a known cpufreq governor other than "performance" (when
// required); from `interference`: CPU steal above max_steal_percent, a thermal clock drop above
// max_frequency_drop_percent, throttling flags or events during the timed runs.
// Warnings: governor unknown, load average above the usable core count, very short runs.
// Absent sensors are neither.
Validity JudgeValidity(std::span<const double> samples_ms, const LatencyStats& stats,
                       StopReason stop_reason, const BenchSettings& settings,
                       const Environment& environment,
                       const std::optional<Interference>& interference = std::nullopt);

// Why the spread of the runs voids a result, empty when it does not: the robust CV above
// max_cv_percent, or more outliers than max_outlier_percent of the runs (two clusters). The
// adaptive stop (Measure) keeps running while this is not empty, so that it agrees with the verdict.
std::vector<std::string> SpreadReasons(const LatencyStats& stats, const BenchSettings& settings);

}  // namespace edgebench
