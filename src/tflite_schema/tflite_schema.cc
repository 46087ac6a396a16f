#include "tflite_schema.h"

#include <algorithm>
#include <initializer_list>
#include <utility>
#include <vector>

#include "edgebench/tensor.h"

namespace edgebench::tfl {
namespace {

constexpr int64_t kMaxElements = int64_t{1} << 40;

std::vector<int64_t> Dims(const Tensor& tensor) {
  return tensor.shape() ? std::vector<int64_t>(tensor.shape()->begin(), tensor.shape()->end())
                        : std::vector<int64_t>();
}

// The element count of non-negative `dims` when at most kMaxElements.
std::optional<int64_t> Elements(const std::vector<int64_t>& dims) {
  int64_t count = 1;
  for (int64_t dim : dims) {
    if (dim < 0 || (dim != 0 && count > kMaxElements / dim)) return std::nullopt;
    count *= dim;
  }
  return count;
}

// Checks of one subgraph; every index was found in range before an operator's rules run.
class SubgraphCheck {
 public:
  SubgraphCheck(const Model& model, const SubGraph& subgraph, std::size_t index)
      : model_(model), subgraph_(subgraph), where_("subgraph " + std::to_string(index)) {}

  Status Run() {
    EB_RETURN_IF_ERROR(CheckTensors());
    const int64_t tensor_count = int64_t(dims_.size());
    if (subgraph_.inputs()) {
      for (int32_t input : *subgraph_.inputs()) {
        if (input < 0 || input >= tensor_count) {
          return BadModel(where_ + ": input tensor index " + std::to_string(input) + " out of range");
        }
        fixed_[input] = readable_[input] = true;
      }
    }
    const auto* operators = subgraph_.operators();
    const uint32_t code_count = model_.operator_codes() ? model_.operator_codes()->size() : 0;
    for (uint32_t o = 0; operators && o < operators->size(); ++o) {
      const Operator& op = *operators->Get(o);
      if (op.opcode_index() >= code_count) {
        return BadModel(where_ + ": operator " + std::to_string(o) + ": operator code " +
                        std::to_string(op.opcode_index()) + " of " + std::to_string(code_count));
      }
      const OperatorCode& code = *model_.operator_codes()->Get(op.opcode_index());
      const BuiltinOperator builtin = BuiltinCode(code);
      const std::string name = EnumNameBuiltinOperator(builtin);
      const std::string at = where_ + ": operator " + std::to_string(o) + " (" +
                             (name.empty() ? "BUILTIN_" + std::to_string(builtin) : name) + ")";
      EB_RETURN_IF_ERROR(CheckDataFlow(op, at));
      if (builtin != BuiltinOperator_CUSTOM) EB_RETURN_IF_ERROR(CheckParameters(op, builtin, code.version(), at));
    }
    if (subgraph_.outputs()) {
      for (int32_t output : *subgraph_.outputs()) {
        if (output < 0 || output >= tensor_count || !readable_[output]) {
          return BadModel(where_ + ": output tensor " + std::to_string(output) +
                          " is out of range or never written");
        }
      }
    }
    return OkStatus();
  }

 private:
  std::string TensorName(std::size_t index) const {
    const Tensor& tensor = *subgraph_.tensors()->Get(uint32_t(index));
    return "tensor " + std::to_string(index) + (tensor.name() ? " ('" + tensor.name()->str() + "')" : "");
  }

