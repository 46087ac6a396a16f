#include "edgebench/tensor.h"

#include <unistd.h>

#include <charconv>
#include <cstring>
#include <fstream>
#include <random>
#include <set>

namespace edgebench {

std::string_view DataTypeName(DataType type) {
  switch (type) {
    case DataType::kFloat32: return "float32";
    case DataType::kFloat16: return "float16";
    case DataType::kFloat64: return "float64";
    case DataType::kInt8: return "int8";
    case DataType::kUInt8: return "uint8";
    case DataType::kInt16: return "int16";
    case DataType::kInt32: return "int32";
    case DataType::kInt64: return "int64";
    case DataType::kBool: return "bool";
  }
  return "float32";
}

std::size_t DataTypeSize(DataType type) {
  switch (type) {
    case DataType::kFloat32: return 4;
    case DataType::kFloat16: return 2;
    case DataType::kFloat64: return 8;
    case DataType::kInt8: return 1;
    case DataType::kUInt8: return 1;
    case DataType::kInt16: return 2;
    case DataType::kInt32: return 4;
    case DataType::kInt64: return 8;
    case DataType::kBool: return 1;
  }
  return 1;
}

bool TensorSpec::IsConcrete() const {
  if (!rank_known) return false;
  for (int64_t dim : shape) {
    if (dim < 0) return false;
  }
  return true;
}

Expected<int64_t> ElementCount(const std::vector<int64_t>& shape) {
  constexpr int64_t kMaxElements = int64_t{1} << 40;
  int64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0) return InvalidArgument("shape " + FormatShape(shape) + " has a dynamic dimension");
    if (dim != 0 && count > kMaxElements / dim) {
      return InvalidArgument("shape " + FormatShape(shape) + " has more than 2^40 elements");
    }
    count *= dim;
  }
  return count;
}

Expected<std::size_t> InputByteSize(const TensorSpec& spec) {
  auto count = ElementCount(spec.shape);
  if (!count.ok()) return InvalidArgument("input '" + spec.name + "': " + count.error().message);
  const uint64_t bytes = uint64_t(*count) * DataTypeSize(spec.type);  // < 2^44: no overflow
  static const uint64_t memory = uint64_t(sysconf(_SC_PHYS_PAGES)) * uint64_t(sysconf(_SC_PAGE_SIZE));
  if (bytes > memory) {
    return InvalidArgument("input '" + spec.name + "' (" + FormatShape(spec.shape) + " " +
                           std::string(DataTypeName(spec.type)) + ") needs " + std::to_string(bytes) +
                           " bytes, more than this machine's " + std::to_string(memory) + " bytes of memory");
  }
  return std::size_t(bytes);
}

std::string FormatShape(const std::vector<int64_t>& shape) {
  if (shape.empty()) return "scalar";
  std::string text;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) text += 'x';
    text += shape[i] < 0 ? "?" : std::to_string(shape[i]);
  }
  return text;
}

Expected<std::pair<std::string, std::vector<int64_t>>> ParseShapeArgument(const std::string& arg) {
  const auto equals = arg.rfind('=');
  if (equals == std::string::npos || equals == 0 || equals + 1 == arg.size()) {
    return InvalidArgument("bad shape '" + arg + "': expected NAME=DIMS, e.g. input=1x3x224x224");
  }
  std::string name = arg.substr(0, equals);
  std::vector<int64_t> dims;
  std::string_view rest(arg.data() + equals + 1, arg.size() - equals - 1);
  while (true) {
    const auto x = rest.find('x');
    std::string_view token = rest.substr(0, x);
    int64_t dim = 0;
    auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), dim);
    if (token.empty() || ec != std::errc() || ptr != token.data() + token.size() || dim <= 0) {
      return InvalidArgument("bad shape '" + arg + "': dimension '" + std::string(token) +
                             "' is not a positive integer");
    }
    dims.push_back(dim);
    if (x == std::string_view::npos) break;
    rest.remove_prefix(x + 1);
  }
  auto count = ElementCount(dims);
  if (!count.ok()) return InvalidArgument("bad shape '" + arg + "': too many elements");
  return std::make_pair(std::move(name), std::move(dims));
}

