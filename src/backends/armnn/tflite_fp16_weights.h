// Folds float16 weights of a TFLite model into float32 constants, for Arm NN 20.08's TFLite
// parser, which reads convolution/fully-connected weights only from constant buffers and has no
// float16 tensor type. Internal to the armnn backend.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "edgebench/status.h"

namespace edgebench::backends::armnn {

struct FoldedModel {
  std::vector<uint8_t> bytes;  // a TFLite flatbuffer
  int64_t folded_operators = 0;  // DEQUANTIZE operators replaced by float32 constants
};

// For every DEQUANTIZE operator whose input is a constant FLOAT16 tensor and whose output is a
// FLOAT32 tensor that is not a subgraph output, gives the output tensor a float32 constant
// buffer holding the exactly widened values and drops the operator (what TFLite computes at run
// time, done once). The rest of the model is kept byte for byte: the result is the original file
// behind a new root whose Model, SubGraph, operator/tensor/buffer vectors and replaced Tensor
// tables point into it, followed by the new float32 buffers. Returns `model` unchanged
// (folded_operators 0) when nothing qualifies. `model` must already have passed the TFLite
// flatbuffer verifier and the tflite backend's kind of index checks are not repeated: indices
// out of range give an error, not a crash.
Expected<FoldedModel> FoldFloat16Weights(const std::vector<uint8_t>& model);

}  // namespace edgebench::backends::armnn
