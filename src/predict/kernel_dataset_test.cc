#include "edgebench/kernel_dataset.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "edgebench/environment.h"
#include "edgebench/kernel_models.h"
#include "edgebench/registry.h"
#include "edgebench/text.h"
#include "testing/backend_testing.h"
#include "testing/test_models.h"

namespace edgebench {
namespace {

using json = nlohmann::json;

KernelConfig Conv() {
  return {.type = "conv", .activation = "relu", .hin = 8, .win = 8, .cin = 8, .cout = 16, .kernel_size = 3,
          .stride = 1, .groups = 1};
}

KernelConfig Relu6() { return {.type = "activation", .activation = "relu6", .hin = 4, .win = 4, .cin = 8}; }

KernelModels TwoKernelModels() {
  KernelModels models;
  models.seed = 7;
  models.edgebench_version = "test";
  models.sources = {{"tinycnn", "ab12"}};
  models.kernels = {{"0001_conv.onnx", "tinycnn", Conv()}, {"0002_activation.onnx", "tinycnn", Relu6()}};
  return models;
}

// A kernel models directory as `edgebench kernels generate` writes it, with two tiny models.
std::string WriteKernelModelsDir(const KernelModels& models) {
  const std::string dir = testing::MakeTempDir();
  for (const auto& kernel : models.kernels) {
    Status written = WriteKernelModel(kernel.config, dir + "/" + kernel.file, models.seed);
    EXPECT_TRUE(written.ok()) << written.error().message;
  }
  testing::WriteFile(dir + "/kernels.json", ToJson(models).dump(2));
  return dir;
}

KernelDataSet SampleDataSet() {
  KernelDataSet data_set;
  KernelDataSetProvenance& p = data_set.provenance;
  p.device = "rpi4";
  p.runtime = "onnxruntime";
  p.runtime_version = "1.30.0";
  p.settings.threads = 1;
  p.environment.hostname = "rpi4";
  p.environment.cpu_model = "Cortex-A72";
  p.edgebench_version = "0.1.0";
  p.created_at = "2026-12-06T12:00:00Z";
  p.kernel_models_seed = 7;
  p.kernel_models_sources = {{"tinycnn", "ab12"}};
  p.measure_seconds = 12.5;
  data_set.overhead_ms = 0.004;
  data_set.overhead = {.file = "overhead.onnx", .sha256 = "ff", .source = "", .config = OverheadKernelConfig(),
                       .median_ms = 0.004, .valid = true, .reasons = {}, .attempts = 1};
  data_set.points = {{.file = "0001_conv.onnx", .sha256 = "01", .source = "tinycnn", .config = Conv(),
                      .median_ms = 0.05, .valid = true, .reasons = {}, .attempts = 1, .layout_share = 0.25},
                     {.file = "0002_activation.onnx", .sha256 = "02", .source = "tinycnn", .config = Relu6(),
                      .median_ms = std::nullopt, .valid = false, .reasons = {"load: bad model"}, .attempts = 1}};
  return data_set;
}

std::string ErrorOf(const json& document) {
  auto data_set = KernelDataSetFromJson(document);
  EXPECT_FALSE(data_set.ok()) << document.dump();
  if (data_set.ok()) return "";
  EXPECT_EQ(data_set.error().code, ErrorCode::kInvalidArgument);
  return data_set.error().message;
}

TEST(KernelDataSet, JsonRoundTripKeepsEveryField) {
  const json document = ToJson(SampleDataSet());
  EXPECT_EQ(document["schema"], "edgebench.kernels/3");
  EXPECT_EQ(document["reference"], nullptr);
  EXPECT_EQ(document["provenance"]["settings"]["threads"], 1);
  EXPECT_EQ(document["provenance"]["environment"]["cpu_model"], "Cortex-A72");
  EXPECT_EQ(document["provenance"]["kernel_models"]["seed"], 7);
  EXPECT_EQ(document["points"][1]["median_ms"], nullptr);
  EXPECT_EQ(document["points"][0]["config"]["kernel_size"], 3);
  auto read = KernelDataSetFromJson(document);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(ToJson(*read), document);
  EXPECT_EQ(read->points[0].config, Conv());
  EXPECT_EQ(read->points[1].reasons, std::vector<std::string>{"load: bad model"});
  EXPECT_EQ(read->points[0].layout_share, 0.25);
  EXPECT_FALSE(read->points[1].layout_share);
}

// A file of the second schema (no reference) still reads.
TEST(KernelDataSet, ReadsTheSecondSchema) {
  json v2 = ToJson(SampleDataSet());
  v2["schema"] = "edgebench.kernels/2";
  v2.erase("reference");
  for (auto& point : v2["points"]) {
    point.erase("reference_ratio");
    point.erase("reference_ms");
  }
  auto read = KernelDataSetFromJson(v2);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_FALSE(read->reference);
  EXPECT_FALSE(read->points[0].reference_ratio);
}

// A file of the first schema (no layout_share) still reads; its points' own time is the median
// less the overhead.
TEST(KernelDataSet, ReadsTheFirstSchema) {
  json v1 = ToJson(SampleDataSet());
  v1["schema"] = "edgebench.kernels/1";
  for (auto& point : v1["points"]) point.erase("layout_share");
  v1["overhead"].erase("layout_share");
  auto read = KernelDataSetFromJson(v1);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_FALSE(read->points[0].layout_share);
  EXPECT_DOUBLE_EQ(KernelOwnMs(read->points[0], 0.004, 1e-4), 0.05 - 0.004);
  json bad_share = ToJson(SampleDataSet());
  bad_share["points"][0]["layout_share"] = 1.5;
  EXPECT_NE(ErrorOf(bad_share).find("points[0].layout_share"), std::string::npos);
}

TEST(KernelDataSet, OwnTimeLeavesTheLayoutConversionsOut) {
  KernelPoint point = SampleDataSet().points[0];  // median 0.05 ms, layout share 0.25
  EXPECT_DOUBLE_EQ(KernelOwnMs(point, 0.01, 1e-4), (0.05 - 0.01) * 0.75);
  EXPECT_DOUBLE_EQ(KernelOwnMs(point, 0.06, 1e-4), 1e-4);  // never below the floor
}

TEST(KernelDataSet, StrictReadingNamesTheField) {
  const json good = ToJson(SampleDataSet());
  json foreign = good;
  foreign["schema"] = "edgebench.result/1";
  EXPECT_NE(ErrorOf(foreign).find("schema 'edgebench.result/1' is not edgebench.kernels/3"), std::string::npos);
  json missing = good;
  missing["points"][1].erase("median_ms");
  EXPECT_NE(ErrorOf(missing).find("field 'points[1].median_ms' is missing"), std::string::npos);
  json mistyped = good;
  mistyped["provenance"]["measure_seconds"] = "12";
  EXPECT_NE(ErrorOf(mistyped).find("field 'provenance.measure_seconds' must be a number"), std::string::npos);
  json unknown = good;
  unknown["points"][0]["latency"] = 1;
  EXPECT_NE(ErrorOf(unknown).find("field 'points[0].latency' is unknown"), std::string::npos);
  json valid_without_median = good;
  valid_without_median["points"][0]["median_ms"] = nullptr;
  EXPECT_NE(ErrorOf(valid_without_median).find("points[0].median_ms' must be a positive number on a valid point"),
            std::string::npos);
  json bad_config = good;
  bad_config["points"][0]["config"]["type"] = "lstm";
  EXPECT_NE(ErrorOf(bad_config).find("field 'points[0].config' is not a kernel configuration"), std::string::npos);
  json bad_settings = good;
  bad_settings["provenance"]["settings"]["threads"] = -1;
  EXPECT_NE(ErrorOf(bad_settings).find("field 'provenance.settings' is not a bench's settings"), std::string::npos);
  json bad_environment = good;
  bad_environment["provenance"]["environment"].erase("hostname");
  EXPECT_NE(ErrorOf(bad_environment).find("provenance.environment"), std::string::npos);
  EXPECT_NE(ErrorOf(json::array()).find("must be an object"), std::string::npos);

  const std::string dir = testing::MakeTempDir();
  const std::string broken = testing::WriteFile(dir + "/broken.json", "{not json");
  auto unreadable = ReadKernelDataSet(broken);
  ASSERT_FALSE(unreadable.ok());
  EXPECT_EQ(unreadable.error().message, broken + ": not valid JSON");
  auto absent = ReadKernelDataSet(dir + "/absent.json");
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.error().code, ErrorCode::kNotFound);
}

TEST(KernelModelsIndex, RoundTripAndStrictReading) {
  const json good = ToJson(TwoKernelModels());
  auto read = KernelModelsFromJson(good);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(ToJson(*read), good);
  auto error_of = [](const json& document) {
    auto models = KernelModelsFromJson(document);
    return models.ok() ? std::string() : models.error().message;
  };
  json stranger = good;
  stranger["kernels"][1]["source"] = "vgg16";
  EXPECT_NE(error_of(stranger).find("field 'kernels[1].source' names no model of 'sources': vgg16"),
            std::string::npos);
  json nested = good;
  nested["kernels"][0]["file"] = "../0001_conv.onnx";
  EXPECT_NE(error_of(nested).find("field 'kernels[0].file' must be a file name without a directory"),
            std::string::npos);
  json repeated = good;
  repeated["kernels"][1]["file"] = "0001_conv.onnx";
  EXPECT_NE(error_of(repeated).find("field 'kernels[1].file' repeats 0001_conv.onnx"), std::string::npos);
  json data_set = ToJson(SampleDataSet());
  EXPECT_NE(error_of(data_set).find("is not edgebench.kernel_models/1"), std::string::npos);
  auto no_dir = ReadKernelModels(testing::MakeTempDir() + "/nothing");
  ASSERT_FALSE(no_dir.ok());
  EXPECT_NE(no_dir.error().message.find("nothing/kernels.json: cannot open"), std::string::npos);
}

TEST(KernelDataSet, PointOfAResult) {
  const KernelModelEntry entry{"0001_conv.onnx", "tinycnn", Conv()};
  BenchResult result;
  result.model.sha256 = "01";
  result.latency_ms.p50 = 0.5;
  result.validity = {false, {"robust coefficient of variation 30% above 10%"}, {}};
  KernelPoint invalid = KernelPointFromResult(entry, result, 3);
  EXPECT_FALSE(invalid.valid);
  EXPECT_EQ(invalid.median_ms, 0.5);
  EXPECT_EQ(invalid.attempts, 3);
  EXPECT_EQ(invalid.reasons, result.validity.reasons);
  EXPECT_FALSE(invalid.layout_share);  // no profile
  // With a profile: the share of the layout kernels (onnxruntime's reorders) in its time.
  result.profile = OpProfile{.source = "onnxruntime profiler", .profiled_runs = 2,
                             .kernels = {{.kernel_name = "ReorderInput", .kernel_type = "ReorderInput", .total_ms = 1, .calls = 2},
                                         {.kernel_name = "/k2/Relu_output_0_nchwc", .kernel_type = "Conv", .total_ms = 6, .calls = 2},
                                         {.kernel_name = "ReorderOutput", .kernel_type = "ReorderOutput", .total_ms = 1, .calls = 2}}};
  EXPECT_EQ(KernelPointFromResult(entry, result, 1).layout_share, 0.25);
  result.failure = RunFailure{"load", RuntimeError("cannot load"), ""};
  KernelPoint failed = KernelPointFromResult(entry, result, 1);
  EXPECT_FALSE(failed.valid);
  EXPECT_FALSE(failed.median_ms);
  EXPECT_EQ(failed.reasons, std::vector<std::string>{"load: cannot load"});
}

TEST(KernelDataSet, ResumeNeedsTheSameRuntimeDeviceSettingsAndModels) {
  const KernelDataSet previous = SampleDataSet();
  KernelModels models = TwoKernelModels();
  BenchSettings settings;
  settings.threads = 1;
  EXPECT_TRUE(CheckResumable(previous, "rpi4", "onnxruntime", settings, models, false).ok());
  EXPECT_FALSE(CheckResumable(previous, "rpi4", "opencv", settings, models, false).ok());
  EXPECT_FALSE(CheckResumable(previous, "jetson", "onnxruntime", settings, models, false).ok());
  BenchSettings four = settings;
  four.threads = 4;
  Status other_settings = CheckResumable(previous, "rpi4", "onnxruntime", four, models, false);
  ASSERT_FALSE(other_settings.ok());
  EXPECT_NE(other_settings.error().message.find("other settings"), std::string::npos);
  Status against_reference = CheckResumable(previous, "rpi4", "onnxruntime", settings, models, true);
  ASSERT_FALSE(against_reference.ok());
  EXPECT_NE(against_reference.error().message.find("measured alone"), std::string::npos);
  models.seed = 8;
  EXPECT_FALSE(CheckResumable(previous, "rpi4", "onnxruntime", settings, models, false).ok());
}

// Two data sets measured against one reference whose medians differ (the machine ran at another
// speed): ScaleToReference puts both on the reference's median over all their points.
TEST(KernelDataSet, ScaleToReferencePutsRatiosOnOneMachineSpeed) {
  auto measured_against = [](double reference_ms) {
    KernelDataSet set = SampleDataSet();
    set.reference = KernelReference{"abc", ReferenceKernelConfig()};
    set.overhead.reference_ratio = 0.02;
    set.overhead.reference_ms = reference_ms;
    for (auto& point : set.points) {
      if (!point.valid) continue;
      point.reference_ratio = 2.0;
      point.reference_ms = reference_ms;
      point.median_ms = 2.0 * reference_ms;  // as timed
    }
    return set;
  };
  std::vector<KernelDataSet> data = {measured_against(0.5), measured_against(0.5), measured_against(0.8)};
  auto scale = ScaleToReference(data);
  ASSERT_TRUE(scale.ok()) << scale.error().message;
  ASSERT_TRUE(scale->has_value());
  EXPECT_EQ((*scale)->sha256, "abc");
  EXPECT_DOUBLE_EQ((*scale)->median_ms, 0.5);
  for (const auto& set : data) {
    EXPECT_DOUBLE_EQ(set.overhead_ms, 0.01);
    for (const auto& point : set.points) {
      if (point.valid) EXPECT_DOUBLE_EQ(*point.median_ms, 1.0);
    }
  }
  // Round trip of the fields.
  auto read = KernelDataSetFromJson(ToJson(data[2]));
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(ToJson(*read), ToJson(data[2]));
  EXPECT_EQ(read->reference->sha256, "abc");

  std::vector<KernelDataSet> mixed = {measured_against(0.5), SampleDataSet()};
  auto refused = ScaleToReference(mixed);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("not on one scale"), std::string::npos);
  std::vector<KernelDataSet> other = {measured_against(0.5), measured_against(0.5)};
  other[1].reference->sha256 = "def";
  EXPECT_FALSE(ScaleToReference(other).ok());
  std::vector<KernelDataSet> alone = {SampleDataSet()};
  auto none = ScaleToReference(alone);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  // A point with a ratio in a data set without a reference does not read.
  json document = ToJson(measured_against(0.5));
  document["reference"] = nullptr;
  EXPECT_FALSE(KernelDataSetFromJson(document).ok());
}

