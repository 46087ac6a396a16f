#include "edgebench/fusion.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>

namespace edgebench {
namespace {

// Op types ORT fuses into the kernel of the node just before them (see fusion.h).
const std::set<std::string, std::less<>> kJoinsPrevious = {
    "BatchNormalization", "Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid",
    "Tanh", "HardSwish", "Add", "Mul", "Sum"};
// Activations a runtime may fuse with the Mul after them into x * activation(x).
const std::set<std::string, std::less<>> kGatingActivations = {"Sigmoid", "HardSigmoid", "Tanh"};
// Op types ORT fuses into the kernel of the node just after them.
const std::set<std::string, std::less<>> kJoinsNext = {"Pad"};

bool AllDigits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

// Removes "<marker><digits>" from the end of `name`; false when it does not end so.
bool StripNumbered(std::string& name, std::string_view marker) {
  const std::size_t at = name.rfind(marker);
  if (at == std::string::npos || !AllDigits(std::string_view(name).substr(at + marker.size()))) {
    return false;
  }
  name.erase(at);
  return true;
}

struct Resolved {
  std::size_t node = 0;
  bool by_output = false;  // named after one of the node's output tensors
};

std::optional<Resolved> Resolve(std::string name, const std::map<std::string, std::size_t>& index) {
  auto find = [&index](const std::string& candidate) -> std::optional<std::size_t> {
    auto it = index.find(candidate);
    if (it == index.end()) return std::nullopt;
    return it->second;
  };
  if (auto node = find(name)) return Resolved{*node, false};
  if (StripNumbered(name, "_token_")) {
    if (auto node = find(name)) return Resolved{*node, false};
  }
  if (name.ends_with("_nchwc")) {
    name.erase(name.size() - 6);
    if (auto node = find(name)) return Resolved{*node, false};
  }
  if (std::string producer = name; StripNumbered(producer, "_output_")) {
    if (auto node = find(producer)) return Resolved{*node, true};
  }
  for (std::size_t slash = name.rfind('/'); slash != std::string::npos && slash > 0;
       slash = name.rfind('/')) {
    name.erase(slash);
    if (auto node = find(name)) return Resolved{*node, false};
  }
  return std::nullopt;
}

// The entry whose key_of(entry) is `key`, appended (value-initialised) when there is none, so
// that entries keep their order of first appearance.
template <typename Entry, typename Key>
Entry& Tally(std::vector<Entry>& entries, const Key& key, auto key_of) {
  for (Entry& entry : entries) {
    if (key_of(entry) == key) return entry;
  }
  return entries.emplace_back();
}

}  // namespace

std::string PatternName(const FusionPattern& pattern) {
  std::string name;
  for (const auto& type : pattern.source_op_types) name += (name.empty() ? "" : "+") + type;
  return name;
}

namespace {

// The kernels that ran (fused_into empty), in profile order, and the indices of the source nodes
// each covers (sorted): MapFusion's attribution.
struct Attribution {
  std::vector<const OpEvent*> kernels;
  std::vector<std::vector<std::size_t>> covered;
};

Attribution Attribute(const OpProfile& profile, const std::vector<SourceNode>& graph) {
  std::map<std::string, std::size_t> node_index;
  for (std::size_t i = 0; i < graph.size(); ++i) node_index.emplace(graph[i].name, i);

  // The kernels that ran, and which of them computed each profile entry.
  std::vector<const OpEvent*> kernels;
  std::map<std::string, std::size_t> kernel_index;
  for (const OpEvent& event : profile.kernels) {
    if (!event.fused_into.empty()) continue;
    kernel_index.emplace(event.kernel_name, kernels.size());
    kernels.push_back(&event);
  }

  constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::vector<std::size_t> owner(graph.size(), kNone);   // first kernel covering each node
  std::vector<std::vector<std::size_t>> covered(kernels.size());  // node indices per kernel
  auto claim = [&](std::size_t kernel, std::size_t node) {
    if (owner[node] == kNone) owner[node] = kernel;
    auto& nodes = covered[kernel];
    if (std::find(nodes.begin(), nodes.end(), node) == nodes.end()) nodes.push_back(node);
  };

  // 1. What the runtime names.
  std::vector<std::pair<std::size_t, std::size_t>> named_by_output;  // (kernel, node)
  for (const OpEvent& event : profile.kernels) {
    const bool ran = event.fused_into.empty();
    auto target = kernel_index.find(ran ? event.kernel_name : event.fused_into);
    if (target == kernel_index.end()) continue;
    const std::vector<std::string> names =
        event.source_nodes.empty() ? std::vector<std::string>{event.kernel_name} : event.source_nodes;
    for (const std::string& name : names) {
      const auto resolved = Resolve(name, node_index);
      if (!resolved) continue;
      claim(target->second, resolved->node);
      if (ran && resolved->by_output) named_by_output.emplace_back(target->second, resolved->node);
    }
  }

  // 2. A kernel named after an output of another op type covers the nodes back to its own type.
  for (const auto& [kernel, node] : named_by_output) {
    std::string base_type = kernels[kernel]->kernel_type;
    if (base_type.starts_with("Fused")) base_type.erase(0, 5);
    if (graph[node].op_type == base_type) continue;
    std::vector<std::size_t> before;
    for (std::size_t j = node; j-- > 0 && owner[j] == kNone;) {
      before.push_back(j);
      if (graph[j].op_type == base_type) {
        for (std::size_t k : before) claim(kernel, k);
        break;
      }
    }
  }

  // 3. A kernel named after a Mul that runs as another kernel type computes x * activation(x)
  //    (onnxruntime's QuickGelu for x * Sigmoid(x), exported as Sigmoid then Mul): it covers the
  //    activation just before the Mul too.
  for (std::size_t k = 0; k < kernels.size(); ++k) {
    if (kernels[k]->kernel_type == "Mul") continue;
    for (std::size_t node : std::vector<std::size_t>(covered[k])) {
      if (graph[node].op_type == "Mul" && node > 0 && owner[node - 1] == kNone &&
          kGatingActivations.count(graph[node - 1].op_type)) {
        claim(k, node - 1);
      }
    }
  }

  // 4. Nodes that join the kernel of their neighbour.
  for (std::size_t i = 1; i < graph.size(); ++i) {
    if (owner[i] == kNone && owner[i - 1] != kNone && kJoinsPrevious.count(graph[i].op_type)) {
      claim(owner[i - 1], i);
    }
  }
  for (std::size_t i = graph.size(); i-- > 1;) {
    if (owner[i - 1] == kNone && owner[i] != kNone && kJoinsNext.count(graph[i - 1].op_type)) {
      claim(owner[i], i - 1);
    }
  }

  for (auto& nodes : covered) std::sort(nodes.begin(), nodes.end());
  return {std::move(kernels), std::move(covered)};
}

}  // namespace

std::vector<KernelCoverage> MapKernelCoverage(const OpProfile& profile, const std::vector<SourceNode>& graph) {
  const Attribution attribution = Attribute(profile, graph);
  std::vector<KernelCoverage> coverage;
  for (std::size_t k = 0; k < attribution.kernels.size(); ++k) {
    const OpEvent& kernel = *attribution.kernels[k];
    KernelCoverage item{kernel.kernel_name, kernel.kernel_type, kernel.total_ms, {}};
    for (std::size_t node : attribution.covered[k]) item.nodes.push_back(graph[node].name);
    coverage.push_back(std::move(item));
  }
  return coverage;
}

FusionMap MapFusion(const OpProfile& profile, const std::vector<SourceNode>& graph) {
  FusionMap map;
  map.source_nodes = static_cast<int64_t>(graph.size());
  Attribution attribution = Attribute(profile, graph);
  const auto& kernels = attribution.kernels;
  auto& covered = attribution.covered;
  map.kernels = static_cast<int64_t>(kernels.size());
  std::vector<bool> owned(graph.size(), false);
  for (const auto& nodes : covered) {
    for (std::size_t node : nodes) owned[node] = true;
  }

  // Grouping.
  for (std::size_t k = 0; k < kernels.size(); ++k) {
    if (covered[k].empty()) {
      OpTypeCount& entry =
          Tally(map.added, kernels[k]->kernel_type, [](const OpTypeCount& e) { return e.op_type; });
      entry.op_type = kernels[k]->kernel_type;
      entry.count += 1;
      continue;
    }
    std::vector<std::string> types;
    for (std::size_t node : covered[k]) types.push_back(graph[node].op_type);
    const auto key = std::make_pair(types, kernels[k]->kernel_type);
    FusionPattern& pattern = Tally(map.patterns, key, [](const FusionPattern& p) {
      return std::make_pair(p.source_op_types, p.kernel_type);
    });
    pattern.source_op_types = types;
    pattern.kernel_type = kernels[k]->kernel_type;
    pattern.kernels += 1;
  }
  for (std::size_t i = 0; i < graph.size(); ++i) {
    if (owned[i]) continue;
    OpTypeCount& entry =
        Tally(map.removed, graph[i].op_type, [](const OpTypeCount& e) { return e.op_type; });
    entry.op_type = graph[i].op_type;
    entry.count += 1;
  }
  std::stable_sort(map.patterns.begin(), map.patterns.end(),
                   [](const FusionPattern& a, const FusionPattern& b) { return a.kernels > b.kernels; });
  auto by_count = [](const OpTypeCount& a, const OpTypeCount& b) { return a.count > b.count; };
  std::stable_sort(map.removed.begin(), map.removed.end(), by_count);
  std::stable_sort(map.added.begin(), map.added.end(), by_count);
  return map;
}

}  // namespace edgebench
