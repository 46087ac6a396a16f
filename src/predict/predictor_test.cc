#include "edgebench/predictor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "testing/test_models.h"

namespace edgebench {
namespace {

constexpr double kOverheadMs = 0.01;

// The synthetic device: a conv kernel takes 0.5e-6 ms per FLOP plus 2 us, an add 1e-6 ms per output
// element (a known function of the features).
double SyntheticMs(const KernelConfig& config) {
  if (config.type == "conv") return 0.5e-6 * KernelFlops(config) + 0.002;
  return 1e-6 * KernelFlops(config);
}

KernelRules Rules(const std::string& runtime = "onnxruntime") {
  KernelRules rules;
  rules.runtime = runtime;
  rules.fused_patterns = {{"Conv", "Relu"}, {"Conv", "BatchNormalization", "Relu"}};
  rules.removed_op_types = {"Dropout", "Identity"};
  rules.source = "test";
  return rules;
}

KernelPoint Point(const std::string& prefix, int number, const std::string& source, const KernelConfig& config) {
  KernelPoint point;
  point.file = prefix + std::to_string(number) + ".onnx";
  point.source = source;
  point.config = config;
  point.median_ms = kOverheadMs + SyntheticMs(config);
  point.valid = true;
  point.attempts = 1;
  return point;
}

// A data set of conv and add kernels over a grid of sizes, measured on the synthetic device.
KernelDataSet SyntheticData(const std::string& runtime = "onnxruntime") {
  KernelDataSet data;
  data.provenance.runtime = runtime;
  data.provenance.runtime_version = "1.0";
  data.provenance.device = "synthetic";
  data.overhead_ms = kOverheadMs;
  int file = 0;
  for (int64_t hw : {7, 14, 28, 56, 112}) {
    for (int64_t cin : {16, 32, 64, 128, 256}) {
      for (int64_t cout : {16, 32, 64, 128, 256}) {
        for (int64_t kernel : {1, 3}) {
          KernelConfig conv;
          conv.type = "conv";
          conv.hin = conv.win = hw;
          conv.cin = cin;
          conv.cout = cout;
          conv.kernel_size = kernel;
          conv.stride = 1;
          conv.groups = 1;
          data.points.push_back(Point("conv", ++file, cout == 256 ? "big" : "small", conv));
        }
      }
      KernelConfig add;
      add.type = "add";
      add.hin = add.win = hw;
      add.cin = add.cout = cin;
      add.inputs = 2;
      data.points.push_back(Point("add", ++file, "small", add));
    }
  }
  // An INVALID point far off the function: it must not be trained on.
  KernelPoint invalid = data.points.front();
  invalid.file = "invalid.onnx";
  invalid.median_ms = 1000;
  invalid.valid = false;
  data.points.push_back(invalid);
  return data;
}

// Trained once per process and never destroyed: XGBoost frees a booster through its thread-local
// state, which is gone by the time static objects are destroyed at exit.
const Predictor& TrainedPredictor() {
  static const Predictor* predictor = [] {
    auto trained = Predictor::Train({SyntheticData()}, {}, Rules(), PredictorSettings{});
    EXPECT_TRUE(trained.ok()) << trained.error().message;
    return new Predictor(std::move(*trained));
  }();
  return *predictor;
}

TEST(Predictor, LearnsAKnownFunctionOfTheFeatures) {
  const Predictor& predictor = TrainedPredictor();
  EXPECT_EQ(predictor.types(), (std::vector<std::string>{"add", "conv"}));
  EXPECT_DOUBLE_EQ(predictor.overhead_ms(), kOverheadMs);
  const Accuracy& conv = predictor.validation("conv");
  EXPECT_EQ(conv.points, 250u * 20 / 100);  // 20% of the 250 valid conv points held out
  EXPECT_LT(conv.mape_percent, 10) << "validation MAPE";
  EXPECT_GT(conv.within_10_percent, 70);
  // A configuration between the grid points, predicted within 15%.
  KernelConfig between;
  between.type = "conv";
  between.hin = between.win = 40;
  between.cin = 96;
  between.cout = 48;
  between.kernel_size = 3;
  between.stride = between.groups = 1;
  auto predicted = predictor.PredictKernelsMs({between});
  ASSERT_TRUE(predicted.ok()) << predicted.error().message;
  EXPECT_NEAR((*predicted)[0] / SyntheticMs(between), 1.0, 0.15);
}

TEST(Predictor, TrainingIsDeterministic) {
  auto again = Predictor::Train({SyntheticData()}, {}, Rules(), PredictorSettings{});
  ASSERT_TRUE(again.ok());
  auto first = TrainedPredictor().ToJson();
  auto second = again->ToJson();
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->at("regressors").dump(), second->at("regressors").dump());
}

TEST(Predictor, ExcludedSourcesAndOtherRuntimesAreNotTrainedOn) {
  PredictorSettings settings;
  settings.excluded_sources = {"big"};
  auto trained = Predictor::Train({SyntheticData()}, {}, Rules(), settings);
  ASSERT_TRUE(trained.ok());
  EXPECT_EQ(trained->validation("conv").points, 200u * 20 / 100);

  auto other = Predictor::Train({SyntheticData("tflite")}, {}, Rules(), PredictorSettings{});
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(other.error().message.find("measured on tflite"), std::string::npos) << other.error().message;
}

TEST(Predictor, FileRoundTripGivesTheSamePredictions) {
  const Predictor& predictor = TrainedPredictor();
  auto document = predictor.ToJson();
  ASSERT_TRUE(document.ok()) << document.error().message;
  EXPECT_EQ(document->at("schema"), kPredictorSchema);
  EXPECT_EQ(document->at("feature_names").get<std::vector<std::string>>(), KernelFeatureNames());
  EXPECT_TRUE(document->at("regressors").at("conv").at("model").contains("learner"));  // XGBoost's JSON
  auto loaded = Predictor::FromJson(nlohmann::json::parse(document->dump()));
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  std::vector<KernelConfig> configs;
  for (const auto& point : SyntheticData().points) {
    if (point.config.type == "conv") configs.push_back(point.config);
  }
  auto before = predictor.PredictKernelsMs(configs);
  auto after = loaded->PredictKernelsMs(configs);
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_EQ(*before, *after);
  EXPECT_EQ(loaded->runtime(), "onnxruntime");
  EXPECT_EQ(loaded->device(), "synthetic");
  EXPECT_DOUBLE_EQ(loaded->validation("conv").mape_percent, predictor.validation("conv").mape_percent);
  EXPECT_DOUBLE_EQ(loaded->flops_baseline().ms_per_gflop, predictor.flops_baseline().ms_per_gflop);
}

// A file of format major 1 (regressors of log(kernel ms), no linear base) still loads and
// predicts what its trees say: the same trees read as major 1 give the major-2 prediction
// divided by the type's base.
TEST(Predictor, ReadsFormatMajorOne) {
  auto document = TrainedPredictor().ToJson();
  ASSERT_TRUE(document.ok());
  EXPECT_EQ(document->at("format_version"), "2.2");
  auto v1 = *document;
  v1["format_version"] = "1.0";
  auto loaded = Predictor::FromJson(v1);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  const KernelConfig conv = SyntheticData().points.front().config;
  auto as_v2 = TrainedPredictor().PredictKernelsMs({conv});
  auto as_v1 = loaded->PredictKernelsMs({conv});
  ASSERT_TRUE(as_v1.ok() && as_v2.ok());
  const auto& base = document->at("regressors").at("conv").at("base");
  const LinearBase conv_base{base.at("fixed_ms"), base.at("ms_per_flop"), base.at("ms_per_element")};
  EXPECT_NEAR(as_v1->front(), as_v2->front() / conv_base.Ms(conv), 1e-9 * as_v1->front());
}

// Another runtime whose convs take 3x and adds 0.5x the synthetic device's time: adapting with 20
// points finds both factors, predicts the rest of the new runtime's points from them, and the
// factors survive the file.
TEST(Predictor, AdaptsToAnotherRuntimeWithFewPoints) {
  KernelDataSet other = SyntheticData("opencv");
  for (auto& point : other.points) {
    if (point.valid) point.median_ms = kOverheadMs + SyntheticMs(point.config) * (point.config.type == "conv" ? 3 : 0.5);
  }
  auto adapted = Predictor::Adapt(TrainedPredictor(), {other}, {"opencv.json"}, Rules("opencv"),
                                  AdaptSettings{.max_points = 20, .seed = 1});
  ASSERT_TRUE(adapted.ok()) << adapted.error().message;
  EXPECT_EQ(adapted->runtime(), "opencv");
  ASSERT_TRUE(adapted->adaptation());
  EXPECT_EQ(adapted->adaptation()->points, 20u);
  EXPECT_EQ(adapted->adaptation()->base_runtime, "onnxruntime");
  EXPECT_NEAR(adapted->adaptation()->log_factors.at("conv"), std::log(3.0), 0.15);
  EXPECT_NEAR(adapted->adaptation()->log_factors.at("add"), std::log(0.5), 0.15);
  // Round-robin: 10 of each type; the other points validate.
  EXPECT_EQ(adapted->validation("add").points, 25u - 10u);
  const KernelConfig conv = SyntheticData().points.front().config;
  auto base_ms = TrainedPredictor().PredictKernelsMs({conv});
  auto adapted_ms = adapted->PredictKernelsMs({conv});
  ASSERT_TRUE(base_ms.ok() && adapted_ms.ok());
  EXPECT_NEAR(adapted_ms->front() / base_ms->front(), std::exp(adapted->adaptation()->log_factors.at("conv")), 1e-9);
  auto document = adapted->ToJson();
  ASSERT_TRUE(document.ok());
  auto loaded = Predictor::FromJson(*document);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  auto loaded_ms = loaded->PredictKernelsMs({conv});
  ASSERT_TRUE(loaded_ms.ok());
  EXPECT_DOUBLE_EQ(loaded_ms->front(), adapted_ms->front());
  // A data set of a runtime other than the rules' is refused.
  EXPECT_FALSE(Predictor::Adapt(TrainedPredictor(), {other}, {}, Rules("tflite"), AdaptSettings{}).ok());
}

// The synthetic conv time is 0.002 ms + 0.5e-6 ms per FLOP: the base finds it.
TEST(Predictor, LinearBaseFindsAKnownLinearFunction) {
  std::vector<std::pair<KernelConfig, double>> points;
  for (const auto& point : SyntheticData().points) {
    if (point.valid && point.config.type == "conv") points.emplace_back(point.config, SyntheticMs(point.config));
  }
  const LinearBase base = FitLinearBase(points);
  EXPECT_NEAR(base.fixed_ms, 0.002, 1e-6);
  EXPECT_NEAR(base.ms_per_flop, 0.5e-6, 1e-10);
  EXPECT_NEAR(base.ms_per_element, 0, 1e-10);
  // A time that falls with the work has no non-negative fit but a constant.
  const LinearBase constant = FitLinearBase({{points[0].first, 2.0}, {points[1].first, 1.0}});
  EXPECT_GE(constant.fixed_ms, 0);
  EXPECT_GE(constant.ms_per_flop, 0);
  EXPECT_GE(constant.ms_per_element, 0);
}

TEST(Predictor, RefusesFutureVersionsMissingFieldsAndCorruptFiles) {
  auto document = TrainedPredictor().ToJson();
  ASSERT_TRUE(document.ok());
  auto expect_bad = [](const nlohmann::json& doc, const std::string& fragment) {
    auto loaded = Predictor::FromJson(doc);
    ASSERT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.error().code, ErrorCode::kBadModel);
    EXPECT_NE(loaded.error().message.find(fragment), std::string::npos) << loaded.error().message;
  };
  auto future = *document;
  future["format_version"] = "3.0";
  expect_bad(future, "needs a later edgebench");
  auto later_minor = *document;  // a later minor version only adds fields: still read
  later_minor["format_version"] = "2.7";
  later_minor["something_new"] = 1;
  EXPECT_TRUE(Predictor::FromJson(later_minor).ok());
  for (const char* field : {"rules", "regressors", "feature_names", "overhead_ms", "format_version"}) {
    auto missing = *document;
    missing.erase(field);
    expect_bad(missing, field);
  }
  auto other_schema = *document;
  other_schema["schema"] = "edgebench.result/1";
  expect_bad(other_schema, "not a predictor file");
  auto unknown_feature = *document;
  unknown_feature["feature_names"].push_back("qubits");
  expect_bad(unknown_feature, "feature 'qubits'");
  auto broken_model = *document;
  broken_model["regressors"]["conv"]["model"] = {{"learner", "nonsense"}};
  expect_bad(broken_model, "regressor 'conv'");

