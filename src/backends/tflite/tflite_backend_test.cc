#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "edgebench/backend.h"
#include "testing/backend_testing.h"
#include "testing/test_models.h"

namespace edgebench {
namespace backends::tflite {
BackendInfo Describe();
std::unique_ptr<Backend> Create();
}  // namespace backends::tflite
namespace {

using testing::AllFinite;
using testing::RandomInputs;
using testing::ReadFile;
using testing::RunAndGetOutputs;

const testing::BackendUnderTest kTflite{backends::tflite::Create, backends::tflite::Describe,
                                        ModelFormat::kTflite, "tflite"};

LoadRequest Request(const std::string& path, int threads = 0) {
  return testing::MakeLoadRequest(kTflite, path, {}, threads);
}

std::string LoadBadModel(const std::string& path) { return testing::LoadBadModel(kTflite, path); }

TEST(TfliteBackend, Describes) {
  const BackendInfo info = backends::tflite::Describe();
  EXPECT_EQ(info.name, "tflite");
  EXPECT_FALSE(info.version.empty());
  EXPECT_EQ(info.formats, std::vector<ModelFormat>{ModelFormat::kTflite});
}

struct FaceModel {
  std::string test_name;
  std::string file;
  int64_t side;     // input is 1 x side x side x 3
  int64_t anchors;  // outputs are 1 x anchors x 16 and 1 x anchors x 1
};

class FaceDetection : public ::testing::TestWithParam<FaceModel> {};

TEST_P(FaceDetection, RunsDeterministically) {
  const FaceModel& model = GetParam();
  const std::string path = testing::DownloadedModel(model.file);
  EB_REQUIRE_FILE(path);
  auto backend = backends::tflite::Create();
  Status status = backend->Load(Request(path, 1));
  ASSERT_TRUE(status.ok()) << status.error().message;

  const auto inputs = backend->InputSpecs();
  ASSERT_EQ(inputs.size(), 1u);
  EXPECT_EQ(inputs[0].type, DataType::kFloat32);
  EXPECT_EQ(inputs[0].shape, (std::vector<int64_t>{1, model.side, model.side, 3}));
  EXPECT_TRUE(inputs[0].rank_known);
  const auto output_specs = backend->OutputSpecs();
  ASSERT_EQ(output_specs.size(), 2u);

  ASSERT_TRUE(backend->SetInputs(RandomInputs(inputs)).ok());
  const std::vector<Tensor> first = RunAndGetOutputs(*backend);
  const std::vector<Tensor> second = RunAndGetOutputs(*backend);
  ASSERT_EQ(first.size(), 2u);
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(first[0].spec.shape, (std::vector<int64_t>{1, model.anchors, 16}));
  EXPECT_EQ(first[1].spec.shape, (std::vector<int64_t>{1, model.anchors, 1}));
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].spec.shape, output_specs[i].shape);
    EXPECT_TRUE(AllFinite(first[i])) << first[i].spec.name;
    EXPECT_EQ(first[i].data, second[i].data) << first[i].spec.name;
  }
}

void PrintTo(const FaceModel& model, std::ostream* out) { *out << model.file; }

INSTANTIATE_TEST_SUITE_P(
    Models, FaceDetection,
    ::testing::Values(FaceModel{"ShortRange", "face_detection_short_range.tflite", 128, 896},
                      FaceModel{"FullRange", "face_detection_full_range.tflite", 192, 2304}),
    [](const ::testing::TestParamInfo<FaceModel>& info) { return info.param.test_name; });

TEST(TfliteBackend, RejectsInputOfWrongType) {
  const std::string path = testing::DownloadedModel("face_detection_short_range.tflite");
  EB_REQUIRE_FILE(path);
  auto backend = backends::tflite::Create();
  ASSERT_TRUE(backend->Load(Request(path)).ok());
  TensorSpec spec = backend->InputSpecs()[0];
  spec.type = DataType::kUInt8;
  Status status = backend->SetInputs(RandomInputs({spec}));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
}

