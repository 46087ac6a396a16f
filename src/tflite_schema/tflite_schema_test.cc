#include "tflite_schema.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace edgebench::tfl {
namespace {

// A one-operator model whose operator code is written the way `deprecated` and `builtin` say.
std::string ModelWithCode(int8_t deprecated, BuiltinOperator builtin) {
  flatbuffers::FlatBufferBuilder b;
  auto code = CreateOperatorCode(b, deprecated, 0, 1, builtin);
  auto tensor = CreateTensor(b, b.CreateVector(std::vector<int32_t>{1, 4}), TensorType_FLOAT32, 0,
                             b.CreateString("x"));
  auto op = CreateOperator(b, 0, b.CreateVector(std::vector<int32_t>{0}), b.CreateVector(std::vector<int32_t>{0}));
  auto subgraph = CreateSubGraph(b, b.CreateVector(std::vector{tensor}), b.CreateVector(std::vector<int32_t>{0}),
                                 b.CreateVector(std::vector<int32_t>{0}), b.CreateVector(std::vector{op}));
  FinishModelBuffer(b, CreateModel(b, 3, b.CreateVector(std::vector{code}), b.CreateVector(std::vector{subgraph}),
                                   0, b.CreateVector(std::vector{CreateBuffer(b)})));
  return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

TEST(TfliteSchema, ReadsAValidModel) {
  const std::string bytes = ModelWithCode(DeprecatedBuiltinCode(BuiltinOperator_RELU), BuiltinOperator_RELU);
  auto model = ReadModel(bytes);
  ASSERT_TRUE(model.ok()) << model.error().message;
  EXPECT_EQ((*model)->version(), 3u);
  EXPECT_EQ((*model)->subgraphs()->Get(0)->tensors()->Get(0)->name()->str(), "x");
}

TEST(TfliteSchema, RejectsFilesWithoutTheIdentifier) {
  for (const std::string& bytes : {std::string(), std::string("TFL3"), std::string(64, '\0')}) {
    auto model = ReadModel(bytes);
    ASSERT_FALSE(model.ok());
    EXPECT_EQ(model.error().code, ErrorCode::kBadModel);
    EXPECT_NE(model.error().message.find("no TFL3 identifier"), std::string::npos) << model.error().message;
  }
}

// Every cut of a valid model past its identifier is caught by the verifier.
TEST(TfliteSchema, RejectsEveryTruncation) {
  const std::string bytes = ModelWithCode(0, BuiltinOperator_ADD);
  for (std::size_t size = 8; size < bytes.size(); ++size) {
    auto model = ReadModel(bytes.substr(0, size));
    ASSERT_FALSE(model.ok()) << size;
    EXPECT_NE(model.error().message.find("corrupt or truncated"), std::string::npos) << model.error().message;
  }
}

TEST(TfliteSchema, RejectsAnOffsetOutOfTheFile) {
  std::string bytes = ModelWithCode(0, BuiltinOperator_ADD);
  const uint32_t past_the_end = uint32_t(bytes.size());
  bytes.replace(0, 4, reinterpret_cast<const char*>(&past_the_end), 4);  // the root offset
  auto model = ReadModel(bytes);
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.error().message.find("corrupt or truncated"), std::string::npos) << model.error().message;
}

// Files from TFLite before 2.4 carry the code only in the byte field; newer ones carry codes
// above 127 only in the int field.
TEST(TfliteSchema, BuiltinCodeReadsEitherField) {
  for (const auto& [deprecated, builtin, expected] :
       {std::tuple{int8_t(6), BuiltinOperator_ADD, BuiltinOperator_DEQUANTIZE},
        std::tuple{int8_t(6), BuiltinOperator_DEQUANTIZE, BuiltinOperator_DEQUANTIZE},
        std::tuple{int8_t(127), BuiltinOperator_RIGHT_SHIFT, BuiltinOperator_RIGHT_SHIFT}}) {
    const std::string bytes = ModelWithCode(deprecated, builtin);
    auto model = ReadModel(bytes);
    ASSERT_TRUE(model.ok()) << model.error().message;
    EXPECT_EQ(BuiltinCode(*(*model)->operator_codes()->Get(0)), expected);
  }
}

TEST(TfliteSchema, DeprecatedBuiltinCodeCapsAt127) {
  EXPECT_EQ(DeprecatedBuiltinCode(BuiltinOperator_DEQUANTIZE), 6);
  EXPECT_EQ(DeprecatedBuiltinCode(BuiltinOperator_PLACEHOLDER_FOR_GREATER_OP_CODES), 127);
  EXPECT_EQ(DeprecatedBuiltinCode(BuiltinOperator_RIGHT_SHIFT), 127);
  EXPECT_STREQ(EnumNameBuiltinOperator(BuiltinOperator_RIGHT_SHIFT), "RIGHT_SHIFT");
}

// A model built with the object API: tensors (name, shape, bytes of data), one subgraph whose
// inputs are `inputs`, operators added by the test.
struct TestModel {
  ModelT model;
  SubGraphT* graph;

