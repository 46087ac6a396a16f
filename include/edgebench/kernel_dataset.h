// Kernel data sets (edgebench kernels measure): the latency of every single-kernel model of a
// directory written by `edgebench kernels generate`, measured on one device and runtime with one
// set of settings, plus the runtime's per-inference floor. The predictor trains on them
// (docs/predictor.md, "Kernel data sets").
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "edgebench/environment.h"
#include "edgebench/kernels.h"
#include "edgebench/result.h"
#include "edgebench/runner.h"
#include "edgebench/settings.h"
#include "edgebench/status.h"

namespace edgebench {

inline constexpr const char* kKernelModelsSchema = "edgebench.kernel_models/1";
// Written by this edgebench; reading also accepts /2 (no reference) and /1 (points without
// layout_share either).
inline constexpr const char* kKernelDataSetSchema = "edgebench.kernels/3";
inline constexpr const char* kKernelDataSetSchemaV2 = "edgebench.kernels/2";
inline constexpr const char* kKernelDataSetSchemaV1 = "edgebench.kernels/1";

// A real model the kernel configurations were sampled around.
struct KernelModelSource {
  std::string name;  // "resnet18"
  std::string sha256;
};

// One single-kernel model of DIR/kernels.json.
struct KernelModelEntry {
  std::string file;    // relative to the directory: "0001_conv.onnx"
  std::string source;  // the KernelModelSource it was sampled around
  KernelConfig config;
};

// DIR/kernels.json, schema "edgebench.kernel_models/1".
struct KernelModels {
  uint64_t seed = 0;
  std::string edgebench_version;
  std::vector<KernelModelSource> sources;
  std::vector<KernelModelEntry> kernels;
};

nlohmann::json ToJson(const KernelModels& models);
// Strict: another schema, a missing or mistyped field, an unknown field, a kernel whose source is
// not among the sources, a file name with a directory or a repeated file is kInvalidArgument
// naming the field ("kernels[3].config: ...").
Expected<KernelModels> KernelModelsFromJson(const nlohmann::json& json);
// Reads DIR/kernels.json; errors name the file.
Expected<KernelModels> ReadKernelModels(const std::string& directory);

// One measured kernel model.
struct KernelPoint {
  std::string file;    // as in kernels.json
  std::string sha256;  // of the file measured
  std::string source;
  KernelConfig config;
  std::optional<double> median_ms;  // unset when the run failed before timing
  bool valid = false;  // trained on only when true
  std::vector<std::string> reasons;  // why not valid: the verdict's reasons, or the failure
  int attempts = 0;    // measurements made (1 + repeats of INVALID ones)
  // The fraction of the lone model's profiled time spent converting layouts around the kernel
  // (LayoutShare of the result's profile: onnxruntime's ReorderInput/ReorderOutput); unset when
  // the measurement had no profile. Inside a model the kernel pays no such conversion where its
  // neighbours use its layout, so the predictor trains on the kernel's own time
  // (KernelOwnMs).
  std::optional<double> layout_share;
  // Measured interleaved with the data set's reference model (KernelDataSet::reference): the
  // median of the per-round ratios kernel time / reference time, and the reference's median in
  // that comparison; unset when the kernel was measured alone. median_ms is then the kernel's
  // own median in the comparison, and `valid` the comparison's verdict on the ratio.
  std::optional<double> reference_ratio;
  std::optional<double> reference_ms;
};

// The kernel's own time in a point: (median_ms - overhead_ms) x (1 - layout_share), never below
// `floor_ms`; without a layout_share, median_ms - overhead_ms. The point must have a median.
double KernelOwnMs(const KernelPoint& point, double overhead_ms, double floor_ms);

nlohmann::json ToJson(const KernelPoint& point);

// Where and how a data set was measured.
struct KernelDataSetProvenance {
  std::string device;  // the hostname locally, the agent's name through the service
  std::string runtime;
  std::string runtime_version;
  BenchSettings settings;    // of every measurement
  Environment environment;   // of the first measurement, as a result document carries it
  std::string edgebench_version;
  std::string created_at;    // when the measurement began (ISO 8601 UTC)
  uint64_t kernel_models_seed = 0;
  std::vector<KernelModelSource> kernel_models_sources;
  double measure_seconds = 0;  // wall time of all measurements (a resumed run adds its own)
};

// The model every kernel of a data set was timed against, interleaved in rounds (`edgebench
// compare`'s paired ratios): a slowdown of the whole machine (another tenant on the host, a
// clock change) hits the kernel and the reference alike, so the ratio stays while the
// milliseconds drift. Predictors put the ratios back on one scale (ScaleToReference).
struct KernelReference {
  std::string sha256;   // of the reference model measured
  KernelConfig config;  // ReferenceKernelConfig() of the edgebench that measured
};

struct KernelDataSet {
  KernelDataSetProvenance provenance;
  std::optional<KernelReference> reference;  // unset: every kernel measured alone
  // The median latency of the overhead model (OverheadKernelConfig()) with the same settings:
  // the runtime's per-inference floor. A regressor's target is median_ms - overhead_ms (never
  // below 0); a model's prediction is overhead_ms + the sum of its kernels' predictions.
  double overhead_ms = 0;
  KernelPoint overhead;  // that measurement, file "overhead.onnx", source ""
  std::vector<KernelPoint> points;  // in kernels.json order
};

nlohmann::json ToJson(const KernelDataSet& data_set);
// Strict like KernelModelsFromJson: another schema, a missing, mistyped or unknown field, a
// valid point without a positive median, is kInvalidArgument naming the field.
Expected<KernelDataSet> KernelDataSetFromJson(const nlohmann::json& json);
// Reads a data set file; errors name the file.
Expected<KernelDataSet> ReadKernelDataSet(const std::string& path);

// The smallest kernel a runtime can run: a relu on a [1, 8, 1, 1] tensor.
KernelConfig OverheadKernelConfig();
// What the overhead point stands for: file "overhead.onnx", source "", OverheadKernelConfig().
KernelModelEntry OverheadEntry();
// The reference kernel: a 3x3 convolution with relu, 64 to 64 channels on 28x28 (0.23 GFLOPs,
// about half a millisecond on one core of a server CPU). Its model (WriteKernelModel, seed 0) is
// the same file in every edgebench of one generator version: `edgebench kernels reference`.
KernelConfig ReferenceKernelConfig();

// A generated kernel model (WriteKernelModel, seed 0) as DIRECTORY/NAME in a fresh temporary
// directory, removed with the object: the overhead and the reference models.
class GeneratedModelFile {
 public:
  static Expected<std::unique_ptr<GeneratedModelFile>> Write(const KernelConfig& config, const std::string& name);
  ~GeneratedModelFile();
  GeneratedModelFile(const GeneratedModelFile&) = delete;
  GeneratedModelFile& operator=(const GeneratedModelFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  explicit GeneratedModelFile(std::string directory) : directory_(std::move(directory)) {}
  std::string directory_;
  std::string path_;
};

// The scale ratios to a reference are put back on: the reference's median over all points of
// the data sets (the machine's typical speed while they were measured).
struct ReferenceScale {
  std::string sha256;  // of the reference model
  double median_ms = 0;
};
// Puts every point measured against a reference on one scale: median_ms = reference_ratio x
// the scale (the overhead point and overhead_ms too), so that training reads milliseconds of
// one machine speed. Nullopt (nothing changed) when no data set has a reference;
// kInvalidArgument when some have one and others not, or their references differ, or no point
// has a reference median.
Expected<std::optional<ReferenceScale>> ScaleToReference(std::vector<KernelDataSet>& data);

// The point a result stands for: valid when the run completed with a valid verdict; a failure's
// stage and message, or the verdict's reasons, otherwise. `attempts` as made; layout_share from
// the result's profile when it has one.
KernelPoint KernelPointFromResult(const KernelModelEntry& entry, const BenchResult& result, int attempts);

// The provenance of a data set measured with `result`'s device, runtime, settings and
// environment, of `models`.
KernelDataSetProvenance ProvenanceFromResult(const BenchResult& result, const KernelModels& models);

// Why `previous` cannot be resumed by a measurement of `runtime` with `settings` on `device`,
// against the reference or not (another runtime, device or settings; different kernel models;
// measured alone against a reference or the reverse); ok when it can.
Status CheckResumable(const KernelDataSet& previous, const std::string& device, const std::string& runtime,
                      const BenchSettings& settings, const KernelModels& models, bool against_reference);

// kernels measure's default round time per model against the reference (as compare's).
inline constexpr double kDefaultReferenceRoundMs = 20;

struct KernelMeasureRequest {
  std::string kernels_dir;  // holds kernels.json and the models
  std::string runtime;
  BenchSettings settings;
  int repeat_invalid = 2;   // an INVALID measurement is repeated up to this many times
  // Points of a previous data set (CheckResumable passed): a valid point whose file still has
  // the same sha256 is kept, not measured again.
  const KernelDataSet* resume = nullptr;
  // Time every kernel (and the overhead model) interleaved with the reference model
  // (ReferenceKernelConfig) in a comparison of two variants, in rounds of about this many ms per
  // variant; 0: each kernel alone (RunBenchmark). With settings.profile, the layout share comes
  // from a short profiled run of the kernel alone after the comparison.
  double reference_round_ms = 0;
};

// After each measured (or kept) point: the data set so far, the index of the point in
// kernels.json and how many there are. The CLI prints progress and writes the file, so that an
// interrupted run can be resumed.
using KernelProgress = std::function<void(const KernelDataSet& so_far, std::size_t index, std::size_t total)>;

// Measures the overhead model, then every kernel model of request.kernels_dir, in process with
// RunBenchmark, or RunComparison against the reference (`listeners` see every run). Points that stay INVALID after the repeats, or fail,
// are kept with valid false and their reasons. Errors: kernels.json unreadable or invalid, the
// overhead model failing (no floor, no data set).
Expected<KernelDataSet> MeasureKernels(const KernelMeasureRequest& request, const KernelProgress& progress,
                                       std::span<RunListener* const> listeners = {});

}  // namespace edgebench
