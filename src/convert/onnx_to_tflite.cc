#include "onnx_to_tflite.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <numeric>
#include <optional>
#include <set>

#include "edgebench/float16.h"
#include "inspect/onnx_analysis.h"
#include "inspect/onnx_util.h"
#include "layout.h"
#include "tflite_writer.h"

namespace edgebench::convert {
namespace {

using inspect::FindAttribute;
using inspect::FloatAttribute;
using inspect::IntAttribute;
using inspect::IntsAttribute;
using inspect::StringAttribute;

// An ONNX tensor as converted: the TFLite tensor holding it and how its dims are ordered.
struct Value {
  int tensor = -1;
  Permutation perm;           // tflite dim i = onnx dim perm[i]
  bool non_negative = false;  // every element >= 0 (after a RELU, for exact zero padding)
};

Permutation Identity(std::size_t rank) {
  Permutation perm(rank);
  std::iota(perm.begin(), perm.end(), 0);
  return perm;
}

std::string PermText(const Permutation& perm) {
  if (perm == Identity(perm.size())) return "onnx order";
  if (perm == kNchwToNhwc) return "NHWC";
  std::string text = "perm ";
  for (int axis : perm) text += std::to_string(axis);
  return text;
}

int64_t NormalizeAxis(int64_t axis, std::size_t rank) { return axis < 0 ? axis + int64_t(rank) : axis; }

tfl::ActivationFunctionType NoActivation() { return tfl::ActivationFunctionType_NONE; }

// The fused activation that is exactly Clip(low, high), or NONE.
tfl::ActivationFunctionType ClipAsActivation(float low, float high) {
  if (low == 0 && high == 6) return tfl::ActivationFunctionType_RELU6;
  if (low == 0 && high == FLT_MAX) return tfl::ActivationFunctionType_RELU;
  if (low == -1 && high == 1) return tfl::ActivationFunctionType_RELU_N1_TO_1;
  return NoActivation();
}

// A node the converter cannot express: becomes report.unsupported.
Error Cannot(std::string reason) { return Unsupported(std::move(reason)); }

class Converter {
 public:
  Converter(const inspect::OnnxAnalysis& analysis, const std::string& path, ConversionReport& report)
      : analysis_(analysis), graph_(analysis.model.graph()), path_(path), report_(report),
        float16_weights_(report.precision == ConvertPrecision::kFloat16) {}

  // Fills the report; kUnsupported node errors land in report.unsupported, other errors return.
  Status Run();

 private:
  const onnx::NodeProto& node(int index) const { return graph_.node(index); }
  std::string Label(int index) const { return inspect::NodeLabel(node(index), index); }

  // ---- graph facts
  bool IsConstant(const std::string& name) const;
  Expected<Shape> OnnxShape(const std::string& name) const;
  Expected<std::vector<float>> ConstantFloats(const std::string& name) const;
  Expected<std::vector<int64_t>> ConstantInts(const std::string& name) const;
  // A Clip node's {low, high}: attributes before opset 11, constant scalar inputs from 11.
  Expected<std::pair<float, float>> ClipBounds(const onnx::NodeProto& clip) const;
  // The one node reading `name`, when exactly one does and it is not a graph output.
  std::optional<int> SoleConsumer(const std::string& name) const;

  // ---- emitting
  int Emit(tfl::BuiltinOperator op, int version, const std::vector<int>& inputs,
           const std::vector<int>& outputs, std::vector<int> nodes, const std::string& added_for,
           tfl::BuiltinOptions options_type = tfl::BuiltinOptions_NONE,
           flatbuffers::Offset<void> options = 0);
  int NewTensor(const std::string& name, const Shape& shape) {
    return writer_.AddTensor(name, tfl::TensorType_FLOAT32, shape);
  }
  int Int32Vector(const std::string& name, const std::vector<int64_t>& values);
  Expected<Value> Activation(const std::string& name) const;
  // `value` (of ONNX tensor `name`) with dims in `perm` order; TRANSPOSE or RESHAPE as needed.
  // With `any_shape`, a tensor in the same memory order but of another (collapsed) shape may come
  // back (for a RESHAPE that follows).
  int InLayout(const std::string& name, const Value& value, const Permutation& perm, int node,
               bool any_shape = false);
  int Reshape(int tensor, const Shape& shape, const std::string& name, std::vector<int> nodes,
              const std::string& added_for);
  // Explicit PAD (or PADV2 with `pad_value` != 0) of a tensor; paddings per tflite dim.
  int Pad(int tensor, const std::vector<std::pair<int64_t, int64_t>>& paddings, float pad_value,
          int node, const std::string& added_for);
  // A weight of `node`: a float32 constant, or with float16 weights a FLOAT16 constant and the
  // DEQUANTIZE (added_for "precision") that widens it.
  int Weights(const std::string& name, const Shape& shape, const std::vector<float>& values, int node);
  // A float constant broadcastable against a value of `rank` dims laid out in `perm`.
  Expected<int> BroadcastConstant(const std::string& name, const Permutation& perm, int node);

  // Activation fusion: when `output`'s only consumer is Relu or a Clip TFLite has, marks it fused
  // into `producer` and returns its activation; `output` becomes that node's output.
  // `sources` gains the fused node.
  tfl::ActivationFunctionType FuseActivation(int producer, std::string& output, std::vector<int>& sources);
  void Define(const std::string& onnx_name, int tensor, Permutation perm, bool non_negative = false);
  void MarkFused(int fused, int into);

  // ---- operators; each returns kUnsupported for what TFLite cannot express
  Status ConvertNode(int index);
  Status ConvertConv(int index);
  Status ConvertBatchNorm(int index);
  Status ConvertBinary(int index, tfl::BuiltinOperator op);
  Status ConvertUnaryActivation(int index);
  Status ConvertHardSigmoid(int index);
  Status ConvertConcat(int index);
  Status ConvertPool(int index);
  Status ConvertGlobalAveragePool(int index);
  Status ConvertReduceMean(int index);
  Status ConvertReshape(int index);
  Status ConvertTranspose(int index);
  Status ConvertSplit(int index);
  Status ConvertSoftmax(int index);
  Status ConvertPad(int index);
  Status ConvertGemm(int index);

  Status AddInputs();
  Status AddOutputs();

  const inspect::OnnxAnalysis& analysis_;
  const onnx::GraphProto& graph_;
  const std::string& path_;
  ConversionReport& report_;
  const bool float16_weights_;
  TfliteWriter writer_;

