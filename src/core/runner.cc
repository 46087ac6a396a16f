#include "edgebench/runner.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>

#include "edgebench/stats.h"
#include "edgebench/validity.h"

namespace edgebench {
namespace {

using Clock = std::chrono::steady_clock;

int64_t ToNs(Clock::duration duration) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(duration).count();
}

// The adaptive stop: the median's CI within target and samples the verdict accepts
// (SampleReasons), so that a run stopped here is not INVALID for its timings.
bool TargetReached(const std::vector<int64_t>& samples_ns, const BenchSettings& settings) {
  std::vector<double> samples_ms;
  samples_ms.reserve(samples_ns.size());
  for (int64_t ns : samples_ns) samples_ms.push_back(static_cast<double>(ns) / 1e6);
  const LatencyStats stats = ComputeLatencyStats(samples_ms);
  const double half_width = std::max(stats.p50 - stats.median_ci95_low, stats.median_ci95_high - stats.p50);
  if (stats.p50 <= 0 || 100 * half_width / stats.p50 > *settings.target_ci_percent) return false;
  return SampleReasons(samples_ms, stats, settings).empty();
}

}  // namespace

std::string_view StageName(Stage stage) {
  switch (stage) {
    case Stage::kLoad: return "load";
    case Stage::kInputs: return "inputs";
    case Stage::kFirstInference: return "first_inference";
    case Stage::kWarmup: return "warmup";
    case Stage::kMeasure: return "measure";
    case Stage::kProfile: return "profile";
  }
  return "measure";
}

std::string_view StopReasonName(StopReason reason) {
  switch (reason) {
    case StopReason::kNotStarted: return "not_started";
    case StopReason::kReachedMinimums: return "reached_minimums";
    case StopReason::kReachedTargetCi: return "reached_target_ci";
    case StopReason::kMaxRuns: return "max_runs";
    case StopReason::kMaxDuration: return "max_duration";
    case StopReason::kFailed: return "failed";
  }
  return "failed";
}

WarmupOutcome Warmup(Backend& backend, const BenchSettings& settings, std::span<RunListener* const> listeners) {
  WarmupOutcome warmup;
  for (auto* listener : listeners) listener->OnStageStart(Stage::kWarmup);
  const auto start = Clock::now();
  const int64_t min_ns = static_cast<int64_t>(settings.warmup_min_ms * 1e6);
  const int64_t max_ns = static_cast<int64_t>(settings.max_duration_ms * 1e6);
  while (true) {
    const int64_t elapsed = ToNs(Clock::now() - start);
    const bool done = warmup.runs >= settings.warmup_runs && elapsed >= min_ns;
    if (done || elapsed >= max_ns) break;
    if (Status status = backend.RunOnce(); !status.ok()) {
      warmup.error = status.error();
      return warmup;
    }
    ++warmup.runs;
  }
  warmup.ms = static_cast<double>(ToNs(Clock::now() - start)) / 1e6;
  for (auto* listener : listeners) listener->OnStageEnd(Stage::kWarmup, warmup.ms);
  return warmup;
}

Measurement Measure(Backend& backend, const BenchSettings& settings,
                    std::span<RunListener* const> listeners) {
  Measurement result;
  const int64_t max_ns = static_cast<int64_t>(settings.max_duration_ms * 1e6);

  const WarmupOutcome warmup = Warmup(backend, settings, listeners);
  result.warmup_runs = warmup.runs;
  result.warmup_ms = warmup.ms;
  if (warmup.error) {
    result.error = warmup.error;
    result.stop_reason = StopReason::kFailed;
    return result;
  }

  for (auto* listener : listeners) listener->OnStageStart(Stage::kMeasure);
  const int64_t min_ns = static_cast<int64_t>(settings.min_duration_ms * 1e6);
  const auto max_runs = static_cast<std::size_t>(std::max(1, settings.max_runs));
  const auto min_runs = static_cast<std::size_t>(std::max(0, settings.min_runs));
  std::vector<int64_t> samples_ns;
  samples_ns.reserve(std::min<std::size_t>(max_runs, 1 << 16));
  std::size_t next_ci_check = min_runs;
  const auto start = Clock::now();
  while (true) {
    const auto before = Clock::now();
    Status status = backend.RunOnce();
    const auto after = Clock::now();
    if (!status.ok()) {
      result.error = status.error();
      result.stop_reason = StopReason::kFailed;
      break;
    }
    samples_ns.push_back(ToNs(after - before));
    const std::size_t n = samples_ns.size();
    const int64_t elapsed = ToNs(after - start);
    for (auto* listener : listeners) listener->OnTimedRun(n - 1, elapsed);
    if (n >= max_runs) {
      result.stop_reason = StopReason::kMaxRuns;
      break;
    }
    if (elapsed >= max_ns) {
      result.stop_reason = StopReason::kMaxDuration;
      break;
    }
    if (n < min_runs || elapsed < min_ns) continue;
    if (!settings.target_ci_percent) {
      result.stop_reason = StopReason::kReachedMinimums;
      break;
    }
    // The check sorts all samples: do it at geometrically spaced counts (every ~5%).
    if (n >= next_ci_check) {
      if (TargetReached(samples_ns, settings)) {
        result.stop_reason = StopReason::kReachedTargetCi;
        break;
      }
      next_ci_check = n + std::max<std::size_t>(1, n / 20);
    }
  }
  result.measure_ms = static_cast<double>(ToNs(Clock::now() - start)) / 1e6;
  for (auto* listener : listeners) listener->OnStageEnd(Stage::kMeasure, result.measure_ms);
  result.samples_ms.reserve(samples_ns.size());
  for (int64_t ns : samples_ns) result.samples_ms.push_back(static_cast<double>(ns) / 1e6);
  return result;
}

int64_t PeakResidentBytes() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux reports kilobytes
}

}  // namespace edgebench