  const std::string text = document->dump();
  const std::string path = testing::MakeTempDir() + "/truncated.json";
  std::ofstream(path) << text.substr(0, text.size() / 2);
  auto truncated = Predictor::Load(path);
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.error().code, ErrorCode::kBadModel);
  EXPECT_NE(truncated.error().message.find("truncated.json"), std::string::npos);
}

TEST(Predictor, AccuracyOnAHandMadeCase) {
  // Errors 4%, 0%, 9%, 50%.
  const Accuracy accuracy = ComputeAccuracy({1.04, 2.0, 3.27, 0.5}, {1, 2, 3, 1});
  EXPECT_EQ(accuracy.points, 4u);
  EXPECT_DOUBLE_EQ(accuracy.within_10_percent, 75);
  EXPECT_DOUBLE_EQ(accuracy.within_5_percent, 50);
  EXPECT_NEAR(accuracy.mape_percent, 15.75, 1e-9);
  EXPECT_NEAR(accuracy.rmse_ms, std::sqrt((0.04 * 0.04 + 0.27 * 0.27 + 0.25) / 4), 1e-12);
  EXPECT_EQ(ComputeAccuracy({}, {}).points, 0u);
}

TEST(Predictor, AdaptiveSamplingProposesNeighboursOfPoorPointsOnly) {
  KernelConfig conv;
  conv.type = "conv";
  conv.hin = conv.win = 28;
  conv.cin = conv.cout = 64;
  conv.kernel_size = 3;
  conv.stride = conv.groups = 1;
  KernelConfig dw = conv;
  dw.type = "dwconv";
  dw.groups = 64;
  const std::vector<ValidationPoint> points = {
      {conv, "a", 1.0, 1.05},  // 5% off: good enough
      {conv, "b", 1.0, 1.5},   // 50% off
      {dw, "c", 1.0, 0.5},     // 50% off
  };
  const auto proposed = ProposeAroundPoorPoints(points, 3, 1);
  ASSERT_EQ(proposed.size(), 6u);
  for (const auto& [config, source] : proposed) {
    EXPECT_TRUE(CheckKernelConfig(config).ok()) << ToJson(config).dump();
    EXPECT_EQ(source, config.type == "conv" ? "b" : "c");
    EXPECT_FALSE(config == conv || config == dw);
    if (config.type == "dwconv") {
      EXPECT_EQ(config.cin, config.cout);
      EXPECT_EQ(config.groups, config.cin);
    }
  }
  const auto again = ProposeAroundPoorPoints(points, 3, 1);
  ASSERT_EQ(again.size(), proposed.size());
  for (std::size_t i = 0; i < again.size(); ++i) EXPECT_EQ(again[i].config, proposed[i].config);
  EXPECT_TRUE(ProposeAroundPoorPoints({points[0]}, 3, 1).empty());
}