  std::map<std::string, const onnx::TensorProto*> tensor_protos_;  // initializers, Constant values
  std::map<std::string, std::vector<int>> consumers_;
  std::set<std::string> graph_outputs_;
  std::map<std::string, Value> values_;
  std::map<std::pair<int, Permutation>, int> layout_cache_;
  std::vector<bool> done_;                // per node index: handled already (fused)
  std::map<int, int> entry_of_node_;      // node index -> report_.nodes index
  // Pad nodes merged into the Conv reading their output, by output name.
  struct MergedPad {
    int node = 0;
    std::vector<int64_t> pads;  // top, left, bottom, right
  };
  std::map<std::string, MergedPad> pending_pads_;
  std::vector<int> graph_inputs_, graph_outputs_tensors_;
};

// ------------------------------------------------------------------------------- graph facts

bool Converter::IsConstant(const std::string& name) const {
  return analysis_.constants.count(name) || tensor_protos_.count(name);
}

Expected<Shape> Converter::OnnxShape(const std::string& name) const {
  auto it = analysis_.shapes.find(name);
  if (it == analysis_.shapes.end() || !it->second.IsConcrete()) {
    return Cannot("the shape of tensor '" + name + "' is not known statically");
  }
  return it->second.dims;
}

Expected<std::vector<float>> Converter::ConstantFloats(const std::string& name) const {
  if (auto it = analysis_.constants.find(name); it != analysis_.constants.end()) {
    std::vector<float> values;
    for (int64_t i = 0; i < it->second.size(); ++i) values.push_back(float(it->second.AsDouble(i)));
    return values;
  }
  auto it = tensor_protos_.find(name);
  if (it == tensor_protos_.end()) return Cannot("input '" + name + "' must be a constant");
  const onnx::TensorProto& tensor = *it->second;
  if (tensor.data_location() == onnx::TensorProto::EXTERNAL) {
    return Cannot("constant '" + name + "' keeps its data in an external file (not supported)");
  }
  auto count = inspect::ProductOfDims({tensor.dims().begin(), tensor.dims().end()});
  if (!count) return BadModel(path_ + ": constant '" + name + "' has a bad shape");
  std::vector<float> values(static_cast<std::size_t>(*count));
  const std::string& raw = tensor.raw_data();
  switch (tensor.data_type()) {
    case onnx::TensorProto::FLOAT:
      if (!raw.empty()) {
        if (raw.size() != values.size() * 4) break;
        std::memcpy(values.data(), raw.data(), raw.size());
        return values;
      }
      if (tensor.float_data_size() != int(values.size())) break;
      std::copy(tensor.float_data().begin(), tensor.float_data().end(), values.begin());
      return values;
    case onnx::TensorProto::FLOAT16:
      if (!raw.empty()) {
        if (raw.size() != values.size() * 2) break;
        for (std::size_t i = 0; i < values.size(); ++i) {
          uint16_t half;
          std::memcpy(&half, raw.data() + 2 * i, 2);
          values[i] = HalfToFloat(half);
        }
        return values;
      }
      if (tensor.int32_data_size() != int(values.size())) break;
      for (std::size_t i = 0; i < values.size(); ++i) values[i] = HalfToFloat(uint16_t(tensor.int32_data(int(i))));
      return values;
    default:
      return Cannot("constant '" + name + "' is of type " +
                    inspect::ElementTypeName(tensor.data_type()) + "; only float weights convert");
  }
  return BadModel(path_ + ": constant '" + name + "' holds the wrong number of values");
}

Expected<std::vector<int64_t>> Converter::ConstantInts(const std::string& name) const {
  auto it = analysis_.constants.find(name);
  if (it == analysis_.constants.end() || it->second.is_float()) {
    return Cannot("input '" + name + "' must be a constant integer tensor");
  }
  return it->second.ints;
}

Expected<std::pair<float, float>> Converter::ClipBounds(const onnx::NodeProto& clip) const {
  float low = -FLT_MAX, high = FLT_MAX;
  if (analysis_.opset < 11) {
    return std::pair{FloatAttribute(clip, "min", low), FloatAttribute(clip, "max", high)};
  }
  for (int i : {1, 2}) {
    const std::string& bound = inspect::InputName(clip, i);
    if (bound.empty()) continue;
    auto value = ConstantFloats(bound);
    if (!value.ok()) return value.error();
    if (value->size() != 1) return Cannot("Clip bounds must be scalars");
    (i == 1 ? low : high) = (*value)[0];
  }
  return std::pair{low, high};
}

std::optional<int> Converter::SoleConsumer(const std::string& name) const {
  if (graph_outputs_.count(name)) return std::nullopt;
  auto it = consumers_.find(name);
  if (it == consumers_.end() || it->second.size() != 1) return std::nullopt;
  return it->second.front();
}

// ---------------------------------------------------------------------------------- emitting

int Converter::Emit(tfl::BuiltinOperator op, int version, const std::vector<int>& inputs,
                    const std::vector<int>& outputs, std::vector<int> nodes,
                    const std::string& added_for, tfl::BuiltinOptions options_type,
                    flatbuffers::Offset<void> options) {
  const int index = writer_.AddOperator(op, version, inputs, outputs, options_type, options);
  TfliteOperator entry;
  entry.op = tfl::EnumNameBuiltinOperator(op);
  entry.version = version;
  entry.added_for = added_for;
  for (int n : nodes) {
    entry.source_nodes.push_back(Label(n));
    report_.nodes[entry_of_node_.at(n)].operators.push_back(index);
  }
  report_.operators.push_back(std::move(entry));
  return index;
}

int Converter::Int32Vector(const std::string& name, const std::vector<int64_t>& values) {
  return writer_.AddInt32Constant(name, {int64_t(values.size())},
                                  std::vector<int32_t>(values.begin(), values.end()));
}

Expected<Value> Converter::Activation(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) {
    if (IsConstant(name)) return Cannot("input '" + name + "' is a constant; only activations convert here");
    return Internal(path_ + ": tensor '" + name + "' used before it was converted");
  }
  return it->second;
}

int Converter::Reshape(int tensor, const Shape& shape, const std::string& name, std::vector<int> nodes,
                       const std::string& added_for) {
  auto& b = writer_.builder();
  const std::vector<int32_t> dims(shape.begin(), shape.end());
  auto options = tfl::CreateReshapeOptions(b, b.CreateVector(dims)).Union();
  const int shape_tensor = Int32Vector(name + "/shape", shape);
  const int output = NewTensor(name, shape);
  Emit(tfl::BuiltinOperator_RESHAPE, 1, {tensor, shape_tensor}, {output}, std::move(nodes), added_for,
       tfl::BuiltinOptions_ReshapeOptions, options);
  return output;
}

int Converter::InLayout(const std::string& name, const Value& value, const Permutation& perm, int node,
                        bool any_shape) {
  if (value.perm == perm) return value.tensor;
  if (auto it = layout_cache_.find({value.tensor, perm}); it != layout_cache_.end()) return it->second;
  // The transposition of the TFLite tensor: target dim i = onnx dim perm[i] = current dim t[i].
  const Permutation inverse = InversePermutation(value.perm);
  Permutation t(perm.size());
  for (std::size_t i = 0; i < perm.size(); ++i) t[i] = inverse[perm[i]];
  const Shape& shape = writer_.shape(value.tensor);
  const Shape target = PermuteShape(shape, t);
  const std::string target_name = name + "/" + (perm == kNchwToNhwc ? "nhwc" : perm == Identity(perm.size()) ? "onnx" : "perm");
  const std::vector<int> nodes = node < 0 ? std::vector<int>{} : std::vector<int>{node};
  if (IsMemoryOrderPreserved(shape, t) && any_shape) return value.tensor;  // nothing to emit
  report_.log.push_back("layout: '" + name + "' " + PermText(value.perm) + " -> " + PermText(perm) +
                        " for " + (node < 0 ? std::string("the graph output") : "'" + Label(node) + "'"));
  int result;
  if (IsMemoryOrderPreserved(shape, t)) {
    result = Reshape(value.tensor, target, target_name, nodes, "layout");
  } else {
    const CollapsedTranspose collapsed = CollapseTranspose(shape, t);
    int source = value.tensor;
    if (collapsed.shape != shape) source = Reshape(source, collapsed.shape, target_name + "/collapsed", nodes, "layout");
    const Shape transposed = PermuteShape(collapsed.shape, collapsed.perm);
    const int perm_tensor = Int32Vector(target_name + "/perm", {collapsed.perm.begin(), collapsed.perm.end()});
    auto& b = writer_.builder();
    auto options = tfl::CreateTransposeOptions(b).Union();
    result = NewTensor(collapsed.shape != shape ? target_name + "/transposed" : target_name, transposed);
    Emit(tfl::BuiltinOperator_TRANSPOSE, 1, {source, perm_tensor}, {result}, nodes, "layout",
         tfl::BuiltinOptions_TransposeOptions, options);
    if (transposed != target) {
      if (any_shape) return result;
      result = Reshape(result, target, target_name, nodes, "layout");
    }
  }
  layout_cache_[{value.tensor, perm}] = result;
  return result;
}


int Converter::Pad(int tensor, const std::vector<std::pair<int64_t, int64_t>>& paddings, float pad_value,
                   int node, const std::string& added_for) {
  std::vector<int32_t> flat;
  Shape padded = writer_.shape(tensor);
  for (std::size_t d = 0; d < paddings.size(); ++d) {
    flat.push_back(int32_t(paddings[d].first));
    flat.push_back(int32_t(paddings[d].second));
    padded[d] += paddings[d].first + paddings[d].second;
  }
  const std::string name = writer_.name(tensor) + "/padded";
  const int pads = writer_.AddInt32Constant(name + "/paddings", {int64_t(paddings.size()), 2}, flat);
  const int output = NewTensor(name, padded);
  auto& b = writer_.builder();
  if (pad_value == 0) {
    Emit(tfl::BuiltinOperator_PAD, 1, {tensor, pads}, {output}, {node}, added_for,
         tfl::BuiltinOptions_PadOptions, tfl::CreatePadOptions(b).Union());
  } else {
    const int value = writer_.AddFloatConstant(name + "/value", {}, {pad_value});
    Emit(tfl::BuiltinOperator_PADV2, 1, {tensor, pads, value}, {output}, {node}, added_for,
         tfl::BuiltinOptions_PadV2Options, tfl::CreatePadV2Options(b).Union());
  }
  return output;
}

int Converter::Weights(const std::string& name, const Shape& shape, const std::vector<float>& values,
                       int node) {
  if (!float16_weights_) return writer_.AddFloatConstant(name, shape, values);
  std::string bytes(values.size() * 2, '\0');
  for (std::size_t i = 0; i < values.size(); ++i) {
    const uint16_t half = FloatToHalf(values[i]);
    std::memcpy(bytes.data() + 2 * i, &half, 2);
  }
  const int half = writer_.AddTensor(name + "/fp16", tfl::TensorType_FLOAT16, shape, std::move(bytes));
  const int wide = NewTensor(name, shape);
  // DEQUANTIZE of float16 is version 3 (TFLite 2.2 registers up to 4).
  Emit(tfl::BuiltinOperator_DEQUANTIZE, 3, {half}, {wide}, {node}, "precision",
       tfl::BuiltinOptions_DequantizeOptions, tfl::CreateDequantizeOptions(writer_.builder()).Union());
  return wide;
}

Expected<int> Converter::BroadcastConstant(const std::string& name, const Permutation& perm, int node) {
  auto values = ConstantFloats(name);
  if (!values.ok()) return values.error();
  auto shape = OnnxShape(name);
  if (!shape.ok()) return shape.error();
  if (shape->size() > perm.size()) return Cannot("constant '" + name + "' has more dims than the activation");
  Shape full(perm.size() - shape->size(), 1);  // ONNX broadcasting aligns trailing dims
  full.insert(full.end(), shape->begin(), shape->end());
  return Weights(name, PermuteShape(full, perm), TransposeData(*values, full, perm), node);
}

void Converter::Define(const std::string& onnx_name, int tensor, Permutation perm, bool non_negative) {
  values_[onnx_name] = Value{tensor, std::move(perm), non_negative};
}

void Converter::MarkFused(int fused, int into) {
  NodeConversion& entry = report_.nodes[entry_of_node_.at(fused)];
  entry.disposition = "fused";
  entry.fused_into = Label(into);
  done_[fused] = true;
}

tfl::ActivationFunctionType Converter::FuseActivation(int producer, std::string& output,
                                                      std::vector<int>& sources) {
  const auto consumer = SoleConsumer(output);
  if (!consumer) return NoActivation();
  const onnx::NodeProto& next = node(*consumer);
  tfl::ActivationFunctionType activation = NoActivation();
  if (next.op_type() == "Relu") {
    activation = tfl::ActivationFunctionType_RELU;
  } else if (next.op_type() == "Clip") {
    auto bounds = ClipBounds(next);
    if (!bounds.ok()) return NoActivation();
    activation = ClipAsActivation(bounds->first, bounds->second);
  }
  if (activation == NoActivation()) return activation;
  MarkFused(*consumer, producer);
  sources.push_back(*consumer);
  report_.log.push_back("fused " + next.op_type() + " '" + Label(*consumer) + "' into '" +
                        Label(producer) + "' (fused_activation_function " +
                        tfl::EnumNameActivationFunctionType(activation) + ")");
  output = next.output(0);
  return activation;
}

bool IsNonNegative(tfl::ActivationFunctionType activation) {
  return activation == tfl::ActivationFunctionType_RELU || activation == tfl::ActivationFunctionType_RELU6;
}

// -------------------------------------------------------------------------------- operators

struct Window {
  std::vector<int64_t> kernel, strides, dilations, pads;  // pads: begins then ends
};

Expected<Window> ReadWindow(const onnx::NodeProto& n, const Shape& kernel, const Shape& in,
                            const Shape& out) {
  Window w;
  w.kernel = kernel;
  w.strides = IntsAttribute(n, "strides").value_or(std::vector<int64_t>(kernel.size(), 1));
  w.dilations = IntsAttribute(n, "dilations").value_or(std::vector<int64_t>(kernel.size(), 1));
  w.pads = IntsAttribute(n, "pads").value_or(std::vector<int64_t>(2 * kernel.size(), 0));
  if (w.strides.size() != 2 || w.dilations.size() != 2 || w.pads.size() != 4) {
    return Cannot("only 2-D windows convert");
  }
  const std::string auto_pad = StringAttribute(n, "auto_pad", "NOTSET");
  if (auto_pad == "VALID") {
    w.pads.assign(4, 0);
  } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    for (int d = 0; d < 2; ++d) {
      const int64_t window = (w.kernel[d] - 1) * w.dilations[d] + 1;
      const int64_t total = std::max<int64_t>((out[d] - 1) * w.strides[d] + window - in[d], 0);
      const int64_t small = total / 2;
      w.pads[d] = auto_pad == "SAME_UPPER" ? small : total - small;
      w.pads[d + 2] = total - w.pads[d];
    }
  } else if (auto_pad != "NOTSET") {
    return Cannot("auto_pad " + auto_pad + " is not supported");
  }
  for (int64_t pad : w.pads) {
    if (pad < 0) return Cannot("negative pads do not convert");
  }
  return w;
}

