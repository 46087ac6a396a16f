// ONNX -> TFLite (FP32). The graph is walked in ONNX order (topological by the ONNX spec). Every
// 4-D activation is kept NHWC; other ranks keep their ONNX layout. Conv absorbs a following
// BatchNormalization and activation (Relu, Clip 0..6), Add absorbs a following Relu, padding
// becomes SAME/VALID when that computes exactly the ONNX windows and an explicit PAD otherwise.
#include "onnx_to_tflite.h"

#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "layout.h"
#include "onnx_util.h"  // src/inspect: attribute readers
#include "tflite_writer.h"

namespace edgebench::convert {
namespace {

using onnx::NodeProto;

// ---- ONNX helpers -----------------------------------------------------------------------

// An initializer's values as float or int64 (raw_data is little-endian, as on every target).
std::optional<std::vector<float>> FloatData(const onnx::TensorProto& t) {
  if (t.data_type() != onnx::TensorProto::FLOAT) return std::nullopt;
  if (t.has_raw_data()) {
    std::vector<float> values(t.raw_data().size() / sizeof(float));
    std::memcpy(values.data(), t.raw_data().data(), values.size() * sizeof(float));
    return values;
  }
  return std::vector<float>(t.float_data().begin(), t.float_data().end());
}
std::optional<std::vector<int64_t>> Int64Data(const onnx::TensorProto& t) {
  if (t.data_type() != onnx::TensorProto::INT64) return std::nullopt;
  if (t.has_raw_data()) {
    std::vector<int64_t> values(t.raw_data().size() / sizeof(int64_t));
    std::memcpy(values.data(), t.raw_data().data(), values.size() * sizeof(int64_t));
    return values;
  }
  return std::vector<int64_t>(t.int64_data().begin(), t.int64_data().end());
}

int64_t Elements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string ShapeText(const Shape& shape) {
  std::string text;
  for (int64_t d : shape) text += (text.empty() ? "" : "x") + std::to_string(d);
  return text.empty() ? "scalar" : text;
}

// ---- the converter ------------------------------------------------------------------------

// A converted ONNX value: its TFLite tensor, and whether that tensor holds a 4-D NCHW value
// as NHWC.
struct Value {
  int tensor = -1;
  Shape onnx_shape;
  bool nhwc = false;
};

// Thrown to stop at an operator the converter cannot express; caught in Run().
struct NotConvertible {
  std::string reason;
};
// Thrown by a node whose input an unsupported node should have produced: not reported again.
struct AfterUnsupported {};

class Converter {
 public:
  Converter(onnx::ModelProto model, ConversionReport& report) : model_(std::move(model)), report_(report) {}

  void Run() {
    const auto& graph = model_.graph();
    for (const auto& init : graph.initializer()) initializers_[init.name()] = &init;
    for (const auto& info : graph.value_info()) RecordShape(info);
    for (const auto& info : graph.input()) RecordShape(info);
    for (const auto& info : graph.output()) RecordShape(info);
    for (const auto& node : graph.node()) {
      for (const auto& input : node.input()) ++consumers_[input];
    }
    for (const auto& output : graph.output()) ++consumers_[output.name()];  // never fused away

    std::vector<int> inputs;
    for (const auto& input : graph.input()) {
      if (initializers_.count(input.name())) continue;
      const Shape shape = shapes_.at(input.name());
      Value value{-1, shape, shape.size() == 4};
      value.tensor = writer_.AddTensor(input.name(), tfl::TensorType_FLOAT32, Stored(value));
      values_[input.name()] = value;
      inputs.push_back(value.tensor);
      report_.inputs.push_back(Describe(input.name(), value));
    }
    const int count = graph.node_size();
    for (index_ = 0; index_ < count; ++index_) {
      const NodeProto& node = graph.node(index_);
      if (handled_.count(index_)) continue;
      const std::string name = NodeName(node, index_);
      try {
        ConvertNode(node);
      } catch (const NotConvertible& unsupported) {
        report_.unsupported.push_back({name, node.op_type(), unsupported.reason});
      } catch (const AfterUnsupported&) {
      }
    }
    if (!report_.unsupported.empty()) return;
    std::vector<int> outputs;
    for (const auto& output : graph.output()) {
      const Value& value = values_.at(output.name());
      // Graph outputs keep the ONNX layout unless they are 4-D (then NHWC, recorded).
      outputs.push_back(value.tensor);
      report_.outputs.push_back(Describe(output.name(), value));
    }
    report_.model = writer_.Finish(inputs, outputs, "edgebench convert " + std::string(kConverterVersion));
    report_.log.push_back("wrote " + std::to_string(writer_.operator_count()) + " TFLite operators for " +
                          std::to_string(count) + " ONNX nodes");
  }

 private:
  void RecordShape(const onnx::ValueInfoProto& info) {
    if (!info.type().has_tensor_type() || !info.type().tensor_type().has_shape()) return;
    Shape shape;
    for (const auto& dim : info.type().tensor_type().shape().dim()) {
      shape.push_back(dim.has_dim_value() ? dim.dim_value() : -1);
    }
    shapes_[info.name()] = shape;
  }

