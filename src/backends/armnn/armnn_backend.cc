// The Arm NN backend: runs .tflite models through Arm NN's TFLite parser (Debian's Arm NN 20.08,
// libarmnn22) on the compute backends the runtime reports (CpuRef everywhere; CpuAcc with NEON
// and GpuAcc with OpenCL where their backend libraries are installed, e.g. on arm64).
//
// Arm NN 20.08's parser reads weights only from constant buffers and has no float16 tensors, so
// models that store float16 weights behind DEQUANTIZE operators (as MediaPipe's do) are rewritten
// first (tflite_fp16_weights.h): the weights are widened to float32 once, which is what TFLite
// does at run time. Profile reads Arm NN's profiler (IProfiler::Print, JSON): one event per
// workload and run, named after the workload class, whose prefix tells the compute backend.
#include <armnn/ArmNN.hpp>
#include <armnn/Utils.hpp>
#include <armnn/Exceptions.hpp>
#include <armnn/Version.hpp>
#include <armnnTfLiteParser/ITfLiteParser.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "edgebench/backend.h"
#include "edgebench/text.h"
#include "tflite_fp16_weights.h"

namespace edgebench::backends::armnn {
namespace {

// Compute backends in the order "auto" prefers them, and the workload class prefix of each.
struct ComputeBackend {
  const char* id;
  const char* workload_prefix;
};
constexpr ComputeBackend kComputeBackends[] = {
    {"CpuAcc", "Neon"}, {"GpuAcc", "Cl"}, {"CpuRef", "Ref"}};

// "auto" takes these, where registered; GpuAcc only when asked for (OpenCL tuning and start-up
// costs make it a deliberate choice).
constexpr const char* kAutoBackends[] = {"CpuAcc", "CpuRef"};

std::optional<DataType> FromArmnnType(::armnn::DataType type) {
  switch (type) {
    case ::armnn::DataType::Float32: return DataType::kFloat32;
    case ::armnn::DataType::Float16: return DataType::kFloat16;
    case ::armnn::DataType::QAsymmU8: return DataType::kUInt8;
    case ::armnn::DataType::QAsymmS8:
    case ::armnn::DataType::QSymmS8: return DataType::kInt8;
    case ::armnn::DataType::QSymmS16: return DataType::kInt16;
    case ::armnn::DataType::Signed32: return DataType::kInt32;
    case ::armnn::DataType::Boolean: return DataType::kBool;
    default: return std::nullopt;
  }
}

// Arm NN's message on one line, without the " at function F [file:line]" it appends.
std::string ArmnnMessage(const std::exception& e) {
  std::string text = e.what();
  for (char& c : text) {
    if (c == '\n') c = ' ';
  }
  if (const std::size_t at = text.find(" at function "); at != std::string::npos) text.erase(at);
  while (!text.empty() && (text.back() == ' ' || text.back() == '.')) text.pop_back();
  return text;
}

std::vector<std::string> Split(const std::string& list) {
  std::vector<std::string> items;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

// The compute backends this runtime has registered (dynamic backends load with the runtime).
std::vector<std::string> RegisteredBackends(const ::armnn::IRuntime& runtime) {
  std::vector<std::string> ids;
  for (const ::armnn::BackendId& id : runtime.GetDeviceSpec().GetSupportedBackends()) {
    ids.push_back(id.Get());
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

// Resolves the `backends` option against what the runtime reports: "auto" is kAutoBackends
// that are registered; an explicit list must name registered backends only.
Expected<std::vector<::armnn::BackendId>> ChooseBackends(const std::string& option,
                                                         const std::vector<std::string>& registered) {
  const auto is_registered = [&](const std::string& id) {
    return std::find(registered.begin(), registered.end(), id) != registered.end();
  };
  std::vector<::armnn::BackendId> chosen;
  if (option == "auto") {
    for (const char* id : kAutoBackends) {
      if (is_registered(id)) chosen.emplace_back(id);
    }
  } else {
    for (const std::string& id : Split(option)) {
      if (!is_registered(id)) {
        return Unsupported("armnn: compute backend " + id + " is not available here (registered: " +
                           Join(registered, ",") + ")");
      }
      chosen.emplace_back(id);
    }
  }
  if (chosen.empty()) {
    return Unsupported("armnn: no compute backend to run on (registered: " + Join(registered, ",") +
                       ")");
  }
  return chosen;
}

// One workload of the profile: "RefConvolution2dWorkload" -> type "Convolution2d", provider
// "CpuRef". Workloads of no compute backend (CopyMemGeneric, ...) get provider "armnn".
void DescribeWorkload(const std::string& workload, OpEvent& event) {
  std::string type = workload;
  event.provider = "armnn";
  for (const ComputeBackend& backend : kComputeBackends) {
    const std::string prefix = backend.workload_prefix;
    if (type.size() > prefix.size() && type.starts_with(prefix) &&
        std::isupper(static_cast<unsigned char>(type[prefix.size()]))) {
      type.erase(0, prefix.size());
      event.provider = backend.id;
      break;
    }
  }
  if (type.ends_with("Workload") && type.size() > 8) type.erase(type.size() - 8);
  event.kernel_type = type;
}

// The workload events of an Arm NN profiler JSON document, accumulated over the last `runs`
// entries of each (the profiler keeps one entry per profiled inference since it was enabled).
// Events are keyed "<name>_#<n>" with n increasing in execution order; a workload's event is
// named "<WorkloadClass>_Execute" and holds "Wall clock time_#<m>" {raw: [us per run]}.
Expected<std::vector<OpEvent>> ParseProfile(const std::string& text, int runs) {
  const auto document = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!document.is_object() || !document.contains("ArmNN")) {
    return RuntimeError("armnn profile: not the profiler's JSON (no \"ArmNN\" object)");
  }
  struct Found {
    long order;
    std::string workload;
    std::vector<double> raw_us;
  };
  std::vector<Found> found;
  const auto order_of = [](const std::string& key) {
    const std::size_t hash = key.rfind("_#");
    return hash == std::string::npos ? -1L : std::strtol(key.c_str() + hash + 2, nullptr, 10);
  };
  // Depth-first over nested events; a workload's own sub-events are not descended into.
  std::vector<const nlohmann::json*> pending = {&document["ArmNN"]};
  while (!pending.empty()) {
    const nlohmann::json& node = *pending.back();
    pending.pop_back();
    for (const auto& [key, value] : node.items()) {
      if (!value.is_object() || value.value("type", "") != "Event") continue;
      const std::string name = key.substr(0, key.rfind("_#"));
      constexpr std::string_view kExecute = "_Execute";
      if (!name.ends_with(kExecute)) {
        pending.push_back(&value);
        continue;
      }
      Found& event = found.emplace_back(
          Found{order_of(key), name.substr(0, name.size() - kExecute.size()), {}});
      for (const auto& [measure_key, measure] : value.items()) {
        if (measure_key.starts_with("Wall clock time_#") && measure.contains("raw")) {
          for (const auto& sample : measure["raw"]) {
            if (sample.is_number()) event.raw_us.push_back(sample.get<double>());
          }
        }
      }
    }
  }
  std::sort(found.begin(), found.end(),
            [](const Found& a, const Found& b) { return a.order < b.order; });
  std::vector<OpEvent> kernels;
  std::map<std::string, int> seen;  // workload class -> kernels so far
  for (const Found& event : found) {
    OpEvent& kernel = kernels.emplace_back();
    kernel.kernel_name = event.workload + "#" + std::to_string(seen[event.workload]++);
    DescribeWorkload(event.workload, kernel);
    const std::size_t first =
        event.raw_us.size() > std::size_t(runs) ? event.raw_us.size() - std::size_t(runs) : 0;
    for (std::size_t i = first; i < event.raw_us.size(); ++i) {
      kernel.total_ms += event.raw_us[i] / 1000;
      kernel.calls += 1;
    }
  }
  if (kernels.empty()) return RuntimeError("armnn profile: no workload events");
  return kernels;
}

class ArmnnBackend final : public Backend {
 public:
  Status Load(const LoadRequest& request) override {
    path_ = request.model.path;
    SetLogLevel(request.log_level);
    // Arm NN prints its log itself, on stdout (where --json - goes): only with --verbose. Its
    // errors reach edgebench as exceptions anyway.
    ::armnn::ConfigureLogging(ShouldLog(LogLevel::kWarning), false, ::armnn::LogSeverity::Warning);
    std::ifstream file(path_, std::ios::binary);
    if (!file) return NotFound(path_ + ": cannot open");
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)),
                                     std::istreambuf_iterator<char>());
    if (file.bad()) return BadModel(path_ + ": read error");
    auto folded = FoldFloat16Weights(bytes);
    if (!folded.ok()) return BadModel(path_ + ": " + folded.error().message);

    try {
      runtime_ = ::armnn::IRuntime::Create(::armnn::IRuntime::CreationOptions());
      auto backends = ChooseBackends(request.options.at("backends"), RegisteredBackends(*runtime_));
      if (!backends.ok()) return backends.error();

      parser_ = armnnTfLiteParser::ITfLiteParser::Create();
      ::armnn::INetworkPtr network = parser_->CreateNetworkFromBinary(folded->bytes);
      if (parser_->GetSubgraphCount() != 1) {
        return Unsupported(path_ + ": " + std::to_string(parser_->GetSubgraphCount()) +
                           " subgraphs (Arm NN runs single-subgraph models)");
      }
      input_bindings_.clear();
      input_specs_.clear();
      for (const std::string& name : parser_->GetSubgraphInputTensorNames(0)) {
        auto binding = parser_->GetNetworkInputBindingInfo(0, name);
        EB_RETURN_IF_ERROR(AddSpec(name, binding.second, "input", input_specs_));
        input_bindings_.push_back(binding);
      }
      output_bindings_.clear();
      output_specs_.clear();
      for (const std::string& name : parser_->GetSubgraphOutputTensorNames(0)) {
        auto binding = parser_->GetNetworkOutputBindingInfo(0, name);
        EB_RETURN_IF_ERROR(AddSpec(name, binding.second, "output", output_specs_));
        output_bindings_.push_back(binding);
      }

      ::armnn::OptimizerOptions optimizer;
      optimizer.m_ReduceFp32ToFp16 = request.options.at("fp16") == "true";
      std::vector<std::string> messages;
      ::armnn::IOptimizedNetworkPtr optimized = ::armnn::Optimize(
          *network, *backends, runtime_->GetDeviceSpec(), optimizer,
          ::armnn::Optional<std::vector<std::string>&>(messages));
      if (!optimized) {
        return Unsupported(path_ + ": Arm NN cannot place the network on " +
                           request.options.at("backends") + ": " + Join(messages, ","));
      }
      std::string error;
      if (runtime_->LoadNetwork(network_id_, std::move(optimized), error) !=
          ::armnn::Status::Success) {
        return BadModel(path_ + ": Arm NN cannot load the network: " + error);
      }
      loaded_ = true;
      return OkStatus();
    } catch (const ::armnn::ParseException& e) {
      return BadModel(path_ + ": " + ArmnnMessage(e));
    } catch (const ::armnn::Exception& e) {
      return BadModel(path_ + ": " + ArmnnMessage(e));
    } catch (const std::exception& e) {
      return Internal(path_ + ": " + e.what());
    }
  }