std::vector<SpatialPadding> Spatial(const Window& w, const Shape& in, const Shape& out) {
  std::vector<SpatialPadding> dims;
  for (int d = 0; d < 2; ++d) {
    dims.push_back({in[d], w.kernel[d], w.strides[d], w.dilations[d], w.pads[d], w.pads[d + 2], out[d]});
  }
  return dims;
}

// NHWC paddings of an explicit PAD that lets a VALID window compute the ONNX windows.
std::vector<std::pair<int64_t, int64_t>> ExplicitPads(const std::vector<SpatialPadding>& dims) {
  std::vector<std::pair<int64_t, int64_t>> pads{{0, 0}};
  for (const SpatialPadding& dim : dims) {
    pads.push_back({dim.begin, std::max<int64_t>(EffectiveEndPadding(dim), 0)});
  }
  pads.push_back({0, 0});
  return pads;
}

std::string PadsText(const std::vector<int64_t>& pads) {
  std::string text = "[";
  for (std::size_t i = 0; i < pads.size(); ++i) text += (i ? "," : "") + std::to_string(pads[i]);
  return text + "]";
}

Status Converter::ConvertConv(int index) {
  const onnx::NodeProto& n = node(index);
  const std::string& x_name = n.input(0);
  auto x = Activation(x_name);
  if (!x.ok()) return x.error();
  if (x->perm.size() != 4) return Cannot("only 2-D convolutions (4-D inputs) convert");
  auto w_shape = OnnxShape(inspect::InputName(n, 1));
  if (!w_shape.ok()) return w_shape.error();
  auto weights = ConstantFloats(n.input(1));
  if (!weights.ok()) return weights.error();
  const int64_t out_channels = (*w_shape)[0];
  std::vector<float> bias(std::size_t(out_channels), 0.f);
  if (!inspect::InputName(n, 2).empty()) {
    auto b = ConstantFloats(n.input(2));
    if (!b.ok()) return b.error();
    if (int64_t(b->size()) != out_channels) return BadModel(path_ + ": Conv '" + Label(index) + "' bias size");
    bias = *b;
  }
  const int input = InLayout(x_name, *x, kNchwToNhwc, index);
  const Shape in_nhwc = writer_.shape(input);
  const int64_t in_channels = in_nhwc[3];
  const int64_t group = IntAttribute(n, "group", 1);
  const bool depthwise = group > 1 && group == in_channels && (*w_shape)[1] == 1;
  if (group != 1 && !depthwise) {
    return Cannot("grouped convolution with group " + std::to_string(group) + " of " +
                  std::to_string(in_channels) + " channels (TFLite has plain and depthwise only)");
  }

  std::string output = n.output(0);
  std::vector<int> sources{index};
  // BatchNormalization reading only this Conv folds into its weights.
  if (auto consumer = SoleConsumer(output); consumer && node(*consumer).op_type() == "BatchNormalization") {
    const onnx::NodeProto& bn_node = node(*consumer);
    BatchNorm bn;
    bn.epsilon = FloatAttribute(bn_node, "epsilon", 1e-5f);
    bool constant = true;
    std::vector<float>* parts[] = {&bn.scale, &bn.bias, &bn.mean, &bn.variance};
    for (int i = 0; i < 4 && constant; ++i) {
      auto values = ConstantFloats(inspect::InputName(bn_node, i + 1));
      constant = values.ok() && int64_t(values->size()) == out_channels;
      if (constant) *parts[i] = std::move(*values);
    }
    if (constant && bn_node.output_size() >= 1) {
      FoldBatchNorm(bn, *weights, bias);
      MarkFused(*consumer, index);
      sources.push_back(*consumer);
      report_.log.push_back("folded BatchNormalization '" + Label(*consumer) + "' into Conv '" +
                            Label(index) + "'");
      output = bn_node.output(0);
    }
  }
  const tfl::ActivationFunctionType activation = FuseActivation(index, output, sources);

  auto out_shape = OnnxShape(output);
  if (!out_shape.ok()) return out_shape.error();
  const Shape kernel{(*w_shape)[2], (*w_shape)[3]};
  auto window = ReadWindow(n, kernel, {in_nhwc[1], in_nhwc[2]}, {(*out_shape)[2], (*out_shape)[3]});
  if (!window.ok()) return window.error();
  if (auto pending = pending_pads_.find(x_name); pending != pending_pads_.end()) {
    for (int i = 0; i < 4; ++i) window->pads[i] += pending->second.pads[i];
    sources.push_back(pending->second.node);
  }
  const auto dims = Spatial(*window, {in_nhwc[1], in_nhwc[2]}, {(*out_shape)[2], (*out_shape)[3]});
  auto padding = MatchTflitePadding(dims);
  int source = input;
  if (!padding) {
    report_.log.push_back("padding: Conv '" + Label(index) + "' pads " + PadsText(window->pads) +
                          " are neither SAME nor VALID: explicit PAD");
    source = Pad(input, ExplicitPads(dims), 0.f, index, "padding");
    padding = TflitePadding::kValid;
  }
  const tfl::Padding tfl_padding = *padding == TflitePadding::kSame ? tfl::Padding_SAME : tfl::Padding_VALID;
  const Shape out_nhwc = PermuteShape(*out_shape, kNchwToNhwc);
  const std::string& base = n.output(0);
  const int bias_tensor = Weights(base + "/bias", {out_channels}, bias, index);
  const int result = NewTensor(output, out_nhwc);
  auto& b = writer_.builder();
  const int stride_h = int(window->strides[0]), stride_w = int(window->strides[1]);
  const int dilation_h = int(window->dilations[0]), dilation_w = int(window->dilations[1]);
  if (depthwise) {
    const int filter = Weights(base + "/filter", {1, kernel[0], kernel[1], out_channels},
                               DepthwiseWeightsTo1hwc(*weights, *w_shape), index);
    auto options = tfl::CreateDepthwiseConv2DOptions(b, tfl_padding, stride_w, stride_h,
                                                     int(out_channels / in_channels), activation,
                                                     dilation_w, dilation_h).Union();
    const int version = dilation_h != 1 || dilation_w != 1 ? 2 : 1;
    Emit(tfl::BuiltinOperator_DEPTHWISE_CONV_2D, version, {source, filter, bias_tensor}, {result}, sources,
         "", tfl::BuiltinOptions_DepthwiseConv2DOptions, options);
  } else {
    const int filter = Weights(base + "/filter", {out_channels, kernel[0], kernel[1], in_channels},
                               ConvWeightsToOhwi(*weights, *w_shape), index);
    auto options = tfl::CreateConv2DOptions(b, tfl_padding, stride_w, stride_h, activation, dilation_w,
                                            dilation_h).Union();
    Emit(tfl::BuiltinOperator_CONV_2D, 1, {source, filter, bias_tensor}, {result}, sources, "",
         tfl::BuiltinOptions_Conv2DOptions, options);
  }
  Define(output, result, kNchwToNhwc, IsNonNegative(activation));
  return OkStatus();
}

