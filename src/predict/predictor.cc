#include "edgebench/predictor.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <set>

#include "edgebench/analysis.h"
#include "edgebench/fusion.h"
#include "edgebench/inspect.h"
#include "edgebench/stats.h"
#include "edgebench/text.h"
#include "edgebench/version.h"
#include "xgboost_regressor.h"

namespace edgebench {
namespace {

// A stable 64-bit hash (FNV-1a): the validation split must not depend on the standard library.
uint64_t StableHash(const std::string& text, uint64_t seed) {
  uint64_t hash = 1469598103934665603ULL ^ seed;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash;
}

// The FLOPs baseline: k minimising the squared relative error of k x FLOPs against the
// measured latencies of the conv, dwconv and fc points (the kernels whose FLOPs count as a
// model's FLOPs do, docs/inspect.md): k = sum(f / t) / sum(f^2 / t^2).
FlopsBaseline FitFlopsBaseline(const std::vector<KernelPoint>& points) {
  double numerator = 0, denominator = 0;
  std::size_t used = 0;
  for (const auto& point : points) {
    const auto& type = point.config.type;
    if (type != "conv" && type != "dwconv" && type != "fc") continue;
    const double gflops = KernelFlops(point.config) / 1e9;
    const double ms = point.median_ms.value_or(0);
    if (gflops <= 0 || ms <= 0) continue;
    numerator += gflops / ms;
    denominator += gflops * gflops / (ms * ms);
    ++used;
  }
  FlopsBaseline baseline;
  baseline.points = used;
  baseline.ms_per_gflop = denominator > 0 ? numerator / denominator : 0;
  baseline.fitted_on = "median_ms of " + std::to_string(used) +
                       " valid training points of types conv, dwconv and fc against their FLOPs, least "
                       "squares of the relative error, through the origin";
  return baseline;
}

// Fails with kBadModel naming `field` when the document lacks it or it has the wrong type.
template <typename T>
Expected<T> Required(const nlohmann::json& document, const std::string& field) {
  const auto found = document.find(field);
  if (found == document.end()) return BadModel("predictor file lacks '" + field + "'");
  try {
    return found->get<T>();
  } catch (const nlohmann::json::exception&) {
    return BadModel("predictor file: '" + field + "' has the wrong type");
  }
}

// Solves the n x n system `a` x = `b` by Gaussian elimination with partial pivoting; false when
// it is singular.
bool Solve(std::vector<std::vector<double>> a, std::vector<double> b, std::vector<double>& x) {
  const std::size_t n = b.size();
  for (std::size_t col = 0; col < n; ++col) {
    std::size_t pivot = col;
    for (std::size_t row = col + 1; row < n; ++row) {
      if (std::abs(a[row][col]) > std::abs(a[pivot][col])) pivot = row;
    }
    if (std::abs(a[pivot][col]) < 1e-12) return false;
    std::swap(a[pivot], a[col]);
    std::swap(b[pivot], b[col]);
    for (std::size_t row = col + 1; row < n; ++row) {
      const double factor = a[row][col] / a[col][col];
      for (std::size_t k = col; k < n; ++k) a[row][k] -= factor * a[col][k];
      b[row] -= factor * b[col];
    }
  }
  x.assign(n, 0);
  for (std::size_t i = n; i-- > 0;) {
    double sum = b[i];
    for (std::size_t k = i + 1; k < n; ++k) sum -= a[i][k] * x[k];
    x[i] = sum / a[i][i];
  }
  return true;
}

// The feature `name` (one of KernelFeatureNames()) of KernelFeatures(config)'s `features`.
double Feature(const std::vector<double>& features, const char* name) {
  const auto& names = KernelFeatureNames();
  return features[static_cast<std::size_t>(std::find(names.begin(), names.end(), name) - names.begin())];
}

std::array<double, 3> BaseTerms(const KernelConfig& config) {
  const auto features = KernelFeatures(config);
  return {1.0, Feature(features, "flops"), Feature(features, "input_elements") + Feature(features, "output_elements")};
}

// An adaptation's or a calibration's log factor for `key`: its own, else the default.
double LogFactor(const std::map<std::string, double>& log_factors, double default_log_factor,
                 const std::string& key) {
  const auto found = log_factors.find(key);
  return found != log_factors.end() ? found->second : default_log_factor;
}

nlohmann::json BaseJson(const LinearBase& base) {
  return {{"fixed_ms", base.fixed_ms}, {"ms_per_flop", base.ms_per_flop}, {"ms_per_element", base.ms_per_element}};
}

nlohmann::json AdaptationJson(const Adaptation& adaptation) {
  return {{"base_runtime", adaptation.base_runtime},
          {"base_runtime_version", adaptation.base_runtime_version},
          {"base_device", adaptation.base_device},
          {"points", adaptation.points},
          {"log_factors", adaptation.log_factors},
          {"default_log_factor", adaptation.default_log_factor}};
}

nlohmann::json LayoutJson(const LayoutCost& layout) {
  return {{"block_channels", layout.block_channels}, {"fixed_ms", layout.fixed_ms},
          {"ms_per_element", layout.ms_per_element}, {"points", layout.points},
          {"fit", ToJson(layout.fit)}, {"disagreeing_points", layout.disagreeing_points}};
}

nlohmann::json CalibrationJson(const Calibration& calibration) {
  return {{"models", calibration.models},
          {"kernels", calibration.kernels},
          {"log_factors", calibration.log_factors},
          {"default_log_factor", calibration.default_log_factor}};
}

nlohmann::json BaselineJson(const FlopsBaseline& baseline) {
  return {{"ms_per_gflop", baseline.ms_per_gflop}, {"points", baseline.points}, {"fitted_on", baseline.fitted_on}};
}

}  // namespace

// --- The linear base -------------------------------------------------------------------------

double LinearBase::Ms(const KernelConfig& config) const {
  const auto terms = BaseTerms(config);
  return std::max(fixed_ms * terms[0] + ms_per_flop * terms[1] + ms_per_element * terms[2], Predictor::kMinTargetMs);
}

namespace {

// The non-negative coefficients c minimising sum((c . rows[i] / ms[i] - 1)^2) (every subset of the
// three terms is tried; the others are 0). ms[i] > 0.
std::array<double, 3> FitNonNegativeRelative(const std::vector<std::array<double, 3>>& rows,
                                             const std::vector<double>& ms) {
  // Rows scaled by 1 / ms (relative error), columns by their largest value (conditioning).
  std::array<double, 3> scale = {0, 0, 0};
  for (const auto& row : rows) {
    for (std::size_t j = 0; j < 3; ++j) scale[j] = std::max(scale[j], row[j]);
  }
  for (double& s : scale) s = s > 0 ? s : 1;
  std::array<double, 3> best = {0, 0, 0};
  double best_error = -1;
  for (unsigned subset = 1; subset < 8; ++subset) {
    std::vector<std::size_t> columns;
    for (std::size_t j = 0; j < 3; ++j) {
      if ((subset >> j) & 1U) columns.push_back(j);
    }
    const std::size_t n = columns.size();
    std::vector<std::vector<double>> normal(n, std::vector<double>(n, 0));
    std::vector<double> right(n, 0);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const double weight = 1 / ms[i];
      for (std::size_t a = 0; a < n; ++a) {
        const double xa = rows[i][columns[a]] / scale[columns[a]] * weight;
        right[a] += xa * ms[i] * weight;
        for (std::size_t b = 0; b < n; ++b) normal[a][b] += xa * rows[i][columns[b]] / scale[columns[b]] * weight;
      }
    }
    std::vector<double> solution;
    if (!Solve(normal, right, solution)) continue;
    if (std::any_of(solution.begin(), solution.end(), [](double v) { return v < 0; })) continue;
    std::array<double, 3> coefficients = {0, 0, 0};
    for (std::size_t a = 0; a < n; ++a) coefficients[columns[a]] = solution[a] / scale[columns[a]];
    double error = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      double fitted = 0;
      for (std::size_t j = 0; j < 3; ++j) fitted += coefficients[j] * rows[i][j];
      error += (fitted / ms[i] - 1) * (fitted / ms[i] - 1);
    }
    if (best_error < 0 || error < best_error) best_error = error, best = coefficients;
  }
  return best;
}

