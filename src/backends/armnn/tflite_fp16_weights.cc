#include "tflite_fp16_weights.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

#include "edgebench/float16.h"

namespace edgebench::backends::armnn {
namespace {

// Field indices and enum values of tensorflow/lite/schema/schema.fbs.
enum ModelField {
  kModelVersion = 0,
  kModelOperatorCodes = 1,
  kModelSubgraphs = 2,
  kModelDescription = 3,
  kModelBuffers = 4,
  kModelMetadataBuffer = 5,
  kModelMetadata = 6,
  kModelSignatureDefs = 7,
  kModelFieldCount = 8
};
enum SubGraphField {
  kSubGraphTensors = 0,
  kSubGraphInputs = 1,
  kSubGraphOutputs = 2,
  kSubGraphOperators = 3,
  kSubGraphName = 4,
  kSubGraphFieldCount = 5
};
enum TensorField {
  kTensorShape = 0,
  kTensorType = 1,
  kTensorBuffer = 2,
  kTensorName = 3,
  kTensorQuantization = 4,
  kTensorIsVariable = 5,
  kTensorSparsity = 6,
  kTensorShapeSignature = 7,
  kTensorHasRank = 8,
  kTensorVariantTensors = 9,
  kTensorFieldCount = 10
};
enum OperatorField { kOperatorOpcodeIndex = 0, kOperatorInputs = 1, kOperatorOutputs = 2 };
enum OperatorCodeField { kOperatorCodeDeprecatedBuiltin = 0, kOperatorCodeBuiltin = 3 };
enum BufferField { kBufferData = 0 };
constexpr int32_t kBuiltinDequantize = 6;
constexpr uint8_t kTensorTypeFloat32 = 0;
constexpr uint8_t kTensorTypeFloat16 = 1;

struct Malformed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Reads a flatbuffer without a schema; every read is bounds-checked (Malformed otherwise).
class Reader {
 public:
  explicit Reader(const std::vector<uint8_t>& data) : data_(data) {}

  uint32_t U32(uint64_t at) const { return Scalar<uint32_t>(at); }
  int32_t I32(uint64_t at) const { return Scalar<int32_t>(at); }
  uint16_t U16(uint64_t at) const { return Scalar<uint16_t>(at); }
  uint8_t U8(uint64_t at) const { return Scalar<uint8_t>(at); }

  uint32_t Root() const { return U32(0); }
  uint32_t VTable(uint32_t table) const {
    const int64_t vtable = int64_t(table) - I32(table);
    if (vtable < 0 || vtable >= int64_t(data_.size())) throw Malformed("vtable out of range");
    return uint32_t(vtable);
  }
  // Number of field slots the table's vtable has.
  int FieldSlots(uint32_t table) const { return (U16(VTable(table)) - 4) / 2; }
  // Position of field `index`, or 0 when absent.
  uint32_t Field(uint32_t table, int index) const {
    const uint32_t vtable = VTable(table);
    if (4 + 2 * uint32_t(index) >= U16(vtable)) return 0;
    const uint16_t offset = U16(vtable + 4 + 2 * uint32_t(index));
    return offset == 0 ? 0 : table + offset;
  }
  // Where the offset stored at `at` points.
  uint32_t Follow(uint32_t at) const {
    const uint64_t target = uint64_t(at) + U32(at);
    if (target >= data_.size()) throw Malformed("offset out of range");
    return uint32_t(target);
  }
  // {count, position of element 0} of a vector field; {0, 0} when absent.
  std::pair<uint32_t, uint32_t> Vector(uint32_t table, int index, uint32_t element_size) const {
    const uint32_t at = Field(table, index);
    if (at == 0) return {0, 0};
    const uint32_t vector = Follow(at);
    const uint32_t count = U32(vector);
    if (uint64_t(vector) + 4 + uint64_t(count) * element_size > data_.size()) {
      throw Malformed("vector out of range");
    }
    return {count, vector + 4};
  }
  std::vector<uint32_t> Tables(uint32_t table, int index) const {
    const auto [count, first] = Vector(table, index, 4);
    std::vector<uint32_t> tables(count);
    for (uint32_t i = 0; i < count; ++i) tables[i] = Follow(first + 4 * i);
    return tables;
  }
  std::vector<int32_t> Ints(uint32_t table, int index) const {
    const auto [count, first] = Vector(table, index, 4);
    std::vector<int32_t> ints(count);
    for (uint32_t i = 0; i < count; ++i) ints[i] = I32(first + 4 * i);
    return ints;
  }

