#include "edgebench/compare.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>

#include "bench_stages.h"
#include "edgebench/inspect.h"
#include "edgebench/registry.h"
#include "edgebench/sensors.h"
#include "edgebench/validity.h"

namespace edgebench {
namespace {

using Clock = std::chrono::steady_clock;

double MsBetween(Clock::time_point start, Clock::time_point end) {
  return std::chrono::duration<double, std::milli>(end - start).count();
}

// One variant, loaded and fed, ready to run.
struct LiveVariant {
  std::unique_ptr<Backend> backend;
  std::vector<double> round_ms;  // per round: mean run time of its batch
};

// Loads `request` (its runtime and model file already found) into `live` and fills the parts of
// `result` known before timing. Errors carry the stage that failed.
struct StageError {
  std::string stage;
  Error error;
};
std::optional<StageError> Prepare(const CompareVariantRequest& request, const BackendEntry& entry,
                                  const ModelFile& model, BenchResult& result, LiveVariant& live,
                                  std::span<RunListener* const> listeners) {
  result.runtime_name = request.runtime;
  result.settings = request.settings;
  result.model = model;
  const BackendInfo info = entry.describe();
  result.runtime_version = info.version;
  if (!AcceptsFormat(info, model.format)) {
    return StageError{"model", BadModel(model.path + ": is a " + std::string(ModelFormatName(model.format)) +
                                        " model; runtime " + info.name + " accepts " + FormatList(info.formats))};
  }
  if (auto summary = InspectModel(model.path, request.settings.shapes);
      summary.ok() && summary->graph_analysed && summary->unknown_cost_nodes == 0) {
    result.model_cost = ModelCost{summary->params, summary->macs, summary->flops};
  }
  auto options = ValidateOptions(info, request.settings.options);
  if (!options.ok()) return StageError{"options", options.error()};
  result.runtime_options = *options;

  live.backend = entry.create();
  Status loaded = TimedStage(Stage::kLoad, listeners, result.load_ms, [&] {
    return live.backend->Load({model, request.settings.threads, *options});
  });
  if (!loaded.ok()) return StageError{"load", loaded.error()};
  result.outputs = live.backend->OutputSpecs();
  double inputs_ms = 0;
  Status inputs_set = TimedStage(Stage::kInputs, listeners, inputs_ms, [&]() -> Status {
    auto specs = ResolveInputShapes(live.backend->InputSpecs(), request.settings.shapes);
    if (!specs.ok()) return specs.error();
    result.inputs = *specs;
    auto tensors = MakeInputs(*specs, request.settings, model);
    if (!tensors.ok()) return tensors.error();
    return live.backend->SetInputs(*tensors);
  });
  if (!inputs_set.ok()) return StageError{"inputs", inputs_set.error()};
  Status first = TimedStage(Stage::kFirstInference, listeners, result.first_inference_ms,
                            [&] { return live.backend->RunOnce(); });
  if (!first.ok()) return StageError{"first_inference", first.error()};
  return std::nullopt;
}

// The adaptive stop: every ratio's interval within the target and no ratio drifting (the
// verdict's rule), so that reaching the target never comes with an INVALID for the ratios.
bool RatiosSettled(const std::vector<LiveVariant>& live, const BenchSettings& settings) {
  const std::vector<double>& baseline = live[0].round_ms;
  for (std::size_t i = 1; i < live.size(); ++i) {
    if (PairedRatio(baseline, live[i].round_ms).HalfWidthPercent() > *settings.target_ci_percent) return false;
    const auto drift = DriftPercent(RoundRatios(baseline, live[i].round_ms));
    if (drift && std::abs(*drift) > settings.max_drift_percent) return false;
  }
  return true;
}

}  // namespace

ComparisonResult RunComparison(const CompareRequest& request, std::span<RunListener* const> listeners) {
  ComparisonResult comparison;
  comparison.started_at_utc = UtcNow();
  comparison.environment = CollectEnvironment();
  comparison.settings = request.settings;
  comparison.round_target_ms = request.round_target_ms;
  // A variant's error names it: "mobilenetv2 t=2: <message>".
  auto fail = [&comparison](std::string stage, Error error, const std::string& variant = "") -> ComparisonResult& {
    if (!variant.empty()) {
      stage += " (" + variant + ")";
      error.message = variant + ": " + error.message;
    }
    comparison.failure = RunFailure{std::move(stage), std::move(error)};
    if (comparison.stop_reason == StopReason::kNotStarted) comparison.stop_reason = StopReason::kFailed;
    comparison.validity = JudgeComparison(comparison);
    return comparison;
  };
  const std::size_t count = request.variants.size();
  if (count < 2) {
    return fail("variants", InvalidArgument("a comparison needs at least two variants, got " + std::to_string(count)));
  }
  if (count > kMaxCompareVariants) {
    return fail("variants", InvalidArgument("a comparison takes at most " + std::to_string(kMaxCompareVariants) +
                                            " variants, got " + std::to_string(count)));
  }
  if (!(request.round_target_ms > 0 && request.round_target_ms <= 60000)) {
    return fail("settings", InvalidArgument("the round time per variant must be in (0, 60000] ms"));
  }
  if (Status s = CheckSettings(request.settings); !s.ok()) return fail("settings", s.error());
  for (const auto& variant : request.variants) {
    if (Status s = CheckSettings(variant.settings); !s.ok()) return fail("settings", s.error(), variant.label);
  }

  // Names and files first, so that a typo fails before anything loads.
  std::vector<const BackendEntry*> entries;
  std::vector<ModelFile> models;
  for (const auto& variant : request.variants) {
    auto entry = FindBackend(variant.runtime);
    if (!entry.ok()) return fail("runtime", entry.error(), variant.label);
    auto model = InspectModelFile(variant.model_path);
    if (!model.ok()) return fail("model", model.error(), variant.label);
    entries.push_back(*entry);
    models.push_back(std::move(*model));
  }
  // Everything is loaded before anything is timed: a variant that cannot run stops the comparison
  // before its first round.
  std::vector<LiveVariant> live(count);
  comparison.variants.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    ComparedVariant& variant = comparison.variants[i];
    variant.label = request.variants[i].label;
    variant.result.environment = comparison.environment;
    variant.result.started_at_utc = comparison.started_at_utc;
    if (auto error = Prepare(request.variants[i], *entries[i], models[i], variant.result, live[i], listeners)) {
      return fail(error->stage, std::move(error->error), variant.label);
    }
  }
  for (std::size_t i = 0; i < count; ++i) {
    BenchResult& result = comparison.variants[i].result;
    const WarmupOutcome warmup = Warmup(*live[i].backend, request.settings, listeners);
    if (warmup.error) return fail("warmup", *warmup.error, comparison.variants[i].label);
    result.warmup_runs = warmup.runs;
    result.warmup_ms = warmup.ms;
    // The round's run count from the warm-up's mean run (the first inference's without one).
    const double mean_ms = warmup.runs > 0 ? warmup.ms / warmup.runs : result.first_inference_ms;
    const double runs = std::ceil(request.round_target_ms / std::max(mean_ms, 1e-6));
    comparison.variants[i].runs_per_round = static_cast<int>(std::clamp(runs, 1.0, 100000.0));
  }

