// Predicting one model: split it into the runtime's kernels, predict each, and show the result
// in the shape of a measured operator profile.
#include <algorithm>
#include <cstdio>
#include <set>

#include "edgebench/predictor.h"
#include "edgebench/report.h"
#include "edgebench/text.h"

namespace edgebench {
namespace {

std::string Percent(double share) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f%%", 100 * share);
  return buffer;
}

// "56x56 64->64 k3 s1 relu": the configuration's non-zero fields, compactly.
std::string ConfigSummary(const KernelConfig& config) {
  std::vector<std::string> parts;
  if (config.hin > 0 || config.win > 0) parts.push_back(std::to_string(config.hin) + "x" + std::to_string(config.win));
  if (config.cin > 0 || config.cout > 0) parts.push_back(std::to_string(config.cin) + "->" + std::to_string(config.cout));
  if (config.kernel_size > 0) parts.push_back("k" + std::to_string(config.kernel_size));
  if (config.stride > 0) parts.push_back("s" + std::to_string(config.stride));
  if (config.groups > 0) parts.push_back("g" + std::to_string(config.groups));
  if (config.inputs > 0) parts.push_back("in" + std::to_string(config.inputs));
  if (config.activation != "none") parts.push_back(config.activation);
  return Join(parts, " ");
}

double KernelSum(const ModelPrediction& prediction) {
  double sum = 0;
  for (const auto& kernel : prediction.kernels) sum += kernel.ms.value_or(0);
  return sum;
}

}  // namespace

Expected<ModelPrediction> PredictModel(const Predictor& predictor, const std::string& path,
                                       const ShapeOverrides& shapes) {
  auto kernels = SplitIntoKernels(path, predictor.rules(), shapes);
  if (!kernels.ok()) return kernels.error();
  ModelPrediction prediction;
  prediction.model = path;
  prediction.runtime = predictor.runtime();
  prediction.overhead_ms = predictor.overhead_ms();
  std::vector<KernelConfig> known;
  std::set<std::string> unknown_types;
  for (auto& kernel : *kernels) {
    if (predictor.HasType(kernel.config.type)) {
      known.push_back(kernel.config);
    } else {
      unknown_types.insert(kernel.config.type);
    }
    prediction.kernels.push_back({std::move(kernel), std::nullopt});
  }
  auto predicted = predictor.PredictKernelsMs(known);
  if (!predicted.ok()) return predicted.error();
  std::size_t next = 0;
  for (auto& kernel : prediction.kernels) {
    if (predictor.HasType(kernel.kernel.config.type)) kernel.ms = (*predicted)[next++];
  }
  for (const auto& type : unknown_types) {
    const auto count = std::count_if(prediction.kernels.begin(), prediction.kernels.end(),
                                     [&](const KernelPrediction& k) { return k.kernel.config.type == type; });
    prediction.warnings.push_back(
        std::to_string(count) + " kernel(s) of type '" + type + "' " +
        (type == "unknown" ? "that no kernel type fits" : "for which the predictor has no regressor") +
        ": not predicted, the total is a lower bound");
  }
  prediction.lower_bound = !unknown_types.empty();
  prediction.total_ms = prediction.overhead_ms + KernelSum(prediction);
  return prediction;
}

std::string FormatPredictionText(const ModelPrediction& prediction) {
  const double sum = KernelSum(prediction);
  std::vector<std::vector<std::string>> rows;
  struct TypeTotal {
    std::size_t kernels = 0;
    double ms = 0;
    bool unknown = false;
  };
  std::map<std::string, TypeTotal> by_type;
  for (std::size_t i = 0; i < prediction.kernels.size(); ++i) {
    const auto& [kernel, ms] = prediction.kernels[i];
    std::string type = kernel.config.type;
    rows.push_back({std::to_string(i + 1), type, Join(kernel.op_types, "+"), ConfigSummary(kernel.config),
                    ms ? FormatDuration(*ms) : "unknown", ms && sum > 0 ? Percent(*ms / sum) : "-"});
    auto& total = by_type[type];
    ++total.kernels;
    total.ms += ms.value_or(0);
    total.unknown = total.unknown || !ms;
  }
  std::vector<std::pair<std::string, TypeTotal>> types(by_type.begin(), by_type.end());
  std::stable_sort(types.begin(), types.end(), [](const auto& a, const auto& b) { return a.second.ms > b.second.ms; });
  std::vector<std::vector<std::string>> type_rows;
  for (const auto& [type, total] : types) {
    type_rows.push_back({type, std::to_string(total.kernels), total.unknown ? "unknown" : FormatDuration(total.ms),
                         total.unknown || sum <= 0 ? "-" : Percent(total.ms / sum)});
  }
  std::string text = "predicted kernels of " + prediction.model + " on " + prediction.runtime + "\n" +
                     FormatTable({"#", "kernel type", "nodes", "configuration", "predicted", "share"}, rows,
                                 {true, false, false, false, true, true}) +
                     "\npredicted operator shares\n" +
                     FormatTable({"kernel type", "kernels", "predicted", "share"}, type_rows,
                                 {false, true, true, true}) +
                     "\n";
  text += "overhead (runtime floor): " + FormatDuration(prediction.overhead_ms) + "\n";
  text += "predicted latency: " + std::string(prediction.lower_bound ? ">= " : "") +
          FormatDuration(prediction.total_ms) + " (overhead + " + std::to_string(prediction.kernels.size()) +
          " kernels)\n";
  for (const auto& warning : prediction.warnings) text += "warning: " + warning + "\n";
  return text;
}

nlohmann::json ToJson(const ModelPrediction& prediction) {
  nlohmann::json kernels = nlohmann::json::array();
  for (const auto& [kernel, ms] : prediction.kernels) {
    kernels.push_back({{"config", ToJson(kernel.config)},
                       {"nodes", kernel.nodes},
                       {"op_types", kernel.op_types},
                       {"note", kernel.note},
                       {"predicted_ms", ms ? nlohmann::json(*ms) : nlohmann::json(nullptr)}});
  }
  return {{"schema", "edgebench.prediction/1"},
          {"model", prediction.model},
          {"runtime", prediction.runtime},
          {"overhead_ms", prediction.overhead_ms},
          {"predicted_ms", prediction.total_ms},
          {"lower_bound", prediction.lower_bound},
          {"warnings", prediction.warnings},
          {"kernels", kernels}};
}

}  // namespace edgebench
