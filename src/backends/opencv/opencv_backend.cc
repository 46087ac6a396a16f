// The OpenCV backend: runs ONNX models with cv::dnn. OpenCV 4.6 does not expose a network's
// input shapes, so the specs come from the ONNX graph itself, parsed with Debian's onnx protobuf
// classes. OpenCV computes in float32: inputs of other types are converted once in SetInputs.
// OpenCV times every layer of every forward (Net::getPerfProfile reports the last one), so
// Profile adds no instrumentation: it runs and accumulates those times.
#include <onnx/onnx_pb.h>
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "edgebench/backend.h"

namespace edgebench::backends::opencv {
namespace {

struct Named {
  const char* name;
  int id;
};

// Option spellings of cv::dnn::Backend and cv::dnn::Target values.
constexpr Named kDnnBackends[] = {{"default", cv::dnn::DNN_BACKEND_DEFAULT},
                                  {"opencv", cv::dnn::DNN_BACKEND_OPENCV},
                                  {"halide", cv::dnn::DNN_BACKEND_HALIDE},
                                  {"inference_engine", cv::dnn::DNN_BACKEND_INFERENCE_ENGINE},
                                  {"vkcom", cv::dnn::DNN_BACKEND_VKCOM},
                                  {"cuda", cv::dnn::DNN_BACKEND_CUDA},
                                  {"webnn", cv::dnn::DNN_BACKEND_WEBNN},
                                  {"timvx", cv::dnn::DNN_BACKEND_TIMVX}};
constexpr Named kDnnTargets[] = {{"cpu", cv::dnn::DNN_TARGET_CPU},
                                 {"opencl", cv::dnn::DNN_TARGET_OPENCL},
                                 {"opencl_fp16", cv::dnn::DNN_TARGET_OPENCL_FP16},
                                 {"myriad", cv::dnn::DNN_TARGET_MYRIAD},
                                 {"vulkan", cv::dnn::DNN_TARGET_VULKAN},
                                 {"fpga", cv::dnn::DNN_TARGET_FPGA},
                                 {"cuda", cv::dnn::DNN_TARGET_CUDA},
                                 {"cuda_fp16", cv::dnn::DNN_TARGET_CUDA_FP16},
                                 {"hddl", cv::dnn::DNN_TARGET_HDDL},
                                 {"npu", cv::dnn::DNN_TARGET_NPU}};

template <std::size_t N>
const char* NameOf(const Named (&table)[N], int id) {
  for (const Named& entry : table) {
    if (entry.id == id) return entry.name;
  }
  return "unknown";
}

template <std::size_t N>
int IdOf(const Named (&table)[N], const std::string& name) {
  for (const Named& entry : table) {
    if (name == entry.name) return entry.id;
  }
  return table[0].id;
}

std::optional<DataType> FromOnnxType(int32_t type) {
  switch (type) {
    case onnx::TensorProto::FLOAT: return DataType::kFloat32;
    case onnx::TensorProto::FLOAT16: return DataType::kFloat16;
    case onnx::TensorProto::DOUBLE: return DataType::kFloat64;
    case onnx::TensorProto::INT8: return DataType::kInt8;
    case onnx::TensorProto::UINT8: return DataType::kUInt8;
    case onnx::TensorProto::INT16: return DataType::kInt16;
    case onnx::TensorProto::INT32: return DataType::kInt32;
    case onnx::TensorProto::INT64: return DataType::kInt64;
    case onnx::TensorProto::BOOL: return DataType::kBool;
    default: return std::nullopt;
  }
}

std::optional<DataType> FromCvDepth(int depth) {
  switch (depth) {
    case CV_32F: return DataType::kFloat32;
    case CV_16F: return DataType::kFloat16;
    case CV_64F: return DataType::kFloat64;
    case CV_8S: return DataType::kInt8;
    case CV_8U: return DataType::kUInt8;
    case CV_16S: return DataType::kInt16;
    case CV_32S: return DataType::kInt32;
    default: return std::nullopt;
  }
}

// The tensor's value converted to float at element `index`.
float ElementAsFloat(const Tensor& tensor, std::size_t index) {
  const std::byte* at = tensor.data.data() + index * DataTypeSize(tensor.spec.type);
  auto load = [at]<typename T>(T value) {
    std::memcpy(&value, at, sizeof(T));
    return static_cast<float>(value);
  };
  switch (tensor.spec.type) {
    case DataType::kFloat32: return load(float{});
    case DataType::kFloat16: return load(cv::float16_t{});
    case DataType::kFloat64: return load(double{});
    case DataType::kInt8: return load(int8_t{});
    case DataType::kUInt8: return load(uint8_t{});
    case DataType::kInt16: return load(int16_t{});
    case DataType::kInt32: return load(int32_t{});
    case DataType::kInt64: return load(int64_t{});
    case DataType::kBool: return load(uint8_t{});
  }
  return 0;
}

// One line from an OpenCV exception: its description without the "> " that nested errors
// of the ONNX importer start with.
std::string ExceptionText(const cv::Exception& e) {
  std::string text = e.err.substr(0, e.err.find('\n'));
  const std::size_t start = text.find_first_not_of("> ");
  return start == std::string::npos ? text : text.substr(start);
}

// Specs of a graph's inputs (minus initializers, which IR < 4 lists as inputs too) or outputs.
Expected<std::vector<TensorSpec>> GraphSpecs(
    const std::string& path, const google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>& values,
    const std::set<std::string>& initializers) {
  std::vector<TensorSpec> specs;
  for (const onnx::ValueInfoProto& value : values) {
    if (initializers.contains(value.name())) continue;
    if (!value.type().has_tensor_type()) {
      return Unsupported(path + ": graph value '" + value.name() + "' is not a tensor");
    }
    const onnx::TypeProto::Tensor& tensor = value.type().tensor_type();
    const std::optional<DataType> type = FromOnnxType(tensor.elem_type());
    if (!type) {
      return Unsupported(path + ": graph value '" + value.name() + "' has ONNX element type " +
                         std::to_string(tensor.elem_type()) + ", which edgebench does not support");
    }
    TensorSpec& spec = specs.emplace_back();
    spec.name = value.name();
    spec.type = *type;
    spec.rank_known = tensor.has_shape();
    for (const auto& dim : tensor.shape().dim()) {
      spec.shape.push_back(dim.has_dim_value() ? dim.dim_value() : kDynamicDim);
    }
  }
  return specs;
}

class OpenCvBackend final : public Backend {
 public:
  Status Load(const LoadRequest& request) override {
    path_ = request.model.path;
    SetLogLevel(request.log_level);
    // OpenCV prints its log itself; it gets the same threshold.
    cv::utils::logging::setLogLevel(ShouldLog(LogLevel::kWarning) ? cv::utils::logging::LOG_LEVEL_WARNING
                                                                  : cv::utils::logging::LOG_LEVEL_ERROR);
    if (request.model.format != ModelFormat::kOnnx) {
      return Unsupported(path_ + ": the opencv backend reads ONNX models only, not " +
                         std::string(ModelFormatName(request.model.format)));
    }
    EB_RETURN_IF_ERROR(ReadGraphSpecs());
    const int dnn_backend = IdOf(kDnnBackends, request.options.at("dnn_backend"));
    const int target = IdOf(kDnnTargets, request.options.at("target"));
    try {
      const auto targets = cv::dnn::getAvailableTargets(static_cast<cv::dnn::Backend>(dnn_backend));
      if (std::find(targets.begin(), targets.end(), target) == targets.end()) {
        return Unsupported("opencv: target " + request.options.at("target") +
                           " is not available with dnn_backend " +
                           request.options.at("dnn_backend") + " on this machine");
      }
      cv::setNumThreads(request.threads > 0 ? request.threads : -1);  // -1: OpenCV's default
      net_ = cv::dnn::readNetFromONNX(path_);
      if (net_.empty()) return BadModel(path_ + ": OpenCV built an empty network");
      net_.setPreferableBackend(dnn_backend);
      net_.setPreferableTarget(target);
      provider_ = request.options.at("dnn_backend") + "/" + request.options.at("target");
    } catch (const cv::Exception& e) {
      // The file parsed as ONNX above, so a failing import is a layer or pattern OpenCV lacks.
      return Unsupported(path_ + ": OpenCV cannot import it: " + ExceptionText(e));
    }
    output_names_.clear();
    for (const TensorSpec& output : output_specs_) {
      // The ONNX importer names each layer after its node's first output.
      if (net_.getLayerId(output.name) < 0) {
        return Unsupported(path_ + ": output '" + output.name +
                           "' is not the first output of a node, which OpenCV cannot fetch");
      }
      output_names_.push_back(output.name);
    }
    return OkStatus();
  }

