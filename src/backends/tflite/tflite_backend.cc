// The TensorFlow Lite backend over the TFLite C API (2.2, as shipped by npm node-tflite).
//
// Model integrity. TfLiteModelCreate runs the flatbuffer verifier: truncated files, random bytes
// and out-of-bounds offsets, vtables, vectors and strings are rejected (returns null). The
// verifier does not check what the indices inside a well-formed flatbuffer refer to, and TFLite
// 2.2's interpreter trusts several of them, so CheckGraph adds, for every subgraph: tensor,
// buffer and opcode indices are in range, and in execution order every operator input is
// defined (a subgraph input, a constant, a variable, an earlier operator's output, or -1 for an
// omitted optional input) and every operator output is written exactly once and is not an
// input or constant. Not verified: builtin option values (a zero stride), a required input
// given as -1, and shapes inconsistent with an operator: such a crafted file can still crash
// TFLite 2.2's kernels.
#include <tensorflow/lite/c/c_api.h>

#include <algorithm>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "edgebench/backend.h"

namespace edgebench::backends::tflite {
namespace {

// Reads fields of a flatbuffer that TFLite's verifier has accepted, so every offset, vtable and
// vector read here is known to lie inside the buffer. Only fields of the TFLite schema that the
// 2.2 verifier checks may be read (see tensorflow/lite/schema/schema.fbs).
class VerifiedFlatbuffer {
 public:
  explicit VerifiedFlatbuffer(const char* data) : data_(data) {}

  uint32_t Root() const { return U32(0); }

  // Position of field `index` of the table at `table`, or 0 when absent.
  uint32_t Field(uint32_t table, int index) const {
    const uint32_t vtable = table - static_cast<uint32_t>(I32(table));
    const uint16_t vtable_size = U16(vtable);
    const uint32_t entry = 4 + 2 * static_cast<uint32_t>(index);
    if (entry >= vtable_size) return 0;
    const uint16_t offset = U16(vtable + entry);
    return offset == 0 ? 0 : table + offset;
  }
  uint32_t U32Field(uint32_t table, int index, uint32_t default_value) const {
    const uint32_t at = Field(table, index);
    return at == 0 ? default_value : U32(at);
  }
  bool BoolField(uint32_t table, int index) const {
    const uint32_t at = Field(table, index);
    return at != 0 && data_[at] != 0;
  }
  // Element count and first element position of a vector field; {0, 0} when absent.
  std::pair<uint32_t, uint32_t> Vector(uint32_t table, int index) const {
    const uint32_t at = Field(table, index);
    if (at == 0) return {0, 0};
    const uint32_t vector = at + U32(at);
    return {U32(vector), vector + 4};
  }
  std::vector<uint32_t> Tables(uint32_t table, int index) const {
    const auto [count, first] = Vector(table, index);
    std::vector<uint32_t> tables(count);
    for (uint32_t i = 0; i < count; ++i) tables[i] = first + 4 * i + U32(first + 4 * i);
    return tables;
  }
  std::vector<int32_t> Ints(uint32_t table, int index) const {
    const auto [count, first] = Vector(table, index);
    std::vector<int32_t> ints(count);
    for (uint32_t i = 0; i < count; ++i) ints[i] = I32(first + 4 * i);
    return ints;
  }

 private:
  uint32_t U32(uint32_t at) const {
    uint32_t value;
    std::memcpy(&value, data_ + at, sizeof value);
    return value;
  }
  int32_t I32(uint32_t at) const { return static_cast<int32_t>(U32(at)); }
  uint16_t U16(uint32_t at) const {
    uint16_t value;
    std::memcpy(&value, data_ + at, sizeof value);
    return value;
  }

