#include "edgebench/model_file.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

namespace edgebench {

std::string_view ModelFormatName(ModelFormat format) {
  switch (format) {
    case ModelFormat::kOnnx: return "onnx";
    case ModelFormat::kTflite: return "tflite";
    case ModelFormat::kTorchScript: return "torchscript";
    case ModelFormat::kTensorFlowPb: return "tensorflow_pb";
    case ModelFormat::kCaffe: return "caffe";
    case ModelFormat::kDarknet: return "darknet";
    case ModelFormat::kUnknown: return "unknown";
  }
  return "unknown";
}

Expected<std::string> Sha256OfFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(path + ": cannot open");
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                   &EVP_MD_CTX_free);
  if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1) {
    return Internal("OpenSSL SHA-256 initialisation failed");
  }
  std::array<char, 1 << 16> buffer;
  while (in) {
    in.read(buffer.data(), buffer.size());
    if (in.gcount() > 0) EVP_DigestUpdate(context.get(), buffer.data(), in.gcount());
  }
  if (in.bad()) return NotFound(path + ": read error");
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest;
  unsigned int length = 0;
  EVP_DigestFinal_ex(context.get(), digest.data(), &length);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    char byte[3];
    std::snprintf(byte, sizeof byte, "%02x", digest[i]);
    hex += byte;
  }
  return hex;
}

namespace {

ModelFormat DetectFormat(const std::string& path, const std::array<unsigned char, 8>& head,
                         std::size_t head_size) {
  std::string extension = std::filesystem::path(path).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(), ::tolower);
  // Content first: magic numbers are unambiguous.
  if (head_size >= 8 && head[4] == 'T' && head[5] == 'F' && head[6] == 'L' && head[7] == '3') {
    return ModelFormat::kTflite;
  }
  if (head_size >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) {
    return ModelFormat::kTorchScript;  // a zip archive: TorchScript's container
  }
  // Protobuf and text formats carry no magic: the extension decides.
  if (extension == ".onnx") return ModelFormat::kOnnx;
  if (extension == ".pb") return ModelFormat::kTensorFlowPb;
  if (extension == ".caffemodel" || extension == ".prototxt") return ModelFormat::kCaffe;
  if (extension == ".cfg" || extension == ".weights") return ModelFormat::kDarknet;
  // An ONNX ModelProto starts with field 1 (ir_version, varint): tag byte 0x08.
  if (head_size >= 2 && head[0] == 0x08 && head[1] > 0 && head[1] < 0x20) return ModelFormat::kOnnx;
  return ModelFormat::kUnknown;
}

}  // namespace

Expected<ModelFormat> DetectModelFormat(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) return NotFound(path + ": no such file");
  if (std::filesystem::is_directory(status)) {
    return BadModel(path + ": is a directory, not a model file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(path + ": cannot open (permission denied?)");
  std::array<unsigned char, 8> head{};
  in.read(reinterpret_cast<char*>(head.data()), head.size());
  const auto head_size = static_cast<std::size_t>(in.gcount());
  if (head_size == 0) return BadModel(path + ": empty file");
  const ModelFormat format = DetectFormat(path, head, head_size);
  if (format == ModelFormat::kUnknown) {
    return BadModel(path +
                    ": unrecognised model format (expected ONNX .onnx, TFLite .tflite, "
                    "TorchScript .pt, TensorFlow .pb, Caffe or Darknet)");
  }
  return format;
}

Expected<ModelFile> InspectModelFile(const std::string& path) {
  auto format = DetectModelFormat(path);
  if (!format.ok()) return format.error();
  ModelFile model;
  model.path = path;
  model.format = *format;
  std::error_code ec;
  model.size_bytes = static_cast<int64_t>(std::filesystem::file_size(path, ec));
  if (ec) return NotFound(path + ": cannot read its size");
  auto sha = Sha256OfFile(path);
  if (!sha.ok()) return sha.error();
  model.sha256 = std::move(*sha);
  return model;
}

}  // namespace edgebench
