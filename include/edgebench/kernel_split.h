// How a model splits into the kernels a runtime runs: fusion rules per runtime (taken from the
// fusion maps of measured profiles, or from op-pair timing where a runtime has no profiler) and
// the splitter that applies them to an ONNX graph, giving each kernel its KernelConfig.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "edgebench/fusion.h"
#include "edgebench/kernels.h"
#include "edgebench/status.h"
#include "edgebench/tensor.h"

namespace edgebench {

// What one runtime fuses and removes. A node chain whose op types equal a fused pattern (each
// node the only consumer of the one before it) runs as one kernel; nodes of a removed op type
// run as no kernel (Dropout, Identity, shape arithmetic the runtime folds at load).
//
// A runtime with a blocked channel layout (onnxruntime's NCHWc on x86: channels in blocks of 8
// or 16) runs the kernels that suit it in that layout and converts tensors where such a kernel
// meets one that is not: layout_block_channels is the block, 0 when the runtime has none.
struct KernelRules {
  std::string runtime;          // "onnxruntime"
  std::string runtime_version;  // from the profiles the rules came from; "" when not measured
  std::vector<std::vector<std::string>> fused_patterns;  // {"Conv", "BatchNormalization", "Relu"}
  std::vector<std::string> removed_op_types;             // "Dropout", "Identity"
  int64_t layout_block_channels = 0;
  std::string source;  // how they were found: "fusion maps of 14 models", "op-pair timing"
};

// The kernel type of the layout conversions the splitter inserts under a blocked layout
// (ReorderInput: plain NCHW to blocked, ReorderOutput: back), configuration hin, win and
// cin = cout of the tensor converted. Not one of KernelTypes(): no kernel model is generated
// for it; the predictor fits its cost from the layout share of the measured kernel models.
inline constexpr const char* kReorderKernelType = "reorder";

// The layout conversions a lone kernel model of `config` runs (its input comes from the graph
// and its output goes to it, both plain NCHW) under a blocked layout of `block_channels`
// channels (0: none): what the layout share of a measured kernel model consists of. Pure.
std::vector<KernelConfig> LoneKernelReorders(const KernelConfig& config, int64_t block_channels);

// Adds the patterns of `map` (patterns with more than one source op type) and its removed op
// types to `rules`, without duplicates. Pure.
void AddFusionMap(const FusionMap& map, KernelRules& rules);

// Layout conversions in a measured fusion map (its ReorderInput and ReorderOutput kernels).
int64_t MeasuredLayoutConversions(const FusionMap& map);

// The blocked layout of the runtime that measured `maps` (maps[i] the fusion map of models[i]):
// 0 when no map has layout conversions, else the block (4, 8, 16 or 32 channels) under which the
// splitter's conversions of the models (`rules` otherwise as given) come closest to the measured
// counts, the smaller block on a tie.
Expected<int64_t> DetectLayoutBlock(const std::vector<std::string>& models, const std::vector<FusionMap>& maps,
                                    const KernelRules& rules, const ShapeOverrides& shapes);

nlohmann::json ToJson(const KernelRules& rules);
Expected<KernelRules> KernelRulesFromJson(const nlohmann::json& json);

// One kernel of a split model.
struct ModelKernel {
  KernelConfig config;              // type "unknown" when no kernel type fits the nodes
  std::vector<std::string> nodes;   // source node names, in execution order
  std::vector<std::string> op_types;  // their op types ("Conv", "BatchNormalization", "Relu")
  std::string note;                 // why the type is unknown, or what was assumed
};

// Splits the ONNX model at `path` into kernels under `rules`, in execution order, with the layout
// conversions a blocked layout needs (kReorderKernelType) before the kernel that needs each
// (those of graph outputs last). Dynamic input
// dims take `shapes` (others 1), as in InspectModel. Bad files are kBadModel; formats other
// than ONNX are kUnsupported.
Expected<std::vector<ModelKernel>> SplitIntoKernels(const std::string& path, const KernelRules& rules,
                                                    const ShapeOverrides& shapes);

}  // namespace edgebench
