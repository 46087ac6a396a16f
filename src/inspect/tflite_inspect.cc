#include "tflite_inspect.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>

#include "onnx_util.h"
#include "summary_builder.h"
#include "tflite_schema.h"

namespace edgebench::inspect {
namespace {

constexpr int64_t kMaxElements = int64_t{1} << 40;

// ---------------------------------------------------------------- the schema's enums

std::string TensorTypeName(tfl::TensorType type) {
  std::string name = tfl::EnumNameTensorType(type);
  if (name.empty()) return "unknown";
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return name;
}

bool TfliteCountsAsParameter(tfl::TensorType type) {
  return type != tfl::TensorType_INT64 && type != tfl::TensorType_BOOL &&
         type != tfl::TensorType_UINT64 && tfl::TensorTypeSize(type) > 0;
}

// ---------------------------------------------------------------- the model

struct TfliteTensor {
  std::string name;
  tfl::TensorType type = tfl::TensorType_FLOAT32;
  std::vector<int64_t> shape;
  std::vector<int64_t> signature;  // shape_signature: -1 marks a dynamic dim; empty if absent
  bool constant = false;           // has data in its buffer
};

struct TfliteOperator {
  std::string op_type;
  int builtin = -1;  // -1 for custom ops
  std::vector<int> inputs, outputs;
  const tfl::Operator* table = nullptr;
};

// Cost rules, with the ONNX inspector's conventions (docs/inspect.md).
struct TfliteCost {
  int64_t macs = 0;
  int64_t elementwise_ops = 0;
  bool known = true;
  bool unsupported = false;
  std::string note;
};

enum class TfliteRule { kConv, kDepthwise, kFullyConnected, kTransposeConv, kBatchMatMul, kConv3d,
                        kPerOutput, kPerInput, kPool, kDataMovement, kAddN, kUnsupported };

TfliteRule RuleFor(const std::string& op, int64_t& factor) {
  factor = 1;
  static const std::set<std::string> kPerOutputOps = {
      "ADD", "SUB", "MUL", "DIV", "RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1", "LOGISTIC",
      "TANH", "EXP", "LOG", "SQRT", "RSQRT", "POW", "NEG", "ABS", "CEIL", "FLOOR", "ROUND", "SIN",
      "COS", "SQUARE", "SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM", "LESS", "LESS_EQUAL",
      "GREATER", "GREATER_EQUAL", "EQUAL", "NOT_EQUAL", "PRELU", "LEAKY_RELU", "HARD_SWISH",
      "ELU", "GELU", "CAST", "QUANTIZE", "DEQUANTIZE", "SELECT", "SELECT_V2", "LOGICAL_AND",
      "LOGICAL_OR", "LOGICAL_NOT", "FLOOR_DIV", "FLOOR_MOD", "SIGN", "ATAN2", "FAKE_QUANT",
      "L2_NORMALIZATION", "RANDOM_STANDARD_NORMAL", "RANDOM_UNIFORM", "BUCKETIZE"};
  static const std::set<std::string> kPerInputOps = {
      "MEAN", "SUM", "REDUCE_PROD", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_ANY", "REDUCE_ALL",
      "ARG_MAX", "ARG_MIN", "CUMSUM", "TOPK_V2"};
  static const std::set<std::string> kDataMovementOps = {
      "RESHAPE", "CONCATENATION", "PAD", "PADV2", "MIRROR_PAD", "TRANSPOSE", "SQUEEZE",
      "EXPAND_DIMS", "GATHER", "GATHER_ND", "SLICE", "STRIDED_SLICE", "PACK", "UNPACK", "SPLIT",
      "SPLIT_V", "TILE", "DEPTH_TO_SPACE", "SPACE_TO_DEPTH", "BATCH_TO_SPACE_ND",
      "SPACE_TO_BATCH_ND", "SHAPE", "RANK", "FILL", "ZEROS_LIKE", "BROADCAST_TO", "REVERSE_V2",
      "ONE_HOT", "RANGE", "RESIZE_NEAREST_NEIGHBOR", "SCATTER_ND", "BROADCAST_ARGS",
      "DENSIFY", "MATRIX_DIAG", "MATRIX_SET_DIAG", "EMBEDDING_LOOKUP", "REVERSE_SEQUENCE",
      "WHERE", "UNIQUE", "BITCAST", "DYNAMIC_UPDATE_SLICE", "SPARSE_TO_DENSE"};
  if (op == "CONV_2D") return TfliteRule::kConv;
  if (op == "DEPTHWISE_CONV_2D") return TfliteRule::kDepthwise;
  if (op == "FULLY_CONNECTED") return TfliteRule::kFullyConnected;
  if (op == "TRANSPOSE_CONV") return TfliteRule::kTransposeConv;
  if (op == "BATCH_MATMUL") return TfliteRule::kBatchMatMul;
  if (op == "CONV_3D") return TfliteRule::kConv3d;
  if (op == "AVERAGE_POOL_2D" || op == "MAX_POOL_2D" || op == "L2_POOL_2D") return TfliteRule::kPool;
  if (op == "ADD_N") return TfliteRule::kAddN;
  if (op == "SOFTMAX" || op == "LOG_SOFTMAX") {
    factor = 3;
    return TfliteRule::kPerOutput;
  }
  if (op == "RESIZE_BILINEAR") {
    factor = 4;
    return TfliteRule::kPerOutput;
  }
  if (op == "LOCAL_RESPONSE_NORMALIZATION") {
    factor = 5;
    return TfliteRule::kPerOutput;
  }
  if (kPerOutputOps.count(op)) return TfliteRule::kPerOutput;
  if (kPerInputOps.count(op)) return TfliteRule::kPerInput;
  if (kDataMovementOps.count(op)) return TfliteRule::kDataMovement;
  return TfliteRule::kUnsupported;
}

class TfliteModel {
 public:
  std::vector<TfliteTensor> tensors;
  std::vector<TfliteOperator> operators;
  std::vector<int> inputs, outputs;