BenchResult Result(const std::string& path, double median_ms) {
  BenchResult result;
  result.model.path = path;
  result.runtime_name = "onnxruntime";
  result.latency_ms.p50 = median_ms;
  return result;
}

// Conv kernel models on a device whose layout conversions take 3 us each plus 2e-6 ms per element,
// profiled: the layout cost is found from the layout shares, the conversions of a blocked layout
// are predicted with it, and it survives the file.
TEST(Predictor, FitsTheLayoutCostOfBlockedKernels) {
  KernelRules rules = Rules();
  rules.layout_block_channels = 16;
  KernelDataSet data = SyntheticData();
  const auto layout_ms = [](const std::vector<KernelConfig>& reorders) {
    double ms = 0;
    for (const auto& r : reorders) ms += 0.003 + 2e-6 * static_cast<double>(r.cin * r.hin * r.win);
    return ms;
  };
  std::size_t blocked = 0;
  for (auto& point : data.points) {
    const auto reorders = LoneKernelReorders(point.config, 16);
    const double own = *point.median_ms - kOverheadMs, layout = layout_ms(reorders);
    point.median_ms = kOverheadMs + own + layout;
    point.layout_share = layout / (own + layout);
    blocked += reorders.empty() ? 0 : 1;
  }
  EXPECT_EQ(blocked, 251u);  // every conv (and the INVALID copy of one): channels multiples of 16
  // A profile that shows conversions where the rules predict none counts as disagreeing.
  KernelPoint odd = data.points.front();
  odd.config.cin = 18;  // neither below a block nor a multiple of a quarter of it: plain
  odd.layout_share = 0.5;
  data.points.push_back(odd);

  auto cost = FitLayoutCost({data}, rules, {});
  ASSERT_TRUE(cost.has_value());
  EXPECT_EQ(cost->block_channels, 16);
  EXPECT_EQ(cost->points, 250u);
  EXPECT_EQ(cost->disagreeing_points, 1u);
  EXPECT_NEAR(cost->fixed_ms, 0.003, 1e-6);
  EXPECT_NEAR(cost->ms_per_element, 2e-6, 1e-9);
  EXPECT_GT(cost->fit.within_5_percent, 99.0);
  EXPECT_FALSE(FitLayoutCost({data}, Rules(), {}).has_value());  // no blocked layout in the rules

  auto trained = Predictor::Train({data}, {}, rules, PredictorSettings{});
  ASSERT_TRUE(trained.ok()) << trained.error().message;
  EXPECT_TRUE(trained->HasType(kReorderKernelType));
  EXPECT_FALSE(TrainedPredictor().HasType(kReorderKernelType));
  const KernelConfig reorder{.type = kReorderKernelType, .hin = 28, .win = 28, .cin = 64, .cout = 64};
  auto predicted = trained->PredictKernelsMs({reorder});
  ASSERT_TRUE(predicted.ok()) << predicted.error().message;
  EXPECT_NEAR(predicted->front(), layout_ms({reorder}), 1e-6);
  auto document = trained->ToJson();
  ASSERT_TRUE(document.ok());
  auto loaded = Predictor::FromJson(nlohmann::json::parse(document->dump()));
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_TRUE(loaded->layout().has_value());
  EXPECT_DOUBLE_EQ(loaded->layout()->ms_per_element, trained->layout()->ms_per_element);
  EXPECT_EQ(loaded->layout()->disagreeing_points, 1u);
  EXPECT_EQ(loaded->rules().layout_block_channels, 16);
  auto broken = *document;
  broken["layout"].erase("fixed_ms");
  auto refused = Predictor::FromJson(broken);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("'layout'"), std::string::npos) << refused.error().message;
}