  static std::string NodeName(const NodeProto& node, int index) {
    return node.name().empty() ? node.op_type() + "_" + std::to_string(index) : node.name();
  }

  static Shape Stored(const Value& v) { return v.nhwc ? PermuteShape(v.onnx_shape, kNchwToNhwc) : v.onnx_shape; }

  ConvertedTensor Describe(const std::string& name, const Value& v) {
    ConvertedTensor t;
    t.name = name;
    t.onnx_shape = v.onnx_shape;
    t.tflite_shape = Stored(v);
    t.permutation = v.nhwc ? kNchwToNhwc : Permutation();
    if (!v.nhwc) {
      for (std::size_t i = 0; i < v.onnx_shape.size(); ++i) t.permutation.push_back(int(i));
    }
    return t;
  }

  Shape ShapeOf(const std::string& name) {
    auto it = shapes_.find(name);
    if (it == shapes_.end()) {
      if (auto init = initializers_.find(name); init != initializers_.end()) {
        return Shape(init->second->dims().begin(), init->second->dims().end());
      }
      throw NotConvertible{"no static shape for '" + name + "' (fix dynamic inputs with --shape)"};
    }
    for (int64_t d : it->second) {
      if (d < 0) throw NotConvertible{"'" + name + "' has a dynamic shape (fix it with --shape)"};
    }
    return it->second;
  }

  const onnx::TensorProto* Initializer(const std::string& name) {
    auto it = initializers_.find(name);
    return it == initializers_.end() ? nullptr : it->second;
  }

  std::vector<float> Floats(const std::string& name) {
    const auto* init = Initializer(name);
    if (!init) throw NotConvertible{"input '" + name + "' must be a constant (initializer)"};
    auto values = FloatData(*init);
    if (!values) throw NotConvertible{"constant '" + name + "' is not float32"};
    return *values;
  }

  // The converted value of an activation input, or a constant made from an initializer.
  Value Input(const std::string& name) {
    if (auto it = values_.find(name); it != values_.end()) return it->second;
    if (const auto* init = Initializer(name)) {
      Value v{-1, Shape(init->dims().begin(), init->dims().end()), false};
      v.tensor = writer_.AddFloatConstant(name, v.onnx_shape, Floats(name));
      values_[name] = v;
      return v;
    }
    if (!report_.unsupported.empty()) throw AfterUnsupported{};
    throw NotConvertible{"input '" + name + "' is produced by no converted node"};
  }

  // The single consumer of `tensor` when it is node index > index_ with op `op_type`.
  std::optional<int> SoleConsumer(const std::string& tensor, const std::set<std::string>& op_types) {
    if (consumers_[tensor] != 1) return std::nullopt;
    const auto& graph = model_.graph();
    for (int i = index_ + 1; i < graph.node_size(); ++i) {
      for (const auto& input : graph.node(i).input()) {
        if (input == tensor) {
          if (op_types.count(graph.node(i).op_type())) return i;
          return std::nullopt;
        }
      }
    }
    return std::nullopt;
  }

  // An activation fused into the op producing `tensor`: marks the node handled and returns it
  // with the name of the value it produces.
  tfl::ActivationFunctionType FuseActivation(std::string& tensor, std::vector<std::string>& sources) {
    auto next = SoleConsumer(tensor, {"Relu", "Clip"});
    if (!next) return tfl::ActivationFunctionType_NONE;
    const NodeProto& node = model_.graph().node(*next);
    tfl::ActivationFunctionType fused = tfl::ActivationFunctionType_RELU;
    if (node.op_type() == "Clip") {
      const float lo = inspect::FloatAttribute(node, "min", -FLT_MAX), hi = inspect::FloatAttribute(node, "max", FLT_MAX);
      if (node.input_size() > 1 || lo != 0.0f) return tfl::ActivationFunctionType_NONE;
      if (hi == 6.0f) fused = tfl::ActivationFunctionType_RELU6;
      else if (hi < FLT_MAX) return tfl::ActivationFunctionType_NONE;
    }
    Fuse(*next, sources);
    tensor = node.output(0);
    fused_relu_outputs_.insert(tensor);
    return fused;
  }

  void Fuse(int node_index, std::vector<std::string>& sources) {
    const NodeProto& node = model_.graph().node(node_index);
    handled_.insert(node_index);
    sources.push_back(NodeName(node, node_index));
    report_.nodes.push_back({NodeName(node, node_index), node.op_type(), "fused", {},
                             sources.front()});
  }

