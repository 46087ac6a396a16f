// The ONNX -> TFLite converter on every zoo model: the converted file loads and runs in the
// tflite and armnn backends and reproduces the zoo's PyTorch output (output.f32 for input.f32).
// Tolerance: max |tflite - reference| <= 1e-3 x max(1, max |reference|) (float32 with other
// summation orders and BatchNorm folded into the weights).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include <onnx/onnx_pb.h>

#include "convert/layout.h"
#include "convert/quantize.h"
#include "edgebench/bench.h"
#include "edgebench/convert.h"
#include "edgebench/model_file.h"
#include "edgebench/registry.h"
#include "edgebench/verify.h"
#include "testing/backend_testing.h"
#include "testing/process.h"
#include "testing/test_models.h"

namespace edgebench {
namespace {

constexpr double kRelativeTolerance = 1e-3;

std::string ZooFile(const std::string& model, const std::string& file) {
  return testing::CacheDir() + "/zoo/" + model + "/" + file;
}

std::vector<float> ReadFloatFile(const std::string& path) {
  const std::string bytes = testing::ReadFile(path);
  std::vector<float> values(bytes.size() / sizeof(float));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
  return values;
}

// Runs the .tflite file once on `runtime` with `input` (already in the file's layout).
Expected<std::vector<float>> RunOnce(const std::string& runtime, const std::string& path,
                                     const std::vector<float>& input) {
  auto entry = FindBackend(runtime);
  if (!entry.ok()) return entry.error();
  auto model = InspectModelFile(path);
  if (!model.ok()) return model.error();
  auto backend = (*entry)->create();
  auto options = ValidateOptions((*entry)->describe(), {});
  if (!options.ok()) return options.error();
  EB_RETURN_IF_ERROR(backend->Load({*model, 1, *options}));
  const auto specs = backend->InputSpecs();
  if (specs.size() != 1) return InvalidArgument(path + ": expected one input");
  Tensor tensor{specs[0], {}};
  tensor.data.resize(input.size() * sizeof(float));
  std::memcpy(tensor.data.data(), input.data(), tensor.data.size());
  EB_RETURN_IF_ERROR(backend->SetInputs({tensor}));
  EB_RETURN_IF_ERROR(backend->RunOnce());
  auto outputs = backend->Outputs();
  if (!outputs.ok()) return outputs.error();
  if (outputs->size() != 1) return InvalidArgument(path + ": expected one output");
  return testing::Floats(outputs->front());
}

struct ZooCase {
  const char* name;
  // Also run on Arm NN. Its CpuRef backend (the only one on x86-64) is a slow reference: one
  // inference of ResNet50 took 69 s and Xception 171 s here, so the five largest models are
  // checked on tflite only to keep the suite at a few minutes.
  bool armnn;
};

void PrintTo(const ZooCase& zoo, std::ostream* out) { *out << zoo.name; }

class ZooConversion : public ::testing::TestWithParam<ZooCase> {};

// Converts zoo model `name` and checks its output on each runtime against output.f32; returns
// the report (empty model on a failure).
ConversionReport CheckZooModel(const std::string& name, ConvertPrecision precision,
                               const std::vector<std::string>& runtimes, double tolerance,
                               SampleSettings samples = {.random_calibration_samples = 4, .random_accuracy_samples = 1}) {
  const std::string onnx = ZooFile(name, name + ".onnx");
  ConvertRequest request;
  request.model_path = onnx;
  request.precision = precision;
  request.samples = samples;
  if (name == "tinycnn_dynamic") request.shapes["input"] = {1, 3, 32, 32};
  auto report = ConvertModel(request);
  if (!report.ok()) {
    ADD_FAILURE() << report.error().message;
    return {};
  }
  if (!report->ok()) {
    ADD_FAILURE() << UnsupportedError(*report).message;
    return {};
  }
  EXPECT_FALSE(report->model.empty());
  for (const auto& node : report->nodes) {
    EXPECT_NE(node.disposition, "") << node.node;
  }
  EXPECT_EQ(report->inputs.size(), 1u);
  const ConvertedTensor& input = report->inputs.at(0);
  EXPECT_EQ(input.permutation, (std::vector<int>{0, 2, 3, 1}));
  EXPECT_EQ(input.tflite_shape, convert::PermuteShape(input.onnx_shape, input.permutation));
  // The converter's own check (onnxruntime FP32 against tflite, on its samples) agrees.
  if (report->accuracy) {
    EXPECT_GT(report->accuracy->samples, 0);
    EXPECT_LE(report->accuracy->max_rel_error, tolerance) << report->accuracy->inputs;
  } else {
    ADD_FAILURE() << "no accuracy check";
  }

  const std::string path = testing::MakeTempDir() + "/" + name + ".tflite";
  testing::WriteFile(path, report->model);
  const std::vector<float> nchw = ReadFloatFile(ZooFile(name, "input.f32"));
  const std::vector<float> nhwc = convert::TransposeData(nchw, input.onnx_shape, input.permutation);
  const std::vector<float> reference = ReadFloatFile(ZooFile(name, "output.f32"));
  double range = 1;
  for (float value : reference) range = std::max(range, double(std::abs(value)));
  for (const std::string& runtime : runtimes) {
    SCOPED_TRACE(runtime);
    auto output = RunOnce(runtime, path, nhwc);
    if (!output.ok()) {
      ADD_FAILURE() << output.error().message;
      continue;
    }
    EXPECT_EQ(output->size(), reference.size());
    double max_error = 0;
    for (std::size_t i = 0; i < reference.size() && i < output->size(); ++i) {
      max_error = std::max(max_error, std::abs(double((*output)[i]) - reference[i]));
    }
    std::cout << "[convert] " << name << " " << ConvertPrecisionName(precision) << " on " << runtime
              << ": max |error| " << max_error << " (max |reference| " << range << ")\n";
    ::testing::Test::RecordProperty(runtime + "_max_error", std::to_string(max_error));
    EXPECT_LE(max_error, tolerance * range);
  }
  return std::move(*report);
}

TEST_P(ZooConversion, RunsOnTfliteAndArmnnLikePyTorch) {
  const std::string name = GetParam().name;
  EB_REQUIRE_FILE(ZooFile(name, name + ".onnx"));
  EB_REQUIRE_FILE(ZooFile(name, "input.f32"));
  EB_REQUIRE_FILE(ZooFile(name, "output.f32"));
  std::vector<std::string> runtimes{"tflite"};
  if (GetParam().armnn) runtimes.push_back("armnn");
  CheckZooModel(name, ConvertPrecision::kFloat32, runtimes, kRelativeTolerance);
}

INSTANTIATE_TEST_SUITE_P(
    Zoo, ZooConversion,
    ::testing::Values(ZooCase{"tinycnn", true}, ZooCase{"tinycnn_dynamic", true},
                      ZooCase{"mobilenetv1", true}, ZooCase{"mobilenetv2", true},
                      ZooCase{"mobilenetv3small", true}, ZooCase{"efficientnetb0", true},
                      ZooCase{"shufflenetv2", true}, ZooCase{"squeezenet11", true},
                      ZooCase{"resnet18", true}, ZooCase{"resnet50", false},
                      ZooCase{"densenet201", false}, ZooCase{"inceptionv3", false},
                      ZooCase{"xception", false}, ZooCase{"vgg16", false}),
    [](const ::testing::TestParamInfo<ZooCase>& info) { return std::string(info.param.name); });

// MobileNetV2 needs no layout operator at all: NHWC input, Flatten of a 1x1 map is a RESHAPE;
// every BatchNorm folds into its Conv and every Clip(0, 6) fuses as RELU6.
TEST(Convert, MobileNetV2HasNoTransposeAndFusesBatchNormAndRelu6) {
  const std::string onnx = ZooFile("mobilenetv2", "mobilenetv2.onnx");
  EB_REQUIRE_FILE(onnx);
  auto report = ConvertModel({onnx, ConvertTarget::kTflite, {}});
  ASSERT_TRUE(report.ok()) << report.error().message;
  ASSERT_TRUE(report->ok());
  for (const auto& op : report->operators) {
    EXPECT_NE(op.op, "TRANSPOSE");
    EXPECT_NE(op.op, "MUL") << "an unfolded BatchNorm";
    EXPECT_NE(op.op, "RELU6") << "an unfused Clip";
  }
  int fused_bn = 0, fused_clip = 0;
  for (const auto& node : report->nodes) {
    if (node.op_type == "BatchNormalization") fused_bn += node.disposition == "fused";
    if (node.op_type == "Clip") fused_clip += node.disposition == "fused";
  }
  EXPECT_EQ(fused_bn, 52);
  EXPECT_EQ(fused_clip, 35);
  const nlohmann::json json = ToJson(*report);
  EXPECT_EQ(json["schema"], "edgebench.convert/2");
  EXPECT_EQ(json["outputs"][0]["tflite_shape"], (std::vector<int64_t>{1, 1000}));
  EXPECT_EQ(json.count("model"), 0u);
}

// ShuffleNetV2's channel shuffle (Reshape -> Transpose -> Reshape) stays NHWC: one 3-D TRANSPOSE
// per shuffle (16) swapping the two channel halves, no NHWC <-> NCHW transposes around it.
TEST(Convert, ShuffleNetV2ShufflesChannelsWithOneTransposeEach) {
  const std::string onnx = ZooFile("shufflenetv2", "shufflenetv2.onnx");
  EB_REQUIRE_FILE(onnx);
  auto report = ConvertModel({onnx, ConvertTarget::kTflite, {}});
  ASSERT_TRUE(report.ok()) << report.error().message;
  ASSERT_TRUE(report->ok());
  int transposes = 0, shuffles = 0;
  for (const auto& op : report->operators) transposes += op.op == "TRANSPOSE";
  for (const auto& node : report->nodes) shuffles += node.op_type == "Transpose";
  EXPECT_EQ(shuffles, 16);
  EXPECT_EQ(transposes, shuffles);
}

// Float16 weights: about half the file (MobileNetV3 small), one DEQUANTIZE per weight tensor, outputs within
// 1e-2 x max(1, max |reference|) (float16 keeps 11 significant bits).
TEST(Convert, Float16WeightsHalveTheFileAndStayClose) {
  for (const std::string name : {"tinycnn", "mobilenetv3small"}) {
    SCOPED_TRACE(name);
    EB_REQUIRE_FILE(ZooFile(name, name + ".onnx"));
    const ConversionReport fp32 = CheckZooModel(name, ConvertPrecision::kFloat32, {}, kRelativeTolerance);
    const ConversionReport fp16 = CheckZooModel(name, ConvertPrecision::kFloat16, {"tflite", "armnn"}, 1e-2);
    ASSERT_FALSE(fp16.model.empty());
    // Where the weights dominate the file (not tinycnn's 1,658 parameters).
    if (fp32.model.size() > (1u << 20)) {
      EXPECT_LT(double(fp16.model.size()), 0.6 * double(fp32.model.size()));
    }
    int dequantize = 0;
    for (const auto& op : fp16.operators) {
      if (op.op != "DEQUANTIZE") continue;
      ++dequantize;
      EXPECT_EQ(op.added_for, "precision");
    }
    EXPECT_GT(dequantize, 0);
    EXPECT_EQ(ToJson(fp16)["precision"], "fp16");
  }
}

// INT8: float interface (QUANTIZE first, DEQUANTIZE last), int8 kernels' operator versions, about
// a quarter of the FP32 file where weights dominate, and outputs within 15% of max |reference| of
// PyTorch's on tflite and Arm NN (MobileNetV3 small covers HARD_SWISH; on tflite only: Arm NN's
// int8 result for it is off by more than max |reference|, see docs/convert.md). Calibrated on the zoo's
// reference input given as a sample file: it is N(0, 1), and random [0, 1) calibration would
// clip its negative half.
TEST(Convert, Int8QuantizesEveryOperatorAndStaysClose) {
  constexpr double kInt8Tolerance = 0.15;
  for (const std::string name : {"tinycnn", "mobilenetv3small", "squeezenet11"}) {
    SCOPED_TRACE(name);
    EB_REQUIRE_FILE(ZooFile(name, name + ".onnx"));
    SampleSettings samples{.random_calibration_samples = 4, .random_accuracy_samples = 1};
    samples.files["input"] = ZooFile(name, "input.f32");
    const ConversionReport fp32 = CheckZooModel(name, ConvertPrecision::kFloat32, {}, kRelativeTolerance);
    std::vector<std::string> runtimes{"tflite"};
    if (name != "mobilenetv3small") runtimes.push_back("armnn");
    const ConversionReport int8 = CheckZooModel(name, ConvertPrecision::kInt8, runtimes, kInt8Tolerance, samples);
    ASSERT_FALSE(int8.operators.empty());
    EXPECT_EQ(int8.operators.front().op, "QUANTIZE");
    EXPECT_EQ(int8.operators.back().op, "DEQUANTIZE");
    for (const auto& op : int8.operators) {
      if (op.op == "CONV_2D" || op.op == "DEPTHWISE_CONV_2D") EXPECT_EQ(op.version, 3);
      if (op.op == "QUANTIZE" || op.op == "DEQUANTIZE") EXPECT_EQ(op.added_for, "precision");
    }
    for (const auto& node : int8.nodes) {
      for (int op : node.operators) EXPECT_GE(op, 0) << node.node;
    }
    ASSERT_TRUE(int8.quantization);
    EXPECT_TRUE(int8.quantization->float_operators.empty());
    EXPECT_EQ(int8.quantization->calibration_samples, 1);
    if (fp32.model.size() > (1u << 20)) {
      EXPECT_LT(double(int8.model.size()), 0.35 * double(fp32.model.size()));
    }
    const nlohmann::json json = ToJson(int8);
    EXPECT_EQ(json["precision"], "int8");
    EXPECT_TRUE(json["accuracy"]["top1_agreement"].is_number());
    EXPECT_EQ(json["quantization"]["int8_operators"], int(int8.operators.size()) - 2);
  }
}

// --to onnx: the ONNX model itself at a precision, for onnxruntime. fp32 is the model (error 0);
// fp16 stores float initializers as FLOAT16 behind Casts (about half the file); int8 folds
// BatchNorm into Conv and writes QDQ (QuantizeLinear/DequantizeLinear around every activation,
// int8 per-channel weights), within 15% of max |output| of onnxruntime FP32 on the zoo input.
TEST(Convert, OnnxTargetAtEachPrecision) {
  const std::string name = "squeezenet11";
  const std::string onnx = ZooFile(name, name + ".onnx");
  EB_REQUIRE_FILE(onnx);
  auto entry = FindBackend("onnxruntime");
  if (!entry.ok()) GTEST_SKIP() << entry.error().message;
  std::map<ConvertPrecision, ConversionReport> reports;
  for (ConvertPrecision precision : {ConvertPrecision::kFloat32, ConvertPrecision::kFloat16, ConvertPrecision::kInt8}) {
    SCOPED_TRACE(std::string(ConvertPrecisionName(precision)));
    ConvertRequest request{onnx, ConvertTarget::kOnnx, {}, precision};
    request.samples = {.files = {{"input", ZooFile(name, "input.f32")}}};
    auto report = ConvertModel(request);
    ASSERT_TRUE(report.ok()) << report.error().message;
    ASSERT_TRUE(report->ok());
    ASSERT_TRUE(report->accuracy);
    EXPECT_EQ(report->accuracy->runtime, "onnxruntime");
    EXPECT_EQ(ToJson(*report)["target"], "onnx");
    reports[precision] = std::move(*report);
  }
  const ConversionReport& fp32 = reports[ConvertPrecision::kFloat32];
  const ConversionReport& fp16 = reports[ConvertPrecision::kFloat16];
  const ConversionReport& int8 = reports[ConvertPrecision::kInt8];
  EXPECT_EQ(fp32.accuracy->max_abs_error, 0);
  EXPECT_LE(fp16.accuracy->max_rel_error, 1e-2);
  EXPECT_LT(double(fp16.model.size()), 0.6 * double(fp32.model.size()));
  EXPECT_LE(int8.accuracy->max_rel_error, 0.15);
  EXPECT_LT(double(int8.model.size()), 0.35 * double(fp32.model.size()));
  int casts = 0, quantize = 0;
  for (const auto& op : fp16.operators) casts += op.op == "Cast" && op.added_for == "precision";
  for (const auto& op : int8.operators) quantize += op.op == "QuantizeLinear" && op.added_for == "precision";
  EXPECT_GT(casts, 0);
  EXPECT_GT(quantize, 0);
  ASSERT_TRUE(int8.quantization);
  EXPECT_EQ(int8.quantization->int8_operators, 26);  // SqueezeNet 1.1's Convs
  // The written model loads and runs on onnxruntime (what the accuracy check did, from bytes).
  const std::string path = testing::MakeTempDir() + "/int8.onnx";
  testing::WriteFile(path, int8.model);
  auto file = InspectModelFile(path);
  ASSERT_TRUE(file.ok()) << file.error().message;
  EXPECT_EQ(file->format, ModelFormat::kOnnx);
}

TEST(Convert, Int8ParametersCoverTheRangeAndZero) {
  const convert::Int8Params symmetric = convert::ParamsForRange({-1, 3});
  EXPECT_FLOAT_EQ(symmetric.scale, 4.0f / 255);
  EXPECT_EQ(symmetric.zero_point, -64);  // -128 + 1 / (4 / 255) = -64.25
  const convert::Int8Params positive = convert::ParamsForRange({0.5f, 2});  // widened to [0, 2]
  EXPECT_FLOAT_EQ(positive.scale, 2.0f / 255);
  EXPECT_EQ(positive.zero_point, -128);
  const convert::Int8Params zeros = convert::ParamsForRange({0, 0});
  EXPECT_GT(zeros.scale, 0);
}

// A model with no Conv or FullyConnected weights (one Relu) has nothing to quantize.
TEST(Convert, Int8WithoutFloatWeightsIsAnError) {
  const std::string onnx = std::string(EDGEBENCH_ONNX_TESTDATA_DIR) + "/node/test_relu/model.onnx";
  EB_REQUIRE_FILE(onnx);
  ConvertRequest request{onnx, ConvertTarget::kTflite, {}, ConvertPrecision::kInt8};
  auto report = ConvertModel(request);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(report.error().message.find("nothing to quantize"), std::string::npos) << report.error().message;
  EXPECT_NE(report.error().message.find(onnx), std::string::npos) << report.error().message;
}

TEST(Convert, SampleFilesAreChecked) {
  const std::string onnx = ZooFile("tinycnn", "tinycnn.onnx");
  EB_REQUIRE_FILE(onnx);
  ConvertRequest request{onnx, ConvertTarget::kTflite, {}, ConvertPrecision::kInt8};
  const std::string odd = testing::WriteTempFile("odd.f32", std::string(1000, '\0'));  // not 1x3x32x32 x 4 bytes
  request.samples.files = {{"input", odd}};
  auto report = ConvertModel(request);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(report.error().message.find(odd), std::string::npos) << report.error().message;
  EXPECT_NE(report.error().message.find("1x3x32x32"), std::string::npos) << report.error().message;

  request.samples.files = {{"image", odd}};
  report = ConvertModel(request);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.error().message.find("unknown input 'image'"), std::string::npos) << report.error().message;

