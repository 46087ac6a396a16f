#include "edgebench/result_json.h"

#include <cmath>
#include <map>

namespace edgebench {

using nlohmann::json;

namespace {

std::optional<DataType> DataTypeFromName(const std::string& name) {
  for (auto type : {DataType::kFloat32, DataType::kFloat16, DataType::kFloat64, DataType::kInt8,
                    DataType::kUInt8, DataType::kInt16, DataType::kInt32, DataType::kInt64,
                    DataType::kBool}) {
    if (DataTypeName(type) == name) return type;
  }
  return std::nullopt;
}

template <typename Enum, typename NameOf>
Enum EnumFromName(const std::string& name, std::initializer_list<Enum> values, NameOf name_of) {
  for (Enum value : values) {
    if (name_of(value) == name) return value;
  }
  throw std::invalid_argument("unknown value '" + name + "'");
}

StopReason StopReasonFromJson(const json& name) {
  return EnumFromName(name.get<std::string>(),
                      {StopReason::kNotStarted, StopReason::kReachedMinimums, StopReason::kReachedTargetCi,
                       StopReason::kMaxRuns, StopReason::kMaxDuration, StopReason::kFailed},
                      StopReasonName);
}

json ValidityToJson(const Validity& v) {
  return {{"valid", v.valid}, {"reasons", v.reasons}, {"warnings", v.warnings}};
}

Validity ValidityFromJson(const json& j) {
  Validity v;
  j.at("valid").get_to(v.valid);
  j.at("reasons").get_to(v.reasons);
  j.at("warnings").get_to(v.warnings);
  return v;
}

// The document's `error`: null, or the failure (runtime_log "" when the document has none).
json FailureToJson(const std::optional<RunFailure>& failure) {
  if (!failure) return nullptr;
  return {{"stage", failure->stage},
          {"code", ErrorCodeName(failure->error.code)},
          {"message", failure->error.message},
          {"runtime_log", failure->runtime_log}};
}

std::optional<RunFailure> FailureFromJson(const json& e) {
  if (e.is_null()) return std::nullopt;
  const ErrorCode code = EnumFromName(e.at("code").get<std::string>(),
                                      {ErrorCode::kInvalidArgument, ErrorCode::kNotFound, ErrorCode::kBadModel,
                                       ErrorCode::kUnsupported, ErrorCode::kRuntimeError, ErrorCode::kInternal},
                                      ErrorCodeName);
  return RunFailure{e.at("stage").get<std::string>(), {code, e.at("message").get<std::string>()},
                    e.value("runtime_log", std::string())};
}

json SpecsToJson(const std::vector<TensorSpec>& specs) {
  json list = json::array();
  for (const auto& spec : specs) list.push_back(ToJson(spec));
  return list;
}

std::vector<TensorSpec> SpecsFromJson(const json& list) {
  std::vector<TensorSpec> specs;
  for (const auto& item : list) {
    TensorSpec spec;
    spec.name = item.at("name").get<std::string>();
    auto type = DataTypeFromName(item.at("type").get<std::string>());
    if (!type) throw std::invalid_argument("unknown tensor type " + item.at("type").dump());
    spec.type = *type;
    spec.rank_known = !item.at("shape").is_null();
    if (spec.rank_known) spec.shape = item.at("shape").get<std::vector<int64_t>>();
    specs.push_back(std::move(spec));
  }
  return specs;
}

// A result document's settings in the current form. Documents older than the settings table
// wrote shapes as dims arrays, the governor setting as require_pinned_governor, and the runtime
// options only under runtime.options.
json CurrentSettingsForm(json settings, const json& runtime_options) {
  if (settings.contains("require_pinned_governor")) {
    settings["allow_unpinned_governor"] = !settings["require_pinned_governor"].get<bool>();
    settings.erase("require_pinned_governor");
  }
  if (settings.contains("shapes")) {
    for (auto& [name, dims] : settings["shapes"].items()) {
      if (dims.is_array()) dims = FormatShape(dims.get<std::vector<int64_t>>());
    }
  }
  if (!settings.contains("options")) settings["options"] = runtime_options;
  return settings;
}

json VerificationToJson(const Verification& v) {
  json outputs = json::array();
  for (const auto& o : v.outputs) {
    outputs.push_back({{"name", o.name},
                       {"elements", o.elements},
                       {"max_abs_error", o.max_abs_error},
                       {"max_rel_error", o.max_rel_error},
                       {"top1_agreement", o.top1_agreement ? json(*o.top1_agreement) : json(nullptr)}});
  }
  return {{"reference_runtime", v.reference_runtime},
          {"reference_version", v.reference_version},
          {"reference_model", v.reference_model},
          {"outputs", outputs},
          {"input_permutations", v.input_permutations},
          {"output_permutations", v.output_permutations},
          {"max_abs_error", v.max_abs_error},
          {"tolerance", v.tolerance ? json(*v.tolerance) : json(nullptr)},
          {"passed", v.passed}};
}

Verification VerificationFromJson(const json& j) {
  Verification v;
  j.at("reference_runtime").get_to(v.reference_runtime);
  j.at("reference_version").get_to(v.reference_version);
  j.at("reference_model").get_to(v.reference_model);
  for (const auto& o : j.at("outputs")) {
    OutputComparison c;
    o.at("name").get_to(c.name);
    o.at("elements").get_to(c.elements);
    o.at("max_abs_error").get_to(c.max_abs_error);
    o.at("max_rel_error").get_to(c.max_rel_error);
    if (!o.at("top1_agreement").is_null()) c.top1_agreement = o["top1_agreement"].get<double>();
    v.outputs.push_back(std::move(c));
  }
  // Absent in documents written before layouts were carried across.
  if (j.contains("input_permutations")) j["input_permutations"].get_to(v.input_permutations);
  if (j.contains("output_permutations")) j["output_permutations"].get_to(v.output_permutations);
  j.at("max_abs_error").get_to(v.max_abs_error);
  if (!j.at("tolerance").is_null()) v.tolerance = j["tolerance"].get<double>();
  j.at("passed").get_to(v.passed);
  return v;
}

json ProfileToJson(const OpProfile& profile, const std::vector<KernelTypeShare>& by_type,
                   const std::vector<ProviderShare>& by_provider) {
  json kernels = json::array();
  for (const auto& k : profile.kernels) {
    kernels.push_back({{"kernel_name", k.kernel_name},
                       {"kernel_type", k.kernel_type},
                       {"source_nodes", k.source_nodes},
                       {"provider", k.provider},
                       {"fused_into", k.fused_into},
                       {"total_ms", k.total_ms},
                       {"calls", k.calls}});
  }
  json types = json::array();
  for (const auto& t : by_type) {
    types.push_back({{"kernel_type", t.kernel_type},
                     {"kernels", t.kernels},
                     {"ms_per_inference", t.ms_per_inference},
                     {"share", t.share}});
  }
  json providers = json::array();
  for (const auto& p : by_provider) providers.push_back({{"provider", p.provider}, {"kernels", p.kernels}, {"share", p.share}});
  return {{"source", profile.source},
          {"profiled_runs", profile.profiled_runs},
          {"kernels", kernels},
          {"by_kernel_type", types},
          {"by_provider", providers}};
}

json OpTypeCountsToJson(const std::vector<OpTypeCount>& entries) {
  json list = json::array();
  for (const auto& e : entries) list.push_back({{"op_type", e.op_type}, {"count", e.count}});
  return list;
}

std::vector<OpTypeCount> OpTypeCountsFromJson(const json& list) {
  std::vector<OpTypeCount> entries;
  for (const auto& e : list) entries.push_back({e.at("op_type").get<std::string>(), e.at("count").get<int64_t>()});
  return entries;
}

json FusionToJson(const FusionMap& fusion) {
  json patterns = json::array();
  for (const auto& p : fusion.patterns) {
    patterns.push_back({{"source_op_types", p.source_op_types},
                        {"pattern", PatternName(p)},
                        {"kernel_type", p.kernel_type},
                        {"kernels", p.kernels}});
  }
  return {{"source_nodes", fusion.source_nodes},
          {"kernels", fusion.kernels},
          {"patterns", patterns},
          {"removed", OpTypeCountsToJson(fusion.removed)},
          {"added", OpTypeCountsToJson(fusion.added)}};
}

FusionMap FusionFromJson(const json& j) {
  FusionMap fusion;
  j.at("source_nodes").get_to(fusion.source_nodes);
  j.at("kernels").get_to(fusion.kernels);
  for (const auto& p : j.at("patterns")) {
    FusionPattern& pattern = fusion.patterns.emplace_back();
    p.at("source_op_types").get_to(pattern.source_op_types);
    p.at("kernel_type").get_to(pattern.kernel_type);
    p.at("kernels").get_to(pattern.kernels);
  }
  fusion.removed = OpTypeCountsFromJson(j.at("removed"));
  fusion.added = OpTypeCountsFromJson(j.at("added"));
  return fusion;
}

OpProfile ProfileFromJson(const json& j) {
  OpProfile profile;
  j.at("source").get_to(profile.source);
  j.at("profiled_runs").get_to(profile.profiled_runs);
  for (const auto& k : j.at("kernels")) {
    OpEvent& event = profile.kernels.emplace_back();
    k.at("kernel_name").get_to(event.kernel_name);
    k.at("kernel_type").get_to(event.kernel_type);
    k.at("source_nodes").get_to(event.source_nodes);
    k.at("provider").get_to(event.provider);
    k.at("fused_into").get_to(event.fused_into);
    k.at("total_ms").get_to(event.total_ms);
    k.at("calls").get_to(event.calls);
  }
  return profile;
}

std::vector<KernelTypeShare> KernelTypeSharesFromJson(const json& list) {
  std::vector<KernelTypeShare> shares;
  for (const auto& t : list) {
    KernelTypeShare& share = shares.emplace_back();
    t.at("kernel_type").get_to(share.kernel_type);
    t.at("kernels").get_to(share.kernels);
    t.at("ms_per_inference").get_to(share.ms_per_inference);
    t.at("share").get_to(share.share);
  }
  return shares;
}

json Nullable(const std::optional<double>& value) { return value ? json(*value) : json(nullptr); }

template <typename T>
void ReadNullable(const json& j, const char* key, std::optional<T>& out) {
  if (!j.at(key).is_null()) out = j[key].get<T>();
}

json InterferenceToJson(const Interference& i) {
  json zones = json::array();
  for (const auto& z : i.thermal_zones) {
    zones.push_back({{"zone", z.zone}, {"type", z.type}, {"start_c", z.start_c}, {"max_c", z.max_c}, {"end_c", z.end_c}});
  }
  json power = json::array();
  for (const auto& p : i.power) {
    power.push_back({{"sensor", p.sensor},
                     {"average_w", p.average_w},
                     {"energy_per_inference_mj", Nullable(p.energy_per_inference_mj)}});
  }
  json throttled = nullptr;
  if (i.throttled_flags) throttled = {{"flags", *i.throttled_flags}, {"names", ThrottledFlagNames(*i.throttled_flags)}};
  return {{"sample_period_ms", i.sample_period_ms},
          {"samples", i.samples},
          {"steal_percent", Nullable(i.steal_percent)},
          {"iowait_percent", Nullable(i.iowait_percent)},
          {"voluntary_context_switches", i.voluntary_context_switches},
          {"involuntary_context_switches", i.involuntary_context_switches},
          {"cpu_frequency_min_mhz", Nullable(i.cpu_frequency_min_mhz)},
          {"cpu_frequency_max_mhz", Nullable(i.cpu_frequency_max_mhz)},
          {"thermal_frequency_drop_percent", Nullable(i.thermal_frequency_drop_percent)},
          {"thermal_zones", zones},
          {"throttled", throttled},
          {"throttle_events", i.throttle_events ? json(*i.throttle_events) : json(nullptr)},
          {"power", power}};
}

Interference InterferenceFromJson(const json& j) {
  Interference i;
  j.at("sample_period_ms").get_to(i.sample_period_ms);
  j.at("samples").get_to(i.samples);
  ReadNullable(j, "steal_percent", i.steal_percent);
  ReadNullable(j, "iowait_percent", i.iowait_percent);
  j.at("voluntary_context_switches").get_to(i.voluntary_context_switches);
  j.at("involuntary_context_switches").get_to(i.involuntary_context_switches);
  ReadNullable(j, "cpu_frequency_min_mhz", i.cpu_frequency_min_mhz);
  ReadNullable(j, "cpu_frequency_max_mhz", i.cpu_frequency_max_mhz);
  ReadNullable(j, "thermal_frequency_drop_percent", i.thermal_frequency_drop_percent);
  for (const auto& z : j.at("thermal_zones")) {
    i.thermal_zones.push_back({z.at("zone").get<std::string>(), z.at("type").get<std::string>(),
                               z.at("start_c").get<double>(), z.at("max_c").get<double>(), z.at("end_c").get<double>()});
  }
  if (!j.at("throttled").is_null()) i.throttled_flags = j["throttled"].at("flags").get<uint32_t>();
  ReadNullable(j, "throttle_events", i.throttle_events);
  for (const auto& p : j.at("power")) {
    PowerSummary& power = i.power.emplace_back();
    p.at("sensor").get_to(power.sensor);
    p.at("average_w").get_to(power.average_w);
    ReadNullable(p, "energy_per_inference_mj", power.energy_per_inference_mj);
  }
  return i;
}

json MemoryToJson(const MemoryUse& m) {
  return {{"rss_before_load_bytes", m.rss_before_load_bytes},
          {"rss_after_load_bytes", m.rss_after_load_bytes},
          {"peak_rss_timed_bytes", m.peak_rss_timed_bytes},
          {"peak_reset", m.peak_reset},
          {"load_delta_bytes", m.load_delta_bytes()},
          {"inference_delta_bytes", m.inference_delta_bytes()}};
}

MemoryUse MemoryFromJson(const json& j) {
  MemoryUse m;
  j.at("rss_before_load_bytes").get_to(m.rss_before_load_bytes);
  j.at("rss_after_load_bytes").get_to(m.rss_after_load_bytes);
  j.at("peak_rss_timed_bytes").get_to(m.peak_rss_timed_bytes);
  j.at("peak_reset").get_to(m.peak_reset);
  return m;
}

// Every count in a document is read into an integer, and converting a JSON float outside an
// integer's range is undefined behaviour (a result upload with "size_bytes": 4.5e103 was one,
// found by fuzzing). Documents write counts as JSON integers, and no float field comes near
// 2^31, so any float beyond it is refused, naming where it is.
Status CheckFloatsFitIntegers(const json& j, const std::string& where) {
  constexpr double kLimit = 2147483647.0;
  if (j.is_number_float()) {
    if (!(std::abs(j.get<double>()) <= kLimit)) {
      return InvalidArgument(where + ": " + j.dump() + " is out of range (a number with a fraction or exponent must lie within +-2^31; write counts as integers)");
    }
  } else if (j.is_object()) {
    for (const auto& [key, value] : j.items()) {
      if (auto status = CheckFloatsFitIntegers(value, where + "/" + key); !status.ok()) return status;
    }
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) {
      if (auto status = CheckFloatsFitIntegers(j[i], where + "/" + std::to_string(i)); !status.ok()) return status;
    }
  }
  return OkStatus();
}

}  // namespace

