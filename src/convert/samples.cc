// Calibration and the accuracy check (samples.h): both feed representative inputs through real
// runtimes from the registry.
#include "samples.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "edgebench/model_file.h"
#include "edgebench/registry.h"
#include "edgebench/verify.h"
#include "layout.h"

namespace edgebench::convert {
namespace {

std::vector<float> Floats(const Tensor& tensor) {
  std::vector<float> values(tensor.data.size() / sizeof(float));
  std::memcpy(values.data(), tensor.data.data(), values.size() * sizeof(float));
  return values;
}

Tensor FloatTensor(const std::string& name, const Shape& shape, const std::vector<float>& values) {
  Tensor tensor{{name, DataType::kFloat32, shape}, std::vector<std::byte>(values.size() * sizeof(float))};
  std::memcpy(tensor.data.data(), values.data(), tensor.data.size());
  return tensor;
}

// A sample (ONNX layout) in the converted model's layout.
std::vector<Tensor> InTfliteLayout(const Sample& sample, const std::vector<ConvertedTensor>& inputs) {
  std::vector<Tensor> tensors;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const ConvertedTensor& input = inputs[i];
    tensors.push_back(FloatTensor(input.name, input.tflite_shape,
                                  TransposeData(Floats(sample[i]), input.onnx_shape, input.permutation)));
  }
  return tensors;
}

int64_t Elements(const Shape& shape) {
  int64_t count = 1;
  for (int64_t dim : shape) count *= dim;
  return count;
}

}  // namespace

Expected<TemporaryModel> TemporaryModel::Write(const std::string& bytes, const std::string& extension) {
  std::string path = (std::filesystem::temp_directory_path() / ("edgebench-convert-XXXXXX" + extension)).string();
  const int fd = mkstemps(path.data(), int(extension.size()));
  if (fd < 0) return RuntimeError("cannot create a temporary model file in " + path);
  const bool written = ::write(fd, bytes.data(), bytes.size()) == ssize_t(bytes.size());
  ::close(fd);
  TemporaryModel model(path);
  if (!written) return RuntimeError(path + ": cannot write the temporary model (disk full?)");
  return model;
}

TemporaryModel::~TemporaryModel() {
  if (!path_.empty()) std::filesystem::remove(path_);
}

Expected<LoadedModel> LoadedModel::Open(const std::string& runtime, const std::string& path) {
  auto entry = FindBackend(runtime);
  if (!entry.ok()) return entry.error();
  auto file = InspectModelFile(path);
  if (!file.ok()) return file.error();
  auto options = ValidateOptions((*entry)->describe(), {});
  if (!options.ok()) return options.error();
  LoadedModel model((*entry)->create());
  EB_RETURN_IF_ERROR(model.backend_->Load({*file, 0, *options}));
  return model;
}

Expected<std::vector<Tensor>> LoadedModel::Run(std::vector<Tensor> inputs) {
  const auto specs = backend_->InputSpecs();
  if (specs.size() != inputs.size()) {
    return InvalidArgument("the model has " + std::to_string(specs.size()) + " inputs, the sample " +
                           std::to_string(inputs.size()));
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) inputs[i].spec.name = specs[i].name;
  EB_RETURN_IF_ERROR(backend_->SetInputs(inputs));
  EB_RETURN_IF_ERROR(backend_->RunOnce());
  return backend_->Outputs();
}

Expected<SampleSet> MakeSamples(const std::vector<ConvertedTensor>& inputs, const SampleSettings& settings,
                                SamplePurpose purpose) {
  SampleSet set;
  if (settings.files.empty()) {
    const int count = purpose == SamplePurpose::kCalibration ? settings.random_calibration_samples
                                                             : settings.random_accuracy_samples;
    // Accuracy samples are not the calibration ones (a fresh draw of the same distribution).
    const uint64_t seed = settings.seed + (purpose == SamplePurpose::kAccuracy ? 1000000 : 0);
    for (int s = 0; s < count; ++s) {
      Sample sample;
      for (std::size_t i = 0; i < inputs.size(); ++i) {
        auto tensor = MakeRandomTensor({inputs[i].name, DataType::kFloat32, inputs[i].onnx_shape},
                                       seed + uint64_t(s) * 101 + i);
        if (!tensor.ok()) return tensor.error();
        sample.push_back(std::move(*tensor));
      }
      set.samples.push_back(std::move(sample));
    }
    set.description = std::to_string(count) + " random samples (uniform [0, 1), seed " + std::to_string(seed) + ")";
    return set;
  }
  for (const auto& [name, path] : settings.files) {
    // clang 14 (the fuzz build) cannot capture a structured binding: capture by a named reference.
    if (std::none_of(inputs.begin(), inputs.end(),
                     [&wanted = name](const ConvertedTensor& t) { return t.name == wanted; })) {
      return InvalidArgument("sample file for unknown input '" + name + "' (the model's inputs: " +
                             [&] {
                               std::string names;
                               for (const auto& t : inputs) names += (names.empty() ? "" : ", ") + t.name;
                               return names;
                             }() + ")");
    }
  }
  std::size_t count = 0;
  std::vector<std::string> contents;
  for (const ConvertedTensor& input : inputs) {
    const auto it = settings.files.find(input.name);
    if (it == settings.files.end()) return InvalidArgument("no sample file for input '" + input.name + "'");
    std::ifstream in(it->second, std::ios::binary);
    if (!in) return NotFound(it->second + ": cannot open sample file");
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::size_t sample_bytes = std::size_t(Elements(input.onnx_shape)) * sizeof(float);
    if (bytes.empty() || bytes.size() % sample_bytes != 0) {
      return InvalidArgument(it->second + ": input '" + input.name + "' takes samples of " +
                             std::to_string(sample_bytes) + " bytes (" + FormatShape(input.onnx_shape) +
                             " float32); the file has " + std::to_string(bytes.size()));
    }
    const std::size_t file_count = bytes.size() / sample_bytes;
    if (count != 0 && file_count != count) {
      return InvalidArgument(it->second + ": " + std::to_string(file_count) + " samples, the other inputs' files " +
                             std::to_string(count));
    }
    count = file_count;
    contents.push_back(std::move(bytes));
  }
  for (std::size_t s = 0; s < count; ++s) {
    Sample sample;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const std::size_t sample_bytes = contents[i].size() / count;
      Tensor tensor{{inputs[i].name, DataType::kFloat32, inputs[i].onnx_shape}, std::vector<std::byte>(sample_bytes)};
      std::memcpy(tensor.data.data(), contents[i].data() + s * sample_bytes, sample_bytes);
      sample.push_back(std::move(tensor));
    }
    set.samples.push_back(std::move(sample));
  }
  set.description = std::to_string(count) + " samples from files";
  return set;
}

