// The ONNX Runtime backend: runs ONNX models on ORT's CPU execution provider through its C++ API.
// SetInputs binds (Ort::IoBinding) inputs to buffers this backend owns, and outputs to CPU memory
// that ORT allocates on the first run and reuses while the binding lives. Every SetInputs makes
// a fresh binding, because ORT rejects reused outputs whose shape a new input shape changes.
// Profile uses ORT's per-run profiler (RunOptions::EnableProfiling, ORT >= 1.25) on the same
// session, so the profiled graph is the timed one; each run writes a Chrome-trace JSON file.
#include <onnxruntime_cxx_api.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "edgebench/backend.h"

namespace edgebench::backends::onnxruntime {
namespace {

// The element types edgebench exchanges; nullopt for ORT's others (string, bfloat16, float8, ...).
std::optional<DataType> FromOrtType(ONNXTensorElementDataType type) {
  switch (type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: return DataType::kFloat32;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: return DataType::kFloat16;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE: return DataType::kFloat64;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8: return DataType::kInt8;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8: return DataType::kUInt8;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16: return DataType::kInt16;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: return DataType::kInt32;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: return DataType::kInt64;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL: return DataType::kBool;
    default: return std::nullopt;
  }
}

ONNXTensorElementDataType ToOrtType(DataType type) {
  switch (type) {
    case DataType::kFloat32: return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
    case DataType::kFloat16: return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
    case DataType::kFloat64: return ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE;
    case DataType::kInt8: return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8;
    case DataType::kUInt8: return ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8;
    case DataType::kInt16: return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16;
    case DataType::kInt32: return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
    case DataType::kInt64: return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
    case DataType::kBool: return ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL;
  }
  return ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
}

// The first line of an ORT error without what our message already says: the "Load model from
// <path> failed:" prefix, and the "<source>:<line> <function signature> " of ORT_ENFORCE.
std::string OrtMessage(const std::string& path, const Ort::Exception& e) {
  std::string text = e.what();
  text.erase(std::min(text.find('\n'), text.size()));
  if (const std::string prefix = "Load model from " + path + " failed:"; text.starts_with(prefix)) {
    text.erase(0, prefix.size());
  }
  if (text.starts_with('/')) {
    int depth = 0;
    for (std::size_t i = text.find('('); i < text.size(); ++i) {
      if (text[i] == '(') ++depth;
      if (text[i] == ')' && --depth == 0) {
        if (const std::size_t rest = text.find(' ', i); rest != std::string::npos) {
          text.erase(0, rest + 1);
        }
        break;
      }
    }
  }
  return text;
}

// Classifies an exception thrown while creating a session for the model at `path`.
Error LoadError(const std::string& path, const Ort::Exception& e) {
  std::string message = path + ": " + OrtMessage(path, e);
  switch (e.GetOrtErrorCode()) {
    case ORT_NO_SUCHFILE: return NotFound(std::move(message));
    case ORT_NOT_IMPLEMENTED: return Unsupported(std::move(message));  // e.g. no kernel for an op
    default: return BadModel(std::move(message));
  }
}

GraphOptimizationLevel ParseOptimizationLevel(const std::string& value) {
  if (value == "disable") return ORT_DISABLE_ALL;
  if (value == "basic") return ORT_ENABLE_BASIC;
  if (value == "extended") return ORT_ENABLE_EXTENDED;
  return ORT_ENABLE_ALL;
}

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "edgebench-ort-profile-XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }  // "" when it could not be created