// A layout cost's terms for the conversions `reorders`: their count and their elements.
std::array<double, 3> LayoutTerms(const std::vector<KernelConfig>& reorders) {
  std::array<double, 3> terms = {static_cast<double>(reorders.size()), 0, 0};
  for (const auto& reorder : reorders) terms[2] += static_cast<double>(reorder.cin * reorder.hin * reorder.win);
  return terms;
}

}  // namespace

LinearBase FitLinearBase(const std::vector<std::pair<KernelConfig, double>>& points) {
  std::vector<std::array<double, 3>> rows;
  std::vector<double> ms;
  for (const auto& [config, target] : points) {
    rows.push_back(BaseTerms(config));
    ms.push_back(target);
  }
  const auto c = FitNonNegativeRelative(rows, ms);
  return LinearBase{c[0], c[1], c[2]};
}

// --- Layout conversions ----------------------------------------------------------------------

double LayoutCost::Ms(const KernelConfig& reorder) const {
  const auto terms = LayoutTerms({reorder});
  return std::max(fixed_ms * terms[0] + ms_per_element * terms[2], Predictor::kMinTargetMs);
}

std::optional<LayoutCost> FitLayoutCost(const std::vector<KernelDataSet>& data, const KernelRules& rules,
                                        const std::vector<std::string>& excluded_sources) {
  if (rules.layout_block_channels <= 0) return std::nullopt;
  const std::set<std::string> excluded(excluded_sources.begin(), excluded_sources.end());
  std::vector<std::array<double, 3>> rows;
  std::vector<double> ms;
  std::size_t disagreeing = 0;
  for (const auto& set : data) {
    for (const auto& point : set.points) {
      if (!point.valid || !point.median_ms || !point.layout_share || excluded.count(point.source)) continue;
      const auto reorders = LoneKernelReorders(point.config, rules.layout_block_channels);
      const double layout_ms = (*point.median_ms - set.overhead_ms) * *point.layout_share;
      if (reorders.empty() != (*point.layout_share <= 0)) ++disagreeing;
      if (reorders.empty() || layout_ms <= 0) continue;
      rows.push_back(LayoutTerms(reorders));
      ms.push_back(layout_ms);
    }
  }
  if (rows.size() < 2) return std::nullopt;
  const auto c = FitNonNegativeRelative(rows, ms);
  LayoutCost cost{rules.layout_block_channels, c[0], c[2], rows.size(), {}, disagreeing};
  std::vector<double> fitted;
  for (const auto& row : rows) fitted.push_back(c[0] * row[0] + c[2] * row[2]);
  cost.fit = ComputeAccuracy(fitted, ms);
  return cost;
}

// --- Accuracy --------------------------------------------------------------------------------

