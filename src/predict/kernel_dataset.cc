#include "edgebench/kernel_dataset.h"

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "edgebench/bench.h"
#include "edgebench/compare.h"
#include "edgebench/kernel_models.h"
#include "edgebench/model_file.h"
#include "edgebench/profile.h"
#include "edgebench/result_json.h"
#include "edgebench/version.h"

namespace edgebench {
namespace {

using json = nlohmann::json;

// A field that is missing, mistyped or unknown; thrown inside the readers below and turned into
// kInvalidArgument by their callers, so that every check is one line.
struct FieldError {
  std::string message;
};

[[noreturn]] void Fail(const std::string& path, const std::string& problem) {
  throw FieldError{"field '" + path + "' " + problem};
}

// Reads the fields of one JSON object by name; `path` names the object in errors.
class Fields {
 public:
  Fields(const json& object, std::string path) : object_(object), path_(std::move(path)) {
    if (!object_.is_object()) Fail(path_, "must be an object");
  }

  // Fails on any field not in `known`.
  void OnlyKnown(std::initializer_list<const char*> known) const {
    for (const auto& [key, value] : object_.items()) {
      bool found = false;
      for (const char* name : known) found = found || key == name;
      if (!found) Fail(Path(key), "is unknown");
    }
  }

  std::string Path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  const json& At(const std::string& key) const {
    const auto found = object_.find(key);
    if (found == object_.end()) Fail(Path(key), "is missing");
    return *found;
  }
  std::string String(const std::string& key) const {
    const json& value = At(key);
    if (!value.is_string()) Fail(Path(key), "must be a string");
    return value.get<std::string>();
  }
  double Number(const std::string& key) const {
    const json& value = At(key);
    if (!value.is_number()) Fail(Path(key), "must be a number");
    return value.get<double>();
  }
  std::optional<double> NullableNumber(const std::string& key) const {
    if (At(key).is_null()) return std::nullopt;
    return Number(key);
  }
  uint64_t Unsigned(const std::string& key) const {
    const json& value = At(key);
    // A parsed non-negative integer is unsigned; one built in memory from an int is signed.
    if (value.is_number_unsigned()) return value.get<uint64_t>();
    if (!value.is_number_integer() || value.get<int64_t>() < 0) Fail(Path(key), "must be a non-negative integer");
    return static_cast<uint64_t>(value.get<int64_t>());
  }
  bool Bool(const std::string& key) const {
    const json& value = At(key);
    if (!value.is_boolean()) Fail(Path(key), "must be true or false");
    return value.get<bool>();
  }
  const json& Array(const std::string& key) const {
    const json& value = At(key);
    if (!value.is_array()) Fail(Path(key), "must be an array");
    return value;
  }
  std::vector<std::string> Strings(const std::string& key) const {
    std::vector<std::string> strings;
    const json& list = Array(key);
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (!list[i].is_string()) Fail(Path(key) + "[" + std::to_string(i) + "]", "must be a string");
      strings.push_back(list[i].get<std::string>());
    }
    return strings;
  }
  KernelConfig Config(const std::string& key) const {
    auto config = KernelConfigFromJson(At(key));
    if (!config.ok()) Fail(Path(key), "is not a kernel configuration: " + config.error().message);
    return *config;
  }

