// The LibTorch backend: runs TorchScript modules on the CPU with LibTorch (Debian's 1.13).
// This is the only file that includes torch headers: each such file takes ~20 s to compile.
// Profile uses LibTorch's legacy autograd profiler, which records the operators that go through
// the dispatcher (aten::*) and TorchScript function scopes (forward), per thread.
#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <link.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/script.h>
#include <torch/version.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "edgebench/backend.h"

namespace edgebench::backends::libtorch {
namespace {

// The extra file (torch.jit.save(..., _extra_files=...)) in which edgebench's model zoo records
// the inputs: {"inputs":[{"name":"input","type":"float32","shape":[1,3,224,224]}]}.
constexpr char kInputsExtraFile[] = "inputs.json";

std::string FirstLine(std::string_view text) {
  return std::string(text.substr(0, text.find('\n')));
}

// Path of the library that libblas.so.3 resolved to in this process, or "" when none is loaded.
std::string LoadedBlasLibrary() {
  std::string path;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        const std::string_view name = info->dlpi_name ? info->dlpi_name : "";
        const std::string_view base = name.substr(name.rfind('/') + 1);
        if (!base.starts_with("libblas.so")) return 0;
        *static_cast<std::string*>(data) = std::string(name);
        return 1;
      },
      &path);
  if (path.empty()) return path;
  std::error_code error;
  const auto resolved = std::filesystem::canonical(path, error);
  return error ? path : resolved.string();
}

// Debian installs the netlib reference BLAS as <libdir>/blas/libblas.so.3; OpenBLAS, BLIS and
// ATLAS provide libblas.so.3 from their own directories through the alternatives system.
bool IsReferenceBlas(const std::string& library_path) {
  return std::filesystem::path(library_path).parent_path().filename() == "blas";
}

// Intra-op thread count LibTorch chose before any Load changed it, so threads=0 can restore it.
int DefaultIntraOpThreads() {
  static const int threads = at::get_num_threads();
  return threads;
}

// LibTorch accepts one inter-op thread count per process, and only before its inter-op pool has
// started. Requests for the count already applied succeed; 0 leaves the current setting.
Status ApplyInteropThreads(int threads) {
  static std::mutex mutex;
  static int applied = 0;
  std::lock_guard lock(mutex);
  if (threads == 0 || threads == applied) return OkStatus();
  if (applied != 0) {
    return Unsupported("interop_threads=" + std::to_string(threads) +
                       ": LibTorch sets the inter-op thread count once per process and it is "
                       "already " +
                       std::to_string(applied));
  }
  try {
    at::set_num_interop_threads(threads);
  } catch (const c10::Error& e) {
    return Unsupported("interop_threads=" + std::to_string(threads) + ": " +
                       FirstLine(e.what_without_backtrace()));
  }
  applied = threads;
  return OkStatus();
}

Expected<DataType> DataTypeFromName(const std::string& name) {
  static const std::map<std::string, DataType, std::less<>> kTypes = {
      {"float32", DataType::kFloat32}, {"float16", DataType::kFloat16},
      {"float64", DataType::kFloat64}, {"int8", DataType::kInt8},
      {"uint8", DataType::kUInt8},     {"int16", DataType::kInt16},
      {"int32", DataType::kInt32},     {"int64", DataType::kInt64},
      {"bool", DataType::kBool}};
  const auto it = kTypes.find(name);
  if (it == kTypes.end()) return InvalidArgument("unknown type \"" + name + "\"");
  return it->second;
}

at::ScalarType ToScalarType(DataType type) {
  switch (type) {
    case DataType::kFloat32:
      return at::kFloat;
    case DataType::kFloat16:
      return at::kHalf;
    case DataType::kFloat64:
      return at::kDouble;
    case DataType::kInt8:
      return at::kChar;
    case DataType::kUInt8:
      return at::kByte;
    case DataType::kInt16:
      return at::kShort;
    case DataType::kInt32:
      return at::kInt;
    case DataType::kInt64:
      return at::kLong;
    case DataType::kBool:
      return at::kBool;
  }
  return at::kFloat;
}

