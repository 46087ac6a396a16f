// Single-kernel ONNX models and the sampling of their configurations (kernel_models.h).
#include "edgebench/kernel_models.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <random>

#include <onnx/onnx_pb.h>

namespace edgebench {
namespace {

constexpr int kOpset = 14;  // HardSwish exists from 14; Split takes its sizes as an input from 13
constexpr int kIrVersion = 8;

// Uniform in [0, 1) from the exactly specified mt19937_64, the same on every platform.
double Uniform(std::mt19937_64& random) { return static_cast<double>(random() >> 11) * 0x1.0p-53; }

class GraphBuilder {
 public:
  explicit GraphBuilder(uint64_t seed) : random_(seed) {}

  onnx::GraphProto& graph() { return graph_; }

  void AddInput(const std::string& name, const std::vector<int64_t>& dims) {
    SetShape(*graph_.add_input(), name, dims);
  }
  void AddOutput(const std::string& name, const std::vector<int64_t>& dims) {
    SetShape(*graph_.add_output(), name, dims);
  }

  // A float initializer of `dims`, uniform in [low, high).
  std::string Weights(const std::string& name, const std::vector<int64_t>& dims, double low, double high) {
    int64_t count = 1;
    for (int64_t dim : dims) count *= dim;
    std::vector<float> values(count);
    for (float& value : values) value = static_cast<float>(low + (high - low) * Uniform(random_));
    return Initializer(name, onnx::TensorProto::FLOAT, dims, values);
  }

  template <typename T>
  std::string Initializer(const std::string& name, onnx::TensorProto::DataType type, const std::vector<int64_t>& dims,
                          const std::vector<T>& values) {
    onnx::TensorProto& tensor = *graph_.add_initializer();
    tensor.set_name(name);
    tensor.set_data_type(type);
    for (int64_t dim : dims) tensor.add_dims(dim);
    tensor.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T)));
    return name;
  }

  // Appends a node writing `outputs` (named by NameAsPyTorch once the graph is complete).
  onnx::NodeProto& Node(const std::string& op_type, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs) {
    onnx::NodeProto& node = *graph_.add_node();
    node.set_op_type(op_type);
    for (const auto& input : inputs) node.add_input(input);
    for (const auto& output : outputs) node.add_output(output);
    return node;
  }

  // A fresh tensor name for the next node's output.
  std::string Tensor() { return "t" + std::to_string(++tensors_); }

 private:
  static void SetShape(onnx::ValueInfoProto& value, const std::string& name, const std::vector<int64_t>& dims) {
    value.set_name(name);
    auto* tensor_type = value.mutable_type()->mutable_tensor_type();
    tensor_type->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t dim : dims) tensor_type->mutable_shape()->add_dim()->set_dim_value(dim);
  }

  onnx::GraphProto graph_;
  std::mt19937_64 random_;
  int tensors_ = 0;
};

void SetInt(onnx::NodeProto& node, const std::string& name, int64_t value) {
  auto* attribute = node.add_attribute();
  attribute->set_name(name);
  attribute->set_type(onnx::AttributeProto::INT);
  attribute->set_i(value);
}

void SetFloat(onnx::NodeProto& node, const std::string& name, float value) {
  auto* attribute = node.add_attribute();
  attribute->set_name(name);
  attribute->set_type(onnx::AttributeProto::FLOAT);
  attribute->set_f(value);
}

void SetString(onnx::NodeProto& node, const std::string& name, const std::string& value) {
  auto* attribute = node.add_attribute();
  attribute->set_name(name);
  attribute->set_type(onnx::AttributeProto::STRING);
  attribute->set_s(value);
}

void SetInts(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& values) {
  auto* attribute = node.add_attribute();
  attribute->set_name(name);
  attribute->set_type(onnx::AttributeProto::INTS);
  for (int64_t value : values) attribute->add_ints(value);
}

// "Same" padding giving ceil(size / stride): kernel_size / 2 on each side for odd kernels (as
// exporters write it), the TensorFlow split of the total otherwise.
std::vector<int64_t> SamePads(const KernelConfig& config) {
  if (config.kernel_size % 2 == 1) {
    const int64_t pad = config.kernel_size / 2;
    return {pad, pad, pad, pad};
  }
  const auto total = [&](int64_t in, int64_t out) {
    return std::max<int64_t>(0, (out - 1) * config.stride + config.kernel_size - in);
  };
  const int64_t h = total(config.hin, KernelOutputHeight(config));
  const int64_t w = total(config.win, KernelOutputWidth(config));
  return {h / 2, w / 2, h - h / 2, w - w / 2};
}

