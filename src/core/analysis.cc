#include "edgebench/analysis.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>

namespace edgebench {

std::optional<LineFit> FitLine(std::span<const double> x, std::span<const double> y) {
  const std::size_t n = std::min(x.size(), y.size());
  if (n < 2) return std::nullopt;
  const double mean_x = std::accumulate(x.begin(), x.begin() + n, 0.0) / n;
  const double mean_y = std::accumulate(y.begin(), y.begin() + n, 0.0) / n;
  double sxy = 0, sxx = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sxy += (x[i] - mean_x) * (y[i] - mean_y);
    sxx += (x[i] - mean_x) * (x[i] - mean_x);
  }
  if (sxx == 0) return std::nullopt;
  const double slope = sxy / sxx;
  return LineFit{slope, mean_y - slope * mean_x};
}

std::optional<double> Pearson(std::span<const double> x, std::span<const double> y) {
  const std::size_t n = std::min(x.size(), y.size());
  if (n < 3) return std::nullopt;
  const double mean_x = std::accumulate(x.begin(), x.begin() + n, 0.0) / n;
  const double mean_y = std::accumulate(y.begin(), y.begin() + n, 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sxy += (x[i] - mean_x) * (y[i] - mean_y);
    sxx += (x[i] - mean_x) * (x[i] - mean_x);
    syy += (y[i] - mean_y) * (y[i] - mean_y);
  }
  if (sxx == 0 || syy == 0) return std::nullopt;
  return sxy / std::sqrt(sxx * syy);
}

std::vector<double> AverageRanks(std::span<const double> values) {
  std::vector<std::size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(values.size());
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j + 1 < order.size() && values[order[j + 1]] == values[order[i]]) ++j;
    const double rank = (static_cast<double>(i) + static_cast<double>(j)) / 2 + 1;
    for (std::size_t k = i; k <= j; ++k) ranks[order[k]] = rank;
    i = j + 1;
  }
  return ranks;
}

std::optional<double> Spearman(std::span<const double> x, std::span<const double> y) {
  const std::size_t n = std::min(x.size(), y.size());
  const auto rx = AverageRanks(x.first(n)), ry = AverageRanks(y.first(n));
  return Pearson(rx, ry);
}

bool IsFlopKernelType(const std::string& type) {
  static const char* const kFlopTypes[] = {
      // onnxruntime / ONNX
      "Conv", "FusedConv", "ConvTranspose", "Gemm", "FusedGemm", "MatMul", "FusedMatMul", "QLinearConv",
      "QLinearMatMul", "ConvInteger", "MatMulInteger", "NhwcFusedConv",
      // OpenCV DNN
      "Convolution", "Deconvolution", "InnerProduct",
      // LibTorch
      "aten::_convolution", "aten::conv2d", "aten::convolution", "aten::mkldnn_convolution",
      "aten::linear", "aten::addmm", "aten::mm", "aten::matmul", "aten::bmm",
      // TFLite
      "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV"};
  return std::find(std::begin(kFlopTypes), std::end(kFlopTypes), type) != std::end(kFlopTypes);
}

std::string ModelName(const std::string& path) {
  return std::filesystem::path(path).stem().string();
}

std::vector<GroupAnalysis> AnalyzeResults(const std::vector<BenchResult>& results,
                                          std::vector<std::string>* skipped) {
  std::map<std::string, ModelCost> costs;  // by ModelName
  for (const auto& r : results) {
    if (r.model_cost && r.model_cost->flops > 0) costs[ModelName(r.model.path)] = *r.model_cost;
  }
  std::map<std::pair<std::string, std::string>, GroupAnalysis> groups;
  for (const auto& r : results) {
    const auto cost = costs.find(ModelName(r.model.path));
    if (r.failure || cost == costs.end() || r.samples_ms.empty()) {
      if (skipped) {
        skipped->push_back(r.model.path + " on " + r.runtime_name +
                           (r.failure ? ": the run failed" : ": no FLOPs (format not countable)"));
      }
      continue;
    }
    const std::string device = r.environment.hostname + " (" + r.environment.cpu_model + ")";
    const std::string runtime = r.runtime_name + " " + r.runtime_version;
    GroupAnalysis& group = groups[{device, runtime}];
    group.device = device;
    group.runtime = runtime;
    ModelPoint point;
    point.model = ModelName(r.model.path);
    point.latency_ms = r.latency_ms.p50;
    point.flops = static_cast<double>(cost->second.flops);
    point.params = static_cast<double>(cost->second.params);
    point.ms_per_gflop = point.latency_ms / (point.flops / 1e9);
    if (!r.profile_by_type.empty()) {
      double zero = 0;
      for (const auto& type : r.profile_by_type) {
        if (!IsFlopKernelType(type.kernel_type)) zero += type.share;
      }
      point.zero_flop_share = zero;
    }
    group.points.push_back(std::move(point));
  }
  std::vector<GroupAnalysis> analyses;
  for (auto& [key, group] : groups) {
    std::vector<double> latency, flops, params;
    for (const auto& p : group.points) {
      latency.push_back(p.latency_ms);
      flops.push_back(p.flops);
      params.push_back(p.params);
    }
    group.pearson_flops = Pearson(flops, latency);
    group.spearman_flops = Spearman(flops, latency);
    group.fit_flops = FitLine(flops, latency);
    group.pearson_params = Pearson(params, latency);
    group.spearman_params = Spearman(params, latency);
    std::sort(group.points.begin(), group.points.end(),
              [](const ModelPoint& a, const ModelPoint& b) { return a.ms_per_gflop > b.ms_per_gflop; });
    analyses.push_back(std::move(group));
  }
  return analyses;
}

}  // namespace edgebench
