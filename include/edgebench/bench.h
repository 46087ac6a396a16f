// Runs a whole benchmark on a registered backend: model checks, option validation, load,
// inputs, measurement, statistics and verdict, in that order.
#pragma once

#include <optional>
#include <span>
#include <string>

#include "edgebench/result.h"
#include "edgebench/runner.h"
#include "edgebench/settings.h"
#include "edgebench/tensor_layout.h"

namespace edgebench {

struct BenchRequest {
  std::string model_path;
  std::string runtime;
  BenchSettings settings;
};

// Runs every stage and returns the full result. Never throws; a failure at any stage is recorded
// in result.failure with the stage and the error (bad input has a kInvalidArgument/kBadModel/
// kNotFound code, runtime trouble kRuntimeError).
BenchResult RunBenchmark(const BenchRequest& request, std::span<RunListener* const> listeners = {});

// The layout record of a model file (a TFLite model from `edgebench convert` keeps one in its
// metadata; tensor_layout.h); nullopt for a model without one or of another format. Unreadable
// files and malformed records are errors naming the path.
Expected<std::optional<LayoutRecord>> ReadLayoutRecord(const std::string& path);

}  // namespace edgebench
