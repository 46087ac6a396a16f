#include "constant_folding.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include "edgebench/float16.h"
#include "onnx_util.h"

namespace edgebench::inspect {
namespace {

using Tensor = ConstTensor;
using Folded = std::optional<std::vector<ConstTensor>>;

float BFloat16ToFloat(uint16_t value) {
  const uint32_t bits = uint32_t(value) << 16;
  float result = 0;
  std::memcpy(&result, &bits, sizeof result);
  return result;
}

uint16_t FloatToBFloat16(float value) {
  uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  return uint16_t(bits >> 16);
}

// Wraps an integer to the width and signedness of `elem_type`, as a C cast would.
int64_t WrapInteger(int64_t value, int32_t elem_type) {
  switch (elem_type) {
    case onnx::TensorProto::INT8: return int8_t(value);
    case onnx::TensorProto::UINT8: return uint8_t(value);
    case onnx::TensorProto::INT16: return int16_t(value);
    case onnx::TensorProto::UINT16: return uint16_t(value);
    case onnx::TensorProto::INT32: return int32_t(value);
    case onnx::TensorProto::UINT32: return uint32_t(value);
    case onnx::TensorProto::BOOL: return value != 0;
    default: return value;
  }
}

bool IsSupportedNumericType(int32_t elem_type) {
  switch (elem_type) {
    case onnx::TensorProto::FLOAT:
    case onnx::TensorProto::DOUBLE:
    case onnx::TensorProto::FLOAT16:
    case onnx::TensorProto::BFLOAT16:
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::UINT8:
    case onnx::TensorProto::INT16:
    case onnx::TensorProto::UINT16:
    case onnx::TensorProto::INT32:
    case onnx::TensorProto::UINT32:
    case onnx::TensorProto::INT64:
    case onnx::TensorProto::UINT64:
    case onnx::TensorProto::BOOL: return true;
    default: return false;
  }
}

std::optional<int64_t> FoldCount(const std::vector<int64_t>& dims) {
  return ProductOfDims(dims, kMaxFoldElements);
}

std::optional<int64_t> NormalizeAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) return std::nullopt;
  return axis < 0 ? axis + rank : axis;
}

// An empty tensor of `elem_type` with `count` zero elements.
Tensor Zeros(int32_t elem_type, std::vector<int64_t> dims, int64_t count) {
  Tensor tensor;
  tensor.elem_type = elem_type;
  tensor.dims = std::move(dims);
  if (tensor.is_float()) {
    tensor.floats.assign(count, 0.0);
  } else {
    tensor.ints.assign(count, 0);
  }
  return tensor;
}

// Copies element `from` of `source` to element `to` of `target` (same kind).
void CopyElement(const Tensor& source, int64_t from, Tensor& target, int64_t to) {
  if (target.is_float()) {
    target.floats[to] = source.AsDouble(from);
  } else {
    target.ints[to] = source.AsInt(from);
  }
}

std::vector<int64_t> Strides(const std::vector<int64_t>& dims) {
  std::vector<int64_t> strides(dims.size(), 1);
  for (int64_t i = int64_t(dims.size()) - 2; i >= 0; --i) strides[i] = strides[i + 1] * dims[i + 1];
  return strides;
}