TEST(Predictor, PredictsARealModelKernelByKernelWithUnknownsAsALowerBound) {
  // The synthetic predictor knows conv and add only: tinycnn's pooling and fc kernels are unknown.
  auto prediction = PredictModel(TrainedPredictor(), testing::ZooModel("tinycnn", "onnx"), {});
  ASSERT_TRUE(prediction.ok()) << prediction.error().message;
  ASSERT_FALSE(prediction->kernels.empty());
  double sum = 0;
  bool any_conv = false;
  for (const auto& kernel : prediction->kernels) {
    if (kernel.kernel.config.type == "conv") {
      ASSERT_TRUE(kernel.ms.has_value());
      any_conv = true;
    }
    if (!TrainedPredictor().HasType(kernel.kernel.config.type)) EXPECT_FALSE(kernel.ms.has_value());
    sum += kernel.ms.value_or(0);
  }
  EXPECT_TRUE(any_conv);
  EXPECT_TRUE(prediction->lower_bound);
  ASSERT_FALSE(prediction->warnings.empty());
  EXPECT_NE(prediction->warnings.front().find("lower bound"), std::string::npos);
  EXPECT_DOUBLE_EQ(prediction->total_ms, kOverheadMs + sum);
  const std::string text = FormatPredictionText(*prediction);
  EXPECT_NE(text.find("predicted latency: >= "), std::string::npos) << text;
  EXPECT_NE(text.find("unknown"), std::string::npos) << text;
}