 private:
  const json& object_;
  std::string path_;
};

std::string Item(const std::string& path, std::size_t index) { return path + "[" + std::to_string(index) + "]"; }

json SourcesToJson(const std::vector<KernelModelSource>& sources) {
  json list = json::array();
  for (const auto& source : sources) list.push_back({{"name", source.name}, {"sha256", source.sha256}});
  return list;
}

std::vector<KernelModelSource> SourcesFromJson(const Fields& parent, const std::string& key) {
  std::vector<KernelModelSource> sources;
  const json& list = parent.Array(key);
  for (std::size_t i = 0; i < list.size(); ++i) {
    const Fields source(list[i], Item(parent.Path(key), i));
    source.OnlyKnown({"name", "sha256"});
    sources.push_back({source.String("name"), source.String("sha256")});
  }
  return sources;
}

// A file name of the kernel models' directory: no directory part, not "." or "..".
std::string FileName(const Fields& fields) {
  std::string file = fields.String("file");
  if (file.empty() || file == "." || file == ".." || file.find('/') != std::string::npos) {
    Fail(fields.Path("file"), "must be a file name without a directory: '" + file + "'");
  }
  return file;
}

KernelPoint PointFromJson(const json& object, const std::string& path) {
  const Fields fields(object, path);
  fields.OnlyKnown({"file", "sha256", "source", "config", "median_ms", "valid", "reasons", "attempts", "layout_share",
                    "reference_ratio", "reference_ms"});
  KernelPoint point;
  point.file = FileName(fields);
  point.sha256 = fields.String("sha256");
  point.source = fields.String("source");
  point.config = fields.Config("config");
  point.median_ms = fields.NullableNumber("median_ms");
  point.valid = fields.Bool("valid");
  point.reasons = fields.Strings("reasons");
  point.attempts = static_cast<int>(fields.Unsigned("attempts"));
  if (object.contains("layout_share")) {
    point.layout_share = fields.NullableNumber("layout_share");
    if (point.layout_share && (*point.layout_share < 0 || *point.layout_share >= 1)) {
      Fail(fields.Path("layout_share"), "must be in [0, 1)");
    }
  }
  if (object.contains("reference_ratio")) {
    point.reference_ratio = fields.NullableNumber("reference_ratio");
    point.reference_ms = fields.NullableNumber("reference_ms");
    if (point.reference_ratio.has_value() != point.reference_ms.has_value()) {
      Fail(fields.Path("reference_ratio"), "and reference_ms must both be set or both null");
    }
    if (point.reference_ratio && (*point.reference_ratio <= 0 || *point.reference_ms <= 0)) {
      Fail(fields.Path("reference_ratio"), "and reference_ms must be positive");
    }
  }
  if (point.median_ms && *point.median_ms < 0) Fail(fields.Path("median_ms"), "must not be negative");
  if (point.valid && (!point.median_ms || *point.median_ms <= 0)) {
    Fail(fields.Path("median_ms"), "must be a positive number on a valid point");
  }
  if (point.valid && point.attempts < 1) Fail(fields.Path("attempts"), "must be at least 1 on a valid point");
  return point;
}

// Parses `text` as JSON and reads it with `read`; errors name `path`.
template <typename T>
Expected<T> ReadJsonFile(const std::string& path, Expected<T> (*read)(const json&)) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(path + ": cannot open");
  std::stringstream text;
  text << in.rdbuf();
  const json document = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return InvalidArgument(path + ": not valid JSON");
  auto value = read(document);
  if (!value.ok()) return Error{value.error().code, path + ": " + value.error().message};
  return value;
}

// RunBenchmark, again while the verdict is INVALID, up to `repeat_invalid` more times; a failed
// run is not repeated. Returns the last result and how many runs were made.
std::pair<BenchResult, int> MeasureWithRepeats(const std::string& path, const KernelMeasureRequest& request,
                                               std::span<RunListener* const> listeners) {
  int attempts = 0;
  while (true) {
    BenchResult result = RunBenchmark({path, request.runtime, request.settings}, listeners);
    ++attempts;
    if (result.failure || result.validity.valid || attempts > request.repeat_invalid) {
      return {std::move(result), attempts};
    }
  }
}

}  // namespace

json ToJson(const KernelPoint& point) {
  return {{"file", point.file},
          {"sha256", point.sha256},
          {"source", point.source},
          {"config", ToJson(point.config)},
          {"median_ms", point.median_ms ? json(*point.median_ms) : json(nullptr)},
          {"valid", point.valid},
          {"reasons", point.reasons},
          {"attempts", point.attempts},
          {"layout_share", point.layout_share ? json(*point.layout_share) : json(nullptr)},
          {"reference_ratio", point.reference_ratio ? json(*point.reference_ratio) : json(nullptr)},
          {"reference_ms", point.reference_ms ? json(*point.reference_ms) : json(nullptr)}};
}

double KernelOwnMs(const KernelPoint& point, double overhead_ms, double floor_ms) {
  const double kernel_ms = (point.median_ms.value_or(0) - overhead_ms) * (1 - point.layout_share.value_or(0));
  return std::max(kernel_ms, floor_ms);
}

json ToJson(const KernelModels& models) {
  json kernels = json::array();
  for (const auto& kernel : models.kernels) {
    kernels.push_back({{"file", kernel.file}, {"source", kernel.source}, {"config", ToJson(kernel.config)}});
  }
  return {{"schema", kKernelModelsSchema},
          {"seed", models.seed},
          {"edgebench_version", models.edgebench_version},
          {"sources", SourcesToJson(models.sources)},
          {"kernels", kernels}};
}

