#include "edgebench/bench.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <cstdio>
#include <unistd.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "bench_stages.h"
#include "edgebench/fusion.h"
#include "edgebench/json_text.h"
#include "edgebench/profile.h"
#include "edgebench/inspect.h"
#include "edgebench/registry.h"
#include "edgebench/tensor_layout.h"
#include "edgebench/sensors.h"
#include "edgebench/validity.h"
#include "tflite_schema.h"

namespace edgebench {

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

namespace {

// The layout a model takes a rank-4 input `index` in: NHWC for an input the layout record
// permutes from its NCHW source, else the source's; without a record, the format's convention
// (TFLite NHWC, every other format NCHW).
ImageLayout ModelInputLayout(const ModelFile& model, const std::optional<LayoutRecord>& record, std::size_t index) {
  if (record && index < record->inputs.size()) {
    return record->inputs[index].permutation == FromNchw(ImageLayout::kNhwc) ? ImageLayout::kNhwc : ImageLayout::kNchw;
  }
  return model.format == ModelFormat::kTflite ? ImageLayout::kNhwc : ImageLayout::kNchw;
}

// Reads the --input file of `spec` stated to be in `stated` layout (--input-layout) and brings it
// to the model's layout: as is when they agree, permuted when the model's layout record maps the
// stated layout onto the model's, refused otherwise (the file would be read in the wrong order).
Expected<Tensor> LoadInputInLayout(const TensorSpec& spec, const std::string& path, const std::string& stated_name,
                                   const ModelFile& model, const std::optional<LayoutRecord>& record,
                                   std::size_t index) {
  auto stated = ParseImageLayout(stated_name);
  if (!stated.ok()) return InvalidArgument("--input-layout " + spec.name + ": " + stated.error().message);
  if (spec.shape.size() != 4) {
    return InvalidArgument("--input-layout " + spec.name + ": the input is " + FormatShape(spec.shape) +
                           "; layouts apply to 4-D inputs only");
  }
  const ImageLayout expected = ModelInputLayout(model, record, index);
  if (*stated == expected) return LoadTensorFile(spec, path);
  const bool recorded = record && index < record->inputs.size();
  // model dim i = stated-layout dim permutation[i], when the record says how the model came from it.
  const Permutation permutation = ComposePermutations(InversePermutation(FromNchw(*stated)), FromNchw(expected));
  if (!recorded || *stated != ImageLayout::kNchw) {
    return InvalidArgument(path + ": --input-layout " + spec.name + "=" + std::string(ImageLayoutName(*stated)) +
                           ", but the model takes '" + spec.name + "' as " + std::string(ImageLayoutName(expected)) +
                           " " + FormatShape(spec.shape) +
                           (recorded ? " (its layout record permutes from NCHW only)"
                                     : " and records no permutation from " +
                                           std::string(ImageLayoutName(*stated))) +
                           ": give the file in " + std::string(ImageLayoutName(expected)));
  }
  TensorSpec file_spec = spec;
  file_spec.shape = PermuteShape(spec.shape, InversePermutation(permutation));
  auto tensor = LoadTensorFile(file_spec, path);
  if (!tensor.ok()) return tensor.error();
  return PermuteTensor(*tensor, permutation);
}

}  // namespace

Expected<std::vector<Tensor>> MakeInputs(const std::vector<TensorSpec>& specs, const BenchSettings& settings,
                                         const ModelFile& model) {
  std::set<std::string> names;
  for (const auto& spec : specs) names.insert(spec.name);
  for (const auto& [name, path] : settings.input_files) {
    if (!names.count(name)) {
      return InvalidArgument("--input names '" + name + "', which is not an input of the model");
    }
  }
  for (const auto& [name, layout] : settings.input_layouts) {
    if (!settings.input_files.count(name)) {
      return InvalidArgument("--input-layout " + name + "=" + layout + " needs --input " + name + "=FILE");
    }
  }
  std::optional<LayoutRecord> record;
  if (!settings.input_layouts.empty()) {
    auto read = ReadLayoutRecord(model.path);
    if (!read.ok()) return read.error();
    record = std::move(*read);
  }
  std::vector<Tensor> tensors;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    auto file = settings.input_files.find(specs[i].name);
    auto layout = settings.input_layouts.find(specs[i].name);
    auto tensor = file == settings.input_files.end() ? MakeRandomTensor(specs[i], settings.seed + i)
                  : layout == settings.input_layouts.end()
                      ? LoadTensorFile(specs[i], file->second)
                      : LoadInputInLayout(specs[i], file->second, layout->second, model, record, i);
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

// How the benchmarked model's tensors map onto the reference model's, settled before timing so
// that a mismatch fails fast. Permutations are empty where tensors pass as they are.
struct VerifyPlan {
  ModelFile reference;
  // Reference input i = benchmarked input i permuted by inputs[i].
  std::vector<Permutation> inputs;
  // Benchmarked output i permuted by outputs[i] lines up with reference output i.
  std::vector<Permutation> outputs;
};

// The permutation from a tensor of model A to the same tensor of model B, given how each was
// permuted from the common source (empty: not permuted, or no record).
Permutation Between(const Permutation& a_from_source, const Permutation& b_from_source) {
  if (a_from_source.empty()) return b_from_source;
  const Permutation to_source = InversePermutation(a_from_source);
  const Permutation result = b_from_source.empty() ? to_source : ComposePermutations(to_source, b_from_source);
  return IsIdentity(result) ? Permutation{} : result;
}

Permutation RecordedPermutation(const std::optional<LayoutRecord>& record, bool inputs, std::size_t index) {
  if (!record) return {};
  const auto& tensors = inputs ? record->inputs : record->outputs;
  return index < tensors.size() ? tensors[index].permutation : Permutation{};
}

// Checks the reference runtime and model before timing, and that each benchmarked input, carried
// across the layouts the models record, has a shape the reference model accepts.
Expected<VerifyPlan> PlanVerification(const ModelFile& model, const std::vector<TensorSpec>& inputs,
                                      const BenchSettings& settings) {
  auto entry = FindBackend(settings.verify_runtime);
  if (!entry.ok()) return entry.error();
  VerifyPlan plan;
  auto reference = InspectModelFile(settings.verify_model.empty() ? model.path : settings.verify_model);
  if (!reference.ok()) return reference.error();
  plan.reference = *reference;
  const BackendInfo info = (*entry)->describe();
  if (!AcceptsFormat(info, reference->format)) {
    return BadModel(reference->path + ": reference runtime " + info.name + " accepts " +
                    FormatList(info.formats) + ", not " + std::string(ModelFormatName(reference->format)) +
                    " (give its model with --verify-model)");
  }
  auto own_record = ReadLayoutRecord(model.path);
  if (!own_record.ok()) return own_record.error();
  auto reference_record = ReadLayoutRecord(reference->path);
  if (!reference_record.ok()) return reference_record.error();
  const std::size_t outputs = std::max(own_record->has_value() ? (*own_record)->outputs.size() : 0,
                                       reference_record->has_value() ? (*reference_record)->outputs.size() : 0);
  for (std::size_t i = 0; i < outputs; ++i) {
    plan.outputs.push_back(Between(RecordedPermutation(*own_record, false, i),
                                   RecordedPermutation(*reference_record, false, i)));
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    Permutation perm = Between(RecordedPermutation(*own_record, true, i), RecordedPermutation(*reference_record, true, i));
    if (!perm.empty() && perm.size() != inputs[i].shape.size()) {
      return BadModel(model.path + ": the layout record permutes input " + std::to_string(i) + " ('" +
                      inputs[i].name + "') as rank " + std::to_string(perm.size()) + ", but it is " +
                      FormatShape(inputs[i].shape));
    }
    plan.inputs.push_back(std::move(perm));
  }
  // Shapes as the file declares them (ONNX, TFLite); other formats are checked when they load.
  if (reference->format != ModelFormat::kOnnx && reference->format != ModelFormat::kTflite) return plan;
  auto summary = InspectModel(reference->path, {});
  if (!summary.ok()) return summary.error();
  if (summary->inputs.size() != inputs.size()) {
    return InvalidArgument(reference->path + ": the reference model has " + std::to_string(summary->inputs.size()) +
                           " inputs, the benchmarked one " + std::to_string(inputs.size()));
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const InspectedTensor& declared = summary->inputs[i];
    const bool dynamic = std::count(summary->dynamic_inputs.begin(), summary->dynamic_inputs.end(), declared.name) > 0;
    const std::vector<int64_t> carried =
        plan.inputs[i].empty() ? inputs[i].shape : PermuteShape(inputs[i].shape, plan.inputs[i]);
    bool fits = !declared.rank_known || declared.shape.size() == carried.size();
    for (std::size_t d = 0; fits && declared.rank_known && !dynamic && d < carried.size(); ++d) {
      fits = declared.shape[d] == kDynamicDim || declared.shape[d] == carried[d];
    }
    if (fits) continue;
    std::string message = reference->path + ": the reference takes input " + std::to_string(i) + " ('" +
                          declared.name + "') as " + FormatShape(declared.shape) + ", the benchmarked input '" +
                          inputs[i].name + "' is " + FormatShape(inputs[i].shape);
    message += plan.inputs[i].empty()
                   ? " and neither model records a layout permutation between them (edgebench convert records it)"
                   : ", " + FormatShape(carried) + " after the recorded permutation (" +
                         FormatPermutation(plan.inputs[i]) + ")";
    return InvalidArgument(message);
  }
  return plan;
}

// Loads the reference runtime, runs it once on the same inputs (carried to its layout) and
// compares the outputs (the benchmarked ones carried to the reference's layout).
Expected<Verification> Verify(Backend& backend, const std::vector<Tensor>& inputs, const VerifyPlan& plan,
                              const BenchResult& result) {
  const BenchSettings& settings = result.settings;
  Verification verification;
  verification.reference_runtime = settings.verify_runtime;
  verification.reference_model = plan.reference.path;
  verification.tolerance = settings.verify_tolerance;
  auto actual = backend.Outputs();
  if (!actual.ok()) return actual.error();

  auto entry = FindBackend(settings.verify_runtime);
  if (!entry.ok()) return entry.error();
  const BackendInfo info = (*entry)->describe();
  verification.reference_version = info.version;
  auto reference = (*entry)->create();
  auto options = ValidateOptions(info, {});
  if (!options.ok()) return options.error();
  EB_RETURN_IF_ERROR(reference->Load({plan.reference, settings.threads, *options}));
  // Inputs match by position: runtimes may name them differently.
  const auto reference_specs = reference->InputSpecs();
  if (reference_specs.size() != inputs.size()) {
    return InvalidArgument(plan.reference.path + ": the reference model has " +
                           std::to_string(reference_specs.size()) + " inputs, the benchmarked one " +
                           std::to_string(inputs.size()));
  }
  std::vector<Tensor> carried;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    auto tensor = plan.inputs[i].empty() ? Expected<Tensor>(inputs[i]) : PermuteTensor(inputs[i], plan.inputs[i]);
    if (!tensor.ok()) return tensor.error();
    tensor->spec.name = reference_specs[i].name;
    carried.push_back(std::move(*tensor));
  }
  EB_RETURN_IF_ERROR(reference->SetInputs(carried));
  EB_RETURN_IF_ERROR(reference->RunOnce());
  auto expected = reference->Outputs();
  if (!expected.ok()) return expected.error();
  for (std::size_t i = 0; i < actual->size() && i < plan.outputs.size(); ++i) {
    if (plan.outputs[i].empty()) continue;
    auto permuted = PermuteTensor((*actual)[i], plan.outputs[i]);
    if (!permuted.ok()) return permuted.error();
    (*actual)[i] = std::move(*permuted);
  }
  auto comparisons = CompareOutputs(*actual, *expected);
  if (!comparisons.ok()) return comparisons.error();
  verification.outputs = std::move(*comparisons);
  for (const auto& output : verification.outputs) {
    verification.max_abs_error = std::max(verification.max_abs_error, output.max_abs_error);
  }
  const auto any = [](const std::vector<Permutation>& perms) {
    return std::any_of(perms.begin(), perms.end(), [](const Permutation& p) { return !p.empty(); });
  };
  if (any(plan.inputs)) verification.input_permutations = plan.inputs;
  if (any(plan.outputs)) verification.output_permutations = plan.outputs;
  verification.passed = !settings.verify_tolerance || verification.max_abs_error <= *settings.verify_tolerance;
  return verification;
}

// Writes each output of the last run as a raw little-endian file (what --input NAME=FILE reads)
// and outputs.json naming them: [{"name", "file", "type", "shape"}].
Status SaveOutputs(Backend& backend, const std::string& directory) {
  auto outputs = backend.Outputs();
  if (!outputs.ok()) return outputs.error();
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) return InvalidArgument(directory + ": cannot create the --save-outputs directory: " + error.message());
  nlohmann::json index = nlohmann::json::array();
  for (std::size_t i = 0; i < outputs->size(); ++i) {
    const Tensor& tensor = (*outputs)[i];
    const std::string file = "output" + std::to_string(i) + ".bin";
    EB_RETURN_IF_ERROR(SaveTensorFile(tensor, (std::filesystem::path(directory) / file).string()));
    index.push_back({{"name", tensor.spec.name},
                     {"file", file},
                     {"type", std::string(DataTypeName(tensor.spec.type))},
                     {"shape", tensor.spec.shape}});
  }
  std::ofstream out(std::filesystem::path(directory) / "outputs.json");
  out << DumpJson(nlohmann::json{{"outputs", index}}, 2) << "\n";
  if (!out) return InvalidArgument(directory + "/outputs.json: cannot write");
  return OkStatus();
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

Expected<std::optional<LayoutRecord>> ReadLayoutRecord(const std::string& path) {
  auto format = DetectModelFormat(path);
  if (!format.ok()) return format.error();
  if (*format != ModelFormat::kTflite) return std::optional<LayoutRecord>();
  // Mapped, not read: only the flatbuffer's tables are touched, not the weights.
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFound(path + ": cannot open");
  struct stat info {};
  void* data = fstat(fd, &info) == 0 && info.st_size > 0
                   ? mmap(nullptr, std::size_t(info.st_size), PROT_READ, MAP_PRIVATE, fd, 0)
                   : MAP_FAILED;
  close(fd);
  if (data == MAP_FAILED) return NotFound(path + ": cannot map the model file");
  const std::size_t size = std::size_t(info.st_size);
  Expected<std::optional<LayoutRecord>> record = std::optional<LayoutRecord>();
  auto model = tfl::ReadModel(std::string_view(static_cast<const char*>(data), size));
  if (!model.ok()) {
    record = Error{model.error().code, path + ": " + model.error().message};
  } else if (auto entry = tfl::MetadataEntry(**model, kLayoutMetadataName)) {
    const auto json = nlohmann::json::parse(*entry, nullptr, /*allow_exceptions=*/false);
    auto parsed = LayoutRecordFromJson(json);
    record = parsed.ok() ? Expected<std::optional<LayoutRecord>>(std::optional<LayoutRecord>(std::move(*parsed)))
                         : Expected<std::optional<LayoutRecord>>(Error{parsed.error().code, path + ": " + parsed.error().message});
  }
  munmap(data, size);
  return record;
}

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
    auto tensors = MakeInputs(*specs, request.settings, *model);
    if (!tensors.ok()) return tensors.error();
    inputs = std::move(*tensors);
    return backend->SetInputs(inputs);
  });
  if (!inputs_set.ok()) return fail("inputs", inputs_set.error());
  std::optional<VerifyPlan> verify_plan;
  if (!request.settings.verify_runtime.empty()) {
    auto plan = PlanVerification(*model, result.inputs, request.settings);
    if (!plan.ok()) return fail("verify", plan.error());
    verify_plan = std::move(*plan);
  }

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

  if (!request.settings.save_outputs_dir.empty()) {
    if (Status saved = SaveOutputs(*backend, request.settings.save_outputs_dir); !saved.ok()) {
      return fail("save_outputs", saved.error());
    }
  }
  if (verify_plan) {
    auto verification = Verify(*backend, inputs, *verify_plan, result);
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