Accuracy ComputeAccuracy(const std::vector<double>& predicted, const std::vector<double>& measured) {
  Accuracy accuracy;
  accuracy.points = std::min(predicted.size(), measured.size());
  if (accuracy.points == 0) return accuracy;
  std::size_t within_10 = 0, within_5 = 0;
  double squared = 0, relative = 0;
  for (std::size_t i = 0; i < accuracy.points; ++i) {
    const double error = std::abs(predicted[i] / measured[i] - 1);
    within_10 += error <= 0.10 ? 1 : 0;
    within_5 += error <= 0.05 ? 1 : 0;
    relative += error;
    squared += (predicted[i] - measured[i]) * (predicted[i] - measured[i]);
  }
  const double n = static_cast<double>(accuracy.points);
  accuracy.within_10_percent = 100.0 * within_10 / n;
  accuracy.within_5_percent = 100.0 * within_5 / n;
  accuracy.rmse_ms = std::sqrt(squared / n);
  accuracy.mape_percent = 100.0 * relative / n;
  return accuracy;
}

nlohmann::json ToJson(const Accuracy& accuracy) {
  return {{"points", accuracy.points},
          {"within_10_percent", accuracy.within_10_percent},
          {"within_5_percent", accuracy.within_5_percent},
          {"rmse_ms", accuracy.rmse_ms},
          {"mape_percent", accuracy.mape_percent}};
}

Accuracy AccuracyFromJson(const nlohmann::json& json) {
  Accuracy accuracy;
  accuracy.points = json.at("points").get<std::size_t>();
  accuracy.within_10_percent = json.at("within_10_percent").get<double>();
  accuracy.within_5_percent = json.at("within_5_percent").get<double>();
  accuracy.rmse_ms = json.at("rmse_ms").get<double>();
  accuracy.mape_percent = json.value("mape_percent", 0.0);
  return accuracy;
}

nlohmann::json ToJson(const PredictorSettings& settings) {
  return {{"validation_percent", settings.validation_percent},
          {"seed", settings.seed},
          {"rounds", settings.rounds},
          {"max_depth", settings.max_depth},
          {"eta", settings.eta},
          {"excluded_sources", settings.excluded_sources},
          {"objective", "reg:squarederror"},
          {"tree_method", "exact"},
          {"nthread", 1}};
}

// --- Training --------------------------------------------------------------------------------

Expected<Predictor> Predictor::Train(const std::vector<KernelDataSet>& measured, const std::vector<std::string>& names,
                                     const KernelRules& rules, const PredictorSettings& settings) {
  if (measured.empty()) return InvalidArgument("no kernel data set to train on");
  if (settings.validation_percent < 0 || settings.validation_percent >= 100) {
    return InvalidArgument("--validation-percent must be in [0, 100)");
  }
  std::vector<KernelDataSet> data = measured;
  auto reference = ScaleToReference(data);
  if (!reference.ok()) return reference.error();
  Predictor predictor;
  predictor.reference_ = *reference;
  predictor.rules_ = rules;
  predictor.settings_ = edgebench::ToJson(settings);
  predictor.edgebench_version_ = kVersion;
  std::vector<double> overheads;
  std::vector<std::string> devices;
  const std::set<std::string> excluded(settings.excluded_sources.begin(), settings.excluded_sources.end());
  std::map<std::string, std::vector<std::pair<KernelPoint, double>>> by_type;  // point, overhead
  std::vector<KernelPoint> training_points;
  for (std::size_t i = 0; i < data.size(); ++i) {
    const KernelDataSet& set = data[i];
    const std::string name = i < names.size() ? names[i] : "kernel data set " + std::to_string(i + 1);
    if (set.provenance.runtime != rules.runtime) {
      return InvalidArgument(name + ": measured on " + set.provenance.runtime + ", the rules are for " + rules.runtime);
    }
    if (predictor.runtime_version_.empty()) predictor.runtime_version_ = set.provenance.runtime_version;
    const std::string& device = set.provenance.device;
    if (std::find(devices.begin(), devices.end(), device) == devices.end()) devices.push_back(device);
    overheads.push_back(set.overhead_ms);
    std::size_t valid = 0;
    for (const auto& point : set.points) {
      if (!point.valid || !point.median_ms || excluded.count(point.source) > 0 || point.config.type == "unknown") {
        continue;
      }
      by_type[point.config.type].emplace_back(point, set.overhead_ms);
      ++valid;
    }
    predictor.provenance_.push_back({{"path", name},
                                     {"provenance", edgebench::ToJson(set).at("provenance")},
                                     {"overhead_ms", set.overhead_ms},
                                     {"points", set.points.size()},
                                     {"trained_points", valid}});
  }
  predictor.device_ = Join(devices, ", ");
  predictor.overhead_ms_ = ComputeLatencyStats(overheads).p50;
  for (std::size_t i = 0; i < KernelFeatureNames().size(); ++i) predictor.feature_columns_.push_back(i);

  const RegressorParams params{settings.rounds, settings.max_depth, settings.eta, settings.seed};
  for (auto& [type, points] : by_type) {
    if (points.size() < 2) continue;
    // Deterministic split: the points with the smallest hash of (seed, file, configuration).
    std::vector<std::pair<uint64_t, std::size_t>> order;
    for (std::size_t i = 0; i < points.size(); ++i) {
      const auto& point = points[i].first;
      order.emplace_back(StableHash(point.file + edgebench::ToJson(point.config).dump(), settings.seed), i);
    }
    std::sort(order.begin(), order.end());
    const std::size_t held_out = points.size() * settings.validation_percent / 100;
    std::vector<std::vector<double>> train_rows, validation_rows;
    std::vector<double> train_targets, validation_targets;
    std::vector<const KernelPoint*> validation_points;
    std::vector<std::pair<KernelConfig, double>> train_ms;
    for (std::size_t rank = 0; rank < order.size(); ++rank) {
      const auto& [point, overhead] = points[order[rank].second];
      const double target = KernelOwnMs(point, overhead, kMinTargetMs);
      if (rank < held_out) {
        validation_rows.push_back(KernelFeatures(point.config));
        validation_targets.push_back(target);
        validation_points.push_back(&point);
      } else {
        train_rows.push_back(KernelFeatures(point.config));
        train_ms.emplace_back(point.config, target);
        training_points.push_back(point);
      }
    }
    const LinearBase base = FitLinearBase(train_ms);
    for (const auto& [config, ms] : train_ms) train_targets.push_back(std::log(ms / base.Ms(config)));
    auto regressor = XgbRegressor::Train(train_rows, train_targets, params);
    if (!regressor.ok()) return Error{regressor.error().code, type + ": " + regressor.error().message};
    TypeModel model;
    model.regressor = std::make_shared<const XgbRegressor>(std::move(*regressor));
    model.base = base;
    model.train_points = train_rows.size();
    auto predicted_log = model.regressor->Predict(validation_rows);
    if (!predicted_log.ok()) return predicted_log.error();
    std::vector<double> predicted;
    for (std::size_t i = 0; i < predicted_log->size(); ++i) {
      predicted.push_back(std::exp((*predicted_log)[i]) * base.Ms(validation_points[i]->config));
      predictor.validation_points_.push_back(
          {validation_points[i]->config, validation_points[i]->source, validation_targets[i], predicted.back()});
    }
    model.validation = ComputeAccuracy(predicted, validation_targets);
    predictor.regressors_.emplace(type, std::move(model));
  }
  if (predictor.regressors_.empty()) return InvalidArgument("no kernel type has 2 or more valid points to train on");
  predictor.flops_baseline_ = FitFlopsBaseline(training_points);
  predictor.layout_ = FitLayoutCost(data, rules, settings.excluded_sources);
  return predictor;
}

