#include "edgebench/bench.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <cstdio>
#include <unistd.h>
#include <iostream>
#include <set>

#include "bench_stages.h"
#include "edgebench/fusion.h"
#include "edgebench/profile.h"
#include "edgebench/inspect.h"
#include "edgebench/registry.h"
#include "edgebench/sensors.h"
#include "edgebench/validity.h"

namespace edgebench {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// Each value against the settings table (edgebench/settings.h), then the relations between them.
Status CheckSettings(const BenchSettings& s) {
  for (const auto& spec : SettingsTable()) {
    if (spec.read) EB_RETURN_IF_ERROR(CheckSettingValue(spec, spec.read(s), spec.flag));
  }
  if (s.max_runs < s.min_runs) return InvalidArgument("--max-runs must be at least --min-runs");
  if (s.max_duration_ms <= 0 || s.max_duration_ms < s.min_duration_ms) {
    return InvalidArgument("--max-duration-ms must be positive and at least --min-duration-ms");
  }
  if (s.verify_runtime.empty() && (s.verify_tolerance || !s.verify_model.empty())) {
    return InvalidArgument("--verify-tolerance and --verify-model need --verify RUNTIME");
  }
  return OkStatus();
}

bool AcceptsFormat(const BackendInfo& info, ModelFormat format) {
  return std::find(info.formats.begin(), info.formats.end(), format) != info.formats.end();
}

std::string FormatList(const std::vector<ModelFormat>& formats) {
  std::string list;
  for (auto format : formats) list += (list.empty() ? "" : ", ") + std::string(ModelFormatName(format));
  return list;
}

Expected<std::vector<Tensor>> MakeInputs(const std::vector<TensorSpec>& specs,
                                         const BenchSettings& settings) {
  std::set<std::string> names;
  for (const auto& spec : specs) names.insert(spec.name);
  for (const auto& [name, path] : settings.input_files) {
    if (!names.count(name)) {
      return InvalidArgument("--input names '" + name + "', which is not an input of the model");
    }
  }
  std::vector<Tensor> tensors;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    auto file = settings.input_files.find(specs[i].name);
    auto tensor = file != settings.input_files.end()
                      ? LoadTensorFile(specs[i], file->second)
                      : MakeRandomTensor(specs[i], settings.seed + i);
    if (!tensor.ok()) return tensor.error();
    tensors.push_back(std::move(*tensor));
  }
  return tensors;
}

namespace {

// Redirects this process's stderr (fd 2) to a temporary file for its lifetime, so that what a
// runtime prints on its own while loading (TFLite, OpenCV) can be kept out of edgebench's one-line
// errors. Text() ends the capture and returns what was written.
class StderrCapture {
 public:
  StderrCapture() : file_(std::tmpfile()) {
    std::fflush(stderr);
    saved_ = dup(STDERR_FILENO);
    if (file_ && saved_ >= 0) dup2(fileno(file_), STDERR_FILENO);
  }
  ~StderrCapture() { Text(); }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;

  std::string Text() {
    if (!file_) return text_;
    std::fflush(stderr);
    std::cerr.flush();
    if (saved_ >= 0) {
      dup2(saved_, STDERR_FILENO);
      close(saved_);
    }
    std::rewind(file_);
    char buffer[4096];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, file_)) > 0 && text_.size() < 65536) text_.append(buffer, n);
    std::fclose(file_);
    file_ = nullptr;
    return text_;
  }

 private:
  std::FILE* file_;
  int saved_ = -1;
  std::string text_;
};

// Times one stage and tells the listeners.
template <typename Body>
auto TimedStage(Stage stage, std::span<RunListener* const> listeners, double& elapsed_ms, Body body) {
  for (auto* listener : listeners) listener->OnStageStart(stage);
  const auto start = Clock::now();
  auto outcome = body();
  elapsed_ms = MsSince(start);
  for (auto* listener : listeners) listener->OnStageEnd(stage, elapsed_ms);
  return outcome;
}

