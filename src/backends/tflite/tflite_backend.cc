// The TensorFlow Lite backend over the TFLite C API (2.2, as shipped by npm node-tflite).
//
// Model integrity. TfLiteModelCreate runs the flatbuffer verifier: truncated files, random bytes
// and out-of-bounds offsets, vtables, vectors and strings are rejected (returns null). The
// verifier does not check what the indices inside a well-formed flatbuffer refer to, nor operator
// parameters and shapes, and TFLite 2.2's interpreter and kernels trust several of them (a zero
// stride is a SIGFPE): tfl::CheckStructure (src/tflite_schema) checks them first, for every
// subgraph. Kernels it has no rule for still trust their inputs.
#include <tensorflow/lite/c/c_api.h>

#include <algorithm>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "edgebench/backend.h"
#include "tflite_schema.h"

namespace edgebench::backends::tflite {
namespace {

Expected<DataType> FromTfLiteType(TfLiteType type) {
  switch (type) {
    case kTfLiteFloat32:
      return DataType::kFloat32;
    case kTfLiteFloat16:
      return DataType::kFloat16;
    case kTfLiteInt8:
      return DataType::kInt8;
    case kTfLiteUInt8:
      return DataType::kUInt8;
    case kTfLiteInt16:
      return DataType::kInt16;
    case kTfLiteInt32:
      return DataType::kInt32;
    case kTfLiteInt64:
      return DataType::kInt64;
    case kTfLiteBool:
      return DataType::kBool;
    default:
      return Unsupported("TfLiteType " + std::to_string(static_cast<int>(type)));
  }
}

std::vector<int64_t> TensorShape(const TfLiteTensor* tensor) {
  std::vector<int64_t> shape(static_cast<size_t>(TfLiteTensorNumDims(tensor)));
  for (size_t d = 0; d < shape.size(); ++d) {
    shape[d] = TfLiteTensorDim(tensor, static_cast<int32_t>(d));
  }
  return shape;
}

Expected<TensorSpec> TensorSpecOf(const TfLiteTensor* tensor, const std::string& fallback_name) {
  auto type = FromTfLiteType(TfLiteTensorType(tensor));
  if (!type.ok()) return type.error();
  const char* name = TfLiteTensorName(tensor);
  return TensorSpec{.name = name && *name ? name : fallback_name,
                    .type = *type,
                    .shape = TensorShape(tensor),
                    .rank_known = true};
}

struct InterpreterDeleter {
  void operator()(TfLiteInterpreter* interpreter) const { TfLiteInterpreterDelete(interpreter); }
};
struct ModelDeleter {
  void operator()(TfLiteModel* model) const { TfLiteModelDelete(model); }
};
struct OptionsDeleter {
  void operator()(TfLiteInterpreterOptions* options) const {
    TfLiteInterpreterOptionsDelete(options);
  }
};

class TfliteBackend final : public Backend {
 public:
  Status Load(const LoadRequest& request) override {
    path_ = request.model.path;
    // TFLite 2.2's C API has no log threshold; its error reports come to Report and into errors.
    SetLogLevel(request.log_level);
    std::ifstream file(path_, std::ios::binary);
    if (!file) return NotFound(path_ + ": cannot open");
    model_data_.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    if (file.bad()) return BadModel(path_ + ": read error");

    // TFLite 2.2 prints the verifier's complaint to stderr; it cannot be captured here.
    model_.reset(TfLiteModelCreate(model_data_.data(), model_data_.size()));
    if (!model_) {
      return BadModel(path_ +
                      ": not a valid TensorFlow Lite flatbuffer (rejected by the "
                      "TFLite verifier: truncated or corrupt)");
    }
    auto read = tfl::ReadModel(std::string_view(model_data_.data(), model_data_.size()));
    Status structure = read.ok() ? tfl::CheckStructure(**read) : Status(read.error());
    if (!structure.ok()) return BadModel(path_ + ": " + structure.error().message);

    std::unique_ptr<TfLiteInterpreterOptions, OptionsDeleter> options(
        TfLiteInterpreterOptionsCreate());
    if (request.threads > 0) TfLiteInterpreterOptionsSetNumThreads(options.get(), request.threads);
    TfLiteInterpreterOptionsSetErrorReporter(options.get(), &TfliteBackend::Report, this);
    reported_.clear();
    interpreter_.reset(TfLiteInterpreterCreate(model_.get(), options.get()));
    if (!interpreter_) return InterpreterError("TFLite cannot build an interpreter");
    if (TfLiteInterpreterAllocateTensors(interpreter_.get()) != kTfLiteOk) {
      return InterpreterError("TFLite cannot prepare the model");
    }

    input_specs_.clear();
    for (int32_t i = 0; i < TfLiteInterpreterGetInputTensorCount(interpreter_.get()); ++i) {
      auto spec = TensorSpecOf(TfLiteInterpreterGetInputTensor(interpreter_.get(), i),
                               "input" + std::to_string(i));
      if (!spec.ok())
        return Unsupported(path_ + ": input " + std::to_string(i) + ": " + spec.error().message);
      input_specs_.push_back(std::move(*spec));
    }
    output_specs_.clear();
    for (int32_t i = 0; i < TfLiteInterpreterGetOutputTensorCount(interpreter_.get()); ++i) {
      auto spec = TensorSpecOf(TfLiteInterpreterGetOutputTensor(interpreter_.get(), i),
                               "output" + std::to_string(i));
      if (!spec.ok())
        return Unsupported(path_ + ": output " + std::to_string(i) + ": " + spec.error().message);
      output_specs_.push_back(std::move(*spec));
    }
    return OkStatus();
  }

