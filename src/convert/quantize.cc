// INT8 post-training quantization of a float TFLite model (quantize.h). Works on the flatbuffer
// object API: unpack, rewrite tensors and operators, drop what no operator reads, pack.
#include "quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <optional>

#include "tflite_schema.h"

namespace edgebench::convert {
namespace {

// How an int8 kernel constrains its output's quantization.
enum class ScaleRule {
  kFree,       // any output parameters (the kernel rescales)
  kSame,       // inputs and outputs share parameters (the kernel moves or compares raw values)
  kFixed,      // fixed output parameters (SOFTMAX, LOGISTIC, TANH)
};

struct Int8Kernel {
  int version = 1;  // the operator version TFLite registers for its int8 kernel
  ScaleRule rule = ScaleRule::kFree;
  Int8Params fixed;
};

// The operators with an int8 kernel in TFLite 2.2 (the oldest runtime edgebench supports).
std::optional<Int8Kernel> Int8KernelFor(tfl::BuiltinOperator op) {
  switch (op) {
    case tfl::BuiltinOperator_CONV_2D:
    case tfl::BuiltinOperator_DEPTHWISE_CONV_2D: return Int8Kernel{3};
    case tfl::BuiltinOperator_FULLY_CONNECTED: return Int8Kernel{4};
    case tfl::BuiltinOperator_ADD:
    case tfl::BuiltinOperator_SUB:
    case tfl::BuiltinOperator_MUL:
    case tfl::BuiltinOperator_MEAN:
    case tfl::BuiltinOperator_RELU:
    case tfl::BuiltinOperator_RELU6: return Int8Kernel{2};
    case tfl::BuiltinOperator_HARD_SWISH: return Int8Kernel{1};
    case tfl::BuiltinOperator_AVERAGE_POOL_2D:
    case tfl::BuiltinOperator_MAX_POOL_2D:
    case tfl::BuiltinOperator_CONCATENATION:
    case tfl::BuiltinOperator_TRANSPOSE:
    case tfl::BuiltinOperator_PAD:
    case tfl::BuiltinOperator_PADV2:
    case tfl::BuiltinOperator_SPLIT:
    case tfl::BuiltinOperator_SPLIT_V:
    case tfl::BuiltinOperator_MAXIMUM:
    case tfl::BuiltinOperator_MINIMUM: return Int8Kernel{2, ScaleRule::kSame};
    case tfl::BuiltinOperator_RESHAPE: return Int8Kernel{1, ScaleRule::kSame};
    case tfl::BuiltinOperator_SOFTMAX:
    case tfl::BuiltinOperator_LOGISTIC: return Int8Kernel{2, ScaleRule::kFixed, {1.0f / 256, -128}};
    case tfl::BuiltinOperator_TANH: return Int8Kernel{2, ScaleRule::kFixed, {1.0f / 128, 0}};
    default: return std::nullopt;
  }
}

bool HasWeights(tfl::BuiltinOperator op) {
  return op == tfl::BuiltinOperator_CONV_2D || op == tfl::BuiltinOperator_DEPTHWISE_CONV_2D ||
         op == tfl::BuiltinOperator_FULLY_CONNECTED;
}

int8_t QuantizeValue(float value, Int8Params params) {
  const float q = std::round(value / params.scale) + float(params.zero_point);
  return int8_t(std::clamp(q, -128.0f, 127.0f));
}

// Disjoint sets of tensors that must share quantization parameters.
class TensorGroups {
 public:
  explicit TensorGroups(std::size_t count) : parent_(count) { std::iota(parent_.begin(), parent_.end(), 0); }
  int Find(int t) {
    while (parent_[std::size_t(t)] != t) t = parent_[std::size_t(t)] = parent_[std::size_t(parent_[std::size_t(t)])];
    return t;
  }
  void Join(int a, int b) { parent_[std::size_t(Find(a))] = Find(b); }