  // Records the operator and the value it produces.
  int Emit(tfl::BuiltinOperator op, const char* op_name, const std::vector<int>& inputs, const Value& output_value,
           const std::string& output_name, const std::vector<std::string>& sources, const std::string& added_for = "",
           tfl::BuiltinOptions options_type = tfl::BuiltinOptions_NONE, flatbuffers::Offset<void> options = 0) {
    Value out = output_value;
    out.tensor = writer_.AddTensor(output_name, tfl::TensorType_FLOAT32, Stored(out));
    writer_.AddOperator(op, 1, inputs, {out.tensor}, options_type, options);
    report_.operators.push_back({op_name, 1, sources, added_for});
    if (op == tfl::BuiltinOperator_RELU || op == tfl::BuiltinOperator_RELU6 || op == tfl::BuiltinOperator_LOGISTIC ||
        fused_relu_outputs_.count(output_name)) {
      non_negative_.insert(out.tensor);
    }
    values_[output_name] = out;
    return out.tensor;
  }

  void Converted(const NodeProto& node, int first_operator) {
    NodeConversion c{NodeName(node, index_), node.op_type(), "converted", {}, ""};
    for (int i = first_operator; i < writer_.operator_count(); ++i) c.operators.push_back(i);
    report_.nodes.push_back(c);
  }

  // A value in NCHW order (a TRANSPOSE, or a RESHAPE when only size-1 dims move) for ops that
  // need ONNX's layout.
  Value ToOnnxLayout(const Value& v, const std::string& node_name) {
    if (!v.nhwc) return v;
    Value out{-1, v.onnx_shape, false};
    const std::string name = node_name + "/nchw";
    const Shape stored = Stored(v);
    if (IsMemoryOrderPreserved(stored, kNhwcToNchw)) {
      const int shape = writer_.AddInt32Constant(name + "/shape", {4}, Int32(v.onnx_shape));
      Emit(tfl::BuiltinOperator_RESHAPE, "RESHAPE", {v.tensor, shape}, out, name, {node_name}, "layout");
    } else {
      const int perm = writer_.AddInt32Constant(name + "/perm", {4}, {0, 3, 1, 2});
      Emit(tfl::BuiltinOperator_TRANSPOSE, "TRANSPOSE", {v.tensor, perm}, out, name, {node_name}, "layout");
    }
    return values_[name];
  }

  static std::vector<int32_t> Int32(const Shape& shape) { return std::vector<int32_t>(shape.begin(), shape.end()); }

  // A constant operand of an elementwise op next to a 4-D NHWC value: broadcast-compatible in
  // NHWC (rank raised to 4 with leading 1s, then permuted).
  int ElementwiseConstant(const std::string& name, bool other_nhwc) {
    std::vector<float> data = Floats(name);
    Shape shape(Initializer(name)->dims().begin(), Initializer(name)->dims().end());
    if (other_nhwc) {
      while (shape.size() < 4) shape.insert(shape.begin(), 1);
      data = TransposeData(data, shape, kNchwToNhwc);
      shape = PermuteShape(shape, kNchwToNhwc);
    }
    return writer_.AddFloatConstant(name, shape, data);
  }

