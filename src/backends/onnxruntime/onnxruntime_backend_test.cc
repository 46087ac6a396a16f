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
namespace backends::onnxruntime {
BackendInfo Describe();
std::unique_ptr<Backend> Create();
}  // namespace backends::onnxruntime
namespace {

using testing::BindRandomInputs;
using testing::RunAndGetOutputs;

const testing::BackendUnderTest kOnnxRuntime{backends::onnxruntime::Create,
                                             backends::onnxruntime::Describe, ModelFormat::kOnnx,
                                             "onnx"};

testing::Loaded Load(const std::string& path, const BackendOptions& options = {}, int threads = 0) {
  return testing::Load(kOnnxRuntime, path, options, threads);
}

TEST(OnnxRuntimeBackend, DescribesLoadedLibrary) {
  const BackendInfo info = backends::onnxruntime::Describe();
  EXPECT_EQ(info.name, "onnxruntime");
  EXPECT_FALSE(info.version.empty());
  EXPECT_EQ(info.formats, std::vector<ModelFormat>{ModelFormat::kOnnx});
}

TEST(OnnxRuntimeBackend, RunsTinyCnnDeterministically) {
  testing::ExpectRunsTinyCnnDeterministically(kOnnxRuntime);
}

TEST(OnnxRuntimeBackend, OptionsDoNotChangeResults) {
  const std::string path = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(path);
  auto [reference, reference_status] = Load(path);
  ASSERT_TRUE(reference_status.ok()) << reference_status.error().message;
  auto [tuned, tuned_status] = Load(path,
                                    {{"graph_optimization_level", "disable"},
                                     {"execution_mode", "parallel"},
                                     {"inter_op_threads", "2"},
                                     {"memory_pattern", "false"},
                                     {"arena", "false"}},
                                    /*threads=*/2);
  ASSERT_TRUE(tuned_status.ok()) << tuned_status.error().message;
  testing::ExpectSameOutputs(*reference, *tuned, 1e-5);
}

TEST(OnnxRuntimeBackend, DynamicBatchIsReportedAndRuns) {
  testing::ExpectDynamicBatchIsReportedAndRuns(kOnnxRuntime);
}

// The zoo stores a reference input and PyTorch's output for it next to each model.
class OnnxRuntimeBackendMatchesPyTorch : public ::testing::TestWithParam<const char*> {};

TEST_P(OnnxRuntimeBackendMatchesPyTorch, OnReferenceInput) {
  testing::ExpectMatchesPyTorch(kOnnxRuntime, GetParam());
}

INSTANTIATE_TEST_SUITE_P(ZooModels, OnnxRuntimeBackendMatchesPyTorch,
                         ::testing::Values("tinycnn", "mobilenetv2"));

TEST(OnnxRuntimeBackend, ProfilesEveryKernelOfTinyCnn) {
  EXPECT_TRUE(backends::onnxruntime::Describe().op_profiling);
  const std::string path = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(path);
  auto [backend, status] = Load(path, {}, /*threads=*/1);
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_EQ(backend->Profile(1).error().code, ErrorCode::kInternal);  // no inputs yet
  BindRandomInputs(*backend, backend->InputSpecs());
  const auto before = RunAndGetOutputs(*backend);

  auto profile = backend->Profile(3);
  ASSERT_TRUE(profile.ok()) << profile.error().message;
  EXPECT_EQ(profile->source, "onnxruntime profiler");
  EXPECT_EQ(profile->profiled_runs, 3);
  ASSERT_FALSE(profile->kernels.empty());
  double total_ms = 0;
  std::set<std::string> types;
  for (const OpEvent& kernel : profile->kernels) {
    SCOPED_TRACE(kernel.kernel_name);
    EXPECT_EQ(kernel.calls, 3);  // once per run
    EXPECT_GE(kernel.total_ms, 0);
    EXPECT_EQ(kernel.provider, "CPUExecutionProvider");
    EXPECT_EQ(kernel.source_nodes, std::vector<std::string>{kernel.kernel_name});
    EXPECT_TRUE(kernel.fused_into.empty());
    total_ms += kernel.total_ms;
    types.insert(kernel.kernel_type);
  }
  EXPECT_GT(total_ms, 0);
  EXPECT_TRUE(types.contains("Conv")) << ::testing::PrintToString(types);
  // Profiled runs compute the same outputs.
  auto after = backend->Outputs();
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_EQ(after->at(0).data, before.at(0).data);
}

// MobileNetV1 as ORT runs it: Conv+BatchNorm+Clip(ReLU6) fused into one Conv kernel per layer
// (as TensorRT fuses it on Jetson boards), which takes most of the time.
TEST(OnnxRuntimeBackend, FusedConvDominatesMobileNetV1Profile) {
  const std::string path = testing::ZooModel("mobilenetv1", "onnx");
  EB_REQUIRE_FILE(path);
  const auto backend = testing::LoadAndRunOnce(kOnnxRuntime, path);
  ASSERT_NE(backend, nullptr);
  auto profile = backend->Profile(5);
  ASSERT_TRUE(profile.ok()) << profile.error().message;
  const auto by_type = SummarizeByKernelType(*profile);
  ASSERT_FALSE(by_type.empty());
  EXPECT_EQ(by_type[0].kernel_type, "Conv");
  EXPECT_EQ(by_type[0].kernels, 28);  // 27 in the feature extractor + the classifier's 1x1 Conv
  EXPECT_GT(by_type[0].share, 0.5);
  for (const auto& type : by_type) {
    EXPECT_NE(type.kernel_type, "BatchNormalization");  // folded into the Conv weights
    EXPECT_NE(type.kernel_type, "Clip");                // fused as the Conv's activation
  }
}

// The fusion map of MobileNetV1 at ORT's default level (all), as ORT really runs it (checked
// against its profile): each Conv+BatchNormalization+Clip block is one NCHWc Conv kernel named
// after the Clip's output tensor ("/features/features.2/Clip_output_0_nchwc"); the 4 explicit
// Pads (before the stride-2 depthwise convs) leave no kernel: ORT's Pad fusion folds them into
// the next Conv, as TensorRT's Pad+depthwise+Relu6. The NCHWc layout adds
// ReorderInput/ReorderOutput kernels that no source node has.
TEST(OnnxRuntimeBackend, MobileNetV1FusionMap) {
  const std::string path = testing::ZooModel("mobilenetv1", "onnx");
  EB_REQUIRE_FILE(path);
  const auto backend = testing::LoadAndRunOnce(kOnnxRuntime, path);
  ASSERT_NE(backend, nullptr);
  auto profile = backend->Profile(1);
  ASSERT_TRUE(profile.ok()) << profile.error().message;
  const FusionMap map = MapFusion(*profile, testing::SourceGraph(path));
  EXPECT_EQ(map.source_nodes, 91);
  EXPECT_EQ(map.kernels, 36);
  using Row = std::tuple<std::string, std::string, int64_t>;
  EXPECT_EQ(testing::FusionRows(map), (std::vector<Row>{{"Conv+BatchNormalization+Clip", "Conv", 23},
                                         {"Pad+Conv+BatchNormalization+Clip", "Conv", 4},
                                         {"Reshape", "Reshape", 2},
                                         {"GlobalAveragePool", "GlobalAveragePool", 1},
                                         {"Flatten", "Flatten", 1},
                                         {"Conv", "Conv", 1},
                                         {"Softmax", "Softmax", 1}}));
  EXPECT_TRUE(map.removed.empty());
  using Count = std::pair<std::string, int64_t>;
  EXPECT_EQ(testing::OpTypeCounts(map.added), (std::vector<Count>{{"ReorderOutput", 2}, {"ReorderInput", 1}}));
  const auto placement = SummarizeByProvider(*profile);
  ASSERT_EQ(placement.size(), 1u);
  EXPECT_EQ(placement[0].provider, "CPUExecutionProvider");
  EXPECT_EQ(placement[0].kernels, 36);
}

// At level extended (no NCHWc layout) the fused kernel is a FusedConv that keeps the Conv's
// name; BatchNormalization and Clip after it and the Pad before it are inferred.
TEST(OnnxRuntimeBackend, MobileNetV1FusionMapWithoutNchwc) {
  const std::string path = testing::ZooModel("mobilenetv1", "onnx");
  EB_REQUIRE_FILE(path);
  auto loaded = Load(path, {{"graph_optimization_level", "extended"}}, 1);
  ASSERT_TRUE(loaded.status.ok()) << loaded.status.error().message;
  BindRandomInputs(*loaded.backend, loaded.backend->InputSpecs());
  ASSERT_TRUE(loaded.backend->RunOnce().ok());
  auto profile = loaded.backend->Profile(1);
  ASSERT_TRUE(profile.ok()) << profile.error().message;
  const FusionMap map = MapFusion(*profile, testing::SourceGraph(path));
  EXPECT_EQ(map.kernels, 33);
  using Row = std::tuple<std::string, std::string, int64_t>;
  EXPECT_EQ(testing::FusionRows(map), (std::vector<Row>{{"Conv+BatchNormalization+Clip", "FusedConv", 23},
                                         {"Pad+Conv+BatchNormalization+Clip", "FusedConv", 4},
                                         {"Reshape", "Reshape", 2},
                                         {"GlobalAveragePool", "GlobalAveragePool", 1},
                                         {"Flatten", "Flatten", 1},
                                         {"Conv", "Conv", 1},
                                         {"Softmax", "Softmax", 1}}));
  EXPECT_TRUE(map.removed.empty());
  EXPECT_TRUE(map.added.empty());
}

// ResNet18 at level all: ORT's NCHWc Conv also adds the residual and applies the Relu after
// it, so each basic block's second Conv+BatchNormalization+Add+Relu is one kernel (named after
// the BatchNormalization's output: the Add and Relu are inferred); the downsample Conv keeps
// its BatchNormalization only.
TEST(OnnxRuntimeBackend, ResNet18FusesResidualAddIntoConv) {
  const std::string path = testing::ZooModel("resnet18", "onnx");
  EB_REQUIRE_FILE(path);
  const auto backend = testing::LoadAndRunOnce(kOnnxRuntime, path);
  ASSERT_NE(backend, nullptr);
  auto profile = backend->Profile(1);
  ASSERT_TRUE(profile.ok()) << profile.error().message;
  const FusionMap map = MapFusion(*profile, testing::SourceGraph(path));
  EXPECT_EQ(map.source_nodes, 69);
  EXPECT_EQ(map.kernels, 25);
  using Row = std::tuple<std::string, std::string, int64_t>;
  EXPECT_EQ(testing::FusionRows(map), (std::vector<Row>{{"Conv+BatchNormalization+Relu", "Conv", 9},
                                         {"Conv+BatchNormalization+Add+Relu", "Conv", 8},
                                         {"Conv+BatchNormalization", "Conv", 3},
                                         {"MaxPool", "MaxPool", 1},
                                         {"GlobalAveragePool", "GlobalAveragePool", 1},
                                         {"Flatten", "Flatten", 1},
                                         {"Gemm", "Gemm", 1}}));
  EXPECT_TRUE(map.removed.empty());
}

TEST(OnnxRuntimeBackend, TruncatedModelIsBadModel) {
  testing::ExpectTruncatedModelIsBadModel(kOnnxRuntime);
}

TEST(OnnxRuntimeBackend, RandomBytesAreBadModel) {
  testing::ExpectRandomBytesAreBadModel(kOnnxRuntime);
}

TEST(OnnxRuntimeBackend, MissingFileIsNotFound) {
  testing::ExpectMissingFileIsNotFound(kOnnxRuntime);
}

TEST(OnnxRuntimeBackend, RejectsInputsThatDoNotMatchSpecs) {
  testing::ExpectRejectsInputsThatDoNotMatchSpecs(kOnnxRuntime);
}

}  // namespace
}  // namespace edgebench
