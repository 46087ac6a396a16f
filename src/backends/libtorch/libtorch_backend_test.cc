#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "edgebench/backend.h"
#include "edgebench/profile.h"
#include "testing/backend_testing.h"
#include "testing/test_models.h"

namespace edgebench {
namespace backends::libtorch {
BackendInfo Describe();
std::unique_ptr<Backend> Create();
}  // namespace backends::libtorch
namespace {

using testing::Floats;
using testing::RandomInputs;
using testing::ReadFile;
using testing::RunAndGetOutputs;

const testing::BackendUnderTest kLibTorch{backends::libtorch::Create, backends::libtorch::Describe,
                                          ModelFormat::kTorchScript, "pt"};

LoadRequest Request(const std::string& path, const BackendOptions& options = {}, int threads = 0) {
  return testing::MakeLoadRequest(kLibTorch, path, options, threads);
}

// Loads `path`, runs it twice on the same random inputs and returns the first run's outputs
// after checking both runs agree bit for bit.
std::vector<Tensor> RunTwice(const std::string& path, const BackendOptions& options = {}) {
  auto backend = backends::libtorch::Create();
  Status status = backend->Load(Request(path, options, 1));
  EXPECT_TRUE(status.ok()) << status.error().message;
  if (!status.ok()) return {};
  status = backend->SetInputs(RandomInputs(backend->InputSpecs()));
  EXPECT_TRUE(status.ok()) << status.error().message;
  const std::vector<Tensor> first = RunAndGetOutputs(*backend);
  const std::vector<Tensor> second = RunAndGetOutputs(*backend);
  EXPECT_EQ(first.size(), second.size());
  for (size_t i = 0; i < std::min(first.size(), second.size()); ++i) {
    EXPECT_EQ(first[i].data, second[i].data) << "output " << i << " differs between runs";
  }
  return first;
}

TEST(LibTorchBackend, Describes) {
  const BackendInfo info = backends::libtorch::Describe();
  EXPECT_EQ(info.name, "libtorch");
  EXPECT_TRUE(info.version.starts_with("1.")) << info.version;
  EXPECT_EQ(info.formats, std::vector<ModelFormat>{ModelFormat::kTorchScript});
  EXPECT_TRUE(ValidateOptions(info, {{"interop_threads", "2"}, {"optimize", "false"}}).ok());
}

TEST(LibTorchBackend, ReadsInputSpecsFromInputsJson) {
  const std::string path = testing::ZooModel("tinycnn", "pt");
  EB_REQUIRE_FILE(path);
  auto backend = backends::libtorch::Create();
  Status status = backend->Load(Request(path));
  ASSERT_TRUE(status.ok()) << status.error().message;
  const auto inputs = backend->InputSpecs();
  ASSERT_EQ(inputs.size(), 1u);
  EXPECT_EQ(inputs[0].name, "input");
  EXPECT_EQ(inputs[0].type, DataType::kFloat32);
  EXPECT_EQ(inputs[0].shape, (std::vector<int64_t>{1, 3, 32, 32}));
  EXPECT_TRUE(inputs[0].rank_known);
  const auto outputs = backend->OutputSpecs();
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_FALSE(outputs[0].rank_known);
}

TEST(LibTorchBackend, RunsTinyCnnDeterministically) {
  const std::string path = testing::ZooModel("tinycnn", "pt");
  EB_REQUIRE_FILE(path);
  const std::vector<Tensor> outputs = RunTwice(path);
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].spec.type, DataType::kFloat32);
  EXPECT_EQ(outputs[0].spec.shape, (std::vector<int64_t>{1, 10}));
  EXPECT_TRUE(testing::AllFinite(outputs[0]));
}

// The zoo stores a reference input and PyTorch's eager output for it next to the model.
TEST(LibTorchBackend, MatchesZooReferenceOutput) {
  const std::string path = testing::ZooModel("tinycnn", "pt");
  const std::string dir = std::filesystem::path(path).parent_path().string();
  EB_REQUIRE_FILE(path);
  EB_REQUIRE_FILE(dir + "/input.f32");
  EB_REQUIRE_FILE(dir + "/output.f32");
  auto backend = backends::libtorch::Create();
  ASSERT_TRUE(backend->Load(Request(path)).ok());
  auto input = LoadTensorFile(backend->InputSpecs()[0], dir + "/input.f32");
  ASSERT_TRUE(input.ok()) << input.error().message;
  ASSERT_TRUE(backend->SetInputs({*input}).ok());
  ASSERT_TRUE(backend->RunOnce().ok());
  auto outputs = backend->Outputs();
  ASSERT_TRUE(outputs.ok()) << outputs.error().message;
  ASSERT_EQ(outputs->size(), 1u);
  const std::string expected_bytes = ReadFile(dir + "/output.f32");
  std::vector<float> expected(expected_bytes.size() / sizeof(float));
  std::memcpy(expected.data(), expected_bytes.data(), expected.size() * sizeof(float));
  const std::vector<float> actual = Floats((*outputs)[0]);
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_NEAR(actual[i], expected[i], 1e-4 * (1 + std::abs(expected[i]))) << i;
  }
}

