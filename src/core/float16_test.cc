#include "edgebench/float16.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

namespace edgebench {
namespace {

TEST(Float16, WidensEveryFiniteHalfExactlyAndRoundTrips) {
  for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const auto half = uint16_t(bits);
    const float value = HalfToFloat(half);
    if ((half & 0x7c00) == 0x7c00 && (half & 0x3ff) != 0) {
      EXPECT_TRUE(std::isnan(value)) << bits;
      EXPECT_EQ(FloatToHalf(value) & 0x7c00, 0x7c00) << bits;
      continue;
    }
    EXPECT_EQ(FloatToHalf(value), half) << bits;
  }
}

TEST(Float16, KnownValues) {
  EXPECT_EQ(HalfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(HalfToFloat(0xc000), -2.0f);
  EXPECT_EQ(HalfToFloat(0x7bff), 65504.0f);
  EXPECT_EQ(HalfToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(FloatToHalf(65504.0f), 0x7bff);
  EXPECT_EQ(FloatToHalf(65520.0f), 0x7c00);  // the tie rounds to even: infinity
  EXPECT_EQ(FloatToHalf(1e9f), 0x7c00);
  EXPECT_EQ(FloatToHalf(-std::numeric_limits<float>::infinity()), 0xfc00);
}

TEST(Float16, RoundsToNearestEven) {
  const float ulp = std::ldexp(1.0f, -10);  // half's spacing at 1.0
  EXPECT_EQ(FloatToHalf(1.0f + ulp * 0.5f), 0x3c00);   // tie, even stays
  EXPECT_EQ(FloatToHalf(1.0f + ulp * 1.5f), 0x3c02);   // tie, odd rounds up
  EXPECT_EQ(FloatToHalf(1.0f + ulp * 0.51f), 0x3c01);
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -25)), 0x0000);          // tie to even zero
  EXPECT_EQ(FloatToHalf(std::ldexp(1.5f, -25)), 0x0001);
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -14) * 0.99999f), 0x0400);  // rounds up to normal
}

}  // namespace
}  // namespace edgebench