 private:
  std::string path_;
};

// Kernel timings accumulated from ORT Chrome-trace files, one file per profiled run.
class TraceAccumulator {
 public:
  // Adds the per-node kernel events of one trace: "Node" events named "<node>_kernel_time", with
  // the operator type in args.op_name and the execution provider in args.provider.
  Status Add(const std::string& file) {
    std::ifstream in(file);
    const auto trace = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (!trace.is_array()) return RuntimeError(file + ": not an ORT profile (a JSON array)");
    constexpr std::string_view kSuffix = "_kernel_time";
    try {
      for (const auto& event : trace) {
        const std::string name = event.value("name", "");
        if (event.value("cat", "") != "Node" || !name.ends_with(kSuffix)) continue;
        const std::string node = name.substr(0, name.size() - kSuffix.size());
        auto [at, added] = index_.try_emplace(node, kernels_.size());
        if (added) {
          const auto& args = event.at("args");
          OpEvent& kernel = kernels_.emplace_back();
          kernel.kernel_name = node;
          kernel.kernel_type = args.value("op_name", "");
          kernel.source_nodes = {node};
          kernel.provider = args.value("provider", "");
        }
        OpEvent& kernel = kernels_[at->second];
        kernel.total_ms += event.at("dur").get<double>() / 1000;  // microseconds
        kernel.calls += 1;
      }
    } catch (const nlohmann::json::exception& e) {
      return RuntimeError(file + ": unexpected ORT profile event: " + e.what());
    }
    return OkStatus();
  }

  std::vector<OpEvent> TakeKernels() { return std::move(kernels_); }

 private:
  std::vector<OpEvent> kernels_;  // in order of first appearance
  std::map<std::string, std::size_t> index_;  // node name -> position in kernels_
};

// ORT's log, through edgebench's (log.h) instead of ORT's coloured lines on stderr.
void ORT_API_CALL RouteOrtLog(void* /*param*/, OrtLoggingLevel severity, const char* /*category*/,
                              const char* /*logid*/, const char* /*code_location*/, const char* message) {
  const LogLevel level = severity >= ORT_LOGGING_LEVEL_ERROR     ? LogLevel::kError
                         : severity == ORT_LOGGING_LEVEL_WARNING ? LogLevel::kWarning
                         : severity == ORT_LOGGING_LEVEL_INFO    ? LogLevel::kInfo
                                                                 : LogLevel::kVerbose;
  LogMessage(level, "onnxruntime", message ? message : "");
}

class OnnxRuntimeBackend final : public Backend {
 public:
  Status Load(const LoadRequest& request) override {
    path_ = request.model.path;
    // The C++ wrappers dereference this table unchecked: a library older than the headers
    // would crash on the first call instead of failing here.
    if (OrtGetApiBase()->GetApi(ORT_API_VERSION) == nullptr) {
      return Unsupported(std::string("libonnxruntime ") + OrtGetApiBase()->GetVersionString() +
                         " does not provide ORT API version " + std::to_string(ORT_API_VERSION) +
                         " that edgebench was compiled against");
    }
    try {
      SetLogLevel(request.log_level);
      // ORT keeps one environment per process, with the level and logger of its first creation:
      // it passes warnings, and RouteOrtLog drops those below the current threshold.
      env_ = Ort::Env(ORT_LOGGING_LEVEL_WARNING, "edgebench", &RouteOrtLog, nullptr);
      Ort::SessionOptions options;
      options.SetIntraOpNumThreads(request.threads);
      options.SetInterOpNumThreads(std::stoi(request.options.at("inter_op_threads")));
      options.SetGraphOptimizationLevel(
          ParseOptimizationLevel(request.options.at("graph_optimization_level")));
      options.SetExecutionMode(request.options.at("execution_mode") == "parallel" ? ORT_PARALLEL
                                                                                  : ORT_SEQUENTIAL);
      if (request.options.at("memory_pattern") == "true") {
        options.EnableMemPattern();
      } else {
        options.DisableMemPattern();
      }
      if (request.options.at("arena") == "true") {
        options.EnableCpuMemArena();
      } else {
        options.DisableCpuMemArena();
      }
      session_ = Ort::Session(env_, path_.c_str(), options);
      cpu_memory_ = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
      auto inputs = ReadSpecs(/*inputs=*/true);
      if (!inputs.ok()) return inputs.error();
      auto outputs = ReadSpecs(/*inputs=*/false);
      if (!outputs.ok()) return outputs.error();
      input_specs_ = std::move(*inputs);
      output_specs_ = std::move(*outputs);
      return OkStatus();
    } catch (const Ort::Exception& e) {
      return LoadError(path_, e);
    } catch (const std::exception& e) {
      return Internal(path_ + ": " + e.what());
    }
  }

  std::vector<TensorSpec> InputSpecs() const override { return input_specs_; }
  std::vector<TensorSpec> OutputSpecs() const override { return output_specs_; }

