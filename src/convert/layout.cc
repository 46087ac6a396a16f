#include "layout.h"

#include <cmath>
#include <cstdint>

namespace edgebench::convert {

bool IsMemoryOrderPreserved(const Shape& shape, const Permutation& perm) {
  int last = -1;
  for (int axis : perm) {
    if (shape[axis] == 1) continue;
    if (axis < last) return false;
    last = axis;
  }
  return true;
}

template <typename T>
std::vector<T> TransposeData(const std::vector<T>& data, const Shape& shape, const Permutation& perm) {
  const std::size_t rank = shape.size();
  const Shape out_shape = PermuteShape(shape, perm);
  std::vector<int64_t> in_strides(rank, 1);
  for (std::size_t d = rank; d-- > 1;) in_strides[d - 1] = in_strides[d] * shape[d];
  // Stride in the input of each output dim.
  std::vector<int64_t> strides(rank);
  for (std::size_t i = 0; i < rank; ++i) strides[i] = in_strides[perm[i]];
  std::vector<T> result(data.size());
  std::vector<int64_t> index(rank, 0);
  int64_t source = 0;
  for (std::size_t n = 0; n < result.size(); ++n) {
    result[n] = data[source];
    for (std::size_t d = rank; d-- > 0;) {  // odometer over the output index
      source += strides[d];
      if (++index[d] < out_shape[d]) break;
      source -= strides[d] * out_shape[d];
      index[d] = 0;
    }
  }
  return result;
}

template std::vector<float> TransposeData(const std::vector<float>&, const Shape&, const Permutation&);
template std::vector<int32_t> TransposeData(const std::vector<int32_t>&, const Shape&, const Permutation&);
template std::vector<int64_t> TransposeData(const std::vector<int64_t>&, const Shape&, const Permutation&);

CollapsedTranspose CollapseTranspose(const Shape& shape, const Permutation& perm) {
  // Drop size-1 dims, renumbering the rest.
  std::vector<int> renumber(shape.size(), -1);
  Shape kept_shape;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    renumber[d] = int(kept_shape.size());
    kept_shape.push_back(shape[d]);
  }
  Permutation kept_perm;
  for (int axis : perm) {
    if (renumber[axis] >= 0) kept_perm.push_back(renumber[axis]);
  }
  // Groups of input dims that stay adjacent and in order in the output.
  std::vector<std::vector<int>> groups;  // in output order
  for (int axis : kept_perm) {
    if (!groups.empty() && groups.back().back() + 1 == axis) {
      groups.back().push_back(axis);
    } else {
      groups.push_back({axis});
    }
  }
  // Input order of the groups: by their first dim.
  std::vector<int> group_of_first(kept_shape.size(), -1);
  for (std::size_t g = 0; g < groups.size(); ++g) group_of_first[groups[g].front()] = int(g);
  CollapsedTranspose result;
  std::vector<int> input_position(groups.size());
  for (std::size_t d = 0; d < kept_shape.size(); ++d) {
    const int g = group_of_first[d];
    if (g < 0) continue;
    int64_t size = 1;
    for (int axis : groups[g]) size *= kept_shape[axis];
    input_position[g] = int(result.shape.size());
    result.shape.push_back(size);
  }
  for (std::size_t g = 0; g < groups.size(); ++g) result.perm.push_back(input_position[g]);
  return result;
}