// Loads the reference runtime, runs it once on the same inputs and compares the outputs.
Expected<Verification> Verify(Backend& backend, const std::vector<Tensor>& inputs,
                              const BenchResult& result) {
  const BenchSettings& settings = result.settings;
  Verification verification;
  verification.reference_runtime = settings.verify_runtime;
  verification.reference_model = settings.verify_model.empty() ? result.model.path : settings.verify_model;
  verification.tolerance = settings.verify_tolerance;
  auto actual = backend.Outputs();
  if (!actual.ok()) return actual.error();

  auto entry = FindBackend(settings.verify_runtime);
  if (!entry.ok()) return entry.error();
  auto model = InspectModelFile(verification.reference_model);
  if (!model.ok()) return model.error();
  const BackendInfo info = (*entry)->describe();
  verification.reference_version = info.version;
  if (!AcceptsFormat(info, model->format)) {
    return BadModel(model->path + ": reference runtime " + info.name + " accepts " +
                    FormatList(info.formats) + ", not " + std::string(ModelFormatName(model->format)) +
                    " (give its model with --verify-model)");
  }
  auto reference = (*entry)->create();
  auto options = ValidateOptions(info, {});
  if (!options.ok()) return options.error();
  EB_RETURN_IF_ERROR(reference->Load({*model, settings.threads, *options}));
  // Inputs match by position: runtimes may name them differently.
  const auto reference_specs = reference->InputSpecs();
  if (reference_specs.size() != inputs.size()) {
    return InvalidArgument(model->path + ": the reference model has " +
                           std::to_string(reference_specs.size()) + " inputs, the benchmarked one " +
                           std::to_string(inputs.size()));
  }
  std::vector<Tensor> renamed = inputs;
  for (std::size_t i = 0; i < renamed.size(); ++i) renamed[i].spec.name = reference_specs[i].name;
  EB_RETURN_IF_ERROR(reference->SetInputs(renamed));
  EB_RETURN_IF_ERROR(reference->RunOnce());
  auto expected = reference->Outputs();
  if (!expected.ok()) return expected.error();
  auto comparisons = CompareOutputs(*actual, *expected);
  if (!comparisons.ok()) return comparisons.error();
  verification.outputs = std::move(*comparisons);
  for (const auto& output : verification.outputs) {
    verification.max_abs_error = std::max(verification.max_abs_error, output.max_abs_error);
  }
  verification.passed = !settings.verify_tolerance || verification.max_abs_error <= *settings.verify_tolerance;
  return verification;
}

// Around warm-up and timed runs: resets the peak resident memory before the warm-up (so that
// it is theirs) and runs the interference monitor over the timed runs.
class MeasureObserver final : public RunListener {
 public:
  InterferenceMonitor monitor;
  bool peak_reset = false;

  void OnStageStart(Stage stage) override {
    if (stage == Stage::kWarmup) peak_reset = ResetPeakResident();
    if (stage == Stage::kMeasure) monitor.Start();
  }
  void OnStageEnd(Stage stage, double /*elapsed_ms*/) override {
    if (stage == Stage::kMeasure) monitor.Stop();
  }
};

}  // namespace

