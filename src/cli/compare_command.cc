// `edgebench compare MODEL... --runtime NAME...`: variants timed interleaved in one process.
#include <unistd.h>

#include <iostream>

#include "command.h"
#include "edgebench/analysis.h"
#include "edgebench/compare.h"
#include "edgebench/json_text.h"
#include "edgebench/report.h"
#include "edgebench/result_json.h"
#include "edgebench/text.h"
#include "progress.h"
#include "settings_flags.h"

namespace edgebench::cli {
namespace {

struct CompareFlags {
  std::vector<std::string> models;
  std::vector<std::string> runtimes;
  std::vector<int> threads;
  std::vector<std::string> vary_options;
  double round_ms = 20;
  std::string settings_file;
  std::unique_ptr<SettingsFlags> settings;
  std::string json_path;
  bool fail_invalid = false;
  bool quiet = false;
};

// One axis of the sweep: its values, each with the label part it gives a variant.
struct Axis {
  std::vector<std::string> labels;
  std::function<void(CompareVariantRequest&, std::size_t)> apply;
};

// The variants: the cartesian product of the models, runtimes, thread counts and each varied
// option, in that order (the first model, runtime, ... is the baseline). A label names only the
// axes with more than one value; variants that would share a label are numbered.
Expected<std::vector<CompareVariantRequest>> ExpandVariants(const CompareFlags& flags, const BenchSettings& common) {
  std::vector<Axis> axes;
  {
    Axis models;
    for (const auto& model : flags.models) models.labels.push_back(ModelName(model));
    models.apply = [&flags](CompareVariantRequest& v, std::size_t i) { v.model_path = flags.models[i]; };
    axes.push_back(std::move(models));
  }
  {
    Axis runtimes;
    runtimes.labels = flags.runtimes;
    runtimes.apply = [&flags](CompareVariantRequest& v, std::size_t i) { v.runtime = flags.runtimes[i]; };
    axes.push_back(std::move(runtimes));
  }
  if (!flags.threads.empty()) {
    Axis threads;
    for (int t : flags.threads) {
      if (t < 0 || t > 1024) return InvalidArgument("--threads " + std::to_string(t) + " is out of range [0, 1024]");
      threads.labels.push_back("t=" + std::to_string(t));
    }
    threads.apply = [&flags](CompareVariantRequest& v, std::size_t i) { v.settings.threads = flags.threads[i]; };
    axes.push_back(std::move(threads));
  }
  for (const auto& item : flags.vary_options) {
    const auto equals = item.find('=');
    if (equals == std::string::npos || equals == 0 || equals + 1 == item.size()) {
      return InvalidArgument("bad --vary-option '" + item + "': expected KEY=VALUE,VALUE...");
    }
    const std::string key = item.substr(0, equals);
    const std::vector<std::string> values = Split(item.substr(equals + 1), ',');
    Axis option;
    for (const auto& value : values) option.labels.push_back(key + "=" + value);
    option.apply = [key, values](CompareVariantRequest& v, std::size_t i) { v.settings.options[key] = values[i]; };
    axes.push_back(std::move(option));
  }

  std::size_t count = 1;
  for (const auto& axis : axes) count *= axis.labels.size();
  if (count < 2) {
    return InvalidArgument("a comparison needs at least two variants: give two models, two runtimes, or a sweep "
                           "such as --threads 1,2");
  }
  if (count > static_cast<std::size_t>(kMaxCompareVariants)) {
    return InvalidArgument("the sweep gives " + std::to_string(count) + " variants; at most " +
                           std::to_string(kMaxCompareVariants) + " are compared at once");
  }
  std::vector<CompareVariantRequest> variants;
  std::map<std::string, int> seen;
  for (std::size_t index = 0; index < count; ++index) {
    CompareVariantRequest variant;
    variant.settings = common;
    std::vector<std::string> parts;
    std::size_t rest = index;
    std::vector<std::size_t> positions(axes.size());
    for (std::size_t a = axes.size(); a-- > 0;) {
      positions[a] = rest % axes[a].labels.size();
      rest /= axes[a].labels.size();
    }
    for (std::size_t a = 0; a < axes.size(); ++a) {
      axes[a].apply(variant, positions[a]);
      if (axes[a].labels.size() > 1) parts.push_back(axes[a].labels[positions[a]]);
    }
    variant.label = parts.empty() ? axes[0].labels[0] : Join(parts, " ");
    variants.push_back(std::move(variant));
  }
  for (auto& variant : variants) ++seen[variant.label];
  std::map<std::string, int> numbered;
  for (auto& variant : variants) {
    if (seen[variant.label] > 1) variant.label += " #" + std::to_string(++numbered[variant.label]);
  }
  return variants;
}

int RunCompare(const CompareFlags& flags) {
  auto settings = flags.settings->BenchSettingsWithFile(flags.settings_file);
  if (!settings.ok()) return ReportError(settings.error());
  if (Status writable = CheckOutputPath(flags.json_path); !writable.ok()) return ReportError(writable.error());
  auto variants = ExpandVariants(flags, *settings);
  if (!variants.ok()) return ReportError(variants.error());

  ProgressListener progress(isatty(STDERR_FILENO), "rounds");
  std::vector<RunListener*> listeners;
  if (!flags.quiet) listeners.push_back(&progress);
  ComparisonResult comparison = RunComparison({*variants, *settings, flags.round_ms}, listeners);
  // A local run's device, as for bench (the server names agents).
  comparison.device = comparison.environment.hostname;
  for (auto& variant : comparison.variants) variant.result.device = comparison.device;

  if (!flags.json_path.empty()) {
    Status written = WriteOutput(flags.json_path, DumpJson(ToJson(comparison), 2) + "\n");
    if (!written.ok()) return ReportError(written.error());
  }
  if (comparison.failure) return ReportError(comparison.failure->error);
  if (flags.json_path != "-") std::cout << FormatComparisonText(comparison);
  return !comparison.validity.valid && flags.fail_invalid ? kExitInvalidResult : kExitOk;
}

}  // namespace

void AddCompareCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<CompareFlags>();
  auto* command = app.add_subcommand(
      "compare", "Compare models, runtimes, thread counts or options, timed interleaved in one process");
  command->footer(
      "Examples:\n"
      "  edgebench compare mobilenetv2.onnx efficientnetb0.onnx -r onnxruntime --threads 1 --target-ci 1\n"
      "  edgebench compare mobilenetv2.onnx -r onnxruntime --threads 1,2,4 --json threads.json\n"
      "  edgebench compare mobilenetv2.onnx mobilenetv2.tflite -r onnxruntime -r tflite ...   (4 variants)\n"
      "Variants are every combination of the models, runtimes, --threads values and --vary-option\n"
      "values; the first is the baseline. Each round runs every variant for about --round-ms (rotating\n"
      "the order), so a slowdown of the machine hits all of them alike; the answer is each variant's\n"
      "median and its ratio to the baseline (median of the per-round ratios) with a 95% interval.\n"
      "--min-runs/--max-runs count rounds; --target-ci applies to the ratios. docs/measurement.md.");
  command->add_option("models", flags->models, "Model files (each is a variant axis value)")->required();
  command->add_option("-r,--runtime", flags->runtimes, "Runtime (repeatable: each is a variant axis value)")
      ->required();
  command->add_option("-t,--threads", flags->threads, "Intra-op thread counts to compare, e.g. 1,2,4 (0 = default)")
      ->delimiter(',');
  command->add_option("--vary-option", flags->vary_options,
                      "Runtime option values to compare, KEY=VALUE,VALUE... (repeatable; -o sets it for all)")
      ->type_name("KEY=VALUES");
  command->add_option("--round-ms", flags->round_ms, "Each variant's time in a round (its runs per round are sized "
                                                     "from its warm-up)")
      ->capture_default_str();
  command->add_option("--settings", flags->settings_file,
                      "Settings JSON FILE (as for bench); the flags given override it")
      ->type_name("FILE");
  flags->settings = std::make_unique<SettingsFlags>(
      command, SettingsReader::kBench,
      std::set<std::string>{"threads", "verify_runtime", "verify_model", "verify_tolerance", "profile_runs"});
  command->add_option("--json", flags->json_path, "Write the comparison document to FILE ('-' = stdout)");
  command->add_flag("--fail-invalid", flags->fail_invalid, "Exit 3 when the verdict is INVALID");
  command->add_flag("-q,--quiet", flags->quiet, "No progress on stderr");
  command->callback([flags, &exit_code] { exit_code = RunCompare(*flags); });
}

}  // namespace edgebench::cli