  void ConvertNode(const NodeProto& node) {
    const std::string& op = node.op_type();
    const int first = writer_.operator_count();
    const std::string name = NodeName(node, index_);
    if (op == "Conv") return ConvertConv(node, name, first);
    if (op == "Dropout" || op == "Identity") {
      values_[node.output(0)] = Input(node.input(0));
      report_.nodes.push_back({name, op, "removed", {}, ""});
      return;
    }
    std::vector<std::string> sources = {name};
    const Shape out_shape = ShapeOf(node.output(0));
    if (op == "BatchNormalization") {
      // No Conv before it (that case is folded in ConvertConv): x * a + b per channel.
      const Value x = Input(node.input(0));
      BatchNorm bn{Floats(node.input(1)), Floats(node.input(2)), Floats(node.input(3)), Floats(node.input(4)),
                   inspect::FloatAttribute(node, "epsilon", 1e-5f)};
      std::vector<float> a, b;
      BatchNormAsAffine(bn, a, b);
      const Shape channel = x.nhwc ? Shape{1, 1, 1, int64_t(a.size())} : Shape{1, int64_t(a.size()), 1, 1};
      const int scale = writer_.AddFloatConstant(name + "/scale", channel, a);
      const int shift = writer_.AddFloatConstant(name + "/shift", channel, b);
      const std::string scaled = name + "/scaled";
      Emit(tfl::BuiltinOperator_MUL, "MUL", {x.tensor, scale}, {-1, out_shape, x.nhwc}, scaled, sources, "",
           tfl::BuiltinOptions_MulOptions, tfl::CreateMulOptions(writer_.builder()).Union());
      std::string output = node.output(0);
      const auto act = FuseActivation(output, sources);
      Emit(tfl::BuiltinOperator_ADD, "ADD", {values_[scaled].tensor, shift}, {-1, out_shape, x.nhwc}, output, sources,
           "", tfl::BuiltinOptions_AddOptions, tfl::CreateAddOptions(writer_.builder(), act).Union());
      return Converted(node, first);
    }
    if (op == "Relu" || op == "Clip" || op == "Sigmoid") {
      const Value x = Input(node.input(0));
      tfl::BuiltinOperator code = tfl::BuiltinOperator_RELU;
      const char* code_name = "RELU";
      if (op == "Sigmoid") {
        code = tfl::BuiltinOperator_LOGISTIC;
        code_name = "LOGISTIC";
      } else if (op == "Clip") {
        const float lo = inspect::FloatAttribute(node, "min", -FLT_MAX), hi = inspect::FloatAttribute(node, "max", FLT_MAX);
        if (node.input_size() > 1) throw NotConvertible{"Clip with min/max inputs (opset 11+) is not supported"};
        if (lo == 0 && hi == 6) {
          code = tfl::BuiltinOperator_RELU6;
          code_name = "RELU6";
        } else if (!(lo == 0 && hi == FLT_MAX)) {
          throw NotConvertible{"Clip(" + std::to_string(lo) + ", " + std::to_string(hi) + "): only Clip(0, 6) and Clip(0)"};
        }
      }
      Emit(code, code_name, {x.tensor}, {-1, out_shape, x.nhwc}, node.output(0), sources);
      return Converted(node, first);
    }
    if (op == "Add" || op == "Mul" || op == "Sub" || op == "Div") return ConvertElementwise(node, name, first);
    if (op == "HardSigmoid") {
      // max(0, min(1, alpha x + beta)) = RELU6(6 alpha x + 6 beta) / 6, with operators every
      // runtime has (x * HardSigmoid(x), HardSwish, stays a MUL after it).
      const Value x = Input(node.input(0));
      const float alpha = inspect::FloatAttribute(node, "alpha", 0.2f), beta = inspect::FloatAttribute(node, "beta", 0.5f);
      auto& builder = writer_.builder();
      const Value shaped{-1, out_shape, x.nhwc};
      const int scale = writer_.AddFloatConstant(name + "/scale", {1}, {6 * alpha});
      const int shift = writer_.AddFloatConstant(name + "/shift", {1}, {6 * beta});
      const int sixth = writer_.AddFloatConstant(name + "/sixth", {1}, {1.0f / 6});
      Emit(tfl::BuiltinOperator_MUL, "MUL", {x.tensor, scale}, shaped, name + "/scaled", sources, "",
           tfl::BuiltinOptions_MulOptions, tfl::CreateMulOptions(builder).Union());
      Emit(tfl::BuiltinOperator_ADD, "ADD", {values_[name + "/scaled"].tensor, shift}, shaped, name + "/shifted",
           sources, "", tfl::BuiltinOptions_AddOptions,
           tfl::CreateAddOptions(builder, tfl::ActivationFunctionType_RELU6).Union());
      Emit(tfl::BuiltinOperator_MUL, "MUL", {values_[name + "/shifted"].tensor, sixth}, shaped, node.output(0),
           sources, "", tfl::BuiltinOptions_MulOptions, tfl::CreateMulOptions(builder).Union());
      return Converted(node, first);
    }
    if (op == "MaxPool" || op == "AveragePool") return ConvertPool(node, name, first);
    if (op == "GlobalAveragePool") {
      const Value x = Input(node.input(0));
      if (!x.nhwc) throw NotConvertible{"GlobalAveragePool of a non-4-D input"};
      const int axes = writer_.AddInt32Constant(name + "/axes", {2}, {1, 2});
      Emit(tfl::BuiltinOperator_MEAN, "MEAN", {x.tensor, axes}, {-1, out_shape, true}, node.output(0), sources, "",
           tfl::BuiltinOptions_ReducerOptions, tfl::CreateReducerOptions(writer_.builder(), true).Union());
      return Converted(node, first);
    }
    if (op == "Flatten" || op == "Reshape") {
      const Value x = ToOnnxLayout(Input(node.input(0)), name);
      const bool to_nhwc = out_shape.size() == 4;
      Value out{-1, out_shape, false};
      const int shape = writer_.AddInt32Constant(name + "/shape", {int64_t(out_shape.size())}, Int32(out_shape));
      const std::string target = to_nhwc ? name + "/onnx_layout" : node.output(0);
      Emit(tfl::BuiltinOperator_RESHAPE, "RESHAPE", {x.tensor, shape}, out, target, sources, "",
           tfl::BuiltinOptions_ReshapeOptions,
           tfl::CreateReshapeOptions(writer_.builder(), writer_.builder().CreateVector(Int32(out_shape))).Union());
      if (to_nhwc) ToNhwc(values_[target], node.output(0), name);
      return Converted(node, first);
    }
    if (op == "Gemm") return ConvertGemm(node, name, first);
    if (op == "Softmax") {
      const Value x = Input(node.input(0));
      const int64_t axis = inspect::IntAttribute(node, "axis", 1);
      if (x.onnx_shape.size() != 2 || (axis != 1 && axis != -1)) {
        throw NotConvertible{"Softmax over axis " + std::to_string(axis) + " of a " + ShapeText(x.onnx_shape) +
                          " tensor: only 2-D inputs over the last axis"};
      }
      Emit(tfl::BuiltinOperator_SOFTMAX, "SOFTMAX", {x.tensor}, {-1, out_shape, false}, node.output(0), sources, "",
           tfl::BuiltinOptions_SoftmaxOptions, tfl::CreateSoftmaxOptions(writer_.builder(), 1.0f).Union());
      return Converted(node, first);
    }
    if (op == "Concat") {
      std::vector<int> inputs;
      bool nhwc = false;
      for (const auto& input : node.input()) {
        const Value v = Input(input);
        nhwc = v.nhwc;
        inputs.push_back(v.tensor);
      }
      int64_t axis = inspect::IntAttribute(node, "axis", 1);
      if (axis < 0) axis += int64_t(out_shape.size());
      if (nhwc) axis = InversePermutation(kNchwToNhwc)[axis];
      Emit(tfl::BuiltinOperator_CONCATENATION, "CONCATENATION", inputs, {-1, out_shape, nhwc}, node.output(0), sources,
           "", tfl::BuiltinOptions_ConcatenationOptions,
           tfl::CreateConcatenationOptions(writer_.builder(), int(axis)).Union());
      return Converted(node, first);
    }
    if (op == "Pad") {
      const Value x = Input(node.input(0));
      if (inspect::StringAttribute(node, "mode", "constant") != "constant" || inspect::FloatAttribute(node, "value", 0) != 0 || node.input_size() > 1) {
        throw NotConvertible{"only constant zero Pad with a pads attribute (opset <= 10)"};
      }
      const std::vector<int64_t> pads = inspect::IntsAttribute(node, "pads").value_or(std::vector<int64_t>{});
      const std::size_t rank = x.onnx_shape.size();
      std::vector<int32_t> paddings(rank * 2);
      for (std::size_t d = 0; d < rank; ++d) {
        const std::size_t stored_d = x.nhwc ? std::size_t(kNchwToNhwc[d]) : d;  // ONNX dim at stored position d
        paddings[2 * d] = int32_t(pads[stored_d]);
        paddings[2 * d + 1] = int32_t(pads[stored_d + rank]);
      }
      const int padding = writer_.AddInt32Constant(name + "/paddings", {int64_t(rank), 2}, paddings);
      Emit(tfl::BuiltinOperator_PAD, "PAD", {x.tensor, padding}, {-1, out_shape, x.nhwc}, node.output(0), sources, "",
           tfl::BuiltinOptions_PadOptions, tfl::CreatePadOptions(writer_.builder()).Union());
      return Converted(node, first);
    }
    throw NotConvertible{"operator " + op + " is not supported by the ONNX -> TFLite converter (docs/convert.md)"};
  }

