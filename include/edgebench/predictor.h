// Latency prediction: one regressor per kernel type (a linear base times gradient-boosted trees of
// XGBoost), trained on measured single-kernel models (data sets "edgebench.kernels/3",
// kernel_dataset.h), and a model's latency
// predicted as the runtime's per-inference floor plus the predictions of the kernels the model
// splits into (kernel_split.h). Saved as one JSON document, schema "edgebench.predictor/1"
// (docs/predictor.md).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "edgebench/kernel_dataset.h"
#include "edgebench/kernel_models.h"
#include "edgebench/comparison.h"
#include "edgebench/kernel_split.h"
#include "edgebench/kernels.h"
#include "edgebench/result.h"
#include "edgebench/status.h"
#include "edgebench/tensor.h"

namespace edgebench {

class XgbRegressor;  // src/predict/xgboost_regressor.h

inline constexpr const char* kPredictorSchema = "edgebench.predictor/1";
// The predictor file's format version "MAJOR.MINOR". A reader loads every file of its own and
// earlier major versions (a later minor version only adds fields, which it ignores) and refuses
// a later major version. Major 1: the regressors predict log(kernel ms); major 2: each type has
// a LinearBase and its trees predict log(kernel ms / base ms), kernel ms without the lone
// model's layout conversions; 2.1 adds the LayoutCost ("layout") and the Calibration
// ("calibration"); 2.2 the ReferenceScale ("reference") of data sets measured against the
// reference model.
inline constexpr int kPredictorFormatMajor = 2;
inline constexpr int kPredictorFormatMinor = 2;

// --- Accuracy --------------------------------------------------------------------------------

// How close predictions are to measurements. Percentages are of the points.
struct Accuracy {
  std::size_t points = 0;
  double within_10_percent = 0;  // |predicted / measured - 1| <= 10%
  double within_5_percent = 0;
  double rmse_ms = 0;
  double mape_percent = 0;  // mean |predicted - measured| / measured
};
// Over pairs of (predicted, measured) of equal length; measured values must be > 0.
Accuracy ComputeAccuracy(const std::vector<double>& predicted, const std::vector<double>& measured);
nlohmann::json ToJson(const Accuracy& accuracy);

// --- The predictor -------------------------------------------------------------------------

struct PredictorSettings {
  int validation_percent = 20;  // share of each type's valid points held out for validation
  uint64_t seed = 1;            // the validation split and XGBoost's own seed
  int rounds = 400;             // boosting rounds per regressor
  int max_depth = 6;
  double eta = 0.1;
  std::vector<std::string> excluded_sources;  // points sampled around these models are left out
};
nlohmann::json ToJson(const PredictorSettings& settings);

// A held-out point and what its type's regressor predicts for it (kernel time, overhead
// excluded).
struct ValidationPoint {
  KernelConfig config;
  std::string source;  // the model the point was sampled around
  double measured_ms = 0;
  double predicted_ms = 0;
};

// The FLOPs-proportional baseline latency = k x FLOPs, with k fitted when training.
struct FlopsBaseline {
  double ms_per_gflop = 0;
  std::size_t points = 0;  // the training points it was fitted on
  std::string fitted_on;   // in words
};

// Adapting a predictor of one runtime or device to another with few measurements.
struct AdaptSettings {
  std::size_t max_points = 100;  // kernel points of the new runtime used, at most
  uint64_t seed = 1;             // which points: round-robin over the kernel types, by seeded hash
};

// What an adapted predictor is: the base's regressors, each kernel type's prediction times
// exp(log_factors[type]) (types no chosen point has: exp(default_log_factor)).
struct Adaptation {
  std::string base_runtime, base_runtime_version, base_device;
  std::size_t points = 0;  // the new runtime's points the factors were fitted on
  std::map<std::string, double> log_factors;
  double default_log_factor = 0;
};

// A kernel type's analytic part: fixed_ms + ms_per_flop x FLOPs + ms_per_element x (elements
// read + elements written), non-negative coefficients. It carries a prediction into sizes the
// kernel data set has few points of; the trees learn what it misses.
struct LinearBase {
  double fixed_ms = 0;
  double ms_per_flop = 0;
  double ms_per_element = 0;
  double Ms(const KernelConfig& config) const;  // at least Predictor::kMinTargetMs
};
// The non-negative coefficients with the least squared relative error over (config, ms) pairs
// (every subset of the three terms is tried). Pure.
LinearBase FitLinearBase(const std::vector<std::pair<KernelConfig, double>>& points);

// The cost of the layout conversions of a blocked layout (kReorderKernelType kernels): fixed_ms
// per conversion + ms_per_element x the tensor's elements, fitted (least squared relative error,
// non-negative) on the layout time of the measured kernel models, (median_ms - overhead_ms) x
// layout_share, against the conversions each lone model runs (LoneKernelReorders).
struct LayoutCost {
  int64_t block_channels = 0;
  double fixed_ms = 0;
  double ms_per_element = 0;
  std::size_t points = 0;  // kernel points fitted on
  Accuracy fit;            // on those points
  // Valid profiled points where the rules and the profile disagree: conversions measured but
  // none predicted for the lone model, or the reverse (a check of the rules).
  std::size_t disagreeing_points = 0;
  double Ms(const KernelConfig& reorder) const;  // at least Predictor::kMinTargetMs
};
// Nullopt when the rules have no blocked layout or no valid point has a layout share and lone
// conversions to fit on. Points of `excluded_sources` are left out. Pure.
std::optional<LayoutCost> FitLayoutCost(const std::vector<KernelDataSet>& data, const KernelRules& rules,
                                        const std::vector<std::string>& excluded_sources);

// Kernels run slower inside a whole model than alone: alone, a kernel's input, output and
// weights stay in the caches from one run to the next; inside a model the other kernels' data
// evicts them, and the more so the larger they are. A calibration measures it on profiled
// results of whole models (bench --profile; models other than those the predictor is evaluated
// on): per working-set class (WorkingSetClass), log(sum of in-model ms / sum of predicted ms)
// over the class's kernels, in-model ms being the profile's (kernels matched by the source nodes
// they cover) scaled so that all profiled kernels add up to the result's median minus the
// predictor's overhead (a profiler adds time of its own).
// A class gets a factor of its own when its kernels take at least this share of the in-model
// time; the others get the factor of those together.
inline constexpr double kMinCalibrationShare = 0.03;
struct Calibration {
  std::size_t models = 0;   // results calibrated on
  std::size_t kernels = 0;  // kernels matched in them
  std::map<std::string, double> log_factors;  // by working-set class
  double default_log_factor = 0;              // for the other classes
};
// The class of a kernel's working set, 4 x (input + output elements + parameters) bytes (a
// conversion: its tensor twice): "< 256 KiB", "< 1 MiB", "< 4 MiB", "< 16 MiB", ">= 16 MiB".
std::string WorkingSetClass(const KernelConfig& config);

class Predictor {
 public:
  // Trains one regressor per kernel type that has valid points: a LinearBase fitted on the
  // training share's KernelOwnMs(point, overhead_ms, kMinTargetMs), and trees on log(own ms /
  // base ms) (docs/predictor.md).
  // Every data set must come from the rules' runtime. A type with fewer than 2 valid points has
  // no regressor.
  // `names` (the data sets' files, or empty) go into the provenance.
  static Expected<Predictor> Train(const std::vector<KernelDataSet>& data, const std::vector<std::string>& names,
                                   const KernelRules& rules, const PredictorSettings& settings);
  // A predictor of the data sets' runtime (and device) made from `base` with at most
  // settings.max_points of their valid points: per kernel type, the median of log(kernel own
  // time / base prediction) over the type's chosen points (Adaptation). The rules are the new
  // runtime's; the overhead is the data sets'. The points not chosen are the validation points.
  static Expected<Predictor> Adapt(const Predictor& base, const std::vector<KernelDataSet>& data,
                                   const std::vector<std::string>& names, const KernelRules& rules,
                                   const AdaptSettings& settings);
  // Checks the schema, the format version and every required field: kBadModel naming the
  // problem otherwise.
  // This predictor calibrated on `results` (profiled, valid, of this runtime; others are left
  // out and listed in `left_out` as "model: why"); an earlier calibration is replaced.
  // kInvalidArgument when no result has a profile to calibrate on.
  Expected<Predictor> Calibrate(const std::vector<BenchResult>& results, std::vector<std::string>& left_out) const;
  static Expected<Predictor> FromJson(const nlohmann::json& document);
  static Expected<Predictor> Load(const std::string& path);
  Expected<nlohmann::json> ToJson() const;