  Status CheckTensors() {
    const auto* tensors = subgraph_.tensors();
    const uint32_t buffer_count = model_.buffers() ? model_.buffers()->size() : 0;
    for (uint32_t t = 0; tensors && t < tensors->size(); ++t) {
      const Tensor& tensor = *tensors->Get(t);
      std::vector<int64_t> dims = Dims(tensor);
      const auto count = Elements(dims);
      if (!count) {
        return BadModel(where_ + ": " + TensorName(t) + " has shape " + FormatShape(dims) +
                        (std::any_of(dims.begin(), dims.end(), [](int64_t d) { return d < 0; })
                             ? ", a negative dimension"
                             : ", more than 2^40 elements"));
      }
      if (tensor.buffer() != 0 && tensor.buffer() >= buffer_count) {
        return BadModel(where_ + ": " + TensorName(t) + " refers to buffer " + std::to_string(tensor.buffer()) +
                        " of " + std::to_string(buffer_count));
      }
      const Buffer* buffer = tensor.buffer() < buffer_count ? model_.buffers()->Get(tensor.buffer()) : nullptr;
      const std::size_t data_size = buffer && buffer->data() ? buffer->data()->size() : 0;
      const int64_t element_size = TensorTypeSize(tensor.type());
      // Sparse tensors and packed int4 (two per byte) store fewer bytes than their shape.
      if (data_size > 0 && element_size > 0 && !tensor.sparsity() && tensor.type() != TensorType_INT4 &&
          int64_t(data_size) != *count * element_size) {
        return BadModel(where_ + ": " + TensorName(t) + " holds " + std::to_string(data_size) +
                        " bytes of data, its shape " + FormatShape(dims) + " of " + EnumNameTensorType(tensor.type()) +
                        " needs " + std::to_string(*count * element_size));
      }
      // A constant or a variable needs no writer and must not get one; a tensor of no elements
      // needs none (there is nothing to read) but may get one.
      fixed_.push_back(data_size > 0 || tensor.is_variable());
      readable_.push_back(fixed_.back() || *count == 0);
      constant_.push_back(data_size > 0);
      dims_.push_back(std::move(dims));
    }
    return OkStatus();
  }

  Status CheckDataFlow(const Operator& op, const std::string& at) {
    const int64_t tensor_count = int64_t(dims_.size());
    if (op.inputs()) {
      for (int32_t input : *op.inputs()) {
        if (input == -1) continue;
        if (input < 0 || input >= tensor_count) {
          return BadModel(at + ": input tensor index " + std::to_string(input) + " out of range");
        }
        if (!readable_[input]) return BadModel(at + ": reads " + TensorName(input) + " before anything writes it");
      }
    }
    if (op.outputs()) {
      for (int32_t output : *op.outputs()) {
        if (output < 0 || output >= tensor_count) {
          return BadModel(at + ": output tensor index " + std::to_string(output) + " out of range");
        }
        if (fixed_[output]) {
          return BadModel(at + ": writes " + TensorName(output) +
                          ", which is an input, a constant, a variable or already written");
        }
        fixed_[output] = readable_[output] = true;
      }
    }
    return OkStatus();
  }

  // Operator input `i`'s tensor index; -1 when absent or omitted.
  static int Input(const Operator& op, uint32_t i) {
    return op.inputs() && i < op.inputs()->size() ? op.inputs()->Get(i) : -1;
  }

  // The values of constant int32 tensor `index`; nullopt when it is not one.
  std::optional<std::vector<int32_t>> ConstantInts(int index) const {
    const Tensor& tensor = *subgraph_.tensors()->Get(uint32_t(index));
    if (!constant_[index] || tensor.type() != TensorType_INT32) return std::nullopt;
    const auto* data = model_.buffers()->Get(tensor.buffer())->data();
    std::vector<int32_t> values(data->size() / 4);
    for (std::size_t i = 0; i < values.size(); ++i) {
      values[i] = int32_t(uint32_t(data->Get(4 * i)) | uint32_t(data->Get(4 * i + 1)) << 8 |
                          uint32_t(data->Get(4 * i + 2)) << 16 | uint32_t(data->Get(4 * i + 3)) << 24);
    }
    return values;
  }

