// What a benchmark run is asked to do, and the one table that declares every setting.
//
// BenchSettings is plain data with defaults; units are in the names. SettingsTable() lists each
// setting once (JSON key, CLI flag, type, unit, range, help, who uses it); the `bench`, `submit`
// and `job` flags, the server's validation of a task's `settings`, the result document's
// `settings` and the settings table of the docs (docs/settings.md) are all produced from it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "edgebench/backend.h"
#include "edgebench/status.h"
#include "edgebench/tensor.h"

namespace edgebench {

struct BenchSettings {
  // Warm-up: runs until both the count and the time are reached (not recorded as samples).
  int warmup_runs = 5;
  double warmup_min_ms = 200;
  // Timed runs: until both the count and the duration are reached, capped by max_duration_ms.
  int min_runs = 30;
  double min_duration_ms = 1000;
  double max_duration_ms = 60000;
  int max_runs = 100000;  // bounds memory for very fast models (the null backend)
  // Adaptive mode: also continue until the 95% CI of the median is within this percent of it.
  std::optional<double> target_ci_percent;

  // Validity thresholds.
  double max_cv_percent = 10;     // robust CV (1.4826 x MAD / median) above this is unstable
  double max_outlier_percent = 10;  // share of outlier runs above this: two clusters
  double max_drift_percent = 5;   // last-third vs first-third median difference (throttling)
  double max_steal_percent = 5;   // CPU time stolen by the hypervisor during the timed runs
  double max_frequency_drop_percent = 10;  // CPU clock drop while the temperature rose
  bool allow_unpinned_governor = false;  // false: a known, non-"performance" cpufreq governor invalidates

  int threads = 0;  // intra-op threads; 0 = runtime default
  BackendOptions options;
  ShapeOverrides shapes;
  std::map<std::string, std::string> input_files;  // input name -> raw file; others random
  // input name -> layout of its file ("NCHW", "NHWC"); permuted to the model's layout when the
  // model records how (tensor_layout.h), refused when the layouts disagree otherwise.
  std::map<std::string, std::string> input_layouts;
  uint64_t seed = 0;  // seed of the random inputs

  // Output verification after the timed runs: the same inputs through a reference runtime.
  std::string verify_runtime;               // "" = no verification
  std::string verify_model;                 // reference's model file; "" = the same file
  std::optional<double> verify_tolerance;   // max abs error above this fails the result

  // Operator profile after the timed runs: this many extra runs with the runtime's profiler on
  // (never during the timed runs: profilers perturb timing). 0 = no profile.
  int profile_runs = 0;

  // Directory to write the outputs of the last timed run to ("" = none): raw files as --input
  // reads them, and outputs.json.
  std::string save_outputs_dir;
};

// The JSON form of each type: kInt/kNumber a JSON number (kInt: an integer), kBool a boolean,
// kString/kChoice a string, kStringMap {"name": "value"}, kShapeMap {"input": "1x3x224x224"}.
enum class SettingType { kInt, kNumber, kBool, kString, kChoice, kStringMap, kShapeMap };

// Who reads a setting.
enum class SettingUse {
  kBenchAndService,  // a field of BenchSettings; `bench` and `submit`/`job` flags, the server, results
  kBenchOnly,        // a field of BenchSettings naming a local file: `bench` and results, not the service
  kServiceOnly,      // not a bench setting: the server (precision) or the agent (timeout_s) acts on it
};

// The readers of a settings object: `edgebench bench` (its flags and --settings FILE) and the
// service (the server's validation of a task, the `submit`/`job` flags).
enum class SettingsReader { kBench, kService };

struct SettingSpec {
  std::string key;         // JSON key
  std::string flag;        // long CLI flag, e.g. "--min-runs"
  std::string short_flag;  // e.g. "-t"; "" = none
  SettingType type = SettingType::kInt;
  std::string unit;        // "ms", "%", "s", ... ("" = none)
  double min = 0, max = 0;            // inclusive range of kInt and kNumber (finite)
  std::vector<std::string> choices;   // kChoice
  std::string item_form;   // kStringMap/kShapeMap: one item as a flag takes it, e.g. "KEY=VALUE"
  bool nullable = false;   // JSON null means "not set" (an optional of BenchSettings)
  std::string help;        // one line, for --help and the docs
  SettingUse use = SettingUse::kBenchAndService;
  // A bare CLI switch that sets the value: `--profile` = `--profile-runs 20`. The value flag then
  // refines the switch and needs it.
  std::string switch_flag;
  int64_t switch_value = 0;
  std::string switch_help;
  std::string service_default;  // kServiceOnly: what applies when absent, in words
  // The BenchSettings field (not for kServiceOnly); `write` takes a validated value.
  std::function<nlohmann::json(const BenchSettings&)> read;
  std::function<void(BenchSettings&, const nlohmann::json&)> write;
};

// Every setting, in the order of --help and the docs.
const std::vector<SettingSpec>& SettingsTable();

bool Accepts(SettingsReader reader, SettingUse use);

// The default in words for --help and the docs: "200", "unset", "fp32"; "" for an empty string or map.
std::string DefaultText(const SettingSpec& spec);

// Checks one value against its spec: type, range, choice, map items. `name` names it in the
// error, e.g. "field 'settings.threads'" or "--threads".
Status CheckSettingValue(const SettingSpec& spec, const nlohmann::json& value, const std::string& name);

// Checks a settings object for `reader`: every key known and used by it, every value valid.
// Errors name the field ("field 'settings.threads' is out of range [0, 1024]").
Status ValidateSettingsJson(const nlohmann::json& settings, SettingsReader reader);

// The settings object of a run (every key of the bench's settings; null for an unset optional).
nlohmann::json SettingsToJson(const BenchSettings& settings);

// A BenchSettings from a settings object valid for SettingsReader::kBench; absent keys keep their
// defaults, except that min_duration_ms defaults to 0 when target_ci_percent is set (the
// confidence interval decides how long to run).
Expected<BenchSettings> SettingsFromJson(const nlohmann::json& settings);

// The keys of `settings` that `reader` accepts (the agent hands the bench its part of a task's).
nlohmann::json SelectSettings(const nlohmann::json& settings, SettingsReader reader);

// The docs' table of settings (markdown), as docs/settings.md holds it.
std::string SettingsMarkdownTable();

}  // namespace edgebench