Expected<KernelModels> KernelModelsFromJson(const json& document) {
  try {
    const Fields fields(document, "");
    if (fields.String("schema") != kKernelModelsSchema) {
      return InvalidArgument("schema '" + fields.String("schema") + "' is not " + kKernelModelsSchema);
    }
    fields.OnlyKnown({"schema", "seed", "edgebench_version", "sources", "kernels"});
    KernelModels models;
    models.seed = fields.Unsigned("seed");
    models.edgebench_version = fields.String("edgebench_version");
    models.sources = SourcesFromJson(fields, "sources");
    std::set<std::string> source_names, files;
    for (const auto& source : models.sources) source_names.insert(source.name);
    const json& kernels = fields.Array("kernels");
    for (std::size_t i = 0; i < kernels.size(); ++i) {
      const Fields kernel(kernels[i], Item("kernels", i));
      kernel.OnlyKnown({"file", "source", "config"});
      KernelModelEntry entry{FileName(kernel), kernel.String("source"), kernel.Config("config")};
      if (!source_names.count(entry.source)) Fail(kernel.Path("source"), "names no model of 'sources': " + entry.source);
      if (!files.insert(entry.file).second) Fail(kernel.Path("file"), "repeats " + entry.file);
      models.kernels.push_back(std::move(entry));
    }
    return models;
  } catch (const FieldError& error) {
    return InvalidArgument(error.message);
  }
}

Expected<KernelModels> ReadKernelModels(const std::string& directory) {
  return ReadJsonFile<KernelModels>((std::filesystem::path(directory) / "kernels.json").string(),
                                    KernelModelsFromJson);
}

json ToJson(const KernelDataSet& data_set) {
  const KernelDataSetProvenance& p = data_set.provenance;
  json points = json::array();
  for (const auto& point : data_set.points) points.push_back(ToJson(point));
  return {{"schema", kKernelDataSetSchema},
          {"provenance",
           {{"device", p.device},
            {"runtime", p.runtime},
            {"runtime_version", p.runtime_version},
            {"settings", SettingsToJson(p.settings)},
            {"environment", ToJson(p.environment)},
            {"edgebench_version", p.edgebench_version},
            {"created_at", p.created_at},
            {"kernel_models", {{"seed", p.kernel_models_seed}, {"sources", SourcesToJson(p.kernel_models_sources)}}},
            {"measure_seconds", p.measure_seconds}}},
          {"reference", data_set.reference ? json{{"sha256", data_set.reference->sha256},
                                                  {"config", ToJson(data_set.reference->config)}}
                                            : json(nullptr)},
          {"overhead_ms", data_set.overhead_ms},
          {"overhead", ToJson(data_set.overhead)},
          {"points", points}};
}