  std::optional<int64_t> Count(int index) const {
    if (index < 0 || index >= int(tensors.size())) return std::nullopt;
    return ProductOfDims(tensors[index].shape, kMaxElements);
  }
  const std::vector<int64_t>* Shape(int index) const {
    if (index < 0 || index >= int(tensors.size())) return nullptr;
    return &tensors[index].shape;
  }
};

// The activation fused into the operator, from the options that carry one.
tfl::ActivationFunctionType FusedActivation(const tfl::Operator& op) {
  if (auto* o = op.builtin_options_as_Conv2DOptions()) return o->fused_activation_function();
  if (auto* o = op.builtin_options_as_DepthwiseConv2DOptions()) return o->fused_activation_function();
  if (auto* o = op.builtin_options_as_FullyConnectedOptions()) return o->fused_activation_function();
  if (auto* o = op.builtin_options_as_AddOptions()) return o->fused_activation_function();
  if (auto* o = op.builtin_options_as_SubOptions()) return o->fused_activation_function();
  if (auto* o = op.builtin_options_as_MulOptions()) return o->fused_activation_function();
  if (auto* o = op.builtin_options_as_DivOptions()) return o->fused_activation_function();
  if (auto* o = op.builtin_options_as_ConcatenationOptions()) return o->fused_activation_function();
  if (auto* o = op.builtin_options_as_Pool2DOptions()) return o->fused_activation_function();
  return tfl::ActivationFunctionType_NONE;
}

TfliteCost CountTfliteCost(const TfliteModel& model, const TfliteOperator& op) {
  TfliteCost cost;
  auto input = [&](std::size_t i) { return i < op.inputs.size() ? op.inputs[i] : -1; };
  auto output_count = model.Count(op.outputs.empty() ? -1 : op.outputs[0]);
  auto fail = [&cost](const std::string& why) {
    cost.known = false;
    cost.note = why;
    cost.macs = cost.elementwise_ops = 0;
    return cost;
  };
  auto mul = [](std::optional<int64_t> a, std::optional<int64_t> b) -> std::optional<int64_t> {
    if (!a || !b) return std::nullopt;
    return CheckedMul(*a, *b);
  };
  int64_t factor = 1;
  const TfliteRule rule = op.builtin < 0 ? TfliteRule::kUnsupported : RuleFor(op.op_type, factor);
  // Per output element, the weight elements per output channel (dim `channel_axis` of weights).
  auto per_channel = [&](int weight_index, int channel_axis) -> std::optional<int64_t> {
    const auto* weights = model.Shape(input(weight_index));
    auto count = model.Count(input(weight_index));
    if (!weights || !count || weights->empty()) return std::nullopt;
    const int axis = channel_axis < 0 ? int(weights->size()) + channel_axis : channel_axis;
    if (axis < 0 || axis >= int(weights->size()) || (*weights)[axis] <= 0) return std::nullopt;
    return *count / (*weights)[axis];
  };
  std::optional<int64_t> macs = 0, elementwise = 0;
  switch (rule) {
    case TfliteRule::kConv:
      macs = mul(output_count, per_channel(1, 0));
      if (input(2) >= 0) elementwise = output_count;
      break;
    case TfliteRule::kDepthwise:
      macs = mul(output_count, per_channel(1, -1));
      if (input(2) >= 0) elementwise = output_count;
      break;
    case TfliteRule::kConv3d:
      macs = mul(output_count, per_channel(1, -1));
      if (input(2) >= 0) elementwise = output_count;
      break;
    case TfliteRule::kFullyConnected:
      macs = mul(output_count, per_channel(1, 0));
      if (input(2) >= 0) elementwise = output_count;
      break;
    case TfliteRule::kTransposeConv:  // inputs: output_shape, weights [O, H, W, I], input
      macs = mul(model.Count(input(2)), per_channel(1, -1));
      if (input(3) >= 0) elementwise = output_count;
      break;
    case TfliteRule::kBatchMatMul: {
      const auto* lhs = model.Shape(input(0));
      const auto* out = model.Shape(op.outputs.empty() ? -1 : op.outputs[0]);
      if (!lhs || !out || lhs->size() < 2 || out->size() < 2) return fail("shapes unknown");
      const int64_t m = (*out)[out->size() - 2];
      const int64_t k = (*lhs)[lhs->size() - 2] == m ? lhs->back() : (*lhs)[lhs->size() - 2];
      macs = mul(output_count, k);
      break;
    }
    case TfliteRule::kPool: {
      const auto* pool = op.table->builtin_options_as_Pool2DOptions();
      const int64_t width = pool ? pool->filter_width() : 0;
      const int64_t height = pool ? pool->filter_height() : 0;
      if (width <= 0 || height <= 0) return fail("pool filter size missing");
      elementwise = mul(output_count, width * height);
      break;
    }
    case TfliteRule::kPerOutput: elementwise = mul(output_count, factor); break;
    case TfliteRule::kPerInput: elementwise = model.Count(input(0)); break;
    case TfliteRule::kAddN:
      elementwise = mul(output_count, std::max<int64_t>(0, int64_t(op.inputs.size()) - 1));
      break;
    case TfliteRule::kDataMovement: break;
    case TfliteRule::kUnsupported:
      cost.unsupported = true;
      return fail("no counting rule for " + op.op_type);
  }
  if (!macs || !elementwise) return fail("shapes unknown or counts overflow");
  if (FusedActivation(*op.table) != tfl::ActivationFunctionType_NONE) {
    auto with_activation = output_count ? CheckedAdd(*elementwise, *output_count) : std::nullopt;
    if (!with_activation) return fail("shapes unknown or counts overflow");
    elementwise = with_activation;
  }
  cost.macs = *macs;
  cost.elementwise_ops = *elementwise;
  return cost;
}

// The elements of an optional vector; empty when absent.
template <typename T, typename Element>
std::vector<T> Elements(const flatbuffers::Vector<Element>* vector) {
  return vector ? std::vector<T>(vector->begin(), vector->end()) : std::vector<T>();
}

std::string Text(const flatbuffers::String* string) { return string ? string->str() : std::string(); }

}  // namespace

Expected<ModelSummary> InspectTflite(const std::string& path, const ShapeOverrides& shapes) {
  if (!shapes.empty()) {
    return Unsupported(path + ": --shape is not supported for .tflite models: the file fixes "
                              "every tensor's shape");
  }
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  if (error) return NotFound(path + ": cannot read the model (" + error.message() + ")");
  std::string bytes(size, '\0');
  {
    std::ifstream in(path, std::ios::binary);
    if (!in.read(bytes.data(), std::streamsize(size))) return NotFound(path + ": cannot read the model");
  }
  auto read = tfl::ReadModel(bytes);
  if (!read.ok()) return BadModel(path + ": " + read.error().message);
  const tfl::Model& root = **read;
  if (Status structure = tfl::CheckStructure(root); !structure.ok()) {
    return BadModel(path + ": " + structure.error().message);
  }

  ModelSummary summary;
  summary.path = path;
  summary.format = ModelFormat::kTflite;
  summary.ir_version = root.version();  // schema version
  summary.producer = Text(root.description());  // "MLIR Converted.", "TOCO Converted."

  // Operator codes.
  std::vector<std::pair<std::string, int>> codes;  // name, builtin code (-1 custom)
  if (root.operator_codes()) {
    for (const tfl::OperatorCode* code : *root.operator_codes()) {
      const tfl::BuiltinOperator builtin = tfl::BuiltinCode(*code);
      const std::string name = tfl::EnumNameBuiltinOperator(builtin);
      if (builtin == tfl::BuiltinOperator_CUSTOM) {
        codes.emplace_back("CUSTOM:" + Text(code->custom_code()), -1);
      } else if (!name.empty()) {
        codes.emplace_back(name, builtin);
      } else {
        codes.emplace_back("BUILTIN_" + std::to_string(builtin), -1);
      }
    }
  }

  // Buffers: which hold data.
  std::vector<bool> buffer_has_data;
  if (root.buffers()) {
    for (const tfl::Buffer* buffer : *root.buffers()) {
      buffer_has_data.push_back((buffer->data() && buffer->data()->size() > 0) ||
                                (buffer->offset() > 1 && buffer->size() > 0));
    }
  }

  const auto* subgraphs = root.subgraphs();  // at least one: CheckStructure
  const tfl::SubGraph& subgraph = *subgraphs->Get(0);

  TfliteModel model;
  std::set<uint32_t> counted_buffers;
  const auto* tensor_tables = subgraph.tensors();
  for (uint32_t i = 0; tensor_tables && i < tensor_tables->size(); ++i) {
    const tfl::Tensor& table = *tensor_tables->Get(i);
    TfliteTensor tensor;
    tensor.shape = Elements<int64_t>(table.shape());
    tensor.signature = Elements<int64_t>(table.shape_signature());
    tensor.type = table.type();
    tensor.name = Text(table.name());
    const uint32_t buffer = table.buffer();  // in range, shape within 2^40 elements: CheckStructure
    tensor.constant = buffer != 0 && buffer_has_data[buffer];
    if (tensor.constant && TfliteCountsAsParameter(tensor.type) && counted_buffers.insert(buffer).second) {
      const int64_t count = *ProductOfDims(tensor.shape);
      summary.params += count;
      summary.weight_bytes += count * tfl::TensorTypeSize(tensor.type);
    }
    model.tensors.push_back(std::move(tensor));
  }
  model.inputs = Elements<int>(subgraph.inputs());
  model.outputs = Elements<int>(subgraph.outputs());

  const auto* operator_tables = subgraph.operators();
  for (uint32_t i = 0; operator_tables && i < operator_tables->size(); ++i) {
    const tfl::Operator& table = *operator_tables->Get(i);
    TfliteOperator op;
    const uint32_t code = table.opcode_index();  // indices in range: CheckStructure
    op.op_type = codes[code].first;
    op.builtin = codes[code].second;
    op.inputs = Elements<int>(table.inputs());
    op.outputs = Elements<int>(table.outputs());
    op.table = &table;
    model.operators.push_back(std::move(op));
  }

  auto described = [&model](int index) {
    const TfliteTensor& tensor = model.tensors[index];
    InspectedTensor out;
    out.name = tensor.name;
    out.type = TensorTypeName(tensor.type);
    out.shape = tensor.shape;
    return out;
  };
  for (int index : model.inputs) {
    summary.inputs.push_back(described(index));
    const auto& tensor = model.tensors[index];
    for (std::size_t d = 0; d < tensor.signature.size() && d < tensor.shape.size(); ++d) {
      if (tensor.signature[d] >= 0) continue;
      if (summary.dynamic_inputs.empty() || summary.dynamic_inputs.back() != tensor.name) {
        summary.dynamic_inputs.push_back(tensor.name);
      }
      summary.assumed_dims.push_back(tensor.name + "[" + std::to_string(d) + "]=" +
                                     std::to_string(tensor.shape[d]) + " (stored in the file)");
    }
  }
  for (int index : model.outputs) summary.outputs.push_back(described(index));
  if (subgraphs->size() > 1) {
    summary.warnings.push_back(std::to_string(subgraphs->size() - 1) +
                               " further subgraph(s) (control flow bodies, signatures) not counted");
  }

  std::vector<bool> unsupported;
  std::vector<ScheduleStep> steps;
  for (std::size_t i = 0; i < model.operators.size(); ++i) {
    const auto& op = model.operators[i];
    const TfliteCost cost = CountTfliteCost(model, op);
    NodeCost node;
    node.op_type = op.op_type;
    node.name = op.outputs.empty() || model.tensors[op.outputs[0]].name.empty()
                    ? op.op_type + "_" + std::to_string(i)
                    : model.tensors[op.outputs[0]].name;
    node.macs = cost.macs;
    node.elementwise_ops = cost.elementwise_ops;
    node.cost_known = cost.known;
    node.note = cost.note;
    if (!op.outputs.empty()) {
      node.output_shape = model.tensors[op.outputs[0]].shape;
      node.output_rank_known = true;
    }
    unsupported.push_back(cost.unsupported);
    summary.nodes.push_back(std::move(node));

    ScheduleStep step;
    for (int index : op.inputs) {
      if (index >= 0) step.reads.push_back(std::to_string(index));
    }
    for (int index : op.outputs) {
      if (!model.tensors[index].constant) step.writes.push_back(std::to_string(index));
    }
    steps.push_back(std::move(step));
  }
  if (!AddUpNodeCosts(summary, unsupported)) {
    return BadModel(path + ": the model's operation count overflows 64 bits (absurd shapes)");
  }

  std::vector<std::string> input_names, output_names;
  for (int index : model.inputs) input_names.push_back(std::to_string(index));
  for (int index : model.outputs) output_names.push_back(std::to_string(index));
  const ActivationMemory memory = MeasureActivations(
      input_names, output_names, steps, [&model](const std::string& name) -> int64_t {
        const auto& tensor = model.tensors[std::stoi(name)];
        const int64_t size = tfl::TensorTypeSize(tensor.type);
        auto count = ProductOfDims(tensor.shape, kMaxElements);
        return size > 0 && count ? *count * size : -1;
      });
  summary.peak_activation_bytes = memory.peak_bytes;
  summary.total_activation_bytes = memory.total_bytes;
  summary.unknown_size_activations = memory.unknown;
  return summary;
}

}  // namespace edgebench::inspect
