// The interface every runtime backend implements, and the static description of a backend.
// A backend lives in src/backends/<name>/ and is listed in the registry by CMake.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "edgebench/log.h"
#include "edgebench/model_file.h"
#include "edgebench/profile.h"
#include "edgebench/status.h"
#include "edgebench/tensor.h"

namespace edgebench {

// A runtime-specific option (--option key=value). The harness validates values against the
// spec before the backend sees them, so a backend may parse them without further checks.
struct OptionSpec {
  enum class Kind { kInt, kBool, kChoice, kString };
  std::string key;
  Kind kind = Kind::kString;
  std::string default_value;
  std::string help;
  std::vector<std::string> choices;  // kChoice only
  int64_t min_value = 0;             // kInt only
  int64_t max_value = INT64_MAX;     // kInt only
};

struct BackendInfo {
  std::string name;     // registry key, e.g. "onnxruntime"
  std::string version;  // version of the runtime library actually loaded
  std::vector<ModelFormat> formats;
  bool op_profiling = false;  // implements Backend::Profile (per-operator timings)
  std::vector<OptionSpec> options;
  std::vector<std::string> notes;  // caveats a user should see (e.g. "no OpenBLAS: slow GEMM")
};

using BackendOptions = std::map<std::string, std::string>;

// Checks `options` against the backend's specs (unknown key, wrong type, out of range, not a
// choice: an error naming the key) and fills in defaults for missing keys.
Expected<BackendOptions> ValidateOptions(const BackendInfo& info, const BackendOptions& options);

struct LoadRequest {
  ModelFile model;
  int threads = 0;                 // intra-op threads; 0 = runtime default
  BackendOptions options;          // already validated against BackendInfo::options
  // The caller's threshold for what the runtime prints about itself (edgebench/log.h). A plugin
  // holds its own copy of core's threshold, so Load applies this with SetLogLevel before it
  // touches its runtime, and routes the runtime's log through LogMessage where the runtime lets it.
  LogLevel log_level = CurrentLogLevel();
};

// Lifecycle: Load -> (InputSpecs/OutputSpecs) -> SetInputs -> RunOnce* -> Outputs, Profile.
// Not thread-safe; one instance serves one model. Implementations catch every exception of
// their runtime and return an Error instead.
class Backend {
 public:
  virtual ~Backend() = default;

  // Reads the model and builds the session/engine. Timed as "load" by the harness.
  virtual Status Load(const LoadRequest& request) = 0;

  // Valid after Load. Dims may be kDynamicDim; rank_known is false when the format has no shapes.
  virtual std::vector<TensorSpec> InputSpecs() const = 0;
  virtual std::vector<TensorSpec> OutputSpecs() const = 0;

  // Binds concrete inputs for the following runs (one tensor per input spec, same order).
  virtual Status SetInputs(const std::vector<Tensor>& inputs) = 0;

  // One synchronous inference. The hot path: keep allocation and copies out of it where the
  // runtime allows.
  virtual Status RunOnce() = 0;

  // Copies the outputs of the last RunOnce.
  virtual Expected<std::vector<Tensor>> Outputs() = 0;

  // Optional, valid after SetInputs: runs `runs` (>= 1) more inferences with the runtime's own
  // profiler on and returns its per-operator timings converted to OpProfile. Profilers perturb
  // timing, so the harness calls this only after the timed runs. A backend that overrides it
  // sets BackendInfo::op_profiling; the default reports Unsupported.
  virtual Expected<OpProfile> Profile(int /*runs*/) {
    return Unsupported("the runtime has no per-operator profiler that edgebench can read");
  }

  // Optional, valid after Load: the model's weights as the runtime holds them (parameters and
  // floating-point buffers), for formats the inspector cannot read by itself (TorchScript).
  struct WeightTotals {
    int64_t params = 0;  // elements
    int64_t bytes = 0;
  };
  virtual Expected<WeightTotals> Weights() const {
    return Unsupported("the runtime does not report the model's weights");
  }
};

}  // namespace edgebench