void SetWindow(onnx::NodeProto& node, const KernelConfig& config) {
  SetInts(node, "kernel_shape", {config.kernel_size, config.kernel_size});
  SetInts(node, "strides", {config.stride, config.stride});
  SetInts(node, "pads", SamePads(config));
}

// BatchNormalization over `channels` with inference statistics; returns its output.
std::string BatchNorm(GraphBuilder& b, const std::string& input, int64_t channels) {
  const std::string out = b.Tensor();
  b.Node("BatchNormalization",
         {input, b.Weights(out + ".scale", {channels}, 0.5, 1.5), b.Weights(out + ".bias", {channels}, -0.1, 0.1),
          b.Weights(out + ".mean", {channels}, -0.1, 0.1), b.Weights(out + ".var", {channels}, 0.5, 1.5)},
         {out});
  return out;
}

// The activation node(s) for `activation` applied to `input`; returns the output.
std::string Activation(GraphBuilder& b, const std::string& input, const std::string& activation) {
  if (activation == "none") return input;
  const std::string out = b.Tensor();
  if (activation == "relu") {
    b.Node("Relu", {input}, {out});
  } else if (activation == "relu6") {
    const std::string min = b.Initializer<float>(out + ".min", onnx::TensorProto::FLOAT, {}, {0.0f});
    const std::string max = b.Initializer<float>(out + ".max", onnx::TensorProto::FLOAT, {}, {6.0f});
    b.Node("Clip", {input, min, max}, {out});
  } else if (activation == "hswish") {
    b.Node("HardSwish", {input}, {out});
  } else if (activation == "hsigmoid") {
    onnx::NodeProto& node = b.Node("HardSigmoid", {input}, {out});
    SetFloat(node, "alpha", 1.0f / 6.0f);  // PyTorch's Hardsigmoid
    SetFloat(node, "beta", 0.5f);
  } else {
    b.Node("Sigmoid", {input}, {out});
  }
  return out;
}