  Status SetInputs(const std::vector<Tensor>& inputs) override {
    EB_RETURN_IF_ERROR(CheckInputsMatchSpecs(inputs, input_specs_, path_));
    try {
      binding_ = Ort::IoBinding(nullptr);
      input_values_.clear();
      input_buffers_.clear();
      has_run_ = false;
      Ort::IoBinding binding(session_);
      for (const Tensor& input : inputs) {
        std::vector<std::byte>& buffer = input_buffers_.emplace_back(input.data);
        input_values_.push_back(Ort::Value::CreateTensor(
            cpu_memory_, buffer.data(), buffer.size(), input.spec.shape.data(),
            input.spec.shape.size(), ToOrtType(input.spec.type)));
        binding.BindInput(input.spec.name.c_str(), input_values_.back());
      }
      for (const TensorSpec& output : output_specs_) {
        binding.BindOutput(output.name.c_str(), cpu_memory_);
      }
      binding_ = std::move(binding);
      return OkStatus();
    } catch (const Ort::Exception& e) {
      return InvalidArgument(path_ + ": binding inputs: " + OrtMessage(path_, e));
    }
  }

  Status RunOnce() override {
    if (!binding_) return Internal(path_ + ": RunOnce before SetInputs");
    try {
      session_.Run(run_options_, binding_);
      has_run_ = true;
      return OkStatus();
    } catch (const Ort::Exception& e) {
      return RuntimeError(path_ + ": " + OrtMessage(path_, e));
    }
  }

  Expected<OpProfile> Profile(int runs) override {
    if (!binding_) return Internal(path_ + ": Profile before SetInputs");
    TempDir dir;
    if (dir.path().empty()) {
      return RuntimeError("onnxruntime profile: cannot create a temporary directory");
    }
    try {
      for (int i = 0; i < runs; ++i) {
        char prefix[16];
        std::snprintf(prefix, sizeof prefix, "run%06d", i);  // file names sort in run order
        Ort::RunOptions options;
        options.EnableProfiling((dir.path() + "/" + prefix).c_str());
        session_.Run(options, binding_);
      }
    } catch (const Ort::Exception& e) {
      return RuntimeError(path_ + ": profiled run: " + OrtMessage(path_, e));
    }
    std::vector<std::string> files;
    std::error_code error;
    for (std::filesystem::directory_iterator it(dir.path(), error), end; !error && it != end;
         it.increment(error)) {
      files.push_back(it->path().string());
    }
    if (files.size() != static_cast<std::size_t>(runs)) {
      return RuntimeError("onnxruntime profile: expected " + std::to_string(runs) +
                          " trace files, found " + std::to_string(files.size()));
    }
    std::sort(files.begin(), files.end());
    TraceAccumulator accumulator;
    for (const std::string& file : files) EB_RETURN_IF_ERROR(accumulator.Add(file));
    OpProfile profile{.source = "onnxruntime profiler",
                      .profiled_runs = runs,
                      .kernels = accumulator.TakeKernels()};
    if (profile.kernels.empty()) return RuntimeError("onnxruntime profile: no kernel events");
    return profile;
  }

  Expected<std::vector<Tensor>> Outputs() override {
    if (!has_run_) return Internal(path_ + ": Outputs before RunOnce");
    try {
      std::vector<Ort::Value> values = binding_.GetOutputValues();
      std::vector<Tensor> outputs;
      for (std::size_t i = 0; i < values.size(); ++i) {
        const auto info = values[i].GetTensorTypeAndShapeInfo();
        Tensor& tensor = outputs.emplace_back();
        tensor.spec = {
            .name = output_specs_[i].name, .type = output_specs_[i].type, .shape = info.GetShape()};
        auto count = ElementCount(tensor.spec.shape);
        if (!count.ok()) return RuntimeError(tensor.spec.name + ": " + count.error().message);
        tensor.data.resize(static_cast<std::size_t>(*count) * DataTypeSize(tensor.spec.type));
        if (!tensor.data.empty()) {
          std::memcpy(tensor.data.data(), values[i].GetTensorRawData(), tensor.data.size());
        }
      }
      return outputs;
    } catch (const Ort::Exception& e) {
      return RuntimeError(path_ + ": reading outputs: " + OrtMessage(path_, e));
    }
  }

