#include "tflite_fp16_weights.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "edgebench/registry.h"
#include "testing/backend_testing.h"
#include "testing/test_models.h"
#include "tflite_schema.h"

namespace edgebench::backends::armnn {
namespace {

std::vector<uint8_t> Bytes(const std::string& text) { return {text.begin(), text.end()}; }

// The folded model is a valid TFLite file for TFLite itself and computes bit-identical outputs:
// TFLite's DEQUANTIZE widens float16 exactly, as the fold does.
TEST(FoldFloat16Weights, FoldedFaceDetectorRunsIdenticallyInTflite) {
  const std::string path = testing::DownloadedModel("face_detection_short_range.tflite");
  EB_REQUIRE_FILE(path);
  const std::string model = testing::ReadFile(path);
  auto folded = FoldFloat16Weights(Bytes(model));
  ASSERT_TRUE(folded.ok()) << folded.error().message;
  EXPECT_EQ(folded->folded_operators, 74);  // one DEQUANTIZE per weight and bias tensor
  const std::string folded_bytes(folded->bytes.begin(), folded->bytes.end());
  auto original_model = tfl::ReadModel(model);
  auto folded_model = tfl::ReadModel(folded_bytes);
  ASSERT_TRUE(folded_model.ok()) << folded_model.error().message;
  EXPECT_EQ((*folded_model)->subgraphs()->Get(0)->operators()->size() + 74,
            (*original_model)->subgraphs()->Get(0)->operators()->size());
  const std::string folded_path = testing::WriteTempFile("folded.tflite", folded_bytes);

  auto tflite = FindBackend("tflite");
  if (!tflite.ok()) GTEST_SKIP() << "tflite backend not compiled: " << tflite.error().message;
  const testing::BackendUnderTest kTflite{(*tflite)->create, (*tflite)->describe,
                                          ModelFormat::kTflite, "tflite"};
  auto [original, original_status] = testing::Load(kTflite, path);
  ASSERT_TRUE(original_status.ok()) << original_status.error().message;
  auto [rewritten, rewritten_status] = testing::Load(kTflite, folded_path);
  ASSERT_TRUE(rewritten_status.ok()) << rewritten_status.error().message;
  const std::vector<Tensor> inputs = testing::RandomInputs(original->InputSpecs(), 3);
  ASSERT_TRUE(original->SetInputs(inputs).ok());
  ASSERT_TRUE(rewritten->SetInputs(inputs).ok());
  const std::vector<Tensor> expected = testing::RunAndGetOutputs(*original);
  const std::vector<Tensor> actual = testing::RunAndGetOutputs(*rewritten);
  ASSERT_EQ(actual.size(), 2u);
  ASSERT_EQ(expected.size(), 2u);
  for (std::size_t i = 0; i < actual.size(); ++i) EXPECT_EQ(actual[i].data, expected[i].data);
}

TEST(FoldFloat16Weights, LeavesModelWithoutFloat16WeightsUnchanged) {
  const std::string path = testing::DownloadedModel("face_detection_short_range.tflite");
  EB_REQUIRE_FILE(path);
  auto once = FoldFloat16Weights(Bytes(testing::ReadFile(path)));
  ASSERT_TRUE(once.ok()) << once.error().message;
  auto twice = FoldFloat16Weights(once->bytes);
  ASSERT_TRUE(twice.ok()) << twice.error().message;
  EXPECT_EQ(twice->folded_operators, 0);
  EXPECT_EQ(twice->bytes, once->bytes);
}

TEST(FoldFloat16Weights, MalformedInputIsAnErrorNotACrash) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    std::string bytes = testing::RandomBytes(512, seed);
    auto folded = FoldFloat16Weights(Bytes(bytes));
    if (!folded.ok()) EXPECT_EQ(folded.error().code, ErrorCode::kBadModel);
  }
  const std::string path = testing::DownloadedModel("face_detection_short_range.tflite");
  EB_REQUIRE_FILE(path);
  const std::string model = testing::ReadFile(path);
  auto truncated = FoldFloat16Weights(Bytes(model.substr(0, model.size() / 2)));
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.error().code, ErrorCode::kBadModel);
}

}  // namespace
}  // namespace edgebench::backends::armnn