std::optional<std::vector<int64_t>> BroadcastDims(const std::vector<int64_t>& a,
                                                  const std::vector<int64_t>& b) {
  const std::size_t rank = std::max(a.size(), b.size());
  std::vector<int64_t> out(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da == db || db == 1) {
      out[i] = da;
    } else if (da == 1) {
      out[i] = db;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

// For each element of a tensor of `out_dims`, the flat index of the element of a tensor of
// `in_dims` that broadcasts onto it.
std::vector<int64_t> BroadcastIndex(const std::vector<int64_t>& out_dims,
                                    const std::vector<int64_t>& in_dims, int64_t out_count) {
  const std::size_t rank = out_dims.size();
  std::vector<int64_t> in_full(rank, 1);
  for (std::size_t i = 0; i < in_dims.size(); ++i) in_full[rank - in_dims.size() + i] = in_dims[i];
  const auto in_strides = Strides(in_full);
  const auto out_strides = Strides(out_dims);
  std::vector<int64_t> index(out_count);
  for (int64_t flat = 0; flat < out_count; ++flat) {
    int64_t remainder = flat;
    int64_t source = 0;
    for (std::size_t d = 0; d < rank; ++d) {
      const int64_t coordinate = out_strides[d] ? remainder / out_strides[d] : 0;
      remainder -= coordinate * out_strides[d];
      if (in_full[d] != 1) source += coordinate * in_strides[d];
    }
    index[flat] = source;
  }
  return index;
}

const Tensor* Input(const onnx::NodeProto& node, int i,
                    const std::map<std::string, Tensor>& constants) {
  const std::string& name = InputName(node, i);
  if (name.empty()) return nullptr;
  auto it = constants.find(name);
  return it == constants.end() ? nullptr : &it->second;
}

// Integer list from an int tensor (axes, shapes, starts...).
std::optional<std::vector<int64_t>> IntList(const Tensor* tensor) {
  if (!tensor || tensor->is_float()) return std::nullopt;
  return tensor->ints;
}

Folded One(Tensor tensor) { return std::vector<Tensor>{std::move(tensor)}; }

// ---- elementwise ----

enum class ResultKind { kSameAsInput, kBool };

Folded FoldBinary(const Tensor& a, const Tensor& b, ResultKind kind,
                  const std::function<std::optional<double>(double, double)>& float_op,
                  const std::function<std::optional<int64_t>(int64_t, int64_t)>& int_op) {
  auto dims = BroadcastDims(a.dims, b.dims);
  if (!dims) return std::nullopt;
  auto count = FoldCount(*dims);
  if (!count) return std::nullopt;
  const auto ia = BroadcastIndex(*dims, a.dims, *count);
  const auto ib = BroadcastIndex(*dims, b.dims, *count);
  const bool floating = a.is_float() || b.is_float();
  const int32_t type = kind == ResultKind::kBool ? int32_t(onnx::TensorProto::BOOL) : a.elem_type;
  Tensor out = Zeros(type, *dims, *count);
  for (int64_t i = 0; i < *count; ++i) {
    if (floating) {
      if (!float_op) return std::nullopt;
      auto value = float_op(a.AsDouble(ia[i]), b.AsDouble(ib[i]));
      if (!value) return std::nullopt;
      if (out.is_float()) {
        out.floats[i] = *value;
      } else {
        out.ints[i] = int64_t(*value != 0);
      }
    } else {
      if (!int_op) return std::nullopt;
      auto value = int_op(a.ints[ia[i]], b.ints[ib[i]]);
      if (!value) return std::nullopt;
      if (out.is_float()) {
        out.floats[i] = double(*value);
      } else {
        out.ints[i] = kind == ResultKind::kBool ? int64_t(*value != 0) : WrapInteger(*value, type);
      }
    }
  }
  return One(std::move(out));
}

int64_t WrapAdd(int64_t a, int64_t b) { return int64_t(uint64_t(a) + uint64_t(b)); }
int64_t WrapSub(int64_t a, int64_t b) { return int64_t(uint64_t(a) - uint64_t(b)); }
int64_t WrapMul(int64_t a, int64_t b) { return int64_t(uint64_t(a) * uint64_t(b)); }

Folded FoldArithmetic(const std::string& op, const onnx::NodeProto& node,
                      const std::map<std::string, Tensor>& constants) {
  std::vector<const Tensor*> inputs;
  for (int i = 0; i < node.input_size(); ++i) {
    const Tensor* tensor = Input(node, i, constants);
    if (!tensor) return std::nullopt;
    inputs.push_back(tensor);
  }
  if (inputs.empty()) return std::nullopt;
  using F = std::function<std::optional<double>(double, double)>;
  using I = std::function<std::optional<int64_t>(int64_t, int64_t)>;
  F float_op;
  I int_op;
  ResultKind kind = ResultKind::kSameAsInput;
  if (op == "Add" || op == "Sum") {
    float_op = [](double a, double b) { return a + b; };
    int_op = [](int64_t a, int64_t b) { return WrapAdd(a, b); };
  } else if (op == "Sub") {
    float_op = [](double a, double b) { return a - b; };
    int_op = [](int64_t a, int64_t b) { return WrapSub(a, b); };
  } else if (op == "Mul") {
    float_op = [](double a, double b) { return a * b; };
    int_op = [](int64_t a, int64_t b) { return WrapMul(a, b); };
  } else if (op == "Div") {
    float_op = [](double a, double b) { return a / b; };
    int_op = [](int64_t a, int64_t b) -> std::optional<int64_t> {
      if (b == 0 || (a == INT64_MIN && b == -1)) return std::nullopt;
      return a / b;
    };
  } else if (op == "Mod") {
    const bool fmod = IntAttribute(node, "fmod", 0) != 0;
    float_op = [](double a, double b) { return std::fmod(a, b); };
    int_op = [fmod](int64_t a, int64_t b) -> std::optional<int64_t> {
      if (b == 0 || (a == INT64_MIN && b == -1)) return std::nullopt;
      int64_t r = a % b;
      if (!fmod && r != 0 && ((r < 0) != (b < 0))) r += b;
      return r;
    };
  } else if (op == "Pow") {
    float_op = [](double a, double b) { return std::pow(a, b); };
  } else if (op == "Max") {
    float_op = [](double a, double b) { return std::max(a, b); };
    int_op = [](int64_t a, int64_t b) { return std::max(a, b); };
  } else if (op == "Min") {
    float_op = [](double a, double b) { return std::min(a, b); };
    int_op = [](int64_t a, int64_t b) { return std::min(a, b); };
  } else {
    kind = ResultKind::kBool;
    if (op == "Equal") {
      float_op = [](double a, double b) { return double(a == b); };
      int_op = [](int64_t a, int64_t b) { return int64_t(a == b); };
    } else if (op == "Less") {
      float_op = [](double a, double b) { return double(a < b); };
      int_op = [](int64_t a, int64_t b) { return int64_t(a < b); };
    } else if (op == "LessOrEqual") {
      float_op = [](double a, double b) { return double(a <= b); };
      int_op = [](int64_t a, int64_t b) { return int64_t(a <= b); };
    } else if (op == "Greater") {
      float_op = [](double a, double b) { return double(a > b); };
      int_op = [](int64_t a, int64_t b) { return int64_t(a > b); };
    } else if (op == "GreaterOrEqual") {
      float_op = [](double a, double b) { return double(a >= b); };
      int_op = [](int64_t a, int64_t b) { return int64_t(a >= b); };
    } else if (op == "And") {
      int_op = [](int64_t a, int64_t b) { return int64_t(a && b); };
    } else if (op == "Or") {
      int_op = [](int64_t a, int64_t b) { return int64_t(a || b); };
    } else if (op == "Xor") {
      int_op = [](int64_t a, int64_t b) { return int64_t(bool(a) != bool(b)); };
    } else {
      return std::nullopt;
    }
  }
  if (inputs.size() == 1) {
    if (op == "Sum" || op == "Max" || op == "Min") return One(*inputs[0]);
    return std::nullopt;
  }
  if (inputs.size() > 2 && !(op == "Sum" || op == "Max" || op == "Min")) return std::nullopt;
  Tensor accumulated = *inputs[0];
  for (std::size_t i = 1; i < inputs.size(); ++i) {
    auto next = FoldBinary(accumulated, *inputs[i], kind, float_op, int_op);
    if (!next) return std::nullopt;
    accumulated = std::move((*next)[0]);
  }
  return One(std::move(accumulated));
}

Folded FoldUnary(const std::string& op, const Tensor& x) {
  Tensor out = x;
  if (op == "Identity") return One(std::move(out));
  if (op == "Not") {
    if (x.is_float()) return std::nullopt;
    for (auto& v : out.ints) v = !v;
    return One(std::move(out));
  }
  if (out.is_float()) {
    for (auto& v : out.floats) {
      if (op == "Neg") v = -v;
      else if (op == "Abs") v = std::fabs(v);
      else if (op == "Floor") v = std::floor(v);
      else if (op == "Ceil") v = std::ceil(v);
      else if (op == "Round") v = std::nearbyint(v);
      else if (op == "Sqrt") v = std::sqrt(v);
      else if (op == "Reciprocal") v = 1.0 / v;
      else if (op == "Relu") v = std::max(v, 0.0);
      else if (op == "Sign") v = double((v > 0) - (v < 0));
      else return std::nullopt;
    }
  } else {
    for (auto& v : out.ints) {
      if (op == "Neg") v = WrapInteger(WrapSub(0, v), x.elem_type);
      else if (op == "Abs") v = v == INT64_MIN ? v : std::llabs(v);
      else if (op == "Floor" || op == "Ceil" || op == "Round") {}
      else if (op == "Relu") v = std::max<int64_t>(v, 0);
      else if (op == "Sign") v = (v > 0) - (v < 0);
      else return std::nullopt;
    }
  }
  return One(std::move(out));
}

Folded FoldWhere(const Tensor& condition, const Tensor& x, const Tensor& y) {
  if (condition.is_float() || x.is_float() != y.is_float()) return std::nullopt;
  auto dims = BroadcastDims(condition.dims, x.dims);
  if (!dims) return std::nullopt;
  dims = BroadcastDims(*dims, y.dims);
  if (!dims) return std::nullopt;
  auto count = FoldCount(*dims);
  if (!count) return std::nullopt;
  const auto ic = BroadcastIndex(*dims, condition.dims, *count);
  const auto ix = BroadcastIndex(*dims, x.dims, *count);
  const auto iy = BroadcastIndex(*dims, y.dims, *count);
  Tensor out = Zeros(x.elem_type, *dims, *count);
  for (int64_t i = 0; i < *count; ++i) {
    if (condition.ints[ic[i]]) {
      CopyElement(x, ix[i], out, i);
    } else {
      CopyElement(y, iy[i], out, i);
    }
  }
  return One(std::move(out));
}

Tensor CastTo(const Tensor& in, int32_t to) {
  Tensor out;
  out.elem_type = to;
  out.dims = in.dims;
  const int64_t count = in.size();
  if (IsFloatType(to)) {
    out.floats.resize(count);
    for (int64_t i = 0; i < count; ++i) {
      double v = in.AsDouble(i);
      if (to == onnx::TensorProto::FLOAT) v = float(v);
      if (to == onnx::TensorProto::FLOAT16) v = HalfToFloat(FloatToHalf(float(v)));
      if (to == onnx::TensorProto::BFLOAT16) v = BFloat16ToFloat(FloatToBFloat16(float(v)));
      out.floats[i] = v;
    }
  } else {
    out.ints.resize(count);
    for (int64_t i = 0; i < count; ++i) {
      out.ints[i] = to == onnx::TensorProto::BOOL ? int64_t(in.AsDouble(i) != 0)
                                                  : WrapInteger(in.AsInt(i), to);
    }
  }
  return out;
}

// ---- shape and data movement ----

Folded FoldShape(const onnx::NodeProto& node, const std::map<std::string, KnownShape>& shapes) {
  auto it = shapes.find(InputName(node, 0));
  if (it == shapes.end() || !it->second.IsConcrete()) return std::nullopt;
  const auto& dims = it->second.dims;
  const int64_t rank = int64_t(dims.size());
  int64_t start = IntAttribute(node, "start", 0);
  int64_t end = IntAttribute(node, "end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  Tensor out;
  out.elem_type = onnx::TensorProto::INT64;
  if (end > start) out.ints.assign(dims.begin() + start, dims.begin() + end);
  out.dims = {int64_t(out.ints.size())};
  return One(std::move(out));
}

Folded FoldSize(const onnx::NodeProto& node, const std::map<std::string, KnownShape>& shapes) {
  auto it = shapes.find(InputName(node, 0));
  if (it == shapes.end() || !it->second.IsConcrete()) return std::nullopt;
  auto count = ProductOfDims(it->second.dims);
  if (!count) return std::nullopt;
  Tensor out;
  out.elem_type = onnx::TensorProto::INT64;
  out.ints = {*count};
  return One(std::move(out));
}

Folded FoldGather(const Tensor& data, const Tensor& indices, int64_t axis_attribute) {
  if (indices.is_float() || data.dims.empty()) return std::nullopt;
  const int64_t rank = int64_t(data.dims.size());
  auto axis = NormalizeAxis(axis_attribute, rank);
  if (!axis) return std::nullopt;
  std::vector<int64_t> dims(data.dims.begin(), data.dims.begin() + *axis);
  dims.insert(dims.end(), indices.dims.begin(), indices.dims.end());
  dims.insert(dims.end(), data.dims.begin() + *axis + 1, data.dims.end());
  auto count = FoldCount(dims);
  if (!count) return std::nullopt;
  const int64_t axis_dim = data.dims[*axis];
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < *axis; ++d) outer *= data.dims[d];
  for (int64_t d = *axis + 1; d < rank; ++d) inner *= data.dims[d];
  Tensor out = Zeros(data.elem_type, dims, *count);
  int64_t target = 0;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t index : indices.ints) {
      if (index < 0) index += axis_dim;
      if (index < 0 || index >= axis_dim) return std::nullopt;
      for (int64_t i = 0; i < inner; ++i) {
        CopyElement(data, (o * axis_dim + index) * inner + i, out, target++);
      }
    }
  }
  return One(std::move(out));
}

