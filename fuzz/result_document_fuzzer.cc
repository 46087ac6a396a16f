// Result documents: arbitrary bytes parsed as JSON the way the server and `edgebench report` read
// them, then through the edgebench.result/1 and comparison readers (src/core/result_json.cc).
#include <cstddef>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "edgebench/result_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const auto document = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return 0;
  if (auto result = edgebench::BenchResultFromJson(document); result.ok()) edgebench::ToJson(*result);
  if (auto comparison = edgebench::ComparisonFromJson(document); comparison.ok()) edgebench::ToJson(*comparison);
  return 0;
}
