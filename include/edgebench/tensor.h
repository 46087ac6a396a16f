// Tensors exchanged between the harness and backends: a spec (name, element type, shape) and
// an owned, contiguous, row-major buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "edgebench/status.h"

namespace edgebench {

enum class DataType { kFloat32, kFloat16, kFloat64, kInt8, kUInt8, kInt16, kInt32, kInt64, kBool };

std::string_view DataTypeName(DataType type);
std::size_t DataTypeSize(DataType type);  // bytes per element

inline constexpr int64_t kDynamicDim = -1;

struct TensorSpec {
  std::string name;
  DataType type = DataType::kFloat32;
  std::vector<int64_t> shape;  // kDynamicDim marks a dimension fixed only at run time
  bool rank_known = true;      // false when the format does not record shapes (TorchScript)

  bool IsConcrete() const;
};

struct Tensor {
  TensorSpec spec;              // concrete shape
  std::vector<std::byte> data;  // ElementCount(spec.shape) * DataTypeSize(spec.type) bytes
};

// Product of the dims; an error on a dynamic dim, a negative dim or overflow past 2^40 elements.
Expected<int64_t> ElementCount(const std::vector<int64_t>& shape);
std::string FormatShape(const std::vector<int64_t>& shape);  // "1x3x224x224", "?" for dynamic

// The bytes a tensor of input `spec` holds; an error naming the input (InvalidArgument) when its
// shape is not concrete, has more than 2^40 elements or needs more than this machine's physical
// memory, so that a shape read from a model file is refused before anything is allocated for it.
Expected<std::size_t> InputByteSize(const TensorSpec& spec);

// Parses "name=1x3x224x224" (as given to --shape).
Expected<std::pair<std::string, std::vector<int64_t>>> ParseShapeArgument(const std::string& arg);

using ShapeOverrides = std::map<std::string, std::vector<int64_t>>;

// Applies overrides to the model's input specs and checks every input is concrete afterwards.
// An override for an unknown input, or a rank/dim that contradicts a fixed dim, is an error.
Expected<std::vector<TensorSpec>> ResolveInputShapes(const std::vector<TensorSpec>& model_inputs,
                                                     const ShapeOverrides& overrides);

// Checks inputs handed to Backend::SetInputs against the model's specs: same count and order,
// names and types equal, shapes of the spec's rank agreeing with its fixed dims (any shape when
// the rank is unknown), and data sizes matching. Errors start with `model_path`.
Status CheckInputsMatchSpecs(const std::vector<Tensor>& inputs, const std::vector<TensorSpec>& specs,
                             const std::string& model_path);

// Deterministic pseudo-random contents for `spec`: floats uniform in [0, 1), integers in [0, 10),
// bools alternating. Same seed and spec give the same bytes on every platform.
Expected<Tensor> MakeRandomTensor(const TensorSpec& spec, uint64_t seed);

// Reads a raw little-endian file of exactly the spec's byte size.
Expected<Tensor> LoadTensorFile(const TensorSpec& spec, const std::string& path);

// Writes the tensor's data as the raw little-endian file LoadTensorFile reads back.
Status SaveTensorFile(const Tensor& tensor, const std::string& path);

}  // namespace edgebench