Expected<DataType> FromScalarType(at::ScalarType type) {
  switch (type) {
    case at::kFloat:
      return DataType::kFloat32;
    case at::kHalf:
      return DataType::kFloat16;
    case at::kDouble:
      return DataType::kFloat64;
    case at::kChar:
      return DataType::kInt8;
    case at::kByte:
      return DataType::kUInt8;
    case at::kShort:
      return DataType::kInt16;
    case at::kInt:
      return DataType::kInt32;
    case at::kLong:
      return DataType::kInt64;
    case at::kBool:
      return DataType::kBool;
    default:
      return Unsupported(std::string("tensor type ") + c10::toString(type));
  }
}

// Parses the inputs.json extra file into one spec per input. A dim of -1 or null is dynamic.
Expected<std::vector<TensorSpec>> ParseInputsJson(const std::string& text) {
  const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return BadModel("not valid JSON");
  if (!json.is_object() || !json.contains("inputs") || !json["inputs"].is_array()) {
    return BadModel("expected {\"inputs\": [...]}");
  }
  std::vector<TensorSpec> specs;
  for (const auto& input : json["inputs"]) {
    if (!input.is_object() || !input.contains("name") || !input["name"].is_string() ||
        !input.contains("shape") || !input["shape"].is_array()) {
      return BadModel("each input needs a string \"name\" and an array \"shape\"");
    }
    TensorSpec spec;
    spec.name = input["name"].get<std::string>();
    if (input.contains("type")) {
      if (!input["type"].is_string()) return BadModel(spec.name + ": \"type\" is not a string");
      auto type = DataTypeFromName(input["type"].get<std::string>());
      if (!type.ok()) return BadModel(spec.name + ": " + type.error().message);
      spec.type = *type;
    }
    for (const auto& dim : input["shape"]) {
      if (dim.is_null()) {
        spec.shape.push_back(kDynamicDim);
      } else if (dim.is_number_integer() && dim.get<int64_t>() >= -1) {
        spec.shape.push_back(dim.get<int64_t>() == -1 ? kDynamicDim : dim.get<int64_t>());
      } else {
        return BadModel(spec.name + ": shape entries must be integers >= -1 or null");
      }
    }
    specs.push_back(std::move(spec));
  }
  return specs;
}

// Appends the tensors of a forward() result in depth-first order (a tensor, or tuples and lists
// nesting tensors).
Status FlattenTensors(const c10::IValue& value, std::vector<at::Tensor>& tensors) {
  if (value.isTensor()) {
    tensors.push_back(value.toTensor());
  } else if (value.isTuple()) {
    for (const auto& element : value.toTupleRef().elements()) {
      EB_RETURN_IF_ERROR(FlattenTensors(element, tensors));
    }
  } else if (value.isList()) {
    for (const c10::IValue& element : value.toListRef()) {
      EB_RETURN_IF_ERROR(FlattenTensors(element, tensors));
    }
  } else {
    return Unsupported(std::string("forward() returned a ") + value.tagKind() +
                       "; only tensors and tuples/lists of tensors are supported");
  }
  return OkStatus();
}

// Kernel timings accumulated over profiled runs of forward(), one profiler session per run.
// The kernels of a run are its top-level operators: recorded operators whose enclosing records
// are all TorchScript function scopes (outermost aten:: calls; their callees are inside them).
// A kernel is named "<operator>#<k>" for the k-th call of that operator in the run. Time inside
// the outermost forward() that no recorded operator covers (interpreter work, and JIT operators
// the profiler does not record, such as prim::mkldnn_convolution after optimize_for_inference)
// becomes one kernel of type kUnattributedType.
class ProfileAccumulator {
 public:
  static constexpr char kUnattributedType[] = "(unattributed)";

  void AddRun(const torch::autograd::profiler::thread_event_lists& threads) {
    using torch::autograd::profiler::EventKind;
    using torch::autograd::profiler::LegacyEvent;
    constexpr auto kFunction = static_cast<uint8_t>(at::RecordScope::TORCHSCRIPT_FUNCTION);
    std::map<std::string, int> calls_in_run;
    double forward_us = 0, covered_us = 0;
    for (const std::vector<LegacyEvent>& events : threads) {
      std::vector<const LegacyEvent*> open;  // pushed, not yet popped, outermost first
      for (const LegacyEvent& event : events) {
        if (event.kind() == EventKind::PushRange) {
          open.push_back(&event);
          continue;
        }
        if (event.kind() != EventKind::PopRange) continue;
        auto start = std::find_if(open.rbegin(), open.rend(), [&event](const LegacyEvent* e) {
          return e->handle() == event.handle();
        });
        if (start == open.rend()) continue;  // its push preceded the profiler session
        const LegacyEvent& push = **start;
        open.erase(std::prev(start.base()), open.end());
        const double elapsed_us = push.cpuElapsedUs(event);
        const bool outermost = open.empty();
        if (push.scope() == kFunction) {
          if (outermost) forward_us += elapsed_us;
          continue;
        }
        if (!std::all_of(open.begin(), open.end(),
                         [](const LegacyEvent* e) { return e->scope() == kFunction; })) {
          continue;  // called by another recorded operator: inside that one's time
        }
        if (!outermost) covered_us += elapsed_us;
        const std::string name = push.name();
        Add(name + "#" + std::to_string(calls_in_run[name]++), name, elapsed_us);
      }
    }
    if (forward_us > covered_us) {
      Add("forward outside recorded operators", kUnattributedType, forward_us - covered_us);
    }
  }