  request.samples.files = {{"input", testing::MakeTempDir() + "/absent.f32"}};
  report = ConvertModel(request);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().code, ErrorCode::kNotFound);
}

TEST(Convert, DynamicInputWithoutShapeIsAnErrorNamingTheInput) {
  const std::string onnx = ZooFile("tinycnn_dynamic", "tinycnn_dynamic.onnx");
  EB_REQUIRE_FILE(onnx);
  auto report = ConvertModel({onnx, ConvertTarget::kTflite, {}});
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(report.error().message.find("'input'"), std::string::npos) << report.error().message;
  EXPECT_NE(report.error().message.find("--shape"), std::string::npos) << report.error().message;
}

TEST(Convert, MalformedFileIsBadModel) {
  const std::string path = testing::WriteTempFile("broken.onnx", testing::RandomBytes(4096, 3));
  auto report = ConvertModel({path, ConvertTarget::kTflite, {}});
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().code, ErrorCode::kBadModel) << report.error().message;
  EXPECT_NE(report.error().message.find(path), std::string::npos);
}

TEST(Convert, MissingFileIsNotFound) {
  auto report = ConvertModel({testing::MakeTempDir() + "/absent.onnx", ConvertTarget::kTflite, {}});
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().code, ErrorCode::kNotFound);
}

