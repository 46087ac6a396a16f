#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>

#include "edgebench/backend.h"
#include "edgebench/profile.h"
#include "testing/test_models.h"

namespace edgebench {
namespace backends::opencv {
BackendInfo Describe();
std::unique_ptr<Backend> Create();
}  // namespace backends::opencv
namespace {

struct Loaded {
  std::unique_ptr<Backend> backend;
  Status status;
};

Loaded Load(const std::string& path, const BackendOptions& options = {}, int threads = 0) {
  Loaded loaded{backends::opencv::Create(), OkStatus()};
  auto effective = ValidateOptions(backends::opencv::Describe(), options);
  if (!effective.ok()) return {nullptr, effective.error()};
  LoadRequest request;
  request.model.path = path;
  request.model.format = ModelFormat::kOnnx;
  request.threads = threads;
  request.options = *effective;
  loaded.status = loaded.backend->Load(request);
  return loaded;
}

// Binds seeded random inputs of the given (concrete) specs.
void BindRandomInputs(Backend& backend, const std::vector<TensorSpec>& specs) {
  std::vector<Tensor> inputs;
  for (const TensorSpec& spec : specs) {
    auto tensor = MakeRandomTensor(spec, /*seed=*/42);
    ASSERT_TRUE(tensor.ok()) << tensor.error().message;
    inputs.push_back(std::move(*tensor));
  }
  const Status status = backend.SetInputs(inputs);
  ASSERT_TRUE(status.ok()) << status.error().message;
}

std::vector<Tensor> RunAndGetOutputs(Backend& backend) {
  const Status status = backend.RunOnce();
  EXPECT_TRUE(status.ok()) << status.error().message;
  auto outputs = backend.Outputs();
  EXPECT_TRUE(outputs.ok()) << outputs.error().message;
  return outputs.ok() ? std::move(*outputs) : std::vector<Tensor>{};
}

std::vector<float> Floats(const Tensor& tensor) {
  std::vector<float> values(tensor.data.size() / sizeof(float));
  std::memcpy(values.data(), tensor.data.data(), values.size() * sizeof(float));
  return values;
}

// Writes `bytes` to a file in a fresh temp dir and returns its path.
std::string WriteTempFile(const std::string& name, const std::string& bytes) {
  const std::string path = testing::MakeTempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(OpenCvBackend, DescribesLoadedLibrary) {
  const BackendInfo info = backends::opencv::Describe();
  EXPECT_EQ(info.name, "opencv");
  EXPECT_EQ(info.version.substr(0, 2), "4.");
  EXPECT_EQ(info.formats, std::vector<ModelFormat>{ModelFormat::kOnnx});
  // Only choices this build offers: the CPU target always exists.
  for (const OptionSpec& option : info.options) {
    if (option.key == "target") {
      EXPECT_EQ(option.choices.at(0), "cpu");
    }
  }
}

TEST(OpenCvBackend, RejectsOtherFormats) {
  auto backend = backends::opencv::Create();
  LoadRequest request;
  request.model.path = "model.tflite";
  request.model.format = ModelFormat::kTflite;
  auto options = ValidateOptions(backends::opencv::Describe(), {});
  ASSERT_TRUE(options.ok());
  request.options = *options;
  EXPECT_EQ(backend->Load(request).error().code, ErrorCode::kUnsupported);
}

TEST(OpenCvBackend, RunsTinyCnnDeterministically) {
  const std::string path = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(path);
  auto [backend, status] = Load(path, {}, /*threads=*/1);
  ASSERT_TRUE(status.ok()) << status.error().message;

  const auto inputs = backend->InputSpecs();
  ASSERT_EQ(inputs.size(), 1u);
  EXPECT_EQ(inputs[0].name, "input");
  EXPECT_EQ(inputs[0].type, DataType::kFloat32);
  EXPECT_EQ(inputs[0].shape, (std::vector<int64_t>{1, 3, 32, 32}));
  const auto outputs = backend->OutputSpecs();
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].name, "output");
  EXPECT_EQ(outputs[0].shape, (std::vector<int64_t>{1, 10}));

  BindRandomInputs(*backend, inputs);
  const auto first = RunAndGetOutputs(*backend);
  const auto second = RunAndGetOutputs(*backend);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(first[0].spec.name, "output");
  EXPECT_EQ(first[0].spec.type, DataType::kFloat32);
  EXPECT_EQ(first[0].spec.shape, (std::vector<int64_t>{1, 10}));
  for (float value : Floats(first[0])) EXPECT_TRUE(std::isfinite(value));
  EXPECT_EQ(first[0].data, second[0].data);
}

TEST(OpenCvBackend, ThreadsAndDefaultBackendDoNotChangeResults) {
  const std::string path = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(path);
  auto [reference, reference_status] = Load(path, {}, /*threads=*/1);
  ASSERT_TRUE(reference_status.ok()) << reference_status.error().message;
  auto [tuned, tuned_status] = Load(path, {{"dnn_backend", "default"}}, /*threads=*/2);
  ASSERT_TRUE(tuned_status.ok()) << tuned_status.error().message;
  BindRandomInputs(*reference, reference->InputSpecs());
  BindRandomInputs(*tuned, tuned->InputSpecs());
  const auto expected = Floats(RunAndGetOutputs(*reference).at(0));
  const auto actual = Floats(RunAndGetOutputs(*tuned).at(0));
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) EXPECT_NEAR(actual[i], expected[i], 1e-5);
}