Expected<Predictor> Predictor::Adapt(const Predictor& base, const std::vector<KernelDataSet>& measured,
                                     const std::vector<std::string>& names, const KernelRules& rules,
                                     const AdaptSettings& settings) {
  if (measured.empty()) return InvalidArgument("no kernel data set to adapt with");
  if (base.adaptation_) return InvalidArgument("the base predictor is itself adapted; adapt the predictor it came from");
  std::vector<KernelDataSet> data = measured;
  auto reference = ScaleToReference(data);
  if (!reference.ok()) return reference.error();
  Predictor adapted = base;
  adapted.reference_ = *reference;
  adapted.rules_ = rules;
  adapted.validation_points_.clear();
  adapted.provenance_.clear();
  adapted.settings_ = {{"adapted_from", base.runtime()}, {"max_points", settings.max_points}, {"seed", settings.seed}};
  std::vector<double> overheads;
  std::vector<std::string> devices;
  // Valid points of types the base predicts, per type, in the order of a seeded hash.
  std::map<std::string, std::vector<std::pair<uint64_t, std::pair<KernelPoint, double>>>> by_type;
  for (std::size_t i = 0; i < data.size(); ++i) {
    const KernelDataSet& set = data[i];
    const std::string name = i < names.size() ? names[i] : "kernel data set " + std::to_string(i + 1);
    if (set.provenance.runtime != rules.runtime) {
      return InvalidArgument(name + ": measured on " + set.provenance.runtime + ", the rules are for " + rules.runtime);
    }
    if (i == 0) adapted.runtime_version_ = set.provenance.runtime_version;
    if (std::find(devices.begin(), devices.end(), set.provenance.device) == devices.end()) {
      devices.push_back(set.provenance.device);
    }
    overheads.push_back(set.overhead_ms);
    for (const auto& point : set.points) {
      if (!point.valid || !point.median_ms || !base.HasType(point.config.type)) continue;
      by_type[point.config.type].push_back(
          {StableHash(point.file + edgebench::ToJson(point.config).dump(), settings.seed), {point, set.overhead_ms}});
    }
    adapted.provenance_.push_back({{"path", name},
                                   {"provenance", edgebench::ToJson(set).at("provenance")},
                                   {"overhead_ms", set.overhead_ms},
                                   {"points", set.points.size()}});
  }
  adapted.device_ = Join(devices, ", ");
  adapted.overhead_ms_ = ComputeLatencyStats(overheads).p50;
  for (auto& [type, points] : by_type) std::sort(points.begin(), points.end(), [](const auto& a, const auto& b) {
    return a.first < b.first;
  });
  // Round-robin over the types: the first of each type, then the second, ...
  std::map<std::string, std::size_t> chosen_of_type;
  std::size_t chosen = 0;
  for (std::size_t rank = 0; chosen < settings.max_points; ++rank) {
    bool any = false;
    for (const auto& [type, points] : by_type) {
      if (rank >= points.size() || chosen >= settings.max_points) continue;
      ++chosen_of_type[type];
      ++chosen;
      any = true;
    }
    if (!any) break;
  }
  if (chosen == 0) return InvalidArgument("no valid point of a kernel type the base predictor knows");
  // Per type: the chosen points' log(own time / base prediction), and the rest for validation.
  Adaptation adaptation{base.runtime(), base.runtime_version(), base.device(), chosen, {}, 0};
  std::vector<double> all_logs;
  std::vector<KernelPoint> fitted_points;
  std::map<std::string, std::vector<std::pair<KernelPoint, double>>> held_out;
  for (const auto& [type, points] : by_type) {
    std::vector<KernelConfig> configs;
    for (const auto& item : points) configs.push_back(item.second.first.config);
    auto base_ms = base.PredictKernelsMs(configs);
    if (!base_ms.ok()) return base_ms.error();
    std::vector<double> logs;
    for (std::size_t i = 0; i < points.size(); ++i) {
      const auto& [point, overhead] = points[i].second;
      if (i < chosen_of_type[type]) {
        logs.push_back(std::log(KernelOwnMs(point, overhead, kMinTargetMs) / (*base_ms)[i]));
        fitted_points.push_back(point);
      } else {
        held_out[type].push_back(points[i].second);
      }
    }
    if (logs.empty()) continue;
    all_logs.insert(all_logs.end(), logs.begin(), logs.end());
    adaptation.log_factors[type] = ComputeLatencyStats(logs).p50;
  }
  adaptation.default_log_factor = ComputeLatencyStats(all_logs).p50;
  adapted.adaptation_ = adaptation;
  for (auto& [type, model] : adapted.regressors_) {
    model.train_points = chosen_of_type.count(type) > 0 ? chosen_of_type[type] : 0;
    model.validation = Accuracy{};
    const auto& rest = held_out[type];
    if (rest.empty()) continue;
    std::vector<KernelConfig> configs;
    std::vector<double> measured;
    for (const auto& [point, overhead] : rest) {
      configs.push_back(point.config);
      measured.push_back(KernelOwnMs(point, overhead, kMinTargetMs));
    }
    auto predicted = adapted.PredictKernelsMs(configs);
    if (!predicted.ok()) return predicted.error();
    model.validation = ComputeAccuracy(*predicted, measured);
    for (std::size_t i = 0; i < rest.size(); ++i) {
      adapted.validation_points_.push_back({configs[i], rest[i].first.source, measured[i], (*predicted)[i]});
    }
  }
  adapted.flops_baseline_ = FitFlopsBaseline(fitted_points);
  adapted.layout_ = FitLayoutCost(data, rules, {});  // the new runtime's conversions, from all its points
  return adapted;
}

