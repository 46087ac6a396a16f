// ONNX -> ONNX at a precision (onnx_precision.h).
#include "onnx_precision.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "edgebench/float16.h"
#include "inspect/onnx_analysis.h"
#include "layout.h"
#include "quantize.h"
#include "samples.h"

namespace edgebench::convert {
namespace {

constexpr const char* kMicrosoftDomain = "com.microsoft";  // onnxruntime's contrib operators

std::vector<float> FloatValues(const onnx::TensorProto& tensor) {
  if (tensor.has_raw_data()) {
    std::vector<float> values(tensor.raw_data().size() / sizeof(float));
    std::memcpy(values.data(), tensor.raw_data().data(), values.size() * sizeof(float));
    return values;
  }
  return {tensor.float_data().begin(), tensor.float_data().end()};
}

template <typename T>
onnx::TensorProto MakeTensor(const std::string& name, onnx::TensorProto::DataType type,
                             const std::vector<int64_t>& dims, const std::vector<T>& values) {
  onnx::TensorProto tensor;
  tensor.set_name(name);
  tensor.set_data_type(type);
  for (int64_t dim : dims) tensor.add_dims(dim);
  tensor.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T)));
  return tensor;
}

onnx::NodeProto MakeNode(const std::string& op_type, const std::vector<std::string>& inputs,
                         const std::string& output, const std::string& domain = "") {
  onnx::NodeProto node;
  node.set_op_type(op_type);
  node.set_name(output + "/" + op_type);
  if (!domain.empty()) node.set_domain(domain);
  for (const auto& input : inputs) node.add_input(input);
  node.add_output(output);
  return node;
}

void SetIntAttribute(onnx::NodeProto& node, const std::string& name, int64_t value) {
  auto* attribute = node.add_attribute();
  attribute->set_name(name);
  attribute->set_type(onnx::AttributeProto::INT);
  attribute->set_i(value);
}

// Rebuilds the graph's node list: `first` ahead of every node, `after[i]` right behind node i.
void Splice(onnx::GraphProto& graph, const std::vector<onnx::NodeProto>& first,
            std::map<int, std::vector<onnx::NodeProto>>& after) {
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (const auto& node : first) *nodes.Add() = node;
  for (int i = 0; i < graph.node_size(); ++i) {
    *nodes.Add() = graph.node(i);
    for (auto& node : after[i]) *nodes.Add() = std::move(node);
  }
  graph.mutable_node()->Swap(&nodes);
}

// Float16 weights: every float initializer becomes FLOAT16, widened back by a Cast at the start
// of the graph (the Cast takes the initializer's name, so no node changes).
void Float16Weights(onnx::GraphProto& graph, std::set<std::string>& added) {
  std::vector<onnx::NodeProto> casts;
  for (auto& initializer : *graph.mutable_initializer()) {
    if (initializer.data_type() != onnx::TensorProto::FLOAT) continue;
    std::vector<uint16_t> halves;
    for (float value : FloatValues(initializer)) halves.push_back(FloatToHalf(value));
    const std::string name = initializer.name();
    std::vector<int64_t> dims(initializer.dims().begin(), initializer.dims().end());
    initializer = MakeTensor(name + "/fp16", onnx::TensorProto::FLOAT16, dims, halves);
    onnx::NodeProto cast = MakeNode("Cast", {name + "/fp16"}, name);
    SetIntAttribute(cast, "to", onnx::TensorProto::FLOAT);
    added.insert(cast.name());
    casts.push_back(std::move(cast));
  }
  std::map<int, std::vector<onnx::NodeProto>> none;
  Splice(graph, casts, none);
}