  ~ArmnnBackend() override {
    if (loaded_) runtime_->UnloadNetwork(network_id_);
  }

  std::vector<TensorSpec> InputSpecs() const override { return input_specs_; }
  std::vector<TensorSpec> OutputSpecs() const override { return output_specs_; }

  Status SetInputs(const std::vector<Tensor>& inputs) override {
    EB_RETURN_IF_ERROR(CheckInputsMatchSpecs(inputs, input_specs_, path_));
    input_buffers_.clear();
    input_tensors_.clear();
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i].spec.shape != input_specs_[i].shape) {
        return InvalidArgument(path_ + ": input " + input_specs_[i].name + " is " +
                               FormatShape(input_specs_[i].shape) + ", got " +
                               FormatShape(inputs[i].spec.shape) +
                               " (Arm NN networks have fixed shapes)");
      }
      input_buffers_.push_back(inputs[i].data);
      const auto& [id, info] = input_bindings_[i];
      input_tensors_.emplace_back(id, ::armnn::ConstTensor(runtime_->GetInputTensorInfo(network_id_, id),
                                                           input_buffers_.back().data()));
    }
    output_buffers_.clear();
    output_tensors_.clear();
    for (const auto& [id, info] : output_bindings_) {
      output_buffers_.emplace_back(info.GetNumBytes());
      output_tensors_.emplace_back(id, ::armnn::Tensor(runtime_->GetOutputTensorInfo(network_id_, id),
                                                       output_buffers_.back().data()));
    }
    has_run_ = false;
    return OkStatus();
  }

  Status RunOnce() override {
    if (input_tensors_.size() != input_specs_.size()) {
      return Internal(path_ + ": RunOnce before SetInputs");
    }
    try {
      if (runtime_->EnqueueWorkload(network_id_, input_tensors_, output_tensors_) !=
          ::armnn::Status::Success) {
        return RuntimeError(path_ + ": Arm NN EnqueueWorkload failed");
      }
    } catch (const ::armnn::Exception& e) {
      return RuntimeError(path_ + ": " + ArmnnMessage(e));
    }
    has_run_ = true;
    return OkStatus();
  }

  Expected<std::vector<Tensor>> Outputs() override {
    if (!has_run_) return Internal(path_ + ": Outputs before RunOnce");
    std::vector<Tensor> outputs;
    for (std::size_t i = 0; i < output_specs_.size(); ++i) {
      outputs.push_back({.spec = output_specs_[i], .data = output_buffers_[i]});
    }
    return outputs;
  }

  Expected<OpProfile> Profile(int runs) override {
    const std::shared_ptr<::armnn::IProfiler> profiler = runtime_->GetProfiler(network_id_);
    if (!profiler) return RuntimeError(path_ + ": Arm NN has no profiler for the network");
    profiler->EnableProfiling(true);
    for (int i = 0; i < runs; ++i) {
      if (Status status = RunOnce(); !status.ok()) {
        profiler->EnableProfiling(false);
        return status.error();
      }
    }
    profiler->EnableProfiling(false);
    std::ostringstream json;
    profiler->Print(json);
    auto kernels = ParseProfile(json.str(), runs);
    if (!kernels.ok()) return kernels.error();
    return OpProfile{.source = "armnn profiler", .profiled_runs = runs, .kernels = std::move(*kernels)};
  }

 private:
  Status AddSpec(const std::string& name, const ::armnn::TensorInfo& info, const char* what,
                 std::vector<TensorSpec>& specs) {
    const std::optional<DataType> type = FromArmnnType(info.GetDataType());
    if (!type) {
      return Unsupported(path_ + ": " + what + " " + name + " has Arm NN data type " +
                         ::armnn::GetDataTypeName(info.GetDataType()) +
                         ", which edgebench does not exchange");
    }
    TensorSpec& spec = specs.emplace_back();
    spec.name = name;
    spec.type = *type;
    for (unsigned int d = 0; d < info.GetNumDimensions(); ++d) spec.shape.push_back(info.GetShape()[d]);
    return OkStatus();
  }

  std::string path_;
  // Declaration order is destruction order reversed: tensors before the buffers they view, the
  // parser and network before the runtime.
  ::armnn::IRuntimePtr runtime_{nullptr, &::armnn::IRuntime::Destroy};
  armnnTfLiteParser::ITfLiteParserPtr parser_{nullptr, &armnnTfLiteParser::ITfLiteParser::Destroy};
  ::armnn::NetworkId network_id_ = 0;
  bool loaded_ = false;
  std::vector<::armnn::BindingPointInfo> input_bindings_;
  std::vector<::armnn::BindingPointInfo> output_bindings_;
  std::vector<TensorSpec> input_specs_;
  std::vector<TensorSpec> output_specs_;
  std::vector<std::vector<std::byte>> input_buffers_;
  std::vector<std::vector<std::byte>> output_buffers_;
  ::armnn::InputTensors input_tensors_;
  ::armnn::OutputTensors output_tensors_;
  bool has_run_ = false;
};

}  // namespace