json ToJson(const TensorSpec& spec) {
  return {{"name", spec.name},
          {"type", DataTypeName(spec.type)},
          {"shape", spec.rank_known ? json(spec.shape) : json(nullptr)}};
}

json ToJson(const Environment& e) {
  return {{"hostname", e.hostname},
          {"os", e.os},
          {"architecture", e.architecture},
          {"cpu_model", e.cpu_model},
          {"logical_cores", e.logical_cores},
          {"usable_cores", e.usable_cores},
          {"cpu_governor", e.cpu_governor},
          {"cpu_frequency_mhz", e.cpu_frequency_mhz},
          {"cpu_max_frequency_mhz", e.cpu_max_frequency_mhz},
          {"load_average_1m", e.load_average_1m},
          {"memory_total_bytes", e.memory_total_bytes},
          {"memory_available_bytes", e.memory_available_bytes},
          {"container", e.container},
          {"edgebench_version", e.edgebench_version},
          {"edgebench_commit", e.edgebench_commit}};
}

Environment EnvironmentFromJson(const json& j) {
  Environment e;
  j.at("hostname").get_to(e.hostname);
  j.at("os").get_to(e.os);
  j.at("architecture").get_to(e.architecture);
  j.at("cpu_model").get_to(e.cpu_model);
  j.at("logical_cores").get_to(e.logical_cores);
  j.at("usable_cores").get_to(e.usable_cores);
  j.at("cpu_governor").get_to(e.cpu_governor);
  j.at("cpu_frequency_mhz").get_to(e.cpu_frequency_mhz);
  j.at("cpu_max_frequency_mhz").get_to(e.cpu_max_frequency_mhz);
  j.at("load_average_1m").get_to(e.load_average_1m);
  j.at("memory_total_bytes").get_to(e.memory_total_bytes);
  j.at("memory_available_bytes").get_to(e.memory_available_bytes);
  j.at("container").get_to(e.container);
  j.at("edgebench_version").get_to(e.edgebench_version);
  j.at("edgebench_commit").get_to(e.edgebench_commit);
  return e;
}