// Builds the kernel's nodes reading "input" (and "input_1", ...); returns the output names.
std::vector<std::string> BuildKernel(GraphBuilder& b, const KernelConfig& c) {
  const std::string& type = c.type;
  const std::vector<int64_t> input_dims = {1, c.cin, c.hin, c.win};
  std::vector<std::string> outputs;
  if (type == "conv" || type == "dwconv") {
    b.AddInput("input", input_dims);
    const int64_t fan_in = c.cin / c.groups * c.kernel_size * c.kernel_size;
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    const std::string conv = b.Tensor();
    onnx::NodeProto& node =
        b.Node("Conv", {"input", b.Weights(conv + ".weight", {c.cout, c.cin / c.groups, c.kernel_size, c.kernel_size},
                                           -bound, bound)},
               {conv});
    SetInt(node, "group", c.groups);
    SetWindow(node, c);
    SetInts(node, "dilations", {1, 1});
    outputs.push_back(Activation(b, BatchNorm(b, conv, c.cout), c.activation));
  } else if (type == "fc") {
    b.AddInput("input", {1, c.cin});
    const double bound = 1.0 / std::sqrt(static_cast<double>(c.cin));
    const std::string gemm = b.Tensor();
    onnx::NodeProto& node = b.Node("Gemm",
                                   {"input", b.Weights(gemm + ".weight", {c.cout, c.cin}, -bound, bound),
                                    b.Weights(gemm + ".bias", {c.cout}, -bound, bound)},
                                   {gemm});
    SetInt(node, "transB", 1);
    outputs.push_back(Activation(b, gemm, c.activation));
  } else if (type == "maxpool" || type == "avgpool") {
    b.AddInput("input", input_dims);
    outputs.push_back(b.Tensor());
    SetWindow(b.Node(type == "maxpool" ? "MaxPool" : "AveragePool", {"input"}, {outputs.back()}), c);
  } else if (type == "globalpool") {
    b.AddInput("input", input_dims);
    outputs.push_back(b.Tensor());
    b.Node("GlobalAveragePool", {"input"}, {outputs.back()});
  } else if (type == "add" || type == "mul") {
    b.AddInput("input", input_dims);
    std::vector<std::string> operands = {"input"};
    const int64_t extra = type == "add" ? c.inputs - 1 : 1;
    for (int64_t i = 1; i <= extra; ++i) {
      operands.push_back("input_" + std::to_string(i));
      b.AddInput(operands.back(), type == "add" ? input_dims : std::vector<int64_t>{1, c.cin, 1, 1});
    }
    const std::string out = b.Tensor();
    b.Node(type == "mul" ? "Mul" : (c.inputs == 2 ? "Add" : "Sum"), operands, {out});
    outputs.push_back(Activation(b, out, c.activation));
  } else if (type == "concat") {
    std::vector<std::string> operands;
    for (int64_t i = 0; i < c.inputs; ++i) {
      operands.push_back(i == 0 ? "input" : "input_" + std::to_string(i));
      b.AddInput(operands.back(), {1, c.cin / c.inputs, c.hin, c.win});
    }
    outputs.push_back(b.Tensor());
    SetInt(b.Node("Concat", operands, {outputs.back()}), "axis", 1);
  } else if (type == "channel_shuffle") {
    b.AddInput("input", input_dims);
    const std::string grouped = b.Tensor(), transposed = b.Tensor();
    outputs.push_back(b.Tensor());
    const std::vector<int64_t> split_shape = {1, c.groups, c.cin / c.groups, c.hin, c.win};
    b.Node("Reshape", {"input", b.Initializer(grouped + ".shape", onnx::TensorProto::INT64, {5}, split_shape)},
           {grouped});
    SetInts(b.Node("Transpose", {grouped}, {transposed}), "perm", {0, 2, 1, 3, 4});
    b.Node("Reshape", {transposed, b.Initializer(outputs.back() + ".shape", onnx::TensorProto::INT64, {4}, input_dims)},
           {outputs.back()});
  } else if (type == "activation") {
    b.AddInput("input", input_dims);
    outputs.push_back(Activation(b, "input", c.activation));
  } else if (type == "bn") {
    b.AddInput("input", input_dims);
    outputs.push_back(Activation(b, BatchNorm(b, "input", c.cin), c.activation));
  } else if (type == "resize") {
    b.AddInput("input", input_dims);
    const std::string out = b.Tensor();
    const float scale = static_cast<float>(c.stride);
    onnx::NodeProto& node = b.Node(
        "Resize", {"input", "", b.Initializer<float>(out + ".scales", onnx::TensorProto::FLOAT, {4}, {1, 1, scale, scale})},
        {out});
    SetString(node, "mode", "nearest");
    outputs.push_back(out);
  } else if (type == "split") {
    b.AddInput("input", input_dims);
    for (int64_t i = 0; i < c.inputs; ++i) outputs.push_back(b.Tensor());
    const std::vector<int64_t> sizes(c.inputs, c.cin / c.inputs);
    SetInt(b.Node("Split", {"input", b.Initializer("split.sizes", onnx::TensorProto::INT64, {c.inputs}, sizes)},
                  outputs),
           "axis", 1);
  } else if (type == "reshape") {
    b.AddInput("input", input_dims);
    outputs.push_back(b.Tensor());
    SetInt(b.Node("Flatten", {"input"}, {outputs.back()}), "axis", 1);
  } else if (type == "softmax") {
    const bool flat = c.hin == 1 && c.win == 1;
    b.AddInput("input", flat ? std::vector<int64_t>{1, c.cin} : input_dims);
    outputs.push_back(b.Tensor());
    SetInt(b.Node("Softmax", {"input"}, {outputs.back()}), "axis", 1);
  }
  return outputs;
}

// The output dims of output `index` of the kernel.
std::vector<int64_t> OutputDims(const KernelConfig& c) {
  if (c.type == "fc") return {1, c.cout};
  if (c.type == "softmax" && c.hin == 1 && c.win == 1) return {1, c.cin};
  if (c.type == "reshape") return {1, c.cin * c.hin * c.win};
  const int64_t channels = c.type == "conv" || c.type == "dwconv" ? c.cout
                           : c.type == "split"                    ? c.cin / c.inputs
                                                                  : c.cin;
  return {1, channels, KernelOutputHeight(c), KernelOutputWidth(c)};
}

// The ranges a type's real kernels span, which perturbed configurations stay within.
struct ObservedRange {
  int64_t min_channels = INT64_MAX, max_channels = 0;  // over cin and cout (conv: cout / groups too)
  int64_t min_height = INT64_MAX, max_height = 0;
  int64_t min_groups = INT64_MAX, max_groups = 0;

  void Add(const KernelConfig& c) {
    for (int64_t channels : {c.cin, c.cout}) {
      if (channels <= 0) continue;
      min_channels = std::min(min_channels, channels), max_channels = std::max(max_channels, channels);
    }
    min_height = std::min(min_height, c.hin), max_height = std::max(max_height, c.hin);
    if (c.groups > 0) min_groups = std::min(min_groups, c.groups), max_groups = std::max(max_groups, c.groups);
  }
};