BackendInfo Describe() {
  BackendInfo info;
  info.name = "armnn";
  info.version = ARMNN_VERSION;
  info.formats = {ModelFormat::kTflite};
  info.op_profiling = true;
  std::string registered = "none";
  try {
    const ::armnn::IRuntimePtr runtime =
        ::armnn::IRuntime::Create(::armnn::IRuntime::CreationOptions());
    registered = Join(RegisteredBackends(*runtime), ",");
  } catch (const ::armnn::Exception& e) {
    registered = "none (" + ArmnnMessage(e) + ")";
  }
  info.options = {
      {.key = "backends",
       .kind = OptionSpec::Kind::kString,
       .default_value = "auto",
       .help = "compute backends in order of preference, e.g. CpuAcc,CpuRef (layers a backend "
               "cannot run fall back to the next); auto = CpuAcc then CpuRef where registered. "
               "Registered here: " + registered,
       .choices = {}},
      {.key = "fp16",
       .kind = OptionSpec::Kind::kBool,
       .default_value = "false",
       .help = "compute in float16 where the backend supports it (Arm NN's ReduceFp32ToFp16)",
       .choices = {}},
  };
  info.notes = {"compute backends registered here: " + registered,
                "Arm NN 20.08 sets no thread count: -t is ignored (CpuRef is single-threaded)",
                "operator profile: one kernel per Arm NN workload, named <workload class>#<n> in "
                "execution order (the profiler does not name layers); activations are not fused"};
  return info;
}

std::unique_ptr<Backend> Create() { return std::make_unique<ArmnnBackend>(); }

}  // namespace edgebench::backends::armnn