TEST(OpenCvBackend, DynamicBatchIsReportedAndRuns) {
  const std::string path = testing::ZooModel("tinycnn_dynamic", "onnx");
  EB_REQUIRE_FILE(path);
  auto [backend, status] = Load(path);
  ASSERT_TRUE(status.ok()) << status.error().message;
  auto inputs = backend->InputSpecs();
  ASSERT_EQ(inputs.size(), 1u);
  EXPECT_EQ(inputs[0].shape, (std::vector<int64_t>{kDynamicDim, 3, 32, 32}));
  EXPECT_FALSE(inputs[0].IsConcrete());
  EXPECT_EQ(backend->OutputSpecs().at(0).shape.at(0), kDynamicDim);

  // A new batch size after runs with another one.
  for (int64_t batch : {1, 3}) {
    inputs[0].shape[0] = batch;
    BindRandomInputs(*backend, inputs);
    const auto outputs = RunAndGetOutputs(*backend);
    ASSERT_EQ(outputs.size(), 1u);
    EXPECT_EQ(outputs[0].spec.shape, (std::vector<int64_t>{batch, 10}));
  }
}

// The zoo stores a reference input and PyTorch's output for it next to each model.
class OpenCvBackendMatchesPyTorch : public ::testing::TestWithParam<const char*> {};

