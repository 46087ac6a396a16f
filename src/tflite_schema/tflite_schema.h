// TensorFlow Lite's model schema, compiled by flatc from tflite_schema.fbs (namespace
// edgebench::tfl: accessors, builders and the object API), and checked access to a model file.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "edgebench/status.h"
#include "tflite_schema_generated.h"

namespace edgebench::tfl {

// The root table of the TFLite flatbuffer `bytes`, once it has the "TFL3" identifier and the
// flatbuffers Verifier finds every table, vector and string the schema knows inside `bytes`;
// BadModel naming the problem otherwise. Index fields (tensor, buffer, operator code) are not
// checked. The result points into `bytes`.
Expected<const Model*> ReadModel(std::string_view bytes);

// The operator `code` names: the larger of its two code fields (files written before TFLite 2.4
// set only the one-byte field).
BuiltinOperator BuiltinCode(const OperatorCode& code);

// The value of OperatorCode.deprecated_builtin_code for `op`.
int8_t DeprecatedBuiltinCode(BuiltinOperator op);

// The bytes of metadata entry `name` (Model.metadata -> its buffer), pointing into the model;
// nullopt when there is no such entry or its buffer index is out of range.
std::optional<std::string_view> MetadataEntry(const Model& model, std::string_view name);

}  // namespace edgebench::tfl