// Folds each BatchNormalization whose input is a Conv's only use into that Conv (weights and bias
// rescaled per output channel; the Conv writes the BatchNorm's output), as quantizers do first:
// a quantized Conv then carries the whole affine map. Returns the folded BatchNorms' names, by
// the Conv's name.
std::map<std::string, std::string> FoldBatchNorms(onnx::GraphProto& graph) {
  std::map<std::string, int> initializer_index;
  for (int i = 0; i < graph.initializer_size(); ++i) initializer_index[graph.initializer(i).name()] = i;
  std::map<std::string, int> uses;
  for (const auto& node : graph.node()) {
    for (const auto& input : node.input()) ++uses[input];
  }
  for (const auto& output : graph.output()) ++uses[output.name()];
  auto floats = [&](const std::string& name) -> const onnx::TensorProto* {
    const auto it = initializer_index.find(name);
    if (it == initializer_index.end() || graph.initializer(it->second).data_type() != onnx::TensorProto::FLOAT) {
      return nullptr;
    }
    return &graph.initializer(it->second);
  };
  std::map<std::string, int> producer;
  for (int i = 0; i < graph.node_size(); ++i) {
    for (const auto& output : graph.node(i).output()) producer[output] = i;
  }
  std::map<std::string, std::string> folded;
  std::set<int> removed;
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& bn = graph.node(i);
    if (bn.op_type() != "BatchNormalization" || bn.input_size() != 5 || bn.output_size() < 1) continue;
    if (std::any_of(bn.output().begin() + 1, bn.output().end(), [](const std::string& o) { return !o.empty(); })) continue;
    const auto conv_at = producer.find(bn.input(0));
    if (conv_at == producer.end() || uses[bn.input(0)] != 1) continue;
    onnx::NodeProto& conv = *graph.mutable_node(conv_at->second);
    if (conv.op_type() != "Conv" || conv.input_size() < 2) continue;
    const onnx::TensorProto* w = floats(conv.input(1));
    const onnx::TensorProto* b = conv.input_size() > 2 && !conv.input(2).empty() ? floats(conv.input(2)) : nullptr;
    if (!w || (conv.input_size() > 2 && !conv.input(2).empty() && !b) || uses[conv.input(1)] != 1 ||
        (b && uses[conv.input(2)] != 1)) {
      continue;
    }
    BatchNorm norm;
    std::vector<float>* parts[] = {&norm.scale, &norm.bias, &norm.mean, &norm.variance};
    bool constant = true;
    for (int k = 0; k < 4; ++k) {
      const onnx::TensorProto* part = floats(bn.input(k + 1));
      if (!part) constant = false;
      else *parts[k] = FloatValues(*part);
    }
    if (!constant || w->dims_size() < 1 || norm.scale.size() != std::size_t(w->dims(0))) continue;
    for (const auto& attribute : bn.attribute()) {
      if (attribute.name() == "epsilon") norm.epsilon = attribute.f();
    }
    std::vector<float> weights = FloatValues(*w);
    std::vector<float> bias = b ? FloatValues(*b) : std::vector<float>(norm.scale.size(), 0.0f);
    FoldBatchNorm(norm, weights, bias);
    const std::vector<int64_t> dims(w->dims().begin(), w->dims().end());
    const std::string w_name = w->name();
    *graph.mutable_initializer(initializer_index[w_name]) = MakeTensor(w_name, onnx::TensorProto::FLOAT, dims, weights);
    const std::string bias_name = b ? b->name() : conv.output(0) + "/folded_bias";
    if (b) {
      *graph.mutable_initializer(initializer_index[bias_name]) =
          MakeTensor(bias_name, onnx::TensorProto::FLOAT, {int64_t(bias.size())}, bias);
    } else {
      *graph.add_initializer() = MakeTensor(bias_name, onnx::TensorProto::FLOAT, {int64_t(bias.size())}, bias);
      initializer_index[bias_name] = graph.initializer_size() - 1;
      while (conv.input_size() < 3) conv.add_input("");
      conv.set_input(2, bias_name);
    }
    conv.set_output(0, bn.output(0));
    folded[conv.name()] = bn.name();
    removed.insert(i);
  }
  google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
  for (int i = 0; i < graph.node_size(); ++i) {
    if (!removed.count(i)) *kept.Add() = graph.node(i);
  }
  graph.mutable_node()->Swap(&kept);
  return folded;
}

