#include "tflite_inspect.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>

#include "onnx_util.h"
#include "summary_builder.h"

namespace edgebench::inspect {
namespace {

constexpr int64_t kMaxElements = int64_t{1} << 40;

// ---------------------------------------------------------------- flatbuffer reading

// Reads tables, vectors and strings of a flatbuffer. Every read is bounds-checked: a bad
// offset clears ok() and yields an empty value, so a corrupt file ends in an error, not a crash.
class FlatReader {
 public:
  struct Table {
    std::size_t position = 0;  // 0: absent
    std::size_t vtable = 0;
    uint16_t vtable_size = 0;
    explicit operator bool() const { return position != 0; }
  };
  struct Vector {
    std::size_t start = 0;  // first element
    uint32_t length = 0;
  };

  explicit FlatReader(std::string_view data) : data_(data) {}

  bool ok() const { return ok_; }

  Table Root() {
    auto offset = Read<uint32_t>(0);
    return offset ? TableAt(*offset) : Fail<Table>();
  }

  template <typename T>
  T Scalar(const Table& table, int field, T default_value) {
    const std::size_t at = FieldPosition(table, field);
    if (!at) return default_value;
    auto value = Read<T>(at);
    return value ? *value : default_value;
  }

  Table SubTable(const Table& table, int field) {
    const std::size_t at = FieldPosition(table, field);
    if (!at) return {};
    auto offset = Read<uint32_t>(at);
    return offset ? TableAt(at + *offset) : Fail<Table>();
  }

  // A vector of `element_size`-byte elements (4 for tables and strings).
  Vector VectorField(const Table& table, int field, std::size_t element_size) {
    const std::size_t at = FieldPosition(table, field);
    if (!at) return {};
    auto offset = Read<uint32_t>(at);
    if (!offset) return Fail<Vector>();
    const std::size_t position = at + *offset;
    auto length = Read<uint32_t>(position);
    if (!length || position + 4 + uint64_t(*length) * element_size > data_.size()) {
      return Fail<Vector>();
    }
    return {position + 4, *length};
  }

  std::string String(const Table& table, int field) {
    const std::size_t at = FieldPosition(table, field);
    if (!at) return {};
    auto offset = Read<uint32_t>(at);
    if (!offset) return Fail<std::string>();
    return StringAt(at + *offset);
  }

  Table TableElement(const Vector& vector, uint32_t i) {
    const std::size_t at = vector.start + std::size_t(i) * 4;
    auto offset = Read<uint32_t>(at);
    return offset ? TableAt(at + *offset) : Fail<Table>();
  }

  template <typename T>
  T Element(const Vector& vector, uint32_t i) {
    auto value = Read<T>(vector.start + std::size_t(i) * sizeof(T));
    return value ? *value : Fail<T>();
  }

 private:
  template <typename T>
  T Fail() {
    ok_ = false;
    return T{};
  }

  template <typename T>
  std::optional<T> Read(std::size_t position) {
    if (position > data_.size() || data_.size() - position < sizeof(T)) {
      ok_ = false;
      return std::nullopt;
    }
    T value;
    std::memcpy(&value, data_.data() + position, sizeof(T));
    return value;
  }

  Table TableAt(std::size_t position) {
    auto back = Read<int32_t>(position);
    if (!back || position == 0) return Fail<Table>();
    const int64_t vtable = int64_t(position) - *back;
    if (vtable < 0) return Fail<Table>();
    auto size = Read<uint16_t>(std::size_t(vtable));
    if (!size || *size < 4 || std::size_t(vtable) + *size > data_.size()) return Fail<Table>();
    return {position, std::size_t(vtable), *size};
  }

  std::size_t FieldPosition(const Table& table, int field) {
    if (!table) return 0;
    const std::size_t entry = 4 + 2 * std::size_t(field);
    if (entry + 2 > table.vtable_size) return 0;
    auto offset = Read<uint16_t>(table.vtable + entry);
    if (!offset || *offset == 0) return 0;
    return table.position + *offset;
  }

  std::string StringAt(std::size_t position) {
    auto length = Read<uint32_t>(position);
    if (!length || position + 4 + uint64_t(*length) > data_.size()) return Fail<std::string>();
    return std::string(data_.substr(position + 4, *length));
  }