json ToJson(const AccuracyCost& cost) {
  return {{"runtime", cost.runtime},
          {"reference_runtime", cost.reference_runtime},
          {"inputs", cost.inputs},
          {"samples", cost.samples},
          {"max_abs_error", cost.max_abs_error},
          {"mean_abs_error", cost.mean_abs_error},
          {"max_rel_error", cost.max_rel_error},
          {"top1_agreement", cost.top1_agreement ? json(*cost.top1_agreement) : json(nullptr)}};
}

AccuracyCost AccuracyCostFromJson(const json& j) {
  AccuracyCost cost;
  j.at("runtime").get_to(cost.runtime);
  j.at("reference_runtime").get_to(cost.reference_runtime);
  j.at("inputs").get_to(cost.inputs);
  j.at("samples").get_to(cost.samples);
  j.at("max_abs_error").get_to(cost.max_abs_error);
  j.at("mean_abs_error").get_to(cost.mean_abs_error);
  j.at("max_rel_error").get_to(cost.max_rel_error);
  if (!j.at("top1_agreement").is_null()) cost.top1_agreement = j["top1_agreement"].get<double>();
  return cost;
}

json ToJson(const ConversionInfo& c) {
  return {{"source_model", c.source_model},
          {"source_sha256", c.source_sha256},
          {"target", c.target},
          {"precision", c.precision},
          {"converter_version", c.converter_version},
          {"accuracy", c.accuracy ? ToJson(*c.accuracy) : json(nullptr)}};
}