  void ToNhwc(const Value& v, const std::string& output, const std::string& node_name) {
    Value out{-1, v.onnx_shape, true};
    const Shape stored = v.onnx_shape;
    if (IsMemoryOrderPreserved(stored, kNchwToNhwc)) {
      const int shape = writer_.AddInt32Constant(node_name + "/nhwc_shape", {4}, Int32(Stored(out)));
      Emit(tfl::BuiltinOperator_RESHAPE, "RESHAPE", {v.tensor, shape}, out, output, {node_name}, "layout");
    } else {
      const int perm = writer_.AddInt32Constant(node_name + "/nhwc_perm", {4}, {0, 2, 3, 1});
      Emit(tfl::BuiltinOperator_TRANSPOSE, "TRANSPOSE", {v.tensor, perm}, out, output, {node_name}, "layout");
    }
  }

  // Explicit zero padding of the spatial dims of a NHWC value; returns the padded value.
  Value PadSpatial(const Value& x, const std::vector<int64_t>& begin, const std::vector<int64_t>& end,
                   const std::string& name, float value) {
    Shape padded = x.onnx_shape;
    padded[2] += begin[0] + end[0];
    padded[3] += begin[1] + end[1];
    const int paddings = writer_.AddInt32Constant(name + "/paddings", {4, 2},
                                                  {0, 0, int32_t(begin[0]), int32_t(end[0]), int32_t(begin[1]),
                                                   int32_t(end[1]), 0, 0});
    const std::string out = name + "/padded";
    if (value == 0) {
      Emit(tfl::BuiltinOperator_PAD, "PAD", {x.tensor, paddings}, {-1, padded, true}, out, {name}, "padding",
           tfl::BuiltinOptions_PadOptions, tfl::CreatePadOptions(writer_.builder()).Union());
    } else {
      const int fill = writer_.AddFloatConstant(name + "/fill", {}, {value});
      Emit(tfl::BuiltinOperator_PADV2, "PADV2", {x.tensor, paddings, fill}, {-1, padded, true}, out, {name},
           "padding", tfl::BuiltinOptions_PadV2Options, tfl::CreatePadV2Options(writer_.builder()).Union());
    }
    return values_[out];
  }