// A single-operator conformance model (LRN) has no TFLite conversion here: it is listed with its
// node and op, and no model bytes come back.
TEST(Convert, UnsupportedOperatorIsListedWithoutModel) {
  const std::string onnx = std::string(EDGEBENCH_ONNX_TESTDATA_DIR) + "/node/test_lrn/model.onnx";
  EB_REQUIRE_FILE(onnx);
  auto report = ConvertModel({onnx, ConvertTarget::kTflite, {}});
  ASSERT_TRUE(report.ok()) << report.error().message;
  ASSERT_EQ(report->unsupported.size(), 1u);
  EXPECT_EQ(report->unsupported[0].op_type, "LRN");
  EXPECT_TRUE(report->model.empty());
  const Error error = UnsupportedError(*report);
  EXPECT_EQ(error.code, ErrorCode::kUnsupported);
  EXPECT_NE(error.message.find("(LRN)"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find("node '" + report->unsupported[0].node + "'"), std::string::npos);
}

// A Gemm whose operands' inner dimensions differ (A 3x2, B 5x4, found by fuzzing) was written as
// a FULLY_CONNECTED that TFLite cannot run; it is refused instead, naming the node.
TEST(Convert, GemmWhoseInnerDimensionsDifferIsRefused) {
  auto report = ConvertModel({std::string(EDGEBENCH_FUZZ_CORPUS_DIR) +
                                  "/convert_fuzzer/gemm_operands_inner_dimensions_differ.onnx",
                              ConvertTarget::kTflite, {}});
  ASSERT_TRUE(report.ok()) << report.error().message;
  ASSERT_EQ(report->unsupported.size(), 1u);
  EXPECT_EQ(report->unsupported[0].op_type, "Gemm");
  EXPECT_NE(report->unsupported[0].reason.find("inner dimensions differ"), std::string::npos)
      << report->unsupported[0].reason;
  EXPECT_TRUE(report->model.empty());
}

// A ReduceMax with keepdims 40 (found by fuzzing): the converter read it as "keep", shape
// inference as "drop", and the ranks that disagreed overran a buffer. Refused as a bad model.
TEST(Convert, ReduceWithKeepdimsNeitherZeroNorOneIsABadModel) {
  auto report = ConvertModel({std::string(EDGEBENCH_FUZZ_CORPUS_DIR) + "/convert_fuzzer/reduce_keepdims_40.onnx",
                              ConvertTarget::kTflite, {}});
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().code, ErrorCode::kBadModel);
  EXPECT_NE(report.error().message.find("keepdims 40 is neither 0 nor 1"), std::string::npos) << report.error().message;
}