  std::string_view data_;
  bool ok_ = true;
};

// ---------------------------------------------------------------- the schema's enums

std::string TensorTypeName(int type) {
  static const char* const kNames[] = {"float32", "float16", "int32", "uint8", "int64",
                                       "string", "bool", "int16", "complex64", "int8",
                                       "float64", "complex128", "uint64", "resource",
                                       "variant", "uint32", "uint16", "int4", "bfloat16"};
  return type >= 0 && type < int(std::size(kNames)) ? kNames[type] : "unknown";
}

int64_t TensorTypeSize(int type) {
  static const int kSizes[] = {4, 2, 4, 1, 8, 0, 1, 2, 8, 1, 8, 16, 8, 0, 0, 4, 2, 1, 2};
  return type >= 0 && type < int(std::size(kSizes)) ? kSizes[type] : 0;
}

bool TfliteCountsAsParameter(int type) {
  return type != 4 /*int64*/ && type != 5 /*string*/ && type != 6 /*bool*/ &&
         type != 12 /*uint64*/ && TensorTypeSize(type) > 0;
}

const char* BuiltinName(int code) {
  static const char* const kNames[] = {
      "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE",
      "DEQUANTIZE", "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED", "HASHTABLE_LOOKUP",
      "L2_NORMALIZATION", "L2_POOL_2D", "LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC",
      "LSH_PROJECTION", "LSTM", "MAX_POOL_2D", "MUL", "RELU", "RELU_N1_TO_1", "RELU6", "RESHAPE",
      "RESIZE_BILINEAR", "RNN", "SOFTMAX", "SPACE_TO_DEPTH", "SVDF", "TANH", "CONCAT_EMBEDDINGS",
      "SKIP_GRAM", "CALL", "CUSTOM", "EMBEDDING_LOOKUP_SPARSE", "PAD",
      "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER", "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND",
      "TRANSPOSE", "MEAN", "SUB", "DIV", "SQUEEZE", "UNIDIRECTIONAL_SEQUENCE_LSTM",
      "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN", "EXP", "TOPK_V2", "SPLIT", "LOG_SOFTMAX",
      "DELEGATE", "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU", "MAXIMUM", "ARG_MAX", "MINIMUM",
      "LESS", "NEG", "PADV2", "GREATER", "GREATER_EQUAL", "LESS_EQUAL", "SELECT", "SLICE", "SIN",
      "TRANSPOSE_CONV", "SPARSE_TO_DENSE", "TILE", "EXPAND_DIMS", "EQUAL", "NOT_EQUAL", "LOG",
      "SUM", "SQRT", "RSQRT", "SHAPE", "POW", "ARG_MIN", "FAKE_QUANT", "REDUCE_PROD",
      "REDUCE_MAX", "PACK", "LOGICAL_OR", "ONE_HOT", "LOGICAL_AND", "LOGICAL_NOT", "UNPACK",
      "REDUCE_MIN", "FLOOR_DIV", "REDUCE_ANY", "SQUARE", "ZEROS_LIKE", "FILL", "FLOOR_MOD",
      "RANGE", "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU", "SQUARED_DIFFERENCE", "MIRROR_PAD", "ABS",
      "SPLIT_V", "UNIQUE", "CEIL", "REVERSE_V2", "ADD_N", "GATHER_ND", "COS", "WHERE", "RANK",
      "ELU", "REVERSE_SEQUENCE", "MATRIX_DIAG", "QUANTIZE", "MATRIX_SET_DIAG", "ROUND",
      "HARD_SWISH", "IF", "WHILE", "NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5",
      "SCATTER_ND", "SELECT_V2", "DENSIFY", "SEGMENT_SUM", "BATCH_MATMUL",
      "PLACEHOLDER_FOR_GREATER_OP_CODES", "CUMSUM", "CALL_ONCE", "BROADCAST_TO", "RFFT2D",
      "CONV_3D", "IMAG", "REAL", "COMPLEX_ABS", "HASHTABLE", "HASHTABLE_FIND",
      "HASHTABLE_IMPORT", "HASHTABLE_SIZE", "REDUCE_ALL", "CONV_3D_TRANSPOSE", "VAR_HANDLE",
      "READ_VARIABLE", "ASSIGN_VARIABLE", "BROADCAST_ARGS", "RANDOM_STANDARD_NORMAL", "BUCKETIZE",
      "RANDOM_UNIFORM", "MULTINOMIAL", "GELU", "DYNAMIC_UPDATE_SLICE", "RELU_0_TO_1",
      "UNSORTED_SEGMENT_PROD", "UNSORTED_SEGMENT_MAX", "UNSORTED_SEGMENT_SUM", "ATAN2",
      "UNSORTED_SEGMENT_MIN", "SIGN", "BITCAST", "BITWISE_XOR", "RIGHT_SHIFT"};
  return code >= 0 && code < int(std::size(kNames)) ? kNames[code] : nullptr;
}

// ---------------------------------------------------------------- the model

struct TfliteTensor {
  std::string name;
  int type = 0;
  std::vector<int64_t> shape;
  std::vector<int64_t> signature;  // shape_signature: -1 marks a dynamic dim; empty if absent
  bool constant = false;           // has data in its buffer
};

struct TfliteOperator {
  std::string op_type;
  int builtin = -1;  // -1 for custom ops
  std::vector<int> inputs, outputs;
  FlatReader::Table options;
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

// The fused activation of ops whose options carry one, at its field index.
int FusedActivationField(const std::string& op) {
  if (op == "CONV_2D") return 3;
  if (op == "DEPTHWISE_CONV_2D") return 4;
  if (op == "FULLY_CONNECTED" || op == "ADD" || op == "SUB" || op == "MUL" || op == "DIV") return 0;
  if (op == "CONCATENATION") return 1;
  if (op == "AVERAGE_POOL_2D" || op == "MAX_POOL_2D" || op == "L2_POOL_2D") return 5;
  return -1;
}

TfliteCost CountTfliteCost(const TfliteModel& model, const TfliteOperator& op, FlatReader& reader) {
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
      const int64_t width = reader.Scalar<int32_t>(op.options, 3, 0);
      const int64_t height = reader.Scalar<int32_t>(op.options, 4, 0);
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
  const int activation_field = FusedActivationField(op.op_type);
  if (activation_field >= 0 && reader.Scalar<int8_t>(op.options, activation_field, 0) != 0) {
    auto with_activation = output_count ? CheckedAdd(*elementwise, *output_count) : std::nullopt;
    if (!with_activation) return fail("shapes unknown or counts overflow");
    elementwise = with_activation;
  }
  cost.macs = *macs;
  cost.elementwise_ops = *elementwise;
  return cost;
}

std::vector<int> IntVector(FlatReader& reader, const FlatReader::Table& table, int field) {
  const auto vector = reader.VectorField(table, field, 4);
  std::vector<int> values;
  values.reserve(vector.length);
  for (uint32_t i = 0; i < vector.length; ++i) values.push_back(reader.Element<int32_t>(vector, i));
  return values;
}

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
  if (bytes.size() < 8 || bytes.compare(4, 4, "TFL3") != 0) {
    return BadModel(path + ": not a TensorFlow Lite model (no TFL3 identifier)");
  }
  FlatReader reader(bytes);
  const auto corrupt = [&path]() {
    return BadModel(path + ": corrupt or truncated TensorFlow Lite flatbuffer");
  };