  // The TFLite padding for windows (kernel, strides, dilations, ONNX pads), or an explicit pad
  // of `x` (returned in `x`) and VALID.
  tfl::Padding Windows(Value& x, const Shape& out_shape, const std::vector<int64_t>& kernel,
                       const std::vector<int64_t>& strides, const std::vector<int64_t>& dilations,
                       const std::vector<int64_t>& pads, const std::string& name, float pad_value) {
    std::vector<SpatialPadding> dims(2);
    for (int d = 0; d < 2; ++d) {
      dims[d] = {x.onnx_shape[2 + d], kernel[d], strides[d], dilations[d], pads[d], pads[d + 2], out_shape[2 + d]};
    }
    if (auto match = MatchTflitePadding(dims)) {
      return *match == TflitePadding::kSame ? tfl::Padding_SAME : tfl::Padding_VALID;
    }
    std::vector<int64_t> begin(2), end(2);
    for (int d = 0; d < 2; ++d) {
      begin[d] = pads[d];
      end[d] = std::max<int64_t>(EffectiveEndPadding(dims[d]), 0);
    }
    x = PadSpatial(x, begin, end, name, pad_value);
    for (int d = 0; d < 2; ++d) {
      dims[d].in = x.onnx_shape[2 + d];
      dims[d].begin = dims[d].end = 0;
    }
    if (MatchTflitePadding(dims) != TflitePadding::kValid) {
      throw NotConvertible{"padding that neither SAME, VALID nor an explicit PAD expresses"};
    }
    return tfl::Padding_VALID;
  }

  void ConvertConv(const NodeProto& node, const std::string& name, int first) {
    Value x = Input(node.input(0));
    if (!x.nhwc) throw NotConvertible{"Conv of a non-4-D input (only 2-D convolutions)"};
    const Shape w_shape = ShapeOf(node.input(1));
    std::vector<float> weights = Floats(node.input(1));
    const int64_t out_channels = w_shape[0], in_channels = x.onnx_shape[1];
    std::vector<float> bias = node.input_size() > 2 && !node.input(2).empty() ? Floats(node.input(2))
                                                                             : std::vector<float>(out_channels, 0.0f);
    std::vector<std::string> sources = {name};
    std::string output = node.output(0);
    if (auto bn = SoleConsumer(output, {"BatchNormalization"})) {
      const NodeProto& norm = model_.graph().node(*bn);
      FoldBatchNorm({Floats(norm.input(1)), Floats(norm.input(2)), Floats(norm.input(3)), Floats(norm.input(4)),
                     inspect::FloatAttribute(norm, "epsilon", 1e-5f)},
                    weights, bias);
      Fuse(*bn, sources);
      output = norm.output(0);
    }
    const auto act = FuseActivation(output, sources);
    const Shape out_shape = ShapeOf(output);
    const int64_t group = inspect::IntAttribute(node, "group", 1);
    const std::vector<int64_t> kernel = {w_shape[2], w_shape[3]};
    const std::vector<int64_t> strides = inspect::IntsAttribute(node, "strides").value_or(std::vector<int64_t>{1, 1});
    const std::vector<int64_t> dilations = inspect::IntsAttribute(node, "dilations").value_or(std::vector<int64_t>{1, 1});
    std::vector<int64_t> pads = inspect::IntsAttribute(node, "pads").value_or(std::vector<int64_t>{0, 0, 0, 0});
    if (inspect::StringAttribute(node, "auto_pad", "NOTSET") != "NOTSET" && inspect::StringAttribute(node, "auto_pad", "NOTSET") != "VALID") {
      throw NotConvertible{"auto_pad " + inspect::StringAttribute(node, "auto_pad", "") + " (re-export with explicit pads)"};
    }
    const tfl::Padding padding = Windows(x, out_shape, kernel, strides, dilations, pads, name, 0.0f);
    const int bias_tensor = writer_.AddFloatConstant(name + "/bias", {out_channels}, bias);
    Value out{-1, out_shape, true};
    auto& b = writer_.builder();
    if (group == 1) {
      const int filter = writer_.AddFloatConstant(name + "/filter", PermuteShape(w_shape, {0, 2, 3, 1}),
                                                  ConvWeightsToOhwi(weights, w_shape));
      Emit(tfl::BuiltinOperator_CONV_2D, "CONV_2D", {x.tensor, filter, bias_tensor}, out, output, sources, "",
           tfl::BuiltinOptions_Conv2DOptions,
           tfl::CreateConv2DOptions(b, padding, int(strides[1]), int(strides[0]), act, int(dilations[1]),
                                    int(dilations[0])).Union());
    } else if (group == in_channels && w_shape[1] == 1) {
      if (dilations[0] != 1 || dilations[1] != 1) throw NotConvertible{"dilated depthwise Conv (needs op version 2)"};
      const int filter = writer_.AddFloatConstant(name + "/filter", {1, kernel[0], kernel[1], out_channels},
                                                  DepthwiseWeightsTo1hwc(weights, w_shape));
      Emit(tfl::BuiltinOperator_DEPTHWISE_CONV_2D, "DEPTHWISE_CONV_2D", {x.tensor, filter, bias_tensor}, out, output,
           sources, "", tfl::BuiltinOptions_DepthwiseConv2DOptions,
           tfl::CreateDepthwiseConv2DOptions(b, padding, int(strides[1]), int(strides[0]),
                                             int(out_channels / in_channels), act).Union());
    } else {
      throw NotConvertible{"grouped Conv (group " + std::to_string(group) + " of " + std::to_string(in_channels) +
                        " channels): only group 1 and depthwise"};
    }
    Converted(node, first);
  }