// A per-channel affine y = x * a + b (BatchNormalization with no Conv to fold into).
Status Converter::ConvertBatchNorm(int index) {
  const onnx::NodeProto& n = node(index);
  auto x = Activation(n.input(0));
  if (!x.ok()) return x.error();
  const std::size_t rank = x->perm.size();
  if (rank < 2) return Cannot("BatchNormalization needs a channel dim");
  BatchNorm bn;
  bn.epsilon = FloatAttribute(n, "epsilon", 1e-5f);
  std::vector<float>* parts[] = {&bn.scale, &bn.bias, &bn.mean, &bn.variance};
  for (int i = 0; i < 4; ++i) {
    auto values = ConstantFloats(inspect::InputName(n, i + 1));
    if (!values.ok()) return values.error();
    *parts[i] = std::move(*values);
  }
  std::vector<float> a, b;
  BatchNormAsAffine(bn, a, b);
  // The channel (onnx dim 1) sits at tflite dim inverse[1]; the constants broadcast along it.
  Shape shape(rank, 1);
  shape[InversePermutation(x->perm)[1]] = int64_t(a.size());
  auto& fb = writer_.builder();
  const std::string& out = n.output(0);
  const int scale = Weights(out + "/scale", shape, a, index);
  const int offset = Weights(out + "/offset", shape, b, index);
  const int scaled = NewTensor(out + "/scaled", writer_.shape(x->tensor));
  Emit(tfl::BuiltinOperator_MUL, 1, {x->tensor, scale}, {scaled}, {index}, "",
       tfl::BuiltinOptions_MulOptions, tfl::CreateMulOptions(fb).Union());
  std::string output = out;
  std::vector<int> sources{index};
  const auto activation = FuseActivation(index, output, sources);
  const int result = NewTensor(output, writer_.shape(x->tensor));
  Emit(tfl::BuiltinOperator_ADD, 1, {scaled, offset}, {result}, sources, "",
       tfl::BuiltinOptions_AddOptions, tfl::CreateAddOptions(fb, activation).Union());
  Define(output, result, x->perm, IsNonNegative(activation));
  return OkStatus();
}

Status Converter::ConvertBinary(int index, tfl::BuiltinOperator op) {
  const onnx::NodeProto& n = node(index);
  const std::string &a_name = n.input(0), &b_name = n.input(1);
  const bool a_constant = IsConstant(a_name);
  // The activation operand decides the layout; a constant one is laid out to match.
  const std::string& lead_name = a_constant ? b_name : a_name;
  auto lead = Activation(lead_name);
  if (!lead.ok()) return lead.error();
  auto out_shape = OnnxShape(n.output(0));
  if (!out_shape.ok()) return out_shape.error();
  if (out_shape->size() != lead->perm.size()) {
    return Cannot("broadcasting that raises the rank of an activation is not supported");
  }
  const Permutation perm = lead->perm;
  std::vector<int> operands;
  for (const std::string* name : {&a_name, &b_name}) {
    if (IsConstant(*name)) {
      auto constant = BroadcastConstant(*name, perm, index);
      if (!constant.ok()) return constant.error();
      operands.push_back(*constant);
      continue;
    }
    auto value = Activation(*name);
    if (!value.ok()) return value.error();
    if (value->perm.size() != perm.size()) return Cannot("operands of different rank");
    operands.push_back(InLayout(*name, *value, perm, index));
  }
  std::string output = n.output(0);
  std::vector<int> sources{index};
  const auto activation = FuseActivation(index, output, sources);
  const int result = NewTensor(output, PermuteShape(*out_shape, perm));
  auto& b = writer_.builder();
  tfl::BuiltinOptions type = tfl::BuiltinOptions_NONE;
  flatbuffers::Offset<void> options;
  switch (op) {
    case tfl::BuiltinOperator_ADD:
      type = tfl::BuiltinOptions_AddOptions, options = tfl::CreateAddOptions(b, activation).Union();
      break;
    case tfl::BuiltinOperator_SUB:
      type = tfl::BuiltinOptions_SubOptions, options = tfl::CreateSubOptions(b, activation).Union();
      break;
    case tfl::BuiltinOperator_MUL:
      type = tfl::BuiltinOptions_MulOptions, options = tfl::CreateMulOptions(b, activation).Union();
      break;
    default:
      type = tfl::BuiltinOptions_DivOptions, options = tfl::CreateDivOptions(b, activation).Union();
      break;
  }
  Emit(op, 1, operands, {result}, sources, "", type, options);
  Define(output, result, perm, IsNonNegative(activation));
  return OkStatus();
}

