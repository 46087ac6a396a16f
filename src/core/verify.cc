#include "edgebench/verify.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace edgebench {
namespace {

float HalfToFloat(uint16_t half) {
  const uint32_t sign = (half & 0x8000u) << 16;
  uint32_t exponent = (half >> 10) & 0x1f;
  uint32_t mantissa = half & 0x3ffu;
  uint32_t bits;
  if (exponent == 0 && mantissa == 0) {
    bits = sign;
  } else if (exponent == 0) {  // subnormal: normalise
    exponent = 127 - 15 + 1;
    while (!(mantissa & 0x400u)) {
      mantissa <<= 1;
      --exponent;
    }
    bits = sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
  } else if (exponent == 31) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

template <typename T>
void Append(const Tensor& tensor, std::vector<double>& out) {
  const std::size_t count = tensor.data.size() / sizeof(T);
  for (std::size_t i = 0; i < count; ++i) {
    T value;
    std::memcpy(&value, tensor.data.data() + i * sizeof(T), sizeof(T));
    out.push_back(static_cast<double>(value));
  }
}

// Rows and classes of a classifier-shaped output, or {0, 0}.
std::pair<int64_t, int64_t> ClassifierShape(const std::vector<int64_t>& shape) {
  if (shape.size() == 2) return {shape[0], shape[1]};
  if (shape.size() == 4 && shape[2] == 1 && shape[3] == 1) return {shape[0], shape[1]};
  return {0, 0};
}

}  // namespace

std::vector<double> TensorValues(const Tensor& tensor) {
  std::vector<double> values;
  values.reserve(tensor.data.size() / DataTypeSize(tensor.spec.type));
  switch (tensor.spec.type) {
    case DataType::kFloat32: Append<float>(tensor, values); break;
    case DataType::kFloat64: Append<double>(tensor, values); break;
    case DataType::kFloat16: {
      std::vector<double> halves;
      Append<uint16_t>(tensor, halves);
      for (double h : halves) values.push_back(HalfToFloat(static_cast<uint16_t>(h)));
      break;
    }
    case DataType::kInt8: Append<int8_t>(tensor, values); break;
    case DataType::kUInt8: Append<uint8_t>(tensor, values); break;
    case DataType::kInt16: Append<int16_t>(tensor, values); break;
    case DataType::kInt32: Append<int32_t>(tensor, values); break;
    case DataType::kInt64: Append<int64_t>(tensor, values); break;
    case DataType::kBool: Append<uint8_t>(tensor, values); break;
  }
  return values;
}

Expected<std::vector<OutputComparison>> CompareOutputs(const std::vector<Tensor>& actual,
                                                       const std::vector<Tensor>& reference) {
  if (actual.size() != reference.size()) {
    return InvalidArgument("the runtime gives " + std::to_string(actual.size()) +
                           " outputs, the reference " + std::to_string(reference.size()));
  }
  std::vector<OutputComparison> comparisons;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const std::vector<double> a = TensorValues(actual[i]), b = TensorValues(reference[i]);
    if (a.size() != b.size()) {
      return InvalidArgument("output " + std::to_string(i) + " ('" + actual[i].spec.name + "') has " +
                             std::to_string(a.size()) + " elements, the reference's " +
                             std::to_string(b.size()));
    }
    OutputComparison c;
    c.name = actual[i].spec.name;
    c.elements = static_cast<int64_t>(a.size());
    double reference_range = 0;
    for (std::size_t j = 0; j < a.size(); ++j) {
      const double error = std::isnan(a[j]) != std::isnan(b[j]) ? INFINITY : std::abs(a[j] - b[j]);
      if (!std::isnan(error)) c.max_abs_error = std::max(c.max_abs_error, error);
      reference_range = std::max(reference_range, std::abs(b[j]));
    }
    c.max_rel_error = reference_range > 0 ? c.max_abs_error / reference_range : c.max_abs_error;
    auto [rows, classes] = ClassifierShape(reference[i].spec.shape);
    if (rows > 0 && classes > 1 && rows * classes == c.elements) {
      int64_t agree = 0;
      for (int64_t r = 0; r < rows; ++r) {
        const auto row_a = a.begin() + r * classes, row_b = b.begin() + r * classes;
        agree += std::max_element(row_a, row_a + classes) - row_a ==
                 std::max_element(row_b, row_b + classes) - row_b;
      }
      c.top1_agreement = static_cast<double>(agree) / static_cast<double>(rows);
    }
    comparisons.push_back(std::move(c));
  }
  return comparisons;
}

}  // namespace edgebench