std::vector<std::string> Predictor::types() const {
  std::vector<std::string> names;
  for (const auto& [type, model] : regressors_) names.push_back(type);
  return names;
}

Expected<std::vector<double>> Predictor::PredictKernelsMs(const std::vector<KernelConfig>& configs) const {
  std::map<std::string, std::vector<std::size_t>> by_type;
  std::vector<double> predicted(configs.size());
  for (std::size_t i = 0; i < configs.size(); ++i) {
    if (!HasType(configs[i].type)) return InvalidArgument("no regressor for kernel type '" + configs[i].type + "'");
    if (configs[i].type == kReorderKernelType) {
      predicted[i] = layout_->Ms(configs[i]);
    } else {
      by_type[configs[i].type].push_back(i);
    }
  }
  for (const auto& [type, indices] : by_type) {
    std::vector<std::vector<double>> rows;
    for (std::size_t i : indices) {
      const auto features = KernelFeatures(configs[i]);
      std::vector<double> row;
      for (std::size_t column : feature_columns_) row.push_back(features[column]);
      rows.push_back(std::move(row));
    }
    const TypeModel& model = regressors_.at(type);
    auto values = model.regressor->Predict(rows);
    if (!values.ok()) return values.error();
    const double log_factor =
        adaptation_ ? LogFactor(adaptation_->log_factors, adaptation_->default_log_factor, type) : 0;
    for (std::size_t k = 0; k < indices.size(); ++k) {
      const double base_ms = model.base ? model.base->Ms(configs[indices[k]]) : 1;
      predicted[indices[k]] = std::exp((*values)[k] + log_factor) * base_ms;
    }
  }
  if (calibration_) {
    for (std::size_t i = 0; i < configs.size(); ++i) {
      predicted[i] *= std::exp(
          LogFactor(calibration_->log_factors, calibration_->default_log_factor, WorkingSetClass(configs[i])));
    }
  }
  return predicted;
}

std::string WorkingSetClass(const KernelConfig& config) {
  double elements = 0;
  if (config.type == kReorderKernelType) {
    elements = 2.0 * static_cast<double>(config.cin * config.hin * config.win);
  } else {
    const auto features = KernelFeatures(config);
    for (const char* name : {"input_elements", "output_elements", "params"}) elements += Feature(features, name);
  }
  const double bytes = 4 * elements;
  for (const auto& [limit, name] : std::initializer_list<std::pair<double, const char*>>{
           {256.0 * 1024, "< 256 KiB"}, {1024.0 * 1024, "< 1 MiB"}, {4096.0 * 1024, "< 4 MiB"},
           {16384.0 * 1024, "< 16 MiB"}}) {
    if (bytes < limit) return name;
  }
  return ">= 16 MiB";
}

// --- In-model calibration --------------------------------------------------------------------