  TestModel() {
    model.version = 3;
    model.subgraphs.push_back(std::make_unique<SubGraphT>());
    model.buffers.push_back(std::make_unique<BufferT>());
    graph = model.subgraphs[0].get();
  }
  int Tensor(const std::string& name, std::vector<int32_t> shape, std::size_t data_bytes = 0, bool variable = false) {
    auto tensor = std::make_unique<TensorT>();
    tensor->name = name;
    tensor->shape = std::move(shape);
    tensor->is_variable = variable;
    auto buffer = std::make_unique<BufferT>();
    buffer->data.assign(data_bytes, 0);
    tensor->buffer = uint32_t(model.buffers.size());
    model.buffers.push_back(std::move(buffer));
    graph->tensors.push_back(std::move(tensor));
    return int(graph->tensors.size()) - 1;
  }
  void Operator(BuiltinOperator builtin, std::vector<int32_t> inputs, std::vector<int32_t> outputs,
                BuiltinOptionsUnion options = {}) {
    auto code = std::make_unique<OperatorCodeT>();
    code->builtin_code = builtin;
    code->deprecated_builtin_code = DeprecatedBuiltinCode(builtin);
    model.operator_codes.push_back(std::move(code));
    auto op = std::make_unique<OperatorT>();
    op->opcode_index = uint32_t(model.operator_codes.size()) - 1;
    op->inputs = std::move(inputs);
    op->outputs = std::move(outputs);
    op->builtin_options = std::move(options);
    graph->operators.push_back(std::move(op));
  }
  // CheckStructure's message; "" when the model passes.
  std::string Check() {
    flatbuffers::FlatBufferBuilder b;
    FinishModelBuffer(b, CreateModel(b, &model));
    const std::string bytes(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
    auto read = ReadModel(bytes);
    if (!read.ok()) return "unreadable: " + read.error().message;
    Status status = CheckStructure(**read);
    return status.ok() ? "" : status.error().message;
  }
};

BuiltinOptionsUnion ConvOptions(int stride, int dilation) {
  Conv2DOptionsT conv;
  conv.stride_w = conv.stride_h = stride;
  conv.dilation_w_factor = conv.dilation_h_factor = dilation;
  BuiltinOptionsUnion options;
  options.Set(std::move(conv));
  return options;
}

TEST(TfliteStructure, AcceptsInputsVariablesConstantsAndEmptyTensorsReadFirst) {
  TestModel m;
  const int input = m.Tensor("input", {1, 4});
  const int state = m.Tensor("state", {1, 4}, 0, /*variable=*/true);
  const int weights = m.Tensor("w", {1, 4}, 16);
  const int empty = m.Tensor("empty_shape", {0});  // a constant of no elements: an empty buffer
  const int sum = m.Tensor("sum", {1, 4}), product = m.Tensor("product", {1, 4}), out = m.Tensor("out", {});
  m.graph->inputs = {input};
  m.graph->outputs = {out};
  m.Operator(BuiltinOperator_ADD, {input, state}, {sum});
  m.Operator(BuiltinOperator_MUL, {sum, weights}, {product});
  m.Operator(BuiltinOperator_RESHAPE, {product, empty}, {out});
  EXPECT_EQ(m.Check(), "");
}

TEST(TfliteStructure, RefusesDataFlowTheRuntimeCannotFollow) {
  {
    TestModel m;
    const int input = m.Tensor("input", {1, 4}), hidden = m.Tensor("hidden", {1, 4}), out = m.Tensor("out", {1, 4});
    m.graph->inputs = {input};
    m.graph->outputs = {out};
    m.Operator(BuiltinOperator_ADD, {input, hidden}, {out});
    EXPECT_EQ(m.Check(), "subgraph 0: operator 0 (ADD): reads tensor 1 ('hidden') before anything writes it");
  }
  {
    TestModel m;
    const int input = m.Tensor("input", {1, 4});
    m.graph->inputs = {input};
    m.graph->outputs = {input};
    m.Operator(BuiltinOperator_RELU, {input}, {input});
    EXPECT_EQ(m.Check(), "subgraph 0: operator 0 (RELU): writes tensor 0 ('input'), which is an input, a "
                         "constant, a variable or already written");
  }
  {
    TestModel m;
    const int input = m.Tensor("input", {1, 4}), w = m.Tensor("w", {1, 4}, 15), out = m.Tensor("out", {1, 4});
    m.graph->inputs = {input};
    m.graph->outputs = {out};
    m.Operator(BuiltinOperator_ADD, {input, w}, {out});
    EXPECT_EQ(m.Check(), "subgraph 0: tensor 1 ('w') holds 15 bytes of data, its shape 1x4 of FLOAT32 needs 16");
  }
}

TEST(TfliteStructure, RefusesOperatorParametersKernelsDivideBy) {
  auto conv = [](int stride, int dilation, int filter_channels, bool omit_bias) {
    TestModel m;
    const int input = m.Tensor("input", {1, 8, 8, 3});
    const int filter = m.Tensor("filter", {4, 3, 3, filter_channels}, 4 * 4 * 3 * 3 * filter_channels);
    const int bias = m.Tensor("bias", {4}, 16), out = m.Tensor("out", {1, 8, 8, 4});
    m.graph->inputs = {input};
    m.graph->outputs = {out};
    m.Operator(BuiltinOperator_CONV_2D, {input, filter, omit_bias ? -1 : bias}, {out}, ConvOptions(stride, dilation));
    return m.Check();
  };
  EXPECT_EQ(conv(1, 1, 3, false), "");
  EXPECT_EQ(conv(0, 1, 3, false), "subgraph 0: operator 0 (CONV_2D): stride_w is 0, must be at least 1");
  EXPECT_EQ(conv(1, -2, 3, false), "subgraph 0: operator 0 (CONV_2D): dilation_w_factor is -2, must be at least 1");
  EXPECT_EQ(conv(1, 1, 2, false),
            "subgraph 0: operator 0 (CONV_2D): the input has 3 channels, the filter 4x3x3x2 takes 2");
  EXPECT_EQ(conv(1, 1, 3, true), "subgraph 0: operator 0 (CONV_2D): required input 2 is missing");

  TestModel split;
  const int axis = split.Tensor("axis", {}, 4), input = split.Tensor("input", {4, 2});
  const int a = split.Tensor("a", {2, 2}), b = split.Tensor("b", {2, 2});
  split.graph->inputs = {input};
  split.graph->outputs = {a, b};
  SplitOptionsT three;
  three.num_splits = 3;
  BuiltinOptionsUnion options;
  options.Set(std::move(three));
  split.Operator(BuiltinOperator_SPLIT, {axis, input}, {a, b}, std::move(options));
  EXPECT_EQ(split.Check(), "subgraph 0: operator 0 (SPLIT): num_splits is 3, the operator has 2 outputs");
}

}  // namespace
}  // namespace edgebench::tfl