BenchResult RunBenchmark(const BenchRequest& request, std::span<RunListener* const> listeners) {
  BenchResult result;
  result.settings = request.settings;
  result.started_at_utc = UtcNow();
  result.environment = CollectEnvironment();
  result.runtime_name = request.runtime;
  result.model.path = request.model_path;
  auto fail = [&result](std::string stage, Error error) -> BenchResult& {
    result.failure = RunFailure{std::move(stage), std::move(error)};
    if (result.stop_reason == StopReason::kNotStarted) result.stop_reason = StopReason::kFailed;
    result.validity = {false, {"the run failed at stage '" + result.failure->stage + "'"}, {}};
    result.peak_rss_bytes = PeakResidentBytes();
    return result;
  };

  if (Status s = CheckSettings(request.settings); !s.ok()) return fail("settings", s.error());
  auto entry = FindBackend(request.runtime);
  if (!entry.ok()) return fail("runtime", entry.error());
  auto model = InspectModelFile(request.model_path);
  if (!model.ok()) return fail("model", model.error());
  result.model = *model;
  const BackendInfo info = (*entry)->describe();
  result.runtime_version = info.version;
  if (!AcceptsFormat(info, model->format)) {
    return fail("model", BadModel(model->path + ": is a " +
                                  std::string(ModelFormatName(model->format)) +
                                  " model; runtime " + info.name + " accepts " +
                                  FormatList(info.formats)));
  }
  // The model's cost on paper travels with its measured latency (FLOPs-vs-time analyses);
  // its nodes stay here, for the fusion map of a profile.
  std::vector<SourceNode> source_graph;
  if (auto summary = InspectModel(model->path, request.settings.shapes);
      summary.ok() && summary->graph_analysed) {
    if (summary->unknown_cost_nodes == 0) {
      result.model_cost = ModelCost{summary->params, summary->macs, summary->flops};
    }
    if (request.settings.profile_runs > 0) {
      for (const NodeCost& node : summary->nodes) source_graph.push_back({node.name, node.op_type});
    }
  }
  auto options = ValidateOptions(info, request.settings.options);
  if (!options.ok()) return fail("options", options.error());
  result.runtime_options = *options;

  std::unique_ptr<Backend> backend = (*entry)->create();
  LoadRequest load{*model, request.settings.threads, *options};
  const std::optional<ProcessMemory> before_load = ReadProcessMemory();
  StderrCapture runtime_log;
  Status loaded = TimedStage(Stage::kLoad, listeners, result.load_ms,
                             [&] { return backend->Load(load); });
  const std::string log = runtime_log.Text();
  if (!loaded.ok()) {
    fail("load", loaded.error());
    result.failure->runtime_log = log;
    return result;
  }
  std::fputs(log.c_str(), stderr);  // a successful load's warnings are the user's to see
  const std::optional<ProcessMemory> after_load = ReadProcessMemory();
  result.outputs = backend->OutputSpecs();

  double inputs_ms = 0;
  std::vector<Tensor> inputs;
  Status inputs_set = TimedStage(Stage::kInputs, listeners, inputs_ms, [&]() -> Status {
    auto specs = ResolveInputShapes(backend->InputSpecs(), request.settings.shapes);
    if (!specs.ok()) return specs.error();
    result.inputs = *specs;
    auto tensors = MakeInputs(*specs, request.settings);
    if (!tensors.ok()) return tensors.error();
    inputs = std::move(*tensors);
    return backend->SetInputs(inputs);
  });
  if (!inputs_set.ok()) return fail("inputs", inputs_set.error());

  Status first = TimedStage(Stage::kFirstInference, listeners, result.first_inference_ms,
                            [&] { return backend->RunOnce(); });
  if (!first.ok()) return fail("first_inference", first.error());

  MeasureObserver observer;  // last: it starts the monitor as close to the timed loop as it can
  std::vector<RunListener*> measure_listeners(listeners.begin(), listeners.end());
  measure_listeners.push_back(&observer);
  Measurement measurement = Measure(*backend, request.settings, measure_listeners);
  result.warmup_runs = measurement.warmup_runs;
  result.warmup_ms = measurement.warmup_ms;
  result.measure_ms = measurement.measure_ms;
  result.samples_ms = std::move(measurement.samples_ms);
  result.latency_ms = ComputeLatencyStats(result.samples_ms);
  if (measurement.error) return fail("measure", *measurement.error);
  result.stop_reason = measurement.stop_reason;
  result.interference = observer.monitor.Summary(result.samples_ms.size(), result.measure_ms);
  // Before a reference runtime adds its own.
  if (const auto timed = ReadProcessMemory(); before_load && after_load && timed) {
    result.memory = MemoryUse{before_load->rss_bytes, after_load->rss_bytes, timed->peak_rss_bytes,
                              observer.peak_reset};
  }
  result.peak_rss_bytes = PeakResidentBytes();
  result.validity = JudgeValidity(result.samples_ms, result.latency_ms, result.stop_reason,
                                  request.settings, result.environment, result.interference);

  if (!request.settings.verify_runtime.empty()) {
    auto verification = Verify(*backend, inputs, result);
    if (!verification.ok()) return fail("verify", verification.error());
    result.verification = std::move(*verification);
    if (!result.verification->passed) {
      char text[160];
      std::snprintf(text, sizeof text, "outputs differ from %s: max abs error %.3g above the tolerance %.3g",
                    request.settings.verify_runtime.c_str(), result.verification->max_abs_error,
                    *request.settings.verify_tolerance);
      result.validity.valid = false;
      result.validity.reasons.push_back(text);
    }
  }

  if (request.settings.profile_runs > 0) {
    double profile_ms = 0;
    auto profile = TimedStage(Stage::kProfile, listeners, profile_ms,
                              [&] { return backend->Profile(request.settings.profile_runs); });
    if (profile.ok()) {
      result.profile_by_type = SummarizeByKernelType(*profile);
      result.profile_by_provider = SummarizeByProvider(*profile);
      if (!source_graph.empty()) result.fusion = MapFusion(*profile, source_graph);
      result.profile = std::move(*profile);
    } else if (profile.error().code == ErrorCode::kUnsupported) {
      // Asking for a profile the runtime cannot give is worth knowing, not a failed benchmark.
      result.validity.warnings.push_back("no operator profile from " + info.name + " " +
                                         info.version + ": " + profile.error().message);
    } else {
      return fail("profile", profile.error());
    }
  }
  return result;
}

}  // namespace edgebench
