// The verdict on a measurement: pure function of samples, statistics, settings and environment.
#pragma once

#include <span>

#include "edgebench/environment.h"
#include "edgebench/result.h"
#include "edgebench/settings.h"
#include "edgebench/stats.h"

namespace edgebench {

// Reasons (invalidating): fewer runs than min_runs, stopped at max duration before the target
// CI, CV above max_cv_percent, drift between first and last third above max_drift_percent,
// a known cpufreq governor other than "performance" (when required).
// Warnings: governor unknown, load average above the usable core count, very short runs.
Validity JudgeValidity(std::span<const double> samples_ms, const LatencyStats& stats,
                       StopReason stop_reason, const BenchSettings& settings,
                       const Environment& environment);

}  // namespace edgebench
