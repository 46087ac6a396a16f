#include "edgebench/tensor.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "testing/test_models.h"

namespace edgebench {
namespace {

TEST(ParseShapeArgument, AcceptsNameAndDims) {
  auto parsed = ParseShapeArgument("input=1x3x224x224");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->first, "input");
  EXPECT_EQ(parsed->second, (std::vector<int64_t>{1, 3, 224, 224}));
  auto colon_name = ParseShapeArgument("image:0=2x8");
  ASSERT_TRUE(colon_name.ok());
  EXPECT_EQ(colon_name->first, "image:0");
}

TEST(ParseShapeArgument, RejectsMalformedShapes) {
  for (const char* bad : {"input", "=1x3", "input=", "input=1xx3", "input=1x-3", "input=0x3",
                          "input=1x3a", "input=99999999999x99999999999"}) {
    auto parsed = ParseShapeArgument(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(parsed.error().message.find(bad), std::string::npos) << parsed.error().message;
  }
}

TEST(ElementCount, MultipliesAndGuardsOverflow) {
  EXPECT_EQ(*ElementCount({1, 3, 224, 224}), 150528);
  EXPECT_EQ(*ElementCount({}), 1);
  EXPECT_FALSE(ElementCount({1, kDynamicDim}).ok());
  EXPECT_FALSE(ElementCount({1 << 20, 1 << 20, 1 << 20}).ok());
}

TEST(ResolveInputShapes, FillsDynamicDimsFromOverrides) {
  std::vector<TensorSpec> inputs = {{"input", DataType::kFloat32, {kDynamicDim, 3, 32, 32}}};
  EXPECT_FALSE(ResolveInputShapes(inputs, {}).ok());
  auto resolved = ResolveInputShapes(inputs, {{"input", {4, 3, 32, 32}}});
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ((*resolved)[0].shape, (std::vector<int64_t>{4, 3, 32, 32}));
}

TEST(ResolveInputShapes, RejectsContradictionsAndUnknownNames) {
  std::vector<TensorSpec> inputs = {{"input", DataType::kFloat32, {1, 3, 32, 32}}};
  EXPECT_FALSE(ResolveInputShapes(inputs, {{"input", {1, 3, 64, 64}}}).ok());
  EXPECT_FALSE(ResolveInputShapes(inputs, {{"input", {1, 3, 32}}}).ok());
  auto unknown = ResolveInputShapes(inputs, {{"image", {1, 3, 32, 32}}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("input"), std::string::npos);
}

TEST(ResolveInputShapes, UnknownRankNeedsAnOverride) {
  TensorSpec spec{"x", DataType::kFloat32, {}, false};
  auto missing = ResolveInputShapes({spec}, {});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("--shape x="), std::string::npos);
  auto resolved = ResolveInputShapes({spec}, {{"x", {2, 5}}});
  ASSERT_TRUE(resolved.ok());
  EXPECT_TRUE((*resolved)[0].IsConcrete());
}

TEST(MakeRandomTensor, IsDeterministicAndInRange) {
  TensorSpec spec{"x", DataType::kFloat32, {2, 50}};
  auto a = MakeRandomTensor(spec, 42);
  auto b = MakeRandomTensor(spec, 42);
  auto c = MakeRandomTensor(spec, 43);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->data, b->data);
  EXPECT_NE(a->data, c->data);
  ASSERT_EQ(a->data.size(), 400u);
  for (int i = 0; i < 100; ++i) {
    float value;
    std::memcpy(&value, a->data.data() + 4 * i, 4);
    EXPECT_GE(value, 0.0f);
    EXPECT_LT(value, 1.0f);
  }
}

TEST(LoadTensorFile, ChecksTheSize) {
  const std::string path = testing::MakeTempDir() + "/x.bin";
  std::ofstream(path, std::ios::binary) << std::string(8, '\0');
  TensorSpec spec{"x", DataType::kFloat32, {2}};
  auto ok = LoadTensorFile(spec, path);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->data.size(), 8u);
  spec.shape = {3};
  auto wrong = LoadTensorFile(spec, path);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("needs 12 bytes"), std::string::npos);
  EXPECT_EQ(LoadTensorFile(spec, path + ".missing").error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace edgebench
