#include "edgebench/verify.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

namespace edgebench {
namespace {

Tensor Floats(std::vector<int64_t> shape, const std::vector<float>& values, std::string name = "out") {
  Tensor t{{std::move(name), DataType::kFloat32, std::move(shape)}, std::vector<std::byte>(values.size() * 4)};
  std::memcpy(t.data.data(), values.data(), t.data.size());
  return t;
}

TEST(CompareOutputs, ComputesErrorsAndTop1ByHand) {
  // Two rows of three classes; row 0 argmax agrees (index 2), row 1 does not (0 vs 1).
  const Tensor actual = Floats({2, 3}, {0.1f, 0.2f, 0.7f, 0.5f, 0.4f, 0.1f});
  const Tensor reference = Floats({2, 3}, {0.1f, 0.25f, 0.65f, 0.4f, 0.5f, 0.1f});
  auto result = CompareOutputs({actual}, {reference});
  ASSERT_TRUE(result.ok());
  const OutputComparison& c = (*result)[0];
  EXPECT_EQ(c.elements, 6);
  EXPECT_NEAR(c.max_abs_error, 0.1, 1e-6);          // |0.5 - 0.4| and |0.4 - 0.5|
  EXPECT_NEAR(c.max_rel_error, 0.1 / 0.65, 1e-6);   // relative to max |reference|
  ASSERT_TRUE(c.top1_agreement.has_value());
  EXPECT_DOUBLE_EQ(*c.top1_agreement, 0.5);
}

TEST(CompareOutputs, AcceptsOtherLayoutsOfTheSameElements) {
  auto result = CompareOutputs({Floats({1, 4}, {1, 2, 3, 4})}, {Floats({1, 4, 1, 1}, {1, 2, 3, 4})});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ((*result)[0].max_abs_error, 0.0);
  EXPECT_DOUBLE_EQ(*(*result)[0].top1_agreement, 1.0);
  auto detection = CompareOutputs({Floats({1, 2, 2}, {1, 2, 3, 4})}, {Floats({1, 2, 2}, {1, 2, 3, 4})});
  EXPECT_FALSE((*detection)[0].top1_agreement.has_value());
}

TEST(CompareOutputs, NanOnOneSideIsAnInfiniteError) {
  auto result = CompareOutputs({Floats({1, 2}, {NAN, 1})}, {Floats({1, 2}, {0, 1})});
  EXPECT_TRUE(std::isinf((*result)[0].max_abs_error));
}

TEST(CompareOutputs, RejectsMismatchedOutputs) {
  EXPECT_FALSE(CompareOutputs({Floats({1}, {1})}, {}).ok());
  auto sizes = CompareOutputs({Floats({2}, {1, 2})}, {Floats({3}, {1, 2, 3})});
  ASSERT_FALSE(sizes.ok());
  EXPECT_NE(sizes.error().message.find("2 elements, the reference's 3"), std::string::npos);
}

TEST(TensorValues, DecodesHalfFloats) {
  Tensor half{{"h", DataType::kFloat16, {3}}, std::vector<std::byte>(6)};
  const uint16_t bits[3] = {0x3c00, 0xc000, 0x3555};  // 1, -2, 0.333251953125
  std::memcpy(half.data.data(), bits, 6);
  const auto values = TensorValues(half);
  EXPECT_DOUBLE_EQ(values[0], 1.0);
  EXPECT_DOUBLE_EQ(values[1], -2.0);
  EXPECT_DOUBLE_EQ(values[2], 0.333251953125);
}

}  // namespace
}  // namespace edgebench