  // Rules of the builtin operators whose TFLite 2.2 kernels divide by, index with or loop over a
  // parameter or shape without checking it.
  Status CheckParameters(const Operator& op, BuiltinOperator builtin, int version, const std::string& at) const {
    auto fail = [&at](const std::string& why) { return BadModel(at + ": " + why); };
    auto required = [&](std::initializer_list<uint32_t> inputs) -> Status {
      for (uint32_t i : inputs) {
        if (Input(op, i) < 0) return fail("required input " + std::to_string(i) + " is missing");
      }
      return OkStatus();
    };
    auto positive = [&](std::initializer_list<std::pair<const char*, int64_t>> values) -> Status {
      for (const auto& [name, value] : values) {
        if (value < 1) return fail(std::string(name) + " is " + std::to_string(value) + ", must be at least 1");
      }
      return OkStatus();
    };
    auto shape = [&](uint32_t i) -> const std::vector<int64_t>& { return dims_[Input(op, i)]; };
    auto rank = [&](uint32_t i, std::size_t expected, const char* what) -> Status {
      if (shape(i).size() != expected) {
        return fail(std::string(what) + " has shape " + FormatShape(shape(i)) + ", must be " +
                    std::to_string(expected) + "-D");
      }
      return OkStatus();
    };
    auto no_zero_dim = [&](uint32_t i, const char* what) -> Status {
      const auto& dims = shape(i);
      if (std::find(dims.begin(), dims.end(), 0) != dims.end()) {
        return fail(std::string(what) + " has shape " + FormatShape(dims) + ", a dimension of 0");
      }
      return OkStatus();
    };
    auto options_missing = [&](const char* table) { return fail(std::string("its ") + table + " are missing"); };
    switch (builtin) {
      case BuiltinOperator_CONV_2D: {
        // TFLite 2.2 reads the bias of a three-input convolution as a tensor index, -1 included.
        EB_RETURN_IF_ERROR(op.inputs() && op.inputs()->size() == 3 ? required({0, 1, 2}) : required({0, 1}));
        const auto* options = op.builtin_options_as_Conv2DOptions();
        if (!options) return options_missing("Conv2DOptions");
        EB_RETURN_IF_ERROR(positive({{"stride_w", options->stride_w()}, {"stride_h", options->stride_h()},
                                     {"dilation_w_factor", options->dilation_w_factor()},
                                     {"dilation_h_factor", options->dilation_h_factor()}}));
        EB_RETURN_IF_ERROR(rank(0, 4, "the input"));
        EB_RETURN_IF_ERROR(rank(1, 4, "the filter"));
        EB_RETURN_IF_ERROR(no_zero_dim(1, "the filter"));
        // Grouped convolution (input channels a multiple of the filter's) is CONV_2D version 6.
        const int64_t channels = shape(0)[3], filter_channels = shape(1)[3];
        if (channels != filter_channels && (version < 6 || channels % filter_channels != 0)) {
          return fail("the input has " + std::to_string(channels) + " channels, the filter " +
                      FormatShape(shape(1)) + " takes " + std::to_string(filter_channels));
        }
        break;
      }
      case BuiltinOperator_DEPTHWISE_CONV_2D: {
        EB_RETURN_IF_ERROR(op.inputs() && op.inputs()->size() == 3 ? required({0, 1, 2}) : required({0, 1}));
        const auto* options = op.builtin_options_as_DepthwiseConv2DOptions();
        if (!options) return options_missing("DepthwiseConv2DOptions");
        EB_RETURN_IF_ERROR(positive({{"stride_w", options->stride_w()}, {"stride_h", options->stride_h()},
                                     {"dilation_w_factor", options->dilation_w_factor()},
                                     {"dilation_h_factor", options->dilation_h_factor()},
                                     {"depth_multiplier", options->depth_multiplier()}}));
        EB_RETURN_IF_ERROR(rank(0, 4, "the input"));
        EB_RETURN_IF_ERROR(rank(1, 4, "the filter"));
        EB_RETURN_IF_ERROR(no_zero_dim(1, "the filter"));
        const int64_t channels = shape(0)[3], filter_channels = shape(1)[3];
        if (channels == 0 || filter_channels % channels != 0 ||
            filter_channels / channels != options->depth_multiplier()) {
          return fail("the input's " + std::to_string(channels) + " channels times depth_multiplier " +
                      std::to_string(options->depth_multiplier()) + " differ from the filter's " +
                      std::to_string(filter_channels) + " output channels (" + FormatShape(shape(1)) + ")");
        }
        break;
      }
      case BuiltinOperator_FULLY_CONNECTED: {
        EB_RETURN_IF_ERROR(required({0, 1}));
        EB_RETURN_IF_ERROR(rank(1, 2, "the weight tensor"));
        EB_RETURN_IF_ERROR(no_zero_dim(1, "the weight tensor"));
        const int64_t inputs = *Elements(shape(0));
        if (inputs % shape(1)[1] != 0) {
          return fail("the input " + FormatShape(shape(0)) + " does not divide into rows of the weights' " +
                      std::to_string(shape(1)[1]) + " columns");
        }
        break;
      }
      case BuiltinOperator_AVERAGE_POOL_2D:
      case BuiltinOperator_MAX_POOL_2D:
      case BuiltinOperator_L2_POOL_2D: {
        EB_RETURN_IF_ERROR(required({0}));
        const auto* options = op.builtin_options_as_Pool2DOptions();
        if (!options) return options_missing("Pool2DOptions");
        EB_RETURN_IF_ERROR(positive({{"stride_w", options->stride_w()}, {"stride_h", options->stride_h()},
                                     {"filter_width", options->filter_width()},
                                     {"filter_height", options->filter_height()}}));
        EB_RETURN_IF_ERROR(rank(0, 4, "the input"));
        break;
      }
      case BuiltinOperator_TRANSPOSE_CONV: {
        EB_RETURN_IF_ERROR(required({0, 1, 2}));
        const auto* options = op.builtin_options_as_TransposeConvOptions();
        if (!options) return options_missing("TransposeConvOptions");
        EB_RETURN_IF_ERROR(positive({{"stride_w", options->stride_w()}, {"stride_h", options->stride_h()}}));
        EB_RETURN_IF_ERROR(rank(1, 4, "the filter"));
        EB_RETURN_IF_ERROR(rank(2, 4, "the input"));
        EB_RETURN_IF_ERROR(no_zero_dim(1, "the filter"));
        if (shape(1)[3] != shape(2)[3]) {
          return fail("the input has " + std::to_string(shape(2)[3]) + " channels, the filter " +
                      FormatShape(shape(1)) + " takes " + std::to_string(shape(1)[3]));
        }
        break;
      }
      case BuiltinOperator_SPACE_TO_DEPTH:
      case BuiltinOperator_DEPTH_TO_SPACE: {
        EB_RETURN_IF_ERROR(required({0}));
        const auto* to_depth = op.builtin_options_as_SpaceToDepthOptions();
        const auto* to_space = op.builtin_options_as_DepthToSpaceOptions();
        const int block = builtin == BuiltinOperator_SPACE_TO_DEPTH ? (to_depth ? to_depth->block_size() : 0)
                                                                    : (to_space ? to_space->block_size() : 0);
        EB_RETURN_IF_ERROR(positive({{"block_size", block}}));
        EB_RETURN_IF_ERROR(rank(0, 4, "the input"));
        break;
      }
      case BuiltinOperator_SPLIT:
      case BuiltinOperator_SPLIT_V: {
        const bool split = builtin == BuiltinOperator_SPLIT;
        EB_RETURN_IF_ERROR(split ? required({0, 1}) : required({0, 1, 2}));
        const auto* split_options = op.builtin_options_as_SplitOptions();
        const auto* split_v_options = op.builtin_options_as_SplitVOptions();
        const int splits = split ? (split_options ? split_options->num_splits() : 0)
                                 : (split_v_options ? split_v_options->num_splits() : 0);
        EB_RETURN_IF_ERROR(positive({{"num_splits", splits}}));
        const int outputs = op.outputs() ? int(op.outputs()->size()) : 0;
        if (outputs != splits) {
          return fail("num_splits is " + std::to_string(splits) + ", the operator has " +
                      std::to_string(outputs) + " outputs");
        }
        break;
      }
      case BuiltinOperator_SPACE_TO_BATCH_ND:
      case BuiltinOperator_BATCH_TO_SPACE_ND: {
        EB_RETURN_IF_ERROR(required({0, 1, 2}));
        if (auto block = ConstantInts(Input(op, 1))) {
          for (int32_t value : *block) EB_RETURN_IF_ERROR(positive({{"a block_shape value", value}}));
        }
        break;
      }
      default:
        break;
    }
    return OkStatus();
  }

