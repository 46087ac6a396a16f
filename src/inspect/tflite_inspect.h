// The TensorFlow Lite inspector: reads the .tflite flatbuffer through edgebench's TFLite schema
// (no TFLite library), after the flatbuffers verifier and with checks on every index. TFLite stores every tensor's shape, so costs come
// straight from the file; --shape cannot change them.
#pragma once

#include <string>

#include "edgebench/inspect.h"

namespace edgebench::inspect {

Expected<ModelSummary> InspectTflite(const std::string& path, const ShapeOverrides& shapes);

}  // namespace edgebench::inspect