  ModelSummary summary;
  summary.path = path;
  summary.format = ModelFormat::kTflite;
  const auto root = reader.Root();
  summary.ir_version = reader.Scalar<uint32_t>(root, 0, 0);  // schema version
  summary.producer = reader.String(root, 3);                 // "MLIR Converted.", "TOCO Converted."

  // Operator codes.
  std::vector<std::pair<std::string, int>> codes;  // name, builtin code (-1 custom)
  const auto code_vector = reader.VectorField(root, 1, 4);
  for (uint32_t i = 0; i < code_vector.length && reader.ok(); ++i) {
    const auto code = reader.TableElement(code_vector, i);
    const int deprecated = reader.Scalar<int8_t>(code, 0, 0);
    const int builtin = std::max(deprecated, reader.Scalar<int32_t>(code, 3, 0));
    if (builtin == 32 /*CUSTOM*/) {
      codes.emplace_back("CUSTOM:" + reader.String(code, 1), -1);
    } else if (const char* name = BuiltinName(builtin)) {
      codes.emplace_back(name, builtin);
    } else {
      codes.emplace_back("BUILTIN_" + std::to_string(builtin), -1);
    }
  }

  // Buffers: which hold data.
  std::vector<bool> buffer_has_data;
  const auto buffer_vector = reader.VectorField(root, 4, 4);
  for (uint32_t i = 0; i < buffer_vector.length && reader.ok(); ++i) {
    const auto buffer = reader.TableElement(buffer_vector, i);
    const auto data = reader.VectorField(buffer, 0, 1);
    const uint64_t offset = reader.Scalar<uint64_t>(buffer, 1, 0);
    const uint64_t external_size = reader.Scalar<uint64_t>(buffer, 2, 0);
    buffer_has_data.push_back(data.length > 0 || (offset > 1 && external_size > 0));
  }

  const auto subgraphs = reader.VectorField(root, 2, 4);
  if (!reader.ok()) return corrupt();
  if (subgraphs.length == 0) return BadModel(path + ": the TensorFlow Lite model has no subgraph");
  const auto subgraph = reader.TableElement(subgraphs, 0);