 private:
  template <typename T>
  T Scalar(uint64_t at) const {
    if (at + sizeof(T) > data_.size()) throw Malformed("read past the end");
    T value;
    std::memcpy(&value, data_.data() + at, sizeof value);
    return value;
  }

  const std::vector<uint8_t>& data_;
};

// A position in the output: in the original model (copied verbatim after the new root
// structures) or in the new bytes written around it.
struct Ref {
  bool original = false;
  uint32_t at = 0;
};

// Writes the new root structures, then the original bytes, then new tail data. Offsets are
// recorded as fix-ups and resolved at the end, when the original block's position is known.
class Writer {
 public:
  struct Slot {  // one table field to write
    int index;
    enum Kind { kU32, kU8, kRef } kind;
    uint32_t value = 0;
    Ref ref{};
  };

  uint32_t Pos() const { return uint32_t(out_.size()); }
  void Align(uint32_t alignment) {
    while (out_.size() % alignment != 0) out_.push_back(0);
  }
  void PutU32(uint32_t value) { Put(&value, 4); }
  void PutRef(Ref ref) {
    fixups_.push_back({Pos(), ref});
    PutU32(0);
  }

  // A table (preceded by its vtable); returns the table's position.
  uint32_t Table(const std::vector<Slot>& slots) {
    int slot_count = 0;
    for (const Slot& slot : slots) slot_count = std::max(slot_count, slot.index + 1);
    std::vector<uint16_t> offsets(size_t(slot_count), 0);
    uint16_t table_size = 4;
    for (const Slot& slot : slots) {
      if (slot.kind != Slot::kU8) offsets[size_t(slot.index)] = std::exchange(table_size, table_size + 4);
    }
    for (const Slot& slot : slots) {
      if (slot.kind == Slot::kU8) offsets[size_t(slot.index)] = table_size++;
    }
    Align(4);
    const uint32_t vtable = Pos();
    PutU16(uint16_t(4 + 2 * slot_count));
    PutU16(table_size);
    for (uint16_t offset : offsets) PutU16(offset);
    Align(4);
    const uint32_t table = Pos();
    const int32_t to_vtable = int32_t(table - vtable);
    Put(&to_vtable, 4);
    for (const Slot& slot : slots) {
      if (slot.kind == Slot::kU32) PutU32(slot.value);
      if (slot.kind == Slot::kRef) PutRef(slot.ref);
    }
    for (const Slot& slot : slots) {
      if (slot.kind == Slot::kU8) out_.push_back(uint8_t(slot.value));
    }
    Align(4);
    return table;
  }

  // A vector of offsets; returns its position.
  uint32_t RefVector(const std::vector<Ref>& refs) {
    Align(4);
    const uint32_t at = Pos();
    PutU32(uint32_t(refs.size()));
    for (const Ref& ref : refs) PutRef(ref);
    return at;
  }

  // Copies the original model, 16-byte aligned like TFLite's buffers.
  void PutOriginal(const std::vector<uint8_t>& bytes) {
    Align(16);
    original_at_ = Pos();
    out_.insert(out_.end(), bytes.begin(), bytes.end());
  }

  // A [ubyte] vector whose data starts 16-byte aligned; returns the vector's position.
  uint32_t ByteVector(const std::vector<uint8_t>& bytes) {
    Align(16);
    PutU32(0);
    PutU32(0);
    PutU32(0);
    const uint32_t at = Pos();
    PutU32(uint32_t(bytes.size()));
    out_.insert(out_.end(), bytes.begin(), bytes.end());
    return at;
  }

  // Resolves the fix-ups; with `check`, every offset must point forward, as flatbuffers require.
  std::vector<uint8_t> Finish(bool check) {
    for (const auto& [at, ref] : fixups_) {
      const uint32_t target = ref.original ? original_at_ + ref.at : ref.at;
      if (target <= at) {
        if (check) throw Malformed("internal: an offset points backward");
        continue;
      }
      const uint32_t offset = target - at;
      std::memcpy(out_.data() + at, &offset, 4);
    }
    return std::move(out_);
  }

