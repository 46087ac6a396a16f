// Small helpers over ONNX protobuf classes shared by the inspector's passes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <onnx/onnx_pb.h>

namespace edgebench::inspect {

inline const onnx::AttributeProto* FindAttribute(const onnx::NodeProto& node,
                                                 std::string_view name) {
  for (const auto& attribute : node.attribute()) {
    if (attribute.name() == name) return &attribute;
  }
  return nullptr;
}

inline int64_t IntAttribute(const onnx::NodeProto& node, std::string_view name,
                            int64_t default_value) {
  const auto* attribute = FindAttribute(node, name);
  return attribute && attribute->has_i() ? attribute->i() : default_value;
}

inline float FloatAttribute(const onnx::NodeProto& node, std::string_view name,
                            float default_value) {
  const auto* attribute = FindAttribute(node, name);
  return attribute && attribute->has_f() ? attribute->f() : default_value;
}

inline std::optional<std::vector<int64_t>> IntsAttribute(const onnx::NodeProto& node,
                                                         std::string_view name) {
  const auto* attribute = FindAttribute(node, name);
  if (!attribute) return std::nullopt;
  return std::vector<int64_t>(attribute->ints().begin(), attribute->ints().end());
}

inline std::string StringAttribute(const onnx::NodeProto& node, std::string_view name,
                                   std::string default_value = "") {
  const auto* attribute = FindAttribute(node, name);
  return attribute && attribute->has_s() ? attribute->s() : default_value;
}

// The node's i-th input name, or "" when absent (optional inputs are empty strings).
inline const std::string& InputName(const onnx::NodeProto& node, int i) {
  static const std::string kEmpty;
  return i < node.input_size() ? node.input(i) : kEmpty;
}

inline bool IsDefaultDomain(const std::string& domain) {
  return domain.empty() || domain == "ai.onnx";
}

// Multiplication and addition that report overflow of int64 instead of wrapping.
inline std::optional<int64_t> CheckedMul(int64_t a, int64_t b) {
  int64_t result = 0;
  if (__builtin_mul_overflow(a, b, &result)) return std::nullopt;
  return result;
}
inline std::optional<int64_t> CheckedAdd(int64_t a, int64_t b) {
  int64_t result = 0;
  if (__builtin_add_overflow(a, b, &result)) return std::nullopt;
  return result;
}

// Product of non-negative dims; nullopt on a negative (unknown) dim or past `limit`.
inline std::optional<int64_t> ProductOfDims(const std::vector<int64_t>& dims,
                                            int64_t limit = INT64_MAX) {
  int64_t count = 1;
  for (int64_t dim : dims) {
    if (dim < 0) return std::nullopt;
    auto next = CheckedMul(count, dim);
    if (!next || *next > limit) return std::nullopt;
    count = *next;
  }
  return count;
}

// Bytes per element of an ONNX tensor element type; 0 for strings and unknown types.
inline int64_t ElementSize(int32_t elem_type) {
  switch (elem_type) {
    case onnx::TensorProto::BOOL:
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::UINT8: return 1;
    case onnx::TensorProto::INT16:
    case onnx::TensorProto::UINT16:
    case onnx::TensorProto::FLOAT16:
    case onnx::TensorProto::BFLOAT16: return 2;
    case onnx::TensorProto::INT32:
    case onnx::TensorProto::UINT32:
    case onnx::TensorProto::FLOAT: return 4;
    case onnx::TensorProto::INT64:
    case onnx::TensorProto::UINT64:
    case onnx::TensorProto::DOUBLE:
    case onnx::TensorProto::COMPLEX64: return 8;
    case onnx::TensorProto::COMPLEX128: return 16;
    default: return 0;
  }
}

// "float32", "int64", ...: the names DataTypeName uses where they overlap.
inline std::string ElementTypeName(int32_t elem_type) {
  switch (elem_type) {
    case onnx::TensorProto::FLOAT: return "float32";
    case onnx::TensorProto::UINT8: return "uint8";
    case onnx::TensorProto::INT8: return "int8";
    case onnx::TensorProto::UINT16: return "uint16";
    case onnx::TensorProto::INT16: return "int16";
    case onnx::TensorProto::INT32: return "int32";
    case onnx::TensorProto::INT64: return "int64";
    case onnx::TensorProto::STRING: return "string";
    case onnx::TensorProto::BOOL: return "bool";
    case onnx::TensorProto::FLOAT16: return "float16";
    case onnx::TensorProto::DOUBLE: return "float64";
    case onnx::TensorProto::UINT32: return "uint32";
    case onnx::TensorProto::UINT64: return "uint64";
    case onnx::TensorProto::COMPLEX64: return "complex64";
    case onnx::TensorProto::COMPLEX128: return "complex128";
    case onnx::TensorProto::BFLOAT16: return "bfloat16";
    default: return "unknown";
  }
}

}  // namespace edgebench::inspect