Folded FoldUnsqueeze(const Tensor& data, std::vector<int64_t> axes) {
  const int64_t rank = int64_t(data.dims.size() + axes.size());
  for (auto& axis : axes) {
    auto normalized = NormalizeAxis(axis, rank);
    if (!normalized) return std::nullopt;
    axis = *normalized;
  }
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) return std::nullopt;
  std::vector<int64_t> dims;
  std::size_t next_input = 0, next_axis = 0;
  for (int64_t d = 0; d < rank; ++d) {
    if (next_axis < axes.size() && axes[next_axis] == d) {
      dims.push_back(1);
      ++next_axis;
    } else {
      if (next_input >= data.dims.size()) return std::nullopt;
      dims.push_back(data.dims[next_input++]);
    }
  }
  Tensor out = data;
  out.dims = std::move(dims);
  return One(std::move(out));
}

Folded FoldSqueeze(const Tensor& data, const std::optional<std::vector<int64_t>>& axes) {
  const int64_t rank = int64_t(data.dims.size());
  std::vector<bool> remove(rank, false);
  if (axes && !axes->empty()) {
    for (int64_t axis : *axes) {
      auto normalized = NormalizeAxis(axis, rank);
      if (!normalized || data.dims[*normalized] != 1) return std::nullopt;
      remove[*normalized] = true;
    }
  } else {
    for (int64_t d = 0; d < rank; ++d) remove[d] = data.dims[d] == 1;
  }
  Tensor out = data;
  out.dims.clear();
  for (int64_t d = 0; d < rank; ++d) {
    if (!remove[d]) out.dims.push_back(data.dims[d]);
  }
  return One(std::move(out));
}