 private:
  void Put(const void* data, size_t size) {
    const auto* bytes = static_cast<const uint8_t*>(data);
    out_.insert(out_.end(), bytes, bytes + size);
  }
  void PutU16(uint16_t value) { Put(&value, 2); }

  std::vector<uint8_t> out_;
  std::vector<std::pair<uint32_t, Ref>> fixups_;
  uint32_t original_at_ = 0;
};

Ref Original(uint32_t at) { return {.original = true, .at = at}; }

// The field of an original table as a slot of a new one: offsets keep pointing at the original
// target; `kinds` says which field indices hold offsets and which scalars of which width.
enum class FieldKind { kRef, kU32, kU8 };
std::optional<Writer::Slot> CopyField(const Reader& in, uint32_t table, int index, FieldKind kind) {
  const uint32_t at = in.Field(table, index);
  if (at == 0) return std::nullopt;
  switch (kind) {
    case FieldKind::kRef: return Writer::Slot{index, Writer::Slot::kRef, 0, Original(in.Follow(at))};
    case FieldKind::kU32: return Writer::Slot{index, Writer::Slot::kU32, in.U32(at)};
    case FieldKind::kU8: return Writer::Slot{index, Writer::Slot::kU8, in.U8(at)};
  }
  return std::nullopt;
}

// Copies the listed fields of `table`; Malformed when the table has fields beyond `kinds`
// (a newer schema than this code knows).
std::vector<Writer::Slot> CopyFields(const Reader& in, uint32_t table,
                                     const std::vector<FieldKind>& kinds,
                                     const std::set<int>& skip, const char* what) {
  for (int index = int(kinds.size()); index < in.FieldSlots(table); ++index) {
    if (in.Field(table, index) != 0) {
      throw Malformed(std::string(what) + " has field " + std::to_string(index) +
                      ", newer than the schema edgebench knows");
    }
  }
  std::vector<Writer::Slot> slots;
  for (int index = 0; index < int(kinds.size()); ++index) {
    if (skip.count(index)) continue;
    if (auto slot = CopyField(in, table, index, kinds[size_t(index)])) slots.push_back(*slot);
  }
  return slots;
}

const std::vector<FieldKind> kModelKinds = {FieldKind::kU32, FieldKind::kRef, FieldKind::kRef,
                                            FieldKind::kRef, FieldKind::kRef, FieldKind::kRef,
                                            FieldKind::kRef, FieldKind::kRef};
const std::vector<FieldKind> kSubGraphKinds = {FieldKind::kRef, FieldKind::kRef, FieldKind::kRef,
                                               FieldKind::kRef, FieldKind::kRef};
const std::vector<FieldKind> kTensorKinds = {FieldKind::kRef, FieldKind::kU8,  FieldKind::kU32,
                                             FieldKind::kRef, FieldKind::kRef, FieldKind::kU8,
                                             FieldKind::kRef, FieldKind::kRef, FieldKind::kU8,
                                             FieldKind::kRef};

uint8_t TensorType(const Reader& in, uint32_t tensor) {
  const uint32_t at = in.Field(tensor, kTensorType);
  return at == 0 ? kTensorTypeFloat32 : in.U8(at);
}
uint32_t TensorBuffer(const Reader& in, uint32_t tensor) {
  const uint32_t at = in.Field(tensor, kTensorBuffer);
  return at == 0 ? 0 : in.U32(at);
}

// One DEQUANTIZE to fold: the operator's position and its output tensor's new float32 data.
struct Fold {
  uint32_t operator_index;
  uint32_t output_tensor;
  std::vector<uint8_t> float32_data;
};

std::vector<Fold> FindFolds(const Reader& in, uint32_t subgraph,
                            const std::vector<int32_t>& builtin_codes,
                            const std::vector<uint32_t>& buffers) {
  const std::vector<uint32_t> tensors = in.Tables(subgraph, kSubGraphTensors);
  const std::vector<int32_t> outputs = in.Ints(subgraph, kSubGraphOutputs);
  const std::vector<uint32_t> operators = in.Tables(subgraph, kSubGraphOperators);
  std::vector<Fold> folds;
  for (uint32_t o = 0; o < operators.size(); ++o) {
    const uint32_t opcode_at = in.Field(operators[o], kOperatorOpcodeIndex);
    const uint32_t opcode = opcode_at == 0 ? 0 : in.U32(opcode_at);
    if (opcode >= builtin_codes.size()) throw Malformed("opcode index out of range");
    if (builtin_codes[opcode] != kBuiltinDequantize) continue;
    const std::vector<int32_t> op_inputs = in.Ints(operators[o], kOperatorInputs);
    const std::vector<int32_t> op_outputs = in.Ints(operators[o], kOperatorOutputs);
    if (op_inputs.size() != 1 || op_outputs.size() != 1) continue;
    const int32_t input = op_inputs[0];
    const int32_t output = op_outputs[0];
    if (input < 0 || output < 0 || size_t(input) >= tensors.size() ||
        size_t(output) >= tensors.size()) {
      throw Malformed("tensor index out of range");
    }
    if (std::find(outputs.begin(), outputs.end(), output) != outputs.end()) continue;
    if (TensorType(in, tensors[size_t(input)]) != kTensorTypeFloat16 ||
        TensorType(in, tensors[size_t(output)]) != kTensorTypeFloat32) {
      continue;
    }
    const uint32_t buffer = TensorBuffer(in, tensors[size_t(input)]);
    if (buffer >= buffers.size()) throw Malformed("buffer index out of range");
    const auto [bytes, data] = in.Vector(buffers[buffer], kBufferData, 1);
    if (bytes == 0 || bytes % 2 != 0) continue;  // not a constant (or not float16-sized)
    Fold& fold = folds.emplace_back(Fold{o, uint32_t(output), {}});
    fold.float32_data.resize(size_t(bytes) * 2);
    for (uint32_t i = 0; i < bytes / 2; ++i) {
      const float value = HalfToFloat(in.U16(uint64_t(data) + 2 * i));
      std::memcpy(fold.float32_data.data() + 4 * size_t(i), &value, 4);
    }
  }
  return folds;
}

}  // namespace

Expected<FoldedModel> FoldFloat16Weights(const std::vector<uint8_t>& model) {
  try {
    const Reader in(model);
    const uint32_t root = in.Root();
    std::vector<int32_t> builtin_codes;
    for (const uint32_t code : in.Tables(root, kModelOperatorCodes)) {
      const uint32_t deprecated_at = in.Field(code, kOperatorCodeDeprecatedBuiltin);
      const uint32_t builtin_at = in.Field(code, kOperatorCodeBuiltin);
      // schema.fbs: the builtin code is the larger of the two fields.
      builtin_codes.push_back(std::max<int32_t>(deprecated_at ? int8_t(in.U8(deprecated_at)) : 0,
                                                builtin_at ? in.I32(builtin_at) : 0));
    }
    const std::vector<uint32_t> buffers = in.Tables(root, kModelBuffers);
    const std::vector<uint32_t> subgraphs = in.Tables(root, kModelSubgraphs);
    std::vector<std::vector<Fold>> folds;
    int64_t fold_count = 0;
    for (const uint32_t subgraph : subgraphs) {
      folds.push_back(FindFolds(in, subgraph, builtin_codes, buffers));
      fold_count += int64_t(folds.back().size());
    }
    if (fold_count == 0) return FoldedModel{.bytes = model, .folded_operators = 0};

    std::vector<Writer::Slot> model_slots =
        CopyFields(in, root, kModelKinds, {kModelSubgraphs, kModelBuffers}, "Model");
    model_slots.push_back({kModelSubgraphs, Writer::Slot::kRef, 0, {}});
    model_slots.push_back({kModelBuffers, Writer::Slot::kRef, 0, {}});

    // Two passes over one layout: the first records where each new structure lands, the second
    // writes the offsets to them (the layout does not depend on offset values).
    std::vector<uint8_t> result;
    std::map<std::string, uint32_t> positions;
    for (int pass = 0; pass < 2; ++pass) {
      Writer w;
      w.PutU32(0);
      w.PutU32(0);
      const auto at = [&](const std::string& key) { return Ref{.original = false, .at = positions[key]}; };
      std::vector<Writer::Slot> slots = model_slots;
      slots[slots.size() - 2].ref = at("subgraphs");
      slots[slots.size() - 1].ref = at("buffers");
      positions["model"] = w.Table(slots);

      std::vector<Ref> subgraph_refs;
      for (size_t s = 0; s < subgraphs.size(); ++s) {
        subgraph_refs.push_back(folds[s].empty() ? Original(subgraphs[s])
                                                 : at("subgraph" + std::to_string(s)));
      }
      positions["subgraphs"] = w.RefVector(subgraph_refs);

      uint32_t next_buffer = uint32_t(buffers.size());
      for (size_t s = 0; s < subgraphs.size(); ++s) {
        if (folds[s].empty()) continue;
        const std::string key = "subgraph" + std::to_string(s);
        std::vector<Writer::Slot> sg_slots = CopyFields(
            in, subgraphs[s], kSubGraphKinds, {kSubGraphTensors, kSubGraphOperators}, "SubGraph");
        sg_slots.push_back({kSubGraphTensors, Writer::Slot::kRef, 0, at(key + ".tensors")});
        sg_slots.push_back({kSubGraphOperators, Writer::Slot::kRef, 0, at(key + ".operators")});
        positions[key] = w.Table(sg_slots);

        std::set<uint32_t> dropped;
        std::map<uint32_t, uint32_t> new_buffer;  // tensor -> buffer index
        for (const Fold& fold : folds[s]) {
          dropped.insert(fold.operator_index);
          new_buffer[fold.output_tensor] = next_buffer++;
        }
        const std::vector<uint32_t> operators = in.Tables(subgraphs[s], kSubGraphOperators);
        std::vector<Ref> operator_refs;
        for (uint32_t o = 0; o < operators.size(); ++o) {
          if (!dropped.count(o)) operator_refs.push_back(Original(operators[o]));
        }
        positions[key + ".operators"] = w.RefVector(operator_refs);

        const std::vector<uint32_t> tensors = in.Tables(subgraphs[s], kSubGraphTensors);
        std::vector<Ref> tensor_refs;
        for (uint32_t t = 0; t < tensors.size(); ++t) {
          tensor_refs.push_back(new_buffer.count(t)
                                    ? at(key + ".tensor" + std::to_string(t))
                                    : Original(tensors[t]));
        }
        positions[key + ".tensors"] = w.RefVector(tensor_refs);
        for (const auto& [t, buffer] : new_buffer) {
          std::vector<Writer::Slot> t_slots = CopyFields(
              in, tensors[t], kTensorKinds, {kTensorType, kTensorBuffer}, "Tensor");
          t_slots.push_back({kTensorType, Writer::Slot::kU8, kTensorTypeFloat32});
          t_slots.push_back({kTensorBuffer, Writer::Slot::kU32, buffer});
          positions[key + ".tensor" + std::to_string(t)] = w.Table(t_slots);
        }
      }

      std::vector<Ref> buffer_refs;
      for (const uint32_t buffer : buffers) buffer_refs.push_back(Original(buffer));
      for (uint32_t b = uint32_t(buffers.size()); b < next_buffer; ++b) {
        buffer_refs.push_back(at("buffer" + std::to_string(b)));
      }
      positions["buffers"] = w.RefVector(buffer_refs);
      for (uint32_t b = uint32_t(buffers.size()); b < next_buffer; ++b) {
        positions["buffer" + std::to_string(b)] = w.Table(
            {{kBufferData, Writer::Slot::kRef, 0, at("data" + std::to_string(b))}});
      }

      w.PutOriginal(model);
      uint32_t b = uint32_t(buffers.size());
      for (const std::vector<Fold>& subgraph_folds : folds) {
        for (const Fold& fold : subgraph_folds) {
          positions["data" + std::to_string(b++)] = w.ByteVector(fold.float32_data);
        }
      }
      result = w.Finish(/*check=*/pass == 1);
    }
    // Root offset and the "TFL3" identifier that TFLite readers check.
    const uint32_t model_at = positions["model"];
    std::memcpy(result.data(), &model_at, 4);
    if (model.size() >= 8) std::memcpy(result.data() + 4, model.data() + 4, 4);
    return FoldedModel{.bytes = std::move(result), .folded_operators = fold_count};
  } catch (const Malformed& e) {
    return BadModel(std::string("not a well-formed TFLite flatbuffer: ") + e.what());
  }
}

}  // namespace edgebench::backends::armnn
