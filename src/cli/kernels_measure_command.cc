// `edgebench kernels measure DIR -r RUNTIME --out dataset.json`: measures every single-kernel model
// of DIR/kernels.json and the runtime's floor (the overhead model), locally in process or as one
// job of the evaluation service, and writes the kernel data set (docs/predictor.md).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include "command.h"
#include "edgebench/client.h"
#include "edgebench/environment.h"
#include "edgebench/kernel_dataset.h"
#include "edgebench/result_json.h"
#include "edgebench/text.h"
#include "settings_flags.h"

namespace edgebench::cli {
namespace {

using json = nlohmann::json;

struct MeasureFlags {
  std::string kernels_dir;
  std::string runtime;
  std::string out;
  std::unique_ptr<SettingsFlags> settings;
  int repeat_invalid = 2;
  bool alone = false;       // each kernel alone, not interleaved with the reference model
  double round_ms = kDefaultReferenceRoundMs;  // against the reference: each model's time in a round
  bool resume = false;
  std::string server;  // "" = measure locally
  std::string token_file;
  std::string ca_file;
  std::string device;
  std::vector<std::string> selectors;
  double wait_timeout_s = 0;
  bool json_output = false;
  bool quiet = false;
};

// The settings both a local bench and the service read: the measurement is the same either way.
std::set<std::string> BenchOnlyKeys() {
  std::set<std::string> keys;
  for (const auto& spec : SettingsTable()) {
    if (spec.use == SettingUse::kBenchOnly) keys.insert(spec.key);
  }
  return keys;
}

std::string PointOutcome(const KernelPoint& point) {
  char median[32] = "-";
  if (point.median_ms) std::snprintf(median, sizeof median, "%.4f ms", *point.median_ms);
  std::string text = median;
  if (point.reference_ratio) {
    char ratio[48];
    std::snprintf(ratio, sizeof ratio, "  (%.4f x the reference)", *point.reference_ratio);
    text += ratio;
  }
  if (!point.valid) text += (point.median_ms ? "  INVALID: " : "  failed: ") + Join(point.reasons, "; ");
  if (point.attempts > 1) text += "  (" + std::to_string(point.attempts) + " attempts)";
  return text;
}

// Per kernel type: points, valid points, median range of the valid ones.
json Summary(const KernelDataSet& data_set) {
  std::map<std::string, json> by_type;
  for (const auto& point : data_set.points) {
    json& row = by_type[point.config.type];
    if (row.is_null()) row = {{"type", point.config.type}, {"points", 0}, {"valid", 0}, {"min_ms", nullptr}, {"max_ms", nullptr}};
    row["points"] = row["points"].get<int>() + 1;
    if (!point.valid) continue;
    row["valid"] = row["valid"].get<int>() + 1;
    const double median = *point.median_ms;
    if (row["min_ms"].is_null() || median < row["min_ms"].get<double>()) row["min_ms"] = median;
    if (row["max_ms"].is_null() || median > row["max_ms"].get<double>()) row["max_ms"] = median;
  }
  json types = json::array();
  int points = 0, valid = 0;
  for (auto& [type, row] : by_type) {
    points += row["points"].get<int>();
    valid += row["valid"].get<int>();
    types.push_back(row);
  }
  const auto& p = data_set.provenance;
  return {{"device", p.device}, {"runtime", p.runtime}, {"runtime_version", p.runtime_version},
          {"points", points}, {"valid", valid}, {"overhead_ms", data_set.overhead_ms},
          {"overhead_valid", data_set.overhead.valid}, {"measure_seconds", p.measure_seconds}, {"types", types}};
}

void PrintSummary(const json& summary) {
  std::printf("%-16s %7s %7s %12s %12s\n", "kernel type", "points", "valid", "min ms", "max ms");
  for (const auto& row : summary["types"]) {
    auto ms = [](const json& value) {
      char text[32] = "-";
      if (!value.is_null()) std::snprintf(text, sizeof text, "%.4f", value.get<double>());
      return std::string(text);
    };
    std::printf("%-16s %7d %7d %12s %12s\n", row["type"].get<std::string>().c_str(), row["points"].get<int>(),
                row["valid"].get<int>(), ms(row["min_ms"]).c_str(), ms(row["max_ms"]).c_str());
  }
  std::printf("%d points, %d valid (trained on), %d INVALID or failed (kept, never trained on)\n",
              summary["points"].get<int>(), summary["valid"].get<int>(),
              summary["points"].get<int>() - summary["valid"].get<int>());
  std::printf("overhead %.4f ms%s; %s %s on %s; measured in %.1f s\n", summary["overhead_ms"].get<double>(),
              summary["overhead_valid"].get<bool>() ? "" : " (INVALID)",
              summary["runtime"].get<std::string>().c_str(), summary["runtime_version"].get<std::string>().c_str(),
              summary["device"].get<std::string>().c_str(), summary["measure_seconds"].get<double>());
}

// The previous data set at --out, for --resume; none when the file does not exist yet.
Expected<std::optional<KernelDataSet>> PreviousDataSet(const MeasureFlags& flags) {
  if (!flags.resume || !std::filesystem::exists(flags.out)) return std::optional<KernelDataSet>();
  auto previous = ReadKernelDataSet(flags.out);
  if (!previous.ok()) return Error{previous.error().code, "--resume: " + previous.error().message};
  return std::optional<KernelDataSet>(std::move(*previous));
}

// Locally, kernels are measured against the reference unless --alone; through the service always
// alone (a task times one model).
bool AgainstReference(const MeasureFlags& flags) { return flags.server.empty() && !flags.alone; }

Status Resumable(const std::optional<KernelDataSet>& previous, const std::string& device, const MeasureFlags& flags,
                 const BenchSettings& settings, const KernelModels& models) {
  if (!previous) return OkStatus();
  Status resumable = CheckResumable(*previous, device, flags.runtime, settings, models, AgainstReference(flags));
  if (!resumable.ok()) return InvalidArgument("--resume: " + flags.out + ": " + resumable.error().message);
  return OkStatus();
}

// Prints one point's line on stderr and writes the data set so far (a run cut short resumes).
Status Progress(const MeasureFlags& flags, const KernelDataSet& so_far, std::size_t index, std::size_t total) {
  if (!flags.quiet) {
    const KernelPoint& point = so_far.points.back();
    std::fprintf(stderr, "[%zu/%zu] %-28s %s\n", index + 1, total, point.file.c_str(), PointOutcome(point).c_str());
  }
  return WriteOutput(flags.out, ToJson(so_far).dump(2) + "\n");
}

int Finish(const MeasureFlags& flags, const KernelDataSet& data_set) {
  Status written = WriteOutput(flags.out, ToJson(data_set).dump(2) + "\n");
  if (!written.ok()) return ReportError(written.error());
  const json summary = Summary(data_set);
  if (flags.json_output) {
    std::cout << summary.dump(2) << "\n";
  } else {
    PrintSummary(summary);
  }
  return kExitOk;
}

int MeasureLocally(const MeasureFlags& flags, const KernelModels& models) {
  auto settings = flags.settings->BenchSettingsWithFile("");
  if (!settings.ok()) return ReportError(settings.error());
  auto previous = PreviousDataSet(flags);
  if (!previous.ok()) return ReportError(previous.error());
  const std::string device = CollectEnvironment().hostname;  // as `bench` names a local run's device
  if (Status ok = Resumable(*previous, device, flags, *settings, models); !ok.ok()) return ReportError(ok.error());
  KernelMeasureRequest request{.kernels_dir = flags.kernels_dir,
                               .runtime = flags.runtime,
                               .settings = *settings,
                               .repeat_invalid = flags.repeat_invalid,
                               .resume = *previous ? &**previous : nullptr,
                               .reference_round_ms = AgainstReference(flags) ? flags.round_ms : 0};
  std::optional<Error> write_error;
  auto data_set = MeasureKernels(request, [&](const KernelDataSet& so_far, std::size_t index, std::size_t total) {
    if (write_error) return;
    Status written = Progress(flags, so_far, index, total);
    if (!written.ok()) write_error = written.error();
  });
  if (!data_set.ok()) return ReportError(data_set.error());
  if (write_error) return ReportError(*write_error);
  return Finish(flags, *data_set);
}

// The point a finished task stands for: its result document (with the number of attempts the
// server made), or a failed point when none came back.
KernelPoint PointOfTask(ServiceClient& client, const KernelModelEntry& entry, const json& task,
                        std::optional<BenchResult>& result_out) {
  const std::string state = task.value("state", "");
  auto results = client.GetTaskResults(task["id"].get<int64_t>());
  if (results.ok()) {
    const json& attempts = (*results)["results"];
    for (const auto& attempt : attempts) {
      if (!attempt.value("is_result", false)) continue;
      auto result = BenchResultFromJson(attempt["document"]);
      if (!result.ok()) break;
      result_out = *result;
      return KernelPointFromResult(entry, *result, static_cast<int>(attempts.size()));
    }
  }
  KernelPoint point;
  point.file = entry.file;
  point.source = entry.source;
  point.config = entry.config;
  const json error = task.value("error", json());
  point.reasons = {"task " + std::to_string(task["id"].get<int64_t>()) + " " + state +
                   (error.is_string() ? ": " + error.get<std::string>() : "")};
  return point;
}

int MeasureThroughService(const MeasureFlags& flags, const KernelModels& models) {
  if (flags.device.empty() == flags.selectors.empty()) {
    return ReportError(InvalidArgument("with --server, give exactly one of --device NAME and --select KEY=VALUE"));
  }
  auto settings = flags.settings->Collect();
  if (!settings.ok()) return ReportError(settings.error());
  auto bench_settings = SettingsFromJson(*settings);  // what the device's bench will run with
  if (!bench_settings.ok()) return ReportError(bench_settings.error());
  auto selector = KeyValues(flags.selectors, "--select");
  if (!selector.ok()) return ReportError(selector.error());
  auto previous = PreviousDataSet(flags);
  if (!previous.ok()) return ReportError(previous.error());
  // With --select the device is known once the job ran; the data set's is checked again then.
  const std::string device = flags.device.empty() && *previous ? (*previous)->provenance.device : flags.device;
  if (Status ok = Resumable(*previous, device, flags, *bench_settings, models); !ok.ok()) return ReportError(ok.error());
  auto token = ReadTokenFile(flags.token_file);
  if (!token.ok()) return ReportError(token.error());
  auto connected = ServiceClient::Connect(flags.server, *token, flags.ca_file);
  if (!connected.ok()) return ReportError(connected.error());
  ServiceClient& client = **connected;
  auto overhead_model = GeneratedModelFile::Write(OverheadKernelConfig(), OverheadEntry().file);
  if (!overhead_model.ok()) return ReportError(overhead_model.error());

  // Upload the overhead model and every kernel model not kept from --resume (one task per file
  // content: equal files are measured once).
  const auto started = std::chrono::steady_clock::now();
  std::map<std::string, std::vector<std::size_t>> entries_of;  // sha256 -> indexes (SIZE_MAX: overhead)
  std::vector<std::optional<KernelPoint>> points(models.kernels.size());
  json shas = json::array();
  auto upload = [&](const std::string& path, std::size_t index) -> Status {
    auto model = client.UploadModel(path);
    if (!model.ok()) return model.error();
    const std::string sha = (*model)["sha256"].get<std::string>();
    if (entries_of[sha].empty()) shas.push_back(sha);
    entries_of[sha].push_back(index);
    return OkStatus();
  };
  if (Status uploaded = upload((*overhead_model)->path(), SIZE_MAX); !uploaded.ok()) {
    return ReportError(uploaded.error());
  }
  for (std::size_t i = 0; i < models.kernels.size(); ++i) {
    const std::string path = (std::filesystem::path(flags.kernels_dir) / models.kernels[i].file).string();
    if (*previous) {
      auto sha = Sha256OfFile(path);
      for (const auto& point : (*previous)->points) {
        if (point.file == models.kernels[i].file && point.valid && sha.ok() && *sha == point.sha256) points[i] = point;
      }
      if (points[i]) continue;
    }
    if (Status uploaded = upload(path, i); !uploaded.ok()) return ReportError(uploaded.error());
  }
  json task_settings = *settings;
  task_settings["repeat_invalid"] = flags.repeat_invalid;
  json request = {{"models", shas}, {"runtimes", {flags.runtime}}, {"settings", task_settings},
                  {"devices", flags.device.empty() ? json::array() : json::array({flags.device})},
                  {"selectors", flags.selectors.empty() ? json::array() : json::array({*selector})}};
  auto job = client.CreateJob(request);
  if (!job.ok()) return ReportError(job.error());
  const int64_t id = (*job)["id"].get<int64_t>();
  if (!flags.quiet) std::cerr << "job " << id << ": " << shas.size() << " kernel models queued" << std::endl;
  auto done = client.WaitJob(id, [&](const json& j) {
    if (!flags.quiet) std::cerr << "job " << id << ": " << j.value("tasks_done", 0) << "/" << j.value("tasks_total", 0)
                                << " tasks done" << std::endl;
  }, 1000, flags.wait_timeout_s);
  if (!done.ok()) return ReportError(done.error());

  KernelDataSet data_set;
  std::optional<BenchResult> overhead_result;
  for (const auto& task : (*done)["tasks"]) {
    for (const std::size_t index : entries_of[task["model_sha256"].get<std::string>()]) {
      std::optional<BenchResult> result;
      if (index == SIZE_MAX) {
        data_set.overhead = PointOfTask(client, OverheadEntry(), task, overhead_result);
      } else {
        points[index] = PointOfTask(client, models.kernels[index], task, result);
      }
    }
  }
  if (!overhead_result || overhead_result->failure) {
    return ReportError(RuntimeError("overhead model: " + Join(data_set.overhead.reasons, "; ")));
  }
  data_set.provenance = ProvenanceFromResult(*overhead_result, models);
  if (Status ok = Resumable(*previous, data_set.provenance.device, flags, data_set.provenance.settings, models);
      !ok.ok()) {
    return ReportError(ok.error());
  }
  data_set.overhead_ms = overhead_result->latency_ms.p50;
  data_set.provenance.measure_seconds =
      (*previous ? (*previous)->provenance.measure_seconds : 0) +
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (!points[i]) {  // the job ran no task for it
      points[i] = KernelPoint{.file = models.kernels[i].file, .sha256 = "", .source = models.kernels[i].source,
                              .config = models.kernels[i].config, .median_ms = std::nullopt, .valid = false,
                              .reasons = {"the job ran no task for it"}, .attempts = 0};
    }
    data_set.points.push_back(*points[i]);
    if (!flags.quiet) {
      std::fprintf(stderr, "[%zu/%zu] %-28s %s\n", i + 1, points.size(), points[i]->file.c_str(),
                   PointOutcome(*points[i]).c_str());
    }
  }
  return Finish(flags, data_set);
}

int RunMeasure(const MeasureFlags& flags) {
  if (Status writable = CheckOutputPath(flags.out); !writable.ok()) return ReportError(writable.error());
  auto models = ReadKernelModels(flags.kernels_dir);
  if (!models.ok()) return ReportError(models.error());
  if (flags.server.empty()) {
    if (!flags.device.empty() || !flags.selectors.empty()) {
      return ReportError(InvalidArgument("--device and --select need --server"));
    }
    return MeasureLocally(flags, *models);
  }
  return MeasureThroughService(flags, *models);
}

}  // namespace

