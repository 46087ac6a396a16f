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

// What TFLite 2.2's interpreter and kernels trust without checking, checked for every subgraph of
// `model` (ReadModel's result), so that a file the runtime would crash on is refused:
// - indices: buffers, operator codes, tensors of operators and subgraphs;
// - tensors: no negative dimension, at most 2^40 elements; a constant's data is exactly its
//   shape's size (fixed-size types, dense tensors);
// - data flow, in execution order: every operator input is defined (a subgraph input, a constant,
//   a variable, a tensor of no elements, an earlier operator's output, or -1 where an input is
//   optional); every output is written once and is not an input, constant or variable; every
//   subgraph output is defined;
// - operator parameters and shapes that kernels divide by or index with: options present and
//   strides, dilations, filter sizes, block sizes and split counts >= 1; convolution, depthwise,
//   fully-connected and pooling inputs of the rank and channel count the weights need; required
//   inputs not -1; constant block shapes >= 1 (docs/inspect.md lists the rules).
// BadModel naming the subgraph, operator or tensor and the rule otherwise.
Status CheckStructure(const Model& model);

// Bytes per element of `type` (int4: 1, unless packed); 0 when not fixed (strings, resources,
// variants).
int64_t TensorTypeSize(TensorType type);

// The operator `code` names: the larger of its two code fields (files written before TFLite 2.4
// set only the one-byte field).
BuiltinOperator BuiltinCode(const OperatorCode& code);

// The value of OperatorCode.deprecated_builtin_code for `op`.
int8_t DeprecatedBuiltinCode(BuiltinOperator op);

// The bytes of metadata entry `name` (Model.metadata -> its buffer), pointing into the model;
// nullopt when there is no such entry or its buffer index is out of range.
std::optional<std::string_view> MetadataEntry(const Model& model, std::string_view name);

}  // namespace edgebench::tfl
