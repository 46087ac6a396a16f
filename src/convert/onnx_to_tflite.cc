#include "onnx_to_tflite.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <numeric>
#include <optional>
#include <set>

#include <onnx/defs/schema.h>

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

// The NHWC shape of an ONNX NCHW shape, or (N, 1, L, C) of an NCL one (1-D as 2-D).
Shape NhwcShape(const Shape& onnx) {
  if (onnx.size() == 3) return {onnx[0], 1, onnx[2], onnx[1]};
  return PermuteShape(onnx, kNchwToNhwc);
}

std::string PermText(const Permutation& perm) {
  if (perm == Identity(perm.size())) return "onnx order";
  if (perm == kNchwToNhwc) return "NHWC";
  std::string text = "perm ";
  for (int axis : perm) text += std::to_string(axis);
  return text;
}

tfl::ActivationFunctionType NoActivation() { return tfl::ActivationFunctionType_NONE; }

// The fused activation that is exactly Clip(low, high), or NONE.
tfl::ActivationFunctionType ClipAsActivation(float low, float high) {
  if (low == 0 && high == 6) return tfl::ActivationFunctionType_RELU6;
  if (low == 0 && high == FLT_MAX) return tfl::ActivationFunctionType_RELU;
  if (low == -1 && high == 1) return tfl::ActivationFunctionType_RELU_N1_TO_1;
  return NoActivation();
}

