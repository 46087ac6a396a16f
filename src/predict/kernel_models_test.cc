#include "edgebench/kernel_models.h"

#include <fstream>
#include <iterator>
#include <map>

#include <gtest/gtest.h>

#include "inspect/onnx_analysis.h"
#include "testing/test_models.h"

namespace edgebench {
namespace {

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// At least one configuration of every kernel type, with the activations and odd shapes a real
// model has (strided, non-square, even kernels, grouped).
std::vector<KernelConfig> EveryKernelType() {
  return {
      {.type = "conv", .activation = "relu6", .hin = 15, .win = 15, .cin = 3, .cout = 16, .kernel_size = 3,
       .stride = 2, .groups = 1},
      {.type = "conv", .hin = 7, .win = 9, .cin = 16, .cout = 24, .kernel_size = 1, .stride = 1, .groups = 1},
      {.type = "conv", .activation = "relu", .hin = 8, .win = 8, .cin = 16, .cout = 32, .kernel_size = 3,
       .stride = 1, .groups = 4},
      {.type = "conv", .activation = "sigmoid", .hin = 8, .win = 8, .cin = 8, .cout = 8, .kernel_size = 2,
       .stride = 2, .groups = 1},
      {.type = "dwconv", .activation = "hswish", .hin = 14, .win = 14, .cin = 24, .cout = 24, .kernel_size = 5,
       .stride = 2, .groups = 24},
      {.type = "dwconv", .hin = 10, .win = 10, .cin = 8, .cout = 8, .kernel_size = 3, .stride = 1, .groups = 8},
      {.type = "fc", .activation = "relu", .hin = 1, .win = 1, .cin = 64, .cout = 10},
      {.type = "fc", .hin = 1, .win = 1, .cin = 32, .cout = 1000},
      {.type = "maxpool", .hin = 16, .win = 16, .cin = 8, .kernel_size = 3, .stride = 2},
      {.type = "maxpool", .hin = 9, .win = 9, .cin = 8, .kernel_size = 2, .stride = 2},
      {.type = "avgpool", .hin = 8, .win = 8, .cin = 4, .kernel_size = 3, .stride = 1},
      {.type = "globalpool", .hin = 7, .win = 7, .cin = 32},
      {.type = "add", .hin = 8, .win = 8, .cin = 16, .inputs = 2},
      {.type = "add", .activation = "relu", .hin = 8, .win = 8, .cin = 16, .inputs = 3},
      {.type = "mul", .activation = "hsigmoid", .hin = 6, .win = 6, .cin = 16},
      {.type = "concat", .hin = 5, .win = 5, .cin = 24, .inputs = 3},
      {.type = "channel_shuffle", .hin = 6, .win = 6, .cin = 24, .groups = 2},
      {.type = "reshape", .hin = 3, .win = 3, .cin = 16},
      {.type = "activation", .activation = "relu", .hin = 4, .win = 4, .cin = 8},
      {.type = "activation", .activation = "relu6", .hin = 4, .win = 4, .cin = 8},
      {.type = "activation", .activation = "hswish", .hin = 4, .win = 4, .cin = 8},
      {.type = "activation", .activation = "sigmoid", .hin = 1, .win = 1, .cin = 8},
      {.type = "bn", .hin = 4, .win = 4, .cin = 8},
      {.type = "bn", .activation = "relu", .hin = 4, .win = 4, .cin = 8},
      {.type = "resize", .hin = 4, .win = 6, .cin = 8, .stride = 2},
      {.type = "split", .hin = 4, .win = 4, .cin = 16, .inputs = 2},
      {.type = "softmax", .hin = 1, .win = 1, .cin = 100},
      {.type = "softmax", .hin = 3, .win = 3, .cin = 10},
  };
}

TEST(WriteKernelModel, EveryTypeSplitsBackIntoItsOneKernel) {
  const std::string dir = testing::MakeTempDir();
  std::set<std::string> covered;
  int index = 0;
  for (const KernelConfig& config : EveryKernelType()) {
    SCOPED_TRACE(ToJson(config).dump());
    const std::string path = dir + "/" + std::to_string(++index) + "_" + config.type + ".onnx";
    ASSERT_TRUE(WriteKernelModel(config, path, 7).ok());
    // The ONNX checker and shape inference accept it without a warning.
    auto analysis = inspect::AnalyzeOnnx(path, {});
    ASSERT_TRUE(analysis.ok()) << analysis.error().message;
    EXPECT_TRUE(analysis->warnings.empty()) << analysis->warnings.front();
    EXPECT_EQ(analysis->opset, 14);
    EXPECT_EQ(analysis->inputs.front().name, "input");
    auto kernels = SplitIntoKernels(path, ReferenceKernelRules(), {});
    ASSERT_TRUE(kernels.ok()) << kernels.error().message;
    ASSERT_EQ(kernels->size(), 1u);
    EXPECT_EQ(ToJson(kernels->front().config), ToJson(config));
    EXPECT_EQ(kernels->front().note, "");
    covered.insert(config.type);
  }
  EXPECT_EQ(covered, std::set<std::string>(KernelTypes().begin(), KernelTypes().end()));
}

TEST(WriteKernelModel, BuildsConvAsExportersDo) {
  const std::string path = testing::MakeTempDir() + "/conv.onnx";
  const KernelConfig conv = {.type = "conv", .activation = "relu6", .hin = 8, .win = 8, .cin = 4, .cout = 8,
                             .kernel_size = 3, .stride = 1, .groups = 1};
  ASSERT_TRUE(WriteKernelModel(conv, path, 1).ok());
  auto analysis = inspect::AnalyzeOnnx(path, {});
  ASSERT_TRUE(analysis.ok());
  const auto& graph = analysis->model.graph();
  ASSERT_EQ(graph.node_size(), 3);
  EXPECT_EQ(graph.node(0).op_type(), "Conv");
  EXPECT_EQ(graph.node(1).op_type(), "BatchNormalization");
  EXPECT_EQ(graph.node(2).op_type(), "Clip");
  EXPECT_EQ(graph.node(2).input_size(), 3);  // min and max as initializers
  EXPECT_EQ(graph.node(2).name(), "/k2/Clip");
  EXPECT_EQ(graph.output(0).name(), "/k2/Clip_output_0");
  EXPECT_EQ(analysis->shapes.at("/k2/Clip_output_0").dims, (std::vector<int64_t>{1, 8, 8, 8}));
  EXPECT_EQ(analysis->params, 8 * 4 * 9 + 4 * 8 + 2);  // weights, BN's four vectors, Clip's bounds
}

TEST(WriteKernelModel, WeightsFollowTheSeed) {
  const std::string dir = testing::MakeTempDir();
  const KernelConfig fc = {.type = "fc", .hin = 1, .win = 1, .cin = 16, .cout = 4};
  ASSERT_TRUE(WriteKernelModel(fc, dir + "/a.onnx", 3).ok());
  ASSERT_TRUE(WriteKernelModel(fc, dir + "/b.onnx", 3).ok());
  ASSERT_TRUE(WriteKernelModel(fc, dir + "/c.onnx", 4).ok());
  EXPECT_EQ(ReadBytes(dir + "/a.onnx"), ReadBytes(dir + "/b.onnx"));
  EXPECT_NE(ReadBytes(dir + "/a.onnx"), ReadBytes(dir + "/c.onnx"));
}

TEST(WriteKernelModel, RefusesWhatItCannotBuild) {
  const std::string dir = testing::MakeTempDir();
  const Status unknown = WriteKernelModel({.type = "unknown", .cin = 3}, dir + "/u.onnx", 1);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kInvalidArgument);
  const Status unwritable =
      WriteKernelModel({.type = "globalpool", .hin = 2, .win = 2, .cin = 2}, dir + "/absent/g.onnx", 1);
  ASSERT_FALSE(unwritable.ok());
  EXPECT_EQ(unwritable.error().code, ErrorCode::kNotFound);
}

std::vector<KernelSourceModel> ZooSources(const std::vector<std::string>& names) {
  std::vector<KernelSourceModel> sources;
  for (const auto& name : names) {
    auto kernels = SplitIntoKernels(testing::ZooModel(name, "onnx"), ReferenceKernelRules(), {});
    EXPECT_TRUE(kernels.ok()) << name << ": " << kernels.error().message;
    if (kernels.ok()) sources.push_back({name, *kernels});
  }
  return sources;
}

TEST(SampleKernelConfigs, StaysAroundRealKernelsAndIsDeterministic) {
  EB_REQUIRE_FILE(testing::ZooModel("mobilenetv2", "onnx"));
  EB_REQUIRE_FILE(testing::ZooModel("shufflenetv2", "onnx"));
  const auto sources = ZooSources({"mobilenetv2", "shufflenetv2"});
  ASSERT_EQ(sources.size(), 2u);
  const auto sampled = SampleKernelConfigs(sources, {}, 6, 11);
  std::map<std::string, int> by_type;
  for (const SampledKernel& kernel : sampled) {
    SCOPED_TRACE(ToJson(kernel.config).dump());
    EXPECT_TRUE(CheckKernelConfig(kernel.config).ok());
    EXPECT_TRUE(kernel.source == "mobilenetv2" || kernel.source == "shufflenetv2");
    // Channels stay within the real kernels' range (both models span 3 .. 1280 channels).
    EXPECT_GE(kernel.config.cin, 1);
    EXPECT_LE(kernel.config.cin, 1280);
    EXPECT_LE(kernel.config.hin, 224);
    ++by_type[kernel.config.type];
  }
  // Types both models have get their six (conv: and 6 / 4, last, around the convolutions that
  // read the image); types neither has get none.
  EXPECT_EQ(by_type["conv"], 6 + 1);
  EXPECT_EQ(by_type["dwconv"], 6);
  EXPECT_EQ(by_type["channel_shuffle"], 6);
  EXPECT_EQ(by_type["add"], 6);
  EXPECT_EQ(by_type.count("resize"), 0u);
  for (const SampledKernel& kernel : sampled) {
    if (kernel.config.type == "channel_shuffle") EXPECT_EQ(kernel.source, "shufflenetv2");
  }
  const auto again = SampleKernelConfigs(sources, {}, 6, 11);
  ASSERT_EQ(again.size(), sampled.size());
  for (std::size_t i = 0; i < sampled.size(); ++i) EXPECT_EQ(again[i].config, sampled[i].config);
  // The convolutions around the image-reading ones come last, keep their 3 input channels, and
  // leave the others as they were without them.
  const auto conv_only = SampleKernelConfigs(sources, {"conv"}, 16, 11);
  ASSERT_EQ(conv_only.size(), 16u + 4u);
  for (std::size_t i = 16; i < conv_only.size(); ++i) {
    EXPECT_EQ(conv_only[i].config.cin, 3);
    EXPECT_EQ(conv_only[i].config.groups, 1);
  }
  int image_reading_among_first = 0;
  for (std::size_t i = 0; i < 16; ++i) image_reading_among_first += conv_only[i].config.cin <= kMaxImageChannels;
  EXPECT_LT(image_reading_among_first, 4);  // 2 of about 100 real convolutions read the image
  const auto dw_only = SampleKernelConfigs(sources, {"dwconv"}, 3, 12);
  ASSERT_EQ(dw_only.size(), 3u);
  for (const auto& kernel : dw_only) EXPECT_EQ(kernel.config.type, "dwconv");
}

}  // namespace
}  // namespace edgebench