Expected<KernelDataSet> KernelDataSetFromJson(const json& document) {
  try {
    const Fields fields(document, "");
    const std::string schema = fields.String("schema");
    if (schema != kKernelDataSetSchema && schema != kKernelDataSetSchemaV2 && schema != kKernelDataSetSchemaV1) {
      return InvalidArgument("schema '" + schema + "' is not " + kKernelDataSetSchema + " (or " +
                             kKernelDataSetSchemaV2 + ", " + kKernelDataSetSchemaV1 + ")");
    }
    fields.OnlyKnown({"schema", "provenance", "reference", "overhead_ms", "overhead", "points"});
    KernelDataSet data_set;
    if (schema == kKernelDataSetSchema && !fields.At("reference").is_null()) {
      const Fields reference(fields.At("reference"), "reference");
      reference.OnlyKnown({"sha256", "config"});
      data_set.reference = KernelReference{reference.String("sha256"), reference.Config("config")};
    }
    KernelDataSetProvenance& p = data_set.provenance;
    const Fields provenance(fields.At("provenance"), "provenance");
    provenance.OnlyKnown({"device", "runtime", "runtime_version", "settings", "environment", "edgebench_version",
                          "created_at", "kernel_models", "measure_seconds"});
    p.device = provenance.String("device");
    p.runtime = provenance.String("runtime");
    p.runtime_version = provenance.String("runtime_version");
    auto settings = SettingsFromJson(provenance.At("settings"));
    if (!settings.ok()) Fail("provenance.settings", "is not a bench's settings: " + settings.error().message);
    p.settings = *settings;
    try {
      p.environment = EnvironmentFromJson(provenance.At("environment"));
    } catch (const json::exception& error) {
      Fail("provenance.environment", std::string("is not a result's environment: ") + error.what());
    }
    p.edgebench_version = provenance.String("edgebench_version");
    p.created_at = provenance.String("created_at");
    const Fields kernel_models(provenance.At("kernel_models"), "provenance.kernel_models");
    kernel_models.OnlyKnown({"seed", "sources"});
    p.kernel_models_seed = kernel_models.Unsigned("seed");
    p.kernel_models_sources = SourcesFromJson(kernel_models, "sources");
    p.measure_seconds = provenance.Number("measure_seconds");
    data_set.overhead_ms = fields.Number("overhead_ms");
    if (data_set.overhead_ms < 0) Fail("overhead_ms", "must not be negative");
    data_set.overhead = PointFromJson(fields.At("overhead"), "overhead");
    const json& points = fields.Array("points");
    for (std::size_t i = 0; i < points.size(); ++i) data_set.points.push_back(PointFromJson(points[i], Item("points", i)));
    auto check_reference = [&](const KernelPoint& point, const std::string& path) {
      if (point.reference_ratio && !data_set.reference) {
        Fail(path + ".reference_ratio", "is set in a data set without a reference");
      }
      if (point.valid && data_set.reference && !point.reference_ratio) {
        Fail(path + ".reference_ratio", "is missing on a valid point of a data set with a reference");
      }
    };
    check_reference(data_set.overhead, "overhead");
    for (std::size_t i = 0; i < data_set.points.size(); ++i) check_reference(data_set.points[i], Item("points", i));
    return data_set;
  } catch (const FieldError& error) {
    return InvalidArgument(error.message);
  }
}

Expected<KernelDataSet> ReadKernelDataSet(const std::string& path) {
  return ReadJsonFile<KernelDataSet>(path, KernelDataSetFromJson);
}

KernelConfig OverheadKernelConfig() {
  return {.type = "activation", .activation = "relu", .hin = 1, .win = 1, .cin = 8};
}

KernelModelEntry OverheadEntry() { return {"overhead.onnx", "", OverheadKernelConfig()}; }

KernelConfig ReferenceKernelConfig() {
  return {.type = "conv", .activation = "relu", .hin = 28, .win = 28, .cin = 64, .cout = 64, .kernel_size = 3,
          .stride = 1, .groups = 1};
}

