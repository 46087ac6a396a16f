#include "edgebench/analysis.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>
#include <set>
#include <tuple>

#include "edgebench/stats.h"
#include "edgebench/text.h"

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

std::string DeviceName(const BenchResult& result) {
  return result.device.empty() ? result.environment.hostname : result.device;
}

std::vector<IdentityPart> TimingIdentity(const BenchResult& r) {
  const BenchSettings& s = r.settings;
  const std::string precision = r.conversion ? r.conversion->precision : "";
  std::vector<IdentityPart> parts = {
      {"runtime", r.runtime_name, r.runtime_name},
      {"runtime version", r.runtime_version, r.runtime_version},
      {"device", DeviceName(r), DeviceName(r)},
      {"threads", std::to_string(s.threads), s.threads ? "t=" + std::to_string(s.threads) : "t=default"},
      {"precision", precision, precision}};
  for (const auto& [name, value] : s.options) parts.push_back({"option " + name, value, name + "=" + value});
  for (const auto& [name, dims] : s.shapes) {
    parts.push_back({"shape " + name, FormatShape(dims), name + "=" + FormatShape(dims)});
  }
  for (const auto& [name, file] : s.input_files) {
    parts.push_back({"input file " + name, file, name + "<" + std::filesystem::path(file).filename().string()});
  }
  parts.push_back({"seed", std::to_string(s.seed), "seed=" + std::to_string(s.seed)});
  return parts;
}

std::string IdentityKey(const std::vector<IdentityPart>& identity) {
  std::string key;
  for (const auto& part : identity) key += part.key + "=" + part.value + "\n";
  return key;
}

namespace {

const std::string* ValueOf(const std::vector<IdentityPart>& identity, const std::string& key) {
  for (const auto& part : identity) {
    if (part.key == key) return &part.value;
  }
  return nullptr;
}

void AddDistinct(std::vector<std::string>& list, const std::string& item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(item);
}

}  // namespace

std::size_t DuplicateGroup::Succeeded() const {
  return static_cast<std::size_t>(
      std::count_if(results.begin(), results.end(), [](const BenchResult* r) { return !r->failure; }));
}

double DuplicateGroup::MedianMs() const {
  std::vector<double> medians;
  for (const BenchResult* r : results) {
    if (!r->failure) medians.push_back(r->latency_ms.p50);
  }
  if (medians.empty()) return 0;
  std::sort(medians.begin(), medians.end());
  return Percentile(medians, 50);
}

bool DuplicateGroup::Valid() const {
  return std::all_of(results.begin(), results.end(),
                     [](const BenchResult* r) { return !r->failure && r->validity.valid; });
}

std::vector<std::string> DuplicateGroup::Reasons() const {
  std::vector<std::string> reasons;
  for (const BenchResult* r : results) {
    if (r->failure) AddDistinct(reasons, "failed at " + r->failure->stage + ": " + r->failure->error.message);
    for (const auto& reason : r->validity.reasons) AddDistinct(reasons, reason);
  }
  return reasons;
}

std::vector<std::string> DuplicateGroup::Warnings() const {
  std::vector<std::string> warnings;
  for (const BenchResult* r : results) {
    for (const auto& warning : r->validity.warnings) AddDistinct(warnings, warning);
  }
  return warnings;
}

std::vector<DuplicateGroup> GroupDuplicates(const std::vector<BenchResult>& results) {
  // The files of each model name and identity: two of them make the name ambiguous.
  std::map<std::string, std::set<std::string>> files;
  auto file_of = [](const BenchResult& r) { return r.model.sha256.empty() ? r.model.path : r.model.sha256; };
  for (const auto& r : results) files[ModelName(r.model.path) + "\n" + IdentityKey(TimingIdentity(r))].insert(file_of(r));
  std::vector<DuplicateGroup> groups;
  std::map<std::string, std::size_t> index;  // model file + identity -> group
  for (const auto& r : results) {
    const std::vector<IdentityPart> identity = TimingIdentity(r);
    const std::string key = IdentityKey(identity);
    const std::string name = ModelName(r.model.path);
    auto [at, added] = index.emplace(file_of(r) + "\n" + key, groups.size());
    if (added) {
      const bool ambiguous = files[name + "\n" + key].size() > 1;
      groups.push_back({ambiguous ? name + "@" + file_of(r).substr(0, 8) : name, identity, {}});
    }
    groups[at->second].results.push_back(&r);
  }
  return groups;
}