  std::vector<TensorSpec> InputSpecs() const override { return input_specs_; }
  std::vector<TensorSpec> OutputSpecs() const override { return output_specs_; }

  // An input whose shape differs from the interpreter's current one is resized
  // (TfLiteInterpreterResizeInputTensor) and the tensors are reallocated before copying.
  Status SetInputs(const std::vector<Tensor>& inputs) override {
    if (inputs.size() != input_specs_.size()) {
      return InvalidArgument(path_ + ": the model takes " + std::to_string(input_specs_.size()) +
                             " inputs, got " + std::to_string(inputs.size()));
    }
    reported_.clear();
    std::string resized;  // "name=shape" of each resized input
    for (size_t i = 0; i < inputs.size(); ++i) {
      const auto index = static_cast<int32_t>(i);
      const TensorSpec& spec = input_specs_[i];
      if (inputs[i].spec.type != spec.type) {
        return InvalidArgument(path_ + ": input " + spec.name + " is " +
                               std::string(DataTypeName(spec.type)) + ", got " +
                               std::string(DataTypeName(inputs[i].spec.type)));
      }
      const std::vector<int64_t>& shape = inputs[i].spec.shape;
      if (shape == TensorShape(TfLiteInterpreterGetInputTensor(interpreter_.get(), index))) {
        continue;
      }
      if (std::any_of(shape.begin(), shape.end(),
                      [](int64_t dim) { return dim < 0 || dim > INT32_MAX; })) {
        return InvalidArgument(path_ + ": input " + spec.name + ": shape " + FormatShape(shape) +
                               " has a dim outside [0, 2^31)");
      }
      std::vector<int> dims(shape.begin(), shape.end());
      if (TfLiteInterpreterResizeInputTensor(interpreter_.get(), index, dims.data(),
                                             static_cast<int32_t>(dims.size())) != kTfLiteOk) {
        return InvalidArgument(path_ + ": cannot resize input " + spec.name + " to " +
                               FormatShape(shape) + ": " + TakeReported());
      }
      resized += (resized.empty() ? "" : ", ") + spec.name + "=" + FormatShape(shape);
    }
    if (!resized.empty() && TfLiteInterpreterAllocateTensors(interpreter_.get()) != kTfLiteOk) {
      return InvalidArgument(path_ + ": the model does not accept " + resized + ": " +
                             TakeReported());
    }
    for (size_t i = 0; i < inputs.size(); ++i) {
      TfLiteTensor* tensor =
          TfLiteInterpreterGetInputTensor(interpreter_.get(), static_cast<int32_t>(i));
      if (TfLiteTensorCopyFromBuffer(tensor, inputs[i].data.data(), inputs[i].data.size()) !=
          kTfLiteOk) {
        return InvalidArgument(path_ + ": input " + input_specs_[i].name + ": " +
                               std::to_string(inputs[i].data.size()) +
                               " bytes given, the tensor "
                               "holds " +
                               std::to_string(TfLiteTensorByteSize(tensor)));
      }
    }
    return OkStatus();
  }