json ToJson(const BenchResult& r) {
  const auto& l = r.latency_ms;
  json document = {
      {"schema", kResultSchema},
      {"started_at", r.started_at_utc},
      {"model",
       {{"path", r.model.path},
        {"sha256", r.model.sha256},
        {"format", ModelFormatName(r.model.format)},
        {"size_bytes", r.model.size_bytes},
        {"params", r.model_cost ? json(r.model_cost->params) : json(nullptr)},
        {"macs", r.model_cost ? json(r.model_cost->macs) : json(nullptr)},
        {"flops", r.model_cost ? json(r.model_cost->flops) : json(nullptr)}}},
      {"runtime", {{"name", r.runtime_name}, {"version", r.runtime_version}, {"options", r.runtime_options}}},
      {"device", r.device},
      {"environment", ToJson(r.environment)},
      {"settings", SettingsToJson(r.settings)},
      {"inputs", SpecsToJson(r.inputs)},
      {"outputs", SpecsToJson(r.outputs)},
      {"load_ms", r.load_ms},
      {"first_inference_ms", r.first_inference_ms},
      {"warmup", {{"runs", r.warmup_runs}, {"ms", r.warmup_ms}}},
      {"measure_ms", r.measure_ms},
      {"stop_reason", StopReasonName(r.stop_reason)},
      {"latency_ms",
       {{"mean", l.mean}, {"std", l.std}, {"min", l.min}, {"max", l.max}, {"p50", l.p50},
        {"p90", l.p90}, {"p95", l.p95}, {"p99", l.p99}, {"cv", l.cv},
        {"median_ci95", {l.median_ci95_low, l.median_ci95_high}}, {"mad", l.mad},
        {"robust_cv", l.robust_cv}, {"outliers", l.outliers}}},
      {"runs", r.samples_ms.size()},
      {"samples_ms", r.samples_ms},
      {"validity", ValidityToJson(r.validity)},
      {"peak_rss_bytes", r.peak_rss_bytes},
      {"memory", r.memory ? MemoryToJson(*r.memory) : json(nullptr)},
      {"interference", r.interference ? InterferenceToJson(*r.interference) : json(nullptr)},
      {"verification", r.verification ? VerificationToJson(*r.verification) : json(nullptr)},
      {"profile", r.profile ? ProfileToJson(*r.profile, r.profile_by_type, r.profile_by_provider) : json(nullptr)},
      {"fusion", r.fusion ? FusionToJson(*r.fusion) : json(nullptr)},
      {"conversion", r.conversion ? ToJson(*r.conversion) : json(nullptr)},
      {"error", FailureToJson(r.failure)}};
  return document;
}