Expected<std::vector<TensorSpec>> ResolveInputShapes(const std::vector<TensorSpec>& model_inputs,
                                                     const ShapeOverrides& overrides) {
  std::set<std::string> names;
  for (const auto& spec : model_inputs) names.insert(spec.name);
  for (const auto& [name, dims] : overrides) {
    if (!names.count(name)) {
      std::string known;
      for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
      return InvalidArgument("--shape names input '" + name + "', but the model's inputs are: " +
                             (known.empty() ? "(none)" : known));
    }
  }
  std::vector<TensorSpec> resolved;
  for (TensorSpec spec : model_inputs) {
    auto it = overrides.find(spec.name);
    if (it != overrides.end()) {
      const auto& dims = it->second;
      if (spec.rank_known && dims.size() != spec.shape.size()) {
        return InvalidArgument("--shape " + spec.name + "=" + FormatShape(dims) + " has rank " +
                               std::to_string(dims.size()) + ", but the model's input is " +
                               FormatShape(spec.shape));
      }
      if (spec.rank_known) {
        for (std::size_t i = 0; i < dims.size(); ++i) {
          if (spec.shape[i] >= 0 && spec.shape[i] != dims[i]) {
            return InvalidArgument("--shape " + spec.name + "=" + FormatShape(dims) +
                                   " contradicts the model's fixed shape " +
                                   FormatShape(spec.shape));
          }
        }
      }
      spec.shape = dims;
      spec.rank_known = true;
    }
    if (!spec.IsConcrete()) {
      return InvalidArgument("input '" + spec.name + "' has " +
                             (spec.rank_known ? "dynamic shape " + FormatShape(spec.shape)
                                              : std::string("no recorded shape")) +
                             ": give it with --shape " + spec.name + "=DIMS (e.g. 1x3x224x224)");
    }
    resolved.push_back(std::move(spec));
  }
  return resolved;
}

Status CheckInputsMatchSpecs(const std::vector<Tensor>& inputs, const std::vector<TensorSpec>& specs,
                             const std::string& model_path) {
  if (inputs.size() != specs.size()) {
    return InvalidArgument(model_path + ": expected " + std::to_string(specs.size()) +
                           " inputs, got " + std::to_string(inputs.size()));
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const TensorSpec& expected = specs[i];
    const TensorSpec& given = inputs[i].spec;
    if (given.name != expected.name || given.type != expected.type) {
      return InvalidArgument(model_path + ": input " + std::to_string(i) + " must be '" +
                             expected.name + "' of type " + std::string(DataTypeName(expected.type)) +
                             ", got '" + given.name + "' of type " +
                             std::string(DataTypeName(given.type)));
    }
    bool fits = !expected.rank_known || given.shape.size() == expected.shape.size();
    for (std::size_t d = 0; fits && expected.rank_known && d < given.shape.size(); ++d) {
      fits = expected.shape[d] == kDynamicDim || expected.shape[d] == given.shape[d];
    }
    if (!fits) {
      return InvalidArgument(model_path + ": input '" + given.name + "' has shape " +
                             FormatShape(given.shape) + ", the model expects " +
                             FormatShape(expected.shape));
    }
    auto count = ElementCount(given.shape);
    if (!count.ok()) return InvalidArgument(model_path + ": input '" + given.name + "': " + count.error().message);
    if (inputs[i].data.size() != static_cast<std::size_t>(*count) * DataTypeSize(given.type)) {
      return InvalidArgument(model_path + ": input '" + given.name + "': " +
                             std::to_string(inputs[i].data.size()) + " bytes do not match shape " +
                             FormatShape(given.shape));
    }
  }
  return OkStatus();
}

