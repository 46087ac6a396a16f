#include "tflite_schema.h"

#include <gtest/gtest.h>

#include <string>

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

}  // namespace
}  // namespace edgebench::tfl
