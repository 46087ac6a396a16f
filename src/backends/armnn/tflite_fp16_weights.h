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
// time, done once). The rest of the model is kept byte for byte: the result is a new root Model,
// SubGraph, operator/tensor/buffer vectors, replaced Tensor tables and float32 buffers, all
// pointing into a copy of the original file behind them. Returns `model` unchanged
// (folded_operators 0) when nothing qualifies. A file the flatbuffers verifier rejects, indices
// out of range on the way and tables with fields newer than edgebench's schema give BadModel.
Expected<FoldedModel> FoldFloat16Weights(const std::vector<uint8_t>& model);

}  // namespace edgebench::backends::armnn
