#include "edgebench/settings.h"

#include <cmath>
#include <cstdio>

namespace edgebench {
namespace {

using json = nlohmann::json;

json ToJsonValue(const std::optional<double>& value) { return value ? json(*value) : json(nullptr); }

json ToJsonValue(const ShapeOverrides& shapes) {
  json object = json::object();
  for (const auto& [name, dims] : shapes) object[name] = FormatShape(dims);
  return object;
}

template <typename T>
json ToJsonValue(const T& value) {
  return json(value);
}

void FromJsonValue(const json& value, std::optional<double>& out) {
  out = value.is_null() ? std::nullopt : std::optional<double>(value.get<double>());
}

void FromJsonValue(const json& value, ShapeOverrides& out) {
  out.clear();
  for (const auto& [name, dims] : value.items()) {
    out[name] = ParseShapeArgument(name + "=" + dims.get<std::string>())->second;  // validated
  }
}

template <typename T>
void FromJsonValue(const json& value, T& out) {
  value.get_to(out);
}

// `spec` bound to the BenchSettings field `member`.
template <typename T>
SettingSpec Field(SettingSpec spec, T BenchSettings::*member) {
  spec.read = [member](const BenchSettings& settings) { return ToJsonValue(settings.*member); };
  spec.write = [member](BenchSettings& settings, const json& value) { FromJsonValue(value, settings.*member); };
  return spec;
}

constexpr double kMaxExactInteger = 9007199254740991;  // 2^53 - 1: exact in every JSON reader

// Entries name only the fields they set; the others keep their defaults (GCC 12 warns anyway).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
std::vector<SettingSpec> MakeTable() {
  using enum SettingType;
  return {
      Field({.key = "threads", .flag = "--threads", .short_flag = "-t", .type = kInt, .min = 0, .max = 1024,
             .help = "Intra-op threads (0 = runtime default)"},
            &BenchSettings::threads),
      Field({.key = "options", .flag = "--option", .short_flag = "-o", .type = kStringMap,
             .item_form = "KEY=VALUE", .help = "Runtime option KEY=VALUE (repeatable; see 'edgebench runtimes')"},
            &BenchSettings::options),
      Field({.key = "shapes", .flag = "--shape", .type = kShapeMap, .item_form = "NAME=DIMS",
             .help = "Input shape NAME=DIMS, e.g. input=1x3x224x224 (repeatable)"},
            &BenchSettings::shapes),
      Field({.key = "input_files", .flag = "--input", .type = kStringMap, .item_form = "NAME=FILE",
             .help = "Input NAME=FILE of raw little-endian data (repeatable; other inputs are random)",
             .use = SettingUse::kBenchOnly},
            &BenchSettings::input_files),
      Field({.key = "input_layouts", .flag = "--input-layout", .type = kStringMap, .item_form = "NAME=NCHW|NHWC",
             .help = "Layout of the --input file NAME (repeatable): permuted to the model's layout when the model "
                     "records the permutation (edgebench convert), refused when the layouts disagree",
             .use = SettingUse::kBenchOnly},
            &BenchSettings::input_layouts),
      Field({.key = "seed", .flag = "--seed", .type = kInt, .min = 0, .max = kMaxExactInteger,
             .help = "Seed of the random inputs"},
            &BenchSettings::seed),
      Field({.key = "warmup_runs", .flag = "--warmup-runs", .type = kInt, .unit = "runs", .min = 0, .max = 1e6,
             .help = "Minimum warm-up runs"},
            &BenchSettings::warmup_runs),
      Field({.key = "warmup_min_ms", .flag = "--warmup-min-ms", .type = kNumber, .unit = "ms", .min = 0,
             .max = 3.6e6, .help = "Minimum warm-up time"},
            &BenchSettings::warmup_min_ms),
      Field({.key = "min_runs", .flag = "--min-runs", .type = kInt, .unit = "runs", .min = 1, .max = 1e7,
             .help = "Minimum timed runs"},
            &BenchSettings::min_runs),
      Field({.key = "max_runs", .flag = "--max-runs", .type = kInt, .unit = "runs", .min = 1, .max = 1e7,
             .help = "Maximum timed runs"},
            &BenchSettings::max_runs),
      Field({.key = "min_duration_ms", .flag = "--min-duration-ms", .type = kNumber, .unit = "ms", .min = 0,
             .max = 8.64e7, .help = "Minimum time of the timed runs (default 0 with --target-ci)"},
            &BenchSettings::min_duration_ms),
      Field({.key = "max_duration_ms", .flag = "--max-duration-ms", .type = kNumber, .unit = "ms", .min = 0,
             .max = 8.64e7, .help = "Maximum time of the timed runs"},
            &BenchSettings::max_duration_ms),
      Field({.key = "target_ci_percent", .flag = "--target-ci", .type = kNumber, .unit = "%", .min = 0.01,
             .max = 50, .nullable = true,
             .help = "Adaptive: also run until the 95% CI of the median is within this percent of it"},
            &BenchSettings::target_ci_percent),
      Field({.key = "max_cv_percent", .flag = "--max-cv", .type = kNumber, .unit = "%", .min = 0, .max = 1000,
             .help = "INVALID above this robust coefficient of variation, 1.4826 x MAD / median (equals the CV "
                     "for normal data; single slow runs do not move it)"},
            &BenchSettings::max_cv_percent),
      Field({.key = "max_outlier_percent", .flag = "--max-outliers", .type = kNumber, .unit = "%", .min = 0,
             .max = 100,
             .help = "INVALID when more than this share of the runs lie beyond the median +/- 3 x 1.4826 x MAD "
                     "(and 1% of it): two clusters of run times"},
            &BenchSettings::max_outlier_percent),
      Field({.key = "max_drift_percent", .flag = "--max-drift", .type = kNumber, .unit = "%", .min = 0,
             .max = 1000, .help = "INVALID above this first-vs-last-third drift of the median"},
            &BenchSettings::max_drift_percent),
      Field({.key = "max_steal_percent", .flag = "--max-steal", .type = kNumber, .unit = "%", .min = 0, .max = 100,
             .help = "INVALID above this share of CPU time stolen by the hypervisor during the timed runs "
                     "(/proc/stat steal)"},
            &BenchSettings::max_steal_percent),
      Field({.key = "max_frequency_drop_percent", .flag = "--max-frequency-drop", .type = kNumber, .unit = "%",
             .min = 0, .max = 100,
             .help = "INVALID when the CPU clock fell by more than this during the timed runs while a thermal "
                     "zone got hotter (thermal throttling)"},
            &BenchSettings::max_frequency_drop_percent),
      Field({.key = "allow_unpinned_governor", .flag = "--allow-unpinned-governor", .type = kBool,
             .help = "Do not invalidate results when the cpufreq governor is not 'performance'"},
            &BenchSettings::allow_unpinned_governor),
      Field({.key = "verify_runtime", .flag = "--verify", .type = kString,
             .help = "After timing, run the same inputs through this reference runtime and compare outputs "
                     "(\"\" = no verification)"},
            &BenchSettings::verify_runtime),
      Field({.key = "verify_model", .flag = "--verify-model", .type = kString,
             .help = "The reference runtime's model file (\"\" = the benchmarked one), e.g. the .pt beside an .onnx",
             .use = SettingUse::kBenchOnly},
            &BenchSettings::verify_model),
      Field({.key = "verify_tolerance", .flag = "--verify-tolerance", .type = kNumber, .min = 0, .max = 1e9,
             .nullable = true, .help = "Fail (exit 3) when the max abs output error exceeds this"},
            &BenchSettings::verify_tolerance),
      Field({.key = "profile_runs", .flag = "--profile-runs", .type = kInt, .unit = "runs", .min = 0, .max = 10000,
             .help = "Runs profiled after timing with the runtime's operator profiler (0 = none; the flag needs --profile)",
             .switch_flag = "--profile", .switch_value = 20,
             .switch_help = "After timing, run the model again with the runtime's operator profiler and report "
                            "time per kernel type"},
            &BenchSettings::profile_runs),
      Field({.key = "save_outputs_dir", .flag = "--save-outputs", .type = kString, .item_form = "DIR",
             .help = "After timing, write each output of the last run to DIR as a raw little-endian file "
                     "(what --input reads) with outputs.json (\"\" = none)",
             .use = SettingUse::kBenchOnly},
            &BenchSettings::save_outputs_dir),
      {.key = "precision", .flag = "--precision", .type = kChoice, .choices = {"fp32", "fp16", "int8"},
       .help = "The precision the server converts an ONNX model to: a TFLite model for tflite and armnn, an ONNX "
               "variant (fp16, QDQ int8) for onnxruntime (docs/convert.md)",
       .use = SettingUse::kServiceOnly, .service_default = "fp32"},
      {.key = "timeout_s", .flag = "--timeout-s", .type = kNumber, .unit = "s", .min = 1, .max = 604800,
       .help = "The agent kills the benchmark after this many seconds (the task ends timed_out)",
       .use = SettingUse::kServiceOnly, .service_default = "the agent's --task-timeout"},
      {.key = "repeat_invalid", .flag = "--repeat-invalid", .type = kInt, .unit = "runs", .min = 0, .max = 10,
       .help = "The server runs the task again, up to this many times, while its result comes back INVALID; every "
               "attempt's document is kept, the first valid one (else the last) is the task's result",
       .use = SettingUse::kServiceOnly, .service_default = "the server's --repeat-invalid (0)"},
  };
}
#pragma GCC diagnostic pop

const SettingSpec* FindSetting(const std::string& key) {
  for (const auto& spec : SettingsTable()) {
    if (spec.key == key) return &spec;
  }
  return nullptr;
}

std::string FormatNumber(const SettingSpec& spec, double value) {
  char text[64];
  if (spec.type == SettingType::kInt) {
    std::snprintf(text, sizeof text, "%lld", static_cast<long long>(value));
  } else {
    std::snprintf(text, sizeof text, "%g", value);
  }
  return text;
}

std::string ChoiceList(const SettingSpec& spec) {
  std::string list;
  for (const auto& choice : spec.choices) list += (list.empty() ? "\"" : ", \"") + choice + "\"";
  return list;
}

}  // namespace

const std::vector<SettingSpec>& SettingsTable() {
  static const std::vector<SettingSpec> table = MakeTable();
  return table;
}

bool Accepts(SettingsReader reader, SettingUse use) {
  if (use == SettingUse::kBenchAndService) return true;
  return use == (reader == SettingsReader::kBench ? SettingUse::kBenchOnly : SettingUse::kServiceOnly);
}

std::string DefaultText(const SettingSpec& spec) {
  if (!spec.read) return spec.service_default;
  const json value = spec.read(BenchSettings{});
  if (value.is_null()) return "unset";
  if (value.is_number_float()) return FormatNumber(spec, value.get<double>());
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.empty()) return "";
  return value.dump();
}

