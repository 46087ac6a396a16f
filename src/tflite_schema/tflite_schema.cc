#include "tflite_schema.h"

#include <algorithm>

namespace edgebench::tfl {

Expected<const Model*> ReadModel(std::string_view bytes) {
  if (bytes.size() < 8 || !ModelBufferHasIdentifier(bytes.data())) {
    return BadModel("not a TensorFlow Lite model (no TFL3 identifier)");
  }
  // Files over 2 GiB keep their large buffers behind the flatbuffer (Buffer.offset), where offsets
  // cannot reach.
  const std::size_t flatbuffer_size = std::min<std::size_t>(bytes.size(), FLATBUFFERS_MAX_BUFFER_SIZE - 1);
  flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(bytes.data()), flatbuffer_size);
  if (!VerifyModelBuffer(verifier)) {
    return BadModel("corrupt or truncated TensorFlow Lite flatbuffer (an offset, vector or string "
                    "lies outside the file or is misaligned)");
  }
  return GetModel(bytes.data());
}

BuiltinOperator BuiltinCode(const OperatorCode& code) {
  return std::max(BuiltinOperator(code.deprecated_builtin_code()), code.builtin_code());
}

int8_t DeprecatedBuiltinCode(BuiltinOperator op) {
  return int8_t(std::min<int>(op, BuiltinOperator_PLACEHOLDER_FOR_GREATER_OP_CODES));
}

std::optional<std::string_view> MetadataEntry(const Model& model, std::string_view name) {
  if (!model.metadata() || !model.buffers()) return std::nullopt;
  for (const Metadata* entry : *model.metadata()) {
    if (!entry || !entry->name() || entry->name()->string_view() != name) continue;
    if (entry->buffer() >= model.buffers()->size()) return std::nullopt;
    const Buffer* buffer = model.buffers()->Get(entry->buffer());
    if (!buffer || !buffer->data()) return std::string_view();
    return std::string_view(reinterpret_cast<const char*>(buffer->data()->data()), buffer->data()->size());
  }
  return std::nullopt;
}

}  // namespace edgebench::tfl
