// The result document of one benchmark: the same structure for local and remote runs.
// Serialised by result_json.h as schema "edgebench.result/1" (docs/result-schema.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "edgebench/environment.h"
#include "edgebench/fusion.h"
#include "edgebench/model_file.h"
#include "edgebench/profile.h"
#include "edgebench/sensors.h"
#include "edgebench/settings.h"
#include "edgebench/stats.h"
#include "edgebench/status.h"
#include "edgebench/tensor.h"
#include "edgebench/verify.h"

namespace edgebench {

inline constexpr const char* kResultSchema = "edgebench.result/1";

struct Validity {
  bool valid = true;
  std::vector<std::string> reasons;   // why the figures should not be trusted
  std::vector<std::string> warnings;  // worth knowing, not invalidating
};

// Why the timed loop stopped.
enum class StopReason {
  kNotStarted,
  kReachedMinimums,  // min_runs and min_duration_ms reached
  kReachedTargetCi,  // ... and the median CI within target_ci_percent
  kMaxRuns,          // max_runs reached
  kMaxDuration,      // max_duration_ms reached first
  kFailed,           // a run failed
};
std::string_view StopReasonName(StopReason reason);

struct RunFailure {
  std::string stage;  // "model", "runtime", "options", "load", "inputs", "first_inference", ...
  Error error;
  std::string runtime_log;  // what the runtime printed itself while failing (load stage)
};

// What the model costs on paper, from the inspector (docs/inspect.md conventions).
struct ModelCost {
  int64_t params = 0;
  int64_t macs = 0;
  int64_t flops = 0;  // 2 x macs
};

// What a conversion costs in accuracy: the converted model on `runtime` against the ONNX model in
// FP32 on `reference_runtime`, both fed the same inputs (docs/convert.md).
struct AccuracyCost {
  std::string runtime;            // "tflite"
  std::string reference_runtime;  // "onnxruntime"
  std::string inputs;             // "4 random samples (uniform [0, 1), seed 1000001)", "1 samples from files"
  int samples = 0;
  double max_abs_error = 0;   // over all samples and outputs
  double mean_abs_error = 0;  // over all samples and output elements
  double max_rel_error = 0;   // max_abs_error / max |reference|
  // Mean over (sample, classifier-shaped output) of the fraction of rows whose argmax agrees;
  // nullopt when no output is [N, C] or [N, C, 1, 1].
  std::optional<double> top1_agreement;
};

// Set on a result the server ran from a model it converted for the runtime: where the model came
// from, at which precision, and the conversion's accuracy cost.
struct ConversionInfo {
  std::string source_model;  // the submitted file's name
  std::string source_sha256;
  std::string target;     // "tflite"
  std::string precision;  // "fp32", "fp16", "int8"
  std::string converter_version;
  std::optional<AccuracyCost> accuracy;  // unset when the server skipped the check
};

// Resident memory of the benchmarking process (VmRSS/VmHWM of /proc/self/status).
struct MemoryUse {
  int64_t rss_before_load_bytes = 0;
  int64_t rss_after_load_bytes = 0;
  // Peak during warm-up and timed runs when peak_reset (VmHWM reset before them); otherwise the
  // process's peak since it started, load included (an upper bound).
  int64_t peak_rss_timed_bytes = 0;
  bool peak_reset = false;
  int64_t load_delta_bytes() const { return rss_after_load_bytes - rss_before_load_bytes; }
  int64_t inference_delta_bytes() const { return peak_rss_timed_bytes - rss_after_load_bytes; }
};

struct BenchResult {
  ModelFile model;
  std::optional<ModelCost> model_cost;  // absent when the format or graph cannot be counted
  std::string runtime_name;
  std::string runtime_version;
  BackendOptions runtime_options;  // effective options, defaults filled in
  // The device the tables name the result by: the agent's name when the server stored it, the
  // hostname for a local `bench`; "" in documents older than the field (DeviceName falls back to
  // environment.hostname).
  std::string device;
  Environment environment;
  BenchSettings settings;
  std::string started_at_utc;  // ISO 8601
  std::vector<TensorSpec> inputs;   // as run (concrete)
  std::vector<TensorSpec> outputs;  // as declared by the model

  double load_ms = 0;             // model read + session/engine creation
  double first_inference_ms = 0;  // first run after load, not part of the samples
  int warmup_runs = 0;            // runs done in warm-up
  double warmup_ms = 0;           // wall time of warm-up
  double measure_ms = 0;          // wall time of the timed stage
  StopReason stop_reason = StopReason::kNotStarted;
  LatencyStats latency_ms;
  std::vector<double> samples_ms;  // raw, in run order
  Validity validity;
  int64_t peak_rss_bytes = 0;  // peak resident memory of the whole benchmarking process
  std::optional<MemoryUse> memory;  // unset when /proc/self/status is not readable, or the run failed before timing
  std::optional<Interference> interference;  // over the timed runs; unset when they did not run
  std::optional<Verification> verification;  // set when settings.verify_runtime is
  // Set when settings.profile_runs > 0 and the runtime has a profiler (else a warning says why).
  std::optional<OpProfile> profile;
  std::vector<KernelTypeShare> profile_by_type;  // SummarizeByKernelType(*profile)
  std::vector<ProviderShare> profile_by_provider;  // SummarizeByProvider(*profile)
  // MapFusion(*profile, source graph): set with a profile of a model whose graph the inspector
  // reads (ONNX).
  std::optional<FusionMap> fusion;
  std::optional<RunFailure> failure;  // set when the run did not complete
  std::optional<ConversionInfo> conversion;  // set by the server (a converted model)
};

}  // namespace edgebench