Status CheckSettingValue(const SettingSpec& spec, const json& value, const std::string& name) {
  if (value.is_null() && spec.nullable) return OkStatus();
  switch (spec.type) {
    case SettingType::kInt:
    case SettingType::kNumber: {
      if (spec.type == SettingType::kInt ? !value.is_number_integer() : !value.is_number()) {
        return InvalidArgument(name + (spec.type == SettingType::kInt ? " must be an integer" : " must be a number"));
      }
      const double number = value.get<double>();
      if (!std::isfinite(number) || number < spec.min || number > spec.max) {
        return InvalidArgument(name + " is out of range [" + FormatNumber(spec, spec.min) + ", " +
                               FormatNumber(spec, spec.max) + "]: " + value.dump());
      }
      return OkStatus();
    }
    case SettingType::kBool:
      return value.is_boolean() ? OkStatus() : InvalidArgument(name + " must be a boolean");
    case SettingType::kString:
      return value.is_string() ? OkStatus() : InvalidArgument(name + " must be a string");
    case SettingType::kChoice:
      for (const auto& choice : spec.choices) {
        if (value == choice) return OkStatus();
      }
      return InvalidArgument(name + " must be one of " + ChoiceList(spec));
    case SettingType::kStringMap:
    case SettingType::kShapeMap:
      if (!value.is_object()) return InvalidArgument(name + " must be an object of strings");
      for (const auto& [item, text] : value.items()) {
        if (item.empty()) return InvalidArgument(name + " has an empty name");
        if (!text.is_string()) return InvalidArgument(name + " item '" + item + "' must be a string");
        if (spec.type == SettingType::kShapeMap) {
          auto shape = ParseShapeArgument(item + "=" + text.get<std::string>());
          if (!shape.ok()) return InvalidArgument(name + " item '" + item + "': " + shape.error().message);
        }
      }
      return OkStatus();
  }
  return OkStatus();
}