// Relu, Clip, Sigmoid, Tanh, LeakyRelu on their own (not fused into a producer).
Status Converter::ConvertUnaryActivation(int index) {
  const onnx::NodeProto& n = node(index);
  auto x = Activation(n.input(0));
  if (!x.ok()) return x.error();
  const std::string& type = n.op_type();
  const Shape shape = writer_.shape(x->tensor);
  const int result = NewTensor(n.output(0), shape);
  auto& b = writer_.builder();
  bool non_negative = false;
  if (type == "Relu") {
    Emit(tfl::BuiltinOperator_RELU, 1, {x->tensor}, {result}, {index}, "");
    non_negative = true;
  } else if (type == "Sigmoid") {
    Emit(tfl::BuiltinOperator_LOGISTIC, 1, {x->tensor}, {result}, {index}, "");
    non_negative = true;
  } else if (type == "Tanh") {
    Emit(tfl::BuiltinOperator_TANH, 1, {x->tensor}, {result}, {index}, "");
  } else if (type == "LeakyRelu") {
    Emit(tfl::BuiltinOperator_LEAKY_RELU, 1, {x->tensor}, {result}, {index}, "",
         tfl::BuiltinOptions_LeakyReluOptions,
         tfl::CreateLeakyReluOptions(b, FloatAttribute(n, "alpha", 0.01f)).Union());
  } else {  // Clip
    auto bounds = ClipBounds(n);
    if (!bounds.ok()) return bounds.error();
    const auto [low, high] = *bounds;
    non_negative = low >= 0;
    const auto activation = ClipAsActivation(low, high);
    if (activation == tfl::ActivationFunctionType_RELU6) {
      Emit(tfl::BuiltinOperator_RELU6, 1, {x->tensor}, {result}, {index}, "");
    } else if (activation == tfl::ActivationFunctionType_RELU) {
      Emit(tfl::BuiltinOperator_RELU, 1, {x->tensor}, {result}, {index}, "");
    } else if (activation == tfl::ActivationFunctionType_RELU_N1_TO_1) {
      Emit(tfl::BuiltinOperator_RELU_N1_TO_1, 1, {x->tensor}, {result}, {index}, "");
    } else {
      // max(x, low) then min(., high)
      const int low_tensor = writer_.AddFloatConstant(n.output(0) + "/min", {}, {low});
      const int high_tensor = writer_.AddFloatConstant(n.output(0) + "/max", {}, {high});
      const int raised = NewTensor(n.output(0) + "/raised", shape);
      Emit(tfl::BuiltinOperator_MAXIMUM, 1, {x->tensor, low_tensor}, {raised}, {index}, "",
           tfl::BuiltinOptions_MaximumMinimumOptions, tfl::CreateMaximumMinimumOptions(b).Union());
      Emit(tfl::BuiltinOperator_MINIMUM, 1, {raised, high_tensor}, {result}, {index}, "",
           tfl::BuiltinOptions_MaximumMinimumOptions, tfl::CreateMaximumMinimumOptions(b).Union());
    }
  }
  Define(n.output(0), result, x->perm, non_negative);
  return OkStatus();
}

// HardSigmoid(x) feeding only Mul(x, .) is hard-swish (HARD_SWISH); alone it is
// relu6(x * 6 alpha + 6 beta) / 6.
Status Converter::ConvertHardSigmoid(int index) {
  const onnx::NodeProto& n = node(index);
  const std::string& x_name = n.input(0);
  auto x = Activation(x_name);
  if (!x.ok()) return x.error();
  const float alpha = FloatAttribute(n, "alpha", 0.2f), beta = FloatAttribute(n, "beta", 0.5f);
  const Shape shape = writer_.shape(x->tensor);
  auto& b = writer_.builder();
  if (auto consumer = SoleConsumer(n.output(0));
      consumer && node(*consumer).op_type() == "Mul" && std::abs(alpha - 1.f / 6) < 1e-6f && beta == 0.5f) {
    const onnx::NodeProto& mul = node(*consumer);
    const std::string& other = mul.input(0) == n.output(0) ? mul.input(1) : mul.input(0);
    if (other == x_name) {
      MarkFused(*consumer, index);
      report_.log.push_back("fused HardSigmoid '" + Label(index) + "' and Mul '" + Label(*consumer) +
                            "' into HARD_SWISH");
      const int result = NewTensor(mul.output(0), shape);
      Emit(tfl::BuiltinOperator_HARD_SWISH, 1, {x->tensor}, {result}, {index, *consumer}, "",
           tfl::BuiltinOptions_HardSwishOptions, tfl::CreateHardSwishOptions(b).Union());
      Define(mul.output(0), result, x->perm);
      return OkStatus();
    }
  }
  const std::string& out = n.output(0);
  const int scale = writer_.AddFloatConstant(out + "/scale", {}, {6 * alpha});
  const int offset = writer_.AddFloatConstant(out + "/offset", {}, {6 * beta});
  const int sixth = writer_.AddFloatConstant(out + "/sixth", {}, {1.f / 6});
  const int scaled = NewTensor(out + "/scaled", shape), clipped = NewTensor(out + "/relu6", shape);
  const int result = NewTensor(out, shape);
  Emit(tfl::BuiltinOperator_MUL, 1, {x->tensor, scale}, {scaled}, {index}, "",
       tfl::BuiltinOptions_MulOptions, tfl::CreateMulOptions(b).Union());
  Emit(tfl::BuiltinOperator_ADD, 1, {scaled, offset}, {clipped}, {index}, "",
       tfl::BuiltinOptions_AddOptions, tfl::CreateAddOptions(b, tfl::ActivationFunctionType_RELU6).Union());
  Emit(tfl::BuiltinOperator_MUL, 1, {clipped, sixth}, {result}, {index}, "",
       tfl::BuiltinOptions_MulOptions, tfl::CreateMulOptions(b).Union());
  Define(out, result, x->perm, true);
  return OkStatus();
}

Status Converter::ConvertConcat(int index) {
  const onnx::NodeProto& n = node(index);
  const Value* lead = nullptr;
  for (const auto& input : n.input()) {
    if (auto it = values_.find(input); it != values_.end()) {
      lead = &it->second;
      break;
    }
  }
  if (!lead) return Cannot("Concat of constants only");
  const Permutation perm = lead->perm;
  std::vector<int> inputs;
  bool non_negative = true;
  for (const auto& name : n.input()) {
    if (IsConstant(name)) {
      auto constant = BroadcastConstant(name, perm, index);
      if (!constant.ok()) return constant.error();
      inputs.push_back(*constant);
      non_negative = false;
      continue;
    }
    auto value = Activation(name);
    if (!value.ok()) return value.error();
    if (value->perm.size() != perm.size()) return Cannot("inputs of different rank");
    inputs.push_back(InLayout(name, *value, perm, index));
    non_negative = non_negative && value->non_negative;
  }
  auto out_shape = OnnxShape(n.output(0));
  if (!out_shape.ok()) return out_shape.error();
  const int64_t axis = NormalizeAxis(IntAttribute(n, "axis", 1), perm.size());
  const int tfl_axis = InversePermutation(perm)[std::size_t(axis)];
  const int result = NewTensor(n.output(0), PermuteShape(*out_shape, perm));
  auto& b = writer_.builder();
  Emit(tfl::BuiltinOperator_CONCATENATION, 1, inputs, {result}, {index}, "",
       tfl::BuiltinOptions_ConcatenationOptions, tfl::CreateConcatenationOptions(b, tfl_axis).Union());
  Define(n.output(0), result, perm, non_negative);
  return OkStatus();
}

