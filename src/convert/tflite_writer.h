// Builds a TFLite flatbuffer (schema src/tflite_schema/tflite_schema.fbs) tensor by tensor and
// operator by operator. Operator codes are deduplicated by (builtin, version); every constant tensor gets its
// own buffer, buffer 0 is the empty one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "layout.h"
#include "tflite_schema.h"

namespace edgebench::convert {

class TfliteWriter {
 public:
  TfliteWriter() : builder_(1 << 20) {}

  // For building an operator's options table before AddOperator.
  flatbuffers::FlatBufferBuilder& builder() { return builder_; }

  // A tensor; `data` (little-endian bytes, row-major in `shape`) makes it a constant.
  int AddTensor(const std::string& name, tfl::TensorType type, const Shape& shape,
                std::string data = {});
  int AddFloatConstant(const std::string& name, const Shape& shape, const std::vector<float>& values);
  int AddInt32Constant(const std::string& name, const Shape& shape, const std::vector<int32_t>& values);

  // Returns the operator's index.
  int AddOperator(tfl::BuiltinOperator op, int version, const std::vector<int>& inputs,
                  const std::vector<int>& outputs,
                  tfl::BuiltinOptions options_type = tfl::BuiltinOptions_NONE,
                  flatbuffers::Offset<void> options = 0);

  // A copy: a reference would dangle once AddTensor grows the tensor list (found by fuzzing).
  Shape shape(int tensor) const { return tensors_[tensor].shape; }
  const std::string& name(int tensor) const { return tensors_[tensor].name; }
  bool is_constant(int tensor) const { return tensors_[tensor].buffer != 0; }
  int operator_count() const { return int(operators_.size()); }

  // The finished file. Call once.
  std::string Finish(const std::vector<int>& inputs, const std::vector<int>& outputs,
                     const std::string& description);

 private:
  struct TensorEntry {
    std::string name;
    tfl::TensorType type;
    Shape shape;
    uint32_t buffer = 0;
  };
  struct OperatorEntry {
    uint32_t opcode = 0;
    std::vector<int> inputs, outputs;
    tfl::BuiltinOptions options_type = tfl::BuiltinOptions_NONE;
    flatbuffers::Offset<void> options;
  };
  flatbuffers::FlatBufferBuilder builder_;
  std::vector<TensorEntry> tensors_;
  std::vector<OperatorEntry> operators_;
  std::vector<std::pair<tfl::BuiltinOperator, int>> opcodes_;
  std::vector<std::string> buffers_{std::string()};
};

// `model` (a TFLite flatbuffer) with the metadata entry `name` holding `data` (any entry of that
// name replaced).
Expected<std::string> WithMetadata(const std::string& model, const std::string& name, const std::string& data);

}  // namespace edgebench::convert
