// Tensor layouts: permutations of a tensor's dims, and the record a converted model keeps of how
// its inputs and outputs relate to those of the model it was converted from (an NCHW ONNX model
// becomes an NHWC TFLite one), so that inputs and reference outputs can be carried across.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "edgebench/status.h"
#include "edgebench/tensor.h"

namespace edgebench {

using Permutation = std::vector<int>;  // output dim i = input dim perm[i]

// Throws std::invalid_argument when perm does not fit shape (a model whose shapes contradict
// themselves can lead there; the converter reports it as a bad model).
std::vector<int64_t> PermuteShape(const std::vector<int64_t>& shape, const Permutation& perm);
Permutation InversePermutation(const Permutation& perm);
// first then second: the result applied once equals applying `first`, then `second`.
Permutation ComposePermutations(const Permutation& first, const Permutation& second);
bool IsIdentity(const Permutation& perm);
std::string FormatPermutation(const Permutation& perm);  // "0,2,3,1"

// `tensor` transposed by `perm` (any element type); an error when perm is not a permutation of
// the tensor's dims.
Expected<Tensor> PermuteTensor(const Tensor& tensor, const Permutation& perm);

// The name of the TFLite metadata entry that holds a LayoutRecord as JSON (Model.metadata).
inline constexpr const char* kLayoutMetadataName = "edgebench.layout";

// One input or output of a converted model: its dims are those of the source model's tensor
// (source_shape) permuted by `permutation` (model dim i = source dim permutation[i]).
struct TensorLayout {
  std::string name;
  std::vector<int64_t> source_shape;
  Permutation permutation;
};

// Per position, the model's inputs and outputs against its source's.
struct LayoutRecord {
  std::string source_format;  // "onnx"
  std::vector<TensorLayout> inputs, outputs;
};

// {"edgebench.layout": {"source_format": "onnx", "inputs": [{"name", "source_shape",
// "permutation"}], "outputs": [...]}}
nlohmann::json ToJson(const LayoutRecord& record);
// The inverse of ToJson; BadModel naming the problem for a malformed record.
Expected<LayoutRecord> LayoutRecordFromJson(const nlohmann::json& json);

// The layout names a user states for a rank-4 image tensor.
enum class ImageLayout { kNchw, kNhwc };
std::string_view ImageLayoutName(ImageLayout layout);  // "NCHW", "NHWC"
Expected<ImageLayout> ParseImageLayout(std::string_view name);  // case-insensitive
// The permutation from NCHW to `layout` (model dim i = NCHW dim perm[i]).
Permutation FromNchw(ImageLayout layout);

}  // namespace edgebench