Folded FoldConcat(const std::vector<const Tensor*>& inputs, int64_t axis_attribute) {
  if (inputs.empty()) return std::nullopt;
  const Tensor& first = *inputs[0];
  const int64_t rank = int64_t(first.dims.size());
  auto axis = NormalizeAxis(axis_attribute, rank);
  if (!axis) return std::nullopt;
  std::vector<int64_t> dims = first.dims;
  dims[*axis] = 0;
  for (const Tensor* input : inputs) {
    if (int64_t(input->dims.size()) != rank || input->is_float() != first.is_float()) {
      return std::nullopt;
    }
    for (int64_t d = 0; d < rank; ++d) {
      if (d != *axis && input->dims[d] != first.dims[d]) return std::nullopt;
    }
    dims[*axis] += input->dims[*axis];
  }
  auto count = FoldCount(dims);
  if (!count) return std::nullopt;
  int64_t outer = 1;
  for (int64_t d = 0; d < *axis; ++d) outer *= dims[d];
  int64_t inner = 1;
  for (int64_t d = *axis + 1; d < rank; ++d) inner *= dims[d];
  Tensor out = Zeros(first.elem_type, dims, *count);
  int64_t target = 0;
  for (int64_t o = 0; o < outer; ++o) {
    for (const Tensor* input : inputs) {
      const int64_t block = input->dims[*axis] * inner;
      for (int64_t i = 0; i < block; ++i) CopyElement(*input, o * block + i, out, target++);
    }
  }
  return One(std::move(out));
}

Folded FoldSlice(const Tensor& data, const std::vector<int64_t>& starts,
                 const std::vector<int64_t>& ends, std::optional<std::vector<int64_t>> axes,
                 std::optional<std::vector<int64_t>> steps) {
  const int64_t rank = int64_t(data.dims.size());
  if (starts.size() != ends.size()) return std::nullopt;
  if (!axes) {
    axes.emplace();
    for (std::size_t i = 0; i < starts.size(); ++i) axes->push_back(int64_t(i));
  }
  if (!steps) steps = std::vector<int64_t>(starts.size(), 1);
  if (axes->size() != starts.size() || steps->size() != starts.size()) return std::nullopt;
  std::vector<int64_t> begin(rank, 0), step(rank, 1), dims = data.dims;
  for (std::size_t i = 0; i < starts.size(); ++i) {
    auto axis = NormalizeAxis((*axes)[i], rank);
    if (!axis || (*steps)[i] == 0) return std::nullopt;
    const int64_t dim = data.dims[*axis];
    int64_t s = starts[i], e = ends[i];
    const int64_t t = (*steps)[i];
    if (s < 0) s = s < -dim ? -1 : s + dim;  // keeps s within [-1, dim] before clamping
    if (e < 0) e = e < -dim ? -1 : e + dim;
    if (t > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
    } else {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
    }
    int64_t length = 0;
    if (t > 0 && e > s) length = (e - s + t - 1) / t;
    if (t < 0 && s > e) length = (s - e + (-t) - 1) / (-t);
    begin[*axis] = s;
    step[*axis] = t;
    dims[*axis] = length;
  }
  auto count = FoldCount(dims);
  if (!count) return std::nullopt;
  const auto in_strides = Strides(data.dims);
  const auto out_strides = Strides(dims);
  Tensor out = Zeros(data.elem_type, dims, *count);
  for (int64_t flat = 0; flat < *count; ++flat) {
    int64_t remainder = flat, source = 0;
    for (int64_t d = 0; d < rank; ++d) {
      const int64_t coordinate = remainder / out_strides[d];
      remainder -= coordinate * out_strides[d];
      source += (begin[d] + coordinate * step[d]) * in_strides[d];
    }
    CopyElement(data, source, out, flat);
  }
  return One(std::move(out));
}