  std::vector<TensorSpec> InputSpecs() const override { return input_specs_; }
  std::vector<TensorSpec> OutputSpecs() const override { return output_specs_; }

  Status SetInputs(const std::vector<Tensor>& inputs) override {
    EB_RETURN_IF_ERROR(CheckInputsMatchSpecs(inputs, input_specs_, path_));
    std::vector<cv::Mat> blobs;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const TensorSpec& given = inputs[i].spec;
      const auto count = *ElementCount(given.shape);  // checked above
      std::vector<int> sizes(given.shape.begin(), given.shape.end());
      if (sizes.empty()) sizes.push_back(1);  // a scalar as a one-element blob
      cv::Mat& blob = blobs.emplace_back(static_cast<int>(sizes.size()), sizes.data(), CV_32F);
      float* values = blob.ptr<float>();
      for (std::size_t j = 0; j < static_cast<std::size_t>(count); ++j) {
        values[j] = ElementAsFloat(inputs[i], j);
      }
    }
    try {
      for (std::size_t i = 0; i < blobs.size(); ++i) net_.setInput(blobs[i], input_specs_[i].name);
    } catch (const cv::Exception& e) {
      return InvalidArgument(path_ + ": " + ExceptionText(e));
    }
    has_run_ = false;
    return OkStatus();
  }