Status Converter::ConvertPool(int index) {
  const onnx::NodeProto& n = node(index);
  const bool max = n.op_type() == "MaxPool";
  auto x = Activation(n.input(0));
  if (!x.ok()) return x.error();
  if (x->perm.size() != 4) return Cannot("only 2-D pooling (4-D inputs) converts");
  if (max && n.output_size() > 1 && !n.output(1).empty()) return Cannot("MaxPool indices output");
  if (IntAttribute(n, "storage_order", 0) != 0) return Cannot("storage_order 1");
  const int input = InLayout(n.input(0), *x, kNchwToNhwc, index);
  const Shape in = writer_.shape(input);
  auto kernel = IntsAttribute(n, "kernel_shape");
  if (!kernel || kernel->size() != 2) return Cannot("only 2-D pooling converts");
  std::string output = n.output(0);
  std::vector<int> sources{index};
  const auto activation = FuseActivation(index, output, sources);
  auto out_shape = OnnxShape(output);
  if (!out_shape.ok()) return out_shape.error();
  auto window = ReadWindow(n, *kernel, {in[1], in[2]}, {(*out_shape)[2], (*out_shape)[3]});
  if (!window.ok()) return window.error();
  if (window->dilations != std::vector<int64_t>{1, 1}) return Cannot("dilated pooling");
  const auto dims = Spatial(*window, {in[1], in[2]}, {(*out_shape)[2], (*out_shape)[3]});
  const bool count_include_pad = !max && IntAttribute(n, "count_include_pad", 0) != 0;
  bool any_pad = false;
  for (const auto& dim : dims) any_pad = any_pad || dim.begin > 0 || EffectiveEndPadding(dim) > 0;
  std::optional<TflitePadding> padding = MatchTflitePadding(dims);
  // TFLite's SAME pooling skips the padding like ONNX MaxPool and AveragePool without
  // count_include_pad; an average that counts the padding needs explicit zeros.
  if (padding == TflitePadding::kSame && count_include_pad && any_pad) padding.reset();
  int source = input;
  if (!padding) {
    if (!max && !count_include_pad) {
      return Cannot("average pooling pads " + PadsText(window->pads) +
                    " without count_include_pad have no TFLite equivalent");
    }
    if (!max) {
      for (const auto& dim : dims) {
        if (EffectiveEndPadding(dim) > dim.end) {
          return Cannot("ceil_mode windows past the padding of an average pool");
        }
      }
    }
    // Zeros are exact for a max over a non-negative input; otherwise pad with the lowest float.
    const float pad_value = max && !x->non_negative ? -FLT_MAX : 0.f;
    report_.log.push_back("padding: " + n.op_type() + " '" + Label(index) + "' pads " +
                          PadsText(window->pads) + " are neither SAME nor VALID: explicit " +
                          (pad_value == 0 ? "PAD" : "PADV2 (lowest float)"));
    source = Pad(input, ExplicitPads(dims), pad_value, index, "padding");
    padding = TflitePadding::kValid;
  }
  const Shape out_nhwc = PermuteShape(*out_shape, kNchwToNhwc);
  const int result = NewTensor(output, out_nhwc);
  auto& b = writer_.builder();
  auto options = tfl::CreatePool2DOptions(
      b, *padding == TflitePadding::kSame ? tfl::Padding_SAME : tfl::Padding_VALID,
      int(window->strides[1]), int(window->strides[0]), int((*kernel)[1]), int((*kernel)[0]), activation);
  Emit(max ? tfl::BuiltinOperator_MAX_POOL_2D : tfl::BuiltinOperator_AVERAGE_POOL_2D, 1, {source},
       {result}, sources, "", tfl::BuiltinOptions_Pool2DOptions, options.Union());
  Define(output, result, kNchwToNhwc, IsNonNegative(activation) || (max && x->non_negative));
  return OkStatus();
}

Status Converter::ConvertGlobalAveragePool(int index) {
  const onnx::NodeProto& n = node(index);
  auto x = Activation(n.input(0));
  if (!x.ok()) return x.error();
  if (x->perm.size() != 4) return Cannot("only 4-D inputs convert");
  const int input = InLayout(n.input(0), *x, kNchwToNhwc, index);
  Shape out = writer_.shape(input);
  out[1] = out[2] = 1;
  const int axes = Int32Vector(n.output(0) + "/axes", {1, 2});
  const int result = NewTensor(n.output(0), out);
  auto& b = writer_.builder();
  Emit(tfl::BuiltinOperator_MEAN, 1, {input, axes}, {result}, {index}, "",
       tfl::BuiltinOptions_ReducerOptions, tfl::CreateReducerOptions(b, true).Union());
  Define(n.output(0), result, kNchwToNhwc, x->non_negative);
  return OkStatus();
}

Status Converter::ConvertReduceMean(int index) {
  const onnx::NodeProto& n = node(index);
  auto x = Activation(n.input(0));
  if (!x.ok()) return x.error();
  const std::size_t rank = x->perm.size();
  std::vector<int64_t> axes = IntsAttribute(n, "axes").value_or(std::vector<int64_t>{});
  if (axes.empty()) {
    axes.resize(rank);
    std::iota(axes.begin(), axes.end(), 0);
  }
  const Permutation inverse = InversePermutation(x->perm);
  std::set<int> reduced_onnx;
  std::vector<int64_t> tfl_axes;
  for (int64_t axis : axes) {
    axis = NormalizeAxis(axis, rank);
    if (axis < 0 || axis >= int64_t(rank)) return BadModel(path_ + ": ReduceMean '" + Label(index) + "' axis out of range");
    reduced_onnx.insert(int(axis));
    tfl_axes.push_back(inverse[std::size_t(axis)]);
  }
  std::sort(tfl_axes.begin(), tfl_axes.end());
  const bool keep = IntAttribute(n, "keepdims", 1) != 0;
  // Without keepdims the remaining dims keep their tflite order; renumber their onnx dims.
  Permutation perm = x->perm;
  if (!keep) {
    perm.clear();
    for (int axis : x->perm) {
      if (reduced_onnx.count(axis)) continue;
      int below = 0;
      for (int r : reduced_onnx) below += r < axis;
      perm.push_back(axis - below);
    }
  }
  auto out_shape = OnnxShape(n.output(0));
  if (!out_shape.ok()) return out_shape.error();
  const int axes_tensor = Int32Vector(n.output(0) + "/axes", tfl_axes);
  const int result = NewTensor(n.output(0), PermuteShape(*out_shape, perm));
  auto& b = writer_.builder();
  Emit(tfl::BuiltinOperator_MEAN, 1, {x->tensor, axes_tensor}, {result}, {index}, "",
       tfl::BuiltinOptions_ReducerOptions, tfl::CreateReducerOptions(b, keep).Union());
  Define(n.output(0), result, perm, x->non_negative);
  return OkStatus();
}

// Reshape, Flatten, Squeeze, Unsqueeze: a RESHAPE to the inferred output shape.
Status Converter::ConvertReshape(int index) {
  const onnx::NodeProto& n = node(index);
  auto x = Activation(n.input(0));
  if (!x.ok()) return x.error();
  auto out_shape = OnnxShape(n.output(0));
  if (!out_shape.ok()) return out_shape.error();
  auto in_shape = OnnxShape(n.input(0));
  if (!in_shape.ok()) return in_shape.error();
  // Split and merged dims stay where they are in the TFLite tensor when they can (a channel
  // shuffle on NHWC moves no data here); otherwise the input is transposed first.
  const ReshapeLayout layout = PlanReshape(*in_shape, *out_shape, x->perm)
                                   .value_or(ReshapeLayout{Identity(in_shape->size()), Identity(out_shape->size())});
  const int input = InLayout(n.input(0), *x, layout.input, index, /*any_shape=*/true);
  const int result = Reshape(input, PermuteShape(*out_shape, layout.output), n.output(0), {index}, "");
  Define(n.output(0), result, layout.output, x->non_negative);
  return OkStatus();
}

// No operator: the output is the input with its dims renamed (the permutation absorbs it).
Status Converter::ConvertTranspose(int index) {
  const onnx::NodeProto& n = node(index);
  auto x = Activation(n.input(0));
  if (!x.ok()) return x.error();
  const std::size_t rank = x->perm.size();
  Permutation perm(rank);
  if (auto attribute = IntsAttribute(n, "perm")) {
    if (attribute->size() != rank) return BadModel(path_ + ": Transpose '" + Label(index) + "' perm rank");
    std::copy(attribute->begin(), attribute->end(), perm.begin());
  } else {
    for (std::size_t i = 0; i < rank; ++i) perm[i] = int(rank - 1 - i);
  }
  // output onnx dim i = input onnx dim perm[i]; tflite dim j holds input dim x.perm[j].
  const Permutation inverse = InversePermutation(perm);
  Permutation out_perm(rank);
  for (std::size_t j = 0; j < rank; ++j) out_perm[j] = inverse[std::size_t(x->perm[j])];
  NodeConversion& entry = report_.nodes[entry_of_node_.at(index)];
  entry.disposition = "removed";
  report_.log.push_back("Transpose '" + Label(index) + "' needs no operator: its output is laid out as " +
                        PermText(out_perm));
  Define(n.output(0), x->tensor, out_perm, x->non_negative);
  return OkStatus();
}

