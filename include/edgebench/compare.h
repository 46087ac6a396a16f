// Runs a comparison: every variant loaded side by side in this process, warmed up, then timed in
// rounds (each round runs every variant, in an order rotated round by round so that no variant
// always follows the same one), until the rounds and duration minimums are reached and, with a
// target CI, every paired ratio's 95% interval is within it.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "edgebench/comparison.h"
#include "edgebench/runner.h"
#include "edgebench/settings.h"

namespace edgebench {

struct CompareVariantRequest {
  std::string label;
  std::string model_path;
  std::string runtime;
  BenchSettings settings;  // what the variant runs with: threads, options, shapes, inputs, seed
};

struct CompareRequest {
  std::vector<CompareVariantRequest> variants;  // at least two; the first is the baseline
  // The loop: warm-up per variant, min_runs/max_runs count rounds, min/max_duration_ms bound all
  // rounds together, target_ci_percent applies to the ratios; thresholds for the verdicts.
  BenchSettings settings;
  double round_target_ms = 20;  // each variant's runs in a round last about this long
};

// Never throws; bad input (fewer than two variants, a bad setting, an unknown runtime, a model the
// runtime cannot read) and runtime failures are recorded in result.failure, before any round runs
// when they concern loading. Listeners see Stage::kLoad ... kWarmup per variant, then one
// OnTimedRun per round in Stage::kMeasure.
ComparisonResult RunComparison(const CompareRequest& request, std::span<RunListener* const> listeners = {});

}  // namespace edgebench
