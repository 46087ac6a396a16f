// Shared by the libFuzzer targets in fuzz/: the front ends read model files by path, so an input
// is written to a per-process file first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace edgebench::fuzz {

// Writes `size` bytes to this process's scratch file with `extension` (".onnx", ".tflite") and
// returns its path; the same path for every call with the same extension. Aborts when the file
// cannot be written (the run would test nothing).
std::string WriteScratchFile(const uint8_t* data, std::size_t size, const std::string& extension);

}  // namespace edgebench::fuzz
