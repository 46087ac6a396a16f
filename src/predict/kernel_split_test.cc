#include "edgebench/kernel_split.h"

#include <fstream>
#include <map>

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "edgebench/kernel_models.h"
#include "testing/test_models.h"

namespace edgebench {
namespace {

using nlohmann::json;

std::map<std::string, int> CountTypes(const std::vector<ModelKernel>& kernels) {
  std::map<std::string, int> counts;
  for (const ModelKernel& kernel : kernels) ++counts[kernel.config.type];
  return counts;
}

// MobileNetV2 (Keras layout): 52 Conv each with its BatchNormalization, 35 of them with a Clip
// (relu6), 4 Pads before the stride-2 depthwise Convs, 10 residual Adds, then
// GlobalAveragePool, Flatten, Gemm and Softmax. 17 of the Convs are depthwise (one per block).
TEST(SplitIntoKernels, MobileNetV2UnderTheReferenceRules) {
  const std::string path = testing::ZooModel("mobilenetv2", "onnx");
  EB_REQUIRE_FILE(path);
  auto kernels = SplitIntoKernels(path, ReferenceKernelRules(), {});
  ASSERT_TRUE(kernels.ok()) << kernels.error().message;
  ASSERT_EQ(kernels->size(), 66u);
  EXPECT_EQ(CountTypes(*kernels), (std::map<std::string, int>{{"conv", 35}, {"dwconv", 17}, {"add", 10},
                                                              {"globalpool", 1}, {"reshape", 1}, {"fc", 1},
                                                              {"softmax", 1}}));
  const ModelKernel& first = kernels->front();
  EXPECT_EQ(first.op_types, (std::vector<std::string>{"Conv", "BatchNormalization", "Clip"}));
  EXPECT_EQ(ToJson(first.config), ToJson(KernelConfig{.type = "conv", .activation = "relu6", .hin = 224, .win = 224,
                                                      .cin = 3, .cout = 32, .kernel_size = 3, .stride = 2,
                                                      .groups = 1}));
  EXPECT_EQ(first.note, "");
  // The first stride-2 depthwise Conv reads its Pad's input: "same" padding on 112x112.
  const auto padded = std::find_if(kernels->begin(), kernels->end(),
                                   [](const ModelKernel& k) { return k.op_types.front() == "Pad"; });
  ASSERT_NE(padded, kernels->end());
  EXPECT_EQ(ToJson(padded->config), ToJson(KernelConfig{.type = "dwconv", .activation = "relu6", .hin = 112,
                                                        .win = 112, .cin = 96, .cout = 96, .kernel_size = 3,
                                                        .stride = 2, .groups = 96}));
  EXPECT_EQ(padded->nodes.size(), 4u);
  const ModelKernel& flatten = (*kernels)[kernels->size() - 3];
  EXPECT_EQ(ToJson(flatten.config), ToJson(KernelConfig{.type = "reshape", .hin = 1, .win = 1, .cin = 1280}));
  EXPECT_EQ(flatten.note, "");
  EXPECT_EQ(ToJson(kernels->back().config), ToJson(KernelConfig{.type = "softmax", .hin = 1, .win = 1, .cin = 1000}));
}

// ShuffleNetV2: 56 Convs (19 depthwise), a MaxPool, 16 channel shuffles (Reshape, Transpose,
// Reshape), 13 Splits, 16 Concats, ReduceMean over H and W, Gemm.
TEST(SplitIntoKernels, ShuffleNetV2FindsChannelShuffles) {
  const std::string path = testing::ZooModel("shufflenetv2", "onnx");
  EB_REQUIRE_FILE(path);
  auto kernels = SplitIntoKernels(path, ReferenceKernelRules(), {});
  ASSERT_TRUE(kernels.ok()) << kernels.error().message;
  EXPECT_EQ(CountTypes(*kernels), (std::map<std::string, int>{{"conv", 37}, {"dwconv", 19}, {"maxpool", 1},
                                                              {"channel_shuffle", 16}, {"split", 13},
                                                              {"concat", 16}, {"globalpool", 1}, {"fc", 1}}));
  for (const ModelKernel& kernel : *kernels) {
    if (kernel.config.type != "channel_shuffle") continue;
    EXPECT_EQ(kernel.op_types, (std::vector<std::string>{"Reshape", "Transpose", "Reshape"}));
    EXPECT_EQ(kernel.config.groups, 2);
  }
}

// A node of an element-wise test graph; its output names it too.
struct TestNode {
  std::string op;
  std::vector<std::string> inputs;
  std::string output;
};

// Writes an ONNX model (opset 14) of `nodes` whose input `input` and `outputs` are float
// [1, 8, 4, 4] tensors, as NAME.onnx in a fresh directory; returns its path.
std::string WriteElementwiseModel(const std::string& name, const std::string& input,
                                  const std::vector<std::string>& outputs, const std::vector<TestNode>& nodes) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(14);
  onnx::GraphProto& graph = *model.mutable_graph();
  graph.set_name(name);
  const auto value = [](onnx::ValueInfoProto& info, const std::string& tensor) {
    info.set_name(tensor);
    auto* type = info.mutable_type()->mutable_tensor_type();
    type->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t dim : {1, 8, 4, 4}) type->mutable_shape()->add_dim()->set_dim_value(dim);
  };
  value(*graph.add_input(), input);
  for (const auto& output : outputs) value(*graph.add_output(), output);
  for (const TestNode& node : nodes) {
    onnx::NodeProto& n = *graph.add_node();
    n.set_op_type(node.op), n.set_name(node.output), n.add_output(node.output);
    for (const auto& operand : node.inputs) n.add_input(operand);
  }
  const std::string path = testing::MakeTempDir() + "/" + name + ".onnx";
  std::ofstream out(path, std::ios::binary);
  EXPECT_TRUE(model.SerializeToOstream(&out)) << path;
  return path;
}

