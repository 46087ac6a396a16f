#include "edgebench/tensor_layout.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "edgebench/log.h"
#include "testing/test_models.h"

namespace edgebench {
namespace {

Tensor Int32Tensor(const std::vector<int64_t>& shape) {
  Tensor tensor{{"x", DataType::kInt32, shape}, {}};
  const int64_t count = *ElementCount(shape);
  tensor.data.resize(std::size_t(count) * sizeof(int32_t));
  for (int32_t i = 0; i < count; ++i) std::memcpy(tensor.data.data() + i * sizeof(int32_t), &i, sizeof i);
  return tensor;
}

int32_t At(const Tensor& tensor, std::size_t index) {
  int32_t value;
  std::memcpy(&value, tensor.data.data() + index * sizeof value, sizeof value);
  return value;
}

TEST(TensorLayout, PermutesNchwToNhwcAndBack) {
  const Tensor nchw = Int32Tensor({1, 2, 2, 3});  // C=2, H=2, W=3
  auto nhwc = PermuteTensor(nchw, FromNchw(ImageLayout::kNhwc));
  ASSERT_TRUE(nhwc.ok()) << nhwc.error().message;
  EXPECT_EQ(nhwc->spec.shape, (std::vector<int64_t>{1, 2, 3, 2}));
  // NHWC element (h=0, w=1, c=1) is NCHW element c*6 + h*3 + w = 7.
  EXPECT_EQ(At(*nhwc, 0 * 6 + 1 * 2 + 1), 7);
  EXPECT_EQ(At(*nhwc, 1), 6);  // (h=0, w=0, c=1)
  auto back = PermuteTensor(*nhwc, InversePermutation(FromNchw(ImageLayout::kNhwc)));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->spec.shape, nchw.spec.shape);
  EXPECT_EQ(back->data, nchw.data);
}

TEST(TensorLayout, ComposesAndRejectsPermutationsThatDoNotFit) {
  const Permutation to_nhwc = FromNchw(ImageLayout::kNhwc);
  EXPECT_TRUE(IsIdentity(ComposePermutations(to_nhwc, InversePermutation(to_nhwc))));
  EXPECT_EQ(FormatPermutation(InversePermutation(to_nhwc)), "0,3,1,2");
  auto wrong_rank = PermuteTensor(Int32Tensor({2, 3}), to_nhwc);
  ASSERT_FALSE(wrong_rank.ok());
  EXPECT_NE(wrong_rank.error().message.find("does not fit"), std::string::npos);
  EXPECT_FALSE(PermuteTensor(Int32Tensor({2, 3}), {0, 0}).ok());
}

TEST(TensorLayout, RecordRoundTripsThroughJson) {
  LayoutRecord record{"onnx", {{"input", {1, 3, 224, 224}, {0, 2, 3, 1}}}, {{"logits", {1, 1000}, {0, 1}}}};
  const nlohmann::json json = ToJson(record);
  ASSERT_TRUE(json.contains(kLayoutMetadataName));
  auto parsed = LayoutRecordFromJson(nlohmann::json::parse(json.dump()));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->source_format, "onnx");
  ASSERT_EQ(parsed->inputs.size(), 1u);
  EXPECT_EQ(parsed->inputs[0].name, "input");
  EXPECT_EQ(parsed->inputs[0].source_shape, (std::vector<int64_t>{1, 3, 224, 224}));
  EXPECT_EQ(parsed->inputs[0].permutation, (Permutation{0, 2, 3, 1}));
  ASSERT_EQ(parsed->outputs.size(), 1u);
  EXPECT_EQ(parsed->outputs[0].permutation, (Permutation{0, 1}));
}

TEST(TensorLayout, MalformedRecordIsABadModel) {
  auto missing = LayoutRecordFromJson(nlohmann::json::object());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kBadModel);
  nlohmann::json bad = ToJson(LayoutRecord{"onnx", {{"input", {1, 3, 8, 8}, {0, 2, 3}}}, {}});
  auto wrong = LayoutRecordFromJson(bad);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("does not fit shape 1x3x8x8"), std::string::npos);
}

TEST(TensorLayout, ParsesLayoutNamesInAnyCase) {
  EXPECT_EQ(*ParseImageLayout("nchw"), ImageLayout::kNchw);
  EXPECT_EQ(*ParseImageLayout("NHWC"), ImageLayout::kNhwc);
  EXPECT_FALSE(ParseImageLayout("CHW").ok());
}

TEST(TensorFile, SavedTensorLoadsBack) {
  const Tensor tensor = Int32Tensor({2, 3});
  const std::string path = testing::MakeTempDir() + "/t.bin";
  ASSERT_TRUE(SaveTensorFile(tensor, path).ok());
  auto loaded = LoadTensorFile(tensor.spec, path);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->data, tensor.data);
  EXPECT_FALSE(SaveTensorFile(tensor, "/nonexistent-dir/t.bin").ok());
}

TEST(Log, ThresholdDecidesWhatIsShown) {
  const LogLevel saved = CurrentLogLevel();
  SetLogLevel(LogLevel::kError);
  EXPECT_FALSE(ShouldLog(LogLevel::kWarning));
  EXPECT_TRUE(ShouldLog(LogLevel::kError));
  ::testing::internal::CaptureStderr();
  LogMessage(LogLevel::kWarning, "rt", "hidden");
  LogMessage(LogLevel::kError, "rt", "shown\n");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "rt error: shown\n");
  SetLogLevel(LogLevel::kWarning);
  EXPECT_TRUE(ShouldLog(LogLevel::kWarning));
  EXPECT_FALSE(ShouldLog(LogLevel::kInfo));
  SetLogLevel(saved);
}

TEST(TensorLayout, PermuteShapeRefusesAPermutationThatDoesNotFit) {
  EXPECT_EQ(PermuteShape({1, 3, 8, 8}, {0, 2, 3, 1}), (std::vector<int64_t>{1, 8, 8, 3}));
  EXPECT_THROW(PermuteShape({3, 4}, {0, 2, 1}), std::invalid_argument);
  EXPECT_THROW(PermuteShape({3, 4, 5}, {0, 7, 1}), std::invalid_argument);
}

}  // namespace
}  // namespace edgebench