 private:
  std::vector<int> parent_;
};

Expected<std::unique_ptr<tfl::ModelT>> Unpack(const std::string& model) {
  auto read = tfl::ReadModel(model);
  if (!read.ok()) return read.error();
  auto unpacked = std::unique_ptr<tfl::ModelT>((*read)->UnPack());
  if (unpacked->subgraphs.size() != 1) return Unsupported("quantization needs a model with one subgraph");
  return unpacked;
}

std::string Pack(const tfl::ModelT& model) {
  flatbuffers::FlatBufferBuilder builder(1 << 20);
  tfl::FinishModelBuffer(builder, tfl::Model::Pack(builder, &model));
  return std::string(reinterpret_cast<const char*>(builder.GetBufferPointer()), builder.GetSize());
}

bool IsConstant(const tfl::ModelT& model, const tfl::TensorT& tensor) {
  return tensor.buffer != 0 && tensor.buffer < model.buffers.size() && model.buffers[tensor.buffer] &&
         !model.buffers[tensor.buffer]->data.empty();
}

std::vector<float> FloatData(const tfl::ModelT& model, const tfl::TensorT& tensor) {
  const auto& bytes = model.buffers[tensor.buffer]->data;
  std::vector<float> values(bytes.size() / sizeof(float));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
  return values;
}

ValueRange RangeOf(const std::vector<float>& values) {
  ValueRange range;
  if (values.empty()) return range;
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  return {*lo, *hi};
}

template <typename T>
std::vector<uint8_t> Bytes(const std::vector<T>& values) {
  std::vector<uint8_t> bytes(values.size() * sizeof(T));
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

std::unique_ptr<tfl::QuantizationParametersT> Quantization(const std::vector<float>& scales,
                                                           const std::vector<int64_t>& zero_points,
                                                           int dimension = 0) {
  auto q = std::make_unique<tfl::QuantizationParametersT>();
  q->scale = scales;
  q->zero_point = zero_points;
  q->quantized_dimension = dimension;
  return q;
}

// Rewrites one float model into its int8 form.
class Quantizer {
 public:
  Quantizer(tfl::ModelT& model, const std::map<int, ValueRange>& ranges)
      : model_(model), graph_(*model.subgraphs[0]), ranges_(ranges), groups_(graph_.tensors.size()) {}

  QuantizedTflite Run();

 private:
  tfl::BuiltinOperator OpOf(const tfl::OperatorT& op) const {
    return model_.operator_codes[op.opcode_index]->builtin_code;
  }
  bool IsFloatActivation(int t) const {
    const auto& tensor = *graph_.tensors[std::size_t(t)];
    return tensor.type == tfl::TensorType_FLOAT32 && !IsConstant(model_, tensor);
  }
  bool IsFloatConstant(int t) const {
    const auto& tensor = *graph_.tensors[std::size_t(t)];
    return tensor.type == tfl::TensorType_FLOAT32 && IsConstant(model_, tensor);
  }
  bool CanQuantize(const tfl::OperatorT& op) const;
  void PlanParameters();
  int AddTensor(std::unique_ptr<tfl::TensorT> tensor);
  int AddConstant(const std::string& name, tfl::TensorType type, const std::vector<int32_t>& shape,
                  std::vector<uint8_t> data, std::unique_ptr<tfl::QuantizationParametersT> q);
  // The int8 (or float) form of activation `t`, adding its QUANTIZE (DEQUANTIZE) on first use.
  int Int8Form(int t);
  int FloatForm(int t);
  // A new tensor holding `t` in the other domain, written by a QUANTIZE (to int8, at t's
  // group parameters) or DEQUANTIZE appended to the operators.
  int AddTwin(int t, bool to_int8);
  int QuantizedConstant(int t, Int8Params params);
  // Replaces inputs 1 (weights) and 2 (bias) of a CONV_2D, DEPTHWISE_CONV_2D or
  // FULLY_CONNECTED by their int8 and int32 forms; input 0 must still be the float tensor.
  void QuantizeWeights(tfl::OperatorT& op);
  uint32_t Opcode(tfl::BuiltinOperator op, int version);
  void Compact();

  tfl::ModelT& model_;
  tfl::SubGraphT& graph_;
  const std::map<int, ValueRange>& ranges_;
  TensorGroups groups_;
  std::vector<bool> int8_op_;           // per float model operator
  std::map<int, Int8Params> params_;   // per group root
  std::vector<bool> int8_tensor_;       // per tensor: written as int8 by its producer
  std::map<int, int> int8_form_, float_form_, quantized_constant_;
  std::vector<std::unique_ptr<tfl::OperatorT>> operators_;
  std::vector<int> source_operator_;
};

bool Quantizer::CanQuantize(const tfl::OperatorT& op) const {
  const auto kernel = Int8KernelFor(OpOf(op));
  if (!kernel) return false;
  if (HasWeights(OpOf(op)) && (op.inputs.size() < 2 || op.inputs[1] < 0 || !IsFloatConstant(op.inputs[1]))) {
    return false;
  }
  for (int t : op.inputs) {
    if (t >= 0 && IsFloatActivation(t) && !ranges_.count(t)) return false;
  }
  for (int t : op.outputs) {
    if (!IsFloatActivation(t) || !ranges_.count(t)) return false;
  }
  return true;
}

void Quantizer::PlanParameters() {
  const std::size_t count = graph_.operators.size();
  int8_op_.assign(count, false);
  int8_tensor_.assign(graph_.tensors.size(), false);
  std::map<int, ValueRange> constant_ranges;  // per group: float constants of kSame operators
  for (std::size_t i = 0; i < count; ++i) {
    const auto& op = *graph_.operators[i];
    if (!CanQuantize(op)) continue;
    int8_op_[i] = true;
    for (int t : op.outputs) int8_tensor_[std::size_t(t)] = true;
    if (Int8KernelFor(OpOf(op))->rule != ScaleRule::kSame) continue;
    for (int t : op.inputs) {
      if (t >= 0 && IsFloatActivation(t)) groups_.Join(t, op.outputs[0]);
    }
    for (int t : op.outputs) groups_.Join(t, op.outputs[0]);
  }
  // Group ranges: the union of the members' (and of kSame constants'); fixed outputs win.
  std::map<int, ValueRange> group_range;
  auto widen = [&](int root, ValueRange range) {
    auto [it, inserted] = group_range.emplace(root, range);
    if (!inserted) it->second = {std::min(it->second.min, range.min), std::max(it->second.max, range.max)};
  };
  for (const auto& [t, range] : ranges_) {
    if (t >= 0 && std::size_t(t) < graph_.tensors.size()) widen(groups_.Find(t), range);
  }
  for (std::size_t i = 0; i < count; ++i) {
    const auto& op = *graph_.operators[i];
    if (!int8_op_[i] || Int8KernelFor(OpOf(op))->rule != ScaleRule::kSame) continue;
    for (int t : op.inputs) {
      if (t >= 0 && IsFloatConstant(t)) {
        widen(groups_.Find(op.outputs[0]), RangeOf(FloatData(model_, *graph_.tensors[std::size_t(t)])));
      }
    }
  }
  for (const auto& [root, range] : group_range) params_[root] = ParamsForRange(range);
  for (std::size_t i = 0; i < count; ++i) {
    const auto& op = *graph_.operators[i];
    if (!int8_op_[i]) continue;
    const auto kernel = *Int8KernelFor(OpOf(op));
    if (kernel.rule == ScaleRule::kFixed) params_[groups_.Find(op.outputs[0])] = kernel.fixed;
  }
}

int Quantizer::AddTensor(std::unique_ptr<tfl::TensorT> tensor) {
  graph_.tensors.push_back(std::move(tensor));
  return int(graph_.tensors.size()) - 1;
}

int Quantizer::AddConstant(const std::string& name, tfl::TensorType type, const std::vector<int32_t>& shape,
                           std::vector<uint8_t> data, std::unique_ptr<tfl::QuantizationParametersT> q) {
  auto buffer = std::make_unique<tfl::BufferT>();
  buffer->data = std::move(data);
  model_.buffers.push_back(std::move(buffer));
  auto tensor = std::make_unique<tfl::TensorT>();
  tensor->name = name;
  tensor->type = type;
  tensor->shape = shape;
  tensor->buffer = uint32_t(model_.buffers.size() - 1);
  tensor->quantization = std::move(q);
  return AddTensor(std::move(tensor));
}

uint32_t Quantizer::Opcode(tfl::BuiltinOperator op, int version) {
  for (std::size_t i = 0; i < model_.operator_codes.size(); ++i) {
    const auto& code = *model_.operator_codes[i];
    if (code.builtin_code == op && code.version == version) return uint32_t(i);
  }
  auto code = std::make_unique<tfl::OperatorCodeT>();
  code->deprecated_builtin_code = tfl::DeprecatedBuiltinCode(op);
  code->builtin_code = op;
  code->version = version;
  model_.operator_codes.push_back(std::move(code));
  return uint32_t(model_.operator_codes.size() - 1);
}

int Quantizer::Int8Form(int t) {
  if (int8_tensor_[std::size_t(t)]) return t;
  if (auto it = int8_form_.find(t); it != int8_form_.end()) return it->second;
  return int8_form_[t] = AddTwin(t, true);
}

int Quantizer::FloatForm(int t) {
  if (!int8_tensor_[std::size_t(t)]) return t;
  if (auto it = float_form_.find(t); it != float_form_.end()) return it->second;
  return float_form_[t] = AddTwin(t, false);
}

int Quantizer::AddTwin(int t, bool to_int8) {
  const tfl::TensorT& source = *graph_.tensors[std::size_t(t)];
  auto tensor = std::make_unique<tfl::TensorT>();
  tensor->name = source.name + (to_int8 ? "/int8" : "/float");
  tensor->type = to_int8 ? tfl::TensorType_INT8 : tfl::TensorType_FLOAT32;
  tensor->shape = source.shape;
  if (to_int8) {
    const Int8Params params = params_.at(groups_.Find(t));
    tensor->quantization = Quantization({params.scale}, {params.zero_point});
  }
  const int twin = AddTensor(std::move(tensor));
  auto op = std::make_unique<tfl::OperatorT>();
  op->opcode_index = Opcode(to_int8 ? tfl::BuiltinOperator_QUANTIZE : tfl::BuiltinOperator_DEQUANTIZE, 2);
  op->inputs = {t};
  op->outputs = {twin};
  operators_.push_back(std::move(op));
  source_operator_.push_back(-1);
  return twin;
}

int Quantizer::QuantizedConstant(int t, Int8Params params) {
  const auto& tensor = *graph_.tensors[std::size_t(t)];
  std::vector<int8_t> q;
  for (float v : FloatData(model_, tensor)) q.push_back(QuantizeValue(v, params));
  const std::string name = tensor.name;
  const auto shape = tensor.shape;
  return AddConstant(name, tfl::TensorType_INT8, shape, Bytes(q),
                     Quantization({params.scale}, {params.zero_point}));
}

// Weights int8 symmetric (per output channel for convolutions), bias int32.
void Quantizer::QuantizeWeights(tfl::OperatorT& op) {
  const tfl::BuiltinOperator type = OpOf(op);
  const auto& weights = *graph_.tensors[std::size_t(op.inputs[1])];
  const std::vector<float> w = FloatData(model_, weights);
  // CONV_2D [O, H, W, I] and FULLY_CONNECTED [O, I]: channel = leading dim; DEPTHWISE [1, H, W, C]:
  // trailing dim. FULLY_CONNECTED int8 takes one scale in TFLite 2.2.
  const bool depthwise = type == tfl::BuiltinOperator_DEPTHWISE_CONV_2D;
  const bool per_channel = type != tfl::BuiltinOperator_FULLY_CONNECTED;
  const int channel_dim = depthwise ? int(weights.shape.size()) - 1 : 0;
  const std::size_t channels = per_channel ? std::size_t(weights.shape[std::size_t(channel_dim)]) : 1;
  const std::size_t inner = depthwise ? 1 : w.size() / std::max<std::size_t>(channels, 1);
  auto channel_of = [&](std::size_t i) { return depthwise ? i % channels : (per_channel ? i / inner : 0); };
  const SymmetricInt8 q = QuantizeSymmetric(w, channels, channel_of);
  const std::vector<float>& scales = q.scales;
  op.inputs[1] = AddConstant(weights.name, tfl::TensorType_INT8, weights.shape, Bytes(q.values),
                             Quantization(scales, std::vector<int64_t>(channels, 0), channel_dim));
  if (op.inputs.size() < 3 || op.inputs[2] < 0) return;
  const auto& bias = *graph_.tensors[std::size_t(op.inputs[2])];
  const float input_scale = params_.at(groups_.Find(op.inputs[0])).scale;
  const std::vector<float> b = FloatData(model_, bias);
  std::vector<float> bias_scales(b.size());
  for (std::size_t i = 0; i < b.size(); ++i) bias_scales[i] = input_scale * scales[per_channel ? i : 0];
  const std::vector<int32_t> qb = QuantizeBias(b, bias_scales);
  if (!per_channel) bias_scales.resize(1);
  op.inputs[2] = AddConstant(bias.name, tfl::TensorType_INT32, bias.shape, Bytes(qb),
                             Quantization(bias_scales, std::vector<int64_t>(bias_scales.size(), 0)));
}

// Drops tensors, buffers and operator codes nothing references, and renumbers.
void Quantizer::Compact() {
  std::vector<int> used(graph_.tensors.size(), -1);
  auto mark = [&](std::vector<int32_t>& list) {
    for (int t : list) if (t >= 0) used[std::size_t(t)] = 0;
  };
  mark(graph_.inputs);
  mark(graph_.outputs);
  for (auto& op : graph_.operators) {
    mark(op->inputs);
    mark(op->outputs);
  }
  std::vector<std::unique_ptr<tfl::TensorT>> tensors;
  std::vector<std::unique_ptr<tfl::BufferT>> buffers;
  buffers.push_back(std::make_unique<tfl::BufferT>());
  for (std::size_t t = 0; t < graph_.tensors.size(); ++t) {
    if (used[t] < 0) continue;
    used[t] = int(tensors.size());
    auto& tensor = graph_.tensors[t];
    if (tensor->buffer != 0) {
      buffers.push_back(std::move(model_.buffers[tensor->buffer]));
      tensor->buffer = uint32_t(buffers.size() - 1);
    }
    tensors.push_back(std::move(tensor));
  }
  auto renumber = [&](std::vector<int32_t>& list) {
    for (int& t : list) if (t >= 0) t = used[std::size_t(t)];
  };
  renumber(graph_.inputs);
  renumber(graph_.outputs);
  for (auto& op : graph_.operators) {
    renumber(op->inputs);
    renumber(op->outputs);
  }
  graph_.tensors = std::move(tensors);
  model_.buffers = std::move(buffers);
  // Operator codes only float operators used before.
  std::vector<int> code_index(model_.operator_codes.size(), -1);
  std::vector<std::unique_ptr<tfl::OperatorCodeT>> codes;
  for (auto& op : graph_.operators) {
    int& index = code_index[op->opcode_index];
    if (index < 0) {
      index = int(codes.size());
      codes.push_back(std::move(model_.operator_codes[op->opcode_index]));
    }
    op->opcode_index = uint32_t(index);
  }
  model_.operator_codes = std::move(codes);
}

QuantizedTflite Quantizer::Run() {
  PlanParameters();
  const std::size_t original_tensors = graph_.tensors.size();
  for (std::size_t t = 0; t < original_tensors; ++t) {
    if (!int8_tensor_[t]) continue;
    const Int8Params params = params_.at(groups_.Find(int(t)));
    graph_.tensors[t]->type = tfl::TensorType_INT8;
    graph_.tensors[t]->quantization = Quantization({params.scale}, {params.zero_point});
  }
  QuantizedTflite result;
  for (std::size_t i = 0; i < graph_.operators.size(); ++i) {
    std::unique_ptr<tfl::OperatorT> op = std::move(graph_.operators[i]);
    const tfl::BuiltinOperator type = OpOf(*op);
    if (int8_op_[i]) {
      const auto kernel = *Int8KernelFor(type);
      if (HasWeights(type)) QuantizeWeights(*op);
      for (int& t : op->inputs) {
        if (t < 0 || std::size_t(t) >= original_tensors) continue;  // omitted, or new weights
        if (IsFloatActivation(t)) {
          t = Int8Form(t);
        } else if (IsFloatConstant(t)) {
          // kSame constants take the group's parameters; other constants their own range.
          const Int8Params params = kernel.rule == ScaleRule::kSame
                                        ? params_.at(groups_.Find(op->outputs[0]))
                                        : ParamsForRange(RangeOf(FloatData(model_, *graph_.tensors[std::size_t(t)])));
          t = QuantizedConstant(t, params);
        }
      }
      op->opcode_index = Opcode(type, kernel.version);
    } else {
      for (int& t : op->inputs) {
        if (t >= 0 && int8_tensor_[std::size_t(t)]) t = FloatForm(t);
      }
      result.float_operators.push_back(int(i));
    }
    operators_.push_back(std::move(op));
    source_operator_.push_back(int(i));
  }
  // The float interface: inputs stay float (QUANTIZE added on first int8 use); an output
  // written as int8 gets a DEQUANTIZE, and the float tensor takes the output's name.
  for (int& t : graph_.outputs) {
    if (!int8_tensor_[std::size_t(t)]) continue;
    const int f = FloatForm(t);
    const std::string name = graph_.tensors[std::size_t(t)]->name;
    graph_.tensors[std::size_t(f)]->name = name;
    graph_.tensors[std::size_t(t)]->name = name + "/int8";
    t = f;
  }
  graph_.operators = std::move(operators_);
  Compact();
  for (std::size_t j = 0; j < graph_.operators.size(); ++j) {
    const auto& code = *model_.operator_codes[graph_.operators[j]->opcode_index];
    result.operators.push_back({tfl::EnumNameBuiltinOperator(code.builtin_code), code.version, source_operator_[j]});
  }
  model_.description += " (int8)";
  result.model = Pack(model_);
  return result;
}

}  // namespace

Int8Params ParamsForRange(ValueRange range) {
  const float lo = std::min(range.min, 0.0f);
  const float hi = std::max(range.max, 0.0f);
  Int8Params params;
  params.scale = hi > lo ? (hi - lo) / 255.0f : 1.0f;
  params.zero_point = int(std::clamp(std::round(-128.0f - lo / params.scale), -128.0f, 127.0f));
  return params;
}

SymmetricInt8 QuantizeSymmetric(const std::vector<float>& weights, std::size_t channels,
                                const std::function<std::size_t(std::size_t)>& channel_of) {
  SymmetricInt8 q{std::vector<int8_t>(weights.size()), std::vector<float>(channels, 0)};
  for (std::size_t i = 0; i < weights.size(); ++i) {
    float& max_abs = q.scales[channel_of(i)];
    max_abs = std::max(max_abs, std::fabs(weights[i]));
  }
  for (float& scale : q.scales) scale = scale > 0 ? scale / 127 : 1;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    q.values[i] = int8_t(std::clamp(std::round(weights[i] / q.scales[channel_of(i)]), -127.0f, 127.0f));
  }
  return q;
}

std::vector<int32_t> QuantizeBias(const std::vector<float>& bias, const std::vector<float>& scales) {
  std::vector<int32_t> q(bias.size());
  for (std::size_t i = 0; i < bias.size(); ++i) {
    const double value = std::round(double(bias[i]) / scales[i]);
    q[i] = int32_t(std::clamp(value, double(INT32_MIN), double(INT32_MAX)));
  }
  return q;
}

Expected<CalibrationModel> WithActivationsAsOutputs(const std::string& model) {
  auto unpacked = Unpack(model);
  if (!unpacked.ok()) return unpacked.error();
  tfl::ModelT& m = **unpacked;
  tfl::SubGraphT& graph = *m.subgraphs[0];
  CalibrationModel calibration;
  calibration.inputs.assign(graph.inputs.begin(), graph.inputs.end());
  for (std::size_t t = 0; t < graph.tensors.size(); ++t) {
    const auto& tensor = *graph.tensors[t];
    const bool input = std::find(graph.inputs.begin(), graph.inputs.end(), int(t)) != graph.inputs.end();
    if (tensor.type == tfl::TensorType_FLOAT32 && !IsConstant(m, tensor) && !input) {
      calibration.outputs.push_back(int(t));
    }
  }
  graph.outputs.assign(calibration.outputs.begin(), calibration.outputs.end());
  calibration.model = Pack(m);
  return calibration;
}

Expected<QuantizedTflite> QuantizeTflite(const std::string& model, const std::map<int, ValueRange>& ranges) {
  auto unpacked = Unpack(model);
  if (!unpacked.ok()) return unpacked.error();
  const auto& graph = *(*unpacked)->subgraphs[0];
  const bool has_float_weights = std::any_of(graph.operators.begin(), graph.operators.end(), [&](const auto& op) {
    const auto code = (*unpacked)->operator_codes[op->opcode_index]->builtin_code;
    return HasWeights(code) && op->inputs.size() > 1 && op->inputs[1] >= 0 &&
           graph.tensors[std::size_t(op->inputs[1])]->type == tfl::TensorType_FLOAT32 &&
           IsConstant(**unpacked, *graph.tensors[std::size_t(op->inputs[1])]);
  });
  if (!has_float_weights) {
    return InvalidArgument("nothing to quantize: no Conv, depthwise Conv or FullyConnected has float weights");
  }
  Quantizer quantizer(**unpacked, ranges);
  return quantizer.Run();
}

}  // namespace edgebench::convert
