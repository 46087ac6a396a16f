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
      "kernel type  kernels  ms/inference   share\n"
      "-----------  -------  ------------  ------\n"
      "Convolution       28        15.769  96.41%\n"
      "Padding            5        0.5389   3.29%\n"
      "Pooling            1        0.0314   0.19%\n"
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
            "| a | 144.5 | 123.4 |  | 1.137B |\n"
            "| b | 3.480 | failed |  | 0.783B |\n"
            "| c |  |  | 7.681 |  |\n"
            "\nmedian latency in ms; FLOPs = 2 x MACs (edgebench inspect)\n");
}

TEST(FormatLatencyTable, Csv) {
  EXPECT_EQ(FormatLatencyTable(LatencyMatrixResults(), TableStyle::kCsv),
            "model,onnxruntime (pi),opencv (pi),libtorch (nano),FLOPs\n"
            "a,144.5,123.4,,1.137B\n"
            "b,3.480,failed,,0.783B\n"
            "c,,,7.681,\n");
}

TEST(FormatLatencyTable, Text) {
  EXPECT_EQ(FormatLatencyTable(LatencyMatrixResults(), TableStyle::kText),
            "model  onnxruntime (pi)  opencv (pi)  libtorch (nano)   FLOPs\n"
            "-----  ----------------  -----------  ---------------  ------\n"
            "a                 144.5        123.4                   1.137B\n"
            "b                 3.480       failed                   0.783B\n"
            "c                                               7.681        \n"
            "\nmedian latency in ms; FLOPs = 2 x MACs (edgebench inspect)\n");
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
            "model,runtime (device),precision,median ms,vs fp32,error,top-1,checked on,file MB\n"
            "m,tflite (pi),fp32,10.000,1.00x,2.3e-05,100%,tflite,4.00\n"
            "m,tflite (pi),fp16,12.500,0.80x,,,,4.00\n"
            "m,tflite (pi),int8,5.000,2.00x,0.0217,100%,tflite,4.00\n"
            "m,onnxruntime (pi),fp32,3.000,1.00x,,,(as submitted),0.00\n");
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
                      "transfers  2 copy kernels, 0.4000 ms/inference (20.0% of the time)\n"),
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

}  // namespace
}  // namespace edgebench
