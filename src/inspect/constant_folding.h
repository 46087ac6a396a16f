// Constant folding of small tensors, enough to resolve the shape subgraphs exporters emit
// (Shape -> Gather -> Unsqueeze -> Concat -> Reshape, with Cast, Slice and arithmetic)
// where ONNX shape inference leaves dims unknown. Internal to the inspector.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

namespace edgebench::inspect {

// Folding gives up on tensors larger than this many elements.
inline constexpr int64_t kMaxFoldElements = 1 << 16;

// A small constant tensor. Integer and bool types keep exact values in `ints`; floating
// types keep theirs in `floats`.
struct ConstTensor {
  int32_t elem_type = onnx::TensorProto::INT64;  // onnx::TensorProto::DataType
  std::vector<int64_t> dims;
  std::vector<int64_t> ints;
  std::vector<double> floats;

  bool is_float() const;
  int64_t size() const { return is_float() ? int64_t(floats.size()) : int64_t(ints.size()); }
  double AsDouble(int64_t i) const { return is_float() ? floats[i] : double(ints[i]); }
  int64_t AsInt(int64_t i) const;  // floats truncated toward zero, saturated
};

bool IsFloatType(int32_t elem_type);

// The tensor's contents when it is small, numeric and holds its data inline; nullopt otherwise
// (too large, external data, strings, inconsistent sizes).
std::optional<ConstTensor> ConstFromProto(const onnx::TensorProto& tensor);

// Writes `value` as a TensorProto named `name` (the inverse of ConstFromProto).
onnx::TensorProto ConstToProto(const ConstTensor& value, const std::string& name);

// What is known about a tensor: element type (0 when unknown) and dims, -1 where unknown.
struct KnownShape {
  int32_t elem_type = 0;
  bool rank_known = false;
  std::vector<int64_t> dims;
  bool IsConcrete() const;
};

// Evaluates `node` when every input it needs is constant (Shape and Size need only a concrete
// input shape). Returns the outputs' values in order, or nullopt when the node cannot be folded
// (unknown op, non-constant input, result too large, out-of-range index). Never throws.
std::optional<std::vector<ConstTensor>> FoldNode(
    const onnx::NodeProto& node, int opset,
    const std::map<std::string, ConstTensor>& constants,
    const std::map<std::string, KnownShape>& shapes);

}  // namespace edgebench::inspect
