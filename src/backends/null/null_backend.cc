// The null backend: accepts any model file and does no inference. It measures the harness's
// own overhead and lets the server/agent/client be tested without a runtime.
#include <chrono>
#include <memory>

#include "edgebench/backend.h"

namespace edgebench::backends::null {
namespace {

class NullBackend final : public Backend {
 public:
  Status Load(const LoadRequest& request) override {
    SetLogLevel(request.log_level);
    spin_ns_ = std::stoll(request.options.at("spin_ns"));
    return OkStatus();
  }
  std::vector<TensorSpec> InputSpecs() const override { return {}; }
  std::vector<TensorSpec> OutputSpecs() const override { return {}; }
  Status SetInputs(const std::vector<Tensor>& inputs) override {
    if (!inputs.empty()) return InvalidArgument("the null backend takes no inputs");
    return OkStatus();
  }
  Status RunOnce() override {
    if (spin_ns_ > 0) {
      const auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(spin_ns_);
      while (std::chrono::steady_clock::now() < until) {
      }
    }
    return OkStatus();
  }
  Expected<std::vector<Tensor>> Outputs() override { return std::vector<Tensor>{}; }

 private:
  int64_t spin_ns_ = 0;
};

}  // namespace

BackendInfo Describe() {
  BackendInfo info;
  info.name = "null";
  info.version = "1";
  info.formats = {ModelFormat::kOnnx,         ModelFormat::kTflite, ModelFormat::kTorchScript,
                  ModelFormat::kTensorFlowPb, ModelFormat::kCaffe,  ModelFormat::kDarknet};
  info.op_profiling = false;
  info.options = {{.key = "spin_ns",
                   .kind = OptionSpec::Kind::kInt,
                   .default_value = "0",
                   .help = "busy-wait this many nanoseconds per run (simulated work)",
                   .min_value = 0,
                   .max_value = 10'000'000'000}};
  info.notes = {"does no inference: measures the harness itself"};
  return info;
}

std::unique_ptr<Backend> Create() { return std::make_unique<NullBackend>(); }

}  // namespace edgebench::backends::null