  // The first call also sets the network up (layer fusion, buffer allocation).
  Status RunOnce() override {
    try {
      net_.forward(outputs_, output_names_);
      has_run_ = true;
      return OkStatus();
    } catch (const cv::Exception& e) {
      return RuntimeError(path_ + ": " + ExceptionText(e));
    }
  }

  // Layers that OpenCV fused into another (BatchNorm and activations into a Convolution) are
  // skipped by forward() and time 0 in every run: they get fused_into the nearest earlier layer
  // that ran, as Net::dump() clusters them, and their nodes join that layer's source_nodes.
  Expected<OpProfile> Profile(int runs) override {
    std::vector<double> total_ticks;
    std::vector<cv::String> names;
    std::vector<std::string> types;
    try {
      for (int run = 0; run < runs; ++run) {
        net_.forward(outputs_, output_names_);
        std::vector<double> ticks;
        net_.getPerfProfile(ticks);
        if (run == 0) total_ticks.assign(ticks.size(), 0);
        if (ticks.size() != total_ticks.size()) {
          return RuntimeError(path_ + ": OpenCV's layer count changed between runs");
        }
        for (std::size_t i = 0; i < ticks.size(); ++i) total_ticks[i] += ticks[i];
      }
      has_run_ = true;
      names = net_.getLayerNames();  // layer ids 1..N, as getPerfProfile's timings
      for (const cv::String& name : names) {
        types.push_back(net_.getLayer(net_.getLayerId(name))->type);
      }
    } catch (const cv::Exception& e) {
      return RuntimeError(path_ + ": " + ExceptionText(e));
    }
    if (names.size() != total_ticks.size()) {
      return Internal(path_ + ": OpenCV reported " + std::to_string(total_ticks.size()) +
                      " layer times for " + std::to_string(names.size()) + " layers");
    }
    OpProfile profile{.source = "opencv getPerfProfile", .profiled_runs = runs, .kernels = {}};
    const double ms_per_tick = 1000 / cv::getTickFrequency();
    std::optional<std::size_t> last_ran;  // index of the nearest earlier layer that ran
    for (std::size_t i = 0; i < names.size(); ++i) {
      OpEvent& kernel = profile.kernels.emplace_back();
      kernel.kernel_name = names[i];
      kernel.kernel_type = types[i];
      kernel.provider = provider_;
      if (std::string node = SourceNode(names[i]); !node.empty()) {
        kernel.source_nodes = {std::move(node)};
      }
      if (total_ticks[i] > 0) {
        kernel.total_ms = total_ticks[i] * ms_per_tick;
        kernel.calls = runs;
        last_ran = i;
      } else if (last_ran) {
        OpEvent& fused_into = profile.kernels[*last_ran];
        kernel.fused_into = fused_into.kernel_name;
        fused_into.source_nodes.insert(fused_into.source_nodes.end(), kernel.source_nodes.begin(),
                                       kernel.source_nodes.end());
      }
    }
    return profile;
  }

  Expected<std::vector<Tensor>> Outputs() override {
    if (!has_run_) return Internal(path_ + ": Outputs before RunOnce");
    std::vector<Tensor> tensors;
    for (std::size_t i = 0; i < outputs_.size(); ++i) {
      const cv::Mat mat = outputs_[i].isContinuous() ? outputs_[i] : outputs_[i].clone();
      const std::optional<DataType> type = FromCvDepth(mat.depth());
      if (!type) {
        return Unsupported(path_ + ": output '" + output_names_[i] + "' has OpenCV depth " +
                           std::to_string(mat.depth()));
      }
      Tensor& tensor = tensors.emplace_back();
      tensor.spec.name = output_names_[i];
      tensor.spec.type = *type;
      for (int d = 0; d < mat.size.dims(); ++d) tensor.spec.shape.push_back(mat.size[d]);
      tensor.data.resize(mat.total() * mat.elemSize());
      if (!tensor.data.empty()) std::memcpy(tensor.data.data(), mat.data, tensor.data.size());
    }
    return tensors;
  }

