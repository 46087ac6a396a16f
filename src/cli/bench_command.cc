// `edgebench bench MODEL --runtime NAME`: benchmark a model locally.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "command.h"
#include "progress.h"
#include "edgebench/bench.h"
#include "edgebench/json_text.h"
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

// Makes the --save-outputs directory now, so that a long run does not end unable to write it.
Status CheckOutputDirectory(const std::string& directory) {
  if (directory.empty()) return OkStatus();
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error || access(directory.c_str(), W_OK) != 0) {
    return InvalidArgument(directory + ": cannot write the --save-outputs directory" +
                           (error ? ": " + error.message() : std::string()));
  }
  return OkStatus();
}

int RunBench(const BenchFlags& flags) {
  auto settings = flags.settings->BenchSettingsWithFile(flags.settings_file);
  if (!settings.ok()) return ReportError(settings.error());
  if (Status writable = CheckOutputPath(flags.json_path); !writable.ok()) {
    return ReportError(writable.error());
  }
  if (Status writable = CheckOutputDirectory(settings->save_outputs_dir); !writable.ok()) {
    return ReportError(writable.error());
  }
  ProgressListener progress(isatty(STDERR_FILENO), "runs");
  std::vector<RunListener*> listeners;
  if (!flags.quiet) listeners.push_back(&progress);

  BenchResult result = RunBenchmark({flags.model, flags.runtime, *settings}, listeners);
  result.device = result.environment.hostname;  // a local run's device (the server names agents)

  if (!flags.json_path.empty()) {
    Status written = WriteOutput(flags.json_path, DumpJson(ToJson(result), 2) + "\n");
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
  AddVerboseFlag(command);
  command->callback([flags, &exit_code] { exit_code = RunBench(*flags); });
}

}  // namespace edgebench::cli
