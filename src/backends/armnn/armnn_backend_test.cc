#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "edgebench/backend.h"
#include "edgebench/profile.h"
#include "edgebench/registry.h"
#include "edgebench/verify.h"
#include "testing/backend_testing.h"
#include "testing/test_models.h"

namespace edgebench {
namespace backends::armnn {
BackendInfo Describe();
std::unique_ptr<Backend> Create();
}  // namespace backends::armnn
namespace {

using testing::AllFinite;
using testing::RandomInputs;
using testing::RunAndGetOutputs;

const testing::BackendUnderTest kArmnn{backends::armnn::Create, backends::armnn::Describe,
                                       ModelFormat::kTflite, "tflite"};

// MediaPipe's short-range face detector: float16 weights behind DEQUANTIZE operators.
std::string FaceModel() { return testing::DownloadedModel("face_detection_short_range.tflite"); }

TEST(ArmnnBackend, DescribesRuntimeAndOptions) {
  const BackendInfo info = backends::armnn::Describe();
  EXPECT_EQ(info.name, "armnn");
  EXPECT_FALSE(info.version.empty());
  EXPECT_EQ(info.formats, std::vector<ModelFormat>{ModelFormat::kTflite});
  EXPECT_TRUE(info.op_profiling);
  ASSERT_EQ(info.options.size(), 2u);
  EXPECT_EQ(info.options[0].key, "backends");
  EXPECT_EQ(info.options[0].default_value, "auto");
  // Debian's libarmnn-cpuref-backend22 (tools/setup.sh) registers CpuRef on every architecture.
  EXPECT_NE(info.notes.at(0).find("CpuRef"), std::string::npos) << info.notes.at(0);
}

TEST(ArmnnBackend, RunsFaceDetectorDeterministically) {
  const std::string path = FaceModel();
  EB_REQUIRE_FILE(path);
  auto [backend, status] = testing::Load(kArmnn, path, {{"backends", "CpuRef"}});
  ASSERT_TRUE(status.ok()) << status.error().message;
  const auto inputs = backend->InputSpecs();
  ASSERT_EQ(inputs.size(), 1u);
  EXPECT_EQ(inputs[0].type, DataType::kFloat32);
  EXPECT_EQ(inputs[0].shape, (std::vector<int64_t>{1, 128, 128, 3}));
  const auto output_specs = backend->OutputSpecs();
  ASSERT_EQ(output_specs.size(), 2u);
  EXPECT_EQ(output_specs[0].shape, (std::vector<int64_t>{1, 896, 16}));
  EXPECT_EQ(output_specs[1].shape, (std::vector<int64_t>{1, 896, 1}));

  ASSERT_TRUE(backend->SetInputs(RandomInputs(inputs)).ok());
  const std::vector<Tensor> first = RunAndGetOutputs(*backend);
  const std::vector<Tensor> second = RunAndGetOutputs(*backend);
  ASSERT_EQ(first.size(), 2u);
  ASSERT_EQ(second.size(), 2u);
  for (std::size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].spec.shape, output_specs[i].shape);
    EXPECT_TRUE(AllFinite(first[i])) << first[i].spec.name;
    EXPECT_EQ(first[i].data, second[i].data) << first[i].spec.name;
  }
}

// Arm NN (CpuRef) and TFLite compute the same detector outputs on the same input. Both run the
// float16 weights widened exactly to float32; kernels differ in summation order only. The
// regressors are box offsets in pixels (up to ~100), the classificators logits.
TEST(ArmnnBackend, AgreesWithTfliteOnFaceDetector) {
  const std::string path = FaceModel();
  EB_REQUIRE_FILE(path);
  auto tflite = FindBackend("tflite");
  if (!tflite.ok()) GTEST_SKIP() << "tflite backend not compiled: " << tflite.error().message;
  const testing::BackendUnderTest kTflite{(*tflite)->create, (*tflite)->describe,
                                          ModelFormat::kTflite, "tflite"};
  auto [reference, reference_status] = testing::Load(kTflite, path);
  ASSERT_TRUE(reference_status.ok()) << reference_status.error().message;
  auto [armnn, armnn_status] = testing::Load(kArmnn, path);
  ASSERT_TRUE(armnn_status.ok()) << armnn_status.error().message;

  const std::vector<Tensor> inputs = RandomInputs(armnn->InputSpecs(), /*seed=*/7);
  ASSERT_TRUE(reference->SetInputs(inputs).ok());
  ASSERT_TRUE(armnn->SetInputs(inputs).ok());
  const std::vector<Tensor> expected = RunAndGetOutputs(*reference);
  const std::vector<Tensor> actual = RunAndGetOutputs(*armnn);
  auto comparison = CompareOutputs(actual, expected);
  ASSERT_TRUE(comparison.ok()) << comparison.error().message;
  ASSERT_EQ(comparison->size(), 2u);
  for (const OutputComparison& output : *comparison) {
    EXPECT_LT(output.max_rel_error, 1e-4) << output.name << " max abs " << output.max_abs_error;
  }
}

