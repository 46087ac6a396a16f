// The ONNX -> TFLite converter: zoo models convert, run in the tflite and armnn backends and
// agree with the PyTorch reference output of the zoo (input.f32 -> output.f32); bad input is a
// clear error. Also the pure layout transforms.
#include "edgebench/convert.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "edgebench/registry.h"
#include "layout.h"
#include "testing/backend_testing.h"
#include "testing/test_models.h"

namespace edgebench {
namespace {

using convert::Shape;

TEST(Layout, TransposeNchwToNhwcAndBack) {
  const Shape shape = {1, 2, 2, 3};
  std::vector<float> data(12);
  for (int i = 0; i < 12; ++i) data[i] = float(i);
  const auto nhwc = convert::TransposeData(data, shape, convert::kNchwToNhwc);
  // NHWC element (h=0, w=1, c=2) is NCHW element (c=2, h=0, w=1) = 2*6 + 0*3 + 1.
  EXPECT_EQ(nhwc[(0 * 3 + 1) * 2 + 1], data[1 * 6 + 0 * 3 + 1]);
  const auto back = convert::TransposeData(nhwc, convert::PermuteShape(shape, convert::kNchwToNhwc),
                                           convert::kNhwcToNchw);
  EXPECT_EQ(back, data);
}

TEST(Layout, PaddingMatchesSameOnlyWhenTheWindowsAgree) {
  // 3x3 stride 1 pad 1 on 8: SAME. Stride 2 pad 1 on 112 (ResNet's max pool): TFLite SAME
  // would pad 0 before and 1 after, ONNX pads 1 before: no match.
  EXPECT_EQ(convert::MatchTflitePadding({{8, 3, 1, 1, 1, 1, 8}}), convert::TflitePadding::kSame);
  EXPECT_EQ(convert::MatchTflitePadding({{112, 3, 2, 1, 1, 1, 56}}), std::nullopt);
  EXPECT_EQ(convert::MatchTflitePadding({{8, 2, 2, 1, 0, 0, 4}}), convert::TflitePadding::kValid);
}

TEST(Layout, BatchNormFoldEqualsConvThenNorm) {
  std::vector<float> weights = {1, 2, 3, 4}, bias = {0.5f, -1};
  convert::BatchNorm bn{{2, 0.5f}, {1, 0}, {0.25f, -1}, {4, 1}, 0};
  convert::FoldBatchNorm(bn, weights, bias);
  // channel 0: scale 2/sqrt(4) = 1; channel 1: 0.5/1 = 0.5
  EXPECT_FLOAT_EQ(weights[0], 1);
  EXPECT_FLOAT_EQ(weights[3], 2);
  EXPECT_FLOAT_EQ(bias[0], (0.5f - 0.25f) * 1 + 1);
  EXPECT_FLOAT_EQ(bias[1], (-1 + 1) * 0.5f + 0);
}

std::string ConvertZooModel(const std::string& name, ConversionReport* out) {
  ConvertRequest request;
  request.model_path = testing::ZooModel(name, "onnx");
  auto report = ConvertModel(request);
  EXPECT_TRUE(report.ok()) << report.error().message;
  if (!report.ok()) return "";
  EXPECT_TRUE(report->ok()) << UnsupportedError(*report).message;
  *out = *report;
  if (!report->ok()) return "";
  return testing::WriteTempFile(name + ".tflite", report->model);
}

// Runs the converted model on the zoo's input (transposed to NHWC) in `runtime`; returns the max
// absolute error against the PyTorch output, relative to the output's max |value|.
double RelativeErrorOnRuntime(const std::string& name, const std::string& runtime, const ConversionReport& report,
                              const std::string& path) {
  auto entry = FindBackend(runtime);
  EXPECT_TRUE(entry.ok() && (*entry)->create) << runtime << " is not compiled";
  if (!entry.ok() || !(*entry)->create) return INFINITY;
  const testing::BackendUnderTest under_test{(*entry)->create, (*entry)->describe, ModelFormat::kTflite, "tflite"};
  auto [backend, status] = testing::Load(under_test, path);
  EXPECT_TRUE(status.ok()) << runtime << ": " << status.error().message;
  if (!status.ok()) return INFINITY;
  const std::string dir = std::filesystem::path(testing::ZooModel(name, "onnx")).parent_path().string();
  const ConvertedTensor& input = report.inputs.at(0);
  TensorSpec nchw = backend->InputSpecs().at(0);
  nchw.shape = input.onnx_shape;
  auto onnx_input = LoadTensorFile(nchw, dir + "/input.f32");
  EXPECT_TRUE(onnx_input.ok()) << onnx_input.error().message;
  if (!onnx_input.ok()) return INFINITY;
  const std::vector<float> nhwc = convert::TransposeData(testing::Floats(*onnx_input), input.onnx_shape,
                                                         input.permutation);
  Tensor fed{backend->InputSpecs().at(0), std::vector<std::byte>(nhwc.size() * sizeof(float))};
  std::memcpy(fed.data.data(), nhwc.data(), fed.data.size());
  const Status bound = backend->SetInputs({fed});
  EXPECT_TRUE(bound.ok()) << bound.error().message;
  if (!bound.ok()) return INFINITY;
  const auto outputs = testing::RunAndGetOutputs(*backend);
  EXPECT_EQ(outputs.size(), 1u);
  if (outputs.size() != 1) return INFINITY;
  auto expected = LoadTensorFile(outputs[0].spec, dir + "/output.f32");
  EXPECT_TRUE(expected.ok()) << expected.error().message;
  if (!expected.ok()) return INFINITY;
  const auto actual = testing::Floats(outputs[0]), reference = testing::Floats(*expected);
  double max_error = 0, max_value = 1e-12;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    max_error = std::max(max_error, double(std::fabs(actual[i] - reference[i])));
    max_value = std::max(max_value, double(std::fabs(reference[i])));
  }
  return max_error / max_value;
}

std::string Scientific(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2e", value);
  return text;
}

// Every zoo model the converter covers, on tflite; the smaller ones also on Arm NN's CpuRef
// (its reference kernels take minutes on the large ones; EDGEBENCH_CONVERT_TEST_ARMNN_ALL=1 runs
// them all there). Tolerance: 1e-4 of max |output|.
class ZooConversion : public ::testing::TestWithParam<std::tuple<std::string, bool>> {};

TEST_P(ZooConversion, RunsOnTfliteAndArmnnAndMatchesPyTorch) {
  const auto& [name, on_armnn] = GetParam();
  EB_REQUIRE_FILE(testing::ZooModel(name, "onnx"));
  ConversionReport report;
  const std::string path = ConvertZooModel(name, &report);
  ASSERT_FALSE(path.empty());
  // The measured errors go into the test report (--gtest_output=json) for docs and notes.
  const double tflite_error = RelativeErrorOnRuntime(name, "tflite", report, path);
  RecordProperty("tflite_relative_error", Scientific(tflite_error));
  EXPECT_LT(tflite_error, 1e-4) << name << " on tflite";
  if (on_armnn || std::getenv("EDGEBENCH_CONVERT_TEST_ARMNN_ALL")) {
    const double armnn_error = RelativeErrorOnRuntime(name, "armnn", report, path);
    RecordProperty("armnn_relative_error", Scientific(armnn_error));
    EXPECT_LT(armnn_error, 1e-4) << name << " on armnn";
  }
  // No BatchNormalization survives after a Conv: all folded.
  for (const auto& node : report.nodes) {
    if (node.op_type == "BatchNormalization" && node.disposition == "converted") {
      EXPECT_NE(name, "mobilenetv1") << "a BatchNormalization after a Conv was not folded";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooConversion,
                         ::testing::Values(std::make_tuple("tinycnn", true), std::make_tuple("mobilenetv1", true),
                                           std::make_tuple("mobilenetv2", true), std::make_tuple("resnet50", false),
                                           std::make_tuple("efficientnetb0", false),
                                           std::make_tuple("densenet201", false), std::make_tuple("resnet18", true),
                                           std::make_tuple("squeezenet11", true), std::make_tuple("vgg16", false),
                                           std::make_tuple("inceptionv3", false),
                                           std::make_tuple("xception", false),
                                           std::make_tuple("mobilenetv3small", true)),
                         [](const auto& info) { return std::get<0>(info.param); });

TEST(Convert, MobileNetV1FusesBatchNormAndRelu6IntoConv) {
  ConversionReport report;
  ASSERT_FALSE(ConvertZooModel("mobilenetv1", &report).empty());
  int conv = 0, depthwise = 0, pad = 0;
  for (const auto& op : report.operators) {
    conv += op.op == "CONV_2D";
    depthwise += op.op == "DEPTHWISE_CONV_2D";
    pad += op.op == "PAD";
  }
  EXPECT_EQ(conv, 15);       // 1 stem + 13 pointwise + the classifier's 1x1
  EXPECT_EQ(depthwise, 13);
  EXPECT_EQ(pad, 4);         // the explicit Pads of the export stay (paper A, Table 3)
  int fused = 0;
  for (const auto& node : report.nodes) fused += node.disposition == "fused";
  EXPECT_EQ(fused, 27 + 27);  // every BatchNormalization and Clip
  EXPECT_EQ(report.inputs.at(0).tflite_shape, (std::vector<int64_t>{1, 224, 224, 3}));
}

TEST(Convert, UnsupportedOperatorIsNamedAndNoModelIsMade) {
  ConvertRequest request;
  request.model_path = testing::ZooModel("shufflenetv2", "onnx");
  EB_REQUIRE_FILE(request.model_path);
  auto report = ConvertModel(request);
  ASSERT_TRUE(report.ok()) << report.error().message;
  ASSERT_FALSE(report->ok());
  EXPECT_TRUE(report->model.empty());
  const std::string message = UnsupportedError(*report).message;
  EXPECT_NE(message.find("cannot convert to tflite: node '"), std::string::npos) << message;
  // ShuffleNetV2's channel shuffle (5-D Reshape + Transpose) and Split are not covered yet.
  bool transpose_named = false;
  for (const auto& node : report->unsupported) transpose_named |= node.op_type == "Transpose";
  EXPECT_TRUE(transpose_named) << message;
}

TEST(Convert, BadFilesAreErrorsNamingTheProblem) {
  ConvertRequest request;
  request.model_path = testing::MakeTempDir() + "/absent.onnx";
  EXPECT_EQ(ConvertModel(request).error().code, ErrorCode::kNotFound);
  request.model_path = testing::WriteTempFile("garbage.onnx", testing::RandomBytes(4096, 3));
  auto garbage = ConvertModel(request);
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().code, ErrorCode::kBadModel);
  EXPECT_NE(garbage.error().message.find("not a valid ONNX model"), std::string::npos);
  request.model_path = testing::ZooModel("tinycnn_dynamic", "onnx");
  auto dynamic = ConvertModel(request);
  ASSERT_FALSE(dynamic.ok());
  EXPECT_EQ(dynamic.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(dynamic.error().message.find("--shape input=1x"), std::string::npos) << dynamic.error().message;
  request.shapes["input"] = {1, 3, 32, 32};
  auto fixed = ConvertModel(request);
  ASSERT_TRUE(fixed.ok()) << fixed.error().message;
  EXPECT_TRUE(fixed->ok());
}

}  // namespace
}  // namespace edgebench
