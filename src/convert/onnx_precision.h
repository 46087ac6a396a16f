// ONNX -> ONNX at a precision (internal to src/convert; the API is edgebench/convert.h): the model
// with its input shapes fixed (fp32), float16 initializers widened by Cast (fp16), or QDQ INT8
// calibrated on onnxruntime (int8), for runtimes that read ONNX.
#pragma once

#include "edgebench/convert.h"

namespace edgebench::convert {

Expected<ConversionReport> ConvertOnnxToOnnx(const ConvertRequest& request);

}  // namespace edgebench::convert