std::optional<ReshapeLayout> PlanReshape(const Shape& in, const Shape& out, const Permutation& current) {
  std::vector<int> in_dims, out_dims;  // dims > 1
  for (std::size_t d = 0; d < in.size(); ++d) {
    if (in[d] <= 0) return std::nullopt;
    if (in[d] > 1) in_dims.push_back(int(d));
  }
  for (std::size_t d = 0; d < out.size(); ++d) {
    if (out[d] <= 0) return std::nullopt;
    if (out[d] > 1) out_dims.push_back(int(d));
  }
  // Groups of consecutive input dims and output dims with equal products.
  std::vector<int> group_of_in(in.size(), -1);
  std::vector<std::vector<int>> group_outputs;
  std::size_t i = 0, j = 0;
  while (i < in_dims.size() && j < out_dims.size()) {
    const int group = int(group_outputs.size());
    group_outputs.push_back({out_dims[j]});
    group_of_in[in_dims[i]] = group;
    int64_t in_product = in[in_dims[i++]], out_product = out[out_dims[j++]];
    while (in_product != out_product) {
      if (in_product < out_product) {
        if (i == in_dims.size()) return std::nullopt;
        group_of_in[in_dims[i]] = group;
        in_product *= in[in_dims[i++]];
      } else {
        if (j == out_dims.size()) return std::nullopt;
        group_outputs.back().push_back(out_dims[j]);
        out_product *= out[out_dims[j++]];
      }
    }
  }
  if (i != in_dims.size() || j != out_dims.size()) return std::nullopt;
  ReshapeLayout layout;
  // Input: size-1 dims first, then each group's dims, in order, where its first dim sits.
  std::vector<bool> placed(group_outputs.size(), false);
  for (int axis : current) {
    if (in[axis] == 1) layout.input.push_back(axis);
  }
  std::vector<int> group_order;
  for (int axis : current) {
    const int group = group_of_in[axis];
    if (group < 0 || placed[group]) continue;
    placed[group] = true;
    group_order.push_back(group);
    for (int d : in_dims) {
      if (group_of_in[d] == group) layout.input.push_back(d);
    }
  }
  for (std::size_t d = 0; d < out.size(); ++d) {
    if (out[d] == 1) layout.output.push_back(int(d));
  }
  for (int group : group_order) {
    for (int d : group_outputs[group]) layout.output.push_back(d);
  }
  return layout;
}

std::vector<float> ConvWeightsToOhwi(const std::vector<float>& weights, const Shape& shape) {
  return TransposeData(weights, shape, {0, 2, 3, 1});
}

std::vector<float> DepthwiseWeightsTo1hwc(const std::vector<float>& weights, const Shape& shape) {
  // [C*M, 1, kh, kw] -> [1, kh, kw, C*M]
  return TransposeData(weights, shape, {1, 2, 3, 0});
}

void FoldBatchNorm(const BatchNorm& bn, std::vector<float>& weights, std::vector<float>& bias) {
  const std::size_t channels = bn.scale.size();
  const std::size_t block = channels ? weights.size() / channels : 0;
  for (std::size_t c = 0; c < channels; ++c) {
    const double factor = double(bn.scale[c]) / std::sqrt(double(bn.variance[c]) + bn.epsilon);
    for (std::size_t i = c * block; i < (c + 1) * block; ++i) weights[i] = float(weights[i] * factor);
    bias[c] = float((double(bias[c]) - bn.mean[c]) * factor + bn.bias[c]);
  }
}

void BatchNormAsAffine(const BatchNorm& bn, std::vector<float>& a, std::vector<float>& b) {
  const std::size_t channels = bn.scale.size();
  a.assign(channels, 0);
  b.assign(channels, 0);
  for (std::size_t c = 0; c < channels; ++c) {
    const double factor = double(bn.scale[c]) / std::sqrt(double(bn.variance[c]) + bn.epsilon);
    a[c] = float(factor);
    b[c] = float(bn.bias[c] - bn.mean[c] * factor);
  }
}

int64_t EffectiveEndPadding(const SpatialPadding& dim) {
  const int64_t window = (dim.kernel - 1) * dim.dilation + 1;
  return (dim.out - 1) * dim.stride + window - dim.in - dim.begin;
}

std::optional<TflitePadding> MatchTflitePadding(const std::vector<SpatialPadding>& dims) {
  bool valid = true, same = true;
  for (const SpatialPadding& dim : dims) {
    const int64_t window = (dim.kernel - 1) * dim.dilation + 1;
    const int64_t valid_out = dim.in >= window ? (dim.in - window) / dim.stride + 1 : 0;
    if (dim.begin != 0 || dim.out != valid_out) valid = false;
    const int64_t same_out = (dim.in + dim.stride - 1) / dim.stride;
    const int64_t total = std::max<int64_t>((same_out - 1) * dim.stride + window - dim.in, 0);
    if (dim.out != same_out || dim.begin != total / 2) same = false;
  }
  if (valid) return TflitePadding::kValid;
  if (same) return TflitePadding::kSame;
  return std::nullopt;
}

}  // namespace edgebench::convert