  const std::string& runtime() const { return rules_.runtime; }
  const std::string& runtime_version() const { return runtime_version_; }
  const std::string& device() const { return device_; }
  const KernelRules& rules() const { return rules_; }
  double overhead_ms() const { return overhead_ms_; }
  const FlopsBaseline& flops_baseline() const { return flops_baseline_; }
  const std::optional<Adaptation>& adaptation() const { return adaptation_; }
  std::vector<std::string> types() const;  // kernel types with a regressor
  // With a regressor, or kReorderKernelType with a layout cost.
  bool HasType(const std::string& type) const {
    return regressors_.count(type) > 0 || (type == kReorderKernelType && layout_.has_value());
  }
  const std::optional<LayoutCost>& layout() const { return layout_; }
  const std::optional<Calibration>& calibration() const { return calibration_; }
  // Set when trained on data sets measured against the reference model: its milliseconds are
  // those of the machine's speed while they were measured (ScaleToReference), and measurements
  // of whole models compare with them as ratios to the same reference (ResultsOnReferenceScale).
  const std::optional<ReferenceScale>& reference() const { return reference_; }
  const Accuracy& validation(const std::string& type) const { return regressors_.at(type).validation; }
  // The held-out points of the last Train (empty after FromJson).
  const std::vector<ValidationPoint>& validation_points() const { return validation_points_; }

