#include "testing/backend_testing.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <utility>

#include "edgebench/inspect.h"
#include "testing/test_models.h"

namespace edgebench::testing {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string WriteFile(const std::string& path, std::string_view bytes) {
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

std::string WriteTempFile(const std::string& name, std::string_view bytes) {
  return WriteFile(MakeTempDir() + "/" + name, bytes);
}

std::string RandomBytes(std::size_t size, uint32_t seed) {
  std::mt19937 engine(seed);
  std::string bytes(size, '\0');
  for (char& byte : bytes) byte = static_cast<char>(engine());
  return bytes;
}

LoadRequest MakeLoadRequest(const BackendInfo& info, const std::string& path, ModelFormat format,
                            const BackendOptions& options, int threads) {
  LoadRequest request;
  request.model.path = path;
  request.model.format = format;
  request.threads = threads;
  auto validated = ValidateOptions(info, options);
  EXPECT_TRUE(validated.ok()) << validated.error().message;
  if (validated.ok()) request.options = std::move(*validated);
  return request;
}

std::vector<Tensor> RandomInputs(const std::vector<TensorSpec>& specs, uint64_t seed) {
  std::vector<Tensor> inputs;
  for (const TensorSpec& spec : specs) {
    auto tensor = MakeRandomTensor(spec, seed);
    EXPECT_TRUE(tensor.ok()) << tensor.error().message;
    if (tensor.ok()) inputs.push_back(std::move(*tensor));
  }
  return inputs;
}

void BindRandomInputs(Backend& backend, const std::vector<TensorSpec>& specs) {
  const std::vector<Tensor> inputs = RandomInputs(specs);
  ASSERT_EQ(inputs.size(), specs.size());
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

bool AllFinite(const Tensor& tensor) {
  for (float value : Floats(tensor)) {
    if (!std::isfinite(value)) return false;
  }
  return true;
}

LoadRequest MakeLoadRequest(const BackendUnderTest& under_test, const std::string& path,
                            const BackendOptions& options, int threads) {
  return MakeLoadRequest(under_test.describe(), path, under_test.format, options, threads);
}

Loaded Load(const BackendUnderTest& under_test, const std::string& path,
            const BackendOptions& options, int threads) {
  Loaded loaded{under_test.create(), OkStatus()};
  loaded.status = loaded.backend->Load(MakeLoadRequest(under_test, path, options, threads));
  return loaded;
}

std::unique_ptr<Backend> LoadAndRunOnce(const BackendUnderTest& under_test, const std::string& path) {
  auto [backend, status] = Load(under_test, path, {}, /*threads=*/1);
  EXPECT_TRUE(status.ok()) << status.error().message;
  if (!status.ok()) return nullptr;
  const std::vector<TensorSpec> specs = backend->InputSpecs();
  const std::vector<Tensor> inputs = RandomInputs(specs);
  if (inputs.size() != specs.size()) return nullptr;
  status = backend->SetInputs(inputs);
  EXPECT_TRUE(status.ok()) << status.error().message;
  if (!status.ok()) return nullptr;
  status = backend->RunOnce();
  EXPECT_TRUE(status.ok()) << status.error().message;
  if (!status.ok()) return nullptr;
  return std::move(backend);
}

std::string LoadBadModel(const BackendUnderTest& under_test, const std::string& path) {
  const Status status = Load(under_test, path).status;
  if (status.ok()) {
    ADD_FAILURE() << path << " loaded";
    return "";
  }
  EXPECT_EQ(status.error().code, ErrorCode::kBadModel);
  EXPECT_NE(status.error().message.find(path), std::string::npos) << status.error().message;
  return status.error().message;
}

void ExpectOneLineBadModel(const BackendUnderTest& under_test, const std::string& path) {
  const std::string message = LoadBadModel(under_test, path);
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

std::vector<std::string> WriteTruncatedCopies(const std::string& source,
                                              const std::string& extension) {
  const std::string bytes = ReadFile(source);
  const std::string dir = MakeTempDir();
  std::vector<std::string> paths;
  for (std::size_t size : {bytes.size() / 2, bytes.size() - 1}) {
    paths.push_back(WriteFile(dir + "/truncated_" + std::to_string(size) + "." + extension,
                              std::string_view(bytes).substr(0, size)));
  }
  return paths;
}

void ExpectRunsTinyCnnDeterministically(const BackendUnderTest& under_test) {
  const std::string path = ZooModel("tinycnn", under_test.extension);
  EB_REQUIRE_FILE(path);
  auto [backend, status] = Load(under_test, path, {}, /*threads=*/1);
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
  EXPECT_TRUE(AllFinite(first[0]));
  EXPECT_EQ(first[0].data, second[0].data);
}

void ExpectSameOutputs(Backend& reference, Backend& other, double tolerance) {
  BindRandomInputs(reference, reference.InputSpecs());
  BindRandomInputs(other, other.InputSpecs());
  const auto expected = Floats(RunAndGetOutputs(reference).at(0));
  const auto actual = Floats(RunAndGetOutputs(other).at(0));
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) EXPECT_NEAR(actual[i], expected[i], tolerance);
}

void ExpectDynamicBatchIsReportedAndRuns(const BackendUnderTest& under_test) {
  const std::string path = ZooModel("tinycnn_dynamic", under_test.extension);
  EB_REQUIRE_FILE(path);
  auto [backend, status] = Load(under_test, path);
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

void ExpectMatchesPyTorch(const BackendUnderTest& under_test, const std::string& name) {
  const std::string path = ZooModel(name, under_test.extension);
  const std::string dir = std::filesystem::path(path).parent_path().string();
  EB_REQUIRE_FILE(path);
  EB_REQUIRE_FILE(dir + "/input.f32");
  EB_REQUIRE_FILE(dir + "/output.f32");
  auto [backend, status] = Load(under_test, path);
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

void ExpectTruncatedModelIsBadModel(const BackendUnderTest& under_test) {
  const std::string source = ZooModel("tinycnn", under_test.extension);
  EB_REQUIRE_FILE(source);
  const std::string bytes = ReadFile(source);
  ExpectOneLineBadModel(under_test,
                        WriteTempFile("truncated." + under_test.extension,
                                      std::string_view(bytes).substr(0, bytes.size() / 2)));
}

void ExpectRandomBytesAreBadModel(const BackendUnderTest& under_test) {
  LoadBadModel(under_test,
               WriteTempFile("random." + under_test.extension, RandomBytes(4096, /*seed=*/7)));
}

void ExpectMissingFileIsNotFound(const BackendUnderTest& under_test) {
  const std::string path = MakeTempDir() + "/absent." + under_test.extension;
  auto [backend, status] = Load(under_test, path);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kNotFound) << status.error().message;
  EXPECT_NE(status.error().message.find(path), std::string::npos) << status.error().message;
}

void ExpectRejectsInputsThatDoNotMatchSpecs(const BackendUnderTest& under_test) {
  const std::string path = ZooModel("tinycnn", under_test.extension);
  EB_REQUIRE_FILE(path);
  auto [backend, status] = Load(under_test, path);
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

std::vector<SourceNode> SourceGraph(const std::string& path) {
  auto summary = InspectModel(path, {});
  EXPECT_TRUE(summary.ok()) << summary.error().message;
  std::vector<SourceNode> graph;
  if (summary.ok()) {
    for (const NodeCost& node : summary->nodes) graph.push_back({node.name, node.op_type});
  }
  return graph;
}

std::vector<std::tuple<std::string, std::string, int64_t>> FusionRows(const FusionMap& map) {
  std::vector<std::tuple<std::string, std::string, int64_t>> rows;
  for (const auto& p : map.patterns) rows.emplace_back(PatternName(p), p.kernel_type, p.kernels);
  return rows;
}

std::vector<std::pair<std::string, int64_t>> OpTypeCounts(const std::vector<OpTypeCount>& entries) {
  std::vector<std::pair<std::string, int64_t>> counts;
  for (const auto& e : entries) counts.emplace_back(e.op_type, e.count);
  return counts;
}

}  // namespace edgebench::testing
