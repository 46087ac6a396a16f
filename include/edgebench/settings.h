// What a benchmark run is asked to do. Plain data with defaults; units are in the names.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "edgebench/backend.h"
#include "edgebench/tensor.h"

namespace edgebench {

struct BenchSettings {
  // Warm-up: runs until both the count and the time are reached (not recorded as samples).
  int warmup_runs = 5;
  double warmup_min_ms = 200;
  // Timed runs: until both the count and the duration are reached, capped by max_duration_ms.
  int min_runs = 30;  // 30 repetitions, as in the paper
  double min_duration_ms = 1000;
  double max_duration_ms = 60000;
  int max_runs = 100000;  // bounds memory for very fast models (the null backend)
  // Adaptive mode: also continue until the 95% CI of the median is within this percent of it.
  std::optional<double> target_ci_percent;

  // Validity thresholds.
  double max_cv_percent = 10;     // coefficient of variation above this is unstable
  double max_drift_percent = 5;   // last-third vs first-third median difference (throttling)
  bool require_pinned_governor = true;  // a known, non-"performance" cpufreq governor invalidates

  int threads = 0;  // intra-op threads; 0 = runtime default
  BackendOptions options;
  ShapeOverrides shapes;
  std::map<std::string, std::string> input_files;  // input name -> raw file; others random
  uint64_t seed = 0;  // seed of the random inputs

  // Output verification after the timed runs: the same inputs through a reference runtime.
  std::string verify_runtime;               // "" = no verification
  std::string verify_model;                 // reference's model file; "" = the same file
  std::optional<double> verify_tolerance;   // max abs error above this fails the result

  // Operator profile after the timed runs: this many extra runs with the runtime's profiler on
  // (never during the timed runs: profilers perturb timing). 0 = no profile.
  int profile_runs = 0;
};

}  // namespace edgebench
