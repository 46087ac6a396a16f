// `edgebench bench MODEL --runtime NAME`: benchmark a model locally.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "command.h"
#include "edgebench/bench.h"
#include "edgebench/report.h"
#include "edgebench/result_json.h"

namespace edgebench::cli {
namespace {

struct BenchFlags {
  std::string model;
  std::string runtime;
  std::vector<std::string> options;  // key=value
  std::vector<std::string> shapes;   // name=dims
  std::vector<std::string> inputs;   // name=file
  double target_ci_percent = 0;      // 0 = not adaptive
  double verify_tolerance = -1;      // < 0 = no tolerance
  bool allow_unpinned_governor = false;
  std::string json_path;
  bool fail_invalid = false;
  bool quiet = false;
  bool min_duration_given = false;
  bool profile = false;
  int profile_runs = 20;
  bool profile_runs_given = false;
  BenchSettings settings;
};

// Progress on stderr: a line per stage; on a terminal also a live count while measuring.
class ProgressListener final : public RunListener {
 public:
  explicit ProgressListener(bool live) : live_(live) {}
  void OnStageStart(Stage stage) override {
    std::fprintf(stderr, "%-18s", (std::string(StageName(stage)) + "...").c_str());
    next_update_ns_ = kUpdateNs;
  }
  void OnStageEnd(Stage stage, double elapsed_ms) override {
    if (live_ && stage == Stage::kMeasure) std::fprintf(stderr, "\r%-18s", "measure...");
    std::fprintf(stderr, " %.1f ms%s\n", elapsed_ms, live_ && stage == Stage::kMeasure ? "          " : "");
  }
  void OnTimedRun(std::size_t index, int64_t elapsed_ns) override {
    if (!live_ || elapsed_ns < next_update_ns_) return;
    next_update_ns_ = elapsed_ns + kUpdateNs;
    std::fprintf(stderr, "\r%-18s %zu runs, %.1f s", "measure...", index + 1, elapsed_ns / 1e9);
  }