  std::vector<OpEvent> TakeKernels() { return std::move(kernels_); }

 private:
  void Add(const std::string& kernel_name, const std::string& type, double elapsed_us) {
    auto [at, added] = index_.try_emplace(kernel_name, kernels_.size());
    if (added) {
      OpEvent& kernel = kernels_.emplace_back();
      kernel.kernel_name = kernel_name;
      kernel.kernel_type = type;
      kernel.provider = "cpu";
    }
    kernels_[at->second].total_ms += elapsed_us / 1000;
    kernels_[at->second].calls += 1;
  }

  std::vector<OpEvent> kernels_;  // in order of first completion
  std::map<std::string, size_t> index_;  // kernel_name -> position in kernels_
};

std::string OutputName(size_t index, size_t count) {
  return count == 1 ? "output" : "output" + std::to_string(index);
}

// LibTorch's warnings (TORCH_WARN), through edgebench's log (log.h) instead of straight to stderr.
class RoutedWarnings final : public c10::WarningHandler {
 public:
  void process(const c10::SourceLocation& /*location*/, const std::string& message, const bool /*verbatim*/) override {
    LogMessage(LogLevel::kWarning, "libtorch", message);
  }
};

class LibTorchBackend final : public Backend {
 public:
  Status Load(const LoadRequest& request) override {
    path_ = request.model.path;
    SetLogLevel(request.log_level);
    // The handler is per thread in LibTorch: the loading thread is the one that runs the model.
    static RoutedWarnings routed_warnings;
    c10::Warning::set_warning_handler(&routed_warnings);
    FLAGS_caffe2_log_level = ShouldLog(LogLevel::kWarning) ? 1 : 2;  // c10 logging: 1 warning, 2 error
    try {
      return LoadModule(request);
    } catch (const c10::Error& e) {
      return BadModel(path_ + ": " + FirstLine(e.what_without_backtrace()));
    } catch (const std::exception& e) {
      return BadModel(path_ + ": " + FirstLine(e.what()));
    }
  }

  std::vector<TensorSpec> InputSpecs() const override { return input_specs_; }
  std::vector<TensorSpec> OutputSpecs() const override { return output_specs_; }

  Status SetInputs(const std::vector<Tensor>& inputs) override {
    EB_RETURN_IF_ERROR(CheckInputsMatchSpecs(inputs, input_specs_, path_));
    try {
      std::vector<c10::IValue> values;
      for (size_t i = 0; i < inputs.size(); ++i) {
        const Tensor& input = inputs[i];
        const size_t bytes = input.data.size();  // checked against the shape above
        at::Tensor tensor =
            torch::empty(input.spec.shape, torch::dtype(ToScalarType(input.spec.type)));
        std::memcpy(tensor.data_ptr(), input.data.data(), bytes);
        values.emplace_back(std::move(tensor));
      }
      inputs_ = std::move(values);
      return OkStatus();
    } catch (const c10::Error& e) {
      return RuntimeError(path_ + ": " + FirstLine(e.what_without_backtrace()));
    }
  }

  Status RunOnce() override {
    try {
      c10::InferenceMode guard;
      output_ = module_.forward(inputs_);
      return OkStatus();
    } catch (const c10::Error& e) {
      return RuntimeError(path_ + ": forward() failed: " + FirstLine(e.what_without_backtrace()));
    } catch (const std::exception& e) {
      return RuntimeError(path_ + ": forward() failed: " + FirstLine(e.what()));
    }
  }

