// The stages of RunBenchmark that RunComparison shares. Internal to the harness.
#pragma once

#include <string>
#include <vector>

#include "edgebench/backend.h"
#include "edgebench/settings.h"
#include "edgebench/status.h"
#include "edgebench/tensor.h"

namespace edgebench {

// Now, as ISO 8601 UTC ("2026-12-06T09:30:00Z").
std::string UtcNow();

// Each value against the settings table (edgebench/settings.h), then the relations between them.
Status CheckSettings(const BenchSettings& settings);

bool AcceptsFormat(const BackendInfo& info, ModelFormat format);
std::string FormatList(const std::vector<ModelFormat>& formats);

// The model's inputs: --input files where given (names checked against `specs`), else random
// from settings.seed.
Expected<std::vector<Tensor>> MakeInputs(const std::vector<TensorSpec>& specs, const BenchSettings& settings);

}  // namespace edgebench
