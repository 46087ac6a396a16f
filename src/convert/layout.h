// Pure tensor transforms of the ONNX -> TFLite converter: permutations, weight layouts, BatchNorm
// folding and TFLite padding. No ONNX or flatbuffer types here, so they are unit-tested directly.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "edgebench/tensor_layout.h"

namespace edgebench::convert {

using Shape = std::vector<int64_t>;
// Permutations are core's (edgebench/tensor_layout.h): output dim i = input dim perm[i].
using edgebench::Permutation;
using edgebench::PermuteShape;
using edgebench::InversePermutation;
using edgebench::ComposePermutations;

// NCHW -> NHWC and back, for rank-4 tensors.
inline const Permutation kNchwToNhwc{0, 2, 3, 1};
inline const Permutation kNhwcToNchw{0, 3, 1, 2};

// Whether transposing a tensor of `shape` by `perm` leaves its elements in memory order (only
// size-1 dims move), so a RESHAPE can stand in for the TRANSPOSE.
bool IsMemoryOrderPreserved(const Shape& shape, const Permutation& perm);

// Transposes row-major `data` of `shape` by `perm`.
template <typename T>
std::vector<T> TransposeData(const std::vector<T>& data, const Shape& shape, const Permutation& perm);

// A transpose on fewer dims with the same effect: size-1 dims dropped and runs of input dims
// that stay adjacent in the output merged. RESHAPE(shape) -> TRANSPOSE(perm) -> RESHAPE(output)
// then equals the original transpose.
struct CollapsedTranspose {
  Shape shape;
  Permutation perm;
};
CollapsedTranspose CollapseTranspose(const Shape& shape, const Permutation& perm);

// How a reshape of a tensor laid out in `current` (tflite dim i = onnx dim current[i]) can run
// as a plain RESHAPE: the ONNX dims split or merged together (dims > 1) must sit adjacent and in
// order in the TFLite tensor. `input` is the layout to bring the input to first (size-1 dims
// first, then each group's dims gathered where its first one sits in `current`; the same memory
// order as `current` when that already qualifies), `output` the layout of the result (size-1 dims first, then each group's dims where its input
// group was). nullopt for shapes with a 0 dim or different element counts.
struct ReshapeLayout {
  Permutation input, output;
};
std::optional<ReshapeLayout> PlanReshape(const Shape& in, const Shape& out, const Permutation& current);

// ONNX Conv weights [O, I, kh, kw] -> TFLite CONV_2D filter [O, kh, kw, I] (OHWI).
std::vector<float> ConvWeightsToOhwi(const std::vector<float>& weights, const Shape& shape);
// ONNX depthwise Conv weights [C*M, 1, kh, kw] -> TFLite DEPTHWISE_CONV_2D filter
// [1, kh, kw, C*M]; output channel c*M + m reads input channel c in both.
std::vector<float> DepthwiseWeightsTo1hwc(const std::vector<float>& weights, const Shape& shape);

// Folds y = gamma * (x - mean) / sqrt(var + epsilon) + beta into the producing op's per-output-
// channel weights (`weights` holds out_channels equal blocks, channel-major) and bias.
// Computed in double.
struct BatchNorm {
  std::vector<float> scale, bias, mean, variance;  // gamma, beta, running mean and variance
  double epsilon = 1e-5;
};
void FoldBatchNorm(const BatchNorm& bn, std::vector<float>& weights, std::vector<float>& bias);
// The per-channel affine form of a BatchNorm with no producer to fold into: y = x * a + b.
void BatchNormAsAffine(const BatchNorm& bn, std::vector<float>& a, std::vector<float>& b);

// TFLite padding of one spatial dim: SAME (out = ceil(in / stride), total padding split with the
// smaller half first) or VALID (no padding).
enum class TflitePadding { kSame, kValid };
struct SpatialPadding {
  int64_t in = 0, kernel = 1, stride = 1, dilation = 1;
  int64_t begin = 0, end = 0;  // ONNX pads
  int64_t out = 0;             // the ONNX output size (ceil_mode included)
};
// The TFLite padding that computes exactly the windows of `dims` (every spatial dim), or nullopt
// when neither does (an explicit PAD is needed then).
std::optional<TflitePadding> MatchTflitePadding(const std::vector<SpatialPadding>& dims);
// Padding at the end that the ONNX windows read, past the input (ceil_mode can read more than
// `end`; it may be less than `end` when trailing padding is never read).
int64_t EffectiveEndPadding(const SpatialPadding& dim);

}  // namespace edgebench::convert