bool OnnxruntimeAvailable() { return FindBackend("onnxruntime").ok(); }

BenchSettings QuickSettings() {
  BenchSettings settings;
  settings.threads = 1;
  settings.warmup_runs = 1;
  settings.warmup_min_ms = 0;
  settings.min_runs = 5;
  settings.min_duration_ms = 0;
  return settings;
}

// Thresholds no run on a loaded machine misses: every point valid.
BenchSettings LenientSettings() {
  BenchSettings settings = QuickSettings();
  settings.max_cv_percent = 1000;
  settings.max_outlier_percent = 100;
  settings.max_drift_percent = 1000;
  settings.max_steal_percent = 100;
  settings.max_frequency_drop_percent = 100;
  settings.allow_unpinned_governor = true;
  return settings;
}

TEST(MeasureKernels, MeasuresEveryKernelModelAndTheOverheadOnOnnxruntime) {
  if (!OnnxruntimeAvailable()) GTEST_SKIP() << "onnxruntime is not available in this build";
  const KernelModels models = TwoKernelModels();
  const std::string dir = WriteKernelModelsDir(models);
  std::vector<std::size_t> progress;
  KernelMeasureRequest request{dir, "onnxruntime", LenientSettings(), 2, nullptr, 0};
  auto data_set = MeasureKernels(request, [&](const KernelDataSet& so_far, std::size_t index, std::size_t total) {
    EXPECT_EQ(so_far.points.size(), index + 1);
    EXPECT_EQ(total, 2u);
    progress.push_back(index);
  });
  ASSERT_TRUE(data_set.ok()) << data_set.error().message;
  EXPECT_EQ(progress, (std::vector<std::size_t>{0, 1}));
  const KernelDataSetProvenance& p = data_set->provenance;
  EXPECT_EQ(p.runtime, "onnxruntime");
  EXPECT_FALSE(p.runtime_version.empty());
  EXPECT_EQ(p.device, CollectEnvironment().hostname);
  EXPECT_EQ(p.settings.threads, 1);
  EXPECT_EQ(p.kernel_models_seed, 7u);
  EXPECT_EQ(p.kernel_models_sources.size(), 1u);
  EXPECT_FALSE(p.environment.cpu_model.empty());
  EXPECT_FALSE(p.created_at.empty());
  EXPECT_GT(p.measure_seconds, 0);
  EXPECT_GT(data_set->overhead_ms, 0);
  EXPECT_EQ(data_set->overhead.median_ms, data_set->overhead_ms);
  EXPECT_EQ(data_set->overhead.config, OverheadKernelConfig());
  ASSERT_EQ(data_set->points.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const KernelPoint& point = data_set->points[i];
    EXPECT_EQ(point.file, models.kernels[i].file);
    EXPECT_EQ(point.config, models.kernels[i].config);
    EXPECT_EQ(point.source, "tinycnn");
    EXPECT_EQ(point.sha256, *Sha256OfFile(dir + "/" + point.file));
    EXPECT_TRUE(point.valid) << Join(point.reasons, "; ");
    EXPECT_GT(*point.median_ms, 0);
    EXPECT_EQ(point.attempts, 1);
  }
  // The written document reads back as it was.
  auto read = KernelDataSetFromJson(ToJson(*data_set));
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(ToJson(*read), ToJson(*data_set));

  // Resuming keeps the valid points of unchanged files and measures the changed one again.
  KernelConfig wider = Conv();
  wider.cout = 32;
  ASSERT_TRUE(WriteKernelModel(wider, dir + "/0001_conv.onnx", models.seed).ok());
  request.resume = &*data_set;
  auto resumed = MeasureKernels(request, nullptr);
  ASSERT_TRUE(resumed.ok()) << resumed.error().message;
  EXPECT_NE(resumed->points[0].sha256, data_set->points[0].sha256);
  EXPECT_EQ(ToJson(resumed->points[1]), ToJson(data_set->points[1]));
  EXPECT_GT(resumed->provenance.measure_seconds, data_set->provenance.measure_seconds);
}

