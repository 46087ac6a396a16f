#include "edgebench/tensor_layout.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>
#include <string>

namespace edgebench {

std::vector<int64_t> PermuteShape(const std::vector<int64_t>& shape, const Permutation& perm) {
  if (perm.size() != shape.size()) {
    throw std::invalid_argument("a permutation of " + std::to_string(perm.size()) + " dims applied to a shape of " +
                                std::to_string(shape.size()));
  }
  std::vector<int64_t> result(perm.size());
  for (std::size_t i = 0; i < perm.size(); ++i) {
    if (perm[i] < 0 || std::size_t(perm[i]) >= shape.size()) {
      throw std::invalid_argument("a permutation naming dim " + std::to_string(perm[i]) + " of a shape of " +
                                  std::to_string(shape.size()));
    }
    result[i] = shape[std::size_t(perm[i])];
  }
  return result;
}

Permutation InversePermutation(const Permutation& perm) {
  Permutation inverse(perm.size());
  for (std::size_t i = 0; i < perm.size(); ++i) inverse[std::size_t(perm[i])] = int(i);
  return inverse;
}

Permutation ComposePermutations(const Permutation& first, const Permutation& second) {
  // After `first`, dim j holds input dim first[j]; `second` puts dim second[i] at i.
  Permutation result(second.size());
  for (std::size_t i = 0; i < second.size(); ++i) result[i] = first[std::size_t(second[i])];
  return result;
}

bool IsIdentity(const Permutation& perm) {
  for (std::size_t i = 0; i < perm.size(); ++i) {
    if (perm[i] != int(i)) return false;
  }
  return true;
}

std::string FormatPermutation(const Permutation& perm) {
  std::string text;
  for (int axis : perm) text += (text.empty() ? "" : ",") + std::to_string(axis);
  return text;
}

namespace {

bool IsPermutationOf(const Permutation& perm, std::size_t rank) {
  if (perm.size() != rank) return false;
  std::vector<bool> seen(rank, false);
  for (int axis : perm) {
    if (axis < 0 || std::size_t(axis) >= rank || seen[std::size_t(axis)]) return false;
    seen[std::size_t(axis)] = true;
  }
  return true;
}

}  // namespace

Expected<Tensor> PermuteTensor(const Tensor& tensor, const Permutation& perm) {
  const std::vector<int64_t>& shape = tensor.spec.shape;
  if (!IsPermutationOf(perm, shape.size())) {
    return InvalidArgument("permutation (" + FormatPermutation(perm) + ") does not fit tensor '" +
                           tensor.spec.name + "' of shape " + FormatShape(shape));
  }
  auto count = ElementCount(shape);
  if (!count.ok()) return count.error();
  const std::size_t element = DataTypeSize(tensor.spec.type);
  if (tensor.data.size() != std::size_t(*count) * element) {
    return InvalidArgument("tensor '" + tensor.spec.name + "': " + std::to_string(tensor.data.size()) +
                           " bytes do not match shape " + FormatShape(shape));
  }
  Tensor result{tensor.spec, std::vector<std::byte>(tensor.data.size())};
  result.spec.shape = PermuteShape(shape, perm);
  const std::size_t rank = shape.size();
  std::vector<int64_t> in_strides(rank, 1);
  for (std::size_t d = rank; d-- > 1;) in_strides[d - 1] = in_strides[d] * shape[d];
  std::vector<int64_t> strides(rank);  // stride in the input of each output dim
  for (std::size_t i = 0; i < rank; ++i) strides[i] = in_strides[std::size_t(perm[i])];
  std::vector<int64_t> index(rank, 0);
  int64_t source = 0;
  for (int64_t n = 0; n < *count; ++n) {
    std::memcpy(result.data.data() + std::size_t(n) * element, tensor.data.data() + std::size_t(source) * element,
                element);
    for (std::size_t d = rank; d-- > 0;) {  // odometer over the output index
      source += strides[d];
      if (++index[d] < result.spec.shape[d]) break;
      source -= strides[d] * result.spec.shape[d];
      index[d] = 0;
    }
  }
  return result;
}

nlohmann::json ToJson(const LayoutRecord& record) {
  auto tensors = [](const std::vector<TensorLayout>& layouts) {
    nlohmann::json list = nlohmann::json::array();
    for (const TensorLayout& t : layouts) {
      list.push_back({{"name", t.name}, {"source_shape", t.source_shape}, {"permutation", t.permutation}});
    }
    return list;
  };
  return {{kLayoutMetadataName,
           {{"source_format", record.source_format},
            {"inputs", tensors(record.inputs)},
            {"outputs", tensors(record.outputs)}}}};
}

Expected<LayoutRecord> LayoutRecordFromJson(const nlohmann::json& json) {
  const auto bad = [](const std::string& what) {
    return BadModel(std::string("layout record '") + kLayoutMetadataName + "': " + what);
  };
  if (!json.is_object() || !json.contains(kLayoutMetadataName) || !json[kLayoutMetadataName].is_object()) {
    return bad("not an object with the key '" + std::string(kLayoutMetadataName) + "'");
  }
  const nlohmann::json& body = json[kLayoutMetadataName];
  LayoutRecord record;
  if (body.contains("source_format") && body["source_format"].is_string()) {
    record.source_format = body["source_format"].get<std::string>();
  }
  for (const char* side : {"inputs", "outputs"}) {
    if (!body.contains(side) || !body[side].is_array()) return bad(std::string("no '") + side + "' list");
    for (const nlohmann::json& entry : body[side]) {
      TensorLayout layout;
      try {
        layout.name = entry.at("name").get<std::string>();
        layout.source_shape = entry.at("source_shape").get<std::vector<int64_t>>();
        layout.permutation = entry.at("permutation").get<Permutation>();
      } catch (const nlohmann::json::exception&) {
        return bad(std::string("an entry of '") + side + "' needs name, source_shape and permutation");
      }
      if (!IsPermutationOf(layout.permutation, layout.source_shape.size())) {
        return bad("'" + layout.name + "': permutation (" + FormatPermutation(layout.permutation) +
                   ") does not fit shape " + FormatShape(layout.source_shape));
      }
      (std::string_view(side) == "inputs" ? record.inputs : record.outputs).push_back(std::move(layout));
    }
  }
  return record;
}

std::string_view ImageLayoutName(ImageLayout layout) {
  return layout == ImageLayout::kNchw ? "NCHW" : "NHWC";
}

Expected<ImageLayout> ParseImageLayout(std::string_view name) {
  std::string upper(name);
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
  if (upper == "NCHW") return ImageLayout::kNchw;
  if (upper == "NHWC") return ImageLayout::kNhwc;
  return InvalidArgument("unknown layout '" + std::string(name) + "' (known: NCHW, NHWC)");
}

Permutation FromNchw(ImageLayout layout) {
  return layout == ImageLayout::kNchw ? Permutation{0, 1, 2, 3} : Permutation{0, 2, 3, 1};
}

}  // namespace edgebench