Expected<BenchResult> BenchResultFromJson(const json& j) {
  try {
    if (!j.is_object()) return InvalidArgument("result document is not a JSON object");
    if (auto status = CheckFloatsFitIntegers(j, "result document "); !status.ok()) return status.error();
    const auto schema = j.at("schema").get<std::string>();
    if (schema != kResultSchema) {
      return InvalidArgument("result schema '" + schema + "' is not " + kResultSchema);
    }
    BenchResult r;
    j.at("started_at").get_to(r.started_at_utc);
    const auto& model = j.at("model");
    model.at("path").get_to(r.model.path);
    model.at("sha256").get_to(r.model.sha256);
    model.at("size_bytes").get_to(r.model.size_bytes);
    if (model.contains("flops") && !model["flops"].is_null()) {
      r.model_cost = ModelCost{model.at("params").get<int64_t>(), model.at("macs").get<int64_t>(),
                               model.at("flops").get<int64_t>()};
    }
    r.model.format = EnumFromName(
        model.at("format").get<std::string>(),
        {ModelFormat::kOnnx, ModelFormat::kTflite, ModelFormat::kTorchScript, ModelFormat::kTensorFlowPb,
         ModelFormat::kCaffe, ModelFormat::kDarknet, ModelFormat::kUnknown},
        ModelFormatName);
    const auto& runtime = j.at("runtime");
    runtime.at("name").get_to(r.runtime_name);
    runtime.at("version").get_to(r.runtime_version);
    runtime.at("options").get_to(r.runtime_options);
    r.device = j.value("device", "");  // absent in documents older than the key
    r.environment = EnvironmentFromJson(j.at("environment"));
    auto settings = SettingsFromJson(CurrentSettingsForm(j.at("settings"), r.runtime_options));
    if (!settings.ok()) return InvalidArgument("result document: " + settings.error().message);
    r.settings = std::move(*settings);
    r.inputs = SpecsFromJson(j.at("inputs"));
    r.outputs = SpecsFromJson(j.at("outputs"));
    j.at("load_ms").get_to(r.load_ms);
    j.at("first_inference_ms").get_to(r.first_inference_ms);
    j.at("warmup").at("runs").get_to(r.warmup_runs);
    j.at("warmup").at("ms").get_to(r.warmup_ms);
    j.at("measure_ms").get_to(r.measure_ms);
    r.stop_reason = StopReasonFromJson(j.at("stop_reason"));
    const auto& l = j.at("latency_ms");
    l.at("mean").get_to(r.latency_ms.mean);
    l.at("std").get_to(r.latency_ms.std);
    l.at("min").get_to(r.latency_ms.min);
    l.at("max").get_to(r.latency_ms.max);
    l.at("p50").get_to(r.latency_ms.p50);
    l.at("p90").get_to(r.latency_ms.p90);
    l.at("p95").get_to(r.latency_ms.p95);
    l.at("p99").get_to(r.latency_ms.p99);
    l.at("cv").get_to(r.latency_ms.cv);
    l.at("median_ci95").at(0).get_to(r.latency_ms.median_ci95_low);
    l.at("median_ci95").at(1).get_to(r.latency_ms.median_ci95_high);
    j.at("samples_ms").get_to(r.samples_ms);
    r.latency_ms.count = r.samples_ms.size();
    if (l.contains("mad")) {
      l.at("mad").get_to(r.latency_ms.mad);
      l.at("robust_cv").get_to(r.latency_ms.robust_cv);
      l.at("outliers").get_to(r.latency_ms.outliers);
    } else {  // documents older than the keys: from the samples
      const LatencyStats robust = ComputeLatencyStats(r.samples_ms);
      r.latency_ms.mad = robust.mad;
      r.latency_ms.robust_cv = robust.robust_cv;
      r.latency_ms.outliers = robust.outliers;
    }
    if (j.at("runs").get<std::size_t>() != r.samples_ms.size()) {
      return InvalidArgument("result document: 'runs' does not match the number of samples");
    }
    r.validity = ValidityFromJson(j.at("validity"));
    j.at("peak_rss_bytes").get_to(r.peak_rss_bytes);
    // Absent in documents older than the keys.
    if (j.contains("memory") && !j["memory"].is_null()) r.memory = MemoryFromJson(j["memory"]);
    if (j.contains("interference") && !j["interference"].is_null()) {
      r.interference = InterferenceFromJson(j["interference"]);
    }
    if (!j.at("verification").is_null()) r.verification = VerificationFromJson(j["verification"]);
    // Absent in documents older than the key; null for a model the server did not convert.
    if (j.contains("conversion") && !j["conversion"].is_null()) {
      const json& c = j["conversion"];
      ConversionInfo conversion;
      c.at("source_model").get_to(conversion.source_model);
      c.at("source_sha256").get_to(conversion.source_sha256);
      c.at("target").get_to(conversion.target);
      c.at("precision").get_to(conversion.precision);
      c.at("converter_version").get_to(conversion.converter_version);
      if (!c.at("accuracy").is_null()) conversion.accuracy = AccuracyCostFromJson(c["accuracy"]);
      r.conversion = std::move(conversion);
    }
    // Absent in documents older than the key, which had no profiles.
    if (j.contains("profile") && !j["profile"].is_null()) {
      r.profile = ProfileFromJson(j["profile"]);
      r.profile_by_type = KernelTypeSharesFromJson(j["profile"].at("by_kernel_type"));
      // Absent in documents older than the key: recomputed from the kernels.
      r.profile_by_provider = SummarizeByProvider(*r.profile);
      if (j["profile"].contains("by_provider")) {
        r.profile_by_provider.clear();
        for (const auto& p : j["profile"]["by_provider"]) {
          // "share" is absent in documents older than the key.
          r.profile_by_provider.push_back({p.at("provider").get<std::string>(),
                                           p.at("kernels").get<int64_t>(), p.value("share", 0.0)});
        }
      }
    }
    // Absent in documents older than the key.
    if (j.contains("fusion") && !j["fusion"].is_null()) r.fusion = FusionFromJson(j["fusion"]);
    r.failure = FailureFromJson(j.at("error"));
    return r;
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("malformed result document: ") + e.what());
  }
}