// Against the reference: each point carries its paired ratio and the reference's median, the
// data set the reference model's sha256 (that of `edgebench kernels reference`).
TEST(MeasureKernels, TimesEveryKernelModelAgainstTheReferenceOnOnnxruntime) {
  if (!OnnxruntimeAvailable()) GTEST_SKIP() << "onnxruntime is not available in this build";
  const KernelModels models = TwoKernelModels();
  const std::string dir = WriteKernelModelsDir(models);
  BenchSettings settings = LenientSettings();
  settings.profile_runs = 2;
  auto data_set = MeasureKernels({dir, "onnxruntime", settings, 0, nullptr, 5}, nullptr);
  ASSERT_TRUE(data_set.ok()) << data_set.error().message;
  ASSERT_TRUE(data_set->reference.has_value());
  ASSERT_TRUE(WriteKernelModel(ReferenceKernelConfig(), dir + "/reference.onnx", 0).ok());
  EXPECT_EQ(data_set->reference->sha256, *Sha256OfFile(dir + "/reference.onnx"));
  EXPECT_EQ(data_set->provenance.settings.profile_runs, 2);
  ASSERT_TRUE(data_set->overhead.reference_ratio.has_value());
  // The relu on 8 values is far faster than a 3x3 convolution of 64 channels.
  EXPECT_LT(*data_set->overhead.reference_ratio, 1.0);
  EXPECT_EQ(data_set->overhead_ms, *data_set->overhead.median_ms);
  for (const auto& point : data_set->points) {
    EXPECT_TRUE(point.valid) << Join(point.reasons, "; ");
    ASSERT_TRUE(point.reference_ratio.has_value());
    EXPECT_GT(*point.reference_ratio, 0);
    EXPECT_GT(*point.reference_ms, 0);
    EXPECT_EQ(point.sha256, *Sha256OfFile(dir + "/" + point.file));
    EXPECT_TRUE(point.layout_share.has_value());  // from the profiled run alone
  }
  auto read = KernelDataSetFromJson(ToJson(*data_set));
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(ToJson(*read), ToJson(*data_set));
}

