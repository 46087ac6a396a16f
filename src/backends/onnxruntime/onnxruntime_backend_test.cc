#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "edgebench/backend.h"
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
// (paper A, Tables 5 and 6), which takes most of the time.
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