// A Concat of two 2-D inputs along axis 124 (found by fuzzing) indexed past the permutation.
TEST(Convert, AxisOutOfRangeIsABadModel) {
  auto report = ConvertModel({std::string(EDGEBENCH_FUZZ_CORPUS_DIR) + "/convert_fuzzer/concat_axis_124.onnx",
                              ConvertTarget::kTflite, {}});
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().code, ErrorCode::kBadModel);
  EXPECT_NE(report.error().message.find("(Concat): axis 124 is out of range for rank 2"), std::string::npos)
      << report.error().message;
}

// A BatchNormalization whose scale is a Conv's 8x3x3x3 weights (found by fuzzing) read past its
// per-channel values.
TEST(Convert, BatchNormWhoseParametersAreNotPerChannelIsABadModel) {
  auto report = ConvertModel({std::string(EDGEBENCH_FUZZ_CORPUS_DIR) + "/convert_fuzzer/batchnorm_scale_of_conv_weights.onnx",
                              ConvertTarget::kTflite, {}});
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().code, ErrorCode::kBadModel);
  EXPECT_NE(report.error().message.find("its scale has 216 values for 8 channels"), std::string::npos)
      << report.error().message;
}

// An input dimension of 6979321856 (found by fuzzing) was written as a negative TFLite dim.
TEST(Convert, DimensionBeyondTflitesInt32IsUnsupported) {
  auto report = ConvertModel({std::string(EDGEBENCH_FUZZ_CORPUS_DIR) + "/convert_fuzzer/input_dimension_beyond_int32.onnx",
                              ConvertTarget::kTflite, {}});
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(report.error().message.find("tensor 'input' has a dimension of 6979321856"), std::string::npos)
      << report.error().message;
}

