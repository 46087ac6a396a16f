// Client subcommands of the evaluation service: submit, job, jobs, tasks, result, devices, device
// (maintenance, reset, health), cancel.
#include <cstdio>
#include <iostream>
#include <map>

#include "command.h"
#include "edgebench/client.h"
#include "edgebench/report.h"
#include "edgebench/result_json.h"
#include "edgebench/text.h"
#include "settings_flags.h"

namespace edgebench::cli {
namespace {

using json = nlohmann::json;

struct ConnectionFlags {
  std::string server = "http://127.0.0.1:8080";
  std::string token_file;
  std::string ca_file;
  bool json_output = false;
};

void AddConnectionFlags(CLI::App* command, ConnectionFlags& flags) {
  command->add_option("--server", flags.server,
                      "Server URL, http://HOST:PORT or https://HOST:PORT; replicas: several, comma-separated "
                      "or repeated (fails over)")
      ->envname("EDGEBENCH_SERVER")
      ->delimiter(',')
      ->multi_option_policy(CLI::MultiOptionPolicy::Join)
      ->capture_default_str();
  command->add_option("--token-file", flags.token_file, "File holding your token (server's DATA_DIR/admin.token)")
      ->envname("EDGEBENCH_TOKEN_FILE")
      ->required();
  command->add_option("--ca-file", flags.ca_file,
                      "With https: CA certificate (PEM) that signed the server's (default: the system's)")
      ->envname("EDGEBENCH_CA_FILE");
  command->add_flag("--json", flags.json_output, "Print JSON");
}

Expected<std::unique_ptr<ServiceClient>> Connect(const ConnectionFlags& flags) {
  auto token = ReadTokenFile(flags.token_file);
  if (!token.ok()) return token.error();
  return ServiceClient::Connect(flags.server, *token, flags.ca_file);
}

std::string Text(const json& value) {
  if (value.is_null()) return "-";
  if (value.is_string()) return value.get<std::string>();
  return value.dump();
}

// For a task that repeats INVALID runs (repeat_invalid > 0): "valid on attempt 2 of 3" or
// "INVALID after 3 attempts"; "" otherwise.
std::string RepeatSummary(const json& task, const BenchResult& result) {
  const int repeats = task.value("repeat_invalid", 0);
  if (repeats == 0 || result.failure) return "";
  const std::string attempts = std::to_string(task.value("result_attempts", 0));
  if (result.validity.valid) return "valid on attempt " + attempts + " of " + std::to_string(repeats + 1);
  return "INVALID after " + attempts + " attempts";
}

// Prints a finished task's result: the table of FormatResultText, or the document as JSON.
// Returns the exit code the task's outcome stands for.
int PrintOutcome(const json& task, bool json_output) {
  const std::string state = task.value("state", "");
  const json document = task.value("result", json());
  if (document.is_null()) {
    if (json_output) std::cout << task.dump(2) << "\n";
    const json error = task.value("error", json());
    std::cerr << "edgebench: task " << task.value("id", int64_t{0}) << " " << state
              << (error.is_string() ? ": " + error.get<std::string>() : "") << "\n";
    return kExitFailure;  // cancelled, or lost without a document
  }
  if (document.value("schema", "") == kComparisonSchema) {
    auto comparison = ComparisonFromJson(document);
    if (json_output || !comparison.ok()) {
      std::cout << document.dump(2) << "\n";
    } else {
      std::cout << FormatComparisonText(*comparison);
    }
    if (!comparison.ok()) return ReportError(comparison.error());
    if (comparison->failure) {
      std::cerr << "edgebench: task " << task.value("id", int64_t{0}) << " " << state << ": "
                << comparison->failure->stage << ": " << comparison->failure->error.message << "\n";
      return ExitCodeFor(comparison->failure->error);
    }
    return kExitOk;
  }
  auto result = BenchResultFromJson(document);
  if (json_output) {
    std::cout << document.dump(2) << "\n";
  } else if (result.ok()) {
    std::cout << FormatResultText(*result);
  } else {
    std::cout << document.dump(2) << "\n";
  }
  if (!result.ok()) return ReportError(result.error());
  if (const std::string summary = RepeatSummary(task, *result); !summary.empty()) {
    std::cerr << "task " << task.value("id", int64_t{0}) << ": " << summary << "\n";
  }
  if (result->failure) {
    std::cerr << "edgebench: task " << task.value("id", int64_t{0}) << " " << state << ": "
              << result->failure->stage << ": " << result->failure->error.message << "\n";
    return state == "timed_out" ? kExitFailure : ExitCodeFor(result->failure->error);
  }
  return kExitOk;
}

struct SubmitFlags {
  ConnectionFlags connection;
  std::unique_ptr<SettingsFlags> settings;  // the task's `settings`
  std::string model;
  std::string runtime;
  std::string device;
  std::vector<std::string> selectors;  // key=value
  // A comparison task: the other models and the thread counts to compare (with `model`).
  std::vector<std::string> compare_models;
  std::vector<int> compare_threads;
  std::optional<double> round_ms;
  bool wait = false;
  double wait_timeout_s = 0;  // 0 = wait forever
};

int RunSubmit(SubmitFlags& f) {
  if (f.device.empty() == f.selectors.empty()) {
    return ReportError(InvalidArgument("give exactly one of --device NAME and --select KEY=VALUE"));
  }
  auto settings = f.settings->Collect();
  if (!settings.ok()) return ReportError(settings.error());
  auto selector = KeyValues(f.selectors, "--select");
  if (!selector.ok()) return ReportError(selector.error());

  auto client = Connect(f.connection);
  if (!client.ok()) return ReportError(client.error());
  auto model = (*client)->UploadModel(f.model);
  if (!model.ok()) return ReportError(model.error());
  json request = {{"model_sha256", (*model)["sha256"]}, {"runtime", f.runtime}, {"settings", *settings}};
  if (!f.compare_models.empty() || !f.compare_threads.empty()) {
    json compare = {{"models", json::array()}, {"threads", f.compare_threads}};
    for (const auto& path : f.compare_models) {
      auto other = (*client)->UploadModel(path);
      if (!other.ok()) return ReportError(other.error());
      compare["models"].push_back((*other)["sha256"]);
    }
    if (f.round_ms) compare["round_ms"] = *f.round_ms;
    request["compare"] = compare;
  }
  if (!f.device.empty()) {
    request["device"] = f.device;
  } else {
    request["selector"] = *selector;
  }
  auto task = (*client)->CreateTask(request);
  if (!task.ok()) return ReportError(task.error());
  const int64_t id = (*task)["id"].get<int64_t>();
  std::cerr << "task " << id << " " << Text((*task)["state"]) << " (model " << Text((*model)["name"]) << " " << Text((*model)["sha256"]).substr(0, 12) << ", "
            << f.runtime << ")" << std::endl;
  if (!f.wait) {
    if (f.connection.json_output) {
      std::cout << task->dump(2) << "\n";
    } else {
      std::cout << id << "\n";
    }
    return kExitOk;
  }
  auto done = (*client)->WaitTask(id, [id](const json& t) {
    std::cerr << "task " << id << ": " << t.value("state", "") ;
    if (t["agent"].is_string()) std::cerr << " on " << t["agent"].get<std::string>();
    if (t.value("attempts", 0) > 1) std::cerr << " (attempt " << t.value("attempts", 0) << ")";
    if (t["state"] == "queued" && t["error"].is_string()) std::cerr << ": " << t["error"].get<std::string>();
    std::cerr << std::endl;
  }, 200, f.wait_timeout_s);
  if (!done.ok()) return ReportError(done.error());
  return PrintOutcome(*done, f.connection.json_output);
}

struct JobFlags {
  ConnectionFlags connection;
  std::unique_ptr<SettingsFlags> settings;  // the task's `settings`
  std::vector<std::string> models;
  std::vector<std::string> runtimes;
  std::vector<std::string> devices;
  std::vector<std::string> selectors;  // each KEY=VALUE[,KEY=VALUE...] is one target
  bool skip_unavailable = false;
  bool wait = false;
  double wait_timeout_s = 0;  // 0 = wait forever
};

// "done/total tasks done (2 succeeded, 1 running, ...)" from a job's counts.
std::string JobProgress(const json& job) {
  std::string text = std::to_string(job.value("tasks_done", 0)) + "/" + std::to_string(job.value("tasks_total", 0)) +
                     " tasks done";
  std::string counts;
  const json by_state = job.value("counts", json::object());  // items() must not outlive it
  for (const auto& [state, count] : by_state.items()) {
    counts += (counts.empty() ? "" : ", ") + std::to_string(count.get<int>()) + " " + state;
  }
  return text + (counts.empty() ? "" : " (" + counts + ")");
}

int RunJob(JobFlags& f) {
  if (f.devices.empty() && f.selectors.empty()) {
    return ReportError(InvalidArgument("give at least one --device NAME or --select KEY=VALUE[,KEY=VALUE]"));
  }
  auto settings = f.settings->Collect();
  if (!settings.ok()) return ReportError(settings.error());
  json selectors = json::array();
  for (const auto& target : f.selectors) {
    auto selector = KeyValues(Split(target, ','), "--select");
    if (!selector.ok()) return ReportError(selector.error());
    selectors.push_back(*selector);
  }
  auto client = Connect(f.connection);
  if (!client.ok()) return ReportError(client.error());
  json models = json::array();
  std::map<std::string, std::string> model_names;  // sha256 -> file name, for messages
  for (const auto& path : f.models) {
    auto model = (*client)->UploadModel(path);
    if (!model.ok()) return ReportError(model.error());
    const std::string sha = (*model)["sha256"].get<std::string>();
    if (model_names.emplace(sha, Text((*model)["name"])).second) models.push_back(sha);
  }
  json request = {{"models", models}, {"runtimes", f.runtimes}, {"devices", f.devices},
                  {"selectors", selectors}, {"settings", *settings}, {"skip_unavailable", f.skip_unavailable}};
  auto job = (*client)->CreateJob(request);
  if (!job.ok()) return ReportError(job.error());
  const int64_t id = (*job)["id"].get<int64_t>();
  std::cerr << "job " << id << ": " << (*job)["tasks_total"].get<int>() << " tasks queued (" << models.size()
            << " models x " << f.runtimes.size() << " runtimes x " << f.devices.size() + selectors.size()
            << " devices/selectors)" << std::endl;
  for (const auto& skipped : (*job)["spec"]["skipped"]) {
    std::cerr << "job " << id << ": skipped " << Text(skipped["runtime"]) << " on "
              << (skipped["device"].is_string() ? Text(skipped["device"]) : skipped["selector"].dump()) << ": "
              << Text(skipped["reason"]) << std::endl;
  }
  if (!f.wait) {
    if (f.connection.json_output) {
      std::cout << job->dump(2) << "\n";
    } else {
      std::cout << id << "\n";
    }
    return kExitOk;
  }
  auto done = (*client)->WaitJob(id, [id](const json& j) {
    std::cerr << "job " << id << ": " << JobProgress(j) << std::endl;
  }, 500, f.wait_timeout_s);
  if (!done.ok()) return ReportError(done.error());
  if (f.connection.json_output) {
    std::cout << done->dump(2) << "\n";
  } else {
    std::cout << (*done)["table"]["text"].get<std::string>();
    const std::string precision = (*done)["precision_table"]["text"].get<std::string>();
    if (!precision.empty()) std::cout << "\n" << precision;
  }
  for (const auto& task : (*done)["tasks"]) {
    if (task["state"] == "succeeded") continue;
    std::cerr << "task " << task["id"].get<int64_t>() << " (" << model_names[Text(task["model_sha256"])] << ", "
              << Text(task["runtime"]) << " on " << (task["agent"].is_string() ? Text(task["agent"]) : "-")
              << ") " << Text(task["state"]) << ": " << Text(task["error"]) << std::endl;
  }
  return (*done)["state"] == "succeeded" ? kExitOk : kExitFailure;
}

// The task's model by the name it was uploaded with (a hash prefix from servers without names).
std::string ModelName(const json& task) {
  const std::string name = task.value("model_name", "");
  return name.empty() ? Text(task["model_sha256"]).substr(0, 12) : name;
}

void PrintJobs(const json& jobs) {
  std::printf("%-6s %-10s %-24s %s\n", "ID", "STATE", "CREATED", "PROGRESS");
  for (const auto& j : jobs) {
    std::printf("%-6lld %-10s %-24s %s\n", static_cast<long long>(j.value("id", int64_t{0})), Text(j["state"]).c_str(),
                Text(j["created_at"]).c_str(), JobProgress(j).c_str());
  }
}

struct IdFlags {
  ConnectionFlags connection;
  int64_t id = 0;
};

// ATTEMPTS: leases (agents handed the task); RESULTS: result documents received, of at most
// 1 + repeat_invalid when INVALID runs are repeated.
void PrintTasks(const json& tasks) {
  std::printf("%-6s %-10s %-12s %-16s %-8s %-7s %-24s %s\n", "ID", "STATE", "RUNTIME", "DEVICE", "ATTEMPTS",
              "RESULTS", "CREATED", "MODEL");
  for (const auto& t : tasks) {
    const std::string target = t["device"].is_string() ? t["device"].get<std::string>() : t["selector"].dump();
    std::string results = std::to_string(t.value("result_attempts", 0));
    if (t.value("repeat_invalid", 0) > 0) results += "/" + std::to_string(t.value("repeat_invalid", 0) + 1);
    std::printf("%-6lld %-10s %-12s %-16s %-8d %-7s %-24s %s\n", static_cast<long long>(t.value("id", int64_t{0})),
                Text(t["state"]).c_str(), Text(t["runtime"]).c_str(), target.c_str(), t.value("attempts", 0),
                results.c_str(), Text(t["created_at"]).c_str(), ModelName(t).c_str());
  }
}

// One job: its state and progress, its tasks, the latency matrix and the precision table.
void PrintJob(const json& job) {
  std::printf("job %lld  %s  %s  created %s by %s\n", static_cast<long long>(job.value("id", int64_t{0})),
              Text(job["state"]).c_str(), JobProgress(job).c_str(), Text(job["created_at"]).c_str(),
              Text(job["owner"]).c_str());
  for (const auto& skipped : job["spec"].value("skipped", json::array())) {
    std::printf("skipped %s on %s: %s\n", Text(skipped["runtime"]).c_str(),
                (skipped["device"].is_string() ? Text(skipped["device"]) : skipped["selector"].dump()).c_str(),
                Text(skipped["reason"]).c_str());
  }
  std::printf("\n");
  PrintTasks(job["tasks"]);
  const std::string table = job["table"].value("text", "");
  std::printf("\n%s", table.empty() ? "no results yet\n" : table.c_str());
  const std::string precision = job["precision_table"].value("text", "");
  if (!precision.empty()) std::printf("\n%s", precision.c_str());
}

void PrintDevices(const json& devices) {
  std::printf("%-16s %-11s %-8s %-6s %-28s %s\n", "NAME", "STATE", "ARCH", "CORES", "RUNTIMES", "LABELS");
  for (const auto& d : devices) {
    std::string runtimes;
    for (const auto& r : d["facts"].value("runtimes", json::array())) {
      runtimes += (runtimes.empty() ? "" : ",") + r.value("name", std::string());
    }
    std::string labels;
    for (const auto& [key, value] : d["labels"].items()) {
      labels += (labels.empty() ? "" : ",") + key + "=" + Text(value);
    }
    std::printf("%-16s %-11s %-8s %-6s %-28s %s\n", Text(d["name"]).c_str(), Text(d.value("state", json())).c_str(),
                Text(d["facts"].value("arch", json())).c_str(), Text(d["facts"].value("cores", json())).c_str(),
                runtimes.c_str(), labels.empty() ? "-" : labels.c_str());
  }
}

struct DeviceFlags {
  ConnectionFlags connection;
  std::string name;
  bool off = false;  // maintenance: take the device out of maintenance
};

// One line per health check: task, runtime, time, verdict and why.
void PrintHealthChecks(const json& health) {
  const json& device = health["device"];
  std::printf("%s: %s (health %s%s)\n", Text(device["name"]).c_str(), Text(device["state"]).c_str(),
              Text(device["health"]).c_str(),
              device["health_reason"].is_string() ? (": " + device["health_reason"].get<std::string>()).c_str() : "");
  for (const auto& check : health["checks"]) {
    const json& detail = check["detail"];
    std::printf("task %-6s %-12s %s  %-8s %s%s\n", Text(check["task_id"]).c_str(), Text(check["runtime"]).c_str(),
                Text(check["created_at"]).c_str(), Text(check["verdict"]).c_str(),
                detail.value("p50_ms", json()).is_number() ? ("median " + Text(detail["p50_ms"]) + " ms").c_str() : "",
                detail.value("reason", json()).is_string() ? ("  " + detail["reason"].get<std::string>()).c_str() : "");
  }
}

struct ResultFlags {
  ConnectionFlags connection;
  int64_t id = 0;
  bool attempts = false;  // every result document the task received, not only its result
};

// One line per result document of GET /v1/tasks/ID/results: attempt, agent, time, verdict.
void PrintResultAttempts(const json& results) {
  for (const auto& attempt : results) {
    std::string verdict;
    auto result = BenchResultFromJson(attempt["document"]);
    if (!result.ok()) {
      verdict = "unreadable: " + result.error().message;
    } else if (result->failure) {
      verdict = "failed: " + result->failure->stage + ": " + result->failure->error.message;
    } else if (result->validity.valid) {
      verdict = "valid";
    } else {
      verdict = "INVALID: " + Join(result->validity.reasons, "; ");
    }
    std::printf("attempt %d  %s  %s  %s%s\n", attempt.value("attempt", 0), Text(attempt["agent"]).c_str(),
                Text(attempt["uploaded_at"]).c_str(), verdict.c_str(),
                attempt.value("is_result", false) ? "  (the task's result)" : "");
  }
}

}  // namespace

void AddClientCommands(CLI::App& app, int& exit_code) {
  {
    auto f = std::make_shared<SubmitFlags>();
    auto* command = app.add_subcommand("submit", "Upload a model and create an evaluation task on a server");
    command->footer("Examples:\n  edgebench submit mobilenetv2.onnx --server http://10.0.0.1:8080 "
                    "--token-file admin.token --runtime onnxruntime --device rpi4 --wait\n"
                    "  edgebench submit mobilenetv2.onnx --compare efficientnetb0.onnx --compare-threads 1,4 "
                    "--runtime onnxruntime --device rpi4 --wait   (a comparison of 4 variants on the device)");
    command->add_option("model", f->model, "Model file")->required();
    command->add_option("-r,--runtime", f->runtime, "Runtime on the device")->required();
    command->add_option("--device", f->device, "Device (agent) name");
    command->add_option("--select", f->selectors, "Any device with label KEY=VALUE (repeatable)");
    command->add_option("--compare", f->compare_models,
                        "A comparison task: also this model (repeatable), timed interleaved with MODEL on the "
                        "device as 'edgebench compare' does")
        ->type_name("MODEL");
    command->add_option("--compare-threads", f->compare_threads,
                        "A comparison task: these thread counts, e.g. 1,2,4 (each model with each count)")
        ->delimiter(',');
    command->add_option("--round-ms", f->round_ms, "A comparison task: each variant's time in a round (default 20)");
    f->settings = std::make_unique<SettingsFlags>(command, SettingsReader::kService);
    command->add_flag("--wait", f->wait, "Wait for the result (progress on stderr) and print it");
    command->add_option("--wait-timeout", f->wait_timeout_s, "With --wait: give up after this many seconds (0 = never)")
        ->capture_default_str();
    AddConnectionFlags(command, f->connection);
    command->callback([f, &exit_code] { exit_code = RunSubmit(*f); });
  }
  {
    auto f = std::make_shared<JobFlags>();
    auto* command = app.add_subcommand(
        "job", "Upload models and measure each on several runtimes and devices (one task per combination)");
    command->footer("Example:\n  edgebench job mobilenetv2.onnx resnet50.onnx --runtime onnxruntime --runtime opencv "
                    "--device rpi4 --select board=jetson --server http://10.0.0.1:8080 --token-file admin.token "
                    "--wait\nWith --wait prints the latency matrix (models x runtime (device), FLOPs); "
                    "exit code 0 only when every task succeeded.");
    command->add_option("models", f->models, "Model files")->required();
    command->add_option("-r,--runtime", f->runtimes, "Runtime (repeatable)")->required();
    command->add_option("--device", f->devices, "Device (agent) name (repeatable)");
    command->add_option("--select", f->selectors,
                        "Any device with labels KEY=VALUE[,KEY=VALUE...] (repeatable; each is one column)");
    command->add_flag("--skip-unavailable", f->skip_unavailable,
                      "Leave out runtime and device pairs no registered device can run (else refuse the job)");
    f->settings = std::make_unique<SettingsFlags>(command, SettingsReader::kService);
    command->add_flag("--wait", f->wait, "Wait for all tasks (progress on stderr) and print the table");
    command->add_option("--wait-timeout", f->wait_timeout_s, "With --wait: give up after this many seconds (0 = never)")
        ->capture_default_str();
    AddConnectionFlags(command, f->connection);
    command->callback([f, &exit_code] { exit_code = RunJob(*f); });
  }
  {
    auto f = std::make_shared<IdFlags>();
    auto* command = app.add_subcommand("jobs", "List the server's jobs, newest first, or show one job");
    command->add_option("id", f->id, "Job id: show that job (progress, tasks, latency matrix)");
    AddConnectionFlags(command, f->connection);
    command->callback([f, &exit_code] {
      auto client = Connect(f->connection);
      if (!client.ok()) return void(exit_code = ReportError(client.error()));
      if (f->id > 0) {
        auto job = (*client)->GetJob(f->id);
        if (!job.ok()) return void(exit_code = ReportError(job.error()));
        if (f->connection.json_output) {
          std::cout << job->dump(2) << "\n";
        } else {
          PrintJob(*job);
        }
        return void(exit_code = kExitOk);
      }
      auto jobs = (*client)->ListJobs();
      if (!jobs.ok()) return void(exit_code = ReportError(jobs.error()));
      if (f->connection.json_output) {
        std::cout << (*jobs)["jobs"].dump(2) << "\n";
      } else {
        PrintJobs((*jobs)["jobs"]);
      }
      exit_code = kExitOk;
    });
  }
  {
    struct TasksFlags {
      ConnectionFlags connection;
      TaskListQuery query;
    };
    auto f = std::make_shared<TasksFlags>();
    auto* command = app.add_subcommand("tasks", "List the server's tasks, newest first, a page at a time");
    command->add_option("--state", f->query.state, "Only tasks in this state (queued, running, succeeded, ...)");
    command->add_option("--job", f->query.job, "Only the tasks of this job")->check(CLI::PositiveNumber);
    command->add_option("--limit", f->query.limit, "At most this many tasks (server default 100, at most 1000)")
        ->check(CLI::Range(1, 1000));
    command->add_option("--after", f->query.after, "Tasks older than this task id (the next page)")
        ->check(CLI::PositiveNumber);
    AddConnectionFlags(command, f->connection);
    command->callback([f, &exit_code] {
      auto client = Connect(f->connection);
      if (!client.ok()) return void(exit_code = ReportError(client.error()));
      auto tasks = (*client)->ListTasks(f->query);
      if (!tasks.ok()) return void(exit_code = ReportError(tasks.error()));
      if (f->connection.json_output) {
        std::cout << (*tasks)["tasks"].dump(2) << "\n";
      } else {
        PrintTasks((*tasks)["tasks"]);
      }
      const json next = tasks->value("next", json(nullptr));
      if (next.is_number_integer()) std::cerr << "more tasks: --after " << next.get<int64_t>() << "\n";
      exit_code = kExitOk;
    });
  }
  {
    auto f = std::make_shared<ResultFlags>();
    auto* command = app.add_subcommand("result", "Print a task's result (table, or the document with --json)");
    command->add_option("id", f->id, "Task id")->required();
    command->add_flag("--attempts", f->attempts,
                      "List every result document the task received (runs repeated because they came back "
                      "INVALID, then its result); with --json the documents");
    AddConnectionFlags(command, f->connection);
    command->callback([f, &exit_code] {
      auto client = Connect(f->connection);
      if (!client.ok()) return void(exit_code = ReportError(client.error()));
      if (f->attempts) {
        auto answer = (*client)->GetTaskResults(f->id);
        if (!answer.ok()) return void(exit_code = ReportError(answer.error()));
        if (f->connection.json_output) {
          std::cout << (*answer)["results"].dump(2) << "\n";
        } else {
          PrintResultAttempts((*answer)["results"]);
        }
        return void(exit_code = kExitOk);
      }
      auto task = (*client)->GetTask(f->id);
      if (!task.ok()) return void(exit_code = ReportError(task.error()));
      if (!IsFinalTaskState((*task)["state"].get<std::string>())) {
        return void(exit_code = ReportError(RuntimeError("task " + std::to_string(f->id) + " is " +
                                                         (*task)["state"].get<std::string>() + ", no result yet")));
      }
      exit_code = PrintOutcome(*task, f->connection.json_output);
    });
  }
  {
    auto f = std::make_shared<ConnectionFlags>();
    auto* command = app.add_subcommand("devices", "List the devices (agents) registered with the server");
    AddConnectionFlags(command, *f);
    command->callback([f, &exit_code] {
      auto client = Connect(*f);
      if (!client.ok()) return void(exit_code = ReportError(client.error()));
      auto devices = (*client)->ListDevices();
      if (!devices.ok()) return void(exit_code = ReportError(devices.error()));
      if (f->json_output) {
        std::cout << (*devices)["devices"].dump(2) << "\n";
      } else {
        PrintDevices((*devices)["devices"]);
      }
      exit_code = kExitOk;
    });
  }
  {
    auto* group = app.add_subcommand("device", "A device's health: maintenance, reset after a failed health check, history");
    group->require_subcommand(1);
    auto f = std::make_shared<DeviceFlags>();
    auto* maintenance = group->add_subcommand("maintenance", "Take a device out of scheduling (--off: back in)");
    auto* reset = group->add_subcommand("reset", "Put a bad device (failed health check) back in scheduling");
    auto* health = group->add_subcommand("health", "The device's state and its health checks, newest first");
    maintenance->add_flag("--off", f->off, "Leave maintenance");
    for (auto* command : {maintenance, reset, health}) {
      command->add_option("name", f->name, "Device (agent) name")->required();
      AddConnectionFlags(command, f->connection);
    }
    auto run = [f, &exit_code](const std::string& action) {
      auto client = Connect(f->connection);
      if (!client.ok()) return void(exit_code = ReportError(client.error()));
      auto answer = action == "maintenance" ? (*client)->SetMaintenance(f->name, !f->off)
                    : action == "reset"     ? (*client)->ResetDevice(f->name)
                                            : (*client)->DeviceHealth(f->name);
      if (!answer.ok()) return void(exit_code = ReportError(answer.error()));
      if (f->connection.json_output) {
        std::cout << answer->dump(2) << "\n";
      } else if (action == "health") {
        PrintHealthChecks(*answer);
      } else {
        std::cout << f->name << ": " << Text((*answer)["state"]) << "\n";
      }
      exit_code = kExitOk;
    };
    maintenance->callback([run] { run("maintenance"); });
    reset->callback([run] { run("reset"); });
    health->callback([run] { run("health"); });
  }
  {
    auto f = std::make_shared<IdFlags>();
    auto* command = app.add_subcommand("cancel", "Cancel a queued or running task");
    command->add_option("id", f->id, "Task id")->required();
    AddConnectionFlags(command, f->connection);
    command->callback([f, &exit_code] {
      auto client = Connect(f->connection);
      if (!client.ok()) return void(exit_code = ReportError(client.error()));
      auto task = (*client)->CancelTask(f->id);
      if (!task.ok()) return void(exit_code = ReportError(task.error()));
      if (f->connection.json_output) {
        std::cout << task->dump(2) << "\n";
      } else {
        std::cout << "task " << f->id << " cancelled\n";
      }
      exit_code = kExitOk;
    });
  }
}

}  // namespace edgebench::cli
