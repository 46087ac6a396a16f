// What the runtime made of the source graph (the fusion map): which source-graph
// nodes each executed kernel covers, grouped by pattern, plus the source nodes no kernel covers
// (removed at load) and the kernels with no source node (added by the runtime). Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "edgebench/profile.h"

namespace edgebench {

// One node of the source graph (the ONNX file), as the inspector lists them.
struct SourceNode {
  std::string name;     // unique within the graph
  std::string op_type;  // "Conv", "BatchNormalization"
};

// Kernels of one kernel type that cover the same sequence of source op types.
struct FusionPattern {
  std::vector<std::string> source_op_types;  // in execution order: {"Conv", "BatchNormalization", "Clip"}
  std::string kernel_type;                   // the runtime's: "Conv", "FusedConv", "Convolution"
  int64_t kernels = 0;                       // how many kernels show this pattern
};

struct OpTypeCount {
  std::string op_type;
  int64_t count = 0;
};

struct FusionMap {
  int64_t source_nodes = 0;  // nodes of the source graph
  int64_t kernels = 0;       // kernels that ran (fused_into empty)
  // Kernels with at least one source node, by kernels (descending), ties in execution order.
  std::vector<FusionPattern> patterns;
  // Source nodes no kernel covers (Dropout, Identity, constant-folded shape arithmetic), by
  // op type; same order as patterns.
  std::vector<OpTypeCount> removed;
  // Kernels that cover no source node (onnxruntime's ReorderInput/ReorderOutput), by kernel type.
  std::vector<OpTypeCount> added;
};

// "Conv+BatchNormalization+Clip".
std::string PatternName(const FusionPattern& pattern);

// Maps the profile's kernels onto `graph` (the source nodes in execution order). Kernels whose
// fused_into is set add their source nodes to the kernel that computed them.
//
// A kernel's source_nodes entries are matched to node names exactly. Failing that, the name is
// read as onnxruntime writes the nodes of its optimized graph: without a "_token_<n>" suffix
// (ORT's unique-name counter) and an "_nchwc" suffix (its NCHWc layout transformer), a tensor
// name "<node>_output_<n>" (the PyTorch exporter's naming) stands for the node that produced
// it, and "<node>/<suffix>" for <node>. ORT names each kernel after one node only, so for the
// nodes that no kernel names this function infers the rest of ORT's fusions, in execution order:
//   - a kernel named after an output tensor of a node of another op type (an NCHWc Conv named
//     after the Clip it absorbed) also covers the nodes before that one, back to and including
//     the nearest node of the kernel's op type ("FusedConv" counts as "Conv");
//   - BatchNormalization, activations (Relu, Clip, LeakyRelu, Sigmoid, HardSigmoid, Tanh,
//     HardSwish) and Add/Mul/Sum join the kernel that covers the node just before them (ORT
//     folds BN into a Conv, fuses activations into it and adds residuals in its NCHWc Conv);
//   - Pad joins the kernel that covers the node just after it (ORT's Pad fusion into Conv);
//   - every other node is removed.
// Without graph edges this is a best effort: a fusion across branches (a residual Add fused
// into a Conv that is not the node just before it) is attributed to the neighbouring kernel.
FusionMap MapFusion(const OpProfile& profile, const std::vector<SourceNode>& graph);

// One kernel that ran and the source nodes MapFusion attributes to it.
struct KernelCoverage {
  std::string kernel_name, kernel_type;
  double total_ms = 0;             // as in the profile: all calls of all profiled runs
  std::vector<std::string> nodes;  // names, in graph order; empty: added by the runtime
};
// The kernels of `profile` that ran (fused_into empty), in profile order, with the nodes they
// cover under MapFusion's attribution (fused_into entries add theirs to their kernel's).
std::vector<KernelCoverage> MapKernelCoverage(const OpProfile& profile, const std::vector<SourceNode>& graph);

}  // namespace edgebench