// Ranges of every float activation (node outputs, graph inputs) over the samples, on onnxruntime.
// `model` is the analysed one with BatchNorms folded (its tensors are the analysis's).
Expected<std::map<std::string, ValueRange>> CalibrateOnnx(onnx::ModelProto model, const inspect::OnnxAnalysis& analysis,
                                                          const std::vector<ConvertedTensor>& inputs,
                                                          const SampleSet& samples) {
  if (samples.samples.empty()) return InvalidArgument("int8 calibration needs at least one sample");
  std::set<std::string> outputs;
  for (const auto& output : model.graph().output()) outputs.insert(output.name());
  std::vector<std::string> names;
  for (const auto& output : model.graph().output()) names.push_back(output.name());
  for (const auto& node : model.graph().node()) {
    for (const auto& name : node.output()) {
      const auto shape = analysis.shapes.find(name);
      if (name.empty() || outputs.count(name) || analysis.constants.count(name) || shape == analysis.shapes.end() ||
          shape->second.elem_type != onnx::TensorProto::FLOAT) {
        continue;
      }
      auto* output = model.mutable_graph()->add_output();
      output->set_name(name);
      output->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
      names.push_back(name);
    }
  }
  auto file = TemporaryModel::Write(model.SerializeAsString(), ".onnx");
  if (!file.ok()) return file.error();
  auto loaded = LoadedModel::Open("onnxruntime", file->path());
  if (!loaded.ok()) return Error{loaded.error().code, "int8 calibration runs on onnxruntime: " + loaded.error().message};
  std::map<std::string, ValueRange> ranges;
  auto widen = [&](const std::string& name, const Tensor& tensor) {
    std::vector<float> values(tensor.data.size() / sizeof(float));
    std::memcpy(values.data(), tensor.data.data(), values.size() * sizeof(float));
    WidenRange(ranges, name, values);
  };
  for (const Sample& sample : samples.samples) {
    for (std::size_t i = 0; i < sample.size() && i < inputs.size(); ++i) widen(inputs[i].name, sample[i]);
    auto result = loaded->Run(sample);
    if (!result.ok()) return Error{result.error().code, "int8 calibration: " + result.error().message};
    if (result->size() != names.size()) return Internal("calibration model lost outputs");
    for (std::size_t i = 0; i < names.size(); ++i) {
      if ((*result)[i].spec.type == DataType::kFloat32) widen(names[i], (*result)[i]);
    }
  }
  return ranges;
}

