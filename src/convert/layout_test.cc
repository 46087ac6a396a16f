#include "layout.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

namespace edgebench::convert {
namespace {

std::vector<float> Iota(std::size_t n) {
  std::vector<float> values(n);
  std::iota(values.begin(), values.end(), 0.f);
  return values;
}

TEST(Layout, PermutesShapes) {
  EXPECT_EQ(PermuteShape({1, 3, 224, 200}, kNchwToNhwc), (Shape{1, 224, 200, 3}));
  EXPECT_EQ(PermuteShape({1, 224, 200, 3}, kNhwcToNchw), (Shape{1, 3, 224, 200}));
  EXPECT_EQ(InversePermutation(kNchwToNhwc), kNhwcToNchw);
  EXPECT_EQ(ComposePermutations(kNchwToNhwc, kNhwcToNchw), (Permutation{0, 1, 2, 3}));
  EXPECT_EQ(ComposePermutations({1, 0, 2}, {0, 2, 1}), (Permutation{1, 2, 0}));
}

TEST(Layout, MemoryOrderIsPreservedWhenOnlySizeOneDimsMove) {
  EXPECT_TRUE(IsMemoryOrderPreserved({1, 7, 1, 1}, kNchwToNhwc));
  EXPECT_TRUE(IsMemoryOrderPreserved({1, 1, 1, 5}, kNhwcToNchw));
  EXPECT_FALSE(IsMemoryOrderPreserved({1, 3, 2, 2}, kNchwToNhwc));
}

TEST(Layout, TransposesData) {
  // [2,3] -> [3,2]
  EXPECT_EQ(TransposeData(Iota(6), {2, 3}, {1, 0}), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  // NCHW [1,2,2,2] -> NHWC: element (h,w,c) = c*4 + h*2 + w
  EXPECT_EQ(TransposeData(Iota(8), {1, 2, 2, 2}, kNchwToNhwc),
            (std::vector<float>{0, 4, 1, 5, 2, 6, 3, 7}));
}

TEST(Layout, CollapsesTheChannelShuffle) {
  // ShuffleNetV2: [1,2,58,28,28] by [0,2,1,3,4] is a [2,58,784] transpose by [1,0,2].
  const CollapsedTranspose collapsed = CollapseTranspose({1, 2, 58, 28, 28}, {0, 2, 1, 3, 4});
  EXPECT_EQ(collapsed.shape, (Shape{2, 58, 784}));
  EXPECT_EQ(collapsed.perm, (Permutation{1, 0, 2}));
  // Same result on data.
  const Shape shape{1, 2, 3, 2, 2};
  const auto data = Iota(24);
  const auto direct = TransposeData(data, shape, {0, 2, 1, 3, 4});
  const CollapsedTranspose small = CollapseTranspose(shape, {0, 2, 1, 3, 4});
  EXPECT_EQ(TransposeData(data, small.shape, small.perm), direct);
}

TEST(Layout, ConvertsConvWeights) {
  // [O=2, I=1, 1, 2] -> OHWI [2, 1, 2, 1]: same order here; with I=2 the channels interleave.
  EXPECT_EQ(ConvWeightsToOhwi(Iota(8), {2, 2, 1, 2}), (std::vector<float>{0, 2, 1, 3, 4, 6, 5, 7}));
  // Depthwise [C=2, 1, 1, 2] -> [1, 1, 2, 2]: channel last.
  EXPECT_EQ(DepthwiseWeightsTo1hwc(Iota(4), {2, 1, 1, 2}), (std::vector<float>{0, 2, 1, 3}));
}

TEST(Layout, FoldsBatchNormIntoWeightsAndBias) {
  BatchNorm bn{{2.f, 0.5f}, {1.f, -1.f}, {0.5f, 2.f}, {3.f, 0.25f}, 1e-3};
  std::vector<float> weights{1, 2, 3, 4}, bias{0.f, 1.f};
  const std::vector<float> x{0.7f, -1.3f};  // one input per channel block of 2 weights
  // Reference: bn(conv(x)) per output channel c for a 1x2 "conv" dot product.
  std::vector<double> expected;
  for (int c = 0; c < 2; ++c) {
    const double conv = weights[2 * c] * x[0] + weights[2 * c + 1] * x[1] + bias[c];
    expected.push_back(bn.scale[c] * (conv - bn.mean[c]) / std::sqrt(bn.variance[c] + bn.epsilon) + bn.bias[c]);
  }
  FoldBatchNorm(bn, weights, bias);
  for (int c = 0; c < 2; ++c) {
    EXPECT_NEAR(weights[2 * c] * x[0] + weights[2 * c + 1] * x[1] + bias[c], expected[c], 1e-5);
  }
  std::vector<float> a, b;
  BatchNormAsAffine(bn, a, b);
  EXPECT_NEAR(a[0] * 3.f + b[0], bn.scale[0] * (3.f - bn.mean[0]) / std::sqrt(3.f + 1e-3) + bn.bias[0], 1e-5);
}

TEST(Layout, MatchesTflitePadding) {
  // 3x3 stride 1 pads 1: SAME.
  EXPECT_EQ(MatchTflitePadding({{56, 3, 1, 1, 1, 1, 56}, {56, 3, 1, 1, 1, 1, 56}}), TflitePadding::kSame);
  // No pads: VALID.
  EXPECT_EQ(MatchTflitePadding({{224, 3, 2, 1, 0, 0, 111}}), TflitePadding::kValid);
  // Keras-style stride 2: pad 0 before, 1 after on an even input is SAME.
  EXPECT_EQ(MatchTflitePadding({{224, 3, 2, 1, 0, 1, 112}}), TflitePadding::kSame);
  // PyTorch-style stride 2 pads 1 on both sides of an even input: neither.
  EXPECT_EQ(MatchTflitePadding({{112, 3, 2, 1, 1, 1, 56}}), std::nullopt);
  // ... and the window never reads the end padding.
  EXPECT_EQ(EffectiveEndPadding({112, 3, 2, 1, 1, 1, 56}), 0);
  // ceil_mode reads past the input: 1 more.
  EXPECT_EQ(EffectiveEndPadding({6, 3, 2, 1, 0, 0, 3}), 1);
}

TEST(Layout, PlansReshapesThatMoveNoData) {
  // ShuffleNetV2 on NHWC: [1,116,28,28] -> [1,2,58,28,28] splits C in place.
  auto split = PlanReshape({1, 116, 28, 28}, {1, 2, 58, 28, 28}, kNchwToNhwc);
  ASSERT_TRUE(split);
  EXPECT_EQ(split->input, kNchwToNhwc);
  EXPECT_EQ(split->output, (Permutation{0, 3, 4, 1, 2}));
  // After the transpose the channel halves are reversed: gather them (one transpose), then the
  // merge gives NHWC back.
  auto merge = PlanReshape({1, 58, 2, 28, 28}, {1, 116, 28, 28}, {0, 3, 4, 2, 1});
  ASSERT_TRUE(merge);
  EXPECT_EQ(merge->input, (Permutation{0, 3, 4, 1, 2}));
  EXPECT_EQ(merge->output, kNchwToNhwc);
  // Flatten of an NHWC map with H, W > 1 needs ONNX order.
  auto flatten = PlanReshape({1, 512, 7, 7}, {1, 25088}, kNchwToNhwc);
  ASSERT_TRUE(flatten);
  EXPECT_EQ(flatten->input, (Permutation{0, 1, 2, 3}));
  EXPECT_EQ(flatten->output, (Permutation{0, 1}));
  // [1,1024] -> [1,1024,1,1] comes out NHWC.
  auto unflatten = PlanReshape({1, 1024}, {1, 1024, 1, 1}, {0, 1});
  ASSERT_TRUE(unflatten);
  EXPECT_EQ(unflatten->output, kNchwToNhwc);
  EXPECT_FALSE(PlanReshape({2, 0}, {0}, {0, 1}));
}

}  // namespace
}  // namespace edgebench::convert