Folded FoldReshape(const Tensor& data, const std::vector<int64_t>& shape, bool allow_zero) {
  std::vector<int64_t> dims = shape;
  int64_t infer_at = -1;
  int64_t known = 1;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == 0 && !allow_zero) {
      if (i >= data.dims.size()) return std::nullopt;
      dims[i] = data.dims[i];
    }
    if (dims[i] == -1) {
      if (infer_at >= 0) return std::nullopt;
      infer_at = int64_t(i);
      continue;
    }
    if (dims[i] < 0) return std::nullopt;
    auto next = CheckedMul(known, dims[i]);
    if (!next) return std::nullopt;
    known = *next;
  }
  const int64_t count = data.size();
  if (infer_at >= 0) {
    if (known == 0 || count % known != 0) return std::nullopt;
    dims[infer_at] = count / known;
  } else if (known != count) {
    return std::nullopt;
  }
  Tensor out = data;
  out.dims = std::move(dims);
  return One(std::move(out));
}

Folded FoldSplit(const onnx::NodeProto& node, int opset, const Tensor& data,
                 const std::map<std::string, Tensor>& constants) {
  const int64_t rank = int64_t(data.dims.size());
  auto axis = NormalizeAxis(IntAttribute(node, "axis", 0), rank);
  if (!axis) return std::nullopt;
  const int outputs = node.output_size();
  std::optional<std::vector<int64_t>> split;
  if (opset < 13) {
    split = IntsAttribute(node, "split");
  } else if (!InputName(node, 1).empty()) {
    split = IntList(Input(node, 1, constants));
    if (!split) return std::nullopt;
  }
  const int64_t dim = data.dims[*axis];
  if (!split || split->empty()) {
    if (outputs <= 0) return std::nullopt;
    const int64_t chunk = (dim + outputs - 1) / outputs;
    split.emplace();
    for (int i = 0; i < outputs; ++i) {
      split->push_back(std::max<int64_t>(0, std::min(chunk, dim - chunk * i)));
    }
  }
  if (int64_t(split->size()) != outputs) return std::nullopt;
  int64_t sum = 0;
  for (int64_t part : *split) {
    if (part < 0) return std::nullopt;
    sum += part;
  }
  if (sum != dim) return std::nullopt;
  std::vector<Tensor> results;
  int64_t offset = 0;
  for (int64_t part : *split) {
    auto piece = FoldSlice(data, {offset}, {offset + part}, std::vector<int64_t>{*axis}, std::nullopt);
    if (!piece) return std::nullopt;
    results.push_back(std::move((*piece)[0]));
    offset += part;
  }
  return results;
}

std::optional<Tensor> FoldConstantNode(const onnx::NodeProto& node) {
  for (const auto& attribute : node.attribute()) {
    const std::string& name = attribute.name();
    if (name == "value" && attribute.has_t()) return ConstFromProto(attribute.t());
    Tensor out;
    if (name == "value_float") {
      out.elem_type = onnx::TensorProto::FLOAT;
      out.floats = {attribute.f()};
      return out;
    }
    if (name == "value_floats") {
      out.elem_type = onnx::TensorProto::FLOAT;
      if (attribute.floats_size() > kMaxFoldElements) return std::nullopt;
      out.floats.assign(attribute.floats().begin(), attribute.floats().end());
      out.dims = {int64_t(out.floats.size())};
      return out;
    }
    if (name == "value_int") {
      out.ints = {attribute.i()};
      return out;
    }
    if (name == "value_ints") {
      if (attribute.ints_size() > kMaxFoldElements) return std::nullopt;
      out.ints.assign(attribute.ints().begin(), attribute.ints().end());
      out.dims = {int64_t(out.ints.size())};
      return out;
    }
  }
  return std::nullopt;
}

Folded FoldConstantOfShape(const onnx::NodeProto& node, const Tensor& shape) {
  if (shape.is_float()) return std::nullopt;
  auto count = FoldCount(shape.ints);
  if (!count) return std::nullopt;
  Tensor fill;
  fill.elem_type = onnx::TensorProto::FLOAT;
  fill.floats = {0.0};
  if (const auto* value = FindAttribute(node, "value"); value && value->has_t()) {
    auto parsed = ConstFromProto(value->t());
    if (!parsed || parsed->size() != 1) return std::nullopt;
    fill = *parsed;
  }
  Tensor out = Zeros(fill.elem_type, shape.ints, *count);
  for (int64_t i = 0; i < *count; ++i) CopyElement(fill, 0, out, i);
  return One(std::move(out));
}

Folded FoldRange(const Tensor& start, const Tensor& limit, const Tensor& delta) {
  if (start.size() != 1 || limit.size() != 1 || delta.size() != 1 ||
      start.is_float() != delta.is_float()) {
    return std::nullopt;
  }
  const double s = start.AsDouble(0), l = limit.AsDouble(0), d = delta.AsDouble(0);
  if (d == 0 || !std::isfinite(s) || !std::isfinite(l) || !std::isfinite(d)) return std::nullopt;
  const double steps = std::ceil((l - s) / d);
  const int64_t count = steps > 0 ? int64_t(std::min<double>(steps, kMaxFoldElements + 1)) : 0;
  if (count > kMaxFoldElements) return std::nullopt;
  Tensor out = Zeros(start.elem_type, {count}, count);
  for (int64_t i = 0; i < count; ++i) {
    if (out.is_float()) {
      out.floats[i] = s + double(i) * d;
    } else {
      out.ints[i] = WrapAdd(start.ints[0], WrapMul(i, delta.ints[0]));
    }
  }
  return One(std::move(out));
}