TEST_P(OpenCvBackendMatchesPyTorch, OnReferenceInput) {
  const std::string path = testing::ZooModel(GetParam(), "onnx");
  const std::string dir = std::filesystem::path(path).parent_path().string();
  EB_REQUIRE_FILE(path);
  EB_REQUIRE_FILE(dir + "/input.f32");
  EB_REQUIRE_FILE(dir + "/output.f32");
  auto [backend, status] = Load(path);
  ASSERT_TRUE(status.ok()) << status.error().message;
  auto input = LoadTensorFile(backend->InputSpecs().at(0), dir + "/input.f32");
  ASSERT_TRUE(input.ok()) << input.error().message;
  const Status bound = backend->SetInputs({*input});
  ASSERT_TRUE(bound.ok()) << bound.error().message;
  const auto outputs = RunAndGetOutputs(*backend);
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].spec.shape, backend->OutputSpecs().at(0).shape);
  auto expected = LoadTensorFile(outputs[0].spec, dir + "/output.f32");
  ASSERT_TRUE(expected.ok()) << expected.error().message;
  const auto actual_values = Floats(outputs[0]);
  const auto expected_values = Floats(*expected);
  for (std::size_t i = 0; i < actual_values.size(); ++i) {
    ASSERT_NEAR(actual_values[i], expected_values[i], 1e-4) << "element " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(ZooModels, OpenCvBackendMatchesPyTorch,
                         ::testing::Values("tinycnn", "mobilenetv2"));

// The kernel of the profile named `name`, or null.
const OpEvent* FindKernel(const OpProfile& profile, const std::string& name) {
  for (const OpEvent& kernel : profile.kernels) {
    if (kernel.kernel_name == name) return &kernel;
  }
  return nullptr;
}

TEST(OpenCvBackend, ProfilesEveryLayerOfTinyCnn) {
  EXPECT_TRUE(backends::opencv::Describe().op_profiling);
  const std::string path = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(path);
  auto [backend, status] = Load(path, {}, /*threads=*/1);
  ASSERT_TRUE(status.ok()) << status.error().message;
  BindRandomInputs(*backend, backend->InputSpecs());
  const auto before = RunAndGetOutputs(*backend);

  auto profile = backend->Profile(3);
  ASSERT_TRUE(profile.ok()) << profile.error().message;
  EXPECT_EQ(profile->source, "opencv getPerfProfile");
  EXPECT_EQ(profile->profiled_runs, 3);
  ASSERT_FALSE(profile->kernels.empty());
  double total_ms = 0;
  std::set<std::string> types;
  for (const OpEvent& kernel : profile->kernels) {
    SCOPED_TRACE(kernel.kernel_name);
    EXPECT_EQ(kernel.provider, "opencv/cpu");
    EXPECT_EQ(kernel.calls, kernel.fused_into.empty() ? 3 : 0);
    EXPECT_EQ(kernel.total_ms > 0, kernel.fused_into.empty());
    total_ms += kernel.total_ms;
    types.insert(kernel.kernel_type);
  }
  EXPECT_GT(total_ms, 0);
  EXPECT_TRUE(types.contains("Convolution")) << ::testing::PrintToString(types);

  // Conv -> BatchNorm -> ReLU runs as one Convolution layer; the other two are fused into it.
  const OpEvent* conv = FindKernel(*profile, "onnx_node!/features/features.0/Conv");
  const OpEvent* batch_norm = FindKernel(*profile, "onnx_node!/features/features.1/BatchNormalization");
  const OpEvent* relu = FindKernel(*profile, "onnx_node!/features/features.2/Relu");
  ASSERT_TRUE(conv && batch_norm && relu);
  EXPECT_TRUE(conv->fused_into.empty());
  EXPECT_EQ(batch_norm->fused_into, conv->kernel_name);
  EXPECT_EQ(relu->fused_into, conv->kernel_name);
  EXPECT_EQ(conv->source_nodes,
            (std::vector<std::string>{"/features/features.0/Conv", "/features/features.1/BatchNormalization",
                                      "/features/features.2/Relu"}));
  auto after = backend->Outputs();
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_EQ(after->at(0).data, before.at(0).data);
}

TEST(OpenCvBackend, ConvolutionDominatesMobileNetV1Profile) {
  const std::string path = testing::ZooModel("mobilenetv1", "onnx");
  EB_REQUIRE_FILE(path);
  auto [backend, status] = Load(path, {}, /*threads=*/1);
  ASSERT_TRUE(status.ok()) << status.error().message;
  BindRandomInputs(*backend, backend->InputSpecs());
  ASSERT_TRUE(backend->RunOnce().ok());
  auto profile = backend->Profile(3);
  ASSERT_TRUE(profile.ok()) << profile.error().message;
  const auto by_type = SummarizeByKernelType(*profile);
  ASSERT_FALSE(by_type.empty());
  EXPECT_EQ(by_type[0].kernel_type, "Convolution");
  EXPECT_EQ(by_type[0].kernels, 28);
  EXPECT_GT(by_type[0].share, 0.5);
  int fused = 0;
  for (const OpEvent& kernel : profile->kernels) {
    if (kernel.kernel_type == "BatchNorm" || kernel.kernel_type == "ReLU6") {
      EXPECT_FALSE(kernel.fused_into.empty()) << kernel.kernel_name;
      ++fused;
    }
  }
  EXPECT_EQ(fused, 27 + 27);
}

TEST(OpenCvBackend, TruncatedModelIsBadModel) {
  const std::string source = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(source);
  const std::string bytes = ReadFile(source);
  const std::string path = WriteTempFile("truncated.onnx", bytes.substr(0, bytes.size() / 2));
  auto [backend, status] = Load(path);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kBadModel);
  EXPECT_NE(status.error().message.find(path), std::string::npos) << status.error().message;
  EXPECT_EQ(status.error().message.find('\n'), std::string::npos) << status.error().message;
}

TEST(OpenCvBackend, RandomBytesAreBadModel) {
  std::mt19937 engine(7);
  std::string bytes(4096, '\0');
  for (char& byte : bytes) byte = static_cast<char>(engine());
  const std::string path = WriteTempFile("random.onnx", bytes);
  auto [backend, status] = Load(path);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kBadModel);
  EXPECT_NE(status.error().message.find(path), std::string::npos) << status.error().message;
}

TEST(OpenCvBackend, MissingFileIsNotFound) {
  const std::string path = testing::MakeTempDir() + "/absent.onnx";
  auto [backend, status] = Load(path);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kNotFound) << status.error().message;
  EXPECT_NE(status.error().message.find(path), std::string::npos) << status.error().message;
}

TEST(OpenCvBackend, RejectsInputsThatDoNotMatchSpecs) {
  const std::string path = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(path);
  auto [backend, status] = Load(path);
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_EQ(backend->SetInputs({}).error().code, ErrorCode::kInvalidArgument);

  TensorSpec wrong_type = backend->InputSpecs().at(0);
  wrong_type.type = DataType::kInt32;
  auto tensor = MakeRandomTensor(wrong_type, 1);
  ASSERT_TRUE(tensor.ok());
  EXPECT_EQ(backend->SetInputs({*tensor}).error().code, ErrorCode::kInvalidArgument);

  TensorSpec wrong_shape = backend->InputSpecs().at(0);
  wrong_shape.shape = {1, 3, 16, 16};
  tensor = MakeRandomTensor(wrong_shape, 1);
  ASSERT_TRUE(tensor.ok());
  EXPECT_EQ(backend->SetInputs({*tensor}).error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace edgebench
