// The stages of a conversion that run models: INT8 calibration on the tflite backend, and the
// accuracy check of the converted model (tflite) against the ONNX model (onnxruntime, FP32).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "edgebench/convert.h"
#include "quantize.h"

namespace edgebench::convert {

using Sample = std::vector<Tensor>;  // one float32 tensor per model input, in ONNX layout

struct SampleSet {
  std::vector<Sample> samples;
  std::string description;  // "16 random samples (uniform [0, 1), seed 1)", "4 samples from files"
};

enum class SamplePurpose { kCalibration, kAccuracy };

// From settings.files (the same samples for both purposes), else random ones; random
// accuracy samples use other seeds than calibration ones. A missing or unknown input name, or
// a file whose size is not a multiple of one sample, is an error naming it.
Expected<SampleSet> MakeSamples(const std::vector<ConvertedTensor>& inputs, const SampleSettings& settings,
                                SamplePurpose purpose);

// Min and max of every activation of the float TFLite `model` over the samples, by tensor index.
Expected<std::map<int, ValueRange>> Calibrate(const std::string& model, const std::vector<ConvertedTensor>& inputs,
                                              const SampleSet& samples);

// Runs the ONNX model at `onnx_path` on onnxruntime and the converted `tflite_model` on tflite
// with the same samples and compares their outputs.
Expected<AccuracyCost> MeasureAccuracy(const std::string& onnx_path, const std::string& tflite_model,
                                       const ConversionReport& report, const SampleSet& samples);

}  // namespace edgebench::convert
