#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "edgebench/backend.h"
#include "edgebench/fusion.h"
#include "edgebench/profile.h"
#include "testing/backend_testing.h"
#include "testing/test_models.h"

namespace edgebench {
namespace backends::opencv {
BackendInfo Describe();
std::unique_ptr<Backend> Create();
}  // namespace backends::opencv
namespace {

using testing::BindRandomInputs;
using testing::RunAndGetOutputs;

const testing::BackendUnderTest kOpenCv{backends::opencv::Create, backends::opencv::Describe,
                                        ModelFormat::kOnnx, "onnx"};

testing::Loaded Load(const std::string& path, const BackendOptions& options = {}, int threads = 0) {
  return testing::Load(kOpenCv, path, options, threads);
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
  const LoadRequest request =
      testing::MakeLoadRequest(backends::opencv::Describe(), "model.tflite", ModelFormat::kTflite);
  EXPECT_EQ(backend->Load(request).error().code, ErrorCode::kUnsupported);
}

TEST(OpenCvBackend, RunsTinyCnnDeterministically) {
  testing::ExpectRunsTinyCnnDeterministically(kOpenCv);
}

TEST(OpenCvBackend, ThreadsAndDefaultBackendDoNotChangeResults) {
  const std::string path = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(path);
  auto [reference, reference_status] = Load(path, {}, /*threads=*/1);
  ASSERT_TRUE(reference_status.ok()) << reference_status.error().message;
  auto [tuned, tuned_status] = Load(path, {{"dnn_backend", "default"}}, /*threads=*/2);
  ASSERT_TRUE(tuned_status.ok()) << tuned_status.error().message;
  testing::ExpectSameOutputs(*reference, *tuned, 1e-5);
}

TEST(OpenCvBackend, DynamicBatchIsReportedAndRuns) {
  testing::ExpectDynamicBatchIsReportedAndRuns(kOpenCv);
}

// The zoo stores a reference input and PyTorch's output for it next to each model.
class OpenCvBackendMatchesPyTorch : public ::testing::TestWithParam<const char*> {};

TEST_P(OpenCvBackendMatchesPyTorch, OnReferenceInput) {
  testing::ExpectMatchesPyTorch(kOpenCv, GetParam());
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
  const auto backend = testing::LoadAndRunOnce(kOpenCv, path);
  ASSERT_NE(backend, nullptr);
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

// The fusion map of MobileNetV1 as OpenCV runs it (its own layer lists, checked against its
// profile): all 27 Conv+BatchNormalization+Clip blocks are one Convolution layer each; the 4
// explicit Pads stay Padding layers of their own (as TFLite's Pad kernels); the
// first Conv's own padding becomes a Padding layer too; Flatten runs as two layers; and the
// network's output layer is an Identity that OpenCV attributes to the Softmax it copies.
TEST(OpenCvBackend, MobileNetV1FusionMap) {
  const std::string path = testing::ZooModel("mobilenetv1", "onnx");
  EB_REQUIRE_FILE(path);
  const auto backend = testing::LoadAndRunOnce(kOpenCv, path);
  ASSERT_NE(backend, nullptr);
  auto profile = backend->Profile(1);
  ASSERT_TRUE(profile.ok()) << profile.error().message;
  const FusionMap map = MapFusion(*profile, testing::SourceGraph(path));
  EXPECT_EQ(map.source_nodes, 91);
  EXPECT_EQ(map.kernels, 40);
  using Row = std::tuple<std::string, std::string, int64_t>;
  EXPECT_EQ(testing::FusionRows(map), (std::vector<Row>{{"Conv+BatchNormalization+Clip", "Convolution", 27},
                                         {"Pad", "Padding", 4},
                                         {"Flatten", "Flatten", 2},
                                         {"Reshape", "Reshape", 2},
                                         {"Conv", "Padding", 1},
                                         {"GlobalAveragePool", "Pooling", 1},
                                         {"Conv", "Convolution", 1},
                                         {"Softmax", "Softmax", 1},
                                         {"Softmax", "Identity", 1}}));
  EXPECT_TRUE(map.removed.empty());
  EXPECT_TRUE(map.added.empty());
  const auto placement = SummarizeByProvider(*profile);
  ASSERT_EQ(placement.size(), 1u);
  EXPECT_EQ(placement[0].provider, "opencv/cpu");
  EXPECT_EQ(placement[0].kernels, 40);
}

TEST(OpenCvBackend, TruncatedModelIsBadModel) {
  testing::ExpectTruncatedModelIsBadModel(kOpenCv);
}

TEST(OpenCvBackend, RandomBytesAreBadModel) {
  testing::ExpectRandomBytesAreBadModel(kOpenCv);
}

TEST(OpenCvBackend, MissingFileIsNotFound) {
  testing::ExpectMissingFileIsNotFound(kOpenCv);
}

TEST(OpenCvBackend, RejectsInputsThatDoNotMatchSpecs) {
  testing::ExpectRejectsInputsThatDoNotMatchSpecs(kOpenCv);
}

}  // namespace
}  // namespace edgebench
