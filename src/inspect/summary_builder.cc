#include "summary_builder.h"

#include <algorithm>
#include <climits>
#include <map>
#include <set>
#include <unordered_map>

namespace edgebench::inspect {

ActivationMemory MeasureActivations(const std::vector<std::string>& graph_inputs,
                                    const std::vector<std::string>& graph_outputs,
                                    const std::vector<ScheduleStep>& steps,
                                    const std::function<int64_t(const std::string&)>& bytes_of) {
  ActivationMemory memory;
  const int count = int(steps.size());
  std::unordered_map<std::string, int> last_use;  // position in the schedule
  for (int position = 0; position < count; ++position) {
    for (const auto& name : steps[position].reads) last_use[name] = position;
  }
  for (const auto& name : graph_outputs) last_use[name] = count;

  std::unordered_map<std::string, int64_t> live_bytes;
  std::vector<std::vector<std::string>> frees(count + 1);
  int64_t live = 0;
  auto allocate = [&](const std::string& name, int position) {
    if (live_bytes.count(name)) return;
    const int64_t size = bytes_of(name);
    if (size < 0) {
      ++memory.unknown;
      return;
    }
    memory.total_bytes += size;
    live += size;
    live_bytes[name] = size;
    auto it = last_use.find(name);
    frees[it == last_use.end() ? position : std::max(position, it->second)].push_back(name);
  };
  for (const auto& name : graph_inputs) allocate(name, 0);
  memory.peak_bytes = live;
  for (int position = 0; position < count; ++position) {
    for (const auto& name : steps[position].writes) allocate(name, position);
    memory.peak_bytes = std::max(memory.peak_bytes, live);
    for (const auto& name : frees[position]) live -= live_bytes[name];
  }
  return memory;
}

bool AddUpNodeCosts(ModelSummary& summary, const std::vector<bool>& unsupported) {
  std::set<std::string> unsupported_types;
  std::map<std::string, OpTypeCost> by_type;
  for (std::size_t i = 0; i < summary.nodes.size(); ++i) {
    const NodeCost& node = summary.nodes[i];
    if (i < unsupported.size() && unsupported[i]) unsupported_types.insert(node.op_type);
    if (!node.cost_known) ++summary.unknown_cost_nodes;
    int64_t macs = 0, elementwise = 0;
    if (__builtin_add_overflow(summary.macs, node.macs, &macs) ||
        __builtin_add_overflow(summary.elementwise_ops, node.elementwise_ops, &elementwise) ||
        macs > INT64_MAX / 2) {
      return false;
    }
    summary.macs = macs;
    summary.elementwise_ops = elementwise;
    OpTypeCost& type = by_type[node.op_type];
    type.op_type = node.op_type;
    ++type.count;
    type.macs += node.macs;
    type.elementwise_ops += node.elementwise_ops;
    type.unknown_cost_count += node.cost_known ? 0 : 1;
  }
  summary.flops = 2 * summary.macs;
  summary.unsupported_ops.assign(unsupported_types.begin(), unsupported_types.end());
  summary.op_types.clear();
  for (auto& [name, type] : by_type) {
    type.mac_share = summary.macs > 0 ? double(type.macs) / double(summary.macs) : 0.0;
    summary.op_types.push_back(type);
  }
  std::sort(summary.op_types.begin(), summary.op_types.end(),
            [](const OpTypeCost& a, const OpTypeCost& b) {
              if (a.macs != b.macs) return a.macs > b.macs;
              if (a.elementwise_ops != b.elementwise_ops) return a.elementwise_ops > b.elementwise_ops;
              if (a.count != b.count) return a.count > b.count;
              return a.op_type < b.op_type;
            });
  return true;
}

}  // namespace edgebench::inspect