Status Converter::ConvertSplit(int index) {
  const onnx::NodeProto& n = node(index);
  auto x = Activation(n.input(0));
  if (!x.ok()) return x.error();
  const std::size_t rank = x->perm.size();
  const int64_t axis = NormalizeAxis(IntAttribute(n, "axis", 0), rank);
  const int tfl_axis = InversePermutation(x->perm)[std::size_t(axis)];
  std::vector<int64_t> sizes;
  std::vector<int> outputs;
  for (const auto& output : n.output()) {
    auto shape = OnnxShape(output);
    if (!shape.ok()) return shape.error();
    sizes.push_back((*shape)[std::size_t(axis)]);
    outputs.push_back(NewTensor(output, PermuteShape(*shape, x->perm)));
  }
  auto& b = writer_.builder();
  const bool equal = std::all_of(sizes.begin(), sizes.end(), [&](int64_t s) { return s == sizes[0]; });
  const int axis_tensor = writer_.AddInt32Constant(n.output(0) + "/axis", {1}, {tfl_axis});
  if (equal) {
    Emit(tfl::BuiltinOperator_SPLIT, 1, {axis_tensor, x->tensor}, outputs, {index}, "",
         tfl::BuiltinOptions_SplitOptions, tfl::CreateSplitOptions(b, int(sizes.size())).Union());
  } else {
    const int size_tensor = Int32Vector(n.output(0) + "/sizes", sizes);
    Emit(tfl::BuiltinOperator_SPLIT_V, 1, {x->tensor, size_tensor, axis_tensor}, outputs, {index}, "",
         tfl::BuiltinOptions_SplitVOptions, tfl::CreateSplitVOptions(b, int(sizes.size())).Union());
  }
  for (int o = 0; o < n.output_size(); ++o) Define(n.output(o), outputs[std::size_t(o)], x->perm, x->non_negative);
  return OkStatus();
}

// Softmax before opset 13 normalizes over all dims from `axis` on; TFLite's over the last dim.
Status Converter::ConvertSoftmax(int index) {
  const onnx::NodeProto& n = node(index);
  auto x = Activation(n.input(0));
  if (!x.ok()) return x.error();
  const std::size_t rank = x->perm.size();
  const int64_t axis = NormalizeAxis(IntAttribute(n, "axis", analysis_.opset < 13 ? 1 : -1), rank);
  auto& b = writer_.builder();
  auto options = [&] { return tfl::CreateSoftmaxOptions(b, 1.f).Union(); };
  const Shape onnx_shape = PermuteShape(writer_.shape(x->tensor), InversePermutation(x->perm));
  if (axis == int64_t(rank) - 1 && x->perm.back() == int(rank) - 1) {
    const int result = NewTensor(n.output(0), writer_.shape(x->tensor));
    Emit(tfl::BuiltinOperator_SOFTMAX, 1, {x->tensor}, {result}, {index}, "",
         tfl::BuiltinOptions_SoftmaxOptions, options());
    Define(n.output(0), result, x->perm);
    return OkStatus();
  }
  if (analysis_.opset >= 13 && axis != int64_t(rank) - 1) return Cannot("Softmax over a dim that is not the last");
  int64_t outer = 1, inner = 1;
  for (std::size_t d = 0; d < rank; ++d) (int64_t(d) < axis ? outer : inner) *= onnx_shape[d];
  const int input = InLayout(n.input(0), *x, Identity(rank), index, /*any_shape=*/true);
  const int flat = Reshape(input, {outer, inner}, n.output(0) + "/2d", {index}, "layout");
  const int soft = NewTensor(n.output(0) + "/softmax", {outer, inner});
  Emit(tfl::BuiltinOperator_SOFTMAX, 1, {flat}, {soft}, {index}, "", tfl::BuiltinOptions_SoftmaxOptions,
       options());
  const int result = Reshape(soft, onnx_shape, n.output(0), {index}, "layout");
  Define(n.output(0), result, Identity(rank));
  return OkStatus();
}

Status Converter::ConvertPad(int index) {
  const onnx::NodeProto& n = node(index);
  auto x = Activation(n.input(0));
  if (!x.ok()) return x.error();
  const std::size_t rank = x->perm.size();
  const std::string mode = StringAttribute(n, "mode", "constant");
  if (mode != "constant") return Cannot("Pad mode '" + mode + "' (only constant converts)");
  std::vector<int64_t> pads;
  float value = 0;
  if (analysis_.opset < 11) {
    pads = IntsAttribute(n, "pads").value_or(std::vector<int64_t>{});
    value = FloatAttribute(n, "value", 0.f);
  } else {
    auto constant = ConstantInts(inspect::InputName(n, 1));
    if (!constant.ok()) return constant.error();
    pads = *constant;
    if (!inspect::InputName(n, 2).empty()) {
      auto v = ConstantFloats(n.input(2));
      if (!v.ok()) return v.error();
      if (v->size() != 1) return Cannot("Pad value must be a scalar");
      value = (*v)[0];
    }
  }
  if (pads.size() != 2 * rank) return BadModel(path_ + ": Pad '" + Label(index) + "' has " + std::to_string(pads.size()) + " pads for rank " + std::to_string(rank));
  if (std::any_of(pads.begin(), pads.end(), [](int64_t p) { return p < 0; })) return Cannot("negative pads (cropping)");
  if (std::all_of(pads.begin(), pads.end(), [](int64_t p) { return p == 0; })) {
    report_.nodes[entry_of_node_.at(index)].disposition = "removed";
    Define(n.output(0), x->tensor, x->perm, x->non_negative);
    return OkStatus();
  }
  // Zero padding of H and W feeding only a Conv becomes part of the Conv's padding.
  if (auto consumer = SoleConsumer(n.output(0)); consumer && node(*consumer).op_type() == "Conv" &&
      rank == 4 && value == 0 && pads[0] == 0 && pads[1] == 0 && pads[4] == 0 && pads[5] == 0 &&
      node(*consumer).input(0) == n.output(0)) {
    MarkFused(index, *consumer);
    pending_pads_[n.output(0)] = {index, {pads[2], pads[3], pads[6], pads[7]}};
    report_.log.push_back("merged Pad '" + Label(index) + "' into the padding of Conv '" + Label(*consumer) + "'");
    Define(n.output(0), x->tensor, x->perm, x->non_negative);
    return OkStatus();
  }
  if (rank > 4) return Cannot("PAD of more than 4 dims");
  std::vector<std::pair<int64_t, int64_t>> paddings;
  for (int axis : x->perm) paddings.push_back({pads[std::size_t(axis)], pads[std::size_t(axis) + rank]});
  const int padded = Pad(x->tensor, paddings, value, index, "");
  Define(n.output(0), padded, x->perm, x->non_negative && value >= 0);
  return OkStatus();
}

// Gemm (no transA) and MatMul with a constant right-hand side: FULLY_CONNECTED.
Status Converter::ConvertGemm(int index) {
  const onnx::NodeProto& n = node(index);
  const bool gemm = n.op_type() == "Gemm";
  auto a = Activation(n.input(0));
  if (!a.ok()) return a.error();
  if (a->perm.size() != 2) return Cannot("only 2-D inputs convert");
  if (gemm && IntAttribute(n, "transA", 0) != 0) return Cannot("transA=1");
  auto b_shape = OnnxShape(n.input(1));
  if (!b_shape.ok()) return b_shape.error();
  auto weights = ConstantFloats(n.input(1));
  if (!weights.ok()) return weights.error();
  if (b_shape->size() != 2) return Cannot("the weights must be 2-D");
  const bool trans_b = gemm && IntAttribute(n, "transB", 0) != 0;
  // FULLY_CONNECTED wants [out, in]: ONNX B is [in, out] unless transB.
  std::vector<float> filter = trans_b ? *weights : TransposeData(*weights, *b_shape, {1, 0});
  const int64_t units = trans_b ? (*b_shape)[0] : (*b_shape)[1];
  const int64_t depth = trans_b ? (*b_shape)[1] : (*b_shape)[0];
  const float alpha = gemm ? FloatAttribute(n, "alpha", 1.f) : 1.f;
  const float beta = gemm ? FloatAttribute(n, "beta", 1.f) : 1.f;
  if (alpha != 1) for (float& w : filter) w *= alpha;
  std::vector<float> bias(std::size_t(units), 0.f);
  if (gemm && !inspect::InputName(n, 2).empty()) {
    auto c = ConstantFloats(n.input(2));
    if (!c.ok()) return c.error();
    if (c->size() == 1) {
      std::fill(bias.begin(), bias.end(), (*c)[0] * beta);
    } else if (int64_t(c->size()) == units) {
      for (std::size_t i = 0; i < bias.size(); ++i) bias[i] = (*c)[i] * beta;
    } else {
      return Cannot("a bias C that is not per output unit");
    }
  }
  const int input = InLayout(n.input(0), *a, {0, 1}, index);
  std::string output = n.output(0);
  std::vector<int> sources{index};
  const auto activation = FuseActivation(index, output, sources);
  const int filter_tensor = Weights(n.output(0) + "/weights", {units, depth}, filter, index);
  const int bias_tensor = Weights(n.output(0) + "/bias", {units}, bias, index);
  const int result = NewTensor(output, {writer_.shape(input)[0], units});
  auto& b = writer_.builder();
  Emit(tfl::BuiltinOperator_FULLY_CONNECTED, 1, {input, filter_tensor, bias_tensor}, {result}, sources, "",
       tfl::BuiltinOptions_FullyConnectedOptions,
       tfl::CreateFullyConnectedOptions(b, activation).Union());
  Define(output, result, {0, 1}, IsNonNegative(activation));
  return OkStatus();
}

