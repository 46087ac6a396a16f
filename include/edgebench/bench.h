// Runs a whole benchmark on a registered backend: model checks, option validation, load,
// inputs, measurement, statistics and verdict, in that order.
#pragma once

#include <span>
#include <string>

#include "edgebench/result.h"
#include "edgebench/runner.h"
#include "edgebench/settings.h"

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

}  // namespace edgebench