 private:
  // Fills input_specs_ and output_specs_ from the ONNX graph in path_.
  Status ReadGraphSpecs() {
    std::ifstream file(path_, std::ios::binary);
    if (!file) return NotFound(path_ + ": cannot open");
    onnx::ModelProto model;
    if (!model.ParseFromIstream(&file)) {
      return BadModel(path_ + ": not an ONNX model (protobuf parsing failed)");
    }
    if (!model.has_graph() || model.graph().node_size() == 0) {
      return BadModel(path_ + ": ONNX model without a graph");
    }
    std::set<std::string> initializers;
    for (const auto& initializer : model.graph().initializer()) {
      initializers.insert(initializer.name());
    }
    // OpenCV's ONNX importer names a layer "onnx_node!<node name>", or after the node's first
    // output when the node has no name.
    node_of_layer_.clear();
    for (const onnx::NodeProto& node : model.graph().node()) {
      const std::string id =
          node.name().empty() && node.output_size() > 0 ? node.output(0) : node.name();
      if (!node.name().empty()) node_of_layer_["onnx_node!" + node.name()] = id;
      if (node.output_size() > 0) node_of_layer_.try_emplace(node.output(0), id);
    }
    auto inputs = GraphSpecs(path_, model.graph().input(), initializers);
    if (!inputs.ok()) return inputs.error();
    auto outputs = GraphSpecs(path_, model.graph().output(), {});
    if (!outputs.ok()) return outputs.error();
    input_specs_ = std::move(*inputs);
    output_specs_ = std::move(*outputs);
    return OkStatus();
  }

  // The ONNX node (its name, or its first output when unnamed) an OpenCV layer comes from;
  // helper layers the importer adds for a node are named "<its layer>/<suffix>". "" if unknown.
  std::string SourceNode(const std::string& layer) const {
    auto it = node_of_layer_.find(layer);
    if (it == node_of_layer_.end()) {
      const std::size_t slash = layer.rfind('/');
      if (slash != std::string::npos) it = node_of_layer_.find(layer.substr(0, slash));
    }
    return it == node_of_layer_.end() ? "" : it->second;
  }

  std::string path_;
  std::string provider_;  // "<dnn_backend>/<target>" as the options name them
  std::map<std::string, std::string> node_of_layer_;  // layer name -> ONNX node, see SourceNode
  cv::dnn::Net net_;
  std::vector<TensorSpec> input_specs_;
  std::vector<TensorSpec> output_specs_;
  std::vector<cv::String> output_names_;
  std::vector<cv::Mat> outputs_;  // reused by every forward(); headers of OpenCV's own blobs
  bool has_run_ = false;
};

}  // namespace

BackendInfo Describe() {
  BackendInfo info;
  info.name = "opencv";
  info.version = cv::getVersionString();
  info.formats = {ModelFormat::kOnnx};
  info.op_profiling = true;

  // Only what this OpenCV build offers on this machine (Debian's: opencv/cpu, plus opencl
  // targets where an OpenCL driver is installed; no CUDA, no Inference Engine).
  std::vector<std::string> backend_choices = {"default"};
  std::vector<std::string> target_choices;
  std::string pairs;
  for (const auto& [backend, target] : cv::dnn::getAvailableBackends()) {
    const std::string backend_name = NameOf(kDnnBackends, backend);
    const std::string target_name = NameOf(kDnnTargets, target);
    if (std::find(backend_choices.begin(), backend_choices.end(), backend_name) ==
        backend_choices.end()) {
      backend_choices.push_back(backend_name);
    }
    if (std::find(target_choices.begin(), target_choices.end(), target_name) ==
        target_choices.end()) {
      target_choices.push_back(target_name);
    }
    pairs += (pairs.empty() ? "" : ", ") + backend_name + "/" + target_name;
  }
  if (target_choices.empty()) target_choices.push_back("cpu");
  info.options = {
      {.key = "dnn_backend",
       .kind = OptionSpec::Kind::kChoice,
       .default_value = "opencv",
       .help = "cv::dnn computation backend (default: Inference Engine if built in, else opencv)",
       .choices = backend_choices},
      {.key = "target",
       .kind = OptionSpec::Kind::kChoice,
       .default_value = "cpu",
       .help = "cv::dnn target device",
       .choices = target_choices},
  };
  info.notes = {
      "dnn backend/target pairs available here: " + (pairs.empty() ? "none" : pairs),
      "threads sets cv::setNumThreads, which is process-wide",
      "the first run also sets the network up (fusion, allocation): keep warm-up runs",
      "computes in float32: inputs of other types are converted once before the runs",
      "ONNX only: input specs are read from the ONNX graph (a second parse, counted in load)",
      "operator profile: per-layer times of getPerfProfile; layers fused into a Convolution "
      "(BatchNorm, activations) show 0 ms and name the layer they were fused into",
  };
  return info;
}

std::unique_ptr<Backend> Create() { return std::make_unique<OpenCvBackend>(); }

}  // namespace edgebench::backends::opencv