Expected<Predictor> Predictor::Calibrate(const std::vector<BenchResult>& results,
                                         std::vector<std::string>& left_out) const {
  Predictor calibrated = *this;  // predicts each kernel alone until its calibration is set below
  calibrated.calibration_.reset();
  std::map<std::string, std::pair<double, double>> sums;  // working-set class: in-model ms, predicted ms
  Calibration calibration;
  for (const auto& result : results) {
    const auto leave_out = [&](const std::string& why) { left_out.push_back(ModelName(result.model.path) + ": " + why); };
    auto why_not = WhyNotComparable(*this, result);
    if (!why_not.ok()) return why_not.error();
    if (!why_not->empty()) {
      leave_out(*why_not);
      continue;
    }
    if (!result.profile || result.profile->profiled_runs <= 0) {
      leave_out("no operator profile (measure with bench --profile)");
      continue;
    }
    const ShapeOverrides shapes = InputShapes(result);
    auto prediction = PredictModel(calibrated, result.model.path, shapes);
    auto summary = InspectModel(result.model.path, shapes);
    if (!prediction.ok() || !summary.ok()) {
      leave_out("not predicted (" + (prediction.ok() ? summary.error() : prediction.error()).message + ")");
      continue;
    }
    std::vector<SourceNode> graph;
    for (const NodeCost& node : summary->nodes) graph.push_back({node.name, node.op_type});
    std::map<std::string, std::size_t> kernel_of_node;  // into prediction->kernels
    for (std::size_t i = 0; i < prediction->kernels.size(); ++i) {
      for (const auto& node : prediction->kernels[i].kernel.nodes) kernel_of_node.emplace(node, i);
    }
    std::vector<double> in_model_ms(prediction->kernels.size(), 0);
    double profiled_ms = 0, conversions_ms = 0;
    const double runs = static_cast<double>(result.profile->profiled_runs);
    for (const KernelCoverage& kernel : MapKernelCoverage(*result.profile, graph)) {
      const double ms = kernel.total_ms / runs;
      profiled_ms += ms;
      if (kernel.nodes.empty()) {
        if (kernel.kernel_type == "ReorderInput" || kernel.kernel_type == "ReorderOutput") conversions_ms += ms;
        continue;
      }
      const auto owner = kernel_of_node.find(kernel.nodes.front());
      if (owner != kernel_of_node.end()) in_model_ms[owner->second] += ms;
    }
    const double kernels_ms = result.latency_ms.p50 - overhead_ms_;
    if (profiled_ms <= 0 || kernels_ms <= 0) {
      leave_out("its profile holds no kernel time");
      continue;
    }
    const double scale = kernels_ms / profiled_ms;
    // The conversions name no node: they count together, by the class of the largest.
    double predicted_conversions_ms = 0;
    std::string conversions_class;
    double largest_conversion = 0;
    for (std::size_t i = 0; i < prediction->kernels.size(); ++i) {
      const auto& [kernel, ms] = prediction->kernels[i];
      if (!ms) continue;
      if (kernel.config.type == kReorderKernelType) {
        predicted_conversions_ms += *ms;
        const double elements = static_cast<double>(kernel.config.cin * kernel.config.hin * kernel.config.win);
        if (elements >= largest_conversion) largest_conversion = elements, conversions_class = WorkingSetClass(kernel.config);
      } else if (in_model_ms[i] > 0) {
        auto& sum = sums[WorkingSetClass(kernel.config)];
        sum.first += in_model_ms[i] * scale;
        sum.second += *ms;
        ++calibration.kernels;
      }
    }
    if (predicted_conversions_ms > 0 && conversions_ms > 0) {
      sums[conversions_class].first += conversions_ms * scale;
      sums[conversions_class].second += predicted_conversions_ms;
    }
    ++calibration.models;
  }
  if (calibration.models == 0) return InvalidArgument("no profiled, valid result to calibrate on");
  double all_in_model = 0;
  for (const auto& [type, sum] : sums) all_in_model += sum.first;
  // A class has a factor of its own only when its kernels are a sizeable share of the in-model
  // time (few kernels' profiled time is mostly attribution and profiler noise); the others get
  // the factor of those together.
  double sized_in_model = 0, sized_predicted = 0;
  for (const auto& [type, sum] : sums) {
    if (sum.first < kMinCalibrationShare * all_in_model) continue;
    calibration.log_factors[type] = std::log(sum.first / sum.second);
    sized_in_model += sum.first, sized_predicted += sum.second;
  }
  calibration.default_log_factor = sized_predicted > 0 ? std::log(sized_in_model / sized_predicted) : 0;
  calibrated.calibration_ = std::move(calibration);
  return calibrated;
}

// --- The predictor file ----------------------------------------------------------------------

Expected<nlohmann::json> Predictor::ToJson() const {
  nlohmann::json regressors = nlohmann::json::object();
  for (const auto& [type, model] : regressors_) {
    auto saved = model.regressor->SaveJson();
    if (!saved.ok()) return saved.error();
    regressors[type] = {{"train_points", model.train_points},
                        {"validation", edgebench::ToJson(model.validation)},
                        {"base", model.base ? BaseJson(*model.base) : nlohmann::json(nullptr)},
                        {"model", nlohmann::json::parse(*saved)}};
  }
  std::vector<std::string> features;
  for (std::size_t column : feature_columns_) features.push_back(KernelFeatureNames()[column]);
  auto xgboost = XgboostVersion();
  return nlohmann::json{
      {"schema", kPredictorSchema},
      {"format_version", std::to_string(kPredictorFormatMajor) + "." + std::to_string(kPredictorFormatMinor)},
      {"edgebench_version", edgebench_version_},
      {"xgboost_version", xgboost.ok() ? *xgboost : ""},
      {"runtime", rules_.runtime},
      {"runtime_version", runtime_version_},
      {"device", device_},
      {"settings", settings_},
      {"rules", edgebench::ToJson(rules_)},
      {"datasets", provenance_},
      {"feature_names", features},
      {"target", "log(kernel_ms / base_ms) per kernel: kernel_ms = max((median_ms - overhead_ms) x (1 - "
                 "layout_share), 0.0001), base_ms = the type's base: fixed_ms + ms_per_flop x flops + ms_per_element x "
                 "(input_elements + output_elements)"},
      {"overhead_ms", overhead_ms_},
      {"flops_baseline", BaselineJson(flops_baseline_)},
      {"regressors", regressors},
      {"adaptation", adaptation_ ? AdaptationJson(*adaptation_) : nlohmann::json(nullptr)},
      {"layout", layout_ ? LayoutJson(*layout_) : nlohmann::json(nullptr)},
      {"calibration", calibration_ ? CalibrationJson(*calibration_) : nlohmann::json(nullptr)},
      {"reference", reference_ ? nlohmann::json{{"sha256", reference_->sha256}, {"median_ms", reference_->median_ms}}
                               : nlohmann::json(nullptr)}};
}