// min_runs 5 within at most 1 us: one timed run per measurement, INVALID every time. The points
// stay in the data set with valid false, their reasons and every attempt counted.
TEST(MeasureKernels, KeepsInvalidPointsWithTheirReasons) {
  if (!OnnxruntimeAvailable()) GTEST_SKIP() << "onnxruntime is not available in this build";
  const std::string dir = WriteKernelModelsDir(TwoKernelModels());
  BenchSettings invalid = QuickSettings();
  invalid.max_duration_ms = 0.001;
  auto data_set = MeasureKernels({dir, "onnxruntime", invalid, 1, nullptr, 0}, nullptr);
  ASSERT_TRUE(data_set.ok()) << data_set.error().message;
  EXPECT_FALSE(data_set->overhead.valid);
  ASSERT_EQ(data_set->points.size(), 2u);
  for (const auto& point : data_set->points) {
    EXPECT_FALSE(point.valid);
    EXPECT_EQ(point.attempts, 2);
    ASSERT_FALSE(point.reasons.empty());
    EXPECT_NE(point.reasons[0].find("fewer than the minimum 5"), std::string::npos) << point.reasons[0];
  }
  const json document = ToJson(*data_set);
  EXPECT_EQ(document["points"][0]["valid"], false);
  auto read = KernelDataSetFromJson(document);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_FALSE(read->points[1].valid);
}

}  // namespace
}  // namespace edgebench