  const char* data_;
};

// Field indices in tensorflow/lite/schema/schema.fbs (TFLite 2.2).
enum ModelField { kModelOperatorCodes = 1, kModelSubgraphs = 2, kModelBuffers = 4 };
enum SubGraphField {
  kSubGraphTensors = 0,
  kSubGraphInputs = 1,
  kSubGraphOutputs = 2,
  kSubGraphOperators = 3
};
enum TensorField { kTensorBuffer = 2, kTensorIsVariable = 5 };
enum OperatorField { kOperatorOpcodeIndex = 0, kOperatorInputs = 1, kOperatorOutputs = 2 };
enum BufferField { kBufferData = 0 };

// The graph checks described at the top of this file. `data` must have passed TFLite's verifier.
// Returns a one-line description of the first violation.
Status CheckGraph(const char* data) {
  const VerifiedFlatbuffer fb(data);
  const uint32_t model = fb.Root();
  const uint32_t opcode_count = fb.Vector(model, kModelOperatorCodes).first;
  const std::vector<uint32_t> buffers = fb.Tables(model, kModelBuffers);
  const std::vector<uint32_t> subgraphs = fb.Tables(model, kModelSubgraphs);
  if (subgraphs.empty()) return BadModel("the model has no subgraph");

  for (size_t s = 0; s < subgraphs.size(); ++s) {
    const std::string where = "subgraph " + std::to_string(s);
    const std::vector<uint32_t> tensors = fb.Tables(subgraphs[s], kSubGraphTensors);
    const auto tensor_count = static_cast<int64_t>(tensors.size());
    std::vector<bool> defined(tensors.size(), false);
    for (size_t t = 0; t < tensors.size(); ++t) {
      const uint32_t buffer = fb.U32Field(tensors[t], kTensorBuffer, 0);
      if (buffer >= buffers.size()) {
        return BadModel(where + ": tensor " + std::to_string(t) + " refers to buffer " +
                        std::to_string(buffer) + " of " + std::to_string(buffers.size()));
      }
      defined[t] = fb.Vector(buffers[buffer], kBufferData).first > 0 ||
                   fb.BoolField(tensors[t], kTensorIsVariable);
    }
    for (const int32_t input : fb.Ints(subgraphs[s], kSubGraphInputs)) {
      if (input < 0 || input >= tensor_count) {
        return BadModel(where + ": input tensor index " + std::to_string(input) + " out of range");
      }
      defined[input] = true;
    }
    const std::vector<uint32_t> operators = fb.Tables(subgraphs[s], kSubGraphOperators);
    for (size_t o = 0; o < operators.size(); ++o) {
      const std::string op = where + ": operator " + std::to_string(o);
      if (fb.U32Field(operators[o], kOperatorOpcodeIndex, 0) >= opcode_count) {
        return BadModel(op + ": opcode index out of range");
      }
      for (const int32_t input : fb.Ints(operators[o], kOperatorInputs)) {
        if (input == -1) continue;
        if (input < 0 || input >= tensor_count) {
          return BadModel(op + ": input tensor index " + std::to_string(input) + " out of range");
        }
        if (!defined[input]) {
          return BadModel(op + ": reads tensor " + std::to_string(input) +
                          " before anything writes it");
        }
      }
      for (const int32_t output : fb.Ints(operators[o], kOperatorOutputs)) {
        if (output < 0 || output >= tensor_count) {
          return BadModel(op + ": output tensor index " + std::to_string(output) + " out of range");
        }
        if (defined[output]) {
          return BadModel(op + ": writes tensor " + std::to_string(output) +
                          ", which is an input, a constant or already written");
        }
        defined[output] = true;
      }
    }
    for (const int32_t output : fb.Ints(subgraphs[s], kSubGraphOutputs)) {
      if (output < 0 || output >= tensor_count || !defined[output]) {
        return BadModel(where + ": output tensor " + std::to_string(output) +
                        " is out of range or never written");
      }
    }
  }
  return OkStatus();
}

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
    if (Status status = CheckGraph(model_data_.data()); !status.ok()) {
      return BadModel(path_ + ": " + status.error().message);
    }

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
                         "but not its operator parameters, so run trusted files");
  }
  return info;
}

std::unique_ptr<Backend> Create() { return std::make_unique<TfliteBackend>(); }

}  // namespace edgebench::backends::tflite