TEST(Predictor, EvaluateLeavesOutInvalidAndFailedResults) {
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  auto invalid = Result(model, 1.0);
  invalid.validity = {false, {"CV too high"}, {}};
  auto failed = Result(model, 0);
  failed.failure = RunFailure{"load", Internal("boom"), ""};
  auto valid = Result(model, 2.0);
  valid.model_cost = ModelCost{0, 500000000, 1000000000};
  auto evaluation = Evaluate(TrainedPredictor(), {invalid, failed, valid}, {{"tinycnn.onnx", "tiny"}});
  ASSERT_TRUE(evaluation.ok()) << evaluation.error().message;
  ASSERT_EQ(evaluation->models.size(), 1u);
  ASSERT_EQ(evaluation->left_out.size(), 2u);
  EXPECT_NE(evaluation->left_out[0].find("INVALID (CV too high)"), std::string::npos);
  EXPECT_NE(evaluation->left_out[1].find("failed (load)"), std::string::npos);
  const EvaluatedModel& evaluated = evaluation->models[0];
  EXPECT_EQ(evaluated.family, "tiny");
  EXPECT_EQ(evaluation->overall.points, 1u);
  EXPECT_EQ(evaluation->per_family.at("tiny").points, 1u);
  ASSERT_TRUE(evaluated.baseline_ms.has_value());
  EXPECT_DOUBLE_EQ(*evaluated.baseline_ms, TrainedPredictor().flops_baseline().ms_per_gflop * 1.0);
  // The synthetic conv costs 0.5e-6 ms per FLOP, 500 ms per GFLOP; the floor and the constant
  // 2 us (in every median) raise the fitted k a little.
  EXPECT_NEAR(TrainedPredictor().flops_baseline().ms_per_gflop, 500, 25);

  auto other_runtime = Result(model, 1.0);
  other_runtime.runtime_name = "tflite";
  auto refused = Evaluate(TrainedPredictor(), {other_runtime}, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("the predictor is for onnxruntime"), std::string::npos);

  const std::string html = FormatEvaluationHtml(*evaluation, TrainedPredictor());
  for (const char* id : {"predicted-vs-measured", "error-histogram", "accuracy-table"}) {
    EXPECT_NE(html.find(id), std::string::npos) << id;
  }
  EXPECT_EQ(html.find("http"), std::string::npos);  // no external resource
}