Status ValidateSettingsJson(const json& settings, SettingsReader reader) {
  if (!settings.is_object()) return InvalidArgument("settings must be a JSON object");
  for (const auto& [key, value] : settings.items()) {
    const SettingSpec* spec = FindSetting(key);
    const std::string name = "field 'settings." + key + "'";
    if (!spec) return InvalidArgument("unknown field 'settings." + key + "'");
    if (!Accepts(reader, spec->use)) {
      return InvalidArgument(name + (reader == SettingsReader::kBench
                                         ? " is for the service, not the bench (edgebench submit " + spec->flag + ")"
                                         : " names a local file: edgebench bench " + spec->flag + " only"));
    }
    EB_RETURN_IF_ERROR(CheckSettingValue(*spec, value, name));
  }
  return OkStatus();
}

json SettingsToJson(const BenchSettings& settings) {
  json object = json::object();
  for (const auto& spec : SettingsTable()) {
    if (spec.read) object[spec.key] = spec.read(settings);
  }
  return object;
}

Expected<BenchSettings> SettingsFromJson(const json& settings) {
  EB_RETURN_IF_ERROR(ValidateSettingsJson(settings, SettingsReader::kBench));
  BenchSettings result;
  for (const auto& [key, value] : settings.items()) FindSetting(key)->write(result, value);
  if (result.target_ci_percent && !settings.contains("min_duration_ms")) result.min_duration_ms = 0;
  return result;
}