  const Model& model_;
  const SubGraph& subgraph_;
  const std::string where_;
  std::vector<std::vector<int64_t>> dims_;
  std::vector<bool> constant_;  // has data in its buffer
  std::vector<bool> fixed_;     // must not be written: a constant, variable, input or written output
  std::vector<bool> readable_;  // fixed, or of no elements
};

}  // namespace

Status CheckStructure(const Model& model) {
  const auto* subgraphs = model.subgraphs();
  if (!subgraphs || subgraphs->size() == 0) return BadModel("the model has no subgraph");
  for (uint32_t s = 0; s < subgraphs->size(); ++s) {
    EB_RETURN_IF_ERROR(SubgraphCheck(model, *subgraphs->Get(s), s).Run());
  }
  return OkStatus();
}

int64_t TensorTypeSize(TensorType type) {
  switch (type) {
    case TensorType_FLOAT64:
    case TensorType_INT64:
    case TensorType_UINT64:
    case TensorType_COMPLEX64: return 8;
    case TensorType_COMPLEX128: return 16;
    case TensorType_FLOAT32:
    case TensorType_INT32:
    case TensorType_UINT32: return 4;
    case TensorType_FLOAT16:
    case TensorType_BFLOAT16:
    case TensorType_INT16:
    case TensorType_UINT16: return 2;
    case TensorType_UINT8:
    case TensorType_INT8:
    case TensorType_INT4:
    case TensorType_BOOL: return 1;
    case TensorType_STRING:
    case TensorType_RESOURCE:
    case TensorType_VARIANT: return 0;
  }
  return 0;
}


Expected<const Model*> ReadModel(std::string_view bytes) {
  if (bytes.size() < 8 || !ModelBufferHasIdentifier(bytes.data())) {
    return BadModel("not a TensorFlow Lite model (no TFL3 identifier)");
  }
  // Files over 2 GiB keep their large buffers behind the flatbuffer (Buffer.offset), where offsets
  // cannot reach.
  const std::size_t flatbuffer_size = std::min<std::size_t>(bytes.size(), FLATBUFFERS_MAX_BUFFER_SIZE - 1);
  flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(bytes.data()), flatbuffer_size);
  if (!VerifyModelBuffer(verifier)) {
    return BadModel("corrupt or truncated TensorFlow Lite flatbuffer (an offset, vector or string "
                    "lies outside the file or is misaligned)");
  }
  return GetModel(bytes.data());
}

BuiltinOperator BuiltinCode(const OperatorCode& code) {
  return std::max(BuiltinOperator(code.deprecated_builtin_code()), code.builtin_code());
}

int8_t DeprecatedBuiltinCode(BuiltinOperator op) {
  return int8_t(std::min<int>(op, BuiltinOperator_PLACEHOLDER_FOR_GREATER_OP_CODES));
}

std::optional<std::string_view> MetadataEntry(const Model& model, std::string_view name) {
  if (!model.metadata() || !model.buffers()) return std::nullopt;
  for (const Metadata* entry : *model.metadata()) {
    if (!entry || !entry->name() || entry->name()->string_view() != name) continue;
    if (entry->buffer() >= model.buffers()->size()) return std::nullopt;
    const Buffer* buffer = model.buffers()->Get(entry->buffer());
    if (!buffer || !buffer->data()) return std::string_view();
    return std::string_view(reinterpret_cast<const char*>(buffer->data()->data()), buffer->data()->size());
  }
  return std::nullopt;
}

}  // namespace edgebench::tfl