json ToJson(const ComparisonResult& c) {
  json variants = json::array();
  for (const auto& variant : c.variants) {
    variants.push_back({{"label", variant.label}, {"runs_per_round", variant.runs_per_round},
                        {"result", ToJson(variant.result)}});
  }
  json ratios = json::array();
  for (const auto& ratio : c.ratios) {
    ratios.push_back({{"label", ratio.label},
                      {"median", ratio.estimate.median},
                      {"ci95", {ratio.estimate.ci95.low, ratio.estimate.ci95.high}},
                      {"ci95_half_width_percent", ratio.estimate.HalfWidthPercent()},
                      {"rounds", ratio.estimate.rounds}});
  }
  json document = {
      {"schema", kComparisonSchema},
      {"started_at", c.started_at_utc},
      {"device", c.device},
      {"environment", ToJson(c.environment)},
      {"settings", SettingsToJson(c.settings)},
      {"round_target_ms", c.round_target_ms},
      {"rounds", c.rounds},
      {"measure_ms", c.measure_ms},
      {"stop_reason", StopReasonName(c.stop_reason)},
      {"interference", c.interference ? InterferenceToJson(*c.interference) : json(nullptr)},
      {"variants", variants},
      {"ratios", ratios},
      {"validity", ValidityToJson(c.validity)},
      {"error", FailureToJson(c.failure)}};
  return document;
}