  TfliteModel model;
  const auto tensor_vector = reader.VectorField(subgraph, 0, 4);
  std::set<uint32_t> counted_buffers;
  for (uint32_t i = 0; i < tensor_vector.length && reader.ok(); ++i) {
    const auto table = reader.TableElement(tensor_vector, i);
    TfliteTensor tensor;
    for (int dim : IntVector(reader, table, 0)) tensor.shape.push_back(dim);
    for (int dim : IntVector(reader, table, 7)) tensor.signature.push_back(dim);
    tensor.type = reader.Scalar<int8_t>(table, 1, 0);
    tensor.name = reader.String(table, 3);
    const uint32_t buffer = reader.Scalar<uint32_t>(table, 2, 0);
    if (buffer >= buffer_has_data.size() && buffer != 0) {
      return BadModel(path + ": tensor '" + tensor.name + "' names buffer " + std::to_string(buffer) +
                      " of " + std::to_string(buffer_has_data.size()));
    }
    tensor.constant = buffer != 0 && buffer_has_data[buffer];
    if (std::any_of(tensor.shape.begin(), tensor.shape.end(), [](int64_t d) { return d < 0; })) {
      return BadModel(path + ": tensor '" + tensor.name + "' has a negative dimension");
    }
    if (!ProductOfDims(tensor.shape, kMaxElements)) {
      return BadModel(path + ": tensor '" + tensor.name + "' has an absurd shape " +
                      FormatShape(tensor.shape) + " (more than 2^40 elements)");
    }
    if (tensor.constant && TfliteCountsAsParameter(tensor.type) && counted_buffers.insert(buffer).second) {
      const int64_t count = *ProductOfDims(tensor.shape);
      summary.params += count;
      summary.weight_bytes += count * TensorTypeSize(tensor.type);
    }
    model.tensors.push_back(std::move(tensor));
  }
  model.inputs = IntVector(reader, subgraph, 1);
  model.outputs = IntVector(reader, subgraph, 2);
  const int tensor_count = int(model.tensors.size());
  auto valid = [tensor_count](int index) { return index >= 0 && index < tensor_count; };

  const auto operator_vector = reader.VectorField(subgraph, 3, 4);
  for (uint32_t i = 0; i < operator_vector.length && reader.ok(); ++i) {
    const auto table = reader.TableElement(operator_vector, i);
    TfliteOperator op;
    const uint32_t code = reader.Scalar<uint32_t>(table, 0, 0);
    if (code >= codes.size()) {
      return BadModel(path + ": operator " + std::to_string(i) + " names operator code " +
                      std::to_string(code) + " of " + std::to_string(codes.size()));
    }
    op.op_type = codes[code].first;
    op.builtin = codes[code].second;
    op.inputs = IntVector(reader, table, 1);
    op.outputs = IntVector(reader, table, 2);
    op.options = reader.SubTable(table, 4);
    for (int index : op.inputs) {
      if (index != -1 && !valid(index)) {
        return BadModel(path + ": operator " + std::to_string(i) + " (" + op.op_type +
                        ") reads tensor " + std::to_string(index) + " of " + std::to_string(tensor_count));
      }
    }
    for (int index : op.outputs) {
      if (!valid(index)) {
        return BadModel(path + ": operator " + std::to_string(i) + " (" + op.op_type +
                        ") writes tensor " + std::to_string(index) + " of " + std::to_string(tensor_count));
      }
    }
    model.operators.push_back(std::move(op));
  }
  if (!reader.ok()) return corrupt();
  for (int index : model.inputs) {
    if (!valid(index)) return BadModel(path + ": a subgraph input names a missing tensor");
  }
  for (int index : model.outputs) {
    if (!valid(index)) return BadModel(path + ": a subgraph output names a missing tensor");
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
  if (subgraphs.length > 1) {
    summary.warnings.push_back(std::to_string(subgraphs.length - 1) +
                               " further subgraph(s) (control flow bodies, signatures) not counted");
  }

  std::vector<bool> unsupported;
  std::vector<ScheduleStep> steps;
  for (std::size_t i = 0; i < model.operators.size(); ++i) {
    const auto& op = model.operators[i];
    const TfliteCost cost = CountTfliteCost(model, op, reader);
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
        const int64_t size = TensorTypeSize(tensor.type);
        auto count = ProductOfDims(tensor.shape, kMaxElements);
        return size > 0 && count ? *count * size : -1;
      });
  summary.peak_activation_bytes = memory.peak_bytes;
  summary.total_activation_bytes = memory.total_bytes;
  summary.unknown_size_activations = memory.unknown;
  return summary;
}

}  // namespace edgebench::inspect
