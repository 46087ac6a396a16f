// The stages of RunBenchmark that RunComparison shares. Internal to the harness.
#pragma once

#include <chrono>
#include <span>
#include <string>
#include <vector>

#include "edgebench/backend.h"
#include "edgebench/model_file.h"
#include "edgebench/runner.h"
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

// The model's inputs: --input files where given (names checked against `specs`; permuted from the
// stated --input-layout when `model` records how), else random from settings.seed.
Expected<std::vector<Tensor>> MakeInputs(const std::vector<TensorSpec>& specs, const BenchSettings& settings,
                                         const ModelFile& model);

// Times one stage of `body` (its result is returned) and tells the listeners.
template <typename Body>
auto TimedStage(Stage stage, std::span<RunListener* const> listeners, double& elapsed_ms, Body body) {
  for (auto* listener : listeners) listener->OnStageStart(stage);
  const auto start = std::chrono::steady_clock::now();
  auto outcome = body();
  elapsed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  for (auto* listener : listeners) listener->OnStageEnd(stage, elapsed_ms);
  return outcome;
}

}  // namespace edgebench