// `value` times 2^u, u uniform in [-1, 1], from 16 up rounded to a multiple of 8 three times in
// four (as most channel counts of real models are; the rest stay as scaled, as width multipliers
// leave them: 11, 22, 179, which a blocked layout runs on another, slower path), then to a
// multiple of `multiple`, within [low, high].
int64_t PerturbCount(int64_t value, std::mt19937_64& random, int64_t low, int64_t high, int64_t multiple = 1) {
  double scaled = static_cast<double>(value) * std::exp2(2.0 * Uniform(random) - 1.0);
  scaled = std::clamp(scaled, static_cast<double>(low), static_cast<double>(high));
  int64_t count = std::max<int64_t>(1, std::llround(scaled));
  if (count >= 16 && Uniform(random) < 0.75) count = (count + 4) / 8 * 8;
  count = std::max(multiple, (count + multiple / 2) / multiple * multiple);
  return count;
}

constexpr int64_t kMaxFcWeights = int64_t{1} << 23;  // 32 MB of float weights

// A configuration around the real kernel `c`: see SampleKernelConfigs.
KernelConfig Perturb(KernelConfig c, const ObservedRange& range, std::mt19937_64& random) {
  const auto channels = [&](int64_t value, int64_t multiple = 1) {
    return PerturbCount(value, random, range.min_channels, range.max_channels, multiple);
  };
  if (c.type == "conv" && c.groups > 1) {
    const int64_t cin_per_group = c.cin / c.groups, cout_per_group = c.cout / c.groups;
    c.groups = PerturbCount(c.groups, random, range.min_groups, range.max_groups);
    c.cin = c.groups * cin_per_group, c.cout = c.groups * cout_per_group;
  } else if (c.type == "conv" || c.type == "fc") {
    c.cin = channels(c.cin), c.cout = channels(c.cout);
    // A classifier around VGG's (25088 x 4096) would be a 400 MB model: keep fc weights under
    // kMaxFcWeights by shrinking the input side, the larger one in real classifiers.
    if (c.type == "fc" && c.cin * c.cout > kMaxFcWeights) c.cin = std::max<int64_t>(8, kMaxFcWeights / c.cout / 8 * 8);
  } else if (c.type == "dwconv") {
    c.cin = c.cout = c.groups = channels(c.cin);
  } else if (c.type == "channel_shuffle") {
    c.cin = channels(c.cin, c.groups);
  } else if (c.inputs > 0 && c.type != "add") {  // concat, split
    c.cin = channels(c.cin, c.inputs);
  } else {
    c.cin = channels(c.cin);
  }
  if (c.type != "fc" && !(c.hin == 1 && c.win == 1)) {
    const int step = static_cast<int>(random() % 3);  // 1/2, 1 or 2
    const double factor = step == 0 ? 0.5 : step == 1 ? 1.0 : 2.0;
    const int64_t hin = std::clamp<int64_t>(std::llround(c.hin * factor), range.min_height, range.max_height);
    c.win = std::max<int64_t>(1, std::llround(static_cast<double>(c.win) * hin / c.hin));
    c.hin = std::max<int64_t>(1, hin);
  }
  return c;
}

// Names node i "/k<i>/<op_type>" and its outputs "<node>_output_<j>", as the PyTorch exporter
// does: runtimes name the kernels of fused nodes after these (onnxruntime's NCHWc Conv
// "/k3/Relu_output_0_nchwc"), which is how a fusion map finds the nodes a kernel covers.
void NameAsPyTorch(onnx::GraphProto& graph, std::vector<std::string>& outputs) {
  std::map<std::string, std::string> renamed;
  for (int i = 0; i < graph.node_size(); ++i) {
    onnx::NodeProto& node = *graph.mutable_node(i);
    node.set_name("/k" + std::to_string(i) + "/" + node.op_type());
    for (int j = 0; j < node.output_size(); ++j) {
      renamed[node.output(j)] = node.name() + "_output_" + std::to_string(j);
      node.set_output(j, renamed[node.output(j)]);
    }
  }
  for (auto& node : *graph.mutable_node()) {
    for (auto& input : *node.mutable_input()) {
      if (renamed.count(input)) input = renamed[input];
    }
  }
  for (auto& output : outputs) output = renamed.at(output);
}

}  // namespace