TEST(Convert, ParsesTargets) {
  EXPECT_EQ(*ParseConvertTarget("tflite"), ConvertTarget::kTflite);
  EXPECT_EQ(*ParseConvertTarget("onnx"), ConvertTarget::kOnnx);
  EXPECT_EQ(ParseConvertTarget("coreml").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(*ParseConvertPrecision("fp16"), ConvertPrecision::kFloat16);
  EXPECT_EQ(*ParseConvertPrecision("int8"), ConvertPrecision::kInt8);
  EXPECT_EQ(ConvertPrecisionName(ConvertPrecision::kFloat32), "fp32");
  EXPECT_EQ(ParseConvertPrecision("fp8").error().code, ErrorCode::kInvalidArgument);
}


// ---- the command line: exit codes (docs/measurement.md) and no output file on any error

testing::ProcessResult RunCli(std::vector<std::string> args) {
  args.insert(args.begin(), EDGEBENCH_BINARY);
  return testing::RunProcess(args);
}

TEST(ConvertCli, WritesTheModelAndPrintsTheReport) {
  const std::string onnx = ZooFile("tinycnn", "tinycnn.onnx");
  EB_REQUIRE_FILE(onnx);
  const std::string out = testing::MakeTempDir() + "/tiny.tflite";
  auto result = RunCli({"convert", onnx, "--to", "tflite", "-o", out, "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::string bytes = testing::ReadFile(out);
  ASSERT_GT(bytes.size(), 8u);
  EXPECT_EQ(bytes.substr(4, 4), "TFL3");
  const auto json = nlohmann::json::parse(result.out);
  EXPECT_EQ(json["schema"], "edgebench.convert/2");
  EXPECT_EQ(json["model_bytes"], bytes.size());
  EXPECT_EQ(json["inputs"][0]["tflite_shape"], (std::vector<int64_t>{1, 32, 32, 3}));
}

TEST(ConvertCli, FailuresExitTwoAndLeaveNoFile) {
  const std::string dynamic = ZooFile("tinycnn_dynamic", "tinycnn_dynamic.onnx");
  const std::string lrn = std::string(EDGEBENCH_ONNX_TESTDATA_DIR) + "/node/test_lrn/model.onnx";
  EB_REQUIRE_FILE(dynamic);
  EB_REQUIRE_FILE(lrn);
  const std::string dir = testing::MakeTempDir();
  const std::string broken = testing::WriteTempFile("broken.onnx", testing::RandomBytes(2048, 5));
  struct Case {
    std::vector<std::string> args;
    std::string message;  // expected in stderr
  };
  const std::string out = dir + "/out.tflite";
  const Case cases[] = {
      {{"convert", dynamic, "--to", "tflite", "-o", out}, "--shape input="},
      {{"convert", lrn, "--to", "tflite", "-o", out}, "(LRN)"},
      {{"convert", broken, "--to", "tflite", "-o", out}, broken},
      {{"convert", dynamic, "--to", "coreml", "-o", out}, "coreml"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.args[1] + " " + c.args[3]);
    auto result = RunCli(c.args);
    EXPECT_EQ(result.exit_code, 2) << result.err;
    EXPECT_NE(result.err.find(c.message), std::string::npos) << result.err;
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()), 0)
        << "a file was left in " << dir;
  }
  auto fixed = RunCli({"convert", dynamic, "--to", "tflite", "-o", out, "--shape", "input=1x3x32x32"});
  EXPECT_EQ(fixed.exit_code, 0) << fixed.err;
  EXPECT_TRUE(std::filesystem::exists(out));
}

// ---- layouts known end to end: the converted file records how its tensors relate to the ONNX ones

// A quick benchmark of `model` on `runtime` (few runs: only the inputs and outputs matter here).
BenchSettings QuickSettings() {
  BenchSettings settings;
  settings.warmup_runs = 0;
  settings.warmup_min_ms = 0;
  settings.min_runs = 2;
  settings.min_duration_ms = 0;
  settings.allow_unpinned_governor = true;
  return settings;
}

// tinycnn converted by `edgebench convert` into a fresh directory.
std::string ConvertedTinyCnn() {
  const std::string out = testing::MakeTempDir() + "/tinycnn.tflite";
  auto result = RunCli({"convert", ZooFile("tinycnn", "tinycnn.onnx"), "--to", "tflite", "-o", out});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return out;
}

TEST(ConvertLayout, TheConvertedFileRecordsItsLayout) {
  EB_REQUIRE_FILE(ZooFile("tinycnn", "tinycnn.onnx"));
  auto record = ReadLayoutRecord(ConvertedTinyCnn());
  ASSERT_TRUE(record.ok()) << record.error().message;
  ASSERT_TRUE(record->has_value());
  const LayoutRecord& layout = **record;
  EXPECT_EQ(layout.source_format, "onnx");
  ASSERT_EQ(layout.inputs.size(), 1u);
  EXPECT_EQ(layout.inputs[0].name, "input");
  EXPECT_EQ(layout.inputs[0].source_shape, (std::vector<int64_t>{1, 3, 32, 32}));
  EXPECT_EQ(layout.inputs[0].permutation, (Permutation{0, 2, 3, 1}));
  ASSERT_EQ(layout.outputs.size(), 1u);
  EXPECT_EQ(layout.outputs[0].source_shape, (std::vector<int64_t>{1, 10}));
  // A model without a record: an ONNX file, a TFLite file from elsewhere.
  auto onnx = ReadLayoutRecord(ZooFile("tinycnn", "tinycnn.onnx"));
  ASSERT_TRUE(onnx.ok());
  EXPECT_FALSE(onnx->has_value());
  const std::string foreign = testing::DownloadedModel("face_detection_short_range.tflite");
  EB_REQUIRE_FILE(foreign);
  auto none = ReadLayoutRecord(foreign);
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_FALSE(none->has_value());
}

TEST(ConvertLayout, ConvertedModelVerifiesAgainstItsOnnxSource) {
  const std::string onnx = ZooFile("tinycnn", "tinycnn.onnx");
  EB_REQUIRE_FILE(onnx);
  const std::string tflite = ConvertedTinyCnn();
  BenchSettings settings = QuickSettings();
  settings.verify_runtime = "onnxruntime";
  settings.verify_model = onnx;
  settings.verify_tolerance = 1e-4;
  const BenchResult result = RunBenchmark({tflite, "tflite", settings});
  ASSERT_FALSE(result.failure) << result.failure->error.message;
  ASSERT_TRUE(result.verification);
  EXPECT_TRUE(result.verification->passed) << result.verification->max_abs_error;
  EXPECT_LT(result.verification->max_abs_error, 1e-4);
  EXPECT_EQ(result.verification->input_permutations, (std::vector<Permutation>{{0, 3, 1, 2}}));
  // The other way round: the ONNX model benchmarked, the converted one as the reference.
  settings.verify_runtime = "tflite";
  settings.verify_model = tflite;
  const BenchResult reverse = RunBenchmark({onnx, "onnxruntime", settings});
  ASSERT_FALSE(reverse.failure) << reverse.failure->error.message;
  EXPECT_TRUE(reverse.verification->passed) << reverse.verification->max_abs_error;
  EXPECT_EQ(reverse.verification->input_permutations, (std::vector<Permutation>{{0, 2, 3, 1}}));
}

// The zoo's NCHW input file, stated as NCHW, reproduces the zoo's output on the NHWC model; the
// outputs saved with --save-outputs read back as --input files do.
TEST(ConvertLayout, NchwInputFileIsPermutedAndOutputsAreSaved) {
  EB_REQUIRE_FILE(ZooFile("tinycnn", "input.f32"));
  const std::string tflite = ConvertedTinyCnn();
  BenchSettings settings = QuickSettings();
  settings.input_files["input"] = ZooFile("tinycnn", "input.f32");
  settings.input_layouts["input"] = "NCHW";
  settings.save_outputs_dir = testing::MakeTempDir() + "/outputs";
  const BenchResult result = RunBenchmark({tflite, "tflite", settings});
  ASSERT_FALSE(result.failure) << result.failure->error.message;

  const auto index = nlohmann::json::parse(testing::ReadFile(settings.save_outputs_dir + "/outputs.json"));
  ASSERT_EQ(index["outputs"].size(), 1u);
  const auto& entry = index["outputs"][0];
  EXPECT_EQ(entry["type"], "float32");
  EXPECT_EQ(entry["shape"], (std::vector<int64_t>{1, 10}));
  const std::string file = settings.save_outputs_dir + "/" + entry["file"].get<std::string>();
  EXPECT_EQ(std::filesystem::file_size(file), 10 * sizeof(float));
  auto saved = LoadTensorFile({entry["name"].get<std::string>(), DataType::kFloat32, {1, 10}}, file);
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  const std::vector<float> output = testing::Floats(*saved);
  const std::vector<float> reference = ReadFloatFile(ZooFile("tinycnn", "output.f32"));
  ASSERT_EQ(output.size(), reference.size());
  for (std::size_t i = 0; i < output.size(); ++i) EXPECT_NEAR(output[i], reference[i], 1e-3) << i;
}

TEST(ConvertLayout, MismatchedLayoutsAreRefusedBeforeTiming) {
  const std::string onnx = ZooFile("tinycnn", "tinycnn.onnx");
  const std::string foreign = testing::DownloadedModel("face_detection_short_range.tflite");
  EB_REQUIRE_FILE(onnx);
  EB_REQUIRE_FILE(foreign);
  // A size-compatible file stated in the other layout, for models that record no permutation.
  BenchSettings nhwc = QuickSettings();
  nhwc.input_files["input"] = ZooFile("tinycnn", "input.f32");
  nhwc.input_layouts["input"] = "NHWC";
  const BenchResult onnx_result = RunBenchmark({onnx, "onnxruntime", nhwc});
  ASSERT_TRUE(onnx_result.failure);
  EXPECT_EQ(onnx_result.failure->stage, "inputs");
  EXPECT_NE(onnx_result.failure->error.message.find("takes 'input' as NCHW 1x3x32x32"), std::string::npos)
      << onnx_result.failure->error.message;

  auto loaded = RunBenchmark({foreign, "tflite", QuickSettings()});
  ASSERT_FALSE(loaded.failure) << loaded.failure->error.message;
  const TensorSpec& input = loaded.inputs.at(0);
  const std::string file = testing::WriteTempFile("nchw.f32", std::string(std::size_t(*ElementCount(input.shape)) * 4, '\0'));
  BenchSettings nchw = QuickSettings();
  nchw.input_files[input.name] = file;
  nchw.input_layouts[input.name] = "nchw";
  const BenchResult foreign_result = RunBenchmark({foreign, "tflite", nchw});
  ASSERT_TRUE(foreign_result.failure);
  EXPECT_EQ(foreign_result.failure->stage, "inputs");
  EXPECT_NE(foreign_result.failure->error.message.find("as NHWC " + FormatShape(input.shape) +
                                                       " and records no permutation from NCHW"),
            std::string::npos)
      << foreign_result.failure->error.message;

  // --verify across layouts nothing records: both shapes named, before any timed run.
  BenchSettings verify = QuickSettings();
  verify.verify_runtime = "onnxruntime";
  verify.verify_model = onnx;
  const BenchResult verify_result = RunBenchmark({foreign, "tflite", verify});
  ASSERT_TRUE(verify_result.failure);
  EXPECT_EQ(verify_result.failure->stage, "verify");
  EXPECT_TRUE(verify_result.samples_ms.empty());
  EXPECT_NE(verify_result.failure->error.message.find("1x3x32x32"), std::string::npos)
      << verify_result.failure->error.message;
  EXPECT_NE(verify_result.failure->error.message.find(FormatShape(input.shape)), std::string::npos)
      << verify_result.failure->error.message;
}

// ---- the conformance suite: each operator's model converted and run on tflite against onnxruntime

std::string ConformanceModel(const std::string& name) { return std::string(EDGEBENCH_ONNX_TESTDATA_DIR) + "/" + name; }

// Converts conformance model `name` (e.g. "pytorch-converted/test_Conv1d") with its own test
// inputs as samples and its expected outputs beside them.
Expected<ConversionReport> ConvertConformanceModel(const std::string& name, int accuracy_samples = 1) {
  const std::string dir = ConformanceModel(name);
  auto analysis = ConvertModel({dir + "/model.onnx", ConvertTarget::kTflite, {}, ConvertPrecision::kFloat32,
                                SampleSettings{.random_accuracy_samples = 0}});
  if (!analysis.ok()) return analysis.error();
  ConvertRequest request{dir + "/model.onnx", ConvertTarget::kTflite, {}, ConvertPrecision::kFloat32};
  request.samples.random_accuracy_samples = accuracy_samples;
  if (accuracy_samples > 0) {
    for (std::size_t i = 0; i < analysis->inputs.size(); ++i) {
      request.samples.files[analysis->inputs[i].name] = dir + "/test_data_set_0/input_" + std::to_string(i) + ".pb";
    }
    for (std::size_t i = 0; i < analysis->outputs.size(); ++i) {
      request.samples.expected_files[analysis->outputs[i].name] = dir + "/test_data_set_0/output_" + std::to_string(i) + ".pb";
    }
  }
  return ConvertModel(request);
}

struct ConformanceCase {
  const char* model;      // under the suite's data directory
  const char* operators;  // TFLite operators the conversion must contain, space-separated
  // "expected outputs" where onnxruntime 1.29 has no kernel for the model's operator version
  // (the suite's opset-6 BatchNormalization, PRelu, Gemm, Add, Mul, Pow, AveragePool).
  const char* reference = "onnxruntime";
};

void PrintTo(const ConformanceCase& c, std::ostream* out) { *out << c.model; }

class ConformanceConversion : public ::testing::TestWithParam<ConformanceCase> {};

// The converted model runs on tflite (the accuracy check) and agrees with onnxruntime on the
// suite's own inputs.
TEST_P(ConformanceConversion, RunsOnTfliteLikeOnnxruntime) {
  const ConformanceCase& c = GetParam();
  EB_REQUIRE_FILE(ConformanceModel(c.model) + "/model.onnx");
  auto report = ConvertConformanceModel(c.model);
  ASSERT_TRUE(report.ok()) << report.error().message;
  ASSERT_TRUE(report->ok()) << UnsupportedError(*report).message;
  ASSERT_TRUE(report->verified()) << report->unverified_reason;
  EXPECT_EQ(report->accuracy->reference_runtime, c.reference);
  EXPECT_EQ(report->accuracy->runtime, "tflite");
  EXPECT_LE(report->accuracy->max_rel_error, 1e-5) << "max abs error " << report->accuracy->max_abs_error;
  std::set<std::string> ops;
  for (const auto& op : report->operators) ops.insert(op.op);
  std::istringstream expected(c.operators);
  for (std::string op; expected >> op;) EXPECT_TRUE(ops.count(op)) << op << " missing";
}

INSTANTIATE_TEST_SUITE_P(
    Operators, ConformanceConversion,
    ::testing::Values(
        ConformanceCase{"pytorch-converted/test_Conv1d_pad2", "CONV_2D"},
        ConformanceCase{"pytorch-converted/test_Conv1d_dilated", "CONV_2D"},
        ConformanceCase{"pytorch-converted/test_Conv1d_groups", "SPLIT CONV_2D CONCATENATION"},
        ConformanceCase{"pytorch-converted/test_Conv2d_groups", "SPLIT CONV_2D CONCATENATION"},
        ConformanceCase{"pytorch-converted/test_MaxPool1d_stride", "MAX_POOL_2D"},
        ConformanceCase{"pytorch-converted/test_PReLU_2d_multiparam", "PRELU", "expected outputs"},
        ConformanceCase{"pytorch-converted/test_PReLU_3d_multiparam", "PRELU", "expected outputs"},
        ConformanceCase{"pytorch-converted/test_PReLU_1d", "LEAKY_RELU", "expected outputs"},
        ConformanceCase{"pytorch-converted/test_ConvTranspose2d", "TRANSPOSE_CONV SLICE ADD"},
        ConformanceCase{"pytorch-operator/test_operator_convtranspose", "TRANSPOSE_CONV SLICE"},
        ConformanceCase{"pytorch-converted/test_LogSoftmax", "LOG_SOFTMAX"},
        ConformanceCase{"pytorch-converted/test_log_softmax_dim3", "LOG_SOFTMAX"},
        ConformanceCase{"pytorch-converted/test_ReflectionPad2d", "MIRROR_PAD"},
        ConformanceCase{"pytorch-converted/test_ReplicationPad2d", "SLICE CONCATENATION"},
        ConformanceCase{"pytorch-operator/test_operator_addmm", "FULLY_CONNECTED ADD", "expected outputs"},
        ConformanceCase{"pytorch-operator/test_operator_mm", "FULLY_CONNECTED", "expected outputs"},
        ConformanceCase{"pytorch-operator/test_operator_basic", "NEG", "expected outputs"},
        ConformanceCase{"pytorch-operator/test_operator_exp", "EXP"},
        ConformanceCase{"pytorch-operator/test_operator_sqrt", "SQRT"},
        ConformanceCase{"pytorch-converted/test_Softsign", "ABS DIV", "expected outputs"},
        ConformanceCase{"pytorch-operator/test_operator_pow", "POW", "expected outputs"},
        ConformanceCase{"pytorch-operator/test_operator_max", "MAXIMUM"},
        ConformanceCase{"pytorch-operator/test_operator_symbolic_override_nested", "ADD NEG"},
        ConformanceCase{"pytorch-converted/test_ELU", "EXP MINIMUM"},
        ConformanceCase{"pytorch-operator/test_operator_selu", "EXP MINIMUM"},
        ConformanceCase{"pytorch-converted/test_Softplus", "EXP LOG"},
        ConformanceCase{"pytorch-operator/test_operator_reduced_sum", "SUM"},
        ConformanceCase{"pytorch-operator/test_operator_reduced_sum_keepdim", "SUM"},
        ConformanceCase{"pytorch-operator/test_operator_index", "SLICE"},
        ConformanceCase{"pytorch-operator/test_operator_repeat", "TILE"},
        ConformanceCase{"pytorch-operator/test_operator_symbolic_override", "MEAN RSQRT"},
        ConformanceCase{"simple/test_sign_model", "GREATER LESS CAST SUB"},
        ConformanceCase{"simple/test_shrink", "GREATER LESS CAST"},
        ConformanceCase{"pytorch-converted/test_BatchNorm3d_eval", "MUL ADD RESHAPE", "expected outputs"}));

// Where onnxruntime cannot run the source model, the expected outputs given with the samples are
// the reference; with no reference at all the conversion says it is unverified, and
// --require-verified makes that exit 3 with no file written.
TEST(ConvertVerification, UnverifiedConversionSaysSoAndWhy) {
  EB_REQUIRE_FILE(ZooFile("tinycnn", "tinycnn.onnx"));
  auto report = ConvertModel({ZooFile("tinycnn", "tinycnn.onnx"), ConvertTarget::kTflite, {}, ConvertPrecision::kFloat32,
                              SampleSettings{.random_accuracy_samples = 0}});
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_FALSE(report->verified());
  EXPECT_NE(report->unverified_reason.find("--accuracy-samples 0"), std::string::npos) << report->unverified_reason;
  const auto json = ToJson(*report);
  EXPECT_EQ(json["verified"], false);
  EXPECT_EQ(json["unverified_reason"], report->unverified_reason);
  EXPECT_NE(FormatConversionText(*report).find("NOT VERIFIED"), std::string::npos);

  const std::string out = testing::MakeTempDir() + "/tiny.tflite";
  auto cli = RunCli({"convert", ZooFile("tinycnn", "tinycnn.onnx"), "--to", "tflite", "-o", out,
                     "--accuracy-samples", "0", "--require-verified", "--json"});
  EXPECT_EQ(cli.exit_code, 3) << cli.err;
  EXPECT_NE(cli.err.find("not verified"), std::string::npos) << cli.err;
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_EQ(nlohmann::json::parse(cli.out)["verified"], false);
  auto verified = RunCli({"convert", ZooFile("tinycnn", "tinycnn.onnx"), "--to", "tflite", "-o", out, "--require-verified", "--json"});
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_EQ(nlohmann::json::parse(verified.out)["verified"], true);
}

// A one-node Resize model (opset 13) of a 1x3x4x5 input with constant scales.
std::string ResizeModel(const std::string& mode, const std::string& coordinates, const std::string& rounding,
                        const std::vector<float>& scales) {
  onnx::ModelProto model;
  model.set_ir_version(7);
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(13);
  auto* graph = model.mutable_graph();
  graph->set_name("resize");
  auto* input = graph->add_input();
  input->set_name("X");
  input->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  for (int64_t dim : {1, 3, 4, 5}) input->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(dim);
  auto* output = graph->add_output();
  output->set_name("Y");
  output->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  auto* scale_tensor = graph->add_initializer();
  scale_tensor->set_name("scales");
  scale_tensor->set_data_type(onnx::TensorProto::FLOAT);
  scale_tensor->add_dims(4);
  for (float scale : scales) scale_tensor->add_float_data(scale);
  auto* resize = graph->add_node();
  resize->set_op_type("Resize");
  resize->set_name("resize");
  for (const char* name : {"X", "", "scales"}) resize->add_input(name);
  resize->add_output("Y");
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"mode", mode}, {"coordinate_transformation_mode", coordinates}, {"nearest_mode", rounding}}) {
    auto* attribute = resize->add_attribute();
    attribute->set_name(name);
    attribute->set_type(onnx::AttributeProto::STRING);
    attribute->set_s(value);
  }
  const std::string path = testing::MakeTempDir() + "/resize.onnx";
  std::ofstream out(path, std::ios::binary);
  EXPECT_TRUE(model.SerializeToOstream(&out));
  return path;
}