Folded FoldExpand(const Tensor& data, const std::vector<int64_t>& shape) {
  auto dims = BroadcastDims(data.dims, shape);
  if (!dims) return std::nullopt;
  auto count = FoldCount(*dims);
  if (!count) return std::nullopt;
  const auto index = BroadcastIndex(*dims, data.dims, *count);
  Tensor out = Zeros(data.elem_type, *dims, *count);
  for (int64_t i = 0; i < *count; ++i) CopyElement(data, index[i], out, i);
  return One(std::move(out));
}

Folded FoldTranspose(const onnx::NodeProto& node, const Tensor& data) {
  const int64_t rank = int64_t(data.dims.size());
  std::vector<int64_t> perm;
  if (auto attribute = IntsAttribute(node, "perm"); attribute && !attribute->empty()) {
    perm = *attribute;
  } else {
    for (int64_t d = rank - 1; d >= 0; --d) perm.push_back(d);
  }
  if (int64_t(perm.size()) != rank) return std::nullopt;
  std::vector<int64_t> dims(rank);
  std::vector<bool> seen(rank, false);
  for (int64_t d = 0; d < rank; ++d) {
    if (perm[d] < 0 || perm[d] >= rank || seen[perm[d]]) return std::nullopt;
    seen[perm[d]] = true;
    dims[d] = data.dims[perm[d]];
  }
  const auto in_strides = Strides(data.dims);
  const auto out_strides = Strides(dims);
  const int64_t count = data.size();
  Tensor out = Zeros(data.elem_type, dims, count);
  for (int64_t flat = 0; flat < count; ++flat) {
    int64_t remainder = flat, source = 0;
    for (int64_t d = 0; d < rank; ++d) {
      const int64_t coordinate = remainder / out_strides[d];
      remainder -= coordinate * out_strides[d];
      source += coordinate * in_strides[perm[d]];
    }
    CopyElement(data, source, out, flat);
  }
  return One(std::move(out));
}

Folded FoldReduce(const std::string& op, const onnx::NodeProto& node, int opset,
                  const Tensor& data, const std::map<std::string, Tensor>& constants) {
  const int64_t rank = int64_t(data.dims.size());
  std::optional<std::vector<int64_t>> axes = IntsAttribute(node, "axes");
  const bool axes_as_input = (op == "ReduceSum" && opset >= 13) || opset >= 18;
  if (axes_as_input && !InputName(node, 1).empty()) {
    axes = IntList(Input(node, 1, constants));
    if (!axes) return std::nullopt;
  }
  const bool keep_dims = IntAttribute(node, "keepdims", 1) != 0;
  std::vector<bool> reduce(rank, false);
  if (!axes || axes->empty()) {
    if (IntAttribute(node, "noop_with_empty_axes", 0) != 0) return One(data);
    std::fill(reduce.begin(), reduce.end(), true);
  } else {
    for (int64_t axis : *axes) {
      auto normalized = NormalizeAxis(axis, rank);
      if (!normalized) return std::nullopt;
      reduce[*normalized] = true;
    }
  }
  std::vector<int64_t> out_dims_kept(rank), out_dims;
  for (int64_t d = 0; d < rank; ++d) {
    out_dims_kept[d] = reduce[d] ? 1 : data.dims[d];
    if (!reduce[d] || keep_dims) out_dims.push_back(out_dims_kept[d]);
  }
  auto count = ProductOfDims(out_dims_kept);
  if (!count) return std::nullopt;
  std::vector<double> accumulator(*count, op == "ReduceProd" ? 1.0 : 0.0);
  std::vector<bool> first(*count, true);
  const auto in_strides = Strides(data.dims);
  const auto out_strides = Strides(out_dims_kept);
  for (int64_t flat = 0; flat < data.size(); ++flat) {
    int64_t remainder = flat, target = 0;
    for (int64_t d = 0; d < rank; ++d) {
      const int64_t coordinate = remainder / in_strides[d];
      remainder -= coordinate * in_strides[d];
      if (!reduce[d]) target += coordinate * out_strides[d];
    }
    const double v = data.AsDouble(flat);
    double& acc = accumulator[target];
    if (op == "ReduceProd") acc *= v;
    else if (op == "ReduceSum") acc += v;
    else if (op == "ReduceMax") acc = first[target] ? v : std::max(acc, v);
    else if (op == "ReduceMin") acc = first[target] ? v : std::min(acc, v);
    else return std::nullopt;
    first[target] = false;
  }
  Tensor out = Zeros(data.elem_type, out_dims, *count);
  for (int64_t i = 0; i < *count; ++i) {
    if (out.is_float()) {
      out.floats[i] = accumulator[i];
    } else {
      if (!(std::fabs(accumulator[i]) < 9.0e18)) return std::nullopt;
      out.ints[i] = int64_t(accumulator[i]);
    }
  }
  return One(std::move(out));
}

