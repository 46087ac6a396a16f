// The ONNX front end shared by the inspector and the converter (internal to src/): parse, check
// the topology and the initializers, plan the inputs (overrides applied), run the checker and
// shape inference with constant folding of shape subgraphs.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "constant_folding.h"
#include "edgebench/inspect.h"

namespace edgebench::inspect {

struct OnnxAnalysis {
  onnx::ModelProto model;
  int opset = 1;                               // of the default domain
  std::vector<int> order;                      // node indices in execution order
  std::vector<std::vector<std::string>> reads;  // per node index: tensors read (subgraphs too)
  int64_t params = 0, weight_bytes = 0;
  bool external_data = false;
  std::vector<InspectedTensor> inputs;  // real inputs (not initializers), planned shapes
  std::vector<std::string> dynamic_inputs;  // inputs whose file shape is not concrete
  // Dynamic dims no override fixed, taken as 1: "name[axis]=1 ('symbol')".
  std::vector<std::string> assumed_dims;
  std::vector<std::string> warnings;
  std::map<std::string, KnownShape> shapes;      // every tensor whose shape is known
  std::map<std::string, ConstTensor> constants;  // small initializers and folded node outputs
};

// kNotFound (unreadable file), kBadModel (not ONNX, broken graph, bad tensor data, absurd
// shapes), kInvalidArgument (an override that names no input or contradicts the file).
Expected<OnnxAnalysis> AnalyzeOnnx(const std::string& path, const ShapeOverrides& overrides);

// The node's name, or "<op_type>_<index>" when the file gives none.
std::string NodeLabel(const onnx::NodeProto& node, int index);

}  // namespace edgebench::inspect