TEST(ArmnnBackend, ProfilesEveryWorkloadWithItsComputeBackend) {
  const std::string path = FaceModel();
  EB_REQUIRE_FILE(path);
  auto backend = testing::LoadAndRunOnce(kArmnn, path);
  ASSERT_NE(backend, nullptr);
  auto profile = backend->Profile(2);
  ASSERT_TRUE(profile.ok()) << profile.error().message;
  EXPECT_EQ(profile->source, "armnn profiler");
  EXPECT_EQ(profile->profiled_runs, 2);
  int64_t convolutions = 0;
  for (const OpEvent& kernel : profile->kernels) {
    SCOPED_TRACE(kernel.kernel_name);
    EXPECT_EQ(kernel.calls, 2);
    EXPECT_GE(kernel.total_ms, 0);
    if (kernel.kernel_type == "CopyMemGeneric") {
      EXPECT_EQ(kernel.provider, "armnn");
    } else {
      EXPECT_EQ(kernel.provider, "CpuRef");
    }
    if (kernel.kernel_type == "Convolution2d") ++convolutions;
  }
  // The detector's 21 CONV_2D operators, each one workload: Arm NN fuses nothing into them, and
  // its Relu layers stay separate Activation workloads.
  EXPECT_EQ(convolutions, 21);
  const auto types = SummarizeByKernelType(*profile);
  EXPECT_TRUE(std::any_of(types.begin(), types.end(), [](const KernelTypeShare& share) {
    return share.kernel_type == "Activation";
  }));
  const auto providers = SummarizeByProvider(*profile);
  ASSERT_FALSE(providers.empty());
  EXPECT_EQ(providers[0].provider, "CpuRef");
}

TEST(ArmnnBackend, RejectsBackendTheRuntimeDoesNotHave) {
  const std::string path = FaceModel();
  EB_REQUIRE_FILE(path);
  auto [backend, status] = testing::Load(kArmnn, path, {{"backends", "NoSuchAcc,CpuRef"}});
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(status.error().message.find("NoSuchAcc is not available here"), std::string::npos)
      << status.error().message;
}

TEST(ArmnnBackend, RejectsInputOfWrongShape) {
  const std::string path = FaceModel();
  EB_REQUIRE_FILE(path);
  auto [backend, status] = testing::Load(kArmnn, path);
  ASSERT_TRUE(status.ok()) << status.error().message;
  TensorSpec spec = backend->InputSpecs()[0];
  spec.shape = {1, 64, 64, 3};
  Status bound = backend->SetInputs(RandomInputs({spec}));
  ASSERT_FALSE(bound.ok());
  EXPECT_EQ(bound.error().code, ErrorCode::kInvalidArgument);
}

TEST(ArmnnBackend, RejectsTruncatedModels) {
  const std::string path = FaceModel();
  EB_REQUIRE_FILE(path);
  for (const std::string& copy : testing::WriteTruncatedCopies(path, "tflite")) {
    SCOPED_TRACE(copy);
    testing::ExpectOneLineBadModel(kArmnn, copy);
  }
}

TEST(ArmnnBackend, RejectsRandomBytes) { testing::ExpectRandomBytesAreBadModel(kArmnn); }

TEST(ArmnnBackend, MissingFileIsNotFound) { testing::ExpectMissingFileIsNotFound(kArmnn); }

}  // namespace
}  // namespace edgebench