// The options of ADD, SUB, MUL, DIV (with `activation`), MAXIMUM, MINIMUM; none for others (POW).
std::pair<tfl::BuiltinOptions, flatbuffers::Offset<void>> BinaryOptions(flatbuffers::FlatBufferBuilder& fb,
                                                                       tfl::BuiltinOperator op,
                                                                       tfl::ActivationFunctionType activation) {
  switch (op) {
    case tfl::BuiltinOperator_ADD: return {tfl::BuiltinOptions_AddOptions, tfl::CreateAddOptions(fb, activation).Union()};
    case tfl::BuiltinOperator_SUB: return {tfl::BuiltinOptions_SubOptions, tfl::CreateSubOptions(fb, activation).Union()};
    case tfl::BuiltinOperator_MUL: return {tfl::BuiltinOptions_MulOptions, tfl::CreateMulOptions(fb, activation).Union()};
    case tfl::BuiltinOperator_DIV: return {tfl::BuiltinOptions_DivOptions, tfl::CreateDivOptions(fb, activation).Union()};
    case tfl::BuiltinOperator_MAXIMUM:
    case tfl::BuiltinOperator_MINIMUM:
      return {tfl::BuiltinOptions_MaximumMinimumOptions, tfl::CreateMaximumMinimumOptions(fb).Union()};
    default: return {tfl::BuiltinOptions_NONE, 0};
  }
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
  // Node `index`'s axis as a dim of a tensor of `rank` (negative counts from the end); kBadModel
  // when out of range.
  Expected<int64_t> Axis(int index, int64_t axis, std::size_t rank) const;

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
  // A 3-D (N, C, L) or 4-D (N, C, H, W) activation as the 4-D NHWC tensor of a 2-D operator:
  // (N, 1, L, C) or (N, H, W, C). 1-D convolution and pooling run as 2-D ones.
  int AsNhwc(const std::string& name, const Value& value, int node);
  // Defines ONNX tensor `name` of `rank` 3 or 4 from `tensor`, the NHWC result of a 2-D operator.
  void DefineFromNhwc(const std::string& name, int tensor, std::size_t rank, int node, bool non_negative);
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
  Status ConvertReshape(int index);
  Status ConvertTranspose(int index);
  Status ConvertSplit(int index);
  Status ConvertSoftmax(int index);
  Status ConvertPad(int index);
  Status ConvertGemm(int index);
  Status ConvertMatMulOfActivations(int index);
  Status ConvertElementwise(int index);
  Status ConvertPRelu(int index);
  Status ConvertReduce(int index, tfl::BuiltinOperator op);
  Status ConvertTile(int index);
  Status ConvertSlice(int index);
  Status ConvertInstanceNorm(int index);
  Status ConvertConvTranspose(int index);
  Status ConvertEdgePad(int index, const Value& x, const std::vector<int64_t>& pads);
  Status ConvertResize(int index);

  // One operator of `node` with one output tensor of `shape`; returns the output.
  int Op(tfl::BuiltinOperator op, const std::vector<int>& inputs, const std::string& name, const Shape& shape,
         int node, tfl::BuiltinOptions options_type = tfl::BuiltinOptions_NONE,
         flatbuffers::Offset<void> options = 0);
  // ADD, SUB, MUL, DIV, MAXIMUM, MINIMUM, POW (with their options) of two tensors broadcasting
  // to `shape`.
  int Arith(tfl::BuiltinOperator op, int a, int b, const std::string& name, const Shape& shape, int node,
            tfl::ActivationFunctionType activation = tfl::ActivationFunctionType_NONE);
  int Scalar(const std::string& name, float value) { return writer_.AddFloatConstant(name, {}, {value}); }

  // Every default-domain node against its schema at the model's opset (opset_import): an opset
  // with no such operator, or a node that breaks its schema there, is kBadModel naming both.
  Status CheckOperatorSets() const;
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

Expected<int64_t> Converter::Axis(int index, int64_t axis, std::size_t rank) const {
  const int64_t normalized = axis < 0 ? axis + int64_t(rank) : axis;
  if (normalized < 0 || normalized >= int64_t(rank)) {
    return BadModel(path_ + ": node '" + Label(index) + "' (" + node(index).op_type() + "): axis " + std::to_string(axis) +
                    " is out of range for rank " + std::to_string(rank));
  }
  return normalized;
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
  const Shape shape = writer_.shape(value.tensor);
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

int Converter::AsNhwc(const std::string& name, const Value& value, int node) {
  if (value.perm.size() == 4) return InLayout(name, value, kNchwToNhwc, node);
  const int nlc = InLayout(name, value, {0, 2, 1}, node, /*any_shape=*/true);
  const Shape onnx = PermuteShape(writer_.shape(value.tensor), InversePermutation(value.perm));
  return Reshape(nlc, NhwcShape(onnx), name + "/2d", {node}, "layout");
}

void Converter::DefineFromNhwc(const std::string& name, int tensor, std::size_t rank, int node, bool non_negative) {
  if (rank == 4) {
    Define(name, tensor, kNchwToNhwc, non_negative);
    return;
  }
  const Shape& nhwc = writer_.shape(tensor);
  Define(name, Reshape(tensor, {nhwc[0], nhwc[2], nhwc[3]}, name, {node}, "layout"), {0, 2, 1}, non_negative);
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

// The window of a Conv or pool over `in` -> `out` (2-D sizes); a 1-D window (`kernel` of one
// dim) becomes a 2-D one with a leading dim of size 1.
Expected<Window> ReadWindow(const onnx::NodeProto& n, const Shape& kernel, const Shape& in,
                            const Shape& out) {
  Window w;
  const std::size_t spatial = kernel.size();
  w.kernel = kernel;
  w.strides = IntsAttribute(n, "strides").value_or(std::vector<int64_t>(spatial, 1));
  w.dilations = IntsAttribute(n, "dilations").value_or(std::vector<int64_t>(spatial, 1));
  w.pads = IntsAttribute(n, "pads").value_or(std::vector<int64_t>(2 * spatial, 0));
  if ((spatial != 1 && spatial != 2) || w.strides.size() != spatial || w.dilations.size() != spatial ||
      w.pads.size() != 2 * spatial) {
    return Cannot("only 1-D and 2-D windows convert (TFLite 2.2 has no 3-D convolution or pooling)");
  }
  if (spatial == 1) {
    w.kernel.insert(w.kernel.begin(), 1);
    w.strides.insert(w.strides.begin(), 1);
    w.dilations.insert(w.dilations.begin(), 1);
    w.pads = {0, w.pads[0], 0, w.pads[1]};
  }
  for (std::size_t d = 0; d < 2; ++d) {
    if (w.kernel[d] < 1 || w.strides[d] < 1 || w.dilations[d] < 1) {
      return Cannot("kernel, strides and dilations must be positive");
    }
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

std::string ListText(const std::vector<int64_t>& pads) {
  std::string text = "[";
  for (std::size_t i = 0; i < pads.size(); ++i) text += (i ? "," : "") + std::to_string(pads[i]);
  return text + "]";
}

// Without SAME padding, a window must fit its padded input (else the output has no elements).
// `spatial_in`: the input's spatial dims in ONNX order.
Status CheckWindowFits(const onnx::NodeProto& n, const std::string& what, const Shape& kernel, const Shape& spatial_in) {
  const std::string auto_pad = StringAttribute(n, "auto_pad", "NOTSET");
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") return OkStatus();
  std::vector<int64_t> pads = IntsAttribute(n, "pads").value_or(std::vector<int64_t>(2 * kernel.size(), 0));
  std::vector<int64_t> dilations = IntsAttribute(n, "dilations").value_or(std::vector<int64_t>(kernel.size(), 1));
  if (auto_pad == "VALID") pads.assign(2 * kernel.size(), 0);
  if (pads.size() != 2 * kernel.size() || dilations.size() != kernel.size() || spatial_in.size() != kernel.size()) {
    return BadModel(what + ": kernel_shape, pads and dilations do not match the input's " +
                    std::to_string(spatial_in.size()) + " spatial dims");
  }
  for (std::size_t d = 0; d < kernel.size(); ++d) {
    const int64_t padded = spatial_in[d] + pads[d] + pads[d + kernel.size()];
    if (kernel[d] < 1 || dilations[d] < 1 || pads[d] < 0 || pads[d + kernel.size()] < 0 ||
        kernel[d] > padded || (kernel[d] - 1) * dilations[d] + 1 > padded) {
      return BadModel(what + ": kernel_shape " + ListText(kernel) + " (dilations " + ListText(dilations) +
                      ") does not fit its padded input " + ListText(spatial_in) + " (pads " + ListText(pads) + ")");
    }
  }
  return OkStatus();
}

Status Converter::ConvertConv(int index) {
  const onnx::NodeProto& n = node(index);
  const std::string& x_name = n.input(0);
  auto x = Activation(x_name);
  if (!x.ok()) return x.error();
  const std::size_t rank = x->perm.size();
  if (rank != 3 && rank != 4) {
    return Cannot("only 1-D and 2-D convolutions (3-D and 4-D inputs) convert (TFLite 2.2 has no 3-D convolution)");
  }
  auto w_shape = OnnxShape(inspect::InputName(n, 1));
  if (!w_shape.ok()) return w_shape.error();
  if (w_shape->size() != rank) return BadModel(path_ + ": Conv '" + Label(index) + "' weights of rank " + std::to_string(w_shape->size()));
  auto weights = ConstantFloats(n.input(1));
  if (!weights.ok()) return weights.error();
  const int64_t out_channels = (*w_shape)[0];
  // 1-D: the weights OIL are OI1L.
  const Shape w4 = rank == 4 ? *w_shape : Shape{(*w_shape)[0], (*w_shape)[1], 1, (*w_shape)[2]};
  std::vector<float> bias(std::size_t(out_channels), 0.f);
  if (!inspect::InputName(n, 2).empty()) {
    auto b = ConstantFloats(n.input(2));
    if (!b.ok()) return b.error();
    if (int64_t(b->size()) != out_channels) return BadModel(path_ + ": Conv '" + Label(index) + "' bias size");
    bias = *b;
  }
  const Shape kernel(w_shape->begin() + 2, w_shape->end());
  const std::string what = path_ + ": Conv '" + Label(index) + "'";
  if (auto kernel_shape = IntsAttribute(n, "kernel_shape"); kernel_shape && *kernel_shape != kernel) {
    return BadModel(what + ": kernel_shape " + ListText(*kernel_shape) + " does not match its weights' " +
                    ListText(kernel));
  }
  if (auto in_shape = OnnxShape(x_name); in_shape.ok()) {
    EB_RETURN_IF_ERROR(CheckWindowFits(n, what, kernel, Shape(in_shape->begin() + 2, in_shape->end())));
  }
  const int input = AsNhwc(x_name, *x, index);
  const Shape in_nhwc = writer_.shape(input);
  const int64_t in_channels = in_nhwc[3];
  const int64_t group = IntAttribute(n, "group", 1);
  if (group < 1 || in_channels % group != 0 || out_channels % group != 0 || w4[1] * group != in_channels) {
    return BadModel(path_ + ": Conv '" + Label(index) + "' group " + std::to_string(group) + " does not divide " +
                    std::to_string(in_channels) + " input and " + std::to_string(out_channels) + " output channels");
  }
  const bool depthwise = group > 1 && group == in_channels && w4[1] == 1;

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
  const Shape out_nhwc = NhwcShape(*out_shape);
  auto window = ReadWindow(n, kernel, {in_nhwc[1], in_nhwc[2]}, {out_nhwc[1], out_nhwc[2]});
  if (!window.ok()) return window.error();
  if (auto pending = pending_pads_.find(x_name); pending != pending_pads_.end()) {
    for (int i = 0; i < 4; ++i) window->pads[i] += pending->second.pads[i];
    sources.push_back(pending->second.node);
  }
  const auto dims = Spatial(*window, {in_nhwc[1], in_nhwc[2]}, {out_nhwc[1], out_nhwc[2]});
  auto padding = MatchTflitePadding(dims);
  int source = input;
  if (!padding) {
    report_.log.push_back("padding: Conv '" + Label(index) + "' pads " + ListText(window->pads) +
                          " are neither SAME nor VALID: explicit PAD");
    source = Pad(input, ExplicitPads(dims), 0.f, index, "padding");
    padding = TflitePadding::kValid;
  }
  const tfl::Padding tfl_padding = *padding == TflitePadding::kSame ? tfl::Padding_SAME : tfl::Padding_VALID;
  const std::string& base = n.output(0);
  const int result = NewTensor(rank == 4 ? output : output + "/2d", out_nhwc);
  auto& b = writer_.builder();
  const int stride_h = int(window->strides[0]), stride_w = int(window->strides[1]);
  const int dilation_h = int(window->dilations[0]), dilation_w = int(window->dilations[1]);
  const Shape k2{window->kernel[0], window->kernel[1]};
  if (depthwise) {
    const int bias_tensor = Weights(base + "/bias", {out_channels}, bias, index);
    const int filter = Weights(base + "/filter", {1, k2[0], k2[1], out_channels},
                               DepthwiseWeightsTo1hwc(*weights, w4), index);
    auto options = tfl::CreateDepthwiseConv2DOptions(b, tfl_padding, stride_w, stride_h,
                                                     int(out_channels / in_channels), activation,
                                                     dilation_w, dilation_h).Union();
    const int version = dilation_h != 1 || dilation_w != 1 ? 2 : 1;
    Emit(tfl::BuiltinOperator_DEPTHWISE_CONV_2D, version, {source, filter, bias_tensor}, {result}, sources,
         "", tfl::BuiltinOptions_DepthwiseConv2DOptions, options);
  } else {
    // TFLite 2.2 has no grouped CONV_2D: a grouped convolution is SPLIT, a CONV_2D per group and
    // CONCATENATION along the channels.
    const int64_t group_in = in_channels / group, group_out = out_channels / group;
    const std::vector<float> ohwi = ConvWeightsToOhwi(*weights, w4);
    const std::size_t filter_size = std::size_t(group_out * k2[0] * k2[1] * group_in);
    std::vector<int> group_inputs{source};
    if (group > 1) {
      report_.log.push_back("Conv '" + Label(index) + "' of " + std::to_string(group) +
                            " groups: SPLIT, a CONV_2D per group, CONCATENATION");
      group_inputs.clear();
      Shape part = writer_.shape(source);
      part[3] = group_in;
      for (int64_t g = 0; g < group; ++g) group_inputs.push_back(NewTensor(base + "/group" + std::to_string(g) + "/in", part));
      const int axis_tensor = writer_.AddInt32Constant(base + "/groups/axis", {1}, {3});
      Emit(tfl::BuiltinOperator_SPLIT, 1, {axis_tensor, source}, group_inputs, {index}, "",
           tfl::BuiltinOptions_SplitOptions, tfl::CreateSplitOptions(b, int(group)).Union());
    }
    std::vector<int> group_outputs;
    for (int64_t g = 0; g < group; ++g) {
      const std::string suffix = group > 1 ? "/group" + std::to_string(g) : "";
      const std::vector<float> filter_values(ohwi.begin() + std::ptrdiff_t(std::size_t(g) * filter_size),
                                             ohwi.begin() + std::ptrdiff_t(std::size_t(g + 1) * filter_size));
      const std::vector<float> bias_values(bias.begin() + g * group_out, bias.begin() + (g + 1) * group_out);
      const int filter = Weights(base + suffix + "/filter", {group_out, k2[0], k2[1], group_in}, filter_values, index);
      const int bias_tensor = Weights(base + suffix + "/bias", {group_out}, bias_values, index);
      Shape part = out_nhwc;
      part[3] = group_out;
      const int out = group > 1 ? NewTensor(base + suffix + "/out", part) : result;
      auto options = tfl::CreateConv2DOptions(b, tfl_padding, stride_w, stride_h, activation, dilation_w,
                                              dilation_h).Union();
      Emit(tfl::BuiltinOperator_CONV_2D, 1, {group_inputs[std::size_t(g)], filter, bias_tensor}, {out}, sources, "",
           tfl::BuiltinOptions_Conv2DOptions, options);
      group_outputs.push_back(out);
    }
    if (group > 1) {
      Emit(tfl::BuiltinOperator_CONCATENATION, 1, group_outputs, {result}, {index}, "",
           tfl::BuiltinOptions_ConcatenationOptions, tfl::CreateConcatenationOptions(b, 3).Union());
    }
  }
  DefineFromNhwc(output, result, rank, index, IsNonNegative(activation));
  return OkStatus();
}

// A per-channel affine y = x * a + b (BatchNormalization with no Conv to fold into).
Status Converter::ConvertBatchNorm(int index) {
  const onnx::NodeProto& n = node(index);
  auto x = Activation(n.input(0));
  if (!x.ok()) return x.error();
  const std::size_t rank = x->perm.size();
  if (rank < 2) return Cannot("BatchNormalization needs a channel dim");
  auto x_shape = OnnxShape(n.input(0));
  if (!x_shape.ok()) return x_shape.error();
  if (x_shape->size() < 2) return Cannot("BatchNormalization needs a channel dim");
  const int64_t channels = (*x_shape)[1];
  BatchNorm bn;
  bn.epsilon = FloatAttribute(n, "epsilon", 1e-5f);
  std::vector<float>* parts[] = {&bn.scale, &bn.bias, &bn.mean, &bn.variance};
  const char* part_names[] = {"scale", "bias", "mean", "variance"};
  for (int i = 0; i < 4; ++i) {
    auto values = ConstantFloats(inspect::InputName(n, i + 1));
    if (!values.ok()) return values.error();
    if (int64_t(values->size()) != channels) {
      return BadModel(path_ + ": BatchNormalization '" + Label(index) + "': its " + part_names[i] + " has " +
                      std::to_string(values->size()) + " values for " + std::to_string(channels) + " channels");
    }
    *parts[i] = std::move(*values);
  }
  std::vector<float> a, b;
  BatchNormAsAffine(bn, a, b);
  const std::string& out = n.output(0);
  // More than 4 dims (TFLite 2.2 broadcasts up to 4): as (N, C, rest) in ONNX order.
  int input = x->tensor;
  Permutation perm = x->perm;
  Shape onnx_shape;
  if (rank > 4) {
    auto in_shape = OnnxShape(n.input(0));
    if (!in_shape.ok()) return in_shape.error();
    onnx_shape = *in_shape;
    int64_t rest = 1;
    for (std::size_t d = 2; d < rank; ++d) rest *= onnx_shape[d];
    input = Reshape(InLayout(n.input(0), *x, Identity(rank), index, /*any_shape=*/true),
                    {onnx_shape[0], onnx_shape[1], rest}, out + "/3d", {index}, "layout");
    perm = Identity(3);
  }
  // The channel (onnx dim 1) sits at tflite dim inverse[1]; the constants broadcast along it.
  Shape shape(perm.size(), 1);
  shape[InversePermutation(perm)[1]] = int64_t(a.size());
  auto& fb = writer_.builder();
  const int scale = Weights(out + "/scale", shape, a, index);
  const int offset = Weights(out + "/offset", shape, b, index);
  const int scaled = NewTensor(out + "/scaled", writer_.shape(input));
  Emit(tfl::BuiltinOperator_MUL, 1, {input, scale}, {scaled}, {index}, "",
       tfl::BuiltinOptions_MulOptions, tfl::CreateMulOptions(fb).Union());
  std::string output = out;
  std::vector<int> sources{index};
  const auto activation = FuseActivation(index, output, sources);
  int result = NewTensor(rank > 4 ? output + "/affine" : output, writer_.shape(input));
  Emit(tfl::BuiltinOperator_ADD, 1, {scaled, offset}, {result}, sources, "",
       tfl::BuiltinOptions_AddOptions, tfl::CreateAddOptions(fb, activation).Union());
  if (rank > 4) {
    result = Reshape(result, onnx_shape, output, {index}, "layout");
    perm = Identity(rank);
  }
  Define(output, result, perm, IsNonNegative(activation));
  return OkStatus();
}

// Add, Sub, Mul, Div, Pow, and the variadic Sum, Max, Min (a chain of ADD, MAXIMUM, MINIMUM).
Status Converter::ConvertBinary(int index, tfl::BuiltinOperator op) {
  const onnx::NodeProto& n = node(index);
  // The first activation operand decides the layout; constant ones are laid out to match.
  auto lead_name = std::find_if(n.input().begin(), n.input().end(), [&](const std::string& i) { return !IsConstant(i); });
  if (lead_name == n.input().end()) return Cannot("every operand is a constant");
  auto lead = Activation(*lead_name);
  if (!lead.ok()) return lead.error();
  auto out_shape = OnnxShape(n.output(0));
  if (!out_shape.ok()) return out_shape.error();
  if (out_shape->size() != lead->perm.size()) {
    return Cannot("broadcasting that raises the rank of an activation is not supported");
  }
  const Permutation perm = lead->perm;
  std::vector<int> operands;
  bool non_negative = true;
  for (const std::string& name : n.input()) {
    if (IsConstant(name)) {
      auto constant = BroadcastConstant(name, perm, index);
      if (!constant.ok()) return constant.error();
      operands.push_back(*constant);
      non_negative = false;
      continue;
    }
    auto value = Activation(name);
    if (!value.ok()) return value.error();
    if (value->perm.size() != perm.size()) return Cannot("operands of different rank");
    operands.push_back(InLayout(name, *value, perm, index));
    non_negative = non_negative && value->non_negative;
  }
  const Shape shape = PermuteShape(*out_shape, perm);
  if (shape.size() > 4 && std::any_of(operands.begin(), operands.end(), [&](int t) { return writer_.shape(t) != shape; })) {
    return Cannot("broadcasting over more than 4 dims (TFLite 2.2 broadcasts up to 4)");
  }
  if (operands.size() == 1) {  // Sum, Max, Min of one input
    report_.nodes[entry_of_node_.at(index)].disposition = "removed";
    Define(n.output(0), operands[0], perm, non_negative);
    return OkStatus();
  }
  int acc = operands[0];
  for (std::size_t i = 1; i + 1 < operands.size(); ++i) {  // all but the last of a variadic chain
    acc = Arith(op, acc, operands[i], n.output(0) + "/partial" + std::to_string(i), shape, index);
  }
  std::string output = n.output(0);
  std::vector<int> sources{index};
  const bool arithmetic = op == tfl::BuiltinOperator_ADD || op == tfl::BuiltinOperator_SUB ||
                          op == tfl::BuiltinOperator_MUL || op == tfl::BuiltinOperator_DIV;
  const auto activation = arithmetic ? FuseActivation(index, output, sources) : NoActivation();
  const int result = NewTensor(output, shape);
  const auto [type, options] = BinaryOptions(writer_.builder(), op, activation);
  Emit(op, 1, {acc, operands.back()}, {result}, sources, "", type, options);
  const bool keeps_sign = op == tfl::BuiltinOperator_ADD || op == tfl::BuiltinOperator_MUL ||
                          op == tfl::BuiltinOperator_MAXIMUM || op == tfl::BuiltinOperator_MINIMUM;
  Define(output, result, perm, IsNonNegative(activation) || (keeps_sign && non_negative));
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
  auto axis = Axis(index, IntAttribute(n, "axis", 1), perm.size());
  if (!axis.ok()) return axis.error();
  const int tfl_axis = InversePermutation(perm)[std::size_t(*axis)];
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
  const std::size_t rank = x->perm.size();
  if (rank != 3 && rank != 4) return Cannot("only 1-D and 2-D pooling (3-D and 4-D inputs) converts (TFLite 2.2 has no 3-D pooling)");
  if (max && n.output_size() > 1 && !n.output(1).empty()) return Cannot("MaxPool indices output");
  if (IntAttribute(n, "storage_order", 0) != 0) return Cannot("storage_order 1");
  auto kernel = IntsAttribute(n, "kernel_shape");
  const std::string what = path_ + ": " + n.op_type() + " '" + Label(index) + "'";
  if (!kernel || kernel->size() != rank - 2) return BadModel(what + ": kernel_shape does not match its input's rank");
  if (auto in_shape = OnnxShape(n.input(0)); in_shape.ok()) {
    EB_RETURN_IF_ERROR(CheckWindowFits(n, what, *kernel, Shape(in_shape->begin() + 2, in_shape->end())));
  }
  const int input = AsNhwc(n.input(0), *x, index);
  const Shape in = writer_.shape(input);
  std::string output = n.output(0);
  std::vector<int> sources{index};
  const auto activation = FuseActivation(index, output, sources);
  auto out_shape = OnnxShape(output);
  if (!out_shape.ok()) return out_shape.error();
  const Shape out_nhwc = NhwcShape(*out_shape);
  auto window = ReadWindow(n, *kernel, {in[1], in[2]}, {out_nhwc[1], out_nhwc[2]});
  if (!window.ok()) return window.error();
  if (window->dilations != std::vector<int64_t>{1, 1}) return Cannot("dilated pooling (TFLite pools have no dilation)");
  const auto dims = Spatial(*window, {in[1], in[2]}, {out_nhwc[1], out_nhwc[2]});
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
      return Cannot("average pooling pads " + ListText(window->pads) +
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
                          ListText(window->pads) + " are neither SAME nor VALID: explicit " +
                          (pad_value == 0 ? "PAD" : "PADV2 (lowest float)"));
    source = Pad(input, ExplicitPads(dims), pad_value, index, "padding");
    padding = TflitePadding::kValid;
  }
  const int result = NewTensor(rank == 4 ? output : output + "/2d", out_nhwc);
  auto& b = writer_.builder();
  auto options = tfl::CreatePool2DOptions(
      b, *padding == TflitePadding::kSame ? tfl::Padding_SAME : tfl::Padding_VALID,
      int(window->strides[1]), int(window->strides[0]), int(window->kernel[1]), int(window->kernel[0]), activation);
  Emit(max ? tfl::BuiltinOperator_MAX_POOL_2D : tfl::BuiltinOperator_AVERAGE_POOL_2D, 1, {source},
       {result}, sources, "", tfl::BuiltinOptions_Pool2DOptions, options.Union());
  DefineFromNhwc(output, result, rank, index, IsNonNegative(activation) || (max && x->non_negative));
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
    std::vector<int64_t> sorted = *attribute, dims(rank);
    std::sort(sorted.begin(), sorted.end());
    std::iota(dims.begin(), dims.end(), 0);
    if (sorted != dims) {
      return BadModel(path_ + ": Transpose '" + Label(index) + "': perm is not a permutation of its input's " +
                      std::to_string(rank) + " dims");
    }
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
  auto split_axis = Axis(index, IntAttribute(n, "axis", 0), rank);
  if (!split_axis.ok()) return split_axis.error();
  const int64_t axis = *split_axis;
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

// Softmax and LogSoftmax before opset 13 normalize over all dims from `axis` on; TFLite's over
// the last dim.
Status Converter::ConvertSoftmax(int index) {
  const onnx::NodeProto& n = node(index);
  auto x = Activation(n.input(0));
  if (!x.ok()) return x.error();
  const std::size_t rank = x->perm.size();
  auto softmax_axis = Axis(index, IntAttribute(n, "axis", analysis_.opset < 13 ? 1 : -1), rank);
  if (!softmax_axis.ok()) return softmax_axis.error();
  const int64_t axis = *softmax_axis;
  auto& b = writer_.builder();
  // LOG_SOFTMAX takes no options.
  const bool log = n.op_type() == "LogSoftmax";
  const tfl::BuiltinOperator op = log ? tfl::BuiltinOperator_LOG_SOFTMAX : tfl::BuiltinOperator_SOFTMAX;
  const tfl::BuiltinOptions options_type = log ? tfl::BuiltinOptions_NONE : tfl::BuiltinOptions_SoftmaxOptions;
  auto options = [&] { return log ? flatbuffers::Offset<void>() : tfl::CreateSoftmaxOptions(b, 1.f).Union(); };
  const Shape onnx_shape = PermuteShape(writer_.shape(x->tensor), InversePermutation(x->perm));
  if (axis == int64_t(rank) - 1 && x->perm.back() == int(rank) - 1) {
    const int result = NewTensor(n.output(0), writer_.shape(x->tensor));
    Emit(op, 1, {x->tensor}, {result}, {index}, "", options_type, options());
    Define(n.output(0), result, x->perm);
    return OkStatus();
  }
  if (analysis_.opset >= 13 && axis != int64_t(rank) - 1) return Cannot(n.op_type() + " over a dim that is not the last");
  int64_t outer = 1, inner = 1;
  for (std::size_t d = 0; d < rank; ++d) (int64_t(d) < axis ? outer : inner) *= onnx_shape[d];
  const int input = InLayout(n.input(0), *x, Identity(rank), index, /*any_shape=*/true);
  const int flat = Reshape(input, {outer, inner}, n.output(0) + "/2d", {index}, "layout");
  const int soft = NewTensor(n.output(0) + "/softmax", {outer, inner});
  Emit(op, 1, {flat}, {soft}, {index}, "", options_type, options());
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
  if (mode != "constant" && mode != "reflect" && mode != "edge") return Cannot("Pad mode '" + mode + "'");
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
  if (mode == "edge" && std::any_of(pads.begin(), pads.end(), [](int64_t p) { return p > 0; })) {
    return ConvertEdgePad(index, *x, pads);
  }
  if (mode == "reflect" && std::any_of(pads.begin(), pads.end(), [](int64_t p) { return p > 0; })) {
    if (rank > 4) return Cannot("reflect Pad of more than 4 dims");
    auto in_shape = OnnxShape(n.input(0));
    if (!in_shape.ok()) return in_shape.error();
    for (std::size_t d = 0; d < rank; ++d) {
      if (pads[d] >= (*in_shape)[d] || pads[d + rank] >= (*in_shape)[d]) {
        return Cannot("reflect pads as wide as the dim they pad");
      }
    }
    std::vector<int32_t> flat;
    Shape padded = writer_.shape(x->tensor);
    for (std::size_t d = 0; d < rank; ++d) {
      const std::size_t axis = std::size_t(x->perm[d]);
      flat.push_back(int32_t(pads[axis]));
      flat.push_back(int32_t(pads[axis + rank]));
      padded[d] += pads[axis] + pads[axis + rank];
    }
    const int paddings = writer_.AddInt32Constant(n.output(0) + "/paddings", {int64_t(rank), 2}, flat);
    auto& b = writer_.builder();
    const int result = Op(tfl::BuiltinOperator_MIRROR_PAD, {x->tensor, paddings}, n.output(0), padded, index,
                          tfl::BuiltinOptions_MirrorPadOptions,
                          tfl::CreateMirrorPadOptions(b, tfl::MirrorPadMode_REFLECT).Union());
    Define(n.output(0), result, x->perm, x->non_negative);
    return OkStatus();
  }
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
  if (auto a_shape = OnnxShape(n.input(0)); !a_shape.ok() || a_shape->size() != 2 || (*a_shape)[1] != depth) {
    return Cannot("the input's columns do not match the weights' " + std::to_string(depth) + " rows");
  }
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

// ---------------------------------------------------------------- element-wise math and more

int Converter::Op(tfl::BuiltinOperator op, const std::vector<int>& inputs, const std::string& name,
                  const Shape& shape, int node, tfl::BuiltinOptions options_type,
                  flatbuffers::Offset<void> options) {
  const int output = NewTensor(name, shape);
  Emit(op, 1, inputs, {output}, {node}, "", options_type, options);
  return output;
}

int Converter::Arith(tfl::BuiltinOperator op, int a, int b, const std::string& name, const Shape& shape, int node,
                     tfl::ActivationFunctionType activation) {
  const auto [type, options] = BinaryOptions(writer_.builder(), op, activation);
  return Op(op, {a, b}, name, shape, node, type, options);
}

// Unary math: TFLite's own operator where it has one, else an exact composition:
// Elu/Selu: [gamma *] (relu(x) + alpha * (exp(min(x, 0)) - 1)); Softplus: log(1 + exp(x));
// Reciprocal: 1 / x; Sign: (x > 0) - (x < 0); Shrink: (x - bias)(x > lambd) + (x + bias)(x < -lambd).
Status Converter::ConvertElementwise(int index) {
  const onnx::NodeProto& n = node(index);
  auto x = Activation(n.input(0));
  if (!x.ok()) return x.error();
  const std::string& type = n.op_type();
  const std::string& out = n.output(0);
  const Shape shape = writer_.shape(x->tensor);
  static const std::map<std::string, tfl::BuiltinOperator> kDirect = {
      {"Neg", tfl::BuiltinOperator_NEG},   {"Exp", tfl::BuiltinOperator_EXP},     {"Sqrt", tfl::BuiltinOperator_SQRT},
      {"Abs", tfl::BuiltinOperator_ABS},   {"Log", tfl::BuiltinOperator_LOG},     {"Floor", tfl::BuiltinOperator_FLOOR},
      {"Sin", tfl::BuiltinOperator_SIN}};
  int result = -1;
  bool non_negative = false;
  if (auto it = kDirect.find(type); it != kDirect.end()) {
    result = Op(it->second, {x->tensor}, out, shape, index);
    non_negative = type == "Exp" || type == "Sqrt" || type == "Abs";
  } else if (type == "Sign" || type == "Shrink") {
    // TFLite 2.2 has no SIGN: float masks (GREATER / LESS, CAST) combine.
    auto mask = [&](tfl::BuiltinOperator compare, float bound, const std::string& name) {
      const int flags = writer_.AddTensor(name + "/bool", tfl::TensorType_BOOL, shape);
      Emit(compare, 1, {x->tensor, Scalar(name + "/bound", bound)}, {flags}, {index}, "");
      return Op(tfl::BuiltinOperator_CAST, {flags}, name, shape, index);
    };
    if (type == "Sign") {
      result = Arith(tfl::BuiltinOperator_SUB, mask(tfl::BuiltinOperator_GREATER, 0.f, out + "/positive"),
                     mask(tfl::BuiltinOperator_LESS, 0.f, out + "/negative"), out, shape, index);
    } else {  // x - bias where x > lambd, x + bias where x < -lambd, else 0
      const float lambd = FloatAttribute(n, "lambd", 0.5f), bias = FloatAttribute(n, "bias", 0.f);
      const int above = mask(tfl::BuiltinOperator_GREATER, lambd, out + "/above");
      const int below = mask(tfl::BuiltinOperator_LESS, -lambd, out + "/below");
      const int bias_tensor = Scalar(out + "/bias", bias);
      const int lowered = Arith(tfl::BuiltinOperator_SUB, x->tensor, bias_tensor, out + "/lowered", shape, index);
      const int raised = Arith(tfl::BuiltinOperator_ADD, x->tensor, bias_tensor, out + "/raised", shape, index);
      const int upper = Arith(tfl::BuiltinOperator_MUL, lowered, above, out + "/upper", shape, index);
      const int lower = Arith(tfl::BuiltinOperator_MUL, raised, below, out + "/lower", shape, index);
      result = Arith(tfl::BuiltinOperator_ADD, upper, lower, out, shape, index);
    }
  } else if (type == "Reciprocal") {
    result = Arith(tfl::BuiltinOperator_DIV, Scalar(out + "/one", 1.f), x->tensor, out, shape, index);
  } else if (type == "Softplus") {
    const int e = Op(tfl::BuiltinOperator_EXP, {x->tensor}, out + "/exp", shape, index);
    const int e1 = Arith(tfl::BuiltinOperator_ADD, e, Scalar(out + "/one", 1.f), out + "/exp1", shape, index);
    result = Op(tfl::BuiltinOperator_LOG, {e1}, out, shape, index);
    non_negative = true;
  } else {  // Elu, Selu
    const bool selu = type == "Selu";
    const float alpha = FloatAttribute(n, "alpha", selu ? 1.67326319217681884765625f : 1.f);
    const float gamma = selu ? FloatAttribute(n, "gamma", 1.05070102214813232421875f) : 1.f;
    const int low = Arith(tfl::BuiltinOperator_MINIMUM, x->tensor, Scalar(out + "/zero", 0.f), out + "/negative", shape, index);
    const int e = Op(tfl::BuiltinOperator_EXP, {low}, out + "/exp", shape, index);
    const int em1 = Arith(tfl::BuiltinOperator_SUB, e, Scalar(out + "/one", 1.f), out + "/expm1", shape, index);
    const int scaled = Arith(tfl::BuiltinOperator_MUL, em1, Scalar(out + "/alpha", alpha), out + "/scaled", shape, index);
    const int relu = Op(tfl::BuiltinOperator_RELU, {x->tensor}, out + "/relu", shape, index);
    if (gamma == 1.f) {
      result = Arith(tfl::BuiltinOperator_ADD, relu, scaled, out, shape, index);
    } else {
      const int sum = Arith(tfl::BuiltinOperator_ADD, relu, scaled, out + "/sum", shape, index);
      result = Arith(tfl::BuiltinOperator_MUL, sum, Scalar(out + "/gamma", gamma), out, shape, index);
    }
  }
  Define(out, result, x->perm, non_negative);
  return OkStatus();
}

// PRelu with a constant slope: LEAKY_RELU for one slope, else PRELU with the slope laid out like
// the input (more than 4 dims: the trailing dims merged, as TFLite 2.2 broadcasts up to 4).
Status Converter::ConvertPRelu(int index) {
  const onnx::NodeProto& n = node(index);
  auto x = Activation(n.input(0));
  if (!x.ok()) return x.error();
  auto slope = ConstantFloats(n.input(1));
  if (!slope.ok()) return slope.error();
  const Shape shape = writer_.shape(x->tensor);
  auto& fb = writer_.builder();
  if (slope->size() == 1) {
    const int result = Op(tfl::BuiltinOperator_LEAKY_RELU, {x->tensor}, n.output(0), shape, index,
                          tfl::BuiltinOptions_LeakyReluOptions, tfl::CreateLeakyReluOptions(fb, (*slope)[0]).Union());
    Define(n.output(0), result, x->perm);
    return OkStatus();
  }
  const std::size_t rank = x->perm.size();
  auto slope_shape = OnnxShape(n.input(1));
  if (!slope_shape.ok()) return slope_shape.error();
  auto onnx_shape = OnnxShape(n.input(0));
  if (!onnx_shape.ok()) return onnx_shape.error();
  if (slope_shape->size() > rank) return BadModel(path_ + ": PRelu '" + Label(index) + "' slope of more dims than its input");
  // The slope's dims in the input's rank: aligned at the end (broadcasting, opset 7 on), or
  // before opset 7 a 1-D slope of one value per channel along dim 1.
  Shape full(rank - slope_shape->size(), 1);
  full.insert(full.end(), slope_shape->begin(), slope_shape->end());
  if (analysis_.opset < 7 && slope_shape->size() == 1 && rank > 2 && (*slope_shape)[0] == (*onnx_shape)[1]) {
    full.assign(rank, 1);
    full[1] = (*onnx_shape)[1];
  }
  if (rank <= 4) {
    const int alpha = Weights(n.input(1), PermuteShape(full, x->perm), TransposeData(*slope, full, x->perm), index);
    Define(n.output(0), Op(tfl::BuiltinOperator_PRELU, {x->tensor, alpha}, n.output(0), shape, index), x->perm);
    return OkStatus();
  }
  // Per channel (onnx dim 1) on N, C, D, ...: as (N, C, rest) in ONNX order.
  Shape per_channel(rank, 1);
  per_channel[1] = (*onnx_shape)[1];
  if (full != per_channel) {
    return Cannot("a slope of " + FormatShape(*slope_shape) + " on more than 4 dims (only per-channel converts)");
  }
  int64_t rest = 1;
  for (std::size_t d = 2; d < rank; ++d) rest *= (*onnx_shape)[d];
  const int input = InLayout(n.input(0), *x, Identity(rank), index, /*any_shape=*/true);
  const int flat = Reshape(input, {(*onnx_shape)[0], (*onnx_shape)[1], rest}, n.output(0) + "/3d", {index}, "layout");
  const int alpha = Weights(n.input(1), {(*onnx_shape)[1], 1}, *slope, index);
  const int prelu = Op(tfl::BuiltinOperator_PRELU, {flat, alpha}, n.output(0) + "/prelu", writer_.shape(flat), index);
  Define(n.output(0), Reshape(prelu, *onnx_shape, n.output(0), {index}, "layout"), Identity(rank));
  return OkStatus();
}

// MatMul or Gemm of two activations: B transposed to [N, K] (unless transB) as FULLY_CONNECTED's
// weights, then alpha, and beta * C added.
Status Converter::ConvertMatMulOfActivations(int index) {
  const onnx::NodeProto& n = node(index);
  const bool gemm = n.op_type() == "Gemm";
  auto a = Activation(n.input(0));
  if (!a.ok()) return a.error();
  auto b = Activation(n.input(1));
  if (!b.ok()) return b.error();
  if (a->perm.size() != 2 || b->perm.size() != 2) return Cannot("only 2-D operands convert");
  if (gemm && IntAttribute(n, "transA", 0) != 0) return Cannot("transA=1");
  const bool trans_b = gemm && IntAttribute(n, "transB", 0) != 0;
  auto a_shape = OnnxShape(n.input(0));
  if (!a_shape.ok()) return a_shape.error();
  auto b_shape = OnnxShape(n.input(1));
  if (!b_shape.ok()) return b_shape.error();
  if (a_shape->size() != 2 || b_shape->size() != 2 || (*a_shape)[1] != (trans_b ? (*b_shape)[1] : (*b_shape)[0])) {
    return Cannot("the operands' inner dimensions differ");
  }
  const int input = InLayout(n.input(0), *a, {0, 1}, index);
  // FULLY_CONNECTED wants [units, depth]: B itself with transB, else B transposed.
  const int weights = InLayout(n.input(1), *b, trans_b ? Permutation{0, 1} : Permutation{1, 0}, index);
  auto out_shape = OnnxShape(n.output(0));
  if (!out_shape.ok()) return out_shape.error();
  const std::string& out = n.output(0);
  const float alpha = gemm ? FloatAttribute(n, "alpha", 1.f) : 1.f;
  const float beta = gemm ? FloatAttribute(n, "beta", 1.f) : 1.f;
  const bool has_c = gemm && !inspect::InputName(n, 2).empty() && beta != 0;
  auto& fb = writer_.builder();
  const int zero_bias = Weights(out + "/bias", {(*out_shape)[1]}, std::vector<float>(std::size_t((*out_shape)[1]), 0.f), index);
  int result = Op(tfl::BuiltinOperator_FULLY_CONNECTED, {input, weights, zero_bias},
                  alpha == 1 && !has_c ? out : out + "/product", *out_shape, index,
                  tfl::BuiltinOptions_FullyConnectedOptions, tfl::CreateFullyConnectedOptions(fb, NoActivation()).Union());
  if (alpha != 1) {
    result = Arith(tfl::BuiltinOperator_MUL, result, Scalar(out + "/alpha", alpha), has_c ? out + "/scaled" : out,
                   *out_shape, index);
  }
  if (has_c) {
    int c = -1;
    if (IsConstant(n.input(2))) {
      auto constant = BroadcastConstant(n.input(2), {0, 1}, index);
      if (!constant.ok()) return constant.error();
      c = *constant;
    } else {
      auto value = Activation(n.input(2));
      if (!value.ok()) return value.error();
      c = InLayout(n.input(2), *value, Identity(value->perm.size()), index);
    }
    if (beta != 1) c = Arith(tfl::BuiltinOperator_MUL, c, Scalar(out + "/beta", beta), out + "/c", writer_.shape(c), index);
    result = Arith(tfl::BuiltinOperator_ADD, result, c, out, *out_shape, index);
  }
  Define(out, result, {0, 1});
  return OkStatus();
}

// ReduceSum/Max/Min/Prod/Mean: SUM, REDUCE_MAX, ... over the axes mapped through the layout.
Status Converter::ConvertReduce(int index, tfl::BuiltinOperator op) {
  const onnx::NodeProto& n = node(index);
  auto x = Activation(n.input(0));
  if (!x.ok()) return x.error();
  const std::size_t rank = x->perm.size();
  std::vector<int64_t> axes = IntsAttribute(n, "axes").value_or(std::vector<int64_t>{});
  if (!inspect::InputName(n, 1).empty()) {  // ReduceSum from opset 13: axes as an input
    auto constant = ConstantInts(n.input(1));
    if (!constant.ok()) return constant.error();
    axes = *constant;
  }
  if (axes.empty()) {
    if (IntAttribute(n, "noop_with_empty_axes", 0) != 0) return Cannot("noop_with_empty_axes");
    axes.resize(rank);
    std::iota(axes.begin(), axes.end(), 0);
  }
  const Permutation inverse = InversePermutation(x->perm);
  std::set<int> reduced_onnx;
  std::vector<int64_t> tfl_axes;
  for (int64_t axis : axes) {
    auto checked = Axis(index, axis, rank);
    if (!checked.ok()) return checked.error();
    axis = *checked;
    reduced_onnx.insert(int(axis));
    tfl_axes.push_back(inverse[std::size_t(axis)]);
  }
  std::sort(tfl_axes.begin(), tfl_axes.end());
  const int64_t keepdims = IntAttribute(n, "keepdims", 1);
  if (keepdims != 0 && keepdims != 1) {
    return BadModel(path_ + ": " + n.op_type() + " '" + Label(index) + "' keepdims " + std::to_string(keepdims) + " is neither 0 nor 1");
  }
  const bool keep = keepdims == 1;
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
  auto& b = writer_.builder();
  const int result = Op(op, {x->tensor, axes_tensor}, n.output(0), PermuteShape(*out_shape, perm), index,
                        tfl::BuiltinOptions_ReducerOptions, tfl::CreateReducerOptions(b, keep).Union());
  const bool keeps_sign = op == tfl::BuiltinOperator_MEAN || op == tfl::BuiltinOperator_SUM ||
                          op == tfl::BuiltinOperator_REDUCE_MAX || op == tfl::BuiltinOperator_REDUCE_MIN;
  Define(n.output(0), result, perm, keeps_sign && x->non_negative);
  return OkStatus();
}

// Tile with constant repeats: TILE with the multiples in the input's layout.
Status Converter::ConvertTile(int index) {
  const onnx::NodeProto& n = node(index);
  auto x = Activation(n.input(0));
  if (!x.ok()) return x.error();
  auto repeats = ConstantInts(inspect::InputName(n, 1));
  if (!repeats.ok()) return repeats.error();
  if (repeats->size() != x->perm.size()) return BadModel(path_ + ": Tile '" + Label(index) + "' repeats do not match the rank");
  auto out_shape = OnnxShape(n.output(0));
  if (!out_shape.ok()) return out_shape.error();
  std::vector<int64_t> multiples;
  for (int axis : x->perm) multiples.push_back((*repeats)[std::size_t(axis)]);
  const int result = Op(tfl::BuiltinOperator_TILE, {x->tensor, Int32Vector(n.output(0) + "/multiples", multiples)},
                        n.output(0), PermuteShape(*out_shape, x->perm), index);
  Define(n.output(0), result, x->perm, x->non_negative);
  return OkStatus();
}

// Slice with constant starts, ends, axes and positive steps: SLICE (steps 1) or STRIDED_SLICE.
Status Converter::ConvertSlice(int index) {
  const onnx::NodeProto& n = node(index);
  auto x = Activation(n.input(0));
  if (!x.ok()) return x.error();
  auto in_shape = OnnxShape(n.input(0));
  if (!in_shape.ok()) return in_shape.error();
  const std::size_t rank = in_shape->size();
  std::vector<int64_t> starts, ends, axes, steps;
  if (analysis_.opset < 10) {
    starts = IntsAttribute(n, "starts").value_or(std::vector<int64_t>{});
    ends = IntsAttribute(n, "ends").value_or(std::vector<int64_t>{});
    axes = IntsAttribute(n, "axes").value_or(std::vector<int64_t>{});
  } else {
    std::vector<int64_t>* parts[] = {&starts, &ends, &axes, &steps};
    for (int i = 1; i <= 4; ++i) {
      if (inspect::InputName(n, i).empty()) continue;
      auto constant = ConstantInts(n.input(i));
      if (!constant.ok()) return constant.error();
      *parts[i - 1] = *constant;
    }
  }
  if (axes.empty()) {
    axes.resize(starts.size());
    std::iota(axes.begin(), axes.end(), 0);
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size()) {
    return BadModel(path_ + ": Slice '" + Label(index) + "' starts, ends, axes and steps differ in length");
  }
  std::vector<int64_t> begin(rank, 0), end(*in_shape), stride(rank, 1);
  for (std::size_t i = 0; i < starts.size(); ++i) {
    auto checked = Axis(index, axes[i], rank);
    if (!checked.ok()) return checked.error();
    const int64_t axis = *checked;
    if (steps[i] <= 0) return Cannot("Slice with a step of " + std::to_string(steps[i]) + " (only positive steps convert)");
    const int64_t dim = (*in_shape)[std::size_t(axis)];
    auto clamp = [&](int64_t v) { return std::clamp(v < 0 ? v + dim : v, int64_t{0}, dim); };
    begin[std::size_t(axis)] = clamp(starts[i]);
    end[std::size_t(axis)] = std::max(clamp(ends[i]), begin[std::size_t(axis)]);
    stride[std::size_t(axis)] = steps[i];
  }
  auto out_shape = OnnxShape(n.output(0));
  if (!out_shape.ok()) return out_shape.error();
  if (rank > 4) return Cannot("Slice of more than 4 dims");
  std::vector<int64_t> tfl_begin, tfl_end, tfl_stride, tfl_size;
  for (int axis : x->perm) {
    tfl_begin.push_back(begin[std::size_t(axis)]);
    tfl_end.push_back(end[std::size_t(axis)]);
    tfl_stride.push_back(stride[std::size_t(axis)]);
    tfl_size.push_back(end[std::size_t(axis)] - begin[std::size_t(axis)]);
  }
  const std::string& out = n.output(0);
  const Shape tfl_out = PermuteShape(*out_shape, x->perm);
  auto& b = writer_.builder();
  int result;
  if (std::all_of(stride.begin(), stride.end(), [](int64_t s) { return s == 1; })) {
    result = Op(tfl::BuiltinOperator_SLICE, {x->tensor, Int32Vector(out + "/begin", tfl_begin), Int32Vector(out + "/size", tfl_size)},
                out, tfl_out, index, tfl::BuiltinOptions_SliceOptions, tfl::CreateSliceOptions(b).Union());
  } else {
    result = Op(tfl::BuiltinOperator_STRIDED_SLICE,
                {x->tensor, Int32Vector(out + "/begin", tfl_begin), Int32Vector(out + "/end", tfl_end),
                 Int32Vector(out + "/strides", tfl_stride)},
                out, tfl_out, index, tfl::BuiltinOptions_StridedSliceOptions,
                tfl::CreateStridedSliceOptions(b, 0, 0, 0, 0, 0).Union());
  }
  Define(out, result, x->perm, x->non_negative);
  return OkStatus();
}

// InstanceNormalization: per (n, c) over the spatial dims, (x - mean) * rsqrt(var + eps) * scale + B.
Status Converter::ConvertInstanceNorm(int index) {
  const onnx::NodeProto& n = node(index);
  auto x = Activation(n.input(0));
  if (!x.ok()) return x.error();
  const std::size_t rank = x->perm.size();
  if (rank < 3 || rank > 4) return Cannot("InstanceNormalization of " + std::to_string(rank) + " dims (3 or 4 convert)");
  auto scale = ConstantFloats(n.input(1));
  if (!scale.ok()) return scale.error();
  auto bias = ConstantFloats(n.input(2));
  if (!bias.ok()) return bias.error();
  const float epsilon = FloatAttribute(n, "epsilon", 1e-5f);
  const Permutation inverse = InversePermutation(x->perm);
  std::vector<int64_t> spatial;
  for (std::size_t d = 2; d < rank; ++d) spatial.push_back(inverse[d]);
  std::sort(spatial.begin(), spatial.end());
  const Shape shape = writer_.shape(x->tensor);
  Shape reduced = shape;
  for (int64_t d : spatial) reduced[std::size_t(d)] = 1;
  Shape channel(rank, 1);
  channel[std::size_t(inverse[1])] = int64_t(scale->size());
  const std::string& out = n.output(0);
  auto& b = writer_.builder();
  auto mean = [&](int tensor, const std::string& name) {
    return Op(tfl::BuiltinOperator_MEAN, {tensor, Int32Vector(name + "/axes", spatial)}, name, reduced, index,
              tfl::BuiltinOptions_ReducerOptions, tfl::CreateReducerOptions(b, true).Union());
  };
  const int mu = mean(x->tensor, out + "/mean");
  const int centered = Arith(tfl::BuiltinOperator_SUB, x->tensor, mu, out + "/centered", shape, index);
  const int squared = Arith(tfl::BuiltinOperator_MUL, centered, centered, out + "/squared", shape, index);
  const int variance = mean(squared, out + "/variance");
  const int shifted = Arith(tfl::BuiltinOperator_ADD, variance, Scalar(out + "/epsilon", epsilon), out + "/variance_eps", reduced, index);
  const int inv_std = Op(tfl::BuiltinOperator_RSQRT, {shifted}, out + "/rsqrt", reduced, index);
  const int normalized = Arith(tfl::BuiltinOperator_MUL, centered, inv_std, out + "/normalized", shape, index);
  const int scaled = Arith(tfl::BuiltinOperator_MUL, normalized, Weights(out + "/scale", channel, *scale, index),
                           out + "/scaled", shape, index);
  const int result = Arith(tfl::BuiltinOperator_ADD, scaled, Weights(out + "/bias", channel, *bias, index), out, shape, index);
  Define(out, result, x->perm);
  return OkStatus();
}

// ConvTranspose (2-D, group 1, no dilation): TRANSPOSE_CONV (VALID) to the full output, a SLICE
// that removes the pads, and the bias ADDed (TFLite 2.2's TRANSPOSE_CONV has no bias input).
Status Converter::ConvertConvTranspose(int index) {
  const onnx::NodeProto& n = node(index);
  auto x = Activation(n.input(0));
  if (!x.ok()) return x.error();
  if (x->perm.size() != 4) return Cannot("only 2-D transposed convolutions (4-D inputs) convert");
  if (IntAttribute(n, "group", 1) != 1) return Cannot("grouped transposed convolution");
  auto w_shape = OnnxShape(n.input(1));
  if (!w_shape.ok()) return w_shape.error();
  auto weights = ConstantFloats(n.input(1));
  if (!weights.ok()) return weights.error();
  if (w_shape->size() != 4) return BadModel(path_ + ": ConvTranspose '" + Label(index) + "' weights are not 4-D");
  const int64_t out_channels = (*w_shape)[1];
  std::vector<float> bias(std::size_t(out_channels), 0.f);
  const bool has_bias = !inspect::InputName(n, 2).empty();
  if (has_bias) {
    auto b = ConstantFloats(n.input(2));
    if (!b.ok()) return b.error();
    if (int64_t(b->size()) != out_channels) return BadModel(path_ + ": ConvTranspose '" + Label(index) + "' bias size");
    bias = *b;
  }
  const std::vector<int64_t> strides = IntsAttribute(n, "strides").value_or(std::vector<int64_t>{1, 1});
  const std::vector<int64_t> dilations = IntsAttribute(n, "dilations").value_or(std::vector<int64_t>{1, 1});
  std::vector<int64_t> pads = IntsAttribute(n, "pads").value_or(std::vector<int64_t>{0, 0, 0, 0});
  if (strides.size() != 2 || dilations.size() != 2 || pads.size() != 4) return BadModel(path_ + ": ConvTranspose '" + Label(index) + "' window attributes");
  if (dilations != std::vector<int64_t>{1, 1}) return Cannot("dilated transposed convolution");
  if (StringAttribute(n, "auto_pad", "NOTSET") != "NOTSET") return Cannot("auto_pad on a transposed convolution");
  if (IntsAttribute(n, "output_shape")) return Cannot("ConvTranspose with output_shape");
  if (std::any_of(pads.begin(), pads.end(), [](int64_t p) { return p < 0; }) ||
      std::any_of(strides.begin(), strides.end(), [](int64_t s) { return s < 1; })) {
    return BadModel(path_ + ": ConvTranspose '" + Label(index) + "' has negative pads or strides below 1");
  }
  auto out_shape = OnnxShape(n.output(0));
  if (!out_shape.ok()) return out_shape.error();
  const int input = InLayout(n.input(0), *x, kNchwToNhwc, index);
  const Shape in = writer_.shape(input);
  const Shape out_nhwc = PermuteShape(*out_shape, kNchwToNhwc);
  // The full output (every window, no pads removed), large enough to hold pads + output.
  Shape full{in[0], 0, 0, out_channels};
  for (int d = 0; d < 2; ++d) {
    const int64_t valid = (in[std::size_t(d) + 1] - 1) * strides[std::size_t(d)] + (*w_shape)[std::size_t(d) + 2];
    full[std::size_t(d) + 1] = std::max(valid, pads[std::size_t(d)] + out_nhwc[std::size_t(d) + 1]);
  }
  const std::string& out = n.output(0);
  // ONNX [C_in, C_out, kh, kw] -> TFLite [C_out, kh, kw, C_in].
  const int filter = Weights(out + "/filter", {out_channels, (*w_shape)[2], (*w_shape)[3], (*w_shape)[0]},
                             TransposeData(*weights, *w_shape, {1, 2, 3, 0}), index);
  auto& b = writer_.builder();
  const bool crop = full != out_nhwc;
  int result = Op(tfl::BuiltinOperator_TRANSPOSE_CONV, {Int32Vector(out + "/output_shape", full), filter, input},
                  crop || has_bias ? out + "/full" : out, full, index, tfl::BuiltinOptions_TransposeConvOptions,
                  tfl::CreateTransposeConvOptions(b, tfl::Padding_VALID, int(strides[1]), int(strides[0])).Union());
  if (crop) {
    report_.log.push_back("ConvTranspose '" + Label(index) + "' pads " + ListText(pads) +
                          ": TRANSPOSE_CONV to " + FormatShape(full) + " and a SLICE");
    result = Op(tfl::BuiltinOperator_SLICE,
                {result, Int32Vector(out + "/begin", {0, pads[0], pads[1], 0}), Int32Vector(out + "/size", out_nhwc)},
                has_bias ? out + "/cropped" : out, out_nhwc, index, tfl::BuiltinOptions_SliceOptions,
                tfl::CreateSliceOptions(b).Union());
  }
  if (has_bias) {
    result = Arith(tfl::BuiltinOperator_ADD, result, Weights(out + "/bias", {out_channels}, bias, index), out, out_nhwc, index);
  }
  Define(out, result, kNchwToNhwc);
  return OkStatus();
}

// Edge padding: per padded dim, the first and last slices repeated (SLICE, then CONCATENATION).
Status Converter::ConvertEdgePad(int index, const Value& x, const std::vector<int64_t>& pads) {
  const onnx::NodeProto& n = node(index);
  const std::size_t rank = x.perm.size();
  if (rank > 4) return Cannot("edge Pad of more than 4 dims");
  auto& b = writer_.builder();
  int current = x.tensor;
  std::size_t last_padded = 0;
  for (std::size_t d = 0; d < rank; ++d) {
    if (pads[std::size_t(x.perm[d])] != 0 || pads[std::size_t(x.perm[d]) + rank] != 0) last_padded = d;
  }
  for (std::size_t d = 0; d < rank; ++d) {
    const int64_t before = pads[std::size_t(x.perm[d])], after = pads[std::size_t(x.perm[d]) + rank];
    if (before == 0 && after == 0) continue;
    const Shape shape = writer_.shape(current);
    const std::string name = n.output(0) + "/dim" + std::to_string(d);
    Shape edge_size = shape;
    edge_size[d] = 1;
    auto edge = [&](int64_t at, const std::string& which) {
      std::vector<int64_t> begin(rank, 0);
      begin[d] = at;
      return Op(tfl::BuiltinOperator_SLICE, {current, Int32Vector(name + "/" + which + "/begin", begin), Int32Vector(name + "/" + which + "/size", edge_size)},
                name + "/" + which, edge_size, index, tfl::BuiltinOptions_SliceOptions, tfl::CreateSliceOptions(b).Union());
    };
    std::vector<int> parts;
    if (before > 0) parts.insert(parts.end(), std::size_t(before), edge(0, "first"));
    parts.push_back(current);
    if (after > 0) parts.insert(parts.end(), std::size_t(after), edge(shape[d] - 1, "last"));
    Shape padded = shape;
    padded[d] += before + after;
    current = Op(tfl::BuiltinOperator_CONCATENATION, parts, d == last_padded ? n.output(0) : name, padded, index,
                 tfl::BuiltinOptions_ConcatenationOptions, tfl::CreateConcatenationOptions(b, int(d)).Union());
  }
  Define(n.output(0), current, x.perm, x.non_negative);
  return OkStatus();
}

// Resize and Upsample of H and W (N and C kept), where TFLite's operator computes the same
// pixels: nearest with asymmetric coordinates rounded down (any scale), or with half-pixel
// coordinates rounded to nearest at whole upscaling factors (there both pick pixel
// floor(out / factor)); linear (bilinear) with half_pixel, pytorch_half_pixel, align_corners or
// asymmetric coordinates.
Status Converter::ConvertResize(int index) {
  const onnx::NodeProto& n = node(index);
  auto x = Activation(n.input(0));
  if (!x.ok()) return x.error();
  if (x->perm.size() != 4) return Cannot("only 4-D inputs resize");
  auto in_shape = OnnxShape(n.input(0));
  if (!in_shape.ok()) return in_shape.error();
  auto out_shape = OnnxShape(n.output(0));
  if (!out_shape.ok()) return out_shape.error();
  if ((*out_shape)[0] != (*in_shape)[0] || (*out_shape)[1] != (*in_shape)[1]) return Cannot("a resize of N or C");
  const bool resize11 = n.op_type() == "Resize" && analysis_.opset >= 11;
  const std::string mode = StringAttribute(n, "mode", "nearest");
  const std::string coordinates = resize11 ? StringAttribute(n, "coordinate_transformation_mode", "half_pixel") : "asymmetric";
  const std::string rounding = resize11 ? StringAttribute(n, "nearest_mode", "round_prefer_floor") : "simple";
  bool upscale = true, whole = true;
  for (int d = 2; d < 4; ++d) {
    upscale = upscale && (*out_shape)[d] >= (*in_shape)[d];
    whole = whole && (*out_shape)[d] % (*in_shape)[d] == 0;
  }
  const Shape out_nhwc = PermuteShape(*out_shape, kNchwToNhwc);
  const int size = Int32Vector(n.output(0) + "/size", {out_nhwc[1], out_nhwc[2]});
  auto& b = writer_.builder();
  int result = -1;
  if (mode == "nearest") {
    // ONNX before opset 11 ("simple"): rounded down when upscaling.
    const bool asymmetric_floor = coordinates == "asymmetric" && (rounding == "floor" || (rounding == "simple" && upscale));
    const bool half_pixel_whole = (coordinates == "half_pixel" || coordinates == "pytorch_half_pixel") &&
                                  (rounding == "round_prefer_floor" || rounding == "round_prefer_ceil") && upscale && whole;
    if (!asymmetric_floor && !half_pixel_whole) {
      return Cannot("nearest resize with " + coordinates + " coordinates and " + rounding + " rounding from " +
                    FormatShape(*in_shape) + " to " + FormatShape(*out_shape));
    }
    const int input = InLayout(n.input(0), *x, kNchwToNhwc, index);
    result = Op(tfl::BuiltinOperator_RESIZE_NEAREST_NEIGHBOR, {input, size}, n.output(0), out_nhwc, index,
                tfl::BuiltinOptions_ResizeNearestNeighborOptions, tfl::CreateResizeNearestNeighborOptions(b, false).Union());
  } else if (mode == "linear" || mode == "bilinear") {
    const bool out_above_one = out_nhwc[1] > 1 && out_nhwc[2] > 1;
    const bool half_pixel = coordinates == "half_pixel" || (coordinates == "pytorch_half_pixel" && out_above_one);
    const bool align_corners = coordinates == "align_corners";
    if (!half_pixel && !align_corners && coordinates != "asymmetric") {
      return Cannot("linear resize with " + coordinates + " coordinates");
    }
    const int input = InLayout(n.input(0), *x, kNchwToNhwc, index);
    const int output = NewTensor(n.output(0), out_nhwc);
    // half_pixel_centers needs version 3.
    Emit(tfl::BuiltinOperator_RESIZE_BILINEAR, half_pixel ? 3 : 1, {input, size}, {output}, {index}, "",
         tfl::BuiltinOptions_ResizeBilinearOptions,
         tfl::CreateResizeBilinearOptions(b, align_corners, half_pixel).Union());
    result = output;
  } else {
    return Cannot("resize mode '" + mode + "'");
  }
  Define(n.output(0), result, kNchwToNhwc, x->non_negative);
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
  if (type == "ReduceMean") return ConvertReduce(index, tfl::BuiltinOperator_MEAN);
  if (type == "ReduceSum") return ConvertReduce(index, tfl::BuiltinOperator_SUM);
  if (type == "ReduceMax") return ConvertReduce(index, tfl::BuiltinOperator_REDUCE_MAX);
  if (type == "ReduceMin") return ConvertReduce(index, tfl::BuiltinOperator_REDUCE_MIN);
  if (type == "ReduceProd") return ConvertReduce(index, tfl::BuiltinOperator_REDUCE_PROD);
  if (type == "Neg" || type == "Exp" || type == "Sqrt" || type == "Abs" || type == "Log" || type == "Floor" ||
      type == "Sin" || type == "Reciprocal" || type == "Softplus" || type == "Elu" || type == "Selu" ||
      type == "Sign" || type == "Shrink") {
    return ConvertElementwise(index);
  }
  if (type == "Pow") return ConvertBinary(index, tfl::BuiltinOperator_POW);
  if (type == "Max") return ConvertBinary(index, tfl::BuiltinOperator_MAXIMUM);
  if (type == "Min") return ConvertBinary(index, tfl::BuiltinOperator_MINIMUM);
  if (type == "Sum") return ConvertBinary(index, tfl::BuiltinOperator_ADD);
  if (type == "PRelu") return ConvertPRelu(index);
  if (type == "Tile") return ConvertTile(index);
  if (type == "Slice") return ConvertSlice(index);
  if (type == "InstanceNormalization") return ConvertInstanceNorm(index);
  if (type == "ConvTranspose") return ConvertConvTranspose(index);
  if (type == "Resize" || type == "Upsample") return ConvertResize(index);
  if (type == "Reshape" || type == "Flatten" || type == "Squeeze" || type == "Unsqueeze") return ConvertReshape(index);
  if (type == "Transpose") return ConvertTranspose(index);
  if (type == "Split") return ConvertSplit(index);
  if (type == "Softmax" || type == "LogSoftmax") return ConvertSoftmax(index);
  if (type == "Pad") return ConvertPad(index);
  if (type == "Gemm" || type == "MatMul") {
    return IsConstant(node(index).input(1)) ? ConvertGemm(index) : ConvertMatMulOfActivations(index);
  }
  return Cannot("no TFLite conversion for " + type);
}

// -------------------------------------------------------------------------------- the graph

Status Converter::CheckOperatorSets() const {
  const auto& imports = analysis_.model.opset_import();
  const bool imports_default = std::any_of(imports.begin(), imports.end(), [](const onnx::OperatorSetIdProto& i) {
    return inspect::IsDefaultDomain(i.domain());
  });
  const std::string opset = std::to_string(analysis_.opset);
  for (int index : analysis_.order) {
    const onnx::NodeProto& n = node(index);
    if (!inspect::IsDefaultDomain(n.domain())) continue;
    const std::string what = path_ + ": node '" + Label(index) + "' (" + n.op_type() + ")";
    if (!imports_default && analysis_.model.ir_version() >= 3) {
      return BadModel(what + ": opset_import has no entry for the default ONNX domain");
    }
    const onnx::OpSchema* schema = onnx::OpSchemaRegistry::Schema(n.op_type(), int(analysis_.opset), "");
    if (!schema) {
      if (!onnx::OpSchemaRegistry::Schema(n.op_type(), INT32_MAX, "")) continue;  // not ONNX: unsupported later
      return BadModel(what + ": opset " + opset + " of the default domain (opset_import) has no " + n.op_type());
    }
    try {
      schema->Verify(n);
    } catch (const std::exception& error) {
      std::string message = error.what();
      message = message.substr(0, message.find('\n'));
      return BadModel(what + " does not fit " + n.op_type() + " of opset " + opset + " (opset_import): " + message);
    }
  }
  return OkStatus();
}

Status Converter::AddInputs() {
  // TFLite's dims are 32-bit: a larger one would be written negative.
  for (const auto& [name, shape] : analysis_.shapes) {
    for (const int64_t dim : shape.dims) {
      if (dim > INT32_MAX) {
        return Unsupported(path_ + ": tensor '" + name + "' has a dimension of " + std::to_string(dim) +
                           ", beyond TFLite's 32-bit dimensions");
      }
    }
  }
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
  EB_RETURN_IF_ERROR(CheckOperatorSets());
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
    const std::vector<bool> done_before = done_;
    Status status = OkStatus();
    try {
      status = ConvertNode(index);
    } catch (const std::invalid_argument& error) {  // shapes that contradict each other
      return BadModel(path_ + ": node '" + Label(index) + "' (" + n.op_type() + "): inconsistent shapes: " + error.what());
    }
    if (!status.ok() && status.error().code != ErrorCode::kUnsupported) return status;
    if (!status.ok()) {
      report_.unsupported.push_back({Label(index), n.op_type(), status.error().message});
      for (const auto& o : n.output()) failed.insert(o);
      // Nodes it had fused (a Relu, a BatchNormalization) fail with it.
      for (std::size_t i = 0; i < done_.size(); ++i) {
        if (!done_[i] || done_before[i]) continue;
        report_.nodes[std::size_t(entry_of_node_[int(i)])].disposition.clear();
        for (const auto& o : node(int(i)).output()) failed.insert(o);
      }
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
