// How a model splits into the kernels a runtime runs: fusion rules per runtime (taken from the
// fusion maps of measured profiles, or from op-pair timing where a runtime has no profiler) and
// the splitter that applies them to an ONNX graph, giving each kernel its KernelConfig.
#pragma once

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
struct KernelRules {
  std::string runtime;          // "onnxruntime"
  std::string runtime_version;  // from the profiles the rules came from; "" when not measured
  std::vector<std::vector<std::string>> fused_patterns;  // {"Conv", "BatchNormalization", "Relu"}
  std::vector<std::string> removed_op_types;             // "Dropout", "Identity"
  std::string source;  // how they were found: "fusion maps of 14 models", "op-pair timing"
};

// Adds the patterns of `map` (patterns with more than one source op type) and its removed op
// types to `rules`, without duplicates. Pure.
void AddFusionMap(const FusionMap& map, KernelRules& rules);

nlohmann::json ToJson(const KernelRules& rules);
Expected<KernelRules> KernelRulesFromJson(const nlohmann::json& json);

// One kernel of a split model.
struct ModelKernel {
  KernelConfig config;              // type "unknown" when no kernel type fits the nodes
  std::vector<std::string> nodes;   // source node names, in execution order
  std::vector<std::string> op_types;  // their op types ("Conv", "BatchNormalization", "Relu")
  std::string note;                 // why the type is unknown, or what was assumed
};

// Splits the ONNX model at `path` into kernels under `rules`, in execution order. Dynamic input
// dims take `shapes` (others 1), as in InspectModel. Bad files are kBadModel; formats other
// than ONNX are kUnsupported.
Expected<std::vector<ModelKernel>> SplitIntoKernels(const std::string& path, const KernelRules& rules,
                                                    const ShapeOverrides& shapes);

}  // namespace edgebench