Folded FoldChecked(const onnx::NodeProto& node, int opset,
                   const std::map<std::string, Tensor>& constants,
                   const std::map<std::string, KnownShape>& shapes) {
  if (!IsDefaultDomain(node.domain())) return std::nullopt;
  const std::string& op = node.op_type();
  if (op == "Constant") {
    auto value = FoldConstantNode(node);
    if (!value) return std::nullopt;
    return One(std::move(*value));
  }
  if (op == "Shape") return FoldShape(node, shapes);
  if (op == "Size") return FoldSize(node, shapes);

  const Tensor* x = Input(node, 0, constants);
  if (!x) return std::nullopt;
  if (op == "Identity" || op == "Neg" || op == "Abs" || op == "Floor" || op == "Ceil" ||
      op == "Round" || op == "Sqrt" || op == "Reciprocal" || op == "Relu" || op == "Sign" ||
      op == "Not") {
    return FoldUnary(op, *x);
  }
  if (op == "Cast") {
    const int64_t to = IntAttribute(node, "to", 0);
    if (!IsSupportedNumericType(int32_t(to))) return std::nullopt;
    return One(CastTo(*x, int32_t(to)));
  }
  if (op == "Gather") {
    const Tensor* indices = Input(node, 1, constants);
    if (!indices) return std::nullopt;
    return FoldGather(*x, *indices, IntAttribute(node, "axis", 0));
  }
  if (op == "Unsqueeze") {
    std::optional<std::vector<int64_t>> axes =
        opset < 13 ? IntsAttribute(node, "axes") : IntList(Input(node, 1, constants));
    if (!axes) return std::nullopt;
    return FoldUnsqueeze(*x, *axes);
  }
  if (op == "Squeeze") {
    std::optional<std::vector<int64_t>> axes;
    if (opset < 13) {
      axes = IntsAttribute(node, "axes");
    } else if (!InputName(node, 1).empty()) {
      axes = IntList(Input(node, 1, constants));
      if (!axes) return std::nullopt;
    }
    return FoldSqueeze(*x, axes);
  }
  if (op == "Concat") {
    std::vector<const Tensor*> inputs;
    for (int i = 0; i < node.input_size(); ++i) {
      const Tensor* input = Input(node, i, constants);
      if (!input) return std::nullopt;
      inputs.push_back(input);
    }
    return FoldConcat(inputs, IntAttribute(node, "axis", 0));
  }
  if (op == "Slice") {
    if (opset < 10) {
      auto starts = IntsAttribute(node, "starts");
      auto ends = IntsAttribute(node, "ends");
      if (!starts || !ends) return std::nullopt;
      return FoldSlice(*x, *starts, *ends, IntsAttribute(node, "axes"), std::nullopt);
    }
    auto starts = IntList(Input(node, 1, constants));
    auto ends = IntList(Input(node, 2, constants));
    if (!starts || !ends) return std::nullopt;
    std::optional<std::vector<int64_t>> axes, steps;
    if (!InputName(node, 3).empty()) {
      axes = IntList(Input(node, 3, constants));
      if (!axes) return std::nullopt;
    }
    if (!InputName(node, 4).empty()) {
      steps = IntList(Input(node, 4, constants));
      if (!steps) return std::nullopt;
    }
    return FoldSlice(*x, *starts, *ends, axes, steps);
  }
  if (op == "Reshape") {
    std::optional<std::vector<int64_t>> shape =
        opset < 5 ? IntsAttribute(node, "shape") : IntList(Input(node, 1, constants));
    if (!shape) return std::nullopt;
    return FoldReshape(*x, *shape, IntAttribute(node, "allowzero", 0) != 0);
  }
  if (op == "Flatten") {
    const int64_t rank = int64_t(x->dims.size());
    int64_t axis = IntAttribute(node, "axis", 1);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis > rank) return std::nullopt;
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x->dims[d];
    return FoldReshape(*x, {outer, -1}, false);
  }
  if (op == "Split") return FoldSplit(node, opset, *x, constants);
  if (op == "Transpose") return FoldTranspose(node, *x);
  if (op == "ConstantOfShape") return FoldConstantOfShape(node, *x);
  if (op == "Expand") {
    auto shape = IntList(Input(node, 1, constants));
    if (!shape) return std::nullopt;
    return FoldExpand(*x, *shape);
  }
  if (op == "Range") {
    const Tensor* limit = Input(node, 1, constants);
    const Tensor* delta = Input(node, 2, constants);
    if (!limit || !delta) return std::nullopt;
    return FoldRange(*x, *limit, *delta);
  }
  if (op == "Where") {
    const Tensor* a = Input(node, 1, constants);
    const Tensor* b = Input(node, 2, constants);
    if (!a || !b) return std::nullopt;
    return FoldWhere(*x, *a, *b);
  }
  if (op == "ReduceProd" || op == "ReduceSum" || op == "ReduceMax" || op == "ReduceMin") {
    return FoldReduce(op, node, opset, *x, constants);
  }
  return FoldArithmetic(op, node, constants);
}

}  // namespace

bool IsFloatType(int32_t elem_type) {
  return elem_type == onnx::TensorProto::FLOAT || elem_type == onnx::TensorProto::DOUBLE ||
         elem_type == onnx::TensorProto::FLOAT16 || elem_type == onnx::TensorProto::BFLOAT16;
}

bool ConstTensor::is_float() const { return IsFloatType(elem_type); }

int64_t ConstTensor::AsInt(int64_t i) const {
  if (!is_float()) return ints[i];
  const double value = std::trunc(floats[i]);
  if (std::isnan(value)) return 0;
  if (value >= 9.2e18) return INT64_MAX;
  if (value <= -9.2e18) return INT64_MIN;
  return int64_t(value);
}

bool KnownShape::IsConcrete() const {
  if (!rank_known) return false;
  return std::all_of(dims.begin(), dims.end(), [](int64_t d) { return d >= 0; });
}