namespace {

// IEEE half from float, round to nearest even; inputs here are in [0, 1).
uint16_t FloatToHalf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  const uint32_t sign = (bits >> 16) & 0x8000u;
  int32_t exponent = static_cast<int32_t>((bits >> 23) & 0xff) - 127 + 15;
  uint32_t mantissa = bits & 0x7fffffu;
  if (exponent <= 0) return static_cast<uint16_t>(sign);  // flush tiny values to zero
  if (exponent >= 31) return static_cast<uint16_t>(sign | 0x7c00u);
  uint32_t half = sign | (static_cast<uint32_t>(exponent) << 10) | (mantissa >> 13);
  const uint32_t rest = mantissa & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;
  return static_cast<uint16_t>(half);
}

template <typename T>
void Store(std::byte* out, T value) {
  std::memcpy(out, &value, sizeof value);
}

}  // namespace

Expected<Tensor> MakeRandomTensor(const TensorSpec& spec, uint64_t seed) {
  auto bytes = InputByteSize(spec);
  if (!bytes.ok()) return bytes.error();
  Tensor tensor{spec, std::vector<std::byte>(*bytes)};
  const int64_t count = int64_t(*bytes / DataTypeSize(spec.type));
  // mt19937_64 output is specified by the standard; the conversions below avoid the
  // implementation-defined std distributions, so bytes match across platforms.
  std::mt19937_64 engine(seed);
  std::byte* out = tensor.data.data();
  const std::size_t size = DataTypeSize(spec.type);
  for (int64_t i = 0; i < count; ++i, out += size) {
    const uint64_t r = engine();
    const double unit = static_cast<double>(r >> 11) * 0x1.0p-53;  // [0, 1)
    switch (spec.type) {
      case DataType::kFloat32: Store(out, static_cast<float>(unit)); break;
      case DataType::kFloat64: Store(out, unit); break;
      case DataType::kFloat16: Store(out, FloatToHalf(static_cast<float>(unit))); break;
      case DataType::kInt8: Store(out, static_cast<int8_t>(r % 10)); break;
      case DataType::kUInt8: Store(out, static_cast<uint8_t>(r % 10)); break;
      case DataType::kInt16: Store(out, static_cast<int16_t>(r % 10)); break;
      case DataType::kInt32: Store(out, static_cast<int32_t>(r % 10)); break;
      case DataType::kInt64: Store(out, static_cast<int64_t>(r % 10)); break;
      case DataType::kBool: Store(out, static_cast<uint8_t>(i % 2)); break;
    }
  }
  return tensor;
}

Expected<Tensor> LoadTensorFile(const TensorSpec& spec, const std::string& path) {
  auto bytes = InputByteSize(spec);
  if (!bytes.ok()) return bytes.error();
  const std::size_t expected = *bytes;
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return NotFound(path + ": cannot open input file");
  const auto size = static_cast<std::size_t>(in.tellg());
  if (size != expected) {
    return InvalidArgument(path + ": input '" + spec.name + "' needs " + std::to_string(expected) +
                           " bytes (" + FormatShape(spec.shape) + " " +
                           std::string(DataTypeName(spec.type)) + "), the file has " +
                           std::to_string(size));
  }
  Tensor tensor{spec, std::vector<std::byte>(expected)};
  in.seekg(0);
  in.read(reinterpret_cast<char*>(tensor.data.data()), static_cast<std::streamsize>(expected));
  if (!in) return NotFound(path + ": read failed");
  return tensor;
}

Status SaveTensorFile(const Tensor& tensor, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return InvalidArgument(path + ": cannot create the tensor file");
  out.write(reinterpret_cast<const char*>(tensor.data.data()), static_cast<std::streamsize>(tensor.data.size()));
  if (!out.flush()) return RuntimeError(path + ": write failed (disk full?)");
  return OkStatus();
}

}  // namespace edgebench