Expected<Predictor> Predictor::FromJson(const nlohmann::json& document) {
  if (!document.is_object()) return BadModel("predictor file is not a JSON object");
  auto schema = Required<std::string>(document, "schema");
  if (!schema.ok()) return schema.error();
  if (*schema != kPredictorSchema) {
    return BadModel("not a predictor file: schema '" + *schema + "', expected " + kPredictorSchema);
  }
  auto version = Required<std::string>(document, "format_version");
  if (!version.ok()) return version.error();
  int major = 0;
  try {
    major = std::stoi(*version);
  } catch (const std::exception&) {
    return BadModel("predictor file: bad format_version '" + *version + "'");
  }
  if (major < 1 || major > kPredictorFormatMajor) {
    return BadModel("predictor file format " + *version + " needs a later edgebench (this one reads " +
                    std::to_string(kPredictorFormatMajor) + ".x, edgebench " + kVersion + ")");
  }
  Predictor predictor;
  auto rules = Required<nlohmann::json>(document, "rules");
  auto overhead = Required<double>(document, "overhead_ms");
  auto features = Required<std::vector<std::string>>(document, "feature_names");
  auto regressors = Required<nlohmann::json>(document, "regressors");
  auto runtime = Required<std::string>(document, "runtime");
  for (const Status& status : {rules.status(), overhead.status(), features.status(), regressors.status(),
                               runtime.status()}) {
    if (!status.ok()) return status.error();
  }
  auto parsed_rules = KernelRulesFromJson(*rules);
  if (!parsed_rules.ok()) return BadModel("predictor file: rules: " + parsed_rules.error().message);
  predictor.rules_ = std::move(*parsed_rules);
  if (predictor.rules_.runtime != *runtime) {
    return BadModel("predictor file: runtime '" + *runtime + "' but rules for '" + predictor.rules_.runtime + "'");
  }
  predictor.overhead_ms_ = *overhead;
  predictor.runtime_version_ = document.value("runtime_version", "");
  predictor.device_ = document.value("device", "");
  predictor.edgebench_version_ = document.value("edgebench_version", "");
  predictor.settings_ = document.value("settings", nlohmann::json::object());
  if (document.contains("datasets") && document["datasets"].is_array()) {
    for (const auto& item : document["datasets"]) predictor.provenance_.push_back(item);
  }
  // Features by name: a file written by an edgebench with other features still reads, as long
  // as this one computes every feature it names.
  for (const auto& name : *features) {
    const auto& known = KernelFeatureNames();
    const auto found = std::find(known.begin(), known.end(), name);
    if (found == known.end()) return BadModel("predictor file: feature '" + name + "' unknown to this edgebench");
    predictor.feature_columns_.push_back(static_cast<std::size_t>(found - known.begin()));
  }
  if (const auto baseline = document.find("flops_baseline"); baseline != document.end() && baseline->is_object()) {
    predictor.flops_baseline_ = {baseline->value("ms_per_gflop", 0.0), baseline->value("points", std::size_t{0}),
                                 baseline->value("fitted_on", "")};
  }
  if (const auto adaptation = document.find("adaptation"); adaptation != document.end() && !adaptation->is_null()) {
    try {
      predictor.adaptation_ = Adaptation{adaptation->at("base_runtime").get<std::string>(),
                                         adaptation->value("base_runtime_version", ""),
                                         adaptation->value("base_device", ""),
                                         adaptation->at("points").get<std::size_t>(),
                                         adaptation->at("log_factors").get<std::map<std::string, double>>(),
                                         adaptation->at("default_log_factor").get<double>()};
    } catch (const nlohmann::json::exception&) {
      return BadModel("predictor file: 'adaptation' lacks a field or has one of the wrong type");
    }
  }
  if (const auto layout = document.find("layout"); layout != document.end() && !layout->is_null()) {
    try {  // files of format 2.0 and earlier have none
      predictor.layout_ = LayoutCost{layout->at("block_channels").get<int64_t>(), layout->at("fixed_ms").get<double>(),
                                     layout->at("ms_per_element").get<double>(),
                                     layout->at("points").get<std::size_t>(), AccuracyFromJson(layout->at("fit")),
                                     layout->value("disagreeing_points", std::size_t{0})};
    } catch (const nlohmann::json::exception&) {
      return BadModel("predictor file: 'layout' lacks a field or has one of the wrong type");
    }
  }
  if (const auto calibration = document.find("calibration");
      calibration != document.end() && !calibration->is_null()) {
    try {
      predictor.calibration_ = Calibration{calibration->at("models").get<std::size_t>(),
                                           calibration->at("kernels").get<std::size_t>(),
                                           calibration->at("log_factors").get<std::map<std::string, double>>(),
                                           calibration->at("default_log_factor").get<double>()};
    } catch (const nlohmann::json::exception&) {
      return BadModel("predictor file: 'calibration' lacks a field or has one of the wrong type");
    }
  }
  if (const auto reference = document.find("reference"); reference != document.end() && !reference->is_null()) {
    try {  // files of format 2.1 and earlier have none
      predictor.reference_ = ReferenceScale{reference->at("sha256").get<std::string>(),
                                            reference->at("median_ms").get<double>()};
    } catch (const nlohmann::json::exception&) {
      return BadModel("predictor file: 'reference' lacks a field or has one of the wrong type");
    }
    if (!(predictor.reference_->median_ms > 0)) return BadModel("predictor file: reference.median_ms must be positive");
  }
  if (!regressors->is_object() || regressors->empty()) return BadModel("predictor file has no regressors");
  for (const auto& [type, item] : regressors->items()) {
    if (!item.is_object() || !item.contains("model")) return BadModel("predictor file: regressor '" + type + "' has no model");
    auto regressor = XgbRegressor::LoadJson(item.at("model").dump());
    if (!regressor.ok()) return Error{regressor.error().code, "predictor file: regressor '" + type + "': " +
                                                                  regressor.error().message};
    TypeModel model;
    model.regressor = std::make_shared<const XgbRegressor>(std::move(*regressor));
    try {
      if (major >= 2) {  // major 1 has no base: its trees predict log(kernel_ms) itself
        const auto& base = item.at("base");
        model.base = LinearBase{base.at("fixed_ms").get<double>(), base.at("ms_per_flop").get<double>(),
                                base.at("ms_per_element").get<double>()};
      }
      model.train_points = item.value("train_points", std::size_t{0});
      if (item.contains("validation")) model.validation = AccuracyFromJson(item.at("validation"));
    } catch (const nlohmann::json::exception&) {
      return BadModel("predictor file: regressor '" + type + "': a missing or bad base or validation figures");
    }
    predictor.regressors_.emplace(type, std::move(model));
  }
  return predictor;
}

