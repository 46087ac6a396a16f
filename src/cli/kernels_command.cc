// `edgebench kernels generate` (single-kernel models sampled around real models' kernels) and
// `edgebench kernels detect` (a runtime's fusion rules from the fusion maps of its profiles).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>

#include "command.h"
#include "edgebench/bench.h"
#include "edgebench/kernel_dataset.h"
#include "edgebench/kernel_models.h"
#include "edgebench/kernel_split.h"
#include "edgebench/model_file.h"
#include "edgebench/report.h"
#include "edgebench/text.h"
#include "edgebench/version.h"
#include "progress.h"
#include "settings_flags.h"

namespace edgebench::cli {
namespace {

using json = nlohmann::json;

// The models to read: those given, else the zoo's ONNX models.
Expected<std::vector<std::string>> ModelsOrZoo(const std::vector<std::string>& given) {
  if (!given.empty()) return given;
  return ZooOnnxModels();
}

std::string ModelName(const std::string& path) { return std::filesystem::path(path).stem().string(); }

struct GenerateFlags {
  std::string out;
  std::vector<std::string> from;
  int per_type = 20;
  std::string types;
  uint64_t seed = 1;
  bool json = false;
};

int RunGenerate(const GenerateFlags& flags) {
  std::vector<std::string> types;
  if (!flags.types.empty()) {
    for (const std::string& type : Split(flags.types, ',')) {
      const auto& known = KernelTypes();
      if (std::find(known.begin(), known.end(), type) == known.end()) {
        return ReportError(InvalidArgument("--types: unknown kernel type '" + type + "' (known: " +
                                           Join(known, ", ") + ")"));
      }
      types.push_back(type);
    }
  }
  auto models = ModelsOrZoo(flags.from);
  if (!models.ok()) return ReportError(models.error());
  std::vector<KernelSourceModel> sources;
  KernelModels index{flags.seed, kVersion, {}, {}};  // DIR/kernels.json
  for (const std::string& path : *models) {
    auto kernels = SplitIntoKernels(path, ReferenceKernelRules(), {});
    if (!kernels.ok()) return ReportError(kernels.error());
    auto sha256 = Sha256OfFile(path);
    if (!sha256.ok()) return ReportError(sha256.error());
    sources.push_back({ModelName(path), std::move(*kernels)});
    index.sources.push_back({sources.back().name, std::move(*sha256)});
  }
  std::error_code error;
  std::filesystem::create_directories(flags.out, error);
  if (error) return ReportError(InvalidArgument(flags.out + ": cannot make the output directory: " + error.message()));

  const std::vector<SampledKernel> sampled = SampleKernelConfigs(sources, types, flags.per_type, flags.seed);
  std::map<std::string, int> by_type;
  for (std::size_t i = 0; i < sampled.size(); ++i) {
    char file[64];
    std::snprintf(file, sizeof file, "%04zu_%s.onnx", i + 1, sampled[i].config.type.c_str());
    // Each model's weights have their own seed, derived from --seed and its position.
    Status written = WriteKernelModel(sampled[i].config, (std::filesystem::path(flags.out) / file).string(),
                                      flags.seed * 1000003 + i);
    if (!written.ok()) return ReportError(written.error());
    index.kernels.push_back({file, sampled[i].source, sampled[i].config});
    ++by_type[sampled[i].config.type];
  }
  const json document = ToJson(index);
  Status written = WriteOutput((std::filesystem::path(flags.out) / "kernels.json").string(), document.dump(2) + "\n");
  if (!written.ok()) return ReportError(written.error());

  if (flags.json) {
    std::cout << document.dump(2) << "\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const std::string& type : KernelTypes()) {
    if (types.empty() || std::find(types.begin(), types.end(), type) != types.end()) {
      rows.push_back({type, std::to_string(by_type[type])});
    }
  }
  std::cout << sampled.size() << " kernel models from " << sources.size() << " models in " << flags.out
            << " (kernels.json)\n\n"
            << FormatTable({"type", "models"}, rows, {false, true});
  return kExitOk;
}

struct DetectFlags {
  std::vector<std::string> models;
  std::string runtime;
  std::string out;
  std::string settings_file;
  std::unique_ptr<SettingsFlags> settings;
  bool json = false;
  bool quiet = false;
};

int RunDetect(const DetectFlags& flags) {
  auto settings = flags.settings->BenchSettingsWithFile(flags.settings_file);
  if (!settings.ok()) return ReportError(settings.error());
  settings->profile_runs = std::max(settings->profile_runs, 1);
  if (Status writable = CheckOutputPath(flags.out); !writable.ok()) return ReportError(writable.error());
  auto models = ModelsOrZoo(flags.models);
  if (!models.ok()) return ReportError(models.error());

  KernelRules rules{.runtime = flags.runtime};
  std::vector<FusionMap> maps;
  for (const std::string& path : *models) {
    ProgressListener progress(isatty(STDERR_FILENO), ModelName(path) + " runs");
    std::vector<RunListener*> listeners;
    if (!flags.quiet) listeners.push_back(&progress);
    const BenchResult result = RunBenchmark({path, flags.runtime, *settings}, listeners);
    if (result.failure) return ReportError(result.failure->error);
    if (!result.fusion) {
      return ReportError(Unsupported(path + ": " + flags.runtime +
                                     " gave no fusion map (no operator profiler, or a model the inspector "
                                     "cannot read): " + Join(result.validity.warnings, "; ")));
    }
    rules.runtime_version = result.runtime_version;
    AddFusionMap(*result.fusion, rules);
    maps.push_back(*result.fusion);
  }
  // An op type one profile shows as removed but another as (part of) a kernel is not removed: the
  // fusion map attributes nodes to kernels by position where names do not tell.
  std::erase_if(rules.removed_op_types, [&](const std::string& op_type) {
    return std::any_of(maps.begin(), maps.end(), [&](const FusionMap& map) {
      return std::any_of(map.patterns.begin(), map.patterns.end(), [&](const FusionPattern& pattern) {
        const auto& ops = pattern.source_op_types;
        return std::find(ops.begin(), ops.end(), op_type) != ops.end();
      });
    });
  });
  rules.source = "fusion maps of " + std::to_string(models->size()) + " model" + (models->size() == 1 ? "" : "s");
  auto block = DetectLayoutBlock(*models, maps, rules, settings->shapes);
  if (!block.ok()) return ReportError(block.error());
  rules.layout_block_channels = *block;

  // How each model splits under the rules, beside the kernels its profile showed.
  json checks = json::array();
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < models->size(); ++i) {
    auto kernels = SplitIntoKernels((*models)[i], rules, settings->shapes);
    if (!kernels.ok()) return ReportError(kernels.error());
    int64_t measured = 0;
    for (const FusionPattern& pattern : maps[i].patterns) measured += pattern.kernels;
    const auto count = [&](const std::string& type) {
      return std::count_if(kernels->begin(), kernels->end(), [&](const ModelKernel& k) { return k.config.type == type; });
    };
    const auto unknown = count("unknown");
    const auto conversions = count(kReorderKernelType);
    const int64_t measured_conversions = MeasuredLayoutConversions(maps[i]);
    // The fusion map's kernels leave the conversions out; the split's count them.
    checks.push_back({{"model", ModelName((*models)[i])},
                      {"profiled_kernels", measured},
                      {"split_kernels", static_cast<int64_t>(kernels->size()) - conversions},
                      {"unknown_kernels", unknown},
                      {"profiled_layout_conversions", measured_conversions},
                      {"split_layout_conversions", conversions}});
    rows.push_back({ModelName((*models)[i]), std::to_string(measured), std::to_string(kernels->size() - conversions),
                    std::to_string(unknown), std::to_string(measured_conversions), std::to_string(conversions)});
  }
  Status written = WriteOutput(flags.out, ToJson(rules).dump(2) + "\n");
  if (!written.ok()) return ReportError(written.error());
  if (flags.json) {
    std::cout << json{{"rules", ToJson(rules)}, {"models", checks}}.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << flags.runtime << " " << rules.runtime_version << ": " << rules.fused_patterns.size()
            << " fused patterns, removed op types: "
            << (rules.removed_op_types.empty() ? "none" : Join(rules.removed_op_types, ", ")) << ", blocked layout: "
            << (rules.layout_block_channels > 0 ? std::to_string(rules.layout_block_channels) + " channels" : "none")
            << "\n";
  for (const auto& pattern : rules.fused_patterns) std::cout << "  " << Join(pattern, "+") << "\n";
  std::cout << "\n"
            << FormatTable({"model", "profiled kernels", "split kernels", "unknown", "profiled conversions",
                            "split conversions"},
                           rows, {false, true, true, true, true, true});
  return kExitOk;
}

int RunReference(const std::string& out) {
  if (Status writable = CheckOutputPath(out); !writable.ok()) return ReportError(writable.error());
  if (Status written = WriteKernelModel(ReferenceKernelConfig(), out, 0); !written.ok()) {
    return ReportError(written.error());
  }
  auto sha256 = Sha256OfFile(out);
  if (!sha256.ok()) return ReportError(sha256.error());
  std::printf("wrote %s: %s, sha256 %s\n", out.c_str(), ToJson(ReferenceKernelConfig()).dump().c_str(),
              sha256->c_str());
  return kExitOk;
}

}  // namespace

void AddKernelsCommands(CLI::App& app, int& exit_code) {
  CLI::App* group = SubcommandGroup(app, "kernels", "Single-kernel models and fusion rules for latency prediction");

  auto generate_flags = std::make_shared<GenerateFlags>();
  auto* generate = group->add_subcommand(
      "generate", "Write single-kernel ONNX models sampled around the kernels of real models, and kernels.json");
  generate->footer(
      "Example:\n  edgebench kernels generate --out kernels/ --per-type 20 --types conv,dwconv --seed 1\n"
      "Without --from, the zoo's ONNX models are the sources. Sampling and the model layout:\n"
      "docs/predictor.md.");
  generate->add_option("--out", generate_flags->out, "Directory to write the models and kernels.json to")
      ->required()
      ->type_name("DIR");
  generate->add_option("--from", generate_flags->from, "ONNX models whose kernels to sample around (repeatable)")
      ->type_name("MODEL");
  generate->add_option("--per-type", generate_flags->per_type, "Models per kernel type")
      ->check(CLI::Range(1, 100000));
  generate->add_option("--types", generate_flags->types, "Kernel types, comma-separated (default: all)");
  generate->add_option("--seed", generate_flags->seed, "Seed of the sampling and of the weights");
  generate->add_flag("--json", generate_flags->json, "Print kernels.json on stdout instead of the table");
  generate->callback([generate_flags, &exit_code] { exit_code = RunGenerate(*generate_flags); });

  auto reference_out = std::make_shared<std::string>();
  auto* reference = group->add_subcommand(
      "reference", "Write the reference model that kernels are timed against, to time whole models against it too");
  reference->footer(
      "Example:\n  edgebench kernels reference reference.onnx\n"
      "  edgebench compare reference.onnx model.onnx -r onnxruntime --threads 1 --json model.comparison.json\n"
      "  edgebench predictor evaluate predictor.json --results model.comparison.json\n"
      "'kernels measure' times every kernel model interleaved with this model; a predictor trained\n"
      "on such data sets is evaluated against comparisons whose first model is this one, which puts\n"
      "both on one machine speed (docs/predictor.md, \"The reference model\").");
  reference->add_option("file", *reference_out, "The ONNX file to write")->required();
  reference->callback([reference_out, &exit_code] { exit_code = RunReference(*reference_out); });

  auto detect_flags = std::make_shared<DetectFlags>();
  auto* detect = group->add_subcommand(
      "detect", "Profile models on a runtime and write the fusion rules its fusion maps show");
  detect->footer(
      "Example:\n  edgebench kernels detect -r onnxruntime mobilenetv2.onnx resnet18.onnx --out rules.json "
      "--threads 1\n"
      "Without models, the zoo's ONNX models are profiled. Each model is benchmarked as `bench\n"
      "--profile-runs 1` does (at least one profiled run); the table compares the kernels each\n"
      "profile showed with the kernels the model splits into under the rules. Rules: docs/predictor.md.");
  detect->add_option("models", detect_flags->models, "ONNX models to profile");
  detect->add_option("-r,--runtime", detect_flags->runtime, "Runtime (see 'edgebench runtimes')")->required();
  detect->add_option("--out", detect_flags->out, "Write the rules JSON to FILE ('-' = stdout)")
      ->required()
      ->type_name("FILE");
  detect->add_option("--settings", detect_flags->settings_file, "Settings JSON FILE, as for bench")
      ->type_name("FILE");
  detect_flags->settings = std::make_unique<SettingsFlags>(detect, SettingsReader::kBench);
  detect->add_flag("--json", detect_flags->json, "Print the rules and the per-model check as JSON on stdout");
  detect->add_flag("-q,--quiet", detect_flags->quiet, "No progress on stderr");
  AddVerboseFlag(detect);
  detect->callback([detect_flags, &exit_code] { exit_code = RunDetect(*detect_flags); });
}

}  // namespace edgebench::cli
