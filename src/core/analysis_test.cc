#include "edgebench/analysis.h"

#include <gtest/gtest.h>

#include <cmath>

namespace edgebench {
namespace {

TEST(Pearson, MatchesHandComputedValue) {
  // x = 1..5, y = {2, 4, 5, 4, 5}: sxy = 6, sxx = 10, syy = 6 -> 6 / sqrt(60) = 0.7746.
  std::vector<double> x = {1, 2, 3, 4, 5}, y = {2, 4, 5, 4, 5};
  EXPECT_NEAR(*Pearson(x, y), 6 / std::sqrt(60.0), 1e-12);
  std::vector<double> negated = {-2, -4, -5, -4, -5};
  EXPECT_NEAR(*Pearson(x, negated), -6 / std::sqrt(60.0), 1e-12);
}

TEST(Pearson, UndefinedForFewPointsOrConstants) {
  std::vector<double> two = {1, 2}, constant = {3, 3, 3}, line = {1, 2, 3};
  EXPECT_FALSE(Pearson(two, two).has_value());
  EXPECT_FALSE(Pearson(constant, line).has_value());
}

TEST(FitLine, LeastSquaresByHand) {
  // x = 1..5, y = {2, 4, 5, 4, 5}: slope = sxy / sxx = 6 / 10, intercept = 4 - 0.6 * 3 = 2.2.
  std::vector<double> x = {1, 2, 3, 4, 5}, y = {2, 4, 5, 4, 5};
  const auto fit = FitLine(x, y);
  ASSERT_TRUE(fit.has_value());
  EXPECT_NEAR(fit->slope, 0.6, 1e-12);
  EXPECT_NEAR(fit->intercept, 2.2, 1e-12);
  std::vector<double> one = {1}, constant = {3, 3, 3};
  EXPECT_FALSE(FitLine(one, one).has_value());
  EXPECT_FALSE(FitLine(constant, x).has_value());
}

TEST(AverageRanks, AveragesTies) {
  std::vector<double> values = {10, 20, 20, 5};
  EXPECT_EQ(AverageRanks(values), (std::vector<double>{2, 3.5, 3.5, 1}));
}

TEST(Spearman, IsPearsonOfRanks) {
  // Monotonic but not linear: Spearman 1, Pearson below 1.
  std::vector<double> x = {1, 2, 3, 4, 5}, y = {1, 4, 9, 16, 100};
  EXPECT_DOUBLE_EQ(*Spearman(x, y), 1.0);
  EXPECT_LT(*Pearson(x, y), 0.99);
  // Ranks {1,2,3,4,5} vs {2,1,4,3,5}: sum d^2 = 4 -> 1 - 6*4/(5*24) = 0.8.
  std::vector<double> swapped = {20, 10, 40, 30, 50};
  EXPECT_NEAR(*Spearman(x, swapped), 0.8, 1e-12);
}

BenchResult Result(const std::string& model, double median_ms, int64_t flops, int64_t params) {
  BenchResult r;
  r.model.path = "/zoo/" + model;
  r.runtime_name = "onnxruntime";
  r.runtime_version = "1.29.0";
  r.environment.hostname = "box";
  r.environment.cpu_model = "cpu";
  r.samples_ms = {median_ms};
  r.latency_ms.p50 = median_ms;
  r.model_cost = ModelCost{params, flops / 2, flops};
  return r;
}

TEST(AnalyzeResults, GroupsRanksAndCorrelates) {
  std::vector<BenchResult> results = {Result("a.onnx", 10, 1'000'000'000, 5),
                                      Result("b.onnx", 40, 2'000'000'000, 1),
                                      Result("c.onnx", 30, 3'000'000'000, 3)};
  results[1].profile_by_type = {{"Conv", 10, 3, 0.75}, {"Pad", 4, 1, 0.25}};
  BenchResult failed = Result("d.onnx", 1, 1, 1);
  failed.failure = RunFailure{"load", BadModel("d.onnx: bad")};
  results.push_back(failed);
  BenchResult uncounted = Result("e.pt", 1, 1, 1);
  uncounted.model_cost.reset();
  results.push_back(uncounted);
  BenchResult twin = Result("a.pt", 20, 1, 1);  // TorchScript twin of a.onnx: borrows its FLOPs
  twin.model_cost.reset();
  twin.runtime_name = "libtorch";
  results.push_back(twin);

  std::vector<std::string> skipped;
  const auto groups = AnalyzeResults(results, &skipped);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(skipped.size(), 2u);
  EXPECT_EQ(groups[0].runtime, "libtorch 1.29.0");
  ASSERT_EQ(groups[0].points.size(), 1u);
  EXPECT_EQ(groups[0].points[0].model, "a");
  EXPECT_DOUBLE_EQ(groups[0].points[0].flops, 1e9);
  const GroupAnalysis& g = groups[1];
  EXPECT_EQ(g.runtime, "onnxruntime 1.29.0");
  ASSERT_EQ(g.points.size(), 3u);
  // ms per GFLOP: a 10, b 20, c 10 -> b first; a and c keep their relative order.
  EXPECT_EQ(g.points[0].model, "b");
  EXPECT_DOUBLE_EQ(g.points[0].ms_per_gflop, 20);
  EXPECT_DOUBLE_EQ(*g.points[0].zero_flop_share, 0.25);
  EXPECT_FALSE(g.points[1].zero_flop_share.has_value());
  // latency {10, 40, 30} vs FLOPs {1, 2, 3}: ranks {1,3,2} vs {1,2,3} -> Spearman 0.5.
  EXPECT_NEAR(*g.spearman_flops, 0.5, 1e-12);
  // vs params {5, 1, 3}: ranks {3,1,2} vs latency ranks {1,3,2} -> Spearman -1.
  EXPECT_NEAR(*g.spearman_params, -1.0, 1e-12);
}

TEST(IsFlopKernelType, KnowsEachRuntimesNames) {
  for (const char* type : {"Conv", "FusedConv", "Convolution", "InnerProduct", "aten::_convolution", "aten::addmm"}) {
    EXPECT_TRUE(IsFlopKernelType(type)) << type;
  }
  for (const char* type : {"BatchNormalization", "Relu", "aten::batch_norm", "Padding", "Concat"}) {
    EXPECT_FALSE(IsFlopKernelType(type)) << type;
  }
}

}  // namespace
}  // namespace edgebench
