// The ONNX -> TFLite converter (internal to src/convert; the API is edgebench/convert.h).
#pragma once

#include "edgebench/convert.h"

namespace edgebench::convert {

Expected<ConversionReport> ConvertOnnxToTflite(const ConvertRequest& request);

}  // namespace edgebench::convert