  void ConvertPool(const NodeProto& node, const std::string& name, int first) {
    Value x = Input(node.input(0));
    if (!x.nhwc) throw NotConvertible{node.op_type() + " of a non-4-D input"};
    const bool max = node.op_type() == "MaxPool";
    const std::vector<int64_t> kernel = inspect::IntsAttribute(node, "kernel_shape").value_or(std::vector<int64_t>{});
    const std::vector<int64_t> strides = inspect::IntsAttribute(node, "strides").value_or(std::vector<int64_t>{1, 1});
    const std::vector<int64_t> pads = inspect::IntsAttribute(node, "pads").value_or(std::vector<int64_t>{0, 0, 0, 0});
    if (kernel.size() != 2) throw NotConvertible{"pooling needs a 2-D kernel_shape"};
    if (inspect::StringAttribute(node, "auto_pad", "NOTSET") != "NOTSET") throw NotConvertible{"auto_pad (re-export with explicit pads)"};
    const Shape out_shape = ShapeOf(node.output(0));
    const bool padded = std::any_of(pads.begin(), pads.end(), [](int64_t p) { return p != 0; });
    std::vector<std::string> sources = {name};
    tfl::Padding padding;
    if (!max && padded && inspect::IntAttribute(node, "count_include_pad", 0) == 1) {
      // Averages over padded windows count the zeros: explicit PAD, then VALID.
      std::vector<SpatialPadding> dims(2);
      std::vector<int64_t> end(2);
      for (int d = 0; d < 2; ++d) {
        dims[d] = {x.onnx_shape[2 + d], kernel[d], strides[d], 1, pads[d], pads[d + 2], out_shape[2 + d]};
        end[d] = std::max<int64_t>(EffectiveEndPadding(dims[d]), 0);
      }
      x = PadSpatial(x, {pads[0], pads[1]}, end, name, 0.0f);
      padding = tfl::Padding_VALID;
    } else {
      // TFLite's SAME excludes padding from averages and max. An explicit pad for max pooling
      // is zeros when the input cannot be negative (after a ReLU: a plain PAD, which every
      // runtime has), else the lowest float (PADV2).
      const bool zeros_are_neutral = !max || non_negative_.count(x.tensor);
      padding = Windows(x, out_shape, kernel, strides, {1, 1}, pads, name, zeros_are_neutral ? 0.0f : -FLT_MAX);
      if (!max && padding == tfl::Padding_VALID && padded && values_.count(name + "/padded")) {
        throw NotConvertible{"AveragePool excluding padding with windows SAME cannot express"};
      }
    }
    std::string output = node.output(0);
    const auto act = FuseActivation(output, sources);
    auto options = tfl::CreatePool2DOptions(writer_.builder(), padding, int(strides[1]), int(strides[0]),
                                            int(kernel[1]), int(kernel[0]), act);
    Emit(max ? tfl::BuiltinOperator_MAX_POOL_2D : tfl::BuiltinOperator_AVERAGE_POOL_2D,
         max ? "MAX_POOL_2D" : "AVERAGE_POOL_2D", {x.tensor}, {-1, ShapeOf(output), true}, output, sources, "",
         tfl::BuiltinOptions_Pool2DOptions, options.Union());
    Converted(node, first);
  }

  void ConvertElementwise(const NodeProto& node, const std::string& name, int first) {
    const std::string& op = node.op_type();
    const bool a_const = Initializer(node.input(0)) && !values_.count(node.input(0));
    const bool b_const = Initializer(node.input(1)) && !values_.count(node.input(1));
    if (a_const && b_const) throw NotConvertible{"elementwise op of two constants (fold it before converting)"};
    Value a = a_const ? Value{} : Input(node.input(0));
    Value b = b_const ? Value{} : Input(node.input(1));
    if (!a_const && !b_const && a.nhwc != b.nhwc) {
      throw NotConvertible{"broadcast between a 4-D and a lower-rank activation"};
    }
    const bool nhwc = a_const ? b.nhwc : a.nhwc;
    if (a_const) a.tensor = ElementwiseConstant(node.input(0), nhwc);
    if (b_const) b.tensor = ElementwiseConstant(node.input(1), nhwc);
    std::vector<std::string> sources = {name};
    std::string output = node.output(0);
    auto act = tfl::ActivationFunctionType_NONE;
    if (op == "Add") act = FuseActivation(output, sources);
    auto& builder = writer_.builder();
    const Value out{-1, ShapeOf(output), nhwc};
    if (op == "Add") {
      Emit(tfl::BuiltinOperator_ADD, "ADD", {a.tensor, b.tensor}, out, output, sources, "",
           tfl::BuiltinOptions_AddOptions, tfl::CreateAddOptions(builder, act).Union());
    } else if (op == "Mul") {
      Emit(tfl::BuiltinOperator_MUL, "MUL", {a.tensor, b.tensor}, out, output, sources, "",
           tfl::BuiltinOptions_MulOptions, tfl::CreateMulOptions(builder).Union());
    } else if (op == "Sub") {
      Emit(tfl::BuiltinOperator_SUB, "SUB", {a.tensor, b.tensor}, out, output, sources, "",
           tfl::BuiltinOptions_SubOptions, tfl::CreateSubOptions(builder).Union());
    } else {
      Emit(tfl::BuiltinOperator_DIV, "DIV", {a.tensor, b.tensor}, out, output, sources, "",
           tfl::BuiltinOptions_DivOptions, tfl::CreateDivOptions(builder).Union());
    }
    Converted(node, first);
  }