// The synthetic device measured against a reference of 0.5 ms, every other point while the
// machine ran 1.6 times slower (kernel and reference alike): the ratios put them back on one
// speed, so the predictor learns what one trained on the steady machine learns.
TEST(Predictor, TrainsOnRatiosToTheReferenceAndEvaluatesComparisonsOnItsScale) {
  KernelDataSet drifting = SyntheticData();
  drifting.reference = KernelReference{"ref-sha", ReferenceKernelConfig()};
  auto against_reference = [](KernelPoint& point, double slowdown) {
    point.reference_ratio = *point.median_ms / 0.5;
    point.reference_ms = 0.5 * slowdown;
    point.median_ms = *point.median_ms * slowdown;  // as timed
  };
  drifting.overhead.median_ms = kOverheadMs;
  against_reference(drifting.overhead, 1.0);
  for (std::size_t i = 0; i < drifting.points.size(); ++i) against_reference(drifting.points[i], i % 2 ? 1.6 : 1.0);
  auto trained = Predictor::Train({drifting}, {}, Rules(), PredictorSettings{});
  ASSERT_TRUE(trained.ok()) << trained.error().message;
  ASSERT_TRUE(trained->reference().has_value());
  EXPECT_EQ(trained->reference()->sha256, "ref-sha");
  EXPECT_DOUBLE_EQ(trained->reference()->median_ms, 0.5);  // the median of the reference's medians
  EXPECT_DOUBLE_EQ(trained->overhead_ms(), kOverheadMs);
  std::vector<KernelConfig> configs;
  for (const auto& point : SyntheticData().points) configs.push_back(point.config);
  auto steady = TrainedPredictor().PredictKernelsMs(configs);
  auto scaled = trained->PredictKernelsMs(configs);
  ASSERT_TRUE(steady.ok() && scaled.ok());
  EXPECT_EQ(*steady, *scaled);

  auto document = trained->ToJson();
  ASSERT_TRUE(document.ok());
  EXPECT_EQ(document->at("format_version"), "2.2");
  auto loaded = Predictor::FromJson(nlohmann::json::parse(document->dump()));
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_DOUBLE_EQ(loaded->reference()->median_ms, 0.5);

  // A comparison [reference, model]: the model's ratio times the predictor's reference median.
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  ComparisonResult comparison;
  comparison.variants.resize(2);
  comparison.variants[0].result = Result("reference.onnx", 0.8);
  comparison.variants[0].result.model.sha256 = "ref-sha";
  comparison.variants[1].result = Result(model, 4.8);
  comparison.ratios = {{"reference", {1.0, {1.0, 1.0}, 30}}, {"tinycnn", {6.0, {5.9, 6.1}, 30}}};
  auto results = ResultsOnReferenceScale(*loaded, comparison);
  ASSERT_TRUE(results.ok()) << results.error().message;
  ASSERT_EQ(results->size(), 1u);
  EXPECT_DOUBLE_EQ((*results)[0].latency_ms.p50, 3.0);
  EXPECT_EQ((*results)[0].model.path, model);
  EXPECT_TRUE((*results)[0].validity.valid);
  comparison.validity = {false, {"the ratio moved"}, {}};
  EXPECT_FALSE((*ResultsOnReferenceScale(*loaded, comparison))[0].validity.valid);

  comparison.variants[0].result.model.sha256 = "another";
  auto other_baseline = ResultsOnReferenceScale(*loaded, comparison);
  ASSERT_FALSE(other_baseline.ok());
  EXPECT_NE(other_baseline.error().message.find("not the predictor's reference model"), std::string::npos);
  auto no_reference = ResultsOnReferenceScale(TrainedPredictor(), comparison);
  ASSERT_FALSE(no_reference.ok());
  EXPECT_NE(no_reference.error().message.find("measured alone"), std::string::npos);

  // A profiled result takes the median and verdict of the same model's comparison.
  BenchResult profiled = Result(model, 4.8);
  profiled.model.sha256 = "tiny-sha";
  profiled.validity = {false, {"two clusters"}, {}};
  BenchResult other_model = Result("other.onnx", 1.0);
  other_model.model.sha256 = "other-sha";
  comparison.variants[0].result.model.sha256 = "ref-sha";
  comparison.variants[1].result.model.sha256 = "tiny-sha";
  comparison.validity = {};
  auto on_scale = ResultsOnReferenceScale(*loaded, comparison);
  ASSERT_TRUE(on_scale.ok());
  const auto merged = WithMediansOnReferenceScale({profiled, other_model}, *on_scale);
  EXPECT_DOUBLE_EQ(merged[0].latency_ms.p50, 3.0);
  EXPECT_TRUE(merged[0].validity.valid);
  EXPECT_DOUBLE_EQ(merged[1].latency_ms.p50, 1.0);

  // Data sets measured alone and against the reference are not trained on together.
  auto mixed = Predictor::Train({drifting, SyntheticData()}, {}, Rules(), PredictorSettings{});
  ASSERT_FALSE(mixed.ok());
  EXPECT_NE(mixed.error().message.find("not on one scale"), std::string::npos);
}

}  // namespace
}  // namespace edgebench
