// Calibration and the accuracy check (samples.h): both feed representative inputs through real
// runtimes from the registry.
#include "samples.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

#include <onnx/onnx_pb.h>

#include "edgebench/model_file.h"
#include "edgebench/registry.h"
#include "edgebench/verify.h"
#include "edgebench/text.h"
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

// A sample file's float32 values as raw bytes: the file itself, or for a `.pb` file the data of
// the ONNX TensorProto it holds (the format of the conformance suite's input_N.pb, output_N.pb).
Expected<std::string> ReadSampleBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(path + ": cannot open sample file");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (std::filesystem::path(path).extension() != ".pb") return bytes;
  onnx::TensorProto tensor;
  if (!tensor.ParseFromString(bytes)) return InvalidArgument(path + ": not an ONNX TensorProto (.pb)");
  if (tensor.data_type() != onnx::TensorProto::FLOAT) {
    return InvalidArgument(path + ": tensor '" + tensor.name() + "' is not float32");
  }
  if (tensor.has_raw_data()) return tensor.raw_data();
  std::string floats(std::size_t(tensor.float_data_size()) * sizeof(float), '\0');
  std::memcpy(floats.data(), tensor.float_data().data(), floats.size());
  return floats;
}

std::string Names(const std::vector<ConvertedTensor>& tensors) {
  std::vector<std::string> names;
  for (const auto& t : tensors) names.push_back(t.name);
  return Join(names, ", ");
}

// One file per tensor (by name), each holding the same number of samples back to back.
// `kind` is "input" or "output" (for messages).
Expected<std::vector<Sample>> ReadSampleFiles(const std::vector<ConvertedTensor>& tensors,
                                              const std::map<std::string, std::string>& files,
                                              const std::string& kind) {
  for (const auto& [name, path] : files) {
    // clang 14 (the fuzz build) cannot capture a structured binding: capture a named reference.
    if (std::none_of(tensors.begin(), tensors.end(), [&wanted = name](const ConvertedTensor& t) { return t.name == wanted; })) {
      return InvalidArgument("sample file for unknown " + kind + " '" + name + "' (the model's " + kind +
                             "s: " + Names(tensors) + ")");
    }
  }
  std::size_t count = 0;
  std::vector<std::string> contents;
  for (const ConvertedTensor& tensor : tensors) {
    const auto it = files.find(tensor.name);
    if (it == files.end()) return InvalidArgument("no sample file for " + kind + " '" + tensor.name + "'");
    auto bytes = ReadSampleBytes(it->second);
    if (!bytes.ok()) return bytes.error();
    const std::size_t sample_bytes = std::size_t(Elements(tensor.onnx_shape)) * sizeof(float);
    if (bytes->empty() || sample_bytes == 0 || bytes->size() % sample_bytes != 0) {
      return InvalidArgument(it->second + ": " + kind + " '" + tensor.name + "' takes samples of " +
                             std::to_string(sample_bytes) + " bytes (" + FormatShape(tensor.onnx_shape) +
                             " float32); the file has " + std::to_string(bytes->size()));
    }
    const std::size_t file_count = bytes->size() / sample_bytes;
    if (count != 0 && file_count != count) {
      return InvalidArgument(it->second + ": " + std::to_string(file_count) + " samples, the other " + kind +
                             "s' files " + std::to_string(count));
    }
    count = file_count;
    contents.push_back(std::move(*bytes));
  }
  std::vector<Sample> samples;
  for (std::size_t s = 0; s < count; ++s) {
    Sample sample;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      const std::size_t sample_bytes = contents[i].size() / count;
      Tensor tensor{{tensors[i].name, DataType::kFloat32, tensors[i].onnx_shape}, std::vector<std::byte>(sample_bytes)};
      std::memcpy(tensor.data.data(), contents[i].data() + s * sample_bytes, sample_bytes);
      sample.push_back(std::move(tensor));
    }
    samples.push_back(std::move(sample));
  }
  return samples;
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
  auto samples = ReadSampleFiles(inputs, settings.files, "input");
  if (!samples.ok()) return samples.error();
  set.samples = std::move(*samples);
  set.description = std::to_string(set.samples.size()) + " samples from files";
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

namespace {

// The ONNX model's outputs for every sample on `runtime`.
Expected<std::vector<std::vector<Tensor>>> RunOnnx(const std::string& runtime, const std::string& onnx_path,
                                                  const SampleSet& samples) {
  auto model = LoadedModel::Open(runtime, onnx_path);
  if (!model.ok()) return model.error();
  std::vector<std::vector<Tensor>> outputs;
  for (const Sample& sample : samples.samples) {
    auto out = model->Run(sample);
    if (!out.ok()) return out.error();
    outputs.push_back(std::move(*out));
  }
  return outputs;
}

}  // namespace

Expected<AccuracyCost> MeasureAccuracy(const std::string& onnx_path, const ConversionReport& report,
                                       const SampleSet& samples,
                                       const std::map<std::string, std::string>& expected_files) {
  std::optional<std::vector<Sample>> expected_outputs;
  if (!expected_files.empty()) {
    auto read = ReadSampleFiles(report.outputs, expected_files, "output");
    if (!read.ok()) return read.error();
    if (read->size() != samples.samples.size()) {
      return InvalidArgument("the expected-output files hold " + std::to_string(read->size()) +
                             " samples, the input files " + std::to_string(samples.samples.size()));
    }
    expected_outputs = std::move(*read);
  }
  // The reference: onnxruntime, else the expected outputs, else OpenCV DNN.
  std::string reference_name;
  std::vector<std::vector<Tensor>> reference_outputs;
  std::vector<std::string> refusals;
  if (auto ran = RunOnnx("onnxruntime", onnx_path, samples); ran.ok()) {
    reference_name = "onnxruntime";
    reference_outputs = std::move(*ran);
  } else {
    refusals.push_back("onnxruntime: " + ran.error().message);
    if (expected_outputs) {
      reference_name = "expected outputs";
      reference_outputs = std::move(*expected_outputs);
    } else if (auto cv = RunOnnx("opencv", onnx_path, samples); cv.ok()) {
      reference_name = "opencv";
      reference_outputs = std::move(*cv);
    } else {
      refusals.push_back("no expected outputs given");
      refusals.push_back("opencv: " + cv.error().message);
    }
  }
  if (reference_name.empty()) return Unsupported("no reference ran the source model (" + Join(refusals, "; ") + ")");
  const bool tflite = report.target == ConvertTarget::kTflite;
  auto file = TemporaryModel::Write(report.model, tflite ? ".tflite" : ".onnx");
  if (!file.ok()) return file.error();
  const std::string runtime = tflite ? "tflite" : "onnxruntime";
  auto converted = LoadedModel::Open(runtime, file->path());
  if (!converted.ok()) return converted.error();
  AccuracyCost cost;
  cost.runtime = runtime;
  cost.reference_runtime = reference_name;
  cost.inputs = samples.description;
  cost.samples = int(samples.samples.size());
  double abs_sum = 0, reference_max = 0, top1_sum = 0;
  int64_t elements = 0, top1_count = 0;
  for (std::size_t s = 0; s < samples.samples.size(); ++s) {
    const Sample& sample = samples.samples[s];
    const std::vector<Tensor>* expected = &reference_outputs[s];
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
