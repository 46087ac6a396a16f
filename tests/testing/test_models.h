// Locations of the real model files that tools/setup.sh prepares for tests (outside git).
#pragma once

#include <filesystem>
#include <string>

namespace edgebench::testing {

// $EDGEBENCH_CACHE_DIR (set by CTest from the CMake cache), else ~/.cache/edgebench.
std::string CacheDir();

// Path of a generated zoo model, e.g. ZooModel("mobilenetv2", "onnx") ->
// <cache>/zoo/mobilenetv2/mobilenetv2.onnx. Does not check that it exists.
std::string ZooModel(const std::string& name, const std::string& extension);

// Path of a downloaded model file, e.g. <cache>/models/face_detection_short_range.tflite.
std::string DownloadedModel(const std::string& file_name);

// A fresh empty directory under the system temp dir, unique per call.
std::string MakeTempDir();

}  // namespace edgebench::testing

// Fails the current test (it is not skipped) when a prepared file is missing.
#define EB_REQUIRE_FILE(path)                                                             \
  do {                                                                                    \
    if (!std::filesystem::exists(path))                                                   \
      FAIL() << "missing test model " << (path) << " (run tools/setup.sh to prepare it)"; \
  } while (0)