Expected<Predictor> Predictor::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound(path + ": cannot open");
  const auto document = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return BadModel(path + ": not valid JSON (truncated or corrupt predictor file)");
  auto predictor = FromJson(document);
  if (!predictor.ok()) return Error{predictor.error().code, path + ": " + predictor.error().message};
  return predictor;
}

// --- Adaptive sampling -----------------------------------------------------------------------

namespace {

// `value` scaled by `factor`, rounded to a multiple of `step`, at least `step`.
int64_t Scaled(int64_t value, double factor, int64_t step) {
  const auto scaled = static_cast<int64_t>(std::llround(value * factor / step)) * step;
  return std::max(step, scaled);
}

// One neighbour of `config`: `variant` picks which fields move and in which direction.
KernelConfig Neighbour(const KernelConfig& config, uint64_t variant) {
  KernelConfig next = config;
  const double factor = (variant & 1) != 0 ? 1.25 : 0.8;
  switch ((variant >> 1) % 3) {
    case 0:  // spatial size
      if (next.hin > 1) next.hin = Scaled(next.hin, factor, 1);
      if (next.win > 1) next.win = Scaled(next.win, factor, 1);
      break;
    case 1: {  // channels, kept divisible by the groups
      const int64_t step = (next.type == "conv" || next.type == "channel_shuffle") && next.groups > 1 ? next.groups : 8;
      if (next.cin > 0) next.cin = Scaled(next.cin, factor, std::min(step, next.cin));
      if (next.type == "conv" || next.type == "fc") {
        if (next.cout > 0) next.cout = Scaled(next.cout, 1 / factor, std::min(step, next.cout));
      } else if (next.cout > 0) {
        next.cout = next.cin;
      }
      break;
    }
    default:  // kernel size or stride
      if (next.kernel_size > 0) {
        next.kernel_size = (variant & 1) != 0 ? next.kernel_size + 2 : std::max<int64_t>(1, next.kernel_size - 2);
      } else if (next.hin > 1) {
        next.hin = Scaled(next.hin, 1 / factor, 1);
      }
      break;
  }
  if (next.type == "dwconv") next.cout = next.groups = next.cin;
  if (next.type == "fc") next.hin = next.win = 1;
  return next;
}

}  // namespace

std::vector<SampledKernel> ProposeAroundPoorPoints(const std::vector<ValidationPoint>& points, int per_point,
                                                   uint64_t seed) {
  std::vector<SampledKernel> proposed;
  for (const auto& point : points) {
    if (point.measured_ms <= 0 || std::abs(point.predicted_ms / point.measured_ms - 1) <= 0.10) continue;
    const uint64_t base = StableHash(edgebench::ToJson(point.config).dump(), seed);
    int added = 0;
    for (uint64_t attempt = 0; attempt < 12 && added < per_point; ++attempt) {
      const KernelConfig next = Neighbour(point.config, base + attempt);
      const bool seen = std::any_of(proposed.begin(), proposed.end(),
                                    [&](const SampledKernel& kernel) { return kernel.config == next; });
      if (next == point.config || seen || !CheckKernelConfig(next).ok()) continue;
      proposed.push_back({next, point.source});
      ++added;
    }
  }
  return proposed;
}

}  // namespace edgebench