 private:
  static constexpr int64_t kUpdateNs = 250'000'000;
  bool live_;
  int64_t next_update_ns_ = kUpdateNs;
};

Status ParseFlags(BenchFlags& flags) {
  for (const auto& option : flags.options) {
    const auto equals = option.find('=');
    if (equals == std::string::npos || equals == 0) {
      return InvalidArgument("bad --option '" + option + "': expected KEY=VALUE");
    }
    flags.settings.options[option.substr(0, equals)] = option.substr(equals + 1);
  }
  for (const auto& shape : flags.shapes) {
    auto parsed = ParseShapeArgument(shape);
    if (!parsed.ok()) return parsed.error();
    flags.settings.shapes[parsed->first] = parsed->second;
  }
  for (const auto& input : flags.inputs) {
    const auto equals = input.find('=');
    if (equals == std::string::npos || equals == 0 || equals + 1 == input.size()) {
      return InvalidArgument("bad --input '" + input + "': expected NAME=FILE");
    }
    flags.settings.input_files[input.substr(0, equals)] = input.substr(equals + 1);
  }
  if (flags.target_ci_percent != 0) {
    flags.settings.target_ci_percent = flags.target_ci_percent;
    // Adaptive mode: the confidence interval decides how long to run, not a fixed duration.
    if (!flags.min_duration_given) flags.settings.min_duration_ms = 0;
  }
  flags.settings.require_pinned_governor = !flags.allow_unpinned_governor;
  if (flags.verify_tolerance >= 0) flags.settings.verify_tolerance = flags.verify_tolerance;
  if (flags.profile_runs_given && !flags.profile) return InvalidArgument("--profile-runs needs --profile");
  if (flags.profile_runs < 1) return InvalidArgument("--profile-runs must be at least 1");
  if (flags.profile) flags.settings.profile_runs = flags.profile_runs;
  return OkStatus();
}

// Fails early, before a long run, when the result could not be written.
Status CheckOutputPath(const std::string& path) {
  if (path.empty() || path == "-") return OkStatus();
  const auto parent = std::filesystem::absolute(path).parent_path();
  if (!std::filesystem::is_directory(parent) || access(parent.c_str(), W_OK) != 0) {
    return InvalidArgument(path + ": cannot write (directory " + parent.string() +
                           " missing or read-only)");
  }
  return OkStatus();
}

int RunBench(BenchFlags& flags) {
  if (Status parsed = ParseFlags(flags); !parsed.ok()) return ReportError(parsed.error());
  if (Status writable = CheckOutputPath(flags.json_path); !writable.ok()) {
    return ReportError(writable.error());
  }
  ProgressListener progress(isatty(STDERR_FILENO));
  std::vector<RunListener*> listeners;
  if (!flags.quiet) listeners.push_back(&progress);

  const BenchResult result =
      RunBenchmark({flags.model, flags.runtime, flags.settings}, listeners);

  if (!flags.json_path.empty()) {
    Status written = WriteOutput(flags.json_path, ToJson(result).dump(2) + "\n");
    if (!written.ok()) return ReportError(written.error());
  }
  if (result.failure) return ReportError(result.failure->error);
  if (flags.json_path != "-") std::cout << FormatResultText(result);
  const bool verification_failed = result.verification && !result.verification->passed;
  if (verification_failed || (!result.validity.valid && flags.fail_invalid)) return kExitInvalidResult;
  return kExitOk;
}

}  // namespace

void AddBenchCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<BenchFlags>();
  BenchSettings& s = flags->settings;
  auto* command = app.add_subcommand("bench", "Benchmark a model on a local runtime");
  command->footer(
      "Example:\n  edgebench bench mobilenetv2.onnx --runtime onnxruntime --threads 1 "
      "--target-ci 1 --json result.json\n"
      "Timed runs continue until both --min-runs and --min-duration-ms are reached (and, with\n"
      "--target-ci, until the 95% CI of the median is within that percent of it), at most\n"
      "--max-duration-ms.");
  command->add_option("model", flags->model, "Model file (.onnx, .tflite, TorchScript .pt, ...)")
      ->required();
  command->add_option("-r,--runtime", flags->runtime, "Runtime (see 'edgebench runtimes')")
      ->required();
  command->add_option("-t,--threads", s.threads, "Intra-op threads (0 = runtime default)")
      ->capture_default_str();
  command->add_option("-o,--option", flags->options, "Runtime option KEY=VALUE (repeatable)");
  command->add_option("--shape", flags->shapes, "Input shape NAME=DIMS, e.g. input=1x3x224x224");
  command->add_option("--input", flags->inputs, "Input NAME=FILE of raw little-endian data");
  command->add_option("--seed", s.seed, "Seed of the random inputs")->capture_default_str();
  command->add_option("--warmup-runs", s.warmup_runs, "Minimum warm-up runs")->capture_default_str();
  command->add_option("--warmup-min-ms", s.warmup_min_ms, "Minimum warm-up time")
      ->capture_default_str();
  command->add_option("--min-runs", s.min_runs, "Minimum timed runs")->capture_default_str();
  command->add_option("--max-runs", s.max_runs, "Maximum timed runs")->capture_default_str();
  auto* min_duration = command->add_option("--min-duration-ms", s.min_duration_ms,
                                           "Minimum time of the timed runs (0 with --target-ci)")
                           ->capture_default_str();
  command->add_option("--max-duration-ms", s.max_duration_ms, "Maximum time of the timed runs")
      ->capture_default_str();
  command->add_option("--target-ci", flags->target_ci_percent,
                      "Adaptive: run until the 95% CI of the median is within PERCENT of it");
  command->add_option("--max-cv", s.max_cv_percent, "Invalid above this coefficient of variation (%)")
      ->capture_default_str();
  command->add_option("--max-drift", s.max_drift_percent,
                      "Invalid above this first-vs-last-third drift of the median (%)")
      ->capture_default_str();
  command->add_flag("--allow-unpinned-governor", flags->allow_unpinned_governor,
                    "Do not invalidate results when the cpufreq governor is not 'performance'");
  command->add_option("--verify", s.verify_runtime,
                      "After timing, run the same inputs through this reference runtime and compare outputs");
  command->add_option("--verify-model", s.verify_model,
                      "The reference runtime's model file (default: MODEL), e.g. the .pt beside an .onnx");
  command->add_option("--verify-tolerance", flags->verify_tolerance,
                      "Fail (exit 3) when the max abs output error exceeds this");
  command->add_flag("--profile", flags->profile,
                    "After timing, run the model again with the runtime's operator profiler and "
                    "report time per kernel type");
  auto* profile_runs = command->add_option("--profile-runs", flags->profile_runs,
                                           "Runs profiled with --profile")
                           ->capture_default_str();
  command->add_option("--json", flags->json_path, "Write the result document to FILE ('-' = stdout)");
  command->add_flag("--fail-invalid", flags->fail_invalid, "Exit 3 when the verdict is INVALID");
  command->add_flag("-q,--quiet", flags->quiet, "No progress on stderr");
  command->callback([flags, min_duration, profile_runs, &exit_code] {
    flags->min_duration_given = min_duration->count() > 0;
    flags->profile_runs_given = profile_runs->count() > 0;
    exit_code = RunBench(*flags);
  });
}

}  // namespace edgebench::cli
