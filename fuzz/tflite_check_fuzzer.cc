// The TFLite reader and structure check: arbitrary bytes as a .tflite file through the flatbuffer
// verifier, the structure check that guards TFLite 2.2 (tfl::CheckStructure) and the inspector.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "edgebench/inspect.h"
#include "edgebench/json_text.h"
#include "fuzz_support.h"
#include "tflite_schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto model = edgebench::tfl::ReadModel(bytes); model.ok()) {
    (void)edgebench::tfl::CheckStructure(**model);
  }
  const std::string path = edgebench::fuzz::WriteScratchFile(data, size, ".tflite");
  auto summary = edgebench::InspectModel(path, {});
  if (summary.ok()) edgebench::DumpJson(edgebench::ToJson(*summary), 2);
  return 0;
}
