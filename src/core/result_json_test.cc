#include "edgebench/result_json.h"

#include <gtest/gtest.h>

namespace edgebench {
namespace {

BenchResult Sample() {
  BenchResult r;
  r.model = {"m.onnx", "abc123", 42, ModelFormat::kOnnx};
  r.runtime_name = "onnxruntime";
  r.runtime_version = "1.29.0";
  r.runtime_options = {{"graph_optimization_level", "all"}};
  r.settings.options = r.runtime_options;
  r.settings.target_ci_percent = 1.5;
  r.settings.shapes = {{"input", {1, 3, 8, 8}}};
  r.environment.cpu_model = "Test CPU";
  r.environment.logical_cores = 4;
  r.started_at_utc = "2026-11-22T00:00:00Z";
  r.inputs = {{"input", DataType::kFloat32, {1, 3, 8, 8}}};
  r.outputs = {{"output", DataType::kFloat32, {}, false}};
  r.load_ms = 12.5;
  r.first_inference_ms = 3.25;
  r.warmup_runs = 5;
  r.samples_ms = {1, 2, 3};
  r.latency_ms = ComputeLatencyStats(r.samples_ms);
  r.stop_reason = StopReason::kReachedTargetCi;
  r.validity = {false, {"too few"}, {"hot"}};
  r.peak_rss_bytes = 1 << 20;
  r.memory = MemoryUse{1 << 20, 3 << 20, 4 << 20, true};
  Interference interference;
  interference.sample_period_ms = 100;
  interference.samples = 3;
  interference.steal_percent = 1.5;
  interference.iowait_percent = 0.25;
  interference.voluntary_context_switches = 4;
  interference.involuntary_context_switches = 9;
  interference.cpu_frequency_min_mhz = 1200;
  interference.cpu_frequency_max_mhz = 1500;
  interference.thermal_frequency_drop_percent = 20;
  interference.thermal_zones = {{"thermal_zone0", "cpu-thermal", 50, 70, 65}};
  interference.throttled_flags = 0x4;
  interference.throttle_events = 2;
  interference.power = {{"powercap/intel-rapl:0 (package-0)", 12.5, 0.75}, {"hwmon/hwmon1 ina3221 VDD_IN", 5, std::nullopt}};
  r.interference = interference;
  r.model_cost = ModelCost{100, 2000, 4000};
  r.settings.verify_runtime = "opencv";
  r.settings.verify_tolerance = 1e-4;
  Verification v{"opencv", "4.6.0", "m.onnx", {{"output", 10, 1e-6, 1e-5, 1.0}}, 1e-6, 1e-4, true};
  r.verification = v;
  r.settings.profile_runs = 2;
  OpProfile profile{"onnxruntime profiler", 2, {}};
  profile.kernels.push_back({"conv0", "Conv", {"/conv0/Conv"}, "CPUExecutionProvider", "", 3.0, 2});
  profile.kernels.push_back({"bn0", "BatchNorm", {"/bn0/BatchNormalization"}, "opencv/cpu", "conv0", 0, 0});
  profile.kernels.push_back({"relu0", "Relu", {}, "CPUExecutionProvider", "", 1.0, 2});
  r.profile_by_type = SummarizeByKernelType(profile);
  r.profile_by_provider = SummarizeByProvider(profile);
  r.fusion = FusionMap{.source_nodes = 4,
                       .kernels = 2,
                       .patterns = {{{"Conv", "BatchNormalization"}, "Conv", 1}, {{"Relu"}, "Relu", 1}},
                       .removed = {{"Dropout", 1}},
                       .added = {}};
  r.profile = profile;
  return r;
}

TEST(ResultJson, CarriesTheDocumentedFields) {
  const nlohmann::json j = ToJson(Sample());
  EXPECT_EQ(j["schema"], "edgebench.result/1");
  EXPECT_EQ(j["model"]["sha256"], "abc123");
  EXPECT_EQ(j["model"]["format"], "onnx");
  EXPECT_EQ(j["runtime"]["options"]["graph_optimization_level"], "all");
  EXPECT_EQ(j["latency_ms"]["median_ci95"].size(), 2u);
  EXPECT_EQ(j["latency_ms"]["p50"], 2.0);
  EXPECT_EQ(j["runs"], 3);
  EXPECT_EQ(j["samples_ms"].size(), 3u);
  EXPECT_EQ(j["validity"]["valid"], false);
  EXPECT_EQ(j["stop_reason"], "reached_target_ci");
  EXPECT_TRUE(j["outputs"][0]["shape"].is_null());
  EXPECT_TRUE(j["error"].is_null());
  EXPECT_EQ(j["verification"]["reference_runtime"], "opencv");
  EXPECT_EQ(j["verification"]["outputs"][0]["top1_agreement"], 1.0);
  EXPECT_EQ(j["settings"]["profile_runs"], 2);
  EXPECT_EQ(j["profile"]["source"], "onnxruntime profiler");
  EXPECT_EQ(j["profile"]["profiled_runs"], 2);
  EXPECT_EQ(j["profile"]["kernels"].size(), 3u);
  EXPECT_EQ(j["profile"]["kernels"][0]["source_nodes"][0], "/conv0/Conv");
  EXPECT_EQ(j["profile"]["kernels"][1]["fused_into"], "conv0");
  EXPECT_EQ(j["profile"]["by_kernel_type"].size(), 2u);  // the fused BatchNorm is no kernel type
  EXPECT_EQ(j["profile"]["by_kernel_type"][0]["kernel_type"], "Conv");
  EXPECT_EQ(j["profile"]["by_kernel_type"][0]["share"], 0.75);
  EXPECT_EQ(j["profile"]["by_kernel_type"][0]["ms_per_inference"], 1.5);
  for (const char* key : {"environment", "settings", "load_ms", "first_inference_ms", "peak_rss_bytes"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
}

TEST(ResultJson, CarriesTheFusionMapAndPlacement) {
  const nlohmann::json j = ToJson(Sample());
  EXPECT_EQ(j["profile"]["by_provider"],
            nlohmann::json::parse(R"([{"provider": "CPUExecutionProvider", "kernels": 2, "share": 1.0}])"));
  EXPECT_EQ(j["fusion"]["source_nodes"], 4);
  EXPECT_EQ(j["fusion"]["kernels"], 2);
  EXPECT_EQ(j["fusion"]["patterns"][0],
            nlohmann::json::parse(R"({"source_op_types": ["Conv", "BatchNormalization"],
                                      "pattern": "Conv+BatchNormalization",
                                      "kernel_type": "Conv", "kernels": 1})"));
  EXPECT_EQ(j["fusion"]["removed"], nlohmann::json::parse(R"([{"op_type": "Dropout", "count": 1}])"));
  EXPECT_EQ(j["fusion"]["added"], nlohmann::json::array());
}

TEST(ResultJson, FusionIsOptionalInOlderDocuments) {
  BenchResult result = Sample();
  result.fusion.reset();
  nlohmann::json j = ToJson(result);
  EXPECT_TRUE(j["fusion"].is_null());
  j.erase("fusion");
  j["profile"].erase("by_provider");  // recomputed from the kernels
  auto parsed = BenchResultFromJson(j);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_FALSE(parsed->fusion.has_value());
  ASSERT_EQ(parsed->profile_by_provider.size(), 1u);
  EXPECT_EQ(parsed->profile_by_provider[0].kernels, 2);
}

// Every bench setting of the table is in the document's settings, in the table's JSON form.
TEST(ResultJson, SettingsCarryEveryBenchSetting) {
  const BenchResult result = Sample();
  const nlohmann::json settings = ToJson(result)["settings"];
  EXPECT_EQ(settings, SettingsToJson(result.settings));
  for (const auto& spec : SettingsTable()) {
    EXPECT_EQ(settings.contains(spec.key), spec.use != SettingUse::kServiceOnly) << spec.key;
  }
  EXPECT_EQ(settings["shapes"], nlohmann::json({{"input", "1x3x8x8"}}));
  EXPECT_EQ(settings["allow_unpinned_governor"], false);
}

// Documents older than the settings table: shapes as dims, require_pinned_governor, no options.
TEST(ResultJson, ReadsSettingsOfOlderDocuments) {
  nlohmann::json j = ToJson(Sample());
  nlohmann::json& settings = j["settings"];
  settings.erase("allow_unpinned_governor");
  settings["require_pinned_governor"] = false;
  settings["shapes"] = {{"input", {1, 3, 8, 8}}};
  settings.erase("options");
  auto parsed = BenchResultFromJson(j);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_TRUE(parsed->settings.allow_unpinned_governor);
  EXPECT_EQ(parsed->settings.shapes, Sample().settings.shapes);
  EXPECT_EQ(parsed->settings.options, Sample().runtime_options);

  settings["threads"] = 5000;
  auto out_of_range = BenchResultFromJson(j);
  ASSERT_FALSE(out_of_range.ok());
  EXPECT_NE(out_of_range.error().message.find("settings.threads"), std::string::npos);
}

TEST(ResultJson, CarriesMemoryInterferenceAndTheRobustSpread) {
  const nlohmann::json j = ToJson(Sample());
  EXPECT_EQ(j["memory"]["load_delta_bytes"], 2 << 20);
  EXPECT_EQ(j["memory"]["inference_delta_bytes"], 1 << 20);
  EXPECT_EQ(j["memory"]["peak_reset"], true);
  EXPECT_EQ(j["interference"]["steal_percent"], 1.5);
  EXPECT_EQ(j["interference"]["throttled"]["names"], nlohmann::json({"throttled"}));
  EXPECT_TRUE(j["interference"]["power"][1]["energy_per_inference_mj"].is_null());
  EXPECT_EQ(j["latency_ms"]["mad"], 1.0);  // samples 1, 2, 3
  EXPECT_EQ(j["latency_ms"]["outliers"], 0);
}

// Documents older than the keys: no memory, no interference, no robust spread (computed).
TEST(ResultJson, ReadsDocumentsWithoutMemoryInterferenceOrRobustSpread) {
  nlohmann::json j = ToJson(Sample());
  j.erase("memory");
  j.erase("interference");
  for (const char* key : {"mad", "robust_cv", "outliers"}) j["latency_ms"].erase(key);
  j["settings"].erase("max_outlier_percent");
  j["settings"].erase("max_steal_percent");
  j["settings"].erase("max_frequency_drop_percent");
  auto parsed = BenchResultFromJson(j);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_FALSE(parsed->memory.has_value());
  EXPECT_FALSE(parsed->interference.has_value());
  EXPECT_DOUBLE_EQ(parsed->latency_ms.mad, 1.0);
  EXPECT_NEAR(parsed->latency_ms.robust_cv, 1.4826 / 2, 1e-12);
  EXPECT_EQ(parsed->settings.max_outlier_percent, BenchSettings{}.max_outlier_percent);
}

TEST(ResultJson, RoundTrips) {
  BenchResult original = Sample();
  original.failure = RunFailure{"load", BadModel("m.onnx: truncated")};
  auto parsed = BenchResultFromJson(ToJson(original));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(ToJson(*parsed), ToJson(original));
  EXPECT_EQ(parsed->failure->error.code, ErrorCode::kBadModel);
}

// A result of a model the server converted carries the conversion and its accuracy cost; the
// key is null otherwise and absent from older documents.
TEST(ResultJson, CarriesTheConversionAndItsAccuracyCost) {
  BenchResult result = Sample();
  EXPECT_TRUE(ToJson(result)["conversion"].is_null());
  nlohmann::json older = ToJson(result);
  older.erase("conversion");
  ASSERT_TRUE(BenchResultFromJson(older).ok());
  result.conversion = ConversionInfo{"resnet50.onnx", std::string(64, 'a'), "tflite", "int8", "2",
                                     AccuracyCost{"tflite", "onnxruntime", "4 random samples", 4, 0.5, 0.01, 0.02, 0.75}};
  const nlohmann::json j = ToJson(result);
  EXPECT_EQ(j["conversion"]["precision"], "int8");
  EXPECT_EQ(j["conversion"]["accuracy"]["top1_agreement"], 0.75);
  auto parsed = BenchResultFromJson(j);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_TRUE(parsed->conversion && parsed->conversion->accuracy);
  EXPECT_EQ(parsed->conversion->source_model, "resnet50.onnx");
  EXPECT_EQ(parsed->conversion->accuracy->max_rel_error, 0.02);
  EXPECT_EQ(ToJson(*parsed), j);
}

// The device the tables name a result by; documents older than the key read as "" (the tables
// then use the hostname).
TEST(ResultJson, CarriesTheDeviceAndReadsOlderDocumentsWithoutIt) {
  BenchResult result = Sample();
  result.device = "rpi4";
  const nlohmann::json j = ToJson(result);
  EXPECT_EQ(j["device"], "rpi4");
  auto parsed = BenchResultFromJson(j);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->device, "rpi4");
  nlohmann::json older = j;
  older.erase("device");
  auto old = BenchResultFromJson(older);
  ASSERT_TRUE(old.ok()) << old.error().message;
  EXPECT_EQ(old->device, "");
}

TEST(ResultJson, ProfileIsNullWhenNotTakenAndOptionalInOlderDocuments) {
  BenchResult result = Sample();
  result.profile.reset();
  result.profile_by_type.clear();
  result.settings.profile_runs = 0;
  nlohmann::json j = ToJson(result);
  EXPECT_TRUE(j["profile"].is_null());
  auto parsed = BenchResultFromJson(j);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_FALSE(parsed->profile.has_value());

  j.erase("profile");
  j["settings"].erase("profile_runs");
  parsed = BenchResultFromJson(j);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_FALSE(parsed->profile.has_value());
  EXPECT_EQ(parsed->settings.profile_runs, 0);

  j = ToJson(Sample());
  j["profile"]["kernels"][0].erase("total_ms");
  EXPECT_FALSE(BenchResultFromJson(j).ok());
}

TEST(ResultJson, RejectsOtherSchemasAndMissingFields) {
  nlohmann::json j = ToJson(Sample());
  j["schema"] = "edgebench.result/99";
  EXPECT_FALSE(BenchResultFromJson(j).ok());
  j = ToJson(Sample());
  j.erase("latency_ms");
  auto missing = BenchResultFromJson(j);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("latency_ms"), std::string::npos);
  j = ToJson(Sample());
  j["runs"] = 4;
  EXPECT_FALSE(BenchResultFromJson(j).ok());
  EXPECT_FALSE(BenchResultFromJson(nlohmann::json::array()).ok());
}

// A count given as a float no integer holds (found by fuzzing: converting it was undefined
// behaviour) is refused, naming where it is; floats in range still read.
TEST(ResultJson, RefusesFloatsOutsideAnIntegersRange) {
  nlohmann::json j = ToJson(Sample());
  j["model"]["size_bytes"] = 4.5e103;
  auto huge = BenchResultFromJson(j);
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(huge.error().message.find("/model/size_bytes: 4.5e+103 is out of range"), std::string::npos)
      << huge.error().message;
  j = ToJson(Sample());
  j["model"]["size_bytes"] = 1234.0;
  auto in_range = BenchResultFromJson(j);
  ASSERT_TRUE(in_range.ok()) << in_range.error().message;
  EXPECT_EQ(in_range->model.size_bytes, 1234);
}

}  // namespace
}  // namespace edgebench