TEST(Convert, ResizeNearestAndBilinearAgreeWithOnnxruntime) {
  struct Case {
    std::string mode, coordinates, rounding;
    std::vector<float> scales;
    std::string op;  // empty: refused
  };
  const Case cases[] = {
      {"nearest", "asymmetric", "floor", {1, 1, 2, 3}, "RESIZE_NEAREST_NEIGHBOR"},
      {"nearest", "asymmetric", "floor", {1, 1, 0.5f, 0.6f}, "RESIZE_NEAREST_NEIGHBOR"},
      {"nearest", "half_pixel", "round_prefer_floor", {1, 1, 2, 2}, "RESIZE_NEAREST_NEIGHBOR"},
      {"linear", "half_pixel", "round_prefer_floor", {1, 1, 2, 2}, "RESIZE_BILINEAR"},
      {"linear", "half_pixel", "round_prefer_floor", {1, 1, 0.5f, 0.6f}, "RESIZE_BILINEAR"},
      {"linear", "align_corners", "round_prefer_floor", {1, 1, 1.5f, 2}, "RESIZE_BILINEAR"},
      {"linear", "asymmetric", "round_prefer_floor", {1, 1, 2, 2}, "RESIZE_BILINEAR"},
      {"nearest", "half_pixel", "round_prefer_floor", {1, 1, 1.5f, 1.5f}, ""},
      {"cubic", "half_pixel", "round_prefer_floor", {1, 1, 2, 2}, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.mode + " " + c.coordinates + " " + c.rounding + " " + std::to_string(c.scales[2]));
    auto report = ConvertModel({ResizeModel(c.mode, c.coordinates, c.rounding, c.scales), ConvertTarget::kTflite, {}});
    ASSERT_TRUE(report.ok()) << report.error().message;
    if (c.op.empty()) {
      ASSERT_EQ(report->unsupported.size(), 1u);
      EXPECT_EQ(report->unsupported[0].op_type, "Resize");
      continue;
    }
    ASSERT_TRUE(report->ok()) << UnsupportedError(*report).message;
    ASSERT_TRUE(report->verified()) << report->unverified_reason;
    EXPECT_EQ(report->accuracy->reference_runtime, "onnxruntime");
    EXPECT_LE(report->accuracy->max_rel_error, 1e-5) << report->accuracy->max_abs_error;
    EXPECT_TRUE(std::any_of(report->operators.begin(), report->operators.end(),
                            [&](const TfliteOperator& op) { return op.op == c.op; }));
  }
}