  Status RunOnce() override {
    reported_.clear();
    if (TfLiteInterpreterInvoke(interpreter_.get()) != kTfLiteOk) {
      return RuntimeError(path_ + ": TfLiteInterpreterInvoke failed: " + TakeReported());
    }
    return OkStatus();
  }

  Expected<std::vector<Tensor>> Outputs() override {
    std::vector<Tensor> outputs;
    for (int32_t i = 0; i < TfLiteInterpreterGetOutputTensorCount(interpreter_.get()); ++i) {
      const TfLiteTensor* tensor = TfLiteInterpreterGetOutputTensor(interpreter_.get(), i);
      auto spec = TensorSpecOf(tensor, "output" + std::to_string(i));
      if (!spec.ok())
        return Unsupported(path_ + ": output " + std::to_string(i) + ": " + spec.error().message);
      Tensor output{.spec = std::move(*spec),
                    .data = std::vector<std::byte>(TfLiteTensorByteSize(tensor))};
      if (TfLiteTensorCopyToBuffer(tensor, output.data.data(), output.data.size()) != kTfLiteOk) {
        return RuntimeError(path_ + ": cannot copy output " + output.spec.name);
      }
      outputs.push_back(std::move(output));
    }
    return outputs;
  }

 private:
  // TFLite's error reporter callback: appends one message (user_data is the backend).
  static void Report(void* user_data, const char* format, va_list args) {
    va_list copy;
    va_copy(copy, args);
    const int length = std::vsnprintf(nullptr, 0, format, copy);
    va_end(copy);
    if (length < 0) return;
    std::string message(static_cast<size_t>(length) + 1, '\0');
    std::vsnprintf(message.data(), message.size(), format, args);
    message.resize(static_cast<size_t>(length));
    message.erase(message.find_last_not_of(" \n") + 1);  // TFLite ends some messages with \n
    static_cast<TfliteBackend*>(user_data)->reported_.push_back(std::move(message));
  }

  // A failure to build or prepare a model that passed the checks: Unsupported when TFLite lacks
  // an operator (a custom op, or a newer builtin version than this runtime has), else BadModel.
  Error InterpreterError(const std::string& step) {
    const std::string reported = TakeReported();
    const std::string message = path_ + ": " + step + ": " + reported;
    const bool missing_op = reported.find("unresolved custom op") != std::string::npos ||
                            reported.find("Didn't find op for builtin opcode") != std::string::npos;
    return missing_op ? Unsupported(message) : BadModel(message);
  }

  // The messages reported since the last clear, joined on one line; clears them.
  std::string TakeReported() {
    std::string text;
    for (const std::string& message : reported_) {
      if (!text.empty()) text += "; ";
      text += message;
    }
    reported_.clear();
    for (char& c : text) {
      if (c == '\n') c = ' ';
    }
    return text.empty() ? "no details reported" : text;
  }

  std::string path_;
  std::vector<std::string> reported_;
  // Declaration order is destruction order reversed: the interpreter goes before the model, and
  // the model before the bytes it points into.
  std::vector<char> model_data_;
  std::unique_ptr<TfLiteModel, ModelDeleter> model_;
  std::unique_ptr<TfLiteInterpreter, InterpreterDeleter> interpreter_;
  std::vector<TensorSpec> input_specs_;
  std::vector<TensorSpec> output_specs_;
};

}  // namespace

BackendInfo Describe() {
  BackendInfo info;
  info.name = "tflite";
  info.version = TfLiteVersion();
  info.formats = {ModelFormat::kTflite};
  info.op_profiling = false;
  int major = 0;
  int minor = 0;
  if (std::sscanf(info.version.c_str(), "%d.%d", &major, &minor) == 2 &&
      (major < 2 || (major == 2 && minor < 3))) {
    info.notes.push_back("TFLite " + info.version +
                         " trusts model files more than later "
                         "releases (e.g. CVE-2020-15211): edgebench checks a model's structure "
                         "and the parameters of common operators (docs/inspect.md), not every "
                         "kernel's, so run trusted files");
  }
  return info;
}

std::unique_ptr<Backend> Create() { return std::make_unique<TfliteBackend>(); }

}  // namespace edgebench::backends::tflite
