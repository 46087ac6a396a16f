#include "edgebench/model_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "testing/test_models.h"

namespace edgebench {
namespace {

std::string Write(const std::string& name, const std::string& bytes) {
  const std::string path = testing::MakeTempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

TEST(InspectModelFile, DetectsFormatsFromContent) {
  EXPECT_EQ(InspectModelFile(Write("m.bin", std::string("\x1c\0\0\0TFL3", 8) + "rest"))->format,
            ModelFormat::kTflite);
  EXPECT_EQ(InspectModelFile(Write("m.pt", std::string("PK\x03\x04", 4) + "zip"))->format,
            ModelFormat::kTorchScript);
  EXPECT_EQ(InspectModelFile(Write("m.onnx", "anything"))->format, ModelFormat::kOnnx);
  EXPECT_EQ(InspectModelFile(Write("m.model", std::string("\x08\x07\x12", 3)))->format,
            ModelFormat::kOnnx);
  // Content wins over a misleading extension.
  EXPECT_EQ(InspectModelFile(Write("m.onnx", std::string("\x1c\0\0\0TFL3", 8)))->format,
            ModelFormat::kTflite);
}

TEST(InspectModelFile, HashesWithSha256) {
  auto model = InspectModelFile(Write("m.onnx", "abc"));
  ASSERT_TRUE(model.ok());
  EXPECT_EQ(model->sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(model->size_bytes, 3);
}

TEST(InspectModelFile, NamesThePathInEveryError) {
  const std::string dir = testing::MakeTempDir();
  auto missing = InspectModelFile(dir + "/missing.onnx");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("missing.onnx"), std::string::npos);

  auto empty = InspectModelFile(Write("empty.onnx", ""));
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, ErrorCode::kBadModel);
  EXPECT_NE(empty.error().message.find("empty.onnx: empty file"), std::string::npos);

  auto directory = InspectModelFile(dir);
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.error().code, ErrorCode::kBadModel);

  auto unknown = InspectModelFile(Write("notes.txt", "hello world"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kBadModel);
  EXPECT_NE(unknown.error().message.find("notes.txt: unrecognised model format"), std::string::npos);
}

}  // namespace
}  // namespace edgebench
