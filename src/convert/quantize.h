// INT8 post-training quantization of a float TFLite model (the converter's FP32 output), as
// TFLite's own full-integer quantizer lays it out: activations int8 asymmetric per tensor,
// Conv/DepthwiseConv weights int8 symmetric per output channel, FullyConnected weights per
// tensor, biases int32 at input_scale x weight_scale. The model keeps a float interface
// (QUANTIZE after each input, DEQUANTIZE before each output); an operator with no int8 kernel
// in TFLite stays float between a DEQUANTIZE and a QUANTIZE.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "edgebench/status.h"

namespace edgebench::convert {

// The values a float tensor took during calibration.
struct ValueRange {
  float min = 0;
  float max = 0;
};

// A copy of a model whose outputs are all of its non-constant float tensors that are not graph
// inputs (TFLite keeps outputs alive after Invoke, so one run reads every activation).
struct CalibrationModel {
  std::string model;
  std::vector<int> inputs;   // tensor index of each graph input, in input order
  std::vector<int> outputs;  // tensor index of each output, in output order
};
Expected<CalibrationModel> WithActivationsAsOutputs(const std::string& model);

struct QuantizedOperator {
  std::string op;  // builtin name
  int version = 1;
  int source = -1;  // the float model's operator it came from; -1: a QUANTIZE/DEQUANTIZE added
};

struct QuantizedTflite {
  std::string model;
  std::vector<QuantizedOperator> operators;  // in execution order
  // Float model operators kept in float (no int8 kernel), by index.
  std::vector<int> float_operators;
};

// `ranges` by tensor index of `model`; every non-constant float tensor (graph inputs included)
// an int8 operator reads or writes needs one, else that operator stays float.
Expected<QuantizedTflite> QuantizeTflite(const std::string& model, const std::map<int, ValueRange>& ranges);

// Widens ranges[key] to cover `values` (inserted on first use; nothing for no values).
template <typename Key>
void WidenRange(std::map<Key, ValueRange>& ranges, const Key& key, const std::vector<float>& values) {
  if (values.empty()) return;
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  auto [it, inserted] = ranges.emplace(key, ValueRange{*lo, *hi});
  if (!inserted) it->second = {std::min(it->second.min, *lo), std::max(it->second.max, *hi)};
}

// The affine int8 parameters TFLite uses for a range (zero is always representable).
struct Int8Params {
  float scale = 1;
  int zero_point = 0;
};
Int8Params ParamsForRange(ValueRange range);

// Weights as int8 symmetric per channel (zero point 0, scale max |w| / 127 of the channel; 1 for
// an all-zero one). `channel_of(i)` is element i's channel, below `channels`.
struct SymmetricInt8 {
  std::vector<int8_t> values;
  std::vector<float> scales;  // per channel
};
SymmetricInt8 QuantizeSymmetric(const std::vector<float>& weights, std::size_t channels,
                                const std::function<std::size_t(std::size_t)>& channel_of);

// A bias as int32 at `scales[i]` (input scale x weight scale of channel i), saturated.
std::vector<int32_t> QuantizeBias(const std::vector<float>& bias, const std::vector<float>& scales);

}  // namespace edgebench::convert
