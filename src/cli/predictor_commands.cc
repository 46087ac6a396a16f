// `edgebench predictor train`, `edgebench predictor evaluate` and `edgebench predict`: latency
// prediction from measured single-kernel models (docs/predictor.md).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>

#include "command.h"
#include "edgebench/kernel_dataset.h"
#include "edgebench/kernel_models.h"
#include "edgebench/predictor.h"
#include "edgebench/report.h"
#include "edgebench/result_json.h"
#include "edgebench/text.h"
#include "edgebench/version.h"

namespace edgebench::cli {
namespace {

Expected<nlohmann::json> ReadJsonFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound(path + ": cannot open");
  auto document = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return InvalidArgument(path + ": not valid JSON");
  return document;
}

Status PrintOut(const std::string& text) {
  std::cout << text;
  std::cout.flush();
  return std::cout ? OkStatus() : Internal("cannot write to stdout");
}

std::string Percent(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f%%", value);
  return buffer;
}

// The kernel rules file `path` (kernels detect's output); errors name the file.
Expected<KernelRules> ReadKernelRules(const std::string& path) {
  auto json = ReadJsonFile(path);
  if (!json.ok()) return json.error();
  auto rules = KernelRulesFromJson(*json);
  if (!rules.ok()) return InvalidArgument(path + ": " + rules.error().message);
  return rules;
}

Expected<std::vector<KernelDataSet>> ReadKernelDataSets(const std::vector<std::string>& paths) {
  std::vector<KernelDataSet> data;
  for (const auto& path : paths) {
    auto set = ReadKernelDataSet(path);
    if (!set.ok()) return set.error();
    data.push_back(std::move(*set));
  }
  return data;
}

// --- predictor train -------------------------------------------------------------------------

struct TrainFlags {
  std::vector<std::string> datasets;
  std::string rules;
  std::string out;
  std::string exclude_sources;
  PredictorSettings settings;
  int adapt_rounds = 0;
  std::string kernels_dir;
  std::string runtime;
  bool json = false;
};

// New kernel models per validation point predicted more than 10% off, in each adaptive round.
constexpr int kAdaptivePerPoint = 2;

// One adaptive round: writes kernel models around the poorly predicted validation points of
// `predictor` into DIR/adapt_round_R (with its kernels.json), measures them on this machine with
// the first data set's settings, writes DIR/adapt_round_R/dataset.json and adds it to `data`.
// Returns how many points it added (0: nothing was predicted more than 10% off).
Expected<std::size_t> AdaptiveRound(const TrainFlags& flags, int round, const Predictor& predictor,
                                    std::vector<KernelDataSet>& data, std::vector<std::string>& names) {
  const uint64_t seed = flags.settings.seed + static_cast<uint64_t>(round);
  const auto proposed = ProposeAroundPoorPoints(predictor.validation_points(), kAdaptivePerPoint, seed);
  if (proposed.empty()) return std::size_t{0};
  const std::string dir = flags.kernels_dir + "/adapt_round_" + std::to_string(round);
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return NotFound(dir + ": cannot create: " + error.message());
  KernelModels models;
  models.seed = seed;
  models.edgebench_version = kVersion;
  std::set<std::string> sources;
  for (const auto& set : data) {
    for (const auto& source : set.provenance.kernel_models_sources) {
      if (sources.insert(source.name).second) models.sources.push_back(source);
    }
  }
  for (std::size_t i = 0; i < proposed.size(); ++i) {
    char file[64];
    std::snprintf(file, sizeof file, "%04zu_%s.onnx", i + 1, proposed[i].config.type.c_str());
    EB_RETURN_IF_ERROR(WriteKernelModel(proposed[i].config, dir + "/" + file, seed));
    if (sources.insert(proposed[i].source).second) models.sources.push_back({proposed[i].source, ""});
    models.kernels.push_back({file, proposed[i].source, proposed[i].config});
  }
  EB_RETURN_IF_ERROR(WriteOutput(dir + "/kernels.json", ToJson(models).dump(2) + "\n"));
  std::cerr << "adaptive round " << round << ": measuring " << proposed.size() << " kernel models in " << dir
            << "\n";
  KernelMeasureRequest request;
  request.kernels_dir = dir;
  request.runtime = flags.runtime;
  request.settings = data.front().provenance.settings;
  // As the data sets were measured: against the reference (at the default round time) or alone.
  request.reference_round_ms = data.front().reference ? kDefaultReferenceRoundMs : 0;
  auto measured = MeasureKernels(request, [](const KernelDataSet&, std::size_t index, std::size_t total) {
    std::cerr << "\r  " << index + 1 << "/" << total << std::flush;
  });
  std::cerr << "\n";
  if (!measured.ok()) return measured.error();
  if (measured->provenance.device != data.front().provenance.device) {
    return InvalidArgument("adaptive rounds measure on this machine (" + measured->provenance.device +
                           "), the data sets come from " + data.front().provenance.device);
  }
  const std::string path = dir + "/dataset.json";
  EB_RETURN_IF_ERROR(WriteOutput(path, ToJson(*measured).dump(2) + "\n"));
  const std::size_t added = measured->points.size();
  data.push_back(std::move(*measured));
  names.push_back(path);
  return added;
}

// Writes the predictor file and prints each type's validation figures (text or --json).
int WritePredictor(const Predictor& predictor, const std::string& out, bool json, const std::string& held_out) {
  auto document = predictor.ToJson();
  if (!document.ok()) return ReportError(document.error());
  if (auto status = WriteOutput(out, document->dump() + "\n"); !status.ok()) return ReportError(status.error());
  if (json) {
    nlohmann::json validation = nlohmann::json::object();
    for (const auto& type : predictor.types()) validation[type] = ToJson(predictor.validation(type));
    auto status = PrintOut(nlohmann::json{{"predictor", out}, {"validation", validation}}.dump(2) + "\n");
    return status.ok() ? kExitOk : ReportError(status.error());
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& type : predictor.types()) {
    const Accuracy& a = predictor.validation(type);
    rows.push_back({type, std::to_string(a.points), Percent(a.within_10_percent), Percent(a.within_5_percent),
                    FormatDuration(a.rmse_ms), Percent(a.mape_percent)});
  }
  const std::string text =
      "validation per kernel type (" + held_out + ", kernel time without the overhead)\n" +
      FormatTable({"kernel type", "held out", "within 10%", "within 5%", "RMSE", "MAPE"}, rows,
                  {false, true, true, true, true, true}) +
      "overhead (runtime floor): " + FormatDuration(predictor.overhead_ms()) + "\nwrote " + out + "\n";
  auto status = PrintOut(text);
  return status.ok() ? kExitOk : ReportError(status.error());
}

int RunTrain(const TrainFlags& flags) {
  if (auto status = CheckOutputPath(flags.out); !status.ok()) return ReportError(status.error());
  auto rules = ReadKernelRules(flags.rules);
  if (!rules.ok()) return ReportError(rules.error());
  auto read = ReadKernelDataSets(flags.datasets);
  if (!read.ok()) return ReportError(read.error());
  std::vector<KernelDataSet> data = std::move(*read);
  PredictorSettings settings = flags.settings;
  if (!flags.exclude_sources.empty()) settings.excluded_sources = Split(flags.exclude_sources, ',');
  if (flags.adapt_rounds > 0) {
    if (flags.kernels_dir.empty() || flags.runtime.empty()) {
      return ReportError(InvalidArgument("--adapt-rounds needs --kernels-dir and -r RUNTIME"));
    }
    if (flags.runtime != rules->runtime) {
      return ReportError(InvalidArgument("-r " + flags.runtime + ": the rules are for " + rules->runtime));
    }
  }
  std::vector<std::string> names = flags.datasets;
  auto predictor = Predictor::Train(data, names, *rules, settings);
  if (!predictor.ok()) return ReportError(predictor.error());
  for (int round = 1; round <= flags.adapt_rounds; ++round) {
    auto added = AdaptiveRound(flags, round, *predictor, data, names);
    if (!added.ok()) return ReportError(added.error());
    if (*added == 0) {
      std::cerr << "adaptive round " << round << ": no validation point is predicted more than 10% off\n";
      break;
    }
    predictor = Predictor::Train(data, names, *rules, settings);
    if (!predictor.ok()) return ReportError(predictor.error());
  }
  return WritePredictor(*predictor, flags.out, flags.json,
                        std::to_string(settings.validation_percent) + "% of each type's valid points held out");
}

// --- predictor adapt -------------------------------------------------------------------------

struct AdaptFlags {
  std::string base;
  std::vector<std::string> datasets;
  std::string rules;
  std::string out;
  AdaptSettings settings;
  bool json = false;
};

int RunAdapt(const AdaptFlags& flags) {
  if (auto status = CheckOutputPath(flags.out); !status.ok()) return ReportError(status.error());
  auto base = Predictor::Load(flags.base);
  if (!base.ok()) return ReportError(base.error());
  auto rules = ReadKernelRules(flags.rules);
  if (!rules.ok()) return ReportError(rules.error());
  auto read = ReadKernelDataSets(flags.datasets);
  if (!read.ok()) return ReportError(read.error());
  std::vector<KernelDataSet> data = std::move(*read);
  auto adapted = Predictor::Adapt(*base, data, flags.datasets, *rules, flags.settings);
  if (!adapted.ok()) return ReportError(adapted.error());
  std::cerr << "adapted " << base->runtime() << " (" << base->device() << ") to " << adapted->runtime() << " ("
            << adapted->device() << ") with " << adapted->adaptation()->points << " kernel points\n";
  return WritePredictor(*adapted, flags.out, flags.json, "the valid points not adapted with");
}

// --- predictor evaluate ----------------------------------------------------------------------

struct EvaluateFlags {
  std::string predictor;
  std::vector<std::string> results;
  std::string families;
  std::string html;
  bool json = false;
  bool flops_baseline = false;
};

// Result documents (edgebench bench --json; each file holds one document or an array of them),
// and the results that comparisons against the predictor's reference model stand for
// (edgebench compare REFERENCE MODEL... --json: ResultsOnReferenceScale).
struct ResultDocuments {
  std::vector<BenchResult> results;
  std::vector<BenchResult> on_reference_scale;
};

Expected<ResultDocuments> ReadResultDocuments(const std::vector<std::string>& paths, const Predictor& predictor) {
  ResultDocuments documents;
  for (const auto& path : paths) {
    auto document = ReadJsonFile(path);
    if (!document.ok()) return document.error();
    const auto items = document->is_array() ? *document : nlohmann::json::array({*document});
    for (const auto& item : items) {
      if (item.is_object() && item.value("schema", "") == kComparisonSchema) {
        auto comparison = ComparisonFromJson(item);
        if (!comparison.ok()) return InvalidArgument(path + ": " + comparison.error().message);
        auto scaled = ResultsOnReferenceScale(predictor, *comparison);
        if (!scaled.ok()) return InvalidArgument(path + ": " + scaled.error().message);
        for (auto& result : *scaled) documents.on_reference_scale.push_back(std::move(result));
        continue;
      }
      auto result = BenchResultFromJson(item);
      if (!result.ok()) return InvalidArgument(path + ": " + result.error().message);
      documents.results.push_back(std::move(*result));
    }
  }
  return documents;
}

int RunEvaluate(const EvaluateFlags& flags) {
  if (auto status = CheckOutputPath(flags.html); !status.ok()) return ReportError(status.error());
  auto predictor = Predictor::Load(flags.predictor);
  if (!predictor.ok()) return ReportError(predictor.error());
  auto documents = ReadResultDocuments(flags.results, *predictor);
  if (!documents.ok()) return ReportError(documents.error());
  std::vector<BenchResult> results = std::move(documents->results);
  for (auto& result : documents->on_reference_scale) results.push_back(std::move(result));
  std::map<std::string, std::string> families;
  if (!flags.families.empty()) {
    auto read = ReadFamilies(flags.families);
    if (!read.ok()) return ReportError(read.error());
    families = std::move(*read);
  }
  auto evaluation = Evaluate(*predictor, results, families);
  if (!evaluation.ok()) return ReportError(evaluation.error());
  if (!flags.html.empty()) {
    if (auto status = WriteOutput(flags.html, FormatEvaluationHtml(*evaluation, *predictor)); !status.ok()) {
      return ReportError(status.error());
    }
  }
  std::string text;
  if (flags.json) {
    text = ToJson(*evaluation).dump(2) + "\n";
  } else {
    text = FormatEvaluationText(*evaluation, flags.flops_baseline);
    if (flags.flops_baseline) text += "k x FLOPs: " + predictor->flops_baseline().fitted_on + "\n";
  }
  auto status = PrintOut(text);
  return status.ok() ? kExitOk : ReportError(status.error());
}

// --- predictor calibrate ---------------------------------------------------------------------

struct CalibrateFlags {
  std::string predictor;
  std::vector<std::string> results;
  std::string out;
  bool json = false;
};

int RunCalibrate(const CalibrateFlags& flags) {
  if (auto status = CheckOutputPath(flags.out); !status.ok()) return ReportError(status.error());
  auto predictor = Predictor::Load(flags.predictor);
  if (!predictor.ok()) return ReportError(predictor.error());
  auto documents = ReadResultDocuments(flags.results, *predictor);
  if (!documents.ok()) return ReportError(documents.error());
  std::vector<std::string> left_out;
  auto calibrated = predictor->Calibrate(
      WithMediansOnReferenceScale(std::move(documents->results), documents->on_reference_scale), left_out);
  if (!calibrated.ok()) return ReportError(calibrated.error());
  auto document = calibrated->ToJson();
  if (!document.ok()) return ReportError(document.error());
  if (auto status = WriteOutput(flags.out, document->dump() + "\n"); !status.ok()) return ReportError(status.error());
  const Calibration& calibration = *calibrated->calibration();
  std::string text;
  if (flags.json) {
    text = nlohmann::json{{"predictor", flags.out},
                          {"calibration", document->at("calibration")},
                          {"left_out", left_out}}
               .dump(2) +
           "\n";
  } else {
    const auto factor = [](double log_factor) {
      char text[32];
      std::snprintf(text, sizeof text, "x%.2f", std::exp(log_factor));
      return std::string(text);
    };
    std::vector<std::vector<std::string>> rows;
    for (const auto& [working_set, log_factor] : calibration.log_factors) rows.push_back({working_set, factor(log_factor)});
    rows.push_back({"(other classes)", factor(calibration.default_log_factor)});
    text = "in-model time against predicted, " + std::to_string(calibration.kernels) + " kernels of " +
           std::to_string(calibration.models) + " models\n" +
           FormatTable({"working set", "factor"}, rows, {false, true});
    for (const auto& item : left_out) text += "left out: " + item + "\n";
    text += "wrote " + flags.out + "\n";
  }
  auto status = PrintOut(text);
  return status.ok() ? kExitOk : ReportError(status.error());
}

// --- predict ---------------------------------------------------------------------------------

struct PredictFlags {
  std::string model;
  std::string predictor;
  std::vector<std::string> shapes;
  std::string runtime;
  bool json = false;
};

int RunPredict(const PredictFlags& flags) {
  ShapeOverrides shapes;
  for (const auto& shape : flags.shapes) {
    auto parsed = ParseShapeArgument(shape);
    if (!parsed.ok()) return ReportError(parsed.error());
    shapes[parsed->first] = parsed->second;
  }
  auto predictor = Predictor::Load(flags.predictor);
  if (!predictor.ok()) return ReportError(predictor.error());
  if (!flags.runtime.empty() && flags.runtime != predictor->runtime()) {
    return ReportError(InvalidArgument(flags.predictor + " predicts " + predictor->runtime() + ", not " +
                                       flags.runtime + " (train a predictor on a " + flags.runtime + " data set)"));
  }
  auto prediction = PredictModel(*predictor, flags.model, shapes);
  if (!prediction.ok()) return ReportError(prediction.error());
  for (const auto& warning : prediction->warnings) std::cerr << "edgebench: warning: " << warning << "\n";
  auto status = PrintOut(flags.json ? ToJson(*prediction).dump(2) + "\n" : FormatPredictionText(*prediction));
  return status.ok() ? kExitOk : ReportError(status.error());
}

}  // namespace