Expected<std::map<int, ValueRange>> Calibrate(const std::string& model, const std::vector<ConvertedTensor>& inputs,
                                              const SampleSet& samples) {
  if (samples.samples.empty()) return InvalidArgument("int8 calibration needs at least one sample");
  auto calibration = WithActivationsAsOutputs(model);
  if (!calibration.ok()) return calibration.error();
  auto file = TemporaryModel::Write(calibration->model, ".tflite");
  if (!file.ok()) return file.error();
  auto loaded = LoadedModel::Open("tflite", file->path());
  if (!loaded.ok()) return Error{loaded.error().code, "int8 calibration runs on tflite: " + loaded.error().message};
  std::map<int, ValueRange> ranges;
  auto widen = [&](int tensor, const std::vector<float>& values) { WidenRange(ranges, tensor, values); };
  for (const Sample& sample : samples.samples) {
    std::vector<Tensor> tensors = InTfliteLayout(sample, inputs);
    for (std::size_t i = 0; i < tensors.size() && i < calibration->inputs.size(); ++i) {
      widen(calibration->inputs[i], Floats(tensors[i]));
    }
    auto outputs = loaded->Run(std::move(tensors));
    if (!outputs.ok()) return Error{outputs.error().code, "int8 calibration: " + outputs.error().message};
    if (outputs->size() != calibration->outputs.size()) return Internal("calibration model lost outputs");
    for (std::size_t i = 0; i < outputs->size(); ++i) widen(calibration->outputs[i], Floats((*outputs)[i]));
  }
  return ranges;
}

Expected<AccuracyCost> MeasureAccuracy(const std::string& onnx_path, const ConversionReport& report,
                                       const SampleSet& samples) {
  auto reference = LoadedModel::Open("onnxruntime", onnx_path);
  if (!reference.ok()) return reference.error();
  const bool tflite = report.target == ConvertTarget::kTflite;
  auto file = TemporaryModel::Write(report.model, tflite ? ".tflite" : ".onnx");
  if (!file.ok()) return file.error();
  const std::string runtime = tflite ? "tflite" : "onnxruntime";
  auto converted = LoadedModel::Open(runtime, file->path());
  if (!converted.ok()) return converted.error();
  AccuracyCost cost;
  cost.runtime = runtime;
  cost.reference_runtime = "onnxruntime";
  cost.inputs = samples.description;
  cost.samples = int(samples.samples.size());
  double abs_sum = 0, reference_max = 0, top1_sum = 0;
  int64_t elements = 0, top1_count = 0;
  for (const Sample& sample : samples.samples) {
    auto expected = reference->Run(sample);
    if (!expected.ok()) return Error{expected.error().code, "onnxruntime: " + expected.error().message};
    auto actual = converted->Run(InTfliteLayout(sample, report.inputs));
    if (!actual.ok()) return Error{actual.error().code, runtime + ": " + actual.error().message};
    if (actual->size() != report.outputs.size()) return Internal("the converted model's outputs changed");
    // Back to the ONNX layout, so that elements pair up.
    for (std::size_t i = 0; i < actual->size(); ++i) {
      const ConvertedTensor& out = report.outputs[i];
      (*actual)[i] = FloatTensor(out.name, out.onnx_shape,
                                 TransposeData(Floats((*actual)[i]), out.tflite_shape, InversePermutation(out.permutation)));
    }
    auto comparisons = CompareOutputs(*actual, *expected);
    if (!comparisons.ok()) return comparisons.error();
    for (std::size_t i = 0; i < comparisons->size(); ++i) {
      const OutputComparison& c = (*comparisons)[i];
      cost.max_abs_error = std::max(cost.max_abs_error, c.max_abs_error);
      if (c.top1_agreement) {
        top1_sum += *c.top1_agreement;
        ++top1_count;
      }
      const std::vector<double> a = TensorValues((*actual)[i]), b = TensorValues((*expected)[i]);
      for (std::size_t k = 0; k < a.size(); ++k) {
        abs_sum += std::fabs(a[k] - b[k]);
        reference_max = std::max(reference_max, std::fabs(b[k]));
      }
      elements += int64_t(a.size());
    }
  }
  cost.mean_abs_error = elements > 0 ? abs_sum / double(elements) : 0;
  cost.max_rel_error = reference_max > 0 ? cost.max_abs_error / reference_max : 0;
  if (top1_count > 0) cost.top1_agreement = top1_sum / double(top1_count);
  return cost;
}

}  // namespace edgebench::convert
