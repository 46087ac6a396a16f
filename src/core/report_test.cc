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

// The kernel-type table, as paper A's Table 4: expected text.
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

// The fusion map, as paper A's Tables 3 and 5, and the placement line (paper B).
TEST(FormatResultText, ShowsTheFusionMapAndPlacement) {
  BenchResult result = ProfiledResult();
  result.fusion = FusionMap{.source_nodes = 9,
                            .kernels = 5,
                            .patterns = {{{"Conv", "BatchNormalization", "Clip"}, "Conv", 2},
                                         {{"Pad", "Conv", "BatchNormalization", "Clip"}, "Conv", 1}},
                            .removed = {{"Dropout", 1}},
                            .added = {{"ReorderOutput", 2}, {"ReorderInput", 1}}};
  result.profile_by_provider = {{"dla", 3}, {"gpu", 2}};
  const std::string expected =
      "fusion map (9 source nodes -> 5 kernels)\n"
      "source nodes                      kernel  kernels\n"
      "--------------------------------  ------  -------\n"
      "Conv+BatchNormalization+Clip      Conv          2\n"
      "Pad+Conv+BatchNormalization+Clip  Conv          1\n"
      "removed by the runtime: Dropout x1\n"
      "added by the runtime: ReorderOutput x2, ReorderInput x1\n"
      "\n"
      "placement  3 of 5 kernels ran on dla, 2 of 5 kernels ran on gpu\n"
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

std::vector<BenchResult> Table2Results() {
  std::vector<BenchResult> results = {Measured("a.onnx", "onnxruntime", "pi", 144.46, 1'137'000'000),
                                      Measured("a.onnx", "opencv", "pi", 123.4, 1'137'000'000),
                                      Measured("b.onnx", "onnxruntime", "pi", 3.48, 783'000'000),
                                      Measured("c.pt", "libtorch", "nano", 7.6812, std::nullopt)};
  results.push_back(Measured("b.onnx", "opencv", "pi", 0, 783'000'000));
  results.back().failure = RunFailure{"load", Unsupported("b.onnx: no")};
  return results;
}

// Paper A's Table 2 layout in each format: expected text.
TEST(FormatLatencyTable, Markdown) {
  EXPECT_EQ(FormatLatencyTable(Table2Results(), TableStyle::kMarkdown),
            "| model | onnxruntime (pi) | opencv (pi) | libtorch (nano) | FLOPs |\n"
            "| --- | ---: | ---: | ---: | ---: |\n"
            "| a | 144.5 | 123.4 |  | 1.137B |\n"
            "| b | 3.480 | failed |  | 0.783B |\n"
            "| c |  |  | 7.681 |  |\n"
            "\nmedian latency in ms; FLOPs = 2 x MACs (edgebench inspect)\n");
}

TEST(FormatLatencyTable, Csv) {
  EXPECT_EQ(FormatLatencyTable(Table2Results(), TableStyle::kCsv),
            "model,onnxruntime (pi),opencv (pi),libtorch (nano),FLOPs\n"
            "a,144.5,123.4,,1.137B\n"
            "b,3.480,failed,,0.783B\n"
            "c,,,7.681,\n");
}

TEST(FormatLatencyTable, Text) {
  EXPECT_EQ(FormatLatencyTable(Table2Results(), TableStyle::kText),
            "model  onnxruntime (pi)  opencv (pi)  libtorch (nano)   FLOPs\n"
            "-----  ----------------  -----------  ---------------  ------\n"
            "a                 144.5        123.4                   1.137B\n"
            "b                 3.480       failed                   0.783B\n"
            "c                                               7.681        \n"
            "\nmedian latency in ms; FLOPs = 2 x MACs (edgebench inspect)\n");
}

}  // namespace
}  // namespace edgebench