Expected<ComparisonResult> ComparisonFromJson(const json& j) {
  try {
    if (!j.is_object()) return InvalidArgument("comparison document is not a JSON object");
    if (auto status = CheckFloatsFitIntegers(j, "comparison document "); !status.ok()) return status.error();
    const auto schema = j.at("schema").get<std::string>();
    if (schema != kComparisonSchema) {
      return InvalidArgument("comparison schema '" + schema + "' is not " + kComparisonSchema);
    }
    ComparisonResult c;
    j.at("started_at").get_to(c.started_at_utc);
    j.at("device").get_to(c.device);
    c.environment = EnvironmentFromJson(j.at("environment"));
    auto settings = SettingsFromJson(j.at("settings"));
    if (!settings.ok()) return InvalidArgument("comparison document: " + settings.error().message);
    c.settings = std::move(*settings);
    j.at("round_target_ms").get_to(c.round_target_ms);
    j.at("rounds").get_to(c.rounds);
    j.at("measure_ms").get_to(c.measure_ms);
    c.stop_reason = StopReasonFromJson(j.at("stop_reason"));
    if (!j.at("interference").is_null()) c.interference = InterferenceFromJson(j["interference"]);
    for (const auto& v : j.at("variants")) {
      auto result = BenchResultFromJson(v.at("result"));
      if (!result.ok()) return InvalidArgument("comparison document: variant: " + result.error().message);
      c.variants.push_back({v.at("label").get<std::string>(), v.at("runs_per_round").get<int>(), std::move(*result)});
    }
    for (const auto& r : j.at("ratios")) {
      RatioEstimate estimate;
      r.at("median").get_to(estimate.median);
      r.at("ci95").at(0).get_to(estimate.ci95.low);
      r.at("ci95").at(1).get_to(estimate.ci95.high);
      r.at("rounds").get_to(estimate.rounds);
      c.ratios.push_back({r.at("label").get<std::string>(), estimate});
    }
    if (!c.ratios.empty() && c.ratios.size() != c.variants.size()) {
      return InvalidArgument("comparison document: " + std::to_string(c.ratios.size()) + " ratios for " +
                             std::to_string(c.variants.size()) + " variants");
    }
    c.validity = ValidityFromJson(j.at("validity"));
    c.failure = FailureFromJson(j.at("error"));
    return c;
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("malformed comparison document: ") + e.what());
  }
}

}  // namespace edgebench
