#include "edgebench/fusion.h"

#include <gtest/gtest.h>

namespace edgebench {
namespace {

OpEvent Kernel(std::string name, std::string type, std::vector<std::string> source_nodes,
               std::string fused_into = "", std::string provider = "cpu") {
  OpEvent event;
  event.kernel_name = std::move(name);
  event.kernel_type = std::move(type);
  event.source_nodes = std::move(source_nodes);
  event.provider = std::move(provider);
  event.fused_into = std::move(fused_into);
  event.calls = event.fused_into.empty() ? 1 : 0;
  return event;
}

// As onnxruntime's backend reports a kernel: its own name is its only source node.
OpEvent OrtKernel(std::string name, std::string type) {
  std::vector<std::string> nodes = {name};
  return Kernel(std::move(name), std::move(type), std::move(nodes), "", "CPUExecutionProvider");
}

// Two MobileNetV1 blocks (the second with its ZeroPadding2D as a Pad node), a Dropout, the
// pooling and a Flatten, named as the PyTorch exporter names them.
std::vector<SourceNode> MobileNetLikeGraph() {
  return {{"/f0/Conv", "Conv"},       {"/f1/BatchNormalization", "BatchNormalization"},
          {"/f2/Clip", "Clip"},       {"/f3/Pad", "Pad"},
          {"/f4/Conv", "Conv"},       {"/f5/BatchNormalization", "BatchNormalization"},
          {"/f6/Clip", "Clip"},       {"/drop/Dropout", "Dropout"},
          {"/pool/GlobalAveragePool", "GlobalAveragePool"}, {"/Flatten", "Flatten"}};
}

void ExpectPatterns(const FusionMap& map,
                    const std::vector<std::tuple<std::string, std::string, int64_t>>& expected) {
  ASSERT_EQ(map.patterns.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(PatternName(map.patterns[i]), std::get<0>(expected[i])) << "row " << i;
    EXPECT_EQ(map.patterns[i].kernel_type, std::get<1>(expected[i])) << "row " << i;
    EXPECT_EQ(map.patterns[i].kernels, std::get<2>(expected[i])) << "row " << i;
  }
}

void ExpectCounts(const std::vector<OpTypeCount>& actual,
                  const std::vector<std::pair<std::string, int64_t>>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(actual[i].op_type, expected[i].first);
    EXPECT_EQ(actual[i].count, expected[i].second);
  }
}

TEST(PatternName, JoinsOpTypesWithPlus) {
  EXPECT_EQ(PatternName({{"Conv", "BatchNormalization", "Clip"}, "Conv", 1}),
            "Conv+BatchNormalization+Clip");
  EXPECT_EQ(PatternName({{"Pad"}, "Padding", 1}), "Pad");
}

// OpenCV names every node a kernel covers: the fused layers (fused_into) join their kernel,
// a Conv's own padding is a Padding layer of its own, and it adds an output Identity layer.
TEST(MapFusion, UsesTheSourceNodesARuntimeNames) {
  OpProfile profile;
  profile.kernels = {
      Kernel("/f0/Conv/pad", "Padding", {"/f0/Conv"}),
      Kernel("/f0/Conv", "Convolution", {"/f0/Conv", "/f1/BatchNormalization", "/f2/Clip"}),
      Kernel("/f1/BatchNormalization", "BatchNorm", {"/f1/BatchNormalization"}, "/f0/Conv"),
      Kernel("/f2/Clip", "ReLU6", {"/f2/Clip"}, "/f0/Conv"),
      Kernel("/f3/Pad", "Padding", {"/f3/Pad"}),
      Kernel("/f4/Conv", "Convolution", {"/f4/Conv"}),
      Kernel("/f5/BatchNormalization", "BatchNorm", {"/f5/BatchNormalization"}, "/f4/Conv"),
      Kernel("/f6/Clip", "ReLU6", {"/f6/Clip"}, "/f4/Conv"),
      Kernel("/pool/GlobalAveragePool", "Pooling", {"/pool/GlobalAveragePool"}),
      Kernel("/Flatten", "Flatten", {"/Flatten"}),
      Kernel("output", "Identity", {}),
  };
  const FusionMap map = MapFusion(profile, MobileNetLikeGraph());
  EXPECT_EQ(map.source_nodes, 10);
  EXPECT_EQ(map.kernels, 7);
  ExpectPatterns(map, {{"Conv+BatchNormalization+Clip", "Convolution", 2},
                       {"Conv", "Padding", 1},
                       {"Pad", "Padding", 1},
                       {"GlobalAveragePool", "Pooling", 1},
                       {"Flatten", "Flatten", 1}});
  ExpectCounts(map.removed, {{"Dropout", 1}});
  ExpectCounts(map.added, {{"Identity", 1}});
}

// onnxruntime at graph_optimization_level=all: NCHWc kernels named after the output tensor of
// the last node they absorbed, "_token_<n>" on names it made unique, Reorder kernels it adds.
TEST(MapFusion, InfersOnnxRuntimeNchwcFusions) {
  OpProfile profile;
  profile.kernels = {OrtKernel("/f2/Clip_output_0_nchwc", "Conv"),
                     OrtKernel("/f6/Clip_output_0_nchwc", "Conv"),
                     OrtKernel("/pool/GlobalAveragePool_output_0_nchwc", "GlobalAveragePool"),
                     OrtKernel("ReorderOutput", "ReorderOutput"),
                     OrtKernel("/Flatten", "Flatten"),
                     OrtKernel("ReorderOutput_token_5", "ReorderOutput")};
  const FusionMap map = MapFusion(profile, MobileNetLikeGraph());
  EXPECT_EQ(map.kernels, 6);
  ExpectPatterns(map, {{"Conv+BatchNormalization+Clip", "Conv", 1},
                       {"Pad+Conv+BatchNormalization+Clip", "Conv", 1},
                       {"GlobalAveragePool", "GlobalAveragePool", 1},
                       {"Flatten", "Flatten", 1}});
  ExpectCounts(map.removed, {{"Dropout", 1}});
  ExpectCounts(map.added, {{"ReorderOutput", 2}});
}

// onnxruntime at graph_optimization_level=extended: FusedConv keeps the Conv's name; the
// BatchNormalization and Clip after it and the Pad before it are inferred.
TEST(MapFusion, InfersOnnxRuntimeFusedConv) {
  OpProfile profile;
  profile.kernels = {OrtKernel("/f0/Conv", "FusedConv"), OrtKernel("/f4/Conv", "FusedConv"),
                     OrtKernel("/pool/GlobalAveragePool", "GlobalAveragePool"),
                     OrtKernel("/Flatten", "Flatten")};
  const FusionMap map = MapFusion(profile, MobileNetLikeGraph());
  ExpectPatterns(map, {{"Conv+BatchNormalization+Clip", "FusedConv", 1},
                       {"Pad+Conv+BatchNormalization+Clip", "FusedConv", 1},
                       {"GlobalAveragePool", "GlobalAveragePool", 1},
                       {"Flatten", "Flatten", 1}});
  ExpectCounts(map.removed, {{"Dropout", 1}});
  EXPECT_TRUE(map.added.empty());
}

// A ResNet block at level all: the NCHWc Conv is named after the BatchNormalization folded into
// it and also adds the residual and applies the Relu after it.
TEST(MapFusion, InfersResidualAddIntoNchwcConv) {
  const std::vector<SourceNode> graph = {{"/conv2/Conv", "Conv"},
                                         {"/bn2/BatchNormalization", "BatchNormalization"},
                                         {"/Add", "Add"},
                                         {"/relu_1/Relu", "Relu"},
                                         {"/Shape", "Shape"}};
  OpProfile profile;
  profile.kernels = {OrtKernel("/bn2/BatchNormalization_output_0_nchwc", "Conv")};
  const FusionMap map = MapFusion(profile, graph);
  ExpectPatterns(map, {{"Conv+BatchNormalization+Add+Relu", "Conv", 1}});
  ExpectCounts(map.removed, {{"Shape", 1}});  // constant-folded: not an op that fuses
}

// An EfficientNet block's SiLU, exported as Sigmoid then Mul: onnxruntime runs it as one
// QuickGelu kernel named after the Mul, not as part of the Conv before it. A squeeze-excite gate
// (a Mul kernel of its own) keeps its Sigmoid with the Conv that feeds it.
TEST(MapFusion, InfersOnnxRuntimeQuickGeluFromSigmoidAndMul) {
  const std::vector<SourceNode> graph = {{"/conv/Conv", "Conv"},
                                         {"/bn/BatchNormalization", "BatchNormalization"},
                                         {"/act/Sigmoid", "Sigmoid"},
                                         {"/act/Mul", "Mul"},
                                         {"/se/Conv", "Conv"},
                                         {"/se/Sigmoid", "Sigmoid"},
                                         {"/se/Mul", "Mul"}};
  OpProfile profile;
  profile.kernels = {OrtKernel("/bn/BatchNormalization_output_0_nchwc", "Conv"),
                     OrtKernel("/act/Mul/QuickGeluFusion/", "QuickGelu"), OrtKernel("/se/Conv", "FusedConv"),
                     OrtKernel("/se/Mul", "Mul")};
  const FusionMap map = MapFusion(profile, graph);
  ExpectPatterns(map, {{"Conv+BatchNormalization", "Conv", 1},
                       {"Sigmoid+Mul", "QuickGelu", 1},
                       {"Conv+Sigmoid", "FusedConv", 1},
                       {"Mul", "Mul", 1}});
}

TEST(MapFusion, NoKernelsRemoveEveryNode) {
  const FusionMap map = MapFusion(OpProfile{}, MobileNetLikeGraph());
  EXPECT_EQ(map.kernels, 0);
  EXPECT_TRUE(map.patterns.empty());
  ExpectCounts(map.removed, {{"Conv", 2}, {"BatchNormalization", 2}, {"Clip", 2}, {"Pad", 1},
                             {"Dropout", 1}, {"GlobalAveragePool", 1}, {"Flatten", 1}});
}

TEST(SummarizeByProvider, CountsKernelsThatRanPerProvider) {
  OpProfile profile;
  profile.kernels = {Kernel("a", "Conv", {}, "", "dla"),  Kernel("b", "Relu", {}, "a", "dla"),
                     Kernel("c", "Conv", {}, "", "gpu"),  Kernel("d", "Conv", {}, "", "dla"),
                     Kernel("e", "Shape", {}, "", "")};
  const auto shares = SummarizeByProvider(profile);
  ASSERT_EQ(shares.size(), 3u);
  EXPECT_EQ(shares[0].provider, "dla");
  EXPECT_EQ(shares[0].kernels, 2);
  EXPECT_EQ(shares[1].provider, "gpu");
  EXPECT_EQ(shares[1].kernels, 1);
  EXPECT_EQ(shares[2].provider, "unknown");
  EXPECT_EQ(shares[2].kernels, 1);
}

}  // namespace
}  // namespace edgebench