// onnxruntime 1.29 refuses the suite's opset-6 AveragePool (AveragePool-1 has no kernel for
// it); the suite's expected outputs then verify the conversion.
TEST(ConvertVerification, ExpectedOutputsVerifyWhatOnnxruntimeCannotRun) {
  const std::string name = "pytorch-converted/test_AvgPool2d";
  EB_REQUIRE_FILE(ConformanceModel(name) + "/model.onnx");
  auto report = ConvertConformanceModel(name);
  ASSERT_TRUE(report.ok()) << report.error().message;
  ASSERT_TRUE(report->verified()) << report->unverified_reason;
  EXPECT_EQ(report->accuracy->reference_runtime, "expected outputs");
  EXPECT_LE(report->accuracy->max_rel_error, 1e-5);
}

// Item: a model whose opset_import or kernel_shape is wrong is bad input (exit 2) with a message
// naming the problem, not an internal error about an unconverted tensor.
std::string MutatedTinyCnn(const std::string& file, const std::function<void(onnx::ModelProto&)>& mutate) {
  onnx::ModelProto model;
  std::ifstream in(ZooFile("tinycnn", "tinycnn.onnx"), std::ios::binary);
  EXPECT_TRUE(model.ParseFromIstream(&in));
  mutate(model);
  const std::string path = testing::MakeTempDir() + "/" + file;
  std::ofstream out(path, std::ios::binary);
  EXPECT_TRUE(model.SerializeToOstream(&out));
  return path;
}

