// The ONNX front end: `edgebench inspect` on arbitrary bytes as an .onnx file (parse, checker,
// shape inference, constant folding, cost counting) and the summary's JSON text.
#include <cstddef>
#include <cstdint>

#include "edgebench/inspect.h"
#include "edgebench/json_text.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string path = edgebench::fuzz::WriteScratchFile(data, size, ".onnx");
  auto summary = edgebench::InspectModel(path, {});
  if (summary.ok()) {
    edgebench::DumpJson(edgebench::ToJson(*summary), 2);
    edgebench::FormatModelSummaryText(*summary, true);
  }
  return 0;
}