  void ConvertGemm(const NodeProto& node, const std::string& name, int first) {
    const Value a = Input(node.input(0));
    if (a.onnx_shape.size() != 2 || inspect::IntAttribute(node, "transA", 0) != 0) {
      throw NotConvertible{"Gemm needs a 2-D A that is not transposed"};
    }
    Shape w_shape = ShapeOf(node.input(1));
    std::vector<float> weights = Floats(node.input(1));
    if (inspect::IntAttribute(node, "transB", 0) == 0) {  // B is [K, N]; FULLY_CONNECTED wants [N, K]
      weights = TransposeData(weights, w_shape, {1, 0});
      w_shape = {w_shape[1], w_shape[0]};
    }
    const float alpha = inspect::FloatAttribute(node, "alpha", 1.0f), beta = inspect::FloatAttribute(node, "beta", 1.0f);
    for (float& w : weights) w *= alpha;
    std::vector<float> bias(w_shape[0], 0.0f);
    if (node.input_size() > 2 && !node.input(2).empty()) {
      const std::vector<float> c = Floats(node.input(2));
      if (int64_t(c.size()) != w_shape[0]) throw NotConvertible{"Gemm bias C must have N elements"};
      for (std::size_t i = 0; i < c.size(); ++i) bias[i] = beta * c[i];
    }
    const int filter = writer_.AddFloatConstant(name + "/weights", w_shape, weights);
    const int bias_tensor = writer_.AddFloatConstant(name + "/bias", {w_shape[0]}, bias);
    std::vector<std::string> sources = {name};
    std::string output = node.output(0);
    const auto act = FuseActivation(output, sources);
    Emit(tfl::BuiltinOperator_FULLY_CONNECTED, "FULLY_CONNECTED", {a.tensor, filter, bias_tensor},
         {-1, ShapeOf(output), false}, output, sources, "", tfl::BuiltinOptions_FullyConnectedOptions,
         tfl::CreateFullyConnectedOptions(writer_.builder(), act).Union());
    Converted(node, first);
  }

  onnx::ModelProto model_;
  ConversionReport& report_;
  TfliteWriter writer_;
  std::map<std::string, const onnx::TensorProto*> initializers_;
  std::map<std::string, Shape> shapes_;
  std::map<std::string, int> consumers_;
  std::map<std::string, Value> values_;
  std::set<int> handled_;
  std::set<int> non_negative_;  // tensors >= 0 by construction (a ReLU, fused or not, or a sigmoid)
  std::set<std::string> fused_relu_outputs_;  // ONNX values whose producer got a fused ReLU/ReLU6
  int index_ = 0;
};

}  // namespace

Expected<ConversionReport> ConvertOnnxToTflite(const ConvertRequest& request) {
  std::ifstream in(request.model_path, std::ios::binary);
  if (!in) return NotFound(request.model_path + ": cannot open the model file");
  onnx::ModelProto model;
  if (!model.ParseFromIstream(&in) || model.graph().node_size() == 0) {
    return BadModel(request.model_path + ": not a valid ONNX model (protobuf parse failed or no nodes)");
  }
  // Fix dynamic input dims, then infer every shape.
  for (auto& input : *model.mutable_graph()->mutable_input()) {
    auto it = request.shapes.find(input.name());
    if (it == request.shapes.end() || !input.type().has_tensor_type()) continue;
    auto* shape = input.mutable_type()->mutable_tensor_type()->mutable_shape();
    shape->clear_dim();
    for (int64_t d : it->second) shape->add_dim()->set_dim_value(d);
  }
  for (const auto& input : model.graph().input()) {
    bool initializer = false;
    for (const auto& init : model.graph().initializer()) initializer |= init.name() == input.name();
    if (initializer || !input.type().has_tensor_type()) continue;
    for (const auto& dim : input.type().tensor_type().shape().dim()) {
      if (!dim.has_dim_value() || dim.dim_value() <= 0) {
        return InvalidArgument(request.model_path + ": input '" + input.name() +
                               "' has a dynamic dimension; fix it with --shape " + input.name() + "=1x...");
      }
    }
  }
  try {
    onnx::shape_inference::InferShapes(model);
  } catch (const std::exception& e) {
    return BadModel(request.model_path + ": ONNX shape inference failed: " + e.what());
  }
  ConversionReport report;
  report.source_path = request.model_path;
  report.target = request.target;
  Converter(std::move(model), report).Run();
  if (!report.ok()) report.model.clear();
  return report;
}

}  // namespace edgebench::convert