TEST(LibTorchBackend, OptimizeKeepsTheResult) {
  const std::string path = testing::ZooModel("tinycnn", "pt");
  EB_REQUIRE_FILE(path);
  const std::vector<Tensor> optimized = RunTwice(path, {{"optimize", "true"}});
  const std::vector<Tensor> plain = RunTwice(path, {{"optimize", "false"}});
  ASSERT_EQ(optimized.size(), 1u);
  ASSERT_EQ(plain.size(), 1u);
  const std::vector<float> a = Floats(optimized[0]);
  const std::vector<float> b = Floats(plain[0]);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-4 * (1 + std::abs(b[i])));
}

// Without inputs.json the specs come from forward()'s arguments, with unknown rank. The file is
// the zoo model with its extra file renamed in the zip (same length, so offsets stay valid).
// A copy of the TorchScript file whose inputs.json extra file is renamed away (so the shapes
// are unknown), or "" when the file has none.
std::string CopyWithoutInputsJson(const std::string& path) {
  std::string bytes = ReadFile(path);
  constexpr std::string_view kName = "extra/inputs.json";
  size_t renamed = 0;
  for (auto it = bytes.begin();
       (it = std::search(it, bytes.end(), kName.begin(), kName.end())) != bytes.end(); ++it) {
    *(it + kName.size() - 1) = 'X';
    ++renamed;
  }
  return renamed ? testing::WriteTempFile("tinycnn.pt", bytes) : "";
}

// Profiles tinycnn (3 runs) with the given value of the optimize option.
Expected<OpProfile> ProfileTinyCnn(const std::string& optimize) {
  auto backend = backends::libtorch::Create();
  const std::string path = testing::ZooModel("tinycnn", "pt");
  EB_RETURN_IF_ERROR(backend->Load(Request(path, {{"optimize", optimize}}, /*threads=*/1)));
  EB_RETURN_IF_ERROR(backend->SetInputs(RandomInputs(backend->InputSpecs())));
  EB_RETURN_IF_ERROR(backend->RunOnce());
  return backend->Profile(3);
}

TEST(LibTorchBackend, ProfilesTheOperatorsOfTinyCnn) {
  EXPECT_TRUE(backends::libtorch::Describe().op_profiling);
  EB_REQUIRE_FILE(testing::ZooModel("tinycnn", "pt"));
  auto profile = ProfileTinyCnn("false");
  ASSERT_TRUE(profile.ok()) << profile.error().message;
  EXPECT_EQ(profile->source, "libtorch legacy profiler");
  EXPECT_EQ(profile->profiled_runs, 3);
  ASSERT_FALSE(profile->kernels.empty());
  double total_ms = 0;
  int convolutions = 0;
  for (const OpEvent& kernel : profile->kernels) {
    SCOPED_TRACE(kernel.kernel_name);
    EXPECT_EQ(kernel.calls, 3);  // every kernel, the unattributed time too, once per run
    EXPECT_GE(kernel.total_ms, 0);
    EXPECT_EQ(kernel.provider, "cpu");
    if (kernel.kernel_type.find("conv") != std::string::npos) {
      ++convolutions;
      EXPECT_TRUE(kernel.kernel_name.starts_with(kernel.kernel_type + "#")) << kernel.kernel_type;
    }
    total_ms += kernel.total_ms;
  }
  EXPECT_GT(total_ms, 0);
  EXPECT_EQ(convolutions, 2);  // tinycnn's two Conv2d, each one top-level aten operator
}