void AddKernelsMeasureCommand(CLI::App& app, int& exit_code) {
  CLI::App* group = SubcommandGroup(app, "kernels", "Single-kernel models for latency prediction");
  auto flags = std::make_shared<MeasureFlags>();
  auto* command = group->add_subcommand("measure", "Measure every kernel model of a directory: a kernel data set");
  command->footer(
      "Examples:\n"
      "  edgebench kernels measure kernels/ -r onnxruntime --threads 1 --profile --out onnxruntime.kernels.json\n"
      "  edgebench kernels measure kernels/ -r onnxruntime --threads 1 --out rpi4.kernels.json \\\n"
      "      --server http://10.0.0.1:8080 --token-file admin.token --device rpi4\n"
      "DIR is what 'edgebench kernels generate' wrote. The overhead model (a relu on [1, 8, 1, 1]) is\n"
      "measured first: its median is the data set's overhead_ms. Points that stay INVALID or fail\n"
      "are kept with valid: false and never trained on. The file is rewritten after every point\n"
      "(locally), so --resume continues a run that was cut short. With --profile each point also\n"
      "records the share of the lone model's time spent converting layouts (onnxruntime's reorders),\n"
      "which training leaves out of the kernel's time.\n"
      "Locally every model is timed interleaved with the reference model (a fixed 3x3 convolution,\n"
      "'edgebench kernels reference') in rounds, as 'edgebench compare' does: each point records its\n"
      "paired ratio to the reference, which a slowdown of the whole machine does not move, and its\n"
      "verdict judges that ratio; --alone times each model by itself (always so with --server).\n"
      "docs/predictor.md.");
  command->add_option("dir", flags->kernels_dir, "Directory with kernels.json and the kernel models")->required();
  command->add_option("-r,--runtime", flags->runtime, "Runtime (see 'edgebench runtimes')")->required();
  command->add_option("--out", flags->out, "The data set file to write")->required();
  flags->settings = std::make_unique<SettingsFlags>(command, SettingsReader::kBench, BenchOnlyKeys());
  command->add_option("--repeat-invalid", flags->repeat_invalid,
                      "Measure a kernel model again, up to this many times, while its verdict is INVALID")
      ->check(CLI::Range(0, 10))
      ->capture_default_str();
  command->add_flag("--alone", flags->alone,
                    "Time each kernel model by itself, not interleaved with the reference model");
  command->add_option("--round-ms", flags->round_ms,
                      "Against the reference: each model's time in a round (as compare's --round-ms)")
      ->check(CLI::Range(0.1, 60000.0))
      ->capture_default_str();
  command->add_flag("--resume", flags->resume,
                    "Keep the valid points of the --out file (same runtime, device, settings and kernel models) "
                    "whose model files are unchanged; measure the rest");
  command->add_option("--server", flags->server,
                      "Measure as one job of this evaluation service, http://HOST:PORT or https://HOST:PORT");
  command->add_option("--token-file", flags->token_file, "With --server: file holding your token")
      ->envname("EDGEBENCH_TOKEN_FILE");
  command->add_option("--ca-file", flags->ca_file, "With an https --server: CA certificate (PEM)")
      ->envname("EDGEBENCH_CA_FILE");
  command->add_option("--device", flags->device, "With --server: the device (agent) to measure on");
  command->add_option("--select", flags->selectors, "With --server: any device with label KEY=VALUE (repeatable)");
  command->add_option("--wait-timeout", flags->wait_timeout_s,
                      "With --server: give up after this many seconds (0 = never)")
      ->capture_default_str();
  command->add_flag("--json", flags->json_output, "Print the summary as JSON");
  command->add_flag("-q,--quiet", flags->quiet, "No progress on stderr");
  AddVerboseFlag(command);
  command->callback([flags, &exit_code] { exit_code = RunMeasure(*flags); });
}

}  // namespace edgebench::cli