TEST(ConvertCli, BadOpsetOrKernelShapeIsBadInputNamingIt) {
  EB_REQUIRE_FILE(ZooFile("tinycnn", "tinycnn.onnx"));
  auto set_opset = [](int64_t version) {
    return [version](onnx::ModelProto& m) { m.mutable_opset_import(0)->set_version(version); };
  };
  auto first_kernel = [](std::vector<int64_t> kernel) {
    return [kernel](onnx::ModelProto& m) {
      for (auto& node : *m.mutable_graph()->mutable_node()) {
        for (auto& attribute : *node.mutable_attribute()) {
          if (attribute.name() != "kernel_shape") continue;
          attribute.clear_ints();
          for (int64_t k : kernel) attribute.add_ints(k);
          return;
        }
      }
    };
  };
  struct Case {
    std::string path, message;
  };
  const Case cases[] = {
      {MutatedTinyCnn("opset0.onnx", set_opset(0)), "opset 0 of the default domain (opset_import) has no Conv"},
      {MutatedTinyCnn("opset1.onnx", set_opset(1)), "of opset 1 (opset_import)"},
      {MutatedTinyCnn("no_default.onnx", [](onnx::ModelProto& m) { m.mutable_opset_import(0)->set_domain("bogus"); }),
       "opset_import has no entry for the default ONNX domain"},
      {MutatedTinyCnn("kernel.onnx", first_kernel({int64_t{1} << 31, 3})), "kernel_shape [2147483648,3]"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path);
    auto result = RunCli({"convert", c.path, "--to", "tflite", "-o", testing::MakeTempDir() + "/out.tflite"});
    EXPECT_EQ(result.exit_code, 2) << result.err;
    EXPECT_NE(result.err.find(c.message), std::string::npos) << result.err;
    EXPECT_EQ(result.err.find("used before"), std::string::npos) << result.err;
  }
}

// ---- quiet runtimes: what a runtime prints about itself needs --verbose

// tinycnn with an initializer no node uses, which onnxruntime warns about while loading.
std::string OnnxModelWithUnusedInitializer() {
  onnx::ModelProto model;
  std::ifstream in(ZooFile("tinycnn", "tinycnn.onnx"), std::ios::binary);
  EXPECT_TRUE(model.ParseFromIstream(&in));
  onnx::TensorProto* unused = model.mutable_graph()->add_initializer();
  unused->set_name("edgebench_unused_weight");
  unused->set_data_type(onnx::TensorProto::FLOAT);
  unused->add_dims(1);
  unused->add_float_data(1.0f);
  const std::string path = testing::MakeTempDir() + "/unused_initializer.onnx";
  std::ofstream out(path, std::ios::binary);
  EXPECT_TRUE(model.SerializeToOstream(&out));
  return path;
}

TEST(QuietRuntimes, OnnxruntimeWarningsNeedVerbose) {
  EB_REQUIRE_FILE(ZooFile("tinycnn", "tinycnn.onnx"));
  const std::string model = OnnxModelWithUnusedInitializer();
  const std::vector<std::string> bench = {"bench", model, "-r", "onnxruntime", "--min-runs", "2",
                                          "--min-duration-ms", "0", "--warmup-runs", "0", "--warmup-min-ms", "0",
                                          "--allow-unpinned-governor", "-q"};
  auto quiet = RunCli(bench);
  EXPECT_NE(quiet.exit_code, 2) << quiet.err;
  EXPECT_EQ(quiet.err.find("edgebench_unused_weight"), std::string::npos) << quiet.err;
  std::vector<std::string> verbose_args = bench;
  verbose_args.push_back("--verbose");
  auto verbose = RunCli(verbose_args);
  EXPECT_NE(verbose.exit_code, 2) << verbose.err;
  EXPECT_NE(verbose.err.find("onnxruntime warning: "), std::string::npos) << verbose.err;
  EXPECT_NE(verbose.err.find("edgebench_unused_weight"), std::string::npos) << verbose.err;
}

}  // namespace
}  // namespace edgebench