Expected<std::unique_ptr<GeneratedModelFile>> GeneratedModelFile::Write(const KernelConfig& config,
                                                                        const std::string& name) {
  std::string pattern = (std::filesystem::temp_directory_path() / "edgebench-kernel-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) return RuntimeError(pattern + ": cannot create a directory for " + name);
  std::unique_ptr<GeneratedModelFile> file(new GeneratedModelFile(pattern));
  file->path_ = pattern + "/" + name;
  EB_RETURN_IF_ERROR(WriteKernelModel(config, file->path_, 0));
  return file;
}

GeneratedModelFile::~GeneratedModelFile() {
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

Expected<std::optional<ReferenceScale>> ScaleToReference(std::vector<KernelDataSet>& data) {
  std::size_t with_reference = 0;
  for (const auto& set : data) with_reference += set.reference.has_value() ? 1 : 0;
  if (with_reference == 0) return std::optional<ReferenceScale>();
  if (with_reference != data.size()) {
    return InvalidArgument(std::to_string(with_reference) + " of " + std::to_string(data.size()) +
                           " data sets were measured against a reference and the others alone: their "
                           "milliseconds are not on one scale (measure them all the same way)");
  }
  std::vector<double> reference_ms;
  for (const auto& set : data) {
    if (set.reference->sha256 != data[0].reference->sha256) {
      return InvalidArgument("the data sets were measured against different reference models (" +
                             data[0].reference->sha256.substr(0, 12) + ", " + set.reference->sha256.substr(0, 12) +
                             "): measure them with one edgebench version");
    }
    for (const auto& point : set.points) {
      if (point.valid && point.reference_ms) reference_ms.push_back(*point.reference_ms);
    }
  }
  if (reference_ms.empty()) return InvalidArgument("no valid point has a reference median to scale on");
  const ReferenceScale scale{data[0].reference->sha256, ComputeLatencyStats(reference_ms).p50};
  auto rescale = [&scale](KernelPoint& point) {
    if (point.reference_ratio) point.median_ms = *point.reference_ratio * scale.median_ms;
  };
  for (auto& set : data) {
    rescale(set.overhead);
    if (set.overhead.median_ms) set.overhead_ms = *set.overhead.median_ms;
    for (auto& point : set.points) rescale(point);
  }
  return std::optional<ReferenceScale>(scale);
}

KernelPoint KernelPointFromResult(const KernelModelEntry& entry, const BenchResult& result, int attempts) {
  KernelPoint point;
  point.file = entry.file;
  point.sha256 = result.model.sha256;
  point.source = entry.source;
  point.config = entry.config;
  point.attempts = attempts;
  if (result.failure) {
    point.reasons = {result.failure->stage + ": " + result.failure->error.message};
    return point;
  }
  point.median_ms = result.latency_ms.p50;
  point.valid = result.validity.valid;
  point.reasons = result.validity.reasons;
  if (result.profile) point.layout_share = LayoutShare(*result.profile);
  return point;
}

KernelDataSetProvenance ProvenanceFromResult(const BenchResult& result, const KernelModels& models) {
  return {.device = result.device.empty() ? result.environment.hostname : result.device,
          .runtime = result.runtime_name,
          .runtime_version = result.runtime_version,
          .settings = result.settings,
          .environment = result.environment,
          .edgebench_version = kVersion,
          .created_at = result.started_at_utc,
          .kernel_models_seed = models.seed,
          .kernel_models_sources = models.sources};
}

Status CheckResumable(const KernelDataSet& previous, const std::string& device, const std::string& runtime,
                      const BenchSettings& settings, const KernelModels& models, bool against_reference) {
  const KernelDataSetProvenance& p = previous.provenance;
  if (previous.reference.has_value() != against_reference) {
    return InvalidArgument(previous.reference ? "it was measured against the reference model, not alone"
                                              : "it was measured alone, not against the reference model");
  }
  if (p.runtime != runtime) return InvalidArgument("it was measured on runtime " + p.runtime + ", not " + runtime);
  if (p.device != device) return InvalidArgument("it was measured on device " + p.device + ", not " + device);
  if (SettingsToJson(p.settings) != SettingsToJson(settings)) {
    return InvalidArgument("it was measured with other settings: " + SettingsToJson(p.settings).dump());
  }
  if (p.kernel_models_seed != models.seed || SourcesToJson(p.kernel_models_sources) != SourcesToJson(models.sources)) {
    return InvalidArgument("it was measured on other kernel models (seed " + std::to_string(p.kernel_models_seed) + ")");
  }
  return OkStatus();
}

namespace {

// A kernel model measured against the reference: the comparison [reference, kernel], again
// while its verdict is INVALID (up to repeat_invalid more times; a failure is not repeated),
// then, with a profile asked for, a short profiled run of the kernel alone for its layout share.
// `measured` receives the kernel's result in the last comparison (for the provenance).
KernelPoint MeasureAgainstReference(const KernelModelEntry& entry, const std::string& path,
                                    const std::string& reference_path, const KernelMeasureRequest& request,
                                    std::span<RunListener* const> listeners, BenchResult* measured) {
  CompareRequest compare{.variants = {{"reference", reference_path, request.runtime, request.settings},
                                      {entry.file, path, request.runtime, request.settings}},
                         .settings = request.settings,
                         .round_target_ms = request.reference_round_ms};
  compare.settings.profile_runs = 0;
  for (auto& variant : compare.variants) variant.settings.profile_runs = 0;
  KernelPoint point;
  point.file = entry.file;
  point.source = entry.source;
  point.config = entry.config;
  auto sha256 = Sha256OfFile(path);
  if (sha256.ok()) point.sha256 = *sha256;
  ComparisonResult comparison;
  while (true) {
    comparison = RunComparison(compare, listeners);
    ++point.attempts;
    if (comparison.failure || comparison.validity.valid || point.attempts > request.repeat_invalid) break;
  }
  if (comparison.failure) {
    point.reasons = {comparison.failure->stage + ": " + comparison.failure->error.message};
    return point;
  }
  const BenchResult& kernel = comparison.variants[1].result;
  if (measured) *measured = kernel;
  point.median_ms = kernel.latency_ms.p50;
  point.reference_ratio = comparison.ratios[1].estimate.median;
  point.reference_ms = comparison.variants[0].result.latency_ms.p50;
  point.valid = comparison.validity.valid;
  point.reasons = comparison.validity.reasons;
  if (request.settings.profile_runs > 0) {
    BenchSettings profiled = request.settings;
    profiled.warmup_runs = 1;
    profiled.warmup_min_ms = 0;
    profiled.min_runs = 1;
    profiled.min_duration_ms = 0;
    profiled.target_ci_percent.reset();
    const BenchResult alone = RunBenchmark({path, request.runtime, profiled}, listeners);
    if (alone.profile) point.layout_share = LayoutShare(*alone.profile);
  }
  return point;
}

}  // namespace

Expected<KernelDataSet> MeasureKernels(const KernelMeasureRequest& request, const KernelProgress& progress,
                                       std::span<RunListener* const> listeners) {
  auto models = ReadKernelModels(request.kernels_dir);
  if (!models.ok()) return models.error();
  const auto started = std::chrono::steady_clock::now();
  const bool against_reference = request.reference_round_ms > 0;
  auto overhead_model = GeneratedModelFile::Write(OverheadKernelConfig(), OverheadEntry().file);
  if (!overhead_model.ok()) return overhead_model.error();
  std::unique_ptr<GeneratedModelFile> reference_model;
  KernelDataSet data_set;
  if (against_reference) {
    auto written = GeneratedModelFile::Write(ReferenceKernelConfig(), "reference.onnx");
    if (!written.ok()) return written.error();
    reference_model = std::move(*written);
    auto sha256 = Sha256OfFile(reference_model->path());
    if (!sha256.ok()) return sha256.error();
    data_set.reference = KernelReference{*sha256, ReferenceKernelConfig()};
    if (request.resume && request.resume->reference && request.resume->reference->sha256 != *sha256) {
      return InvalidArgument("the data set to resume was measured against another reference model (" +
                             request.resume->reference->sha256.substr(0, 12) + "): measure it again without --resume");
    }
    BenchResult overhead;
    data_set.overhead = MeasureAgainstReference(OverheadEntry(), (*overhead_model)->path(), reference_model->path(),
                                                request, listeners, &overhead);
    if (!data_set.overhead.median_ms) {
      return RuntimeError("overhead model: " +
                          (data_set.overhead.reasons.empty() ? std::string("failed") : data_set.overhead.reasons[0]));
    }
    data_set.provenance = ProvenanceFromResult(overhead, *models);
    data_set.provenance.settings = request.settings;
    data_set.overhead_ms = *data_set.overhead.median_ms;
  } else {
    auto [overhead, overhead_attempts] = MeasureWithRepeats((*overhead_model)->path(), request, listeners);
    if (overhead.failure) {
      return Error{overhead.failure->error.code,
                   "overhead model: " + overhead.failure->stage + ": " + overhead.failure->error.message};
    }
    data_set.provenance = ProvenanceFromResult(overhead, *models);
    data_set.overhead = KernelPointFromResult(OverheadEntry(), overhead, overhead_attempts);
    data_set.overhead_ms = overhead.latency_ms.p50;
  }
  const double resumed_seconds = request.resume ? request.resume->provenance.measure_seconds : 0;
  auto elapsed = [&] {
    return resumed_seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  for (std::size_t i = 0; i < models->kernels.size(); ++i) {
    const KernelModelEntry& entry = models->kernels[i];
    const std::string path = (std::filesystem::path(request.kernels_dir) / entry.file).string();
    const KernelPoint* kept = nullptr;
    if (request.resume) {
      for (const auto& point : request.resume->points) {
        if (point.file == entry.file && point.valid) kept = &point;
      }
      if (kept) {
        auto sha256 = Sha256OfFile(path);
        if (!sha256.ok() || *sha256 != kept->sha256) kept = nullptr;
      }
    }
    if (kept) {
      data_set.points.push_back(*kept);
    } else if (against_reference) {
      data_set.points.push_back(
          MeasureAgainstReference(entry, path, reference_model->path(), request, listeners, nullptr));
    } else {
      auto [result, attempts] = MeasureWithRepeats(path, request, listeners);
      data_set.points.push_back(KernelPointFromResult(entry, result, attempts));
    }
    data_set.provenance.measure_seconds = elapsed();
    if (progress) progress(data_set, i, models->kernels.size());
  }
  data_set.provenance.measure_seconds = elapsed();
  return data_set;
}

}  // namespace edgebench