std::optional<ConstTensor> ConstFromProto(const onnx::TensorProto& tensor) {
  if (tensor.data_location() == onnx::TensorProto::EXTERNAL) return std::nullopt;
  const int32_t type = tensor.data_type();
  if (!IsSupportedNumericType(type)) return std::nullopt;
  std::vector<int64_t> dims(tensor.dims().begin(), tensor.dims().end());
  auto count = FoldCount(dims);
  if (!count) return std::nullopt;
  Tensor out = Zeros(type, dims, *count);
  const int64_t size = ElementSize(type);
  if (tensor.has_raw_data()) {
    const std::string& raw = tensor.raw_data();
    if (int64_t(raw.size()) != *count * size) return std::nullopt;
    for (int64_t i = 0; i < *count; ++i) {
      const char* p = raw.data() + i * size;
      switch (type) {
        case onnx::TensorProto::FLOAT: { float v; std::memcpy(&v, p, 4); out.floats[i] = v; break; }
        case onnx::TensorProto::DOUBLE: { double v; std::memcpy(&v, p, 8); out.floats[i] = v; break; }
        case onnx::TensorProto::FLOAT16: { uint16_t v; std::memcpy(&v, p, 2); out.floats[i] = HalfToFloat(v); break; }
        case onnx::TensorProto::BFLOAT16: { uint16_t v; std::memcpy(&v, p, 2); out.floats[i] = BFloat16ToFloat(v); break; }
        case onnx::TensorProto::INT8: out.ints[i] = int8_t(p[0]); break;
        case onnx::TensorProto::UINT8: out.ints[i] = uint8_t(p[0]); break;
        case onnx::TensorProto::BOOL: out.ints[i] = p[0] != 0; break;
        case onnx::TensorProto::INT16: { int16_t v; std::memcpy(&v, p, 2); out.ints[i] = v; break; }
        case onnx::TensorProto::UINT16: { uint16_t v; std::memcpy(&v, p, 2); out.ints[i] = v; break; }
        case onnx::TensorProto::INT32: { int32_t v; std::memcpy(&v, p, 4); out.ints[i] = v; break; }
        case onnx::TensorProto::UINT32: { uint32_t v; std::memcpy(&v, p, 4); out.ints[i] = v; break; }
        case onnx::TensorProto::INT64:
        case onnx::TensorProto::UINT64: { int64_t v; std::memcpy(&v, p, 8); out.ints[i] = v; break; }
        default: return std::nullopt;
      }
    }
    return out;
  }
  switch (type) {
    case onnx::TensorProto::FLOAT:
      if (tensor.float_data_size() != *count) return std::nullopt;
      for (int64_t i = 0; i < *count; ++i) out.floats[i] = tensor.float_data(int(i));
      return out;
    case onnx::TensorProto::DOUBLE:
      if (tensor.double_data_size() != *count) return std::nullopt;
      for (int64_t i = 0; i < *count; ++i) out.floats[i] = tensor.double_data(int(i));
      return out;
    case onnx::TensorProto::INT64:
      if (tensor.int64_data_size() != *count) return std::nullopt;
      for (int64_t i = 0; i < *count; ++i) out.ints[i] = tensor.int64_data(int(i));
      return out;
    case onnx::TensorProto::UINT32:
    case onnx::TensorProto::UINT64:
      if (tensor.uint64_data_size() != *count) return std::nullopt;
      for (int64_t i = 0; i < *count; ++i) out.ints[i] = int64_t(tensor.uint64_data(int(i)));
      return out;
    default:  // the types stored in int32_data
      if (tensor.int32_data_size() != *count) return std::nullopt;
      for (int64_t i = 0; i < *count; ++i) {
        const int32_t v = tensor.int32_data(int(i));
        if (type == onnx::TensorProto::FLOAT16) {
          out.floats[i] = HalfToFloat(uint16_t(v));
        } else if (type == onnx::TensorProto::BFLOAT16) {
          out.floats[i] = BFloat16ToFloat(uint16_t(v));
        } else {
          out.ints[i] = WrapInteger(v, type);
        }
      }
      return out;
  }
}

onnx::TensorProto ConstToProto(const ConstTensor& value, const std::string& name) {
  onnx::TensorProto tensor;
  tensor.set_name(name);
  tensor.set_data_type(value.elem_type);
  for (int64_t dim : value.dims) tensor.add_dims(dim);
  const int64_t count = value.size();
  for (int64_t i = 0; i < count; ++i) {
    switch (value.elem_type) {
      case onnx::TensorProto::FLOAT: tensor.add_float_data(float(value.floats[i])); break;
      case onnx::TensorProto::DOUBLE: tensor.add_double_data(value.floats[i]); break;
      case onnx::TensorProto::FLOAT16: tensor.add_int32_data(FloatToHalf(float(value.floats[i]))); break;
      case onnx::TensorProto::BFLOAT16: tensor.add_int32_data(FloatToBFloat16(float(value.floats[i]))); break;
      case onnx::TensorProto::INT64: tensor.add_int64_data(value.ints[i]); break;
      case onnx::TensorProto::UINT32:
      case onnx::TensorProto::UINT64: tensor.add_uint64_data(uint64_t(value.ints[i])); break;
      default: tensor.add_int32_data(int32_t(value.ints[i])); break;
    }
  }
  return tensor;
}

std::optional<std::vector<ConstTensor>> FoldNode(const onnx::NodeProto& node, int opset,
                                                 const std::map<std::string, ConstTensor>& constants,
                                                 const std::map<std::string, KnownShape>& shapes) {
  try {
    auto outputs = FoldChecked(node, opset, constants, shapes);
    if (!outputs) return std::nullopt;
    // A node may declare fewer outputs than the op can produce (optional outputs).
    if (int(outputs->size()) < node.output_size()) return std::nullopt;
    outputs->resize(node.output_size());
    for (const auto& output : *outputs) {
      if (output.size() > kMaxFoldElements) return std::nullopt;
      auto count = ProductOfDims(output.dims);
      if (!count || *count != output.size()) return std::nullopt;
    }
    return outputs;
  } catch (const std::exception&) {  // allocation failure: give up on this node
    return std::nullopt;
  }
}

}  // namespace edgebench::inspect