std::vector<std::string> IdentityLabels(const std::vector<std::vector<IdentityPart>>& identities,
                                        const std::vector<std::string>& omit) {
  std::vector<std::string> labels;
  for (const auto& identity : identities) {
    const std::string* runtime = ValueOf(identity, "runtime");
    const std::string* device = ValueOf(identity, "device");
    std::vector<std::string> named = {runtime ? *runtime : ""};
    for (const auto& part : identity) {
      if (part.key == "runtime" || part.key == "device" || part.label.empty() ||
          std::find(omit.begin(), omit.end(), part.key) != omit.end()) {
        continue;
      }
      // Named when another identity of the same runtime and device differs in it.
      const bool differs = std::any_of(identities.begin(), identities.end(), [&](const auto& other) {
        const std::string* other_runtime = ValueOf(other, "runtime");
        const std::string* other_device = ValueOf(other, "device");
        if (!other_runtime || !runtime || *other_runtime != *runtime) return false;
        if (!other_device || !device || *other_device != *device) return false;
        const std::string* value = ValueOf(other, part.key);
        return !value || *value != part.value;
      });
      if (differs) named.push_back(part.label);
    }
    // A key only the other identity has (an option set there, default here) names nothing here.
    labels.push_back(Join(named, " ") + " (" + (device ? *device : "") + ")");
  }
  return labels;
}

std::map<std::string, std::string> ColumnLabels(const std::vector<BenchResult>& results,
                                                const std::vector<std::string>& omit) {
  std::vector<std::vector<IdentityPart>> identities;
  std::map<std::string, std::string> labels;
  for (const auto& r : results) {
    auto identity = TimingIdentity(r);
    if (labels.emplace(IdentityKey(identity), "").second) identities.push_back(std::move(identity));
  }
  const std::vector<std::string> names = IdentityLabels(identities, omit);
  for (std::size_t i = 0; i < identities.size(); ++i) labels[IdentityKey(identities[i])] = names[i];
  return labels;
}

std::vector<GroupAnalysis> AnalyzeResults(const std::vector<BenchResult>& results,
                                          std::vector<std::string>* skipped, bool include_invalid) {
  std::map<std::string, ModelCost> costs;  // by ModelName
  for (const auto& r : results) {
    if (r.model_cost && r.model_cost->flops > 0) costs[ModelName(r.model.path)] = *r.model_cost;
  }
  // Sorted by device, runtime and identity.
  std::map<std::tuple<std::string, std::string, std::string>, GroupAnalysis> groups;
  std::map<std::tuple<std::string, std::string, std::string>, std::vector<IdentityPart>> identities;
  for (const DuplicateGroup& duplicates : GroupDuplicates(results)) {
    const auto cost = costs.find(ModelName(duplicates.results.front()->model.path));
    std::vector<const BenchResult*> measured;
    for (const BenchResult* r : duplicates.results) {
      if (r->failure || cost == costs.end() || r->samples_ms.empty()) {
        if (skipped) {
          skipped->push_back(r->model.path + " on " + r->runtime_name +
                             (r->failure ? ": the run failed" : ": no FLOPs (format not countable)"));
        }
        continue;
      }
      measured.push_back(r);
    }
    if (measured.empty()) continue;
    const BenchResult& first = *measured.front();
    const std::string device = DeviceName(first) + " (" + first.environment.cpu_model + ")";
    const std::string runtime = first.runtime_name + " " + first.runtime_version;
    const auto key = std::make_tuple(device, runtime, IdentityKey(duplicates.identity));
    identities[key] = duplicates.identity;
    GroupAnalysis& group = groups[key];
    group.device = device;
    group.runtime = runtime;
    DuplicateGroup point_results{duplicates.model, duplicates.identity, measured};
    ModelPoint point;
    point.model = duplicates.model;
    point.latency_ms = point_results.MedianMs();
    point.results = static_cast<int>(measured.size());
    point.valid = point_results.Valid();
    point.reasons = point_results.Reasons();
    point.warnings = point_results.Warnings();
    point.flops = static_cast<double>(cost->second.flops);
    point.params = static_cast<double>(cost->second.params);
    point.ms_per_gflop = point.latency_ms / (point.flops / 1e9);
    for (const BenchResult* r : measured) {
      if (r->profile_by_type.empty()) continue;
      double zero = 0;
      for (const auto& type : r->profile_by_type) {
        if (!IsFlopKernelType(type.kernel_type)) zero += type.share;
      }
      point.zero_flop_share = zero;
      break;
    }
    (point.valid || include_invalid ? group.points : group.left_out).push_back(std::move(point));
  }
  std::vector<std::vector<IdentityPart>> identity_list;
  for (const auto& [key, identity] : identities) identity_list.push_back(identity);
  const std::vector<std::string> labels = IdentityLabels(identity_list);
  std::vector<GroupAnalysis> analyses;
  std::size_t index = 0;
  for (auto& [key, group] : groups) {
    group.label = labels[index++];
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
