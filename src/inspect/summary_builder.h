// Format-independent steps of building a ModelSummary: activation memory from a schedule of
// reads and writes, and totals and the per-operator-type table from node costs.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "edgebench/inspect.h"

namespace edgebench::inspect {

// One node in execution order: the tensors it reads and the activations it writes.
struct ScheduleStep {
  std::vector<std::string> reads;
  std::vector<std::string> writes;
};

struct ActivationMemory {
  int64_t peak_bytes = 0;   // largest sum of live tensors while any node runs
  int64_t total_bytes = 0;  // every activation once
  int unknown = 0;          // activations whose size is unknown (left out)
};

// Graph inputs are live from the start, graph outputs until the end; any other activation is
// live from the node writing it to the last node reading it. `bytes_of` returns -1 when unknown.
ActivationMemory MeasureActivations(const std::vector<std::string>& graph_inputs,
                                    const std::vector<std::string>& graph_outputs,
                                    const std::vector<ScheduleStep>& steps,
                                    const std::function<int64_t(const std::string&)>& bytes_of);

// Fills macs, flops, elementwise_ops, unknown_cost_nodes, unsupported_ops and op_types from
// summary.nodes. `unsupported` nodes are those without a counting rule. Returns false when a
// total overflows (absurd shapes).
bool AddUpNodeCosts(ModelSummary& summary, const std::vector<bool>& unsupported);

}  // namespace edgebench::inspect