// input -> Relu -> {Sigmoid -> out1, HardSwish -> out2}: the Relu has two consumers, so a rule
// Relu+Sigmoid cannot fuse it; Sigmoid+Mul would, but the model has none.
TEST(SplitIntoKernels, FusesOnlyAlongSingleConsumers) {
  const std::string path = WriteElementwiseModel(
      "branches", "input", {"out1", "out2"},
      {{"Relu", {"input"}, "r"}, {"Sigmoid", {"r"}, "out1"}, {"HardSwish", {"r"}, "out2"}});
  KernelRules rules{.runtime = "test", .fused_patterns = {{"Relu", "Sigmoid"}, {"Relu", "HardSwish"}}};
  auto kernels = SplitIntoKernels(path, rules, {});
  ASSERT_TRUE(kernels.ok()) << kernels.error().message;
  ASSERT_EQ(kernels->size(), 3u);
  for (const ModelKernel& kernel : *kernels) EXPECT_EQ(kernel.config.type, "activation");
  EXPECT_EQ((*kernels)[2].config.activation, "hswish");
  // Removing an op type drops its nodes.
  rules.removed_op_types = {"HardSwish"};
  kernels = SplitIntoKernels(path, rules, {});
  ASSERT_TRUE(kernels.ok());
  EXPECT_EQ(kernels->size(), 2u);
}

// x * Sigmoid(x) (SiLU) is one kernel under a Sigmoid+Mul rule; a gate y * Sigmoid(Relu(y)) is
// not (the Mul's other operand is not the Sigmoid's input).
TEST(SplitIntoKernels, FusesSigmoidAndMulOnlyAsSilu) {
  const std::string path = WriteElementwiseModel("silu", "x", {"out"},
                                                 {{"Sigmoid", {"x"}, "s"},
                                                  {"Mul", {"x", "s"}, "y"},
                                                  {"Relu", {"y"}, "r"},
                                                  {"Sigmoid", {"r"}, "g"},
                                                  {"Mul", {"y", "g"}, "out"}});
  const KernelRules rules{.runtime = "test", .fused_patterns = {{"Sigmoid", "Mul"}}};
  auto kernels = SplitIntoKernels(path, rules, {});
  ASSERT_TRUE(kernels.ok()) << kernels.error().message;
  ASSERT_EQ(kernels->size(), 4u);
  EXPECT_EQ((*kernels)[0].nodes, (std::vector<std::string>{"s", "y"}));
  EXPECT_EQ((*kernels)[0].config.type, "activation");
  EXPECT_EQ((*kernels)[0].config.activation, "sigmoid");
  EXPECT_EQ((*kernels)[2].nodes, std::vector<std::string>{"g"});
  EXPECT_EQ((*kernels)[3].nodes, std::vector<std::string>{"out"});
}

TEST(SplitIntoKernels, UnfusedPadIsUnknownAndBadFilesAreErrors) {
  const std::string path = testing::ZooModel("mobilenetv2", "onnx");
  EB_REQUIRE_FILE(path);
  KernelRules bare{.runtime = "bare"};
  auto kernels = SplitIntoKernels(path, bare, {});
  ASSERT_TRUE(kernels.ok());
  EXPECT_EQ(kernels->size(), 157u);  // every node its own kernel
  const std::map<std::string, int> counts = CountTypes(*kernels);
  EXPECT_EQ(counts.at("unknown"), 4);  // the 4 Pads
  EXPECT_EQ(counts.at("bn"), 52);
  EXPECT_EQ(counts.at("activation"), 35);

  const std::string dir = testing::MakeTempDir();
  auto missing = SplitIntoKernels(dir + "/absent.onnx", bare, {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  { std::ofstream(dir + "/garbage.onnx") << "not a model"; }
  auto garbage = SplitIntoKernels(dir + "/garbage.onnx", bare, {});
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().code, ErrorCode::kBadModel);
  const std::string tflite = testing::DownloadedModel("face_detection_short_range.tflite");
  EB_REQUIRE_FILE(tflite);
  auto other = SplitIntoKernels(tflite, bare, {});
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, ErrorCode::kUnsupported);
}