  // Kernel times (overhead excluded) of configurations of one type that HasType.
  Expected<std::vector<double>> PredictKernelsMs(const std::vector<KernelConfig>& configs) const;

  static constexpr double kMinTargetMs = 1e-4;  // targets below 0.1 us count as 0.1 us

 private:
  struct TypeModel {
    std::shared_ptr<const XgbRegressor> regressor;
    std::optional<LinearBase> base;  // absent in files of format major 1
    Accuracy validation;
    std::size_t train_points = 0;
  };
  KernelRules rules_;
  std::string runtime_version_, device_, edgebench_version_;
  nlohmann::json settings_ = nlohmann::json::object();
  std::vector<nlohmann::json> provenance_;
  double overhead_ms_ = 0;
  FlopsBaseline flops_baseline_;
  std::map<std::string, TypeModel> regressors_;
  // For each feature the regressors were trained on, its index in KernelFeatureNames().
  std::vector<std::size_t> feature_columns_;
  std::vector<ValidationPoint> validation_points_;
  std::optional<Adaptation> adaptation_;
  std::optional<LayoutCost> layout_;
  std::optional<Calibration> calibration_;
  std::optional<ReferenceScale> reference_;
};

// --- Adaptive sampling -----------------------------------------------------------------------

// New configurations around the validation points predicted more than 10% off: each such point
// gets up to `per_point` neighbours with one aspect changed a little (spatial size, channels,
// kernel size), each passing CheckKernelConfig, distinct from each other and the point, with
// the point's source. Same points and seed give the same configurations.
std::vector<SampledKernel> ProposeAroundPoorPoints(const std::vector<ValidationPoint>& points, int per_point,
                                                  uint64_t seed);

// --- Predicting a model ----------------------------------------------------------------------

struct KernelPrediction {
  ModelKernel kernel;
  std::optional<double> ms;  // unset: unknown (type "unknown", or no regressor for the type)
};

struct ModelPrediction {
  std::string model;  // the file
  std::string runtime;
  double overhead_ms = 0;
  std::vector<KernelPrediction> kernels;
  double total_ms = 0;       // overhead + the predicted kernels
  bool lower_bound = false;  // some kernels are unknown: the model takes at least total_ms
  std::vector<std::string> warnings;  // one per unknown kernel type
};

// Splits the model with the predictor's rules and predicts each kernel.
Expected<ModelPrediction> PredictModel(const Predictor& predictor, const std::string& path,
                                       const ShapeOverrides& shapes);
// A per-kernel table as in a measured profile (kernel #, type, nodes, configuration, predicted
// time, share of the kernels' time) and the total.
std::string FormatPredictionText(const ModelPrediction& prediction);
nlohmann::json ToJson(const ModelPrediction& prediction);

// --- Evaluating against measurements ---------------------------------------------------------

struct EvaluatedModel {
  std::string model;   // ModelName
  std::string path;
  std::string family;  // "" without families
  double measured_ms = 0;
  double predicted_ms = 0;
  bool lower_bound = false;
  std::optional<double> baseline_ms;  // k x FLOPs, when the result counted FLOPs
};

struct Evaluation {
  std::vector<EvaluatedModel> models;
  std::vector<std::string> left_out;  // "model: why" (INVALID, failed, not predictable)
  Accuracy overall;
  std::map<std::string, Accuracy> per_family;
  std::optional<Accuracy> baseline_overall;  // over the models with a baseline
  std::map<std::string, Accuracy> baseline_per_family;
};

// Why `result` cannot be compared with a prediction ("failed (STAGE)", "INVALID (REASONS)"), ""
// when it can; kInvalidArgument when it was measured on another runtime than the predictor's.
Expected<std::string> WhyNotComparable(const Predictor& predictor, const BenchResult& result);
// The input shapes `result` was measured with, to split its model as it ran.
ShapeOverrides InputShapes(const BenchResult& result);

// The variants of a comparison whose baseline is the predictor's reference model (`edgebench
// compare REFERENCE.onnx MODEL.onnx ...`) as results on the predictor's scale: each variant's
// result with its median set to its paired ratio to the reference x the predictor's reference
// median, and its verdict to the comparison's (a comparison's verdict judges the ratios).
// kInvalidArgument when the predictor has no reference, or the baseline is another model.
Expected<std::vector<BenchResult>> ResultsOnReferenceScale(const Predictor& predictor,
                                                           const ComparisonResult& comparison);

// Each of `profiled` with the median and verdict of the result in `on_reference_scale` (from
// ResultsOnReferenceScale) of the same model file (sha256) and runtime, where there is one: its
// profile then splits a time on the predictor's scale (Calibrate); the others as they are.
std::vector<BenchResult> WithMediansOnReferenceScale(std::vector<BenchResult> profiled,
                                                     const std::vector<BenchResult>& on_reference_scale);

// Predicts the model of each result (its file path, its input shapes) and compares with its
// median; INVALID and failed results are left out and listed. `families` maps a model file's
// name (without directories) to its family.
Expected<Evaluation> Evaluate(const Predictor& predictor, const std::vector<BenchResult>& results,
                              const std::map<std::string, std::string>& families);
// Reads a families file: {"variants": [{"file": "resnet18_w0.75.onnx", "family": "resnet"}, ...]}.
Expected<std::map<std::string, std::string>> ReadFamilies(const std::string& path);

std::string FormatEvaluationText(const Evaluation& evaluation, bool with_baseline);
nlohmann::json ToJson(const Evaluation& evaluation);
// A self-contained HTML page: predicted against measured (with the +-10% band), the histogram of
// the relative errors and the per-family accuracy table.
std::string FormatEvaluationHtml(const Evaluation& evaluation, const Predictor& predictor);

}  // namespace edgebench
