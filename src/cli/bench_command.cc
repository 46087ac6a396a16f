// `edgebench bench MODEL --runtime NAME`: benchmark a model locally.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "command.h"
#include "edgebench/bench.h"
#include "edgebench/report.h"
#include "edgebench/result_json.h"
#include "settings_flags.h"

namespace edgebench::cli {
namespace {

using json = nlohmann::json;

struct BenchFlags {
  std::string model;
  std::string runtime;
  std::string settings_file;
  std::unique_ptr<SettingsFlags> settings;
  std::string json_path;
  bool fail_invalid = false;
  bool quiet = false;
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

// The run's settings: those of --settings FILE, overridden by the flags given (a map setting
// item by item).
Expected<BenchSettings> Settings(const BenchFlags& flags) {
  json settings = json::object();
  if (!flags.settings_file.empty()) {
    std::ifstream in(flags.settings_file);
    if (!in) return NotFound(flags.settings_file + ": cannot read the settings file");
    settings = json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (settings.is_discarded()) return InvalidArgument(flags.settings_file + ": not valid JSON");
    if (Status valid = ValidateSettingsJson(settings, SettingsReader::kBench); !valid.ok()) {
      return InvalidArgument(flags.settings_file + ": " + valid.error().message);
    }
  }
  auto given = flags.settings->Collect();
  if (!given.ok()) return given.error();
  for (const auto& [key, value] : given->items()) {
    if (value.is_object() && settings.contains(key)) {
      settings[key].update(value);
    } else {
      settings[key] = value;
    }
  }
  return SettingsFromJson(settings);
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

int RunBench(const BenchFlags& flags) {
  auto settings = Settings(flags);
  if (!settings.ok()) return ReportError(settings.error());
  if (Status writable = CheckOutputPath(flags.json_path); !writable.ok()) {
    return ReportError(writable.error());
  }
  ProgressListener progress(isatty(STDERR_FILENO));
  std::vector<RunListener*> listeners;
  if (!flags.quiet) listeners.push_back(&progress);

  BenchResult result = RunBenchmark({flags.model, flags.runtime, *settings}, listeners);
  result.device = result.environment.hostname;  // a local run's device (the server names agents)

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
  auto* command = app.add_subcommand("bench", "Benchmark a model on a local runtime");
  command->footer(
      "Example:\n  edgebench bench mobilenetv2.onnx --runtime onnxruntime --threads 1 "
      "--target-ci 1 --json result.json\n"
      "Timed runs continue until both --min-runs and --min-duration-ms are reached (and, with\n"
      "--target-ci, until the 95% CI of the median is within that percent of it), at most\n"
      "--max-duration-ms. Settings: docs/settings.md.");
  command->add_option("model", flags->model, "Model file (.onnx, .tflite, TorchScript .pt, ...)")
      ->required();
  command->add_option("-r,--runtime", flags->runtime, "Runtime (see 'edgebench runtimes')")
      ->required();
  command->add_option("--settings", flags->settings_file,
                      "Settings JSON FILE ({\"min_runs\": 30, ...}, as a result's \"settings\"); the flags "
                      "given override it, a map setting (-o, --shape, --input) item by item")
      ->type_name("FILE");
  flags->settings = std::make_unique<SettingsFlags>(command, SettingsReader::kBench);
  command->add_option("--json", flags->json_path, "Write the result document to FILE ('-' = stdout)");
  command->add_flag("--fail-invalid", flags->fail_invalid, "Exit 3 when the verdict is INVALID");
  command->add_flag("-q,--quiet", flags->quiet, "No progress on stderr");
  command->callback([flags, &exit_code] { exit_code = RunBench(*flags); });
}

}  // namespace edgebench::cli
