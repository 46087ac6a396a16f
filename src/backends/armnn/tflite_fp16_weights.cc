#include "tflite_fp16_weights.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <string_view>
#include <type_traits>

#include "edgebench/float16.h"
#include "tflite_schema.h"

namespace edgebench::backends::armnn {
namespace {

using flatbuffers::Offset;

// One DEQUANTIZE to fold: the operator's position and its output tensor's new float32 data.
struct Fold {
  uint32_t operator_index;
  uint32_t output_tensor;
  std::vector<uint8_t> float32_data;
};

Expected<std::vector<Fold>> FindFolds(const tfl::Model& model, const tfl::SubGraph& subgraph) {
  const auto* tensors = subgraph.tensors();
  const auto* operators = subgraph.operators();
  const auto* codes = model.operator_codes();
  const auto* buffers = model.buffers();
  std::vector<Fold> folds;
  for (uint32_t o = 0; operators && o < operators->size(); ++o) {
    const tfl::Operator& op = *operators->Get(o);
    if (!codes || op.opcode_index() >= codes->size()) return BadModel("opcode index out of range");
    if (tfl::BuiltinCode(*codes->Get(op.opcode_index())) != tfl::BuiltinOperator_DEQUANTIZE) continue;
    if (!op.inputs() || !op.outputs() || op.inputs()->size() != 1 || op.outputs()->size() != 1) continue;
    const int32_t input = op.inputs()->Get(0);
    const int32_t output = op.outputs()->Get(0);
    if (!tensors || input < 0 || output < 0 || uint32_t(input) >= tensors->size() ||
        uint32_t(output) >= tensors->size()) {
      return BadModel("tensor index out of range");
    }
    const auto* graph_outputs = subgraph.outputs();
    if (graph_outputs && std::find(graph_outputs->begin(), graph_outputs->end(), output) != graph_outputs->end()) {
      continue;
    }
    const tfl::Tensor& half = *tensors->Get(uint32_t(input));
    if (half.type() != tfl::TensorType_FLOAT16 || tensors->Get(uint32_t(output))->type() != tfl::TensorType_FLOAT32) {
      continue;
    }
    if (!buffers || half.buffer() >= buffers->size()) return BadModel("buffer index out of range");
    const auto* data = buffers->Get(half.buffer())->data();
    if (!data || data->size() == 0 || data->size() % 2 != 0) continue;  // not a constant (or not float16-sized)
    Fold& fold = folds.emplace_back(Fold{o, uint32_t(output), {}});
    fold.float32_data.resize(std::size_t(data->size()) * 2);
    for (uint32_t i = 0; i < data->size() / 2; ++i) {
      uint16_t bits;
      std::memcpy(&bits, data->data() + 2 * std::size_t(i), 2);
      const float value = HalfToFloat(bits);
      std::memcpy(fold.float32_data.data() + 4 * std::size_t(i), &value, 4);
    }
  }
  return folds;
}

// Whether `table` has a field after `last_field` (the last one this schema knows): a file from a
// newer schema, whose extra field rebuilding the table would drop.
template <typename Table>
bool HasFieldsBeyond(const Table& table, flatbuffers::voffset_t last_field) {
  const auto& raw = reinterpret_cast<const flatbuffers::Table&>(table);
  const auto vtable_size = flatbuffers::ReadScalar<flatbuffers::voffset_t>(raw.GetVTable());
  for (auto field = flatbuffers::voffset_t(last_field + 2); field < vtable_size; field += 2) {
    if (raw.GetOptionalFieldOffset(field) != 0) return true;
  }
  return false;
}

}  // namespace

Expected<FoldedModel> FoldFloat16Weights(const std::vector<uint8_t>& model) {
  auto read = tfl::ReadModel(std::string_view(reinterpret_cast<const char*>(model.data()), model.size()));
  if (!read.ok()) return read.error();
  const tfl::Model& in = **read;
  const auto* subgraphs = in.subgraphs();
  std::vector<std::vector<Fold>> folds;
  int64_t fold_count = 0;
  std::size_t float32_bytes = 0;
  for (uint32_t s = 0; subgraphs && s < subgraphs->size(); ++s) {
    auto found = FindFolds(in, *subgraphs->Get(s));
    if (!found.ok()) return found.error();
    for (const Fold& fold : *found) float32_bytes += fold.float32_data.size();
    fold_count += int64_t(found->size());
    folds.push_back(std::move(*found));
  }
  if (fold_count == 0) return FoldedModel{.bytes = model, .folded_operators = 0};
  if (model.size() + float32_bytes + (1 << 20) >= FLATBUFFERS_MAX_BUFFER_SIZE) {
    return Unsupported("the model with its float16 weights widened exceeds the 2 GiB a flatbuffer can hold");
  }
  if (HasFieldsBeyond(in, tfl::Model::VT_SIGNATURE_DEFS)) {
    return BadModel("Model has fields newer than the schema edgebench knows");
  }

  // The builder writes back to front: the original bytes go in first and so end up behind every
  // new table, and offsets from the new tables into them point forward, as flatbuffers require.
  // 16-byte aligned, so that the original buffers keep their alignment.
  flatbuffers::FlatBufferBuilder b(model.size() + float32_bytes + (1 << 16));
  b.PreAlign(model.size(), 16);
  b.PushBytes(model.data(), model.size());
  const flatbuffers::uoffset_t original_end = b.GetSize();
  // The builder offset of an original table, vector or string; 0 (absent) for null.
  const auto original = [&](const auto* object) {
    using Object = std::remove_cv_t<std::remove_pointer_t<decltype(object)>>;
    if (!object) return Offset<Object>(0);
    const auto at = reinterpret_cast<const uint8_t*>(object) - model.data();
    return Offset<Object>(original_end - flatbuffers::uoffset_t(at));
  };

  std::vector<Offset<tfl::Buffer>> buffers;
  for (const tfl::Buffer* buffer : *in.buffers()) buffers.push_back(original(buffer));
  std::vector<Offset<tfl::SubGraph>> new_subgraphs;
  for (uint32_t s = 0; s < subgraphs->size(); ++s) {
    const tfl::SubGraph& subgraph = *subgraphs->Get(s);
    if (folds[s].empty()) {
      new_subgraphs.push_back(original(&subgraph));
      continue;
    }
    if (HasFieldsBeyond(subgraph, tfl::SubGraph::VT_NAME)) {
      return BadModel("SubGraph has fields newer than the schema edgebench knows");
    }
    std::set<uint32_t> dropped;
    std::map<uint32_t, uint32_t> new_buffer;  // tensor -> buffer index
    for (const Fold& fold : folds[s]) {
      dropped.insert(fold.operator_index);
      new_buffer[fold.output_tensor] = uint32_t(buffers.size());
      b.ForceVectorAlignment(fold.float32_data.size(), sizeof(uint8_t), 16);
      buffers.push_back(tfl::CreateBuffer(b, b.CreateVector(fold.float32_data)));
    }
    std::vector<Offset<tfl::Tensor>> tensors;
    for (uint32_t t = 0; t < subgraph.tensors()->size(); ++t) {
      const tfl::Tensor& tensor = *subgraph.tensors()->Get(t);
      const auto widened = new_buffer.find(t);
      if (widened == new_buffer.end()) {
        tensors.push_back(original(&tensor));
        continue;
      }
      if (HasFieldsBeyond(tensor, tfl::Tensor::VT_VARIANT_TENSORS)) {
        return BadModel("Tensor has fields newer than the schema edgebench knows");
      }
      tensors.push_back(tfl::CreateTensor(
          b, original(tensor.shape()), tfl::TensorType_FLOAT32, widened->second, original(tensor.name()),
          original(tensor.quantization()), tensor.is_variable(), original(tensor.sparsity()),
          original(tensor.shape_signature()), tensor.has_rank(), original(tensor.variant_tensors())));
    }
    std::vector<Offset<tfl::Operator>> operators;
    for (uint32_t o = 0; o < subgraph.operators()->size(); ++o) {
      if (!dropped.count(o)) operators.push_back(original(subgraph.operators()->Get(o)));
    }
    new_subgraphs.push_back(tfl::CreateSubGraph(b, b.CreateVector(tensors), original(subgraph.inputs()),
                                                original(subgraph.outputs()), b.CreateVector(operators),
                                                original(subgraph.name())));
  }
  const auto root = tfl::CreateModel(b, in.version(), original(in.operator_codes()), b.CreateVector(new_subgraphs),
                                     original(in.description()), b.CreateVector(buffers),
                                     original(in.metadata_buffer()), original(in.metadata()),
                                     original(in.signature_defs()));
  tfl::FinishModelBuffer(b, root);
  return FoldedModel{.bytes = std::vector<uint8_t>(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()),
                     .folded_operators = fold_count};
}

}  // namespace edgebench::backends::armnn