Status Converter::ConvertNode(int index) {
  const std::string& type = node(index).op_type();
  if (!inspect::IsDefaultDomain(node(index).domain())) {
    return Cannot("operator of domain '" + node(index).domain() + "'");
  }
  if (type == "Conv") return ConvertConv(index);
  if (type == "BatchNormalization") return ConvertBatchNorm(index);
  if (type == "Add") return ConvertBinary(index, tfl::BuiltinOperator_ADD);
  if (type == "Sub") return ConvertBinary(index, tfl::BuiltinOperator_SUB);
  if (type == "Mul") return ConvertBinary(index, tfl::BuiltinOperator_MUL);
  if (type == "Div") return ConvertBinary(index, tfl::BuiltinOperator_DIV);
  if (type == "Relu" || type == "Clip" || type == "Sigmoid" || type == "Tanh" || type == "LeakyRelu") {
    return ConvertUnaryActivation(index);
  }
  if (type == "HardSigmoid") return ConvertHardSigmoid(index);
  if (type == "Concat") return ConvertConcat(index);
  if (type == "MaxPool" || type == "AveragePool") return ConvertPool(index);
  if (type == "GlobalAveragePool") return ConvertGlobalAveragePool(index);
  if (type == "ReduceMean") return ConvertReduceMean(index);
  if (type == "Reshape" || type == "Flatten" || type == "Squeeze" || type == "Unsqueeze") return ConvertReshape(index);
  if (type == "Transpose") return ConvertTranspose(index);
  if (type == "Split") return ConvertSplit(index);
  if (type == "Softmax") return ConvertSoftmax(index);
  if (type == "Pad") return ConvertPad(index);
  if (type == "Gemm" || type == "MatMul") return ConvertGemm(index);
  return Cannot("no TFLite conversion for " + type);
}

// -------------------------------------------------------------------------------- the graph

Status Converter::AddInputs() {
  if (!analysis_.assumed_dims.empty()) {
    std::string dims;
    for (const auto& dim : analysis_.assumed_dims) dims += (dims.empty() ? "" : ", ") + dim.substr(0, dim.rfind("=1"));
    const std::string input = analysis_.assumed_dims.front().substr(0, analysis_.assumed_dims.front().find('['));
    return InvalidArgument(path_ + ": input '" + input + "' has a dynamic dimension (" + dims +
                           "); TFLite needs static shapes: fix it with --shape " + input + "=DIMS");
  }
  for (const InspectedTensor& input : analysis_.inputs) {
    if (!input.rank_known) {
      return InvalidArgument(path_ + ": input '" + input.name + "' has no known rank; TFLite needs " +
                             "static shapes: give it with --shape " + input.name + "=DIMS");
    }
    if (input.type != "float32") {
      return Unsupported(path_ + ": input '" + input.name + "' is " + input.type + "; only float32 inputs convert");
    }
    const Permutation perm = input.shape.size() == 4 ? kNchwToNhwc : Identity(input.shape.size());
    const Shape shape = PermuteShape(input.shape, perm);
    const int tensor = NewTensor(input.name, shape);
    graph_inputs_.push_back(tensor);
    Define(input.name, tensor, perm);
    report_.inputs.push_back({input.name, input.shape, shape, perm});
  }
  return OkStatus();
}

Status Converter::AddOutputs() {
  for (const auto& output : graph_.output()) {
    auto value = Activation(output.name());
    if (!value.ok()) return value.error();
    // 4-D outputs stay NHWC (like the inputs); any other layout goes back to ONNX order.
    const std::size_t rank = value->perm.size();
    const Permutation perm = rank == 4 ? kNchwToNhwc : Identity(rank);
    const int tensor = InLayout(output.name(), *value, perm, -1);
    graph_outputs_tensors_.push_back(tensor);
    auto onnx_shape = OnnxShape(output.name());
    if (!onnx_shape.ok()) return onnx_shape.error();
    report_.outputs.push_back({output.name(), *onnx_shape, writer_.shape(tensor), perm});
  }
  return OkStatus();
}

Status Converter::Run() {
  for (const auto& tensor : graph_.initializer()) tensor_protos_[tensor.name()] = &tensor;
  for (int i = 0; i < graph_.node_size(); ++i) {
    const auto& n = graph_.node(i);
    if (n.op_type() != "Constant" || n.output_size() != 1) continue;
    if (const auto* value = FindAttribute(n, "value"); value && value->has_t()) {
      tensor_protos_[n.output(0)] = &value->t();
    }
  }
  for (const auto& output : graph_.output()) graph_outputs_.insert(output.name());
  for (int index : analysis_.order) {
    for (const auto& name : analysis_.reads[std::size_t(index)]) consumers_[name].push_back(index);
  }
  done_.assign(std::size_t(graph_.node_size()), false);
  for (int index : analysis_.order) {
    entry_of_node_[index] = int(report_.nodes.size());
    report_.nodes.push_back({Label(index), node(index).op_type(), "", {}, ""});
  }
  EB_RETURN_IF_ERROR(AddInputs());

  std::set<std::string> failed;  // outputs of nodes that did not convert
  for (int index : analysis_.order) {
    if (done_[std::size_t(index)]) continue;
    const onnx::NodeProto& n = node(index);
    NodeConversion& entry = report_.nodes[std::size_t(entry_of_node_[index])];
    const bool constant = n.op_type() == "Constant" ||
                          std::all_of(n.output().begin(), n.output().end(),
                                      [&](const std::string& o) { return o.empty() || IsConstant(o); });
    if (constant) {
      entry.disposition = "folded";
      continue;
    }
    if (std::any_of(n.input().begin(), n.input().end(), [&](const std::string& i) { return failed.count(i); })) {
      for (const auto& o : n.output()) failed.insert(o);
      continue;
    }
    if (n.op_type() == "Identity" || n.op_type() == "Dropout") {
      auto x = Activation(n.input(0));
      if (!x.ok()) return x.error();
      values_[n.output(0)] = *x;
      entry.disposition = "removed";
      continue;
    }
    Status status = ConvertNode(index);
    if (!status.ok() && status.error().code != ErrorCode::kUnsupported) return status;
    if (!status.ok()) {
      report_.unsupported.push_back({Label(index), n.op_type(), status.error().message});
      for (const auto& o : n.output()) failed.insert(o);
      continue;
    }
    if (entry.disposition.empty()) entry.disposition = "converted";
  }
  report_.nodes.erase(std::remove_if(report_.nodes.begin(), report_.nodes.end(),
                                     [](const NodeConversion& e) { return e.disposition.empty(); }),
                      report_.nodes.end());
  if (!report_.unsupported.empty()) return OkStatus();
  EB_RETURN_IF_ERROR(AddOutputs());
  report_.model = writer_.Finish(graph_inputs_, graph_outputs_tensors_,
                                 std::string("edgebench convert ") + kConverterVersion + " from " +
                                     std::filesystem::path(path_).filename().string());
  return OkStatus();
}

}  // namespace

Expected<ConversionReport> ConvertOnnxToTflite(const ConvertRequest& request) {
  auto analysis = inspect::AnalyzeOnnx(request.model_path, request.shapes);
  if (!analysis.ok()) return analysis.error();
  ConversionReport report;
  report.source_path = request.model_path;
  report.target = request.target;
  report.precision = request.precision;
  for (const auto& warning : analysis->warnings) report.log.push_back("warning: " + warning);
  Converter converter(*analysis, request.model_path, report);
  EB_RETURN_IF_ERROR(converter.Run());
  return report;
}

}  // namespace edgebench::convert
