#include "edgebench/report.h"

#include <gtest/gtest.h>

namespace edgebench {
namespace {

BenchResult ProfiledResult() {
  BenchResult result;
  result.model = {"m.onnx", "abc123", 42, ModelFormat::kOnnx};
  result.runtime_name = "opencv";
  result.samples_ms = {1, 2, 3};
  result.latency_ms = ComputeLatencyStats(result.samples_ms);
  result.profile = OpProfile{"opencv getPerfProfile", 4, {}};
  result.profile_by_type = {{"Convolution", 28, 15.769, 0.9641},
                            {"Padding", 5, 0.5389, 0.0329},
                            {"Pooling", 1, 0.0314, 0.0019}};
  return result;
}

// The robust spread, memory and interference lines: expected text.
TEST(FormatResultText, ShowsSpreadMemoryAndInterference) {
  BenchResult result = ProfiledResult();
  result.memory = MemoryUse{20 << 20, 30 << 20, 29 << 20, true};
  Interference interference;
  interference.steal_percent = 1.25;
  interference.involuntary_context_switches = 7;
  interference.voluntary_context_switches = 2;
  interference.thermal_zones = {{"thermal_zone0", "cpu-thermal", 50, 70.5, 65}};
  interference.throttled_flags = 0x4;
  interference.power = {{"hwmon/hwmon1 ina3221 VDD_IN", 5.5, 1.25}};
  result.interference = interference;
  const std::string text = FormatResultText(result);
  EXPECT_NE(text.find("spread   robust CV 74.1% (MAD 1.000 ms), 0 outliers of 3 runs\n"), std::string::npos) << text;
  EXPECT_NE(text.find("memory   RSS 20.0 MiB before load, +10.0 MiB load, -1.0 MiB inference (peak 29.0 MiB during "
                      "the runs)\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("noise    steal 1.2%, iowait unknown, context switches 7 involuntary, 2 voluntary\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("sensors  cpu-thermal 50.0-70.5 C; throttling flags: throttled; hwmon/hwmon1 ina3221 VDD_IN "
                      "5.50 W, 1.25 mJ/inference\n"),
            std::string::npos)
      << text;
}

// The operator shares table: expected text.
TEST(FormatResultText, ShowsTheProfileByKernelType) {
  const std::string text = FormatResultText(ProfiledResult());
  const std::string expected =
      "\noperator profile (opencv getPerfProfile, 4 runs after the timed ones)\n"
      "kernel type  kernels  per inference   share\n"
      "-----------  -------  -------------  ------\n"
      "Convolution       28       15.77 ms  96.41%\n"
      "Padding            5       538.9 us   3.29%\n"
      "Pooling            1       31.40 us   0.19%\n"
      "\n"
      "verdict  VALID\n";
  EXPECT_NE(text.find(expected), std::string::npos) << text;
}

TEST(FormatResultText, ShowsTheTopTenKernelTypesOnly) {
  BenchResult result = ProfiledResult();
  result.profile_by_type.resize(12, {"Other", 1, 0.001, 0.0001});
  const std::string text = FormatResultText(result);
  EXPECT_NE(text.find("(2 more kernel types in the JSON document)\n"), std::string::npos) << text;
  result.profile.reset();
  EXPECT_EQ(FormatResultText(result).find("operator profile"), std::string::npos);
}

// The fusion map and the placement line.
TEST(FormatResultText, ShowsTheFusionMapAndPlacement) {
  BenchResult result = ProfiledResult();
  result.fusion = FusionMap{.source_nodes = 9,
                            .kernels = 5,
                            .patterns = {{{"Conv", "BatchNormalization", "Clip"}, "Conv", 2},
                                         {{"Pad", "Conv", "BatchNormalization", "Clip"}, "Conv", 1}},
                            .removed = {{"Dropout", 1}},
                            .added = {{"ReorderOutput", 2}, {"ReorderInput", 1}}};
  result.profile_by_provider = {{"dla", 3, 0.75}, {"gpu", 2, 0.25}};
  const std::string expected =
      "fusion map (9 source nodes -> 5 kernels)\n"
      "source nodes                      kernel  kernels\n"
      "--------------------------------  ------  -------\n"
      "Conv+BatchNormalization+Clip      Conv          2\n"
      "Pad+Conv+BatchNormalization+Clip  Conv          1\n"
      "removed by the runtime: Dropout x1\n"
      "added by the runtime: ReorderOutput x2, ReorderInput x1\n"
      "\n"
      "placement  3 of 5 kernels ran on dla (75.0% of the time), 2 of 5 kernels ran on gpu (25.0% of the time)\n"
      "transfers  no host/device copy kernels reported\n"
      "verdict  VALID\n";
  const std::string text = FormatResultText(result);
  EXPECT_NE(text.find(expected), std::string::npos) << text;
}

BenchResult Measured(const std::string& model, const std::string& runtime, const std::string& host,
                     double median_ms, std::optional<int64_t> flops) {
  BenchResult r;
  r.model.path = "/zoo/" + model;
  r.runtime_name = runtime;
  r.environment.hostname = host;
  r.latency_ms.p50 = median_ms;
  if (flops) r.model_cost = ModelCost{0, *flops / 2, *flops};
  return r;
}

std::vector<BenchResult> LatencyMatrixResults() {
  std::vector<BenchResult> results = {Measured("a.onnx", "onnxruntime", "pi", 144.46, 1'137'000'000),
                                      Measured("a.onnx", "opencv", "pi", 123.4, 1'137'000'000),
                                      Measured("b.onnx", "onnxruntime", "pi", 3.48, 783'000'000),
                                      Measured("c.pt", "libtorch", "nano", 7.6812, std::nullopt)};
  results.push_back(Measured("b.onnx", "opencv", "pi", 0, 783'000'000));
  results.back().failure = RunFailure{"load", Unsupported("b.onnx: no")};
  return results;
}

// The latency matrix in each format: expected text.
TEST(FormatLatencyTable, Markdown) {
  EXPECT_EQ(FormatLatencyTable(LatencyMatrixResults(), TableStyle::kMarkdown),
            "| model | onnxruntime (pi) | opencv (pi) | libtorch (nano) | FLOPs |\n"
            "| --- | ---: | ---: | ---: | ---: |\n"
            "| a | 144.5 ms | 123.4 ms |  | 1.137B |\n"
            "| b | 3.480 ms | failed !1 |  | 0.783B |\n"
            "| c |  |  | 7.681 ms |  |\n"
            "\n4 of 5 results valid; 0 INVALID (!), 0 with warnings (\\~), 1 failed  \n"
            "!1 INVALID: failed at load: b.onnx: no  \n"
            "\n" + std::string(kLatencyTableNote) + "\n");
}

TEST(FormatLatencyTable, Csv) {
  EXPECT_EQ(FormatLatencyTable(LatencyMatrixResults(), TableStyle::kCsv),
            "model,column,runtime,runtime_version,device,threads,precision,n,median_ms,valid,reasons,warnings,flops\n"
            "a,onnxruntime (pi),onnxruntime,,pi,0,,1,144.46,true,,,1137000000\n"
            "a,opencv (pi),opencv,,pi,0,,1,123.4,true,,,1137000000\n"
            "b,onnxruntime (pi),onnxruntime,,pi,0,,1,3.48,true,,,783000000\n"
            "b,opencv (pi),opencv,,pi,0,,1,,false,failed at load: b.onnx: no,,783000000\n"
            "c,libtorch (nano),libtorch,,nano,0,,1,7.6812,true,,,\n");
}

TEST(FormatLatencyTable, Text) {
  EXPECT_EQ(FormatLatencyTable(LatencyMatrixResults(), TableStyle::kText),
            "model  onnxruntime (pi)  opencv (pi)  libtorch (nano)   FLOPs\n"
            "-----  ----------------  -----------  ---------------  ------\n"
            "a              144.5 ms     123.4 ms                   1.137B\n"
            "b              3.480 ms    failed !1                   0.783B\n"
            "c                                            7.681 ms        \n"
            "\n4 of 5 results valid; 0 INVALID (!), 0 with warnings (~), 1 failed\n"
            "!1  INVALID: failed at load: b.onnx: no\n"
            "\n" + std::string(kLatencyTableNote) + "\n");
}

// The hidden cost of fallback: host/device copies inserted at a provider boundary.
// The precision table: per source model and column, fp32 first, speed-up over fp32, and the
// conversion's error and top-1 agreement.
TEST(FormatPrecisionTable, ComparesPrecisionsOfOneModelAndColumn) {
  auto converted = [](const std::string& precision, double median_ms, double error, double top1) {
    BenchResult r = Measured("m." + precision + ".tflite", "tflite", "pi", median_ms, std::nullopt);
    r.model.size_bytes = 4 << 20;
    r.conversion = ConversionInfo{"m.onnx", std::string(64, 'a'), "tflite", precision, "2",
                                  AccuracyCost{"tflite", "onnxruntime", "4 random samples", 4, error, 0, error, top1}};
    return r;
  };
  std::vector<BenchResult> results = {converted("int8", 5, 0.0217, 1.0), converted("fp32", 10, 2.3e-5, 1.0),
                                      Measured("m.onnx", "onnxruntime", "pi", 3, std::nullopt)};
  results.push_back(converted("fp16", 12.5, 1.6e-3, 0.5));
  results.back().conversion->accuracy.reset();
  EXPECT_EQ(FormatPrecisionTable(results, TableStyle::kCsv),
            "model,column,precision,n,median_ms,vs_fp32,error,top1,checked_on,file_mb,valid,reasons,warnings\n"
            "m,tflite (pi),fp32,1,10,1.000,2.3e-05,1,tflite,4.00,true,,\n"
            "m,tflite (pi),fp16,1,12.5,0.800,,,,4.00,true,,\n"
            "m,tflite (pi),int8,1,5,2.000,0.0217,1,tflite,4.00,true,,\n"
            "m,onnxruntime (pi),fp32,1,3,1.000,,,(as submitted),0.00,true,,\n");
  EXPECT_EQ(FormatPrecisionTable({Measured("m.onnx", "onnxruntime", "pi", 3, std::nullopt)}, TableStyle::kText), "");
}

TEST(FormatResultText, SumsTheTransferKernels) {
  BenchResult result = ProfiledResult();
  result.profile->profiled_runs = 2;
  result.profile->kernels = {
      {"copy_in", "MemcpyFromHost", {}, "CUDAExecutionProvider", "", 0.5, 2},
      {"conv", "Conv", {}, "CUDAExecutionProvider", "", 3.0, 2},
      {"softmax", "Softmax", {}, "CPUExecutionProvider", "", 0.2, 2},
      {"copy_out", "MemcpyToHost", {}, "CUDAExecutionProvider", "", 0.3, 2}};
  result.profile_by_provider = SummarizeByProvider(*result.profile);
  const std::string text = FormatResultText(result);
  EXPECT_NE(text.find("placement  3 of 4 kernels ran on CUDAExecutionProvider (95.0% of the time), "
                      "1 of 4 kernels ran on CPUExecutionProvider (5.0% of the time)\n"
                      "transfers  2 copy kernels, 400.0 us/inference (20.0% of the time)\n"),
            std::string::npos)
      << text;
}

// Operator shares side by side: two runtimes profiled on one model.
std::vector<BenchResult> ProfiledPair() {
  BenchResult opencv = ProfiledResult();
  opencv.model.path = "/zoo/mobilenetv1.onnx";
  opencv.environment.hostname = "pi";
  BenchResult ort = opencv;
  ort.runtime_name = "onnxruntime";
  ort.profile->source = "onnxruntime profiler";
  ort.profile_by_type = {{"Conv", 28, 3.01, 0.994}, {"ReorderOutput", 1, 0.01, 0.004}};
  BenchResult unprofiled = ort;
  unprofiled.runtime_name = "libtorch";
  unprofiled.profile.reset();
  return {opencv, ort, unprofiled};
}

TEST(FormatOperatorShareTables, Text) {
  EXPECT_EQ(FormatOperatorShareTables(ProfiledPair(), 2, TableStyle::kText),
            "mobilenetv1\n"
            "#  opencv (pi)  kernels  share  onnxruntime (pi)  kernels  share\n"
            "-  -----------  -------  -----  ----------------  -------  -----\n"
            "1  Convolution       28  96.4%  Conv                   28  99.4%\n"
            "2  Padding            5   3.3%  ReorderOutput           1   0.4%\n"
            "\n" + std::string(kOperatorShareNote) + "\n");
}

TEST(FormatOperatorShareTables, MarkdownFillsShorterColumns) {
  EXPECT_EQ(FormatOperatorShareTables(ProfiledPair(), 3, TableStyle::kMarkdown),
            "### mobilenetv1\n\n"
            "| # | opencv (pi) | kernels | share | onnxruntime (pi) | kernels | share |\n"
            "| ---: | --- | ---: | ---: | --- | ---: | ---: |\n"
            "| 1 | Convolution | 28 | 96.4% | Conv | 28 | 99.4% |\n"
            "| 2 | Padding | 5 | 3.3% | ReorderOutput | 1 | 0.4% |\n"
            "| 3 | Pooling | 1 | 0.2% |  |  |  |\n"
            "\n" + std::string(kOperatorShareNote) + "\n");
}

TEST(FormatOperatorShareTables, CsvIsLongFormat) {
  EXPECT_EQ(FormatOperatorShareTables(ProfiledPair(), 1, TableStyle::kCsv),
            "model,column,rank,kernel_type,kernels,ms_per_inference,share\n"
            "mobilenetv1,opencv (pi),1,Convolution,28,15.769,0.9641\n"
            "mobilenetv1,onnxruntime (pi),1,Conv,28,3.010,0.9940\n");
}

TEST(FormatOperatorShareTables, SaysWhenNothingWasProfiled) {
  std::vector<BenchResult> results = ProfiledPair();
  for (auto& r : results) r.profile.reset();
  EXPECT_EQ(FormatOperatorShareTables(results, 5, TableStyle::kText),
            "no result with an operator profile (run edgebench bench --profile)\n");
}


// Verdict markers and result identity, the same results in every format: a valid result, an
// INVALID one (two reasons), a warned one, one model at two thread counts, and three exact
// duplicates (one of them INVALID for a reason another result has too).
BenchResult Judged(const std::string& model, int threads, double median_ms, std::vector<std::string> reasons,
                   std::vector<std::string> warnings) {
  BenchResult r = Measured(model, "onnxruntime", "pi", median_ms, 2'000'000'000);
  r.model.sha256 = model;
  r.model_cost->params = 1'000'000;
  r.runtime_version = "1.29.0";
  r.device = "pi";
  r.environment.cpu_model = "cpu";
  r.samples_ms = {median_ms};
  r.settings.threads = threads;
  r.validity = {reasons.empty(), std::move(reasons), std::move(warnings)};
  return r;
}

const std::string kCv = "coefficient of variation 23.0% above 10.0%: timing is unstable";
const std::string kFew = "only 3 timed runs, fewer than the minimum 30";
const std::string kGovernor = "cpufreq governor not exposed (VM or container?): frequency scaling unknown";

std::vector<BenchResult> VerdictResults() {
  return {Judged("valid.onnx", 1, 2.5, {}, {}),
          Judged("invalid.onnx", 1, 14.08, {kCv, kFew}, {}),
          Judged("warned.onnx", 1, 0.8753, {}, {kGovernor}),
          Judged("valid.onnx", 2, 1.5, {}, {}),
          Judged("dup.onnx", 1, 1000, {}, {}),
          Judged("dup.onnx", 1, 1200, {kCv}, {}),
          Judged("dup.onnx", 1, 1100, {}, {})};
}

TEST(FormatLatencyTable, MarksVerdictsAndSeparatesSettingsInText) {
  EXPECT_EQ(FormatLatencyTable(VerdictResults(), TableStyle::kText),
            "model    onnxruntime t=1 (pi)  onnxruntime t=2 (pi)   FLOPs\n"
            "-------  --------------------  --------------------  ------\n"
            "valid                2.500 ms              1.500 ms  2.000B\n"
            "invalid         14.08 ms !1,2                        2.000B\n"
            "warned            875.3 us ~1                        2.000B\n"
            "dup            1.100 s n=3 !1                        2.000B\n"
            "\n"
            "5 of 7 results valid; 2 INVALID (!), 1 with warnings (~)\n"
            "!1  INVALID: " + kCv + "\n"
            "!2  INVALID: " + kFew + "\n"
            "~1  warning: " + kGovernor + "\n"
            "\n" + std::string(kLatencyTableNote) + "\n");
}

TEST(FormatLatencyTable, MarksVerdictsInMarkdown) {
  EXPECT_EQ(FormatLatencyTable(VerdictResults(), TableStyle::kMarkdown),
            "| model | onnxruntime t=1 (pi) | onnxruntime t=2 (pi) | FLOPs |\n"
            "| --- | ---: | ---: | ---: |\n"
            "| valid | 2.500 ms | 1.500 ms | 2.000B |\n"
            "| invalid | 14.08 ms !1,2 |  | 2.000B |\n"
            "| warned | 875.3 us \\~1 |  | 2.000B |\n"
            "| dup | 1.100 s n=3 !1 |  | 2.000B |\n"
            "\n"
            "5 of 7 results valid; 2 INVALID (!), 1 with warnings (\\~)  \n"
            "!1 INVALID: " + kCv + "  \n"
            "!2 INVALID: " + kFew + "  \n"
            "\\~1 warning: " + kGovernor + "  \n"
            "\n" + std::string(kLatencyTableNote) + "\n");
}

TEST(FormatLatencyTable, CsvIsLongWithNumbersAndVerdictColumns) {
  EXPECT_EQ(FormatLatencyTable(VerdictResults(), TableStyle::kCsv),
            "model,column,runtime,runtime_version,device,threads,precision,n,median_ms,valid,reasons,warnings,flops\n"
            "valid,onnxruntime t=1 (pi),onnxruntime,1.29.0,pi,1,,1,2.5,true,,,2000000000\n"
            "valid,onnxruntime t=2 (pi),onnxruntime,1.29.0,pi,2,,1,1.5,true,,,2000000000\n"
            "invalid,onnxruntime t=1 (pi),onnxruntime,1.29.0,pi,1,,1,14.08,false,"
            "\"coefficient of variation 23.0% above 10.0%: timing is unstable; "
            "only 3 timed runs, fewer than the minimum 30\",,2000000000\n"
            "warned,onnxruntime t=1 (pi),onnxruntime,1.29.0,pi,1,,1,0.8753,true,,"
            "cpufreq governor not exposed (VM or container?): frequency scaling unknown,2000000000\n"
            "dup,onnxruntime t=1 (pi),onnxruntime,1.29.0,pi,1,,3,1100,false,"
            "coefficient of variation 23.0% above 10.0%: timing is unstable,,2000000000\n");
}


TEST(FormatAnalysisText, CorrelatesValidResultsPerSettingsAndSaysWhatItLeftOut) {
  EXPECT_EQ(FormatAnalysisText(AnalyzeResults(VerdictResults()), {}, CountVerdicts(VerdictResults())),
            "5 of 7 results valid; 2 INVALID (!), 1 with warnings (~)\n"
            "\n"
            "onnxruntime t=1 (pi), onnxruntime 1.29.0 on pi (cpu): 2 models (2 INVALID left out of the "
            "correlations; --include-invalid keeps them)\n"
            "  latency vs FLOPs:  Pearson n/a, Spearman n/a\n"
            "  latency vs params: Pearson n/a, Spearman n/a\n"
            "\n"
            "model        median   FLOPs  params  ms/GFLOP  zero-FLOP ops\n"
            "------  -----------  ------  ------  --------  -------------\n"
            "valid      2.500 ms  2.000B   1.00M      1.25              -\n"
            "warned  875.3 us ~1  2.000B   1.00M      0.44              -\n"
            "  left out: invalid 14.08 ms !1,2\n"
            "  left out: dup 1.100 s n=3 !1\n"
            "\n"
            "onnxruntime t=2 (pi), onnxruntime 1.29.0 on pi (cpu): 1 models\n"
            "  latency vs FLOPs:  Pearson n/a, Spearman n/a\n"
            "  latency vs params: Pearson n/a, Spearman n/a\n"
            "\n"
            "model    median   FLOPs  params  ms/GFLOP  zero-FLOP ops\n"
            "-----  --------  ------  ------  --------  -------------\n"
            "valid  1.500 ms  2.000B   1.00M      0.75              -\n"
            "\n"
            "!1  INVALID: " + kCv + "\n"
            "!2  INVALID: " + kFew + "\n"
            "~1  warning: " + kGovernor + "\n");
  // Asked to, the INVALID points join the correlations, marked; duplicates are one point.
  const auto groups = AnalyzeResults(VerdictResults(), nullptr, /*include_invalid=*/true);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].points.size(), 4u);
  EXPECT_TRUE(groups[0].left_out.empty());
  const std::string text = FormatAnalysisText(groups, {}, CountVerdicts(VerdictResults()));
  EXPECT_NE(text.find("dup      1.100 s n=3 !1"), std::string::npos) << text;
  EXPECT_EQ(text.find("left out"), std::string::npos) << text;
}

// The precision table: duplicates of one precision aggregated, each row marked.
TEST(FormatPrecisionTable, MarksVerdictsAndAggregatesDuplicates) {
  auto converted = [](const std::string& precision, double median_ms, std::vector<std::string> reasons) {
    BenchResult r = Judged("m." + precision + ".tflite", 0, median_ms, std::move(reasons), {});
    r.runtime_name = "tflite";
    r.model_cost.reset();
    r.model.size_bytes = 1 << 20;
    r.conversion = ConversionInfo{"m.onnx", std::string(64, 'a'), "tflite", precision, "2",
                                  AccuracyCost{"tflite", "onnxruntime", "4 random samples", 4, 0.01, 0, 0.01, 1.0}};
    return r;
  };
  const std::vector<BenchResult> results = {converted("fp32", 10, {}), converted("fp16", 6, {kCv}),
                                            converted("fp16", 4, {}), converted("int8", 2.5, {kFew})};
  EXPECT_EQ(FormatPrecisionTable(results, TableStyle::kText),
            "model  runtime (device)  precision           median  vs fp32  error  top-1  checked on  file MB\n"
            "-----  ----------------  ---------  ---------------  -------  -----  -----  ----------  -------\n"
            "m      tflite (pi)       fp32              10.00 ms    1.00x   0.01   100%  tflite         1.00\n"
            "m      tflite (pi)       fp16       5.000 ms n=2 !1    2.00x   0.01   100%  tflite         1.00\n"
            "m      tflite (pi)       int8           2.500 ms !2    4.00x   0.01   100%  tflite         1.00\n"
            "\n"
            "2 of 4 results valid; 2 INVALID (!), 0 with warnings (~)\n"
            "!1  INVALID: " + kCv + "\n"
            "!2  INVALID: " + kFew + "\n"
            "\n" + std::string(kPrecisionTableNote) + "\n");
  EXPECT_EQ(FormatPrecisionTable(results, TableStyle::kCsv),
            "model,column,precision,n,median_ms,vs_fp32,error,top1,checked_on,file_mb,valid,reasons,warnings\n"
            "m,tflite (pi),fp32,1,10,1.000,0.01,1,tflite,1.00,true,,\n"
            "m,tflite (pi),fp16,2,5,2.000,0.01,1,tflite,1.00,false," + kCv + ",\n"
            "m,tflite (pi),int8,1,2.5,4.000,0.01,1,tflite,1.00,false,\"" + kFew + "\",\n");
}

TEST(FormatResultText, MarksTheMedianAndNumbersTheVerdict) {
  BenchResult result = Judged("m.onnx", 1, 14.08, {kCv, kFew}, {kGovernor});
  result.samples_ms = {14, 14.08, 14.2};
  result.latency_ms = ComputeLatencyStats(result.samples_ms);
  const std::string text = FormatResultText(result);
  EXPECT_NE(text.find("device   pi\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nmedian 14.08 ms !1,2 ~1, 95% CI ["), std::string::npos) << text;
  EXPECT_NE(text.find("verdict  INVALID\n"
                      "  !1 reason: " + kCv + "\n"
                      "  !2 reason: " + kFew + "\n"
                      "  ~1 warning: " + kGovernor + "\n"),
            std::string::npos)
      << text;
}

TEST(FormatDuration, ScalesToFourSignificantDigits) {
  EXPECT_EQ(FormatDuration(0.0004567), "456.7 ns");
  EXPECT_EQ(FormatDuration(0.8753), "875.3 us");
  EXPECT_EQ(FormatDuration(14.08), "14.08 ms");
  EXPECT_EQ(FormatDuration(144.46), "144.5 ms");
  EXPECT_EQ(FormatDuration(1234.5), "1.234 s");  // round-half-even of the binary value
  EXPECT_EQ(FormatDuration(0), "0.000 ms");
}

// Columns are named by what differs among results of one runtime and device, and only by that.
TEST(IdentityLabels, NameWhatDiffersOnly) {
  BenchResult base = Judged("m.onnx", 0, 1, {}, {});
  BenchResult spin = base;
  spin.settings.options = {{"intra_op_spin", "0"}};
  BenchResult other_device = base;
  other_device.device = "nano";
  BenchResult opencv = base;
  opencv.runtime_name = "opencv";
  opencv.settings.threads = 4;
  const std::vector<std::vector<IdentityPart>> identities = {TimingIdentity(base), TimingIdentity(spin),
                                                             TimingIdentity(other_device), TimingIdentity(opencv)};
  EXPECT_EQ(IdentityLabels(identities), (std::vector<std::string>{"onnxruntime (pi)", "onnxruntime intra_op_spin=0 (pi)",
                                                                  "onnxruntime (nano)", "opencv (pi)"}));
  // An older document without `device` is named by its hostname.
  BenchResult old = base;
  old.device.clear();
  old.environment.hostname = "box";
  EXPECT_EQ(DeviceName(old), "box");
}

// Exact duplicates are one cell whatever the order; results differing in a setting never merge.
TEST(BuildLatencyTable, OrderOfFilesChangesNothing) {
  std::vector<BenchResult> results = VerdictResults();
  std::swap(results[4], results[6]);
  std::swap(results[0], results[3]);
  const LatencyTable table = BuildLatencyTable(results);
  ASSERT_EQ(table.columns.size(), 2u);
  EXPECT_EQ(table.cells[0][0].median_ms, 1.5);  // "valid" t=2, first now
  EXPECT_EQ(table.cells[0][1].median_ms, 2.5);
  EXPECT_EQ(table.cells[3][1].median_ms, 1100);
  EXPECT_EQ(table.cells[3][1].results, 3u);
  EXPECT_FALSE(table.cells[3][1].valid);
}

// Two files with one name and one identity (an edited model) are two rows, not one cell.
TEST(GroupDuplicates, SeparatesDifferentFilesOfOneName) {
  BenchResult first = Judged("m.onnx", 1, 1, {}, {});
  first.model.sha256 = "aaaaaaaaaaaa";
  BenchResult second = first;
  second.model.sha256 = "bbbbbbbbbbbb";
  const auto groups = GroupDuplicates({first, second, first});
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].model, "m@aaaaaaaa");
  EXPECT_EQ(groups[1].model, "m@bbbbbbbb");
  EXPECT_EQ(groups[0].results.size(), 2u);
}

}  // namespace
}  // namespace edgebench