  Expected<OpProfile> Profile(int runs) override {
    namespace profiler = torch::autograd::profiler;
    const profiler::ProfilerConfig config(profiler::ProfilerState::CPU);
    ProfileAccumulator accumulator;
    try {
      for (int run = 0; run < runs; ++run) {
        profiler::thread_event_lists events;
        Status ran;
        {
          profiler::TLSLegacyProfilerGuard guard(
              config, [&events](const profiler::thread_event_lists& lists) { events = lists; });
          ran = RunOnce();
        }
        EB_RETURN_IF_ERROR(ran);
        accumulator.AddRun(events);
      }
    } catch (const c10::Error& e) {
      return RuntimeError(path_ + ": profiler: " + FirstLine(e.what_without_backtrace()));
    }
    OpProfile profile{.source = "libtorch legacy profiler",
                      .profiled_runs = runs,
                      .kernels = accumulator.TakeKernels()};
    if (profile.kernels.empty()) {
      return RuntimeError(path_ + ": the profiler recorded no operators");
    }
    return profile;
  }

  Expected<std::vector<Tensor>> Outputs() override {
    try {
      std::vector<at::Tensor> results;
      if (Status status = FlattenTensors(output_, results); !status.ok()) {
        return Error{status.error().code, path_ + ": " + status.error().message};
      }
      std::vector<Tensor> outputs;
      for (size_t i = 0; i < results.size(); ++i) {
        at::Tensor result = results[i].is_mkldnn() ? results[i].to_dense() : results[i];
        result = result.contiguous();
        auto type = FromScalarType(result.scalar_type());
        if (!type.ok())
          return Unsupported(path_ + ": output " + std::to_string(i) + ": " + type.error().message);
        Tensor output;
        output.spec.name = OutputName(i, results.size());
        output.spec.type = *type;
        output.spec.shape.assign(result.sizes().begin(), result.sizes().end());
        output.data.resize(result.nbytes());
        std::memcpy(output.data.data(), result.data_ptr(), result.nbytes());
        outputs.push_back(std::move(output));
      }
      return outputs;
    } catch (const c10::Error& e) {
      return RuntimeError(path_ + ": " + FirstLine(e.what_without_backtrace()));
    }
  }

 private:
  // Throws c10::Error or std::exception on failures inside LibTorch; Load turns those into
  // BadModel errors.
  Status LoadModule(const LoadRequest& request) {
    DefaultIntraOpThreads();  // records LibTorch's own choice before the first change
    at::set_num_threads(request.threads > 0 ? request.threads : DefaultIntraOpThreads());
    if (Status status = ApplyInteropThreads(std::stoi(request.options.at("interop_threads")));
        !status.ok()) {
      return Error{status.error().code, path_ + ": " + status.error().message};
    }

    torch::jit::ExtraFilesMap extra_files = {{kInputsExtraFile, ""}};
    module_ = torch::jit::load(path_, torch::kCPU, extra_files);
    module_.eval();

    const auto method = module_.find_method("forward");
    if (!method) return BadModel(path_ + ": the TorchScript module has no forward() method");
    const c10::FunctionSchema& schema = method->function().getSchema();
    EB_RETURN_IF_ERROR(ReadInputSpecs(schema, extra_files[kInputsExtraFile]));
    ReadOutputSpecs(schema);
    CountWeights();  // before optimize: freezing turns parameters into constants

    if (request.options.at("optimize") == "true") {
      try {
        module_ = torch::jit::optimize_for_inference(module_);
      } catch (const c10::Error& e) {
        return Unsupported(path_ +
                           ": freezing/optimize_for_inference failed (retry with "
                           "--option optimize=false): " +
                           FirstLine(e.what_without_backtrace()));
      }
    }
    return OkStatus();
  }

  // Input specs come from inputs.json when the file carries one; otherwise from forward()'s
  // argument names, with unknown rank and an assumed float32 type.
  Status ReadInputSpecs(const c10::FunctionSchema& schema, const std::string& inputs_json) {
    const auto& arguments = schema.arguments();
    std::vector<TensorSpec> specs;
    for (size_t i = 1; i < arguments.size(); ++i) {  // arguments[0] is self
      if (!arguments[i].type()->isSubtypeOf(*c10::TensorType::get())) {
        return Unsupported(path_ + ": forward() argument " + arguments[i].name() + " is " +
                           arguments[i].type()->str() + "; only Tensor arguments are supported");
      }
      specs.push_back({.name = arguments[i].name(), .shape = {}, .rank_known = false});
    }
    if (!inputs_json.empty()) {
      auto declared = ParseInputsJson(inputs_json);
      if (!declared.ok()) {
        return BadModel(path_ + ": " + kInputsExtraFile + ": " + declared.error().message);
      }
      if (declared->size() != specs.size()) {
        return BadModel(path_ + ": " + kInputsExtraFile + " lists " +
                        std::to_string(declared->size()) + " inputs but forward() takes " +
                        std::to_string(specs.size()));
      }
      specs = std::move(*declared);
    }
    input_specs_ = std::move(specs);
    return OkStatus();
  }