// QDQ INT8 (the layout onnxruntime's quantizer writes and its graph optimizer fuses into
// QLinearConv and friends): every calibrated float activation T passes through
// QuantizeLinear -> DequantizeLinear (int8, per tensor; the producer now writes T/float and the
// DequantizeLinear writes T, so consumers are unchanged); Conv weights become int8 per output
// channel and Gemm weights int8 per tensor, biases int32 at input scale x weight scale, each behind
// a DequantizeLinear that takes the float initializer's name. Per-channel DequantizeLinear needs
// an axis, which the default domain has from opset 13 only: those use onnxruntime's
// com.microsoft DequantizeLinear, which has it at every opset.
Status QuantizeQdq(onnx::ModelProto& model, const std::map<std::string, ValueRange>& ranges,
                   std::set<std::string>& added, QuantizationSummary& summary) {
  onnx::GraphProto& graph = *model.mutable_graph();
  std::map<std::string, int> initializer_index;
  for (int i = 0; i < graph.initializer_size(); ++i) initializer_index[graph.initializer(i).name()] = i;
  std::set<std::string> graph_inputs;
  for (const auto& input : graph.input()) {
    if (!initializer_index.count(input.name())) graph_inputs.insert(input.name());
  }
  std::map<std::string, Int8Params> params;  // per quantized activation (its DequantizeLinear's name)
  std::vector<onnx::NodeProto> first;
  std::map<int, std::vector<onnx::NodeProto>> after;
  std::map<std::string, std::string> input_rename;  // graph input -> its DequantizeLinear output
  auto add_qdq = [&](const std::string& source, const std::string& output, Int8Params p,
                     std::vector<onnx::NodeProto>& into) {
    *graph.add_initializer() = MakeTensor<float>(output + "/scale", onnx::TensorProto::FLOAT, {}, {p.scale});
    *graph.add_initializer() = MakeTensor<int8_t>(output + "/zero_point", onnx::TensorProto::INT8, {}, {int8_t(p.zero_point)});
    onnx::NodeProto q = MakeNode("QuantizeLinear", {source, output + "/scale", output + "/zero_point"}, output + "/q");
    onnx::NodeProto dq = MakeNode("DequantizeLinear", {output + "/q", output + "/scale", output + "/zero_point"}, output);
    added.insert(q.name());
    added.insert(dq.name());
    into.push_back(std::move(q));
    into.push_back(std::move(dq));
    params[output] = p;
  };
  for (const auto& name : graph_inputs) {
    if (auto range = ranges.find(name); range != ranges.end()) {
      add_qdq(name, name + "/dq", ParamsForRange(range->second), first);
      input_rename[name] = name + "/dq";
    }
  }
  std::set<std::string> outputs_of_graph;
  for (const auto& output : graph.output()) outputs_of_graph.insert(output.name());
  for (int i = 0; i < graph.node_size(); ++i) {
    onnx::NodeProto& node = *graph.mutable_node(i);
    for (auto& input : *node.mutable_input()) {
      if (auto renamed = input_rename.find(input); renamed != input_rename.end()) input = renamed->second;
    }
    for (auto& output : *node.mutable_output()) {
      const auto range = ranges.find(output);
      if (range == ranges.end()) continue;
      const std::string name = output;
      output = name + "/float";
      add_qdq(output, name, ParamsForRange(range->second), after[i]);
    }
  }
  int weighted = 0;
  for (int i = 0; i < graph.node_size(); ++i) {
    onnx::NodeProto& node = *graph.mutable_node(i);
    const bool conv = node.op_type() == "Conv", gemm = node.op_type() == "Gemm";
    if ((!conv && !gemm) || node.input_size() < 2) continue;
    const auto weights = initializer_index.find(node.input(1));
    const auto input_params = params.find(node.input(0));
    if (weights == initializer_index.end() || input_params == params.end()) continue;
    onnx::TensorProto& w = *graph.mutable_initializer(weights->second);
    // Old files list initializers as graph inputs too: those stay float (an input cannot be replaced).
    const bool listed_as_input = std::any_of(graph.input().begin(), graph.input().end(),
                                             [&](const onnx::ValueInfoProto& v) { return v.name() == w.name(); });
    if (w.data_type() != onnx::TensorProto::FLOAT || listed_as_input) continue;
    bool trans_b = false;
    for (const auto& attribute : node.attribute()) trans_b |= attribute.name() == "transB" && attribute.i() != 0;
    if (gemm && !trans_b) continue;  // per-row scales need [N, K] weights; keep this Gemm float
    const std::vector<float> values = FloatValues(w);
    const std::vector<int64_t> dims(w.dims().begin(), w.dims().end());
    const std::size_t channels = conv ? std::size_t(dims[0]) : 1;
    const std::size_t inner = values.size() / channels;  // Conv [O, I, kH, kW]: channel-major
    const SymmetricInt8 q = QuantizeSymmetric(values, channels, [&](std::size_t k) { return k / inner; });
    const std::vector<float>& scales = q.scales;
    const std::string name = w.name();
    w = MakeTensor(name + "/int8", onnx::TensorProto::INT8, dims, q.values);
    const std::vector<int64_t> scale_dims = conv ? std::vector<int64_t>{int64_t(channels)} : std::vector<int64_t>{};
    *graph.add_initializer() = MakeTensor(name + "/scale", onnx::TensorProto::FLOAT, scale_dims, scales);
    *graph.add_initializer() = MakeTensor(name + "/zero_point", onnx::TensorProto::INT8, scale_dims,
                                          std::vector<int8_t>(channels, 0));
    onnx::NodeProto dq = MakeNode("DequantizeLinear", {name + "/int8", name + "/scale", name + "/zero_point"}, name,
                                  conv ? kMicrosoftDomain : "");
    if (conv) SetIntAttribute(dq, "axis", 0);
    added.insert(dq.name());
    first.push_back(std::move(dq));
    ++weighted;
    if (node.input_size() < 3 || node.input(2).empty()) continue;
    const auto bias = initializer_index.find(node.input(2));
    if (bias == initializer_index.end()) continue;
    onnx::TensorProto& b = *graph.mutable_initializer(bias->second);
    const bool bias_listed_as_input = std::any_of(graph.input().begin(), graph.input().end(),
                                                  [&](const onnx::ValueInfoProto& v) { return v.name() == b.name(); });
    if (b.data_type() != onnx::TensorProto::FLOAT || bias_listed_as_input) continue;
    const std::vector<float> bias_values = FloatValues(b);
    if (conv && bias_values.size() != channels) continue;
    std::vector<float> bias_scales;
    for (std::size_t c = 0; c < bias_values.size(); ++c) bias_scales.push_back(input_params->second.scale * scales[conv ? c : 0]);
    const std::vector<int32_t> qb = QuantizeBias(bias_values, bias_scales);
    if (!conv) bias_scales.resize(1);
    const std::string bias_name = b.name();
    const std::vector<int64_t> bias_dims(b.dims().begin(), b.dims().end());
    b = MakeTensor(bias_name + "/int32", onnx::TensorProto::INT32, bias_dims, qb);
    *graph.add_initializer() = MakeTensor(bias_name + "/scale", onnx::TensorProto::FLOAT, scale_dims, bias_scales);
    *graph.add_initializer() = MakeTensor(bias_name + "/zero_point", onnx::TensorProto::INT32, scale_dims,
                                          std::vector<int32_t>(bias_scales.size(), 0));
    onnx::NodeProto bias_dq = MakeNode("DequantizeLinear", {bias_name + "/int32", bias_name + "/scale",
                                                            bias_name + "/zero_point"},
                                       bias_name, conv ? kMicrosoftDomain : "");
    if (conv) SetIntAttribute(bias_dq, "axis", 0);
    added.insert(bias_dq.name());
    first.push_back(std::move(bias_dq));
  }
  if (weighted == 0) return InvalidArgument("nothing to quantize: no Conv or Gemm (transB=1) has float weights");
  Splice(graph, first, after);
  bool has_domain = false;
  for (const auto& opset : model.opset_import()) has_domain |= opset.domain() == kMicrosoftDomain;
  if (!has_domain) {
    auto* opset = model.add_opset_import();
    opset->set_domain(kMicrosoftDomain);
    opset->set_version(1);
  }
  summary.int8_operators = weighted;
  return OkStatus();
}

}  // namespace

