// The benchmark harness. Stages: load -> inputs -> first inference -> warm-up -> timed runs
// (-> operator profile, run by RunBenchmark after the timed runs when asked for).
// The runner only measures; statistics (stats.h), the verdict (validity.h) and formatting
// (report.h, result_json.h) are separate stages.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "edgebench/backend.h"
#include "edgebench/result.h"
#include "edgebench/settings.h"

namespace edgebench {

enum class Stage { kLoad, kInputs, kFirstInference, kWarmup, kMeasure, kProfile };
std::string_view StageName(Stage stage);

// Hooks into the run lifecycle (progress display, profilers, streaming). Default no-ops.
// Called on the benchmarking thread; OnTimedRun is on the hot path and must be cheap.
class RunListener {
 public:
  virtual ~RunListener() = default;
  virtual void OnStageStart(Stage /*stage*/) {}
  virtual void OnStageEnd(Stage /*stage*/, double /*elapsed_ms*/) {}
  // After each timed run: its index, and nanoseconds since the timed stage began.
  virtual void OnTimedRun(std::size_t /*index*/, int64_t /*elapsed_ns*/) {}
};

struct WarmupOutcome {
  int runs = 0;
  double ms = 0;
  std::optional<Error> error;  // a failed RunOnce ends the warm-up here
};

// Warm-up runs (not samples) until both settings.warmup_runs and warmup_min_ms are reached,
// capped by max_duration_ms, between the listeners' Stage::kWarmup start and end. Measure's
// first stage; `edgebench compare` warms each variant with it.
WarmupOutcome Warmup(Backend& backend, const BenchSettings& settings, std::span<RunListener* const> listeners = {});

struct Measurement {
  int warmup_runs = 0;
  double warmup_ms = 0;
  double measure_ms = 0;
  std::vector<double> samples_ms;
  StopReason stop_reason = StopReason::kNotStarted;
  std::optional<Error> error;  // a failed RunOnce ends the loop here
};

// Warm-up and timed runs on a backend whose inputs are set. Stops when the minimum count and
// duration are reached (and, with a target CI, that CI with samples the verdict accepts:
// SampleReasons in validity.h), or at max_duration_ms or max_runs.
Measurement Measure(Backend& backend, const BenchSettings& settings,
                    std::span<RunListener* const> listeners = {});

// Peak resident set size of this process since it started (getrusage), in bytes.
int64_t PeakResidentBytes();

}  // namespace edgebench