json SelectSettings(const json& settings, SettingsReader reader) {
  json selected = json::object();
  for (const auto& [key, value] : settings.items()) {
    const SettingSpec* spec = FindSetting(key);
    if (spec && Accepts(reader, spec->use)) selected[key] = value;
  }
  return selected;
}

std::string SettingsMarkdownTable() {
  static const std::map<SettingType, std::string> kTypeNames = {
      {SettingType::kInt, "integer"},          {SettingType::kNumber, "number"},
      {SettingType::kBool, "boolean"},         {SettingType::kString, "string"},
      {SettingType::kChoice, "string"},        {SettingType::kStringMap, "`{\"name\": \"value\"}`"},
      {SettingType::kShapeMap, "`{\"input\": \"1x3x224x224\"}`"}};
  static const std::map<SettingUse, std::string> kUseNames = {
      {SettingUse::kBenchAndService, "bench, service"},
      {SettingUse::kBenchOnly, "bench"},
      {SettingUse::kServiceOnly, "service"}};
  std::string table =
      "| key | flag | type | unit | range | default | used by | meaning |\n"
      "|---|---|---|---|---|---|---|---|\n";
  for (const auto& spec : SettingsTable()) {
    std::string flags = "`" + spec.flag + "`";
    if (!spec.short_flag.empty()) flags = "`" + spec.short_flag + "`, " + flags;
    if (!spec.switch_flag.empty()) {
      flags += "; `" + spec.switch_flag + "` = `" + spec.flag + " " + std::to_string(spec.switch_value) + "`";
    }
    std::string range;
    if (spec.type == SettingType::kInt || spec.type == SettingType::kNumber) {
      range = FormatNumber(spec, spec.min) + " to " + FormatNumber(spec, spec.max);
    } else if (spec.type == SettingType::kChoice) {
      range = ChoiceList(spec);
    }
    if (spec.nullable) range += (range.empty() ? "" : "; ") + std::string("null = unset");
    std::string default_text = DefaultText(spec);
    if (spec.read && !default_text.empty() && default_text != "unset") default_text = "`" + default_text + "`";
    table += "| `" + spec.key + "` | " + flags + " | " + kTypeNames.at(spec.type) + " | " + spec.unit + " | " +
             range + " | " + default_text + " | " + kUseNames.at(spec.use) + " | " + spec.help + " |\n";
  }
  return table;
}

}  // namespace edgebench