  for (auto* listener : listeners) listener->OnStageStart(Stage::kMeasure);
  InterferenceMonitor monitor;
  monitor.Start();
  const auto start = Clock::now();
  const auto min_rounds = static_cast<std::size_t>(std::max(0, request.settings.min_runs));
  const auto max_rounds = static_cast<std::size_t>(std::max(1, request.settings.max_runs));
  std::size_t next_ci_check = min_rounds;
  std::size_t rounds = 0;
  while (true) {
    for (std::size_t j = 0; j < count; ++j) {
      const std::size_t i = (j + rounds) % count;
      Backend& backend = *live[i].backend;
      const int runs = comparison.variants[i].runs_per_round;
      // One untimed run first: the other variants ran since this one's last run and evicted its
      // weights from the caches; the timed runs are then warm, as a bench's are, whatever the
      // run counts per round.
      Clock::time_point before;
      for (int k = 0; k <= runs; ++k) {
        if (k == 1) before = Clock::now();
        if (Status status = backend.RunOnce(); !status.ok()) {
          comparison.stop_reason = StopReason::kFailed;
          return fail("measure", status.error(), comparison.variants[i].label);
        }
      }
      live[i].round_ms.push_back(MsBetween(before, Clock::now()) / runs);
    }
    ++rounds;
    const double elapsed_ms = MsBetween(start, Clock::now());
    for (auto* listener : listeners) {
      listener->OnTimedRun(rounds - 1, static_cast<int64_t>(elapsed_ms * 1e6));
    }
    if (rounds >= max_rounds) {
      comparison.stop_reason = StopReason::kMaxRuns;
      break;
    }
    if (elapsed_ms >= request.settings.max_duration_ms) {
      comparison.stop_reason = StopReason::kMaxDuration;
      break;
    }
    if (rounds < min_rounds || elapsed_ms < request.settings.min_duration_ms) continue;
    if (!request.settings.target_ci_percent) {
      comparison.stop_reason = StopReason::kReachedMinimums;
      break;
    }
    // Each check sorts every ratio: at geometrically spaced round counts (every ~5%).
    if (rounds >= next_ci_check) {
      if (RatiosSettled(live, request.settings)) {
        comparison.stop_reason = StopReason::kReachedTargetCi;
        break;
      }
      next_ci_check = rounds + std::max<std::size_t>(1, rounds / 20);
    }
  }
  comparison.measure_ms = MsBetween(start, Clock::now());
  monitor.Stop();
  for (auto* listener : listeners) listener->OnStageEnd(Stage::kMeasure, comparison.measure_ms);
  comparison.rounds = static_cast<int>(rounds);
  std::size_t runs = 0;
  for (const auto& variant : comparison.variants) runs += rounds * static_cast<std::size_t>(variant.runs_per_round);
  comparison.interference = monitor.Summary(runs, comparison.measure_ms);

  for (std::size_t i = 0; i < count; ++i) {
    BenchResult& result = comparison.variants[i].result;
    result.samples_ms = std::move(live[i].round_ms);
    result.latency_ms = ComputeLatencyStats(result.samples_ms);
    result.measure_ms = comparison.measure_ms;
    result.stop_reason = comparison.stop_reason;
    // The variant's own verdict judges its rounds by the loop's minimums and thresholds (the
    // target CI is the ratios').
    BenchSettings judged = request.settings;
    judged.target_ci_percent.reset();
    result.validity = JudgeValidity(result.samples_ms, result.latency_ms, result.stop_reason, judged,
                                    result.environment, comparison.interference);
    result.peak_rss_bytes = PeakResidentBytes();
  }
  for (std::size_t i = 0; i < count; ++i) {
    comparison.ratios.push_back({comparison.variants[i].label,
                                 PairedRatio(comparison.variants[0].result.samples_ms,
                                             comparison.variants[i].result.samples_ms)});
  }
  comparison.validity = JudgeComparison(comparison);
  return comparison;
}

}  // namespace edgebench
