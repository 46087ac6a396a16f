// The stages of a conversion that run models: INT8 calibration on the tflite backend, and the
// accuracy check of the converted model (tflite) against the ONNX model (onnxruntime, FP32).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "edgebench/backend.h"
#include "edgebench/convert.h"
#include "quantize.h"

namespace edgebench::convert {

// A model written to a private temporary file for a backend to load; removed on destruction.
class TemporaryModel {
 public:
  static Expected<TemporaryModel> Write(const std::string& bytes, const std::string& extension);
  TemporaryModel(TemporaryModel&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  ~TemporaryModel();
  const std::string& path() const { return path_; }

 private:
  explicit TemporaryModel(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// A model loaded on a registry backend (default options and threads), run sample by sample.
class LoadedModel {
 public:
  // kUnsupported when `runtime` is not compiled in.
  static Expected<LoadedModel> Open(const std::string& runtime, const std::string& path);
  // `inputs` in the model's input order; they take the model's input names.
  Expected<std::vector<Tensor>> Run(std::vector<Tensor> inputs);

 private:
  explicit LoadedModel(std::unique_ptr<Backend> backend) : backend_(std::move(backend)) {}
  std::unique_ptr<Backend> backend_;
};

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

// Runs report.model on the target's runtime (tflite, or onnxruntime for an ONNX target) and
// compares its outputs with a reference's for the same samples: the ONNX model at `onnx_path` on
// onnxruntime (FP32); where onnxruntime cannot run it, the `expected_files` (per ONNX output, in
// the formats of sample files, as many samples as the inputs' files), else the ONNX model on
// OpenCV DNN. kUnsupported, naming why each reference failed, when none can serve.
Expected<AccuracyCost> MeasureAccuracy(const std::string& onnx_path, const ConversionReport& report,
                                       const SampleSet& samples,
                                       const std::map<std::string, std::string>& expected_files);

}  // namespace edgebench::convert
