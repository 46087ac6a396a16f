#include "tflite_writer.h"

#include <algorithm>
#include <cstring>
#include <memory>

namespace edgebench::convert {

int TfliteWriter::AddTensor(const std::string& name, tfl::TensorType type, const Shape& shape,
                            std::string data) {
  TensorEntry entry{name, type, shape, 0};
  if (!data.empty()) {
    entry.buffer = uint32_t(buffers_.size());
    buffers_.push_back(std::move(data));
  }
  tensors_.push_back(std::move(entry));
  return int(tensors_.size()) - 1;
}

int TfliteWriter::AddFloatConstant(const std::string& name, const Shape& shape,
                                   const std::vector<float>& values) {
  std::string bytes(values.size() * sizeof(float), '\0');
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return AddTensor(name, tfl::TensorType_FLOAT32, shape, std::move(bytes));
}

int TfliteWriter::AddInt32Constant(const std::string& name, const Shape& shape,
                                   const std::vector<int32_t>& values) {
  std::string bytes(values.size() * sizeof(int32_t), '\0');
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return AddTensor(name, tfl::TensorType_INT32, shape, std::move(bytes));
}

int TfliteWriter::AddOperator(tfl::BuiltinOperator op, int version, const std::vector<int>& inputs,
                              const std::vector<int>& outputs, tfl::BuiltinOptions options_type,
                              flatbuffers::Offset<void> options) {
  const std::pair<tfl::BuiltinOperator, int> key{op, version};
  auto it = std::find(opcodes_.begin(), opcodes_.end(), key);
  if (it == opcodes_.end()) it = opcodes_.insert(opcodes_.end(), key);
  operators_.push_back({uint32_t(it - opcodes_.begin()), inputs, outputs, options_type, options});
  return int(operators_.size()) - 1;
}

std::string TfliteWriter::Finish(const std::vector<int>& inputs, const std::vector<int>& outputs,
                                 const std::string& description) {
  auto& b = builder_;
  std::vector<flatbuffers::Offset<tfl::Buffer>> buffers;
  for (const std::string& data : buffers_) {
    if (data.empty()) {
      buffers.push_back(tfl::CreateBuffer(b));
      continue;
    }
    b.ForceVectorAlignment(data.size(), sizeof(uint8_t), 16);
    auto vector = b.CreateVector(reinterpret_cast<const uint8_t*>(data.data()), data.size());
    buffers.push_back(tfl::CreateBuffer(b, vector));
  }
  std::vector<flatbuffers::Offset<tfl::Tensor>> tensors;
  for (const TensorEntry& tensor : tensors_) {
    std::vector<int32_t> shape(tensor.shape.begin(), tensor.shape.end());
    tensors.push_back(tfl::CreateTensor(b, b.CreateVector(shape), tensor.type, tensor.buffer,
                                        b.CreateString(tensor.name)));
  }
  std::vector<flatbuffers::Offset<tfl::Operator>> operators;
  for (const OperatorEntry& op : operators_) {
    operators.push_back(tfl::CreateOperator(b, op.opcode, b.CreateVector(op.inputs),
                                            b.CreateVector(op.outputs), op.options_type, op.options));
  }
  auto subgraph = tfl::CreateSubGraph(b, b.CreateVector(tensors), b.CreateVector(inputs),
                                      b.CreateVector(outputs), b.CreateVector(operators),
                                      b.CreateString("main"));
  std::vector<flatbuffers::Offset<tfl::OperatorCode>> codes;
  for (const auto& [op, version] : opcodes_) codes.push_back(tfl::CreateOperatorCode(b, tfl::DeprecatedBuiltinCode(op), 0, version, op));
  auto model = tfl::CreateModel(b, /*version=*/3, b.CreateVector(codes),
                                b.CreateVector(std::vector{subgraph}), b.CreateString(description),
                                b.CreateVector(buffers));
  tfl::FinishModelBuffer(b, model);
  return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

Expected<std::string> WithMetadata(const std::string& model, const std::string& name, const std::string& data) {
  auto read = tfl::ReadModel(model);
  if (!read.ok()) return read.error();
  std::unique_ptr<tfl::ModelT> unpacked((*read)->UnPack());
  auto buffer = std::make_unique<tfl::BufferT>();
  buffer->data.assign(data.begin(), data.end());
  const auto index = uint32_t(unpacked->buffers.size());
  unpacked->buffers.push_back(std::move(buffer));
  auto& entries = unpacked->metadata;
  entries.erase(std::remove_if(entries.begin(), entries.end(), [&](const auto& m) { return m && m->name == name; }),
                entries.end());
  auto entry = std::make_unique<tfl::MetadataT>();
  entry->name = name;
  entry->buffer = index;
  entries.push_back(std::move(entry));
  flatbuffers::FlatBufferBuilder builder(model.size() + data.size() + 1024);
  tfl::FinishModelBuffer(builder, tfl::Model::Pack(builder, unpacked.get()));
  return std::string(reinterpret_cast<const char*>(builder.GetBufferPointer()), builder.GetSize());
}

}  // namespace edgebench::convert
