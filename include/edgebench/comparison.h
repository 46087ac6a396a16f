// The result of `edgebench compare`: variants of a benchmark timed interleaved in rounds in one
// process, and each variant's paired ratio to the first. Serialised by comparison_json.h as schema
// "edgebench.comparison/1" (docs/result-schema.md).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "edgebench/result.h"
#include "edgebench/settings.h"
#include "edgebench/stats.h"

namespace edgebench {

inline constexpr const char* kComparisonSchema = "edgebench.comparison/1";

// The most variants one comparison times side by side (each stays loaded for the whole run).
inline constexpr int kMaxCompareVariants = 16;

struct ComparedVariant {
  std::string label;     // what sets it apart from the others: "mobilenetv2", "t=2", "tflite t=1"
  int runs_per_round = 0;  // runs of this variant in each round (sized from its warm-up)
  // The variant as one benchmark: its settings, model, runtime and stages; samples_ms holds one
  // figure per round (the mean run time of its runs in that round), latency_ms their statistics
  // and validity the bench's verdict on them (for information: drift that hits every variant alike
  // does not void the comparison).
  BenchResult result;
};

struct ComparedRatio {
  std::string label;         // the variant's
  RatioEstimate estimate;    // its per-round time / the first variant's (1 for the first itself)
};

struct ComparisonResult {
  std::string started_at_utc;  // ISO 8601
  // The device, as BenchResult::device: the agent's name when the server stored it, else the
  // hostname (`edgebench compare` sets it).
  std::string device;
  Environment environment;
  BenchSettings settings;  // the loop's settings: warm-up, rounds (min/max_runs), durations, target CI
  double round_target_ms = 0;  // each variant's share of a round, before its run count was sized
  std::vector<ComparedVariant> variants;  // [0] is the baseline
  std::vector<ComparedRatio> ratios;      // [i] = variants[i] / variants[0]
  int rounds = 0;
  double measure_ms = 0;  // wall time of all rounds
  StopReason stop_reason = StopReason::kNotStarted;
  // Evidence of interference over all rounds (energy per inference: per run of any variant); the
  // variants' own verdicts judge it as a bench does. Unset when no round ran.
  std::optional<Interference> interference;
  Validity validity;
  std::optional<RunFailure> failure;  // the stage names the variant: "load (tinycnn t=2)"
};
}  // namespace edgebench
