// Model files: format detection from content, and checks done before any runtime sees the file.
#pragma once

#include <cstdint>
#include <string>

#include "edgebench/status.h"

namespace edgebench {

enum class ModelFormat { kOnnx, kTflite, kTorchScript, kTensorFlowPb, kCaffe, kDarknet, kUnknown };

std::string_view ModelFormatName(ModelFormat format);  // "onnx", "tflite", "torchscript", ...

struct ModelFile {
  std::string path;
  std::string sha256;  // hex
  int64_t size_bytes = 0;
  ModelFormat format = ModelFormat::kUnknown;
};

// Detects a file's format from its magic bytes (extension as tie-break) without reading the
// rest. Missing, unreadable, empty or unrecognisable files are errors naming the path.
Expected<ModelFormat> DetectModelFormat(const std::string& path);

// Reads the file, hashes it and detects its format from magic bytes (extension as tie-break).
// Missing, unreadable, empty or unrecognisable files are errors naming the path.
Expected<ModelFile> InspectModelFile(const std::string& path);

// SHA-256 of a file's contents as lowercase hex.
Expected<std::string> Sha256OfFile(const std::string& path);

}  // namespace edgebench