// The conversions a lone kernel model runs under a blocked layout of 16 channels: a convolution
// runs blocked when its input channels are fewer than a block (reading NCHW directly) or a
// multiple of a quarter of it, a depthwise one when its channels are, a pool when they are a
// multiple of a whole block; the rest read the plain graph input and run plain.
TEST(KernelRules, LoneKernelReordersFollowTheBlockedLayoutsRules) {
  const auto count = [](const KernelConfig& config) { return LoneKernelReorders(config, 16).size(); };
  const KernelConfig first{.type = "conv", .hin = 224, .win = 224, .cin = 3, .cout = 24, .kernel_size = 3,
                           .stride = 2, .groups = 1};
  const auto reorders = LoneKernelReorders(first, 16);
  ASSERT_EQ(reorders.size(), 1u);  // reads NCHW; its output goes back to NCHW
  EXPECT_EQ(ToJson(reorders[0]), ToJson(KernelConfig{.type = kReorderKernelType, .hin = 112, .win = 112,
                                                     .cin = 24, .cout = 24}));
  KernelConfig conv = first;
  conv.cin = 32;
  EXPECT_EQ(count(conv), 2u);
  conv.cin = 24;
  EXPECT_EQ(count(conv), 2u);
  conv.cin = 20;
  EXPECT_EQ(count(conv), 2u);
  conv.cin = 18;
  EXPECT_EQ(count(conv), 0u);
  EXPECT_EQ(count({.type = "dwconv", .hin = 56, .win = 56, .cin = 32, .cout = 32, .kernel_size = 3, .stride = 1,
                   .groups = 32}),
            2u);
  EXPECT_EQ(count({.type = "dwconv", .hin = 56, .win = 56, .cin = 18, .cout = 18, .kernel_size = 3, .stride = 1,
                   .groups = 18}),
            0u);
  EXPECT_EQ(count({.type = "maxpool", .hin = 56, .win = 56, .cin = 64, .kernel_size = 3, .stride = 2}), 2u);
  EXPECT_EQ(count({.type = "maxpool", .hin = 56, .win = 56, .cin = 24, .kernel_size = 3, .stride = 2}), 0u);
  EXPECT_EQ(count({.type = "globalpool", .hin = 7, .win = 7, .cin = 64}), 2u);
  EXPECT_EQ(count({.type = "add", .hin = 56, .win = 56, .cin = 64, .cout = 64, .inputs = 2}), 0u);
  EXPECT_TRUE(LoneKernelReorders(conv, 0).empty());
}

TEST(KernelRules, AddFusionMapKeepsMultiNodePatternsOnce) {
  FusionMap map;
  map.patterns = {{{"Conv", "BatchNormalization", "Clip"}, "FusedConv", 30},
                  {{"Conv"}, "Conv", 5},
                  {{"Conv", "BatchNormalization", "Clip"}, "Conv", 2}};
  map.removed = {{"Dropout", 1}, {"Flatten", 1}};
  KernelRules rules{.runtime = "onnxruntime", .removed_op_types = {"Dropout"}};
  AddFusionMap(map, rules);
  AddFusionMap(map, rules);
  EXPECT_EQ(rules.fused_patterns, (std::vector<std::vector<std::string>>{{"Conv", "BatchNormalization", "Clip"}}));
  EXPECT_EQ(rules.removed_op_types, (std::vector<std::string>{"Dropout", "Flatten"}));
}

TEST(KernelRules, JsonRoundTripAndStrictReading) {
  KernelRules rules = ReferenceKernelRules();
  rules.layout_block_channels = 16;
  auto back = KernelRulesFromJson(ToJson(rules));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->layout_block_channels, 16);
  EXPECT_EQ(back->runtime, rules.runtime);
  EXPECT_EQ(back->fused_patterns, rules.fused_patterns);
  EXPECT_EQ(back->removed_op_types, rules.removed_op_types);
  EXPECT_EQ(back->source, rules.source);
  const auto error_of = [](const char* text) {
    auto parsed = KernelRulesFromJson(json::parse(text));
    EXPECT_FALSE(parsed.ok()) << text;
    return parsed.ok() ? std::string() : parsed.error().message;
  };
  EXPECT_NE(error_of(R"({"runtime": "ort", "fusion": []})").find("unknown field 'fusion'"), std::string::npos);
  EXPECT_NE(error_of(R"({"fused_patterns": []})").find("'runtime' is missing"), std::string::npos);
  EXPECT_NE(error_of(R"({"runtime": "ort", "fused_patterns": [["Conv"]]})").find("at least two"), std::string::npos);
  EXPECT_NE(error_of(R"({"runtime": "ort", "fused_patterns": [["Conv", 3]]})").find("non-empty strings"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"runtime": "ort", "removed_op_types": "Dropout"})").find("array of strings"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"runtime": "ort", "layout_block_channels": -8})").find("non-negative integer"),
            std::string::npos);
  // Rules written before the blocked layout was known: none.
  auto old_rules = KernelRulesFromJson(json::parse(R"({"runtime": "ort", "fused_patterns": []})"));
  ASSERT_TRUE(old_rules.ok());
  EXPECT_EQ(old_rules->layout_block_channels, 0);
}

}  // namespace
}  // namespace edgebench
