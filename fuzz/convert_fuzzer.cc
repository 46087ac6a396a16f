// The converter: arbitrary bytes as an .onnx file converted to TFLite (fp32 and fp16; no
// accuracy check, which needs a runtime). Whatever the converter writes must pass the TFLite
// structure check that guards the runtime: a refused file is a converter bug, reported as a crash.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "fuzz_support.h"
#include "onnx_to_tflite.h"
#include "tflite_schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace edgebench;
  const std::string path = fuzz::WriteScratchFile(data, size, ".onnx");
  ConvertRequest request;
  request.model_path = path;
  request.precision = size % 2 ? ConvertPrecision::kFloat16 : ConvertPrecision::kFloat32;
  auto report = convert::ConvertOnnxToTflite(request);
  if (!report.ok() || !report->ok()) return 0;  // refused: no model was written
  auto model = tfl::ReadModel(report->model);
  Status checked = model.ok() ? tfl::CheckStructure(**model) : Status(model.error());
  if (!checked.ok()) {
    std::fprintf(stderr, "the converter wrote a model its own check refuses: %s\n",
                 checked.error().message.c_str());
    std::abort();
  }
  return 0;
}