Status WriteKernelModel(const KernelConfig& config, const std::string& path, uint64_t seed) {
  EB_RETURN_IF_ERROR(CheckKernelConfig(config));
  GraphBuilder builder(seed);
  builder.graph().set_name(config.type);
  std::vector<std::string> outputs = BuildKernel(builder, config);
  NameAsPyTorch(builder.graph(), outputs);
  for (const std::string& output : outputs) builder.AddOutput(output, OutputDims(config));
  onnx::ModelProto model;
  model.set_ir_version(kIrVersion);
  model.set_producer_name("edgebench kernels generate");
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOpset);
  *model.mutable_graph() = std::move(builder.graph());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out || !model.SerializeToOstream(&out) || !out.flush()) return NotFound(path + ": cannot write the kernel model");
  return OkStatus();
}

KernelRules ReferenceKernelRules() {
  KernelRules rules;
  rules.runtime = "reference";
  rules.source = "the fusion every runtime edgebench drives does at least";
  const std::vector<std::string> activations = {"Relu", "Clip", "HardSwish", "HardSigmoid", "Sigmoid"};
  // Conv (after an explicit Pad or not) with BatchNormalization and/or an activation.
  for (const std::vector<std::string>& head : {std::vector<std::string>{"Conv"}, {"Pad", "Conv"}}) {
    const auto with = [&](std::vector<std::string> tail) {
      tail.insert(tail.begin(), head.begin(), head.end());
      rules.fused_patterns.push_back(std::move(tail));
    };
    if (head.size() > 1) with({});
    with({"BatchNormalization"});
    for (const auto& activation : activations) {
      with({"BatchNormalization", activation});
      with({activation});
    }
  }
  for (const char* head : {"BatchNormalization", "Gemm", "Add", "Sum", "Mul"}) {
    for (const auto& activation : activations) rules.fused_patterns.push_back({head, activation});
  }
  rules.removed_op_types = {"Dropout", "Identity"};
  return rules;
}

std::vector<SampledKernel> SampleKernelConfigs(const std::vector<KernelSourceModel>& sources,
                                               const std::vector<std::string>& types, int per_type,
                                               uint64_t seed) {
  std::vector<SampledKernel> sampled;
  std::vector<SampledKernel> around_image;  // appended last, so that the others keep their files
  std::mt19937_64 random(seed);
  for (const std::string& type : KernelTypes()) {
    if (!types.empty() && std::find(types.begin(), types.end(), type) == types.end()) continue;
    // The real kernels of the type a model can be built from, with their source.
    std::vector<SampledKernel> real;
    ObservedRange range;
    for (const KernelSourceModel& source : sources) {
      for (const ModelKernel& kernel : source.kernels) {
        if (kernel.config.type != type) continue;
        KernelConfig config = kernel.config;
        // Uneven concat/split parts and one-part Slices are measured as even splits.
        if (config.inputs > 0 && type != "add") {
          config.inputs = std::max<int64_t>(config.inputs, 2);
          config.cin = std::max(config.inputs, config.cin / config.inputs * config.inputs);
        }
        if (!CheckKernelConfig(config).ok()) continue;
        range.Add(config);
        real.push_back({config, source.name});
      }
    }
    if (real.empty()) continue;
    // A perturbation can break a combination (a conv landing on groups == cin == cout): retry.
    const auto sample_around = [&](const SampledKernel& around, std::mt19937_64& engine, bool keep_cin,
                                   std::vector<SampledKernel>& into) {
      for (int attempt = 0; attempt < 8; ++attempt) {
        KernelConfig config = Perturb(around.config, range, engine);
        if (keep_cin) config.cin = around.config.cin;
        if (CheckKernelConfig(config).ok()) {
          into.push_back({std::move(config), around.source});
          return;
        }
      }
    };
    for (int i = 0; i < per_type; ++i) sample_around(real[random() % real.size()], random, false, sampled);
    if (type != "conv") continue;
    std::vector<SampledKernel> image_convs;
    for (const auto& kernel : real) {
      if (kernel.config.groups == 1 && kernel.config.cin <= kMaxImageChannels) image_convs.push_back(kernel);
    }
    if (image_convs.empty()) continue;
    std::mt19937_64 image_random(seed ^ 0x1a2e5c0aULL);
    for (int i = 0; i < std::max(1, per_type / 4); ++i) {
      sample_around(image_convs[image_random() % image_convs.size()], image_random, true, around_image);
    }
  }
  sampled.insert(sampled.end(), around_image.begin(), around_image.end());
  return sampled;
}

}  // namespace edgebench