// After optimize_for_inference the convolutions run as prim::mkldnn_convolution, which the
// profiler does not record: their time must still show, as unattributed forward() time.
TEST(LibTorchBackend, ProfileKeepsTimeOfUnrecordedOperators) {
  EB_REQUIRE_FILE(testing::ZooModel("tinycnn", "pt"));
  auto profile = ProfileTinyCnn("true");
  ASSERT_TRUE(profile.ok()) << profile.error().message;
  const auto by_type = SummarizeByKernelType(*profile);
  const auto unattributed =
      std::find_if(by_type.begin(), by_type.end(),
                   [](const KernelTypeShare& t) { return t.kernel_type == "(unattributed)"; });
  ASSERT_NE(unattributed, by_type.end());
  EXPECT_EQ(unattributed->kernels, 1);
  EXPECT_GT(unattributed->ms_per_inference, 0);
}

TEST(LibTorchBackend, WithoutInputsJsonRankIsUnknown) {
  const std::string path = testing::ZooModel("tinycnn", "pt");
  EB_REQUIRE_FILE(path);
  const std::string copy = CopyWithoutInputsJson(path);
  ASSERT_FALSE(copy.empty()) << path << " has no extra/inputs.json";

  auto backend = backends::libtorch::Create();
  Status status = backend->Load(Request(copy));
  ASSERT_TRUE(status.ok()) << status.error().message;
  const auto inputs = backend->InputSpecs();
  ASSERT_EQ(inputs.size(), 1u);
  EXPECT_FALSE(inputs[0].name.empty());
  EXPECT_FALSE(inputs[0].rank_known);

  TensorSpec spec = inputs[0];
  spec.shape = {1, 3, 32, 32};
  spec.rank_known = true;
  ASSERT_TRUE(backend->SetInputs(RandomInputs({spec})).ok());
  ASSERT_TRUE(backend->RunOnce().ok());
}

TEST(LibTorchBackend, RejectsInputOfWrongSize) {
  const std::string path = testing::ZooModel("tinycnn", "pt");
  EB_REQUIRE_FILE(path);
  auto backend = backends::libtorch::Create();
  ASSERT_TRUE(backend->Load(Request(path)).ok());
  std::vector<Tensor> inputs = RandomInputs(backend->InputSpecs());
  inputs[0].data.pop_back();
  Status status = backend->SetInputs(inputs);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
}

TEST(LibTorchBackend, ReportsForwardFailure) {
  const std::string path = testing::ZooModel("tinycnn", "pt");
  EB_REQUIRE_FILE(path);
  // Without inputs.json any shape passes SetInputs, so the failure comes from forward().
  const std::string copy = CopyWithoutInputsJson(path);
  ASSERT_FALSE(copy.empty());
  auto backend = backends::libtorch::Create();
  ASSERT_TRUE(backend->Load(Request(copy, {{"optimize", "false"}})).ok());
  TensorSpec spec = backend->InputSpecs()[0];
  spec.shape = {1, 4, 32, 32};  // the first convolution wants 3 channels
  spec.rank_known = true;
  ASSERT_TRUE(backend->SetInputs(RandomInputs({spec})).ok());
  Status status = backend->RunOnce();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kRuntimeError);
  EXPECT_EQ(status.error().message.find('\n'), std::string::npos);
}

// LibTorch accepts one inter-op thread count per process: repeating it is fine, changing it is
// an error that says so.
TEST(LibTorchBackend, InteropThreadsAreSetOncePerProcess) {
  const std::string path = testing::ZooModel("tinycnn", "pt");
  EB_REQUIRE_FILE(path);
  auto first = backends::libtorch::Create();
  Status status = first->Load(Request(path, {{"interop_threads", "2"}}));
  ASSERT_TRUE(status.ok()) << status.error().message;
  auto same = backends::libtorch::Create();
  EXPECT_TRUE(same->Load(Request(path, {{"interop_threads", "2"}})).ok());
  auto other = backends::libtorch::Create();
  status = other->Load(Request(path, {{"interop_threads", "3"}}));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(status.error().message.find("already 2"), std::string::npos) << status.error().message;
}

TEST(LibTorchBackend, RejectsTruncatedModel) {
  const std::string path = testing::ZooModel("tinycnn", "pt");
  EB_REQUIRE_FILE(path);
  for (const std::string& copy : testing::WriteTruncatedCopies(path, "pt")) {
    SCOPED_TRACE(copy);
    testing::ExpectOneLineBadModel(kLibTorch, copy);
  }
}

TEST(LibTorchBackend, RejectsRandomBytes) {
  std::string bytes = testing::RandomBytes(4096, /*seed=*/7);
  std::memcpy(bytes.data(), "PK\x03\x04",
              4);  // a zip local-file header, as TorchScript files start
  testing::ExpectOneLineBadModel(kLibTorch, testing::WriteTempFile("random.pt", bytes));
}

}  // namespace
}  // namespace edgebench
