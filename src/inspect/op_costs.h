// Counting rules: the multiply-accumulates and other element operations of one ONNX node,
// from its attributes and the shapes of its inputs and outputs. Conventions: docs/inspect.md.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <onnx/onnx_pb.h>

#include "constant_folding.h"

namespace edgebench::inspect {

enum class CostStatus {
  kCounted,      // macs and elementwise_ops are the node's cost
  kUnknownShape, // a known op whose shapes are not known (see note)
  kUnsupported,  // no counting rule for the op (custom domain, control flow, ...)
  kOverflow,     // the count does not fit in 64 bits: absurd shapes
};

struct CountedCost {
  CostStatus status = CostStatus::kCounted;
  int64_t macs = 0;
  int64_t elementwise_ops = 0;
  std::string note;  // why the cost is not counted, or a remark ("counted without subgraphs")
};

// `shapes` maps tensor names to what is known about them (inputs, initializers, inferred).
CountedCost CountNodeCost(const onnx::NodeProto& node, int opset,
                          const std::map<std::string, KnownShape>& shapes);

// True for ops whose cost the table knows (default domain only).
bool HasCountingRule(const std::string& op_type);

}  // namespace edgebench::inspect