  // TorchScript records no output shapes or types: the specs name the outputs of a Tensor or
  // tuple-of-Tensors result, with unknown rank; other results give no specs.
  void ReadOutputSpecs(const c10::FunctionSchema& schema) {
    output_specs_.clear();
    if (schema.returns().size() != 1) return;
    const c10::TypePtr& type = schema.returns()[0].type();
    size_t count = 0;
    if (type->isSubtypeOf(*c10::TensorType::get())) {
      count = 1;
    } else if (const auto tuple = type->cast<c10::TupleType>()) {
      for (const auto& element : tuple->elements()) {
        if (!element->isSubtypeOf(*c10::TensorType::get())) return;
      }
      count = tuple->elements().size();
    }
    for (size_t i = 0; i < count; ++i) {
      output_specs_.push_back({.name = OutputName(i, count), .shape = {}, .rank_known = false});
    }
  }

  // Sums parameters and floating-point buffers (BatchNorm statistics count, as in Keras
  // totals and in the ONNX inspector; integer buffers such as num_batches_tracked do not).
  void CountWeights() {
    weights_ = {};
    auto add = [this](const at::Tensor& tensor) {
      if (!at::isFloatingType(tensor.scalar_type())) return;
      weights_.params += tensor.numel();
      weights_.bytes += static_cast<int64_t>(tensor.nbytes());
    };
    for (const auto& parameter : module_.parameters(/*recurse=*/true)) add(parameter);
    for (const auto& buffer : module_.buffers(/*recurse=*/true)) add(buffer);
  }

  Expected<WeightTotals> Weights() const override { return weights_; }

  std::string path_;
  WeightTotals weights_;
  torch::jit::Module module_;
  std::vector<TensorSpec> input_specs_;
  std::vector<TensorSpec> output_specs_;
  std::vector<c10::IValue> inputs_;
  c10::IValue output_;  // result of the last RunOnce
};

}  // namespace

BackendInfo Describe() {
  BackendInfo info;
  info.name = "libtorch";
  info.version = TORCH_VERSION;
  info.formats = {ModelFormat::kTorchScript};
  info.op_profiling = true;
  info.options = {
      {.key = "interop_threads",
       .kind = OptionSpec::Kind::kInt,
       .default_value = "0",
       .help = "inter-op threads (TorchScript fork/wait); 0 = LibTorch's default. LibTorch "
               "accepts one value per process",
       .choices = {},
       .min_value = 0,
       .max_value = 1024},
      // Off by default: in LibTorch 1.13 this transform gives wrong outputs for MobileNetV3-Small
      // (max abs error 1.53 against onnxruntime; 6.9e-6 without it), found with --verify.
      {.key = "optimize",
       .kind = OptionSpec::Kind::kBool,
       .default_value = "false",
       .help = "freeze the module and run torch::jit::optimize_for_inference (folds "
               "Conv+BatchNorm, prepacks weights) before timing; check outputs with --verify",
       .choices = {}},
  };
  info.notes.push_back(
      "optimize=true (optimize_for_inference) is faster but gave wrong outputs for "
      "MobileNetV3-Small in LibTorch 1.13: use it with --verify");
  info.notes.push_back(
      "operator profile: with optimize=true the fused MKLDNN convolutions are JIT operators the "
      "profiler does not record: their time is in the (unattributed) kernel type; "
      "--option optimize=false gives per-operator times of the unfused module");
  if (const std::string blas = LoadedBlasLibrary(); !blas.empty() && IsReferenceBlas(blas)) {
    info.notes.push_back("reference BLAS (" + blas + "): slow GEMM: install libopenblas0-pthread");
  }
  return info;
}

std::unique_ptr<Backend> Create() { return std::make_unique<LibTorchBackend>(); }

}  // namespace edgebench::backends::libtorch