 private:
  // Specs of the session's inputs or outputs; Unsupported for non-tensor values (sequences,
  // maps) and for element types edgebench does not exchange.
  Expected<std::vector<TensorSpec>> ReadSpecs(bool inputs) const {
    Ort::AllocatorWithDefaultOptions allocator;
    const std::size_t count = inputs ? session_.GetInputCount() : session_.GetOutputCount();
    std::vector<TensorSpec> specs;
    for (std::size_t i = 0; i < count; ++i) {
      const Ort::AllocatedStringPtr name = inputs ? session_.GetInputNameAllocated(i, allocator)
                                                  : session_.GetOutputNameAllocated(i, allocator);
      const Ort::TypeInfo type_info =
          inputs ? session_.GetInputTypeInfo(i) : session_.GetOutputTypeInfo(i);
      const std::string what = (inputs ? "input '" : "output '") + std::string(name.get()) + "'";
      if (type_info.GetONNXType() != ONNX_TYPE_TENSOR) {
        return Unsupported(path_ + ": " + what + " is not a tensor");
      }
      const auto tensor_info = type_info.GetTensorTypeAndShapeInfo();
      const std::optional<DataType> type = FromOrtType(tensor_info.GetElementType());
      if (!type) {
        return Unsupported(path_ + ": " + what + " has ONNX element type " +
                           std::to_string(tensor_info.GetElementType()) +
                           ", which edgebench does not support");
      }
      // ORT reports symbolic and unknown dims as -1, which is kDynamicDim.
      specs.push_back({.name = name.get(), .type = *type, .shape = tensor_info.GetShape()});
    }
    return specs;
  }

  std::string path_;
  // Declaration order is destruction order reversed: values die before the buffers they view,
  // the binding before the session.
  Ort::Env env_{nullptr};
  Ort::Session session_{nullptr};
  Ort::MemoryInfo cpu_memory_{nullptr};
  Ort::RunOptions run_options_{nullptr};               // null: ORT's defaults
  std::vector<std::vector<std::byte>> input_buffers_;  // owned copies that input_values_ view
  std::vector<Ort::Value> input_values_;
  Ort::IoBinding binding_{nullptr};
  std::vector<TensorSpec> input_specs_;
  std::vector<TensorSpec> output_specs_;
  bool has_run_ = false;
};

}  // namespace

BackendInfo Describe() {
  BackendInfo info;
  info.name = "onnxruntime";
  info.version = OrtGetApiBase()->GetVersionString();
  info.formats = {ModelFormat::kOnnx};
  info.op_profiling = true;
  info.options = {
      {.key = "graph_optimization_level",
       .kind = OptionSpec::Kind::kChoice,
       .default_value = "all",
       .help = "graph rewrites before running (constant folding, Conv+BN+ReLU fusion, layout)",
       .choices = {"disable", "basic", "extended", "all"}},
      {.key = "inter_op_threads",
       .kind = OptionSpec::Kind::kInt,
       .default_value = "0",
       .help = "threads running independent nodes with execution_mode=parallel; 0 = ORT default",
       .min_value = 0,
       .max_value = 1024},
      {.key = "execution_mode",
       .kind = OptionSpec::Kind::kChoice,
       .default_value = "sequential",
       .help = "run nodes one at a time, or independent branches concurrently",
       .choices = {"sequential", "parallel"}},
      {.key = "memory_pattern",
       .kind = OptionSpec::Kind::kBool,
       .default_value = "true",
       .help = "plan activation memory from the first run's allocation pattern"},
      {.key = "arena",
       .kind = OptionSpec::Kind::kBool,
       .default_value = "true",
       .help = "serve CPU allocations from ORT's arena allocator"},
  };
  info.notes = {"CPU execution provider only",
                "operator profile: kernels are the nodes of ORT's optimized graph (a Conv with "
                "fused BatchNorm and activation is one Conv kernel)"};
  return info;
}

std::unique_ptr<Backend> Create() { return std::make_unique<OnnxRuntimeBackend>(); }

}  // namespace edgebench::backends::onnxruntime
