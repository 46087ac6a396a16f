// JSON form of BenchResult (schema "edgebench.result/1", docs/result-schema.md).
#pragma once

#include <nlohmann/json.hpp>

#include "edgebench/comparison.h"
#include "edgebench/result.h"
#include "edgebench/status.h"

namespace edgebench {

nlohmann::json ToJson(const BenchResult& result);
nlohmann::json ToJson(const Environment& environment);
// Throws nlohmann::json::exception on a missing or mistyped field.
Environment EnvironmentFromJson(const nlohmann::json& json);
nlohmann::json ToJson(const TensorSpec& spec);
nlohmann::json ToJson(const AccuracyCost& cost);
nlohmann::json ToJson(const ConversionInfo& conversion);
// Throws nlohmann::json::exception on a missing or mistyped field.
AccuracyCost AccuracyCostFromJson(const nlohmann::json& json);

// Parses a document written by ToJson; rejects other schemas and missing required fields.
Expected<BenchResult> BenchResultFromJson(const nlohmann::json& document);

// JSON form of ComparisonResult (schema "edgebench.comparison/1"): each variant's result is a
// full result document.
nlohmann::json ToJson(const ComparisonResult& comparison);
// Parses a document written by ToJson; rejects other schemas and missing required fields.
Expected<ComparisonResult> ComparisonFromJson(const nlohmann::json& document);

}  // namespace edgebench