Expected<ConversionReport> ConvertOnnxToOnnx(const ConvertRequest& request) {
  auto analysis = inspect::AnalyzeOnnx(request.model_path, request.shapes);
  if (!analysis.ok()) return analysis.error();
  ConversionReport report;
  report.source_path = request.model_path;
  report.target = ConvertTarget::kOnnx;
  report.precision = request.precision;
  for (const auto& warning : analysis->warnings) report.log.push_back("warning: " + warning);
  if (!analysis->assumed_dims.empty()) {
    const std::string input = analysis->assumed_dims.front().substr(0, analysis->assumed_dims.front().find('['));
    return InvalidArgument(request.model_path + ": input '" + input + "' has a dynamic dimension; the " +
                           "calibration and the accuracy check need static shapes: fix it with --shape " + input +
                           "=DIMS");
  }
  if (analysis->external_data && request.precision != ConvertPrecision::kFloat32) {
    return Unsupported(request.model_path + ": weights in external data files are not converted");
  }
  onnx::ModelProto model = analysis->model;
  // Unnamed nodes take their report label, so that report entries and output nodes pair up.
  for (int i = 0; i < model.graph().node_size(); ++i) {
    onnx::NodeProto& node = *model.mutable_graph()->mutable_node(i);
    if (node.name().empty()) node.set_name(inspect::NodeLabel(node, i));
  }
  // Inputs take their fixed shapes, so that the file states what was calibrated and checked.
  for (auto& input : *model.mutable_graph()->mutable_input()) {
    for (const InspectedTensor& known : analysis->inputs) {
      if (known.name != input.name()) continue;
      if (known.type != "float32") {
        return Unsupported(request.model_path + ": input '" + known.name + "' is " + known.type +
                           "; only float32 inputs convert");
      }
      auto* shape = input.mutable_type()->mutable_tensor_type()->mutable_shape();
      shape->clear_dim();
      for (int64_t dim : known.shape) shape->add_dim()->set_dim_value(dim);
      std::vector<int> identity(known.shape.size());
      for (std::size_t d = 0; d < identity.size(); ++d) identity[d] = int(d);
      report.inputs.push_back({known.name, known.shape, known.shape, identity});
    }
  }
  for (const auto& output : model.graph().output()) {
    const auto shape = analysis->shapes.find(output.name());
    std::vector<int64_t> dims = shape != analysis->shapes.end() ? shape->second.dims : std::vector<int64_t>{};
    std::vector<int> identity(dims.size());
    for (std::size_t d = 0; d < identity.size(); ++d) identity[d] = int(d);
    report.outputs.push_back({output.name(), dims, dims, identity});
  }
  std::set<std::string> added;  // names of the nodes this conversion added
  std::map<std::string, std::string> fused_into;  // folded node name -> the node it went into
  if (request.precision == ConvertPrecision::kFloat16) {
    Float16Weights(*model.mutable_graph(), added);
    report.log.push_back("fp16: " + std::to_string(added.size()) + " float initializers stored as float16, each widened by a Cast");
  } else if (request.precision == ConvertPrecision::kInt8) {
    auto samples = MakeSamples(report.inputs, request.samples, SamplePurpose::kCalibration);
    if (!samples.ok()) return samples.error();
    const std::map<std::string, std::string> folded = FoldBatchNorms(*model.mutable_graph());
    for (const auto& [conv, bn] : folded) fused_into[bn] = conv;
    report.log.push_back("int8: folded " + std::to_string(folded.size()) + " BatchNormalization into their Conv");
    auto ranges = CalibrateOnnx(model, *analysis, report.inputs, *samples);
    if (!ranges.ok()) return ranges.error();
    QuantizationSummary summary;
    summary.calibration = samples->description;
    summary.calibration_samples = int(samples->samples.size());
    if (Status quantized = QuantizeQdq(model, *ranges, added, summary); !quantized.ok()) {
      return Error{quantized.error().code, request.model_path + ": " + quantized.error().message};
    }
    report.log.push_back("int8: calibrated on " + summary.calibration + "; " + std::to_string(ranges->size()) +
                         " activations behind QuantizeLinear/DequantizeLinear, " +
                         std::to_string(summary.int8_operators) + " Conv/Gemm weights int8");
    report.quantization = std::move(summary);
  }
  // The operators are the output's nodes in order; each original node is one of them, or was
  // folded into one (BatchNorm into Conv, int8).
  std::map<std::string, int> entry;  // node name -> report.nodes index
  const onnx::GraphProto& source = analysis->model.graph();
  for (int index : analysis->order) {
    const onnx::NodeProto& node = source.node(index);
    const std::string label = inspect::NodeLabel(node, index);
    const auto into = fused_into.find(label);
    entry[label] = int(report.nodes.size());
    report.nodes.push_back({label, node.op_type(),
                            into == fused_into.end() ? "converted" : "fused", {},
                            into == fused_into.end() ? "" : into->second});
  }
  for (const auto& node : model.graph().node()) {
    const bool was_added = added.count(node.name()) > 0;
    TfliteOperator op{node.op_type(), 1, {}, was_added ? "precision" : ""};
    if (const auto it = entry.find(node.name()); !was_added && it != entry.end()) {
      op.source_nodes.push_back(report.nodes[std::size_t(it->second)].node);
      report.nodes[std::size_t(it->second)].operators.push_back(int(report.operators.size()));
      for (const auto& [bn, conv] : fused_into) {
        if (conv == node.name()) op.source_nodes.push_back(bn);
      }
    }
    report.operators.push_back(std::move(op));
  }
  report.model = model.SerializeAsString();
  return report;
}

}  // namespace edgebench::convert