// The short-range model reshapes to [1, -1, 16], so a smaller image gives fewer anchors.
TEST(TfliteBackend, ResizesInput) {
  const std::string path = testing::DownloadedModel("face_detection_short_range.tflite");
  EB_REQUIRE_FILE(path);
  auto backend = backends::tflite::Create();
  ASSERT_TRUE(backend->Load(Request(path)).ok());
  TensorSpec spec = backend->InputSpecs()[0];
  spec.shape = {1, 64, 64, 3};
  Status status = backend->SetInputs(RandomInputs({spec}));
  ASSERT_TRUE(status.ok()) << status.error().message;
  const std::vector<Tensor> outputs = RunAndGetOutputs(*backend);
  ASSERT_EQ(outputs.size(), 2u);
  EXPECT_EQ(outputs[0].spec.shape, (std::vector<int64_t>{1, 224, 16}));
  EXPECT_EQ(outputs[1].spec.shape, (std::vector<int64_t>{1, 224, 1}));
}

TEST(TfliteBackend, ReportsInputShapeTheModelRejects) {
  const std::string path = testing::DownloadedModel("face_detection_short_range.tflite");
  EB_REQUIRE_FILE(path);
  auto backend = backends::tflite::Create();
  ASSERT_TRUE(backend->Load(Request(path)).ok());
  TensorSpec spec = backend->InputSpecs()[0];
  spec.shape = {64, 64, 3};  // convolutions need rank 4
  Status status = backend->SetInputs(RandomInputs({spec}));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(status.error().message.find("64x64x3"), std::string::npos) << status.error().message;
}

TEST(TfliteBackend, RejectsTruncatedModel) {
  const std::string path = testing::DownloadedModel("face_detection_short_range.tflite");
  EB_REQUIRE_FILE(path);
  for (const std::string& copy : testing::WriteTruncatedCopies(path, "tflite")) {
    SCOPED_TRACE(copy);
    LoadBadModel(copy);
  }
}

TEST(TfliteBackend, RejectsRandomBytesWithTfliteIdentifier) {
  std::string bytes = testing::RandomBytes(4096, /*seed=*/7);
  std::memcpy(bytes.data() + 4, "TFL3", 4);
  LoadBadModel(testing::WriteTempFile("random.tflite", bytes));
}

// Redirects operator 1's first output onto the subgraph's input tensor: a flatbuffer the verifier
// accepts and on which TFLite 2.2 segfaults without the backend's graph checks. Field indices
// follow tensorflow/lite/schema/schema.fbs.
TEST(TfliteBackend, RejectsOperatorWritingTheGraphInput) {
  const std::string path = testing::DownloadedModel("face_detection_short_range.tflite");
  EB_REQUIRE_FILE(path);
  std::string bytes = ReadFile(path);
  const auto u32 = [&](size_t at) {
    uint32_t value;
    std::memcpy(&value, bytes.data() + at, sizeof value);
    return value;
  };
  const auto field = [&](size_t table, int index) {  // position of a present field
    const size_t vtable = table - static_cast<int32_t>(u32(table));
    uint16_t offset;
    std::memcpy(&offset, bytes.data() + vtable + 4 + 2 * index, sizeof offset);
    return table + offset;
  };
  const auto vector_element = [&](size_t table, int index, size_t element) {
    const size_t at = field(table, index);
    return at + u32(at) + 4 + 4 * element;
  };
  const auto table_element = [&](size_t table, int index, size_t element) {
    const size_t at = vector_element(table, index, element);
    return at + u32(at);
  };
  const size_t subgraph = table_element(u32(0), /*Model.subgraphs*/ 2, 0);
  const uint32_t graph_input = u32(vector_element(subgraph, /*SubGraph.inputs*/ 1, 0));
  const size_t op = table_element(subgraph, /*SubGraph.operators*/ 3, 1);
  const size_t output = vector_element(op, /*Operator.outputs*/ 2, 0);
  ASSERT_NE(u32(output), graph_input);
  std::memcpy(bytes.data() + output, &graph_input, sizeof graph_input);

  const std::string message =
      LoadBadModel(testing::WriteTempFile("corrupt.tflite", bytes));
  EXPECT_NE(message.find("writes tensor"), std::string::npos) << message;
}

}  // namespace
}  // namespace edgebench
