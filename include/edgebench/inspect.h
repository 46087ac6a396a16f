// What a model costs on paper, read from the file without running it: inputs and outputs,
// parameters, multiply-accumulates per node and per operator type, activation memory.
// The counting conventions are documented in docs/inspect.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "edgebench/model_file.h"
#include "edgebench/status.h"
#include "edgebench/tensor.h"

namespace edgebench {

// An input or output as the file declares it. `type` is the file's element type name
// ("float32", "int64", "bfloat16", "string", "sequence", ...), wider than DataType.
struct InspectedTensor {
  std::string name;
  std::string type;
  std::vector<int64_t> shape;  // the shape counted with; kDynamicDim where still unknown
  bool rank_known = true;
};

// The cost of one node. MACs are multiply-accumulates of Conv, ConvTranspose, Gemm, MatMul
// (and their quantized forms, Einsum contractions, LSTM/GRU/RNN); every other arithmetic
// operation is counted in `elementwise_ops`.
struct NodeCost {
  std::string name;     // the node's name, or "<op_type>_<index>" when the file gives none
  std::string op_type;  // "Conv"; "domain:Op" outside the default ONNX domain
  int64_t macs = 0;
  int64_t elementwise_ops = 0;
  std::vector<int64_t> output_shape;  // first output; kDynamicDim where unknown
  bool output_rank_known = false;
  bool cost_known = true;  // false: no counting rule for the op, or its shapes are unknown
  std::string note;        // why the cost is unknown, or what was assumed
};

struct OpTypeCost {
  std::string op_type;
  int count = 0;
  int64_t macs = 0;
  double mac_share = 0;  // macs / total macs, 0..1
  int64_t elementwise_ops = 0;
  int unknown_cost_count = 0;  // nodes of this type whose cost could not be counted
};

struct ModelSummary {
  std::string path;
  ModelFormat format = ModelFormat::kUnknown;
  std::string producer;  // "pytorch 1.13.1"; empty when the file does not say
  int64_t ir_version = 0;
  int opset = 0;  // default-domain opset import
  std::vector<InspectedTensor> inputs;  // real inputs only (initializers listed as inputs excluded)
  std::vector<InspectedTensor> outputs;
  std::vector<std::string> dynamic_inputs;  // inputs with a dynamic dim in the file
  std::vector<std::string> assumed_dims;    // "input[0]=1": dynamic dims no --shape named
  int64_t params = 0;        // elements of weight tensors (initializers and Constant nodes,
                             // except integer/bool tensors, which hold shapes and indices)
  int64_t weight_bytes = 0;  // bytes of those tensors
  int64_t macs = 0;
  int64_t flops = 0;  // 2 x macs
  int64_t elementwise_ops = 0;
  std::vector<NodeCost> nodes;       // execution order
  std::vector<OpTypeCost> op_types;  // by MACs, then element ops, descending
  int64_t peak_activation_bytes = 0;   // largest set of live activations in execution order
  int64_t total_activation_bytes = 0;  // sum over all activation tensors
  int unknown_size_activations = 0;    // activations left out of the two figures above
  std::vector<std::string> unsupported_ops;  // op types with no counting rule, by name
  int unknown_cost_nodes = 0;  // nodes whose cost is unknown; totals are then lower bounds
  std::vector<std::string> warnings;  // checker findings, shape-inference failures
  // False when the model was read through a runtime (TorchScript): the graph was not analysed,
  // so MACs, FLOPs, element ops, activations, op types and nodes are unknown, not zero.
  bool graph_analysed = true;
};

// Reads and analyses a model file. `shapes` fixes dynamic input dims; dims no override names
// are taken as 1 and listed in assumed_dims. Bad files are kBadModel errors naming the problem;
// a bad override is kInvalidArgument; formats other than ONNX are kUnsupported.
Expected<ModelSummary> InspectModel(const std::string& path, const ShapeOverrides& shapes);

// Schema "edgebench.inspect/1" (docs/inspect.md). Includes per-node costs.
nlohmann::json ToJson(const ModelSummary& summary);

// The human-readable report. `with_nodes` adds the per-node table.
std::string FormatModelSummaryText(const ModelSummary& summary, bool with_nodes = false);

}  // namespace edgebench