void AddPredictorCommands(CLI::App& app, int& exit_code) {
  CLI::App* group = SubcommandGroup(app, "predictor", "Latency predictors: train them on kernel data sets, evaluate them "
                                                      "against measured results (docs/predictor.md)");

  auto* train = group->add_subcommand(
      "train", "Train one XGBoost regressor per kernel type on data sets of measured kernels (edgebench kernels measure)");
  train->footer(
      "Trains on the valid points only, on log(kernel time / kernel work) so that errors count\n"
      "relatively (kernel time without the lone model's layout conversions, from its profile); holds out\n"
      "--validation-percent of each type's points (chosen by --seed) and prints their accuracy.\n"
      "Example: edgebench predictor train dataset.json --rules rules.json --out predictor.json");
  auto train_flags = std::make_shared<TrainFlags>();
  train->add_option("datasets", train_flags->datasets, "Kernel data sets (edgebench.kernels/3, /2 or /1), one runtime, all timed against the reference or all alone")
      ->required();
  train->add_option("--rules", train_flags->rules, "Fusion rules of the runtime (edgebench kernels detect)")->required();
  train->add_option("--out", train_flags->out, "Where to write the predictor file (edgebench.predictor/1, format 2.1)")->required();
  train->add_option("--exclude-source", train_flags->exclude_sources,
                    "Leave out the points sampled around these models (comma-separated), e.g. resnet18,resnet50");
  train->add_option("--validation-percent", train_flags->settings.validation_percent,
                    "Share of each kernel type's points held out for validation")
      ->capture_default_str()
      ->check(CLI::Range(0, 99));
  train->add_option("--seed", train_flags->settings.seed, "Seed of the validation split and of XGBoost")
      ->capture_default_str();
  train->add_option("--adapt-rounds", train_flags->adapt_rounds,
                    "Adaptive rounds: measure new kernel models around the validation points predicted more "
                    "than 10% off, add them and retrain (needs --kernels-dir and -r)")
      ->check(CLI::NonNegativeNumber);
  train->add_option("--kernels-dir", train_flags->kernels_dir,
                    "Where adaptive rounds write their kernel models and data sets (DIR/adapt_round_N)");
  train->add_option("--runtime,-r", train_flags->runtime, "The runtime adaptive rounds measure on (the rules')");
  train->add_flag("--json", train_flags->json, "Print the validation figures as JSON");
  train->callback([train_flags, &exit_code] { exit_code = RunTrain(*train_flags); });

  auto* adapt = group->add_subcommand(
      "adapt", "Adapt a predictor to another runtime or device with at most --max-points of its kernel measurements");
  adapt->footer(
      "Keeps the base predictor's regressors and fits, per kernel type, one factor: the median of\n"
      "log(measured / base prediction) over the chosen points (round-robin over the kernel types).\n"
      "The points not chosen are the validation points.\n"
      "Example: edgebench predictor adapt onnxruntime.predictor.json opencv.kernels.json \\\n"
      "    --rules opencv.rules.json --max-points 100 --out opencv-adapted.predictor.json");
  auto adapt_flags = std::make_shared<AdaptFlags>();
  adapt->add_option("base", adapt_flags->base, "The predictor to adapt (edgebench predictor train)")->required();
  adapt->add_option("datasets", adapt_flags->datasets, "Kernel data sets of the new runtime or device")->required();
  adapt->add_option("--rules", adapt_flags->rules, "Fusion rules of the new runtime (edgebench kernels detect)")
      ->required();
  adapt->add_option("--out", adapt_flags->out, "Where to write the adapted predictor file")->required();
  adapt->add_option("--max-points", adapt_flags->settings.max_points, "Kernel points of the new runtime to use, at most")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  adapt->add_option("--seed", adapt_flags->settings.seed, "Seed of the choice of points")->capture_default_str();
  adapt->add_flag("--json", adapt_flags->json, "Print the validation figures as JSON");
  adapt->callback([adapt_flags, &exit_code] { exit_code = RunAdapt(*adapt_flags); });

  auto* evaluate = group->add_subcommand(
      "evaluate", "Compare a predictor's predictions with measured results (edgebench bench --json) of other models");
  evaluate->footer(
      "INVALID and failed results are left out and listed. --flops-baseline adds latency = k x FLOPs,\n"
      "k fitted when training on the data sets' conv, dwconv and fc points (never on the evaluated models).\n"
      "A predictor trained on kernels timed against the reference model (kernels measure's default)\n"
      "reads comparisons too: 'edgebench compare REFERENCE.onnx MODEL.onnx... --json F' with the\n"
      "model of 'edgebench kernels reference' first; each model's measured time is then its ratio to\n"
      "the reference x the predictor's reference median, and the comparison's verdict its verdict.\n"
      "Example: edgebench predictor evaluate predictor.json --results held_out/*.json --html page.html");
  auto evaluate_flags = std::make_shared<EvaluateFlags>();
  evaluate->add_option("predictor", evaluate_flags->predictor, "Predictor file")->required();
  evaluate->add_option("--results", evaluate_flags->results, "Result documents (edgebench bench --json)")
      ->required();
  evaluate->add_option("--families", evaluate_flags->families,
                       "Model families: {\"variants\": [{\"file\": ..., \"family\": ...}]}");
  evaluate->add_option("--html", evaluate_flags->html, "Also write a self-contained HTML page");
  evaluate->add_flag("--json", evaluate_flags->json, "Print the evaluation as JSON");
  evaluate->add_flag("--flops-baseline", evaluate_flags->flops_baseline,
                     "Also show the FLOPs-proportional baseline (text; JSON always has it)");
  evaluate->callback([evaluate_flags, &exit_code] { exit_code = RunEvaluate(*evaluate_flags); });

  auto* calibrate = group->add_subcommand(
      "calibrate", "Calibrate a predictor on profiled results of whole models: how much slower kernels run inside them");
  calibrate->footer(
      "Kernels run slower inside a whole model than alone (the other kernels' data evicts theirs from the\n"
      "caches). Per working-set class (input, output and weights: < 256 KiB ... >= 16 MiB), the factor is\n"
      "the sum of the profiled in-model times over the sum of the predictions, the profile scaled to the\n"
      "result's median; predictions are multiplied by it. Calibrate on models other than those you\n"
      "evaluate on (e.g. the zoo models the kernel data sets were sampled from). With a predictor trained\n"
      "against the reference, give the same models' comparisons against it too ('edgebench compare\n"
      "REFERENCE.onnx MODEL.onnx --json'): each profile then splits the median on the predictor's scale.\n"
      "Example: edgebench predictor calibrate predictor.json --results zoo-profiles/*.json zoo-ratios/*.json \\\n"
      "           --out calibrated.json");
  auto calibrate_flags = std::make_shared<CalibrateFlags>();
  calibrate->add_option("predictor", calibrate_flags->predictor, "Predictor file")->required();
  calibrate->add_option("--results", calibrate_flags->results,
                        "Result documents of whole models measured with --profile (edgebench bench --profile --json), "
                        "and comparisons of the same models against the reference (compare --json)")
      ->required();
  calibrate->add_option("--out", calibrate_flags->out, "Where to write the calibrated predictor file")->required();
  calibrate->add_flag("--json", calibrate_flags->json, "Print the factors as JSON");
  calibrate->callback([calibrate_flags, &exit_code] { exit_code = RunCalibrate(*calibrate_flags); });

  auto* predict = app.add_subcommand(
      "predict", "Predict a model's latency on a runtime kernel by kernel, without running it (a predictor file)");
  predict->footer(
      "The model is split into the kernels the predictor's runtime runs; kernels of a type the predictor\n"
      "cannot predict are listed as unknown and the total is then a lower bound.\n"
      "Example: edgebench predict mobilenetv2.onnx --predictor predictor.json");
  auto predict_flags = std::make_shared<PredictFlags>();
  predict->add_option("model", predict_flags->model, "Model file (.onnx)")->required();
  predict->add_option("--predictor", predict_flags->predictor, "Predictor file (edgebench predictor train)")
      ->required();
  predict->add_option("--shape", predict_flags->shapes, "Input shape NAME=DIMS, e.g. input=1x3x224x224 (repeatable)");
  predict->add_option("--runtime,-r", predict_flags->runtime,
                      "The runtime meant; an error when the predictor is for another one");
  predict->add_flag("--json", predict_flags->json, "Print the prediction as JSON");
  predict->callback([predict_flags, &exit_code] { exit_code = RunPredict(*predict_flags); });
}

}  // namespace edgebench::cli
