// Tasks (POST/GET /v1/tasks, GET /v1/tasks/ID, cancel) and jobs, many tasks at once (POST/GET
// /v1/jobs, GET /v1/jobs/ID, cancel). A new task that needs a converted model starts in state
// converting and is queued by the conversion stage (conversion_queue.h).
#include <limits>
#include <map>
#include <string>
#include <utility>

#include "edgebench/comparison.h"
#include "edgebench/convert.h"
#include "edgebench/report.h"
#include "edgebench/result_json.h"
#include "edgebench/text.h"
#include "handlers.h"
#include "http.h"
#include "validation.h"

namespace edgebench::server {
namespace {

using json = nlohmann::json;

// The model each new task runs: the submitted one, its cached conversion, or a conversion to
// wait for (NewTask::conversion). Remembers what it looked up, so a job of many tasks scans the
// agents and asks the store once per distinct case.
class ModelPlanner {
 public:
  ModelPlanner(Store& store, std::shared_ptr<const std::vector<AgentRow>> agents)
      : store_(store), agents_(std::move(agents)) {}

  // `task.model_sha256` is the submitted (stored) model; 422 when no conversion serves the
  // agents that can run the task.
  std::optional<ApiError> Plan(NewTask& task) {
    auto format = formats_.find(task.model_sha256);
    if (format == formats_.end()) {
      format = formats_.emplace(task.model_sha256, store_.FindModel(task.model_sha256)->format).first;
    }
    const std::string precision = task.settings.value("precision", "fp32");
    const std::string where =
        task.runtime + "\n" + task.device + "\n" + task.selector.dump() + "\n" + format->second + "\n" + precision;
    auto need = needs_.find(where);
    if (need == needs_.end()) {
      need = needs_.emplace(where, PlanConversion(*agents_, PlacementOf(task), format->second, precision)).first;
    }
    if (!need->second.ok()) return need->second.error();
    if (!need->second.value()) return std::nullopt;
    const ConversionKey key{task.model_sha256, need->second.value()->target, need->second.value()->precision};
    auto converted = converted_.find(key);
    if (converted == converted_.end()) {
      auto cached = store_.FindConversion(key.source_sha256, key.target, key.precision, kConverterVersion);
      converted = converted_.emplace(key, cached ? cached->converted_sha256 : "").first;
    }
    if (converted->second.empty()) {
      task.conversion = key;
    } else {
      task.model_sha256 = converted->second;
    }
    return std::nullopt;
  }

 private:
  Store& store_;
  std::shared_ptr<const std::vector<AgentRow>> agents_;
  std::map<std::string, std::string> formats_;                                  // model -> format
  std::map<std::string, ApiResult<std::optional<ConversionNeed>>> needs_;       // placement -> need
  std::map<ConversionKey, std::string> converted_;                              // -> cached model, ""
};

// The runs repeated while the task's result comes back INVALID: its setting, else the server's.
int RepeatInvalid(const ServerContext& context, const json& settings) {
  return settings.value("repeat_invalid", context.options.repeat_invalid);
}

ApiResult<std::string> KnownModel(Store& store, const json& value, const std::string& field) {
  if (!value.is_string()) return WrongType(field, "a string");
  const std::string sha = value.get<std::string>();
  if (!IsSha256(sha)) return ApiError{400, "field '" + field + "' must be 64 lowercase hex digits (a sha256)"};
  if (!store.FindModel(sha)) return ApiError{404, "model " + sha + " not found (upload it with POST /v1/models)"};
  return sha;
}

// A comparison task's `compare` field (TaskRow::compare), checked against the task: every model
// known and of the first model's format, the variants (models x threads) between 2 and
// kMaxCompareVariants, no precision conversion, no verification or profile (a bench's).
ApiResult<json> ParseCompare(Store& store, const json& value, const NewTask& task, const std::string& first_format) {
  if (!value.is_object()) return WrongType("compare", "an object");
  if (auto unknown = CheckKnownFields(value, {"models", "threads", "round_ms"}, "compare")) return *unknown;
  json compare = {{"models", json::array()}, {"threads", json::array()}, {"round_ms", 20}};
  if (value.contains("models")) {
    if (!value["models"].is_array()) return WrongType("compare.models", "an array of sha256");
    for (std::size_t i = 0; i < value["models"].size(); ++i) {
      const std::string field = "compare.models[" + std::to_string(i) + "]";
      auto sha = KnownModel(store, value["models"][i], field);
      if (!sha.ok()) return sha.error();
      if (const std::string format = store.FindModel(*sha)->format; format != first_format) {
        return ApiError{422, "field '" + field + "' is a " + format + " model and model_sha256 a " + first_format +
                                 " one: a comparison runs models of one format on one runtime"};
      }
      compare["models"].push_back(*sha);
    }
  }
  if (value.contains("threads")) {
    if (!value["threads"].is_array()) return WrongType("compare.threads", "an array of integers");
    for (const auto& threads : value["threads"]) {
      if (!threads.is_number_integer() || threads.get<int64_t>() < 0 || threads.get<int64_t>() > 1024) {
        return WrongType("compare.threads", "an array of integers in [0, 1024]");
      }
      compare["threads"].push_back(threads);
    }
  }
  if (value.contains("round_ms")) {
    if (!value["round_ms"].is_number() || !(value["round_ms"].get<double>() > 0) ||
        value["round_ms"].get<double>() > 60000) {
      return WrongType("compare.round_ms", "a number in (0, 60000]");
    }
    compare["round_ms"] = value["round_ms"];
  }
  const std::size_t variants = (1 + compare["models"].size()) * std::max<std::size_t>(1, compare["threads"].size());
  if (variants < 2 || variants > static_cast<std::size_t>(kMaxCompareVariants)) {
    return ApiError{422, "a comparison needs 2 to " + std::to_string(kMaxCompareVariants) +
                             " variants (models x threads); this one has " + std::to_string(variants)};
  }
  if (task.settings.value("precision", "fp32") != "fp32") {
    return ApiError{422, "a comparison runs its models as submitted: convert them first (edgebench convert) "
                         "instead of settings.precision"};
  }
  if (!task.settings.value("verify_runtime", "").empty() || task.settings.value("profile_runs", 0) > 0) {
    return ApiError{422, "a comparison neither verifies nor profiles: leave out settings.verify_runtime and "
                         "settings.profile_runs"};
  }
  return compare;
}

void CreateTask(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
  Store& store = *context.store;
  auto who = Authenticate(store, req, {TokenKind::kAdmin, TokenKind::kUser});
  if (!who.ok()) return SendError(res, who.error());
  auto parsed = ParseObject(req, context.options.max_request_bytes,
                            {"model_sha256", "runtime", "device", "selector", "settings", "compare"});
  if (!parsed.ok()) return SendError(res, parsed.error());
  const json& body = *parsed;
  NewTask task;
  task.owner = who->subject;
  if (!body.contains("model_sha256")) return SendError(res, WrongType("model_sha256", "a string"));
  if (!body.contains("runtime") || !body["runtime"].is_string()) return SendError(res, WrongType("runtime", "a string"));
  auto runtime = OptionalName(body, "runtime");
  if (!runtime.ok()) return SendError(res, runtime.error());
  task.runtime = *runtime;
  auto device = OptionalName(body, "device");
  if (!device.ok()) return SendError(res, device.error());
  task.device = *device;
  if (body.contains("selector") && !body["selector"].is_null()) {
    if (auto error = CheckLabels(body["selector"], "selector")) return SendError(res, *error);
    task.selector = body["selector"];
  }
  if (task.device.empty() == task.selector.empty()) {
    return SendError(res, {400, "give exactly one of 'device' and 'selector'"});
  }
  auto settings = ParseSettings(body);
  if (!settings.ok()) return SendError(res, settings.error());
  task.settings = *settings;
  task.repeat_invalid = RepeatInvalid(context, task.settings);
  auto model = KnownModel(store, body["model_sha256"], "model_sha256");
  if (!model.ok()) return SendError(res, model.error());
  task.model_sha256 = *model;
  if (body.contains("compare") && !body["compare"].is_null()) {
    auto compare = ParseCompare(store, body["compare"], task, store.FindModel(task.model_sha256)->format);
    if (!compare.ok()) return SendError(res, compare.error());
    task.compare = *compare;
  }
  const auto agents = store.RegisteredAgents();
  if (auto error = CheckRunnable(*agents, PlacementOf(task))) return SendError(res, *error);
  if (auto error = ModelPlanner(store, agents).Plan(task)) return SendError(res, *error);
  if (!task.compare.is_null() && (task.conversion || task.model_sha256 != *model)) {
    return SendError(res, {422, "no agent that can run " + task.runtime + " reads the models' format as submitted, "
                                "and a comparison runs its models as submitted: convert them first (edgebench convert)"});
  }
  const TaskRow created = *store.GetTask(store.CreateTask(task));
  context.Dispatch({created});
  SendJson(res, 201, TaskJson(created));
}

// A non-empty array field of distinct items, each checked by `check`.
template <typename Check>
std::optional<ApiError> ForEachItem(const json& body, const std::string& field, bool required, Check check) {
  if (!body.contains(field) || body[field].is_null()) {
    return required ? std::optional<ApiError>(WrongType(field, "a non-empty array")) : std::nullopt;
  }
  if (!body[field].is_array() || (required && body[field].empty())) return WrongType(field, "a non-empty array");
  for (std::size_t i = 0; i < body[field].size(); ++i) {
    const json& item = body[field][i];
    for (std::size_t j = 0; j < i; ++j) {
      if (body[field][j] == item) return ApiError{400, "field '" + field + "' lists " + item.dump() + " twice"};
    }
    if (auto error = check(item, field + "[" + std::to_string(i) + "]")) return error;
  }
  return std::nullopt;
}

// The job's state from its tasks' states: queued (none started), running, succeeded (all),
// failed (all final, some not succeeded). Converting tasks have not started.
std::string JobState(const JobRow& job) {
  int final_tasks = 0, succeeded = 0, waiting = 0;
  for (const auto& [state, count] : job.state_counts) {
    if (IsFinalState(state)) final_tasks += count;
    if (state == "succeeded") succeeded += count;
    if (state == "queued" || state == "converting") waiting += count;
  }
  if (final_tasks < job.tasks) return waiting == job.tasks ? "queued" : "running";
  return succeeded == job.tasks ? "succeeded" : "failed";
}

json JobJson(const JobRow& job) {
  int done = 0;
  for (const auto& [state, count] : job.state_counts) {
    if (IsFinalState(state)) done += count;
  }
  return {{"id", job.id},           {"state", JobState(job)},  {"owner", job.owner},
          {"created_at", job.created_at}, {"tasks_total", job.tasks}, {"tasks_done", done},
          {"counts", job.state_counts},   {"spec", job.request}};
}

// The job with its tasks and the latency matrix of its results so far.
json JobDetail(Store& store, const JobRow& job) {
  json body = JobJson(job);
  const auto tasks = store.ListJobTasks(job.id);
  std::map<int64_t, std::string> agent_of;
  body["tasks"] = json::array();
  for (const auto& task : tasks) {
    body["tasks"].push_back(TaskJson(task));
    agent_of[task.id] = task.agent_name;
  }
  // Columns name the device as the server knows it (the agent, BenchResult::device), so two
  // agents on one host differ; results stored before the field get it from their task.
  std::vector<BenchResult> results;
  for (const auto& [task_id, document] : store.JobResults(job.id)) {
    auto result = BenchResultFromJson(document);
    if (!result.ok()) continue;  // validated on upload; a document never fails here
    if (result->device.empty()) result->device = agent_of[task_id];
    results.push_back(std::move(*result));
  }
  const LatencyTable table = BuildLatencyTable(results);
  body["table"] = {{"header", table.HeaderCells()},
                   {"rows", table.RowCells()},
                   {"verdicts", VerdictSummary(table.counts)},
                   {"invalid_notes", table.notes.reasons()},
                   {"warning_notes", table.notes.warnings()},
                   {"note", kLatencyTableNote},
                   {"text", results.empty() ? std::string() : FormatLatencyTable(results, TableStyle::kText)}};
  // The precision table: the precisions of converted models side by side ("" when there are none).
  body["precision_table"] = {{"text", FormatPrecisionTable(results, TableStyle::kText)}};
  return body;
}

void CreateJob(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
  Store& store = *context.store;
  auto who = Authenticate(store, req, {TokenKind::kAdmin, TokenKind::kUser});
  if (!who.ok()) return SendError(res, who.error());
  auto parsed = ParseObject(req, context.options.max_request_bytes,
                            {"models", "runtimes", "devices", "selectors", "settings", "skip_unavailable"});
  if (!parsed.ok()) return SendError(res, parsed.error());
  const json& body = *parsed;
  std::vector<std::string> models, runtimes;
  std::vector<std::pair<std::string, json>> targets;  // {device, selector}
  std::optional<ApiError> error = ForEachItem(body, "models", true, [&](const json& item, const std::string& field) {
    auto sha = KnownModel(store, item, field);
    if (!sha.ok()) return std::optional<ApiError>(sha.error());
    models.push_back(*sha);
    return std::optional<ApiError>();
  });
  if (!error) {
    error = ForEachItem(body, "runtimes", true, [&](const json& item, const std::string& field) {
      if (!item.is_string()) return std::optional<ApiError>(WrongType(field, "a string"));
      if (!ValidName(item.get<std::string>())) return std::optional<ApiError>(BadName(field, item.get<std::string>()));
      runtimes.push_back(item.get<std::string>());
      return std::optional<ApiError>();
    });
  }
  if (!error) {
    error = ForEachItem(body, "devices", false, [&](const json& item, const std::string& field) {
      if (!item.is_string()) return std::optional<ApiError>(WrongType(field, "a string"));
      if (!ValidName(item.get<std::string>())) return std::optional<ApiError>(BadName(field, item.get<std::string>()));
      targets.emplace_back(item.get<std::string>(), json::object());
      return std::optional<ApiError>();
    });
  }
  if (!error) {
    error = ForEachItem(body, "selectors", false, [&](const json& item, const std::string& field) {
      if (auto bad = CheckLabels(item, field)) return bad;
      if (item.empty()) return std::optional<ApiError>(WrongType(field, "a non-empty object of strings"));
      targets.emplace_back("", item);
      return std::optional<ApiError>();
    });
  }
  if (error) return SendError(res, *error);
  if (targets.empty()) return SendError(res, {400, "give at least one of 'devices' and 'selectors'"});
  bool skip_unavailable = false;
  if (body.contains("skip_unavailable")) {
    if (!body["skip_unavailable"].is_boolean()) return SendError(res, WrongType("skip_unavailable", "a boolean"));
    skip_unavailable = body["skip_unavailable"].get<bool>();
  }
  auto settings = ParseSettings(body);
  if (!settings.ok()) return SendError(res, settings.error());
  const std::size_t combinations = models.size() * runtimes.size() * targets.size();
  if (combinations > static_cast<std::size_t>(context.options.max_job_tasks)) {
    return SendError(res, {400, "the job would create " + std::to_string(combinations) + " tasks; the limit is " +
                                    std::to_string(context.options.max_job_tasks) + " (--max-job-tasks)"});
  }
  // Each (runtime, target) pair must be runnable, or with skip_unavailable is left out.
  const auto agents = store.RegisteredAgents();
  std::vector<std::pair<std::string, std::size_t>> pairs;  // runnable {runtime, target index}
  json skipped = json::array();
  for (const auto& runtime : runtimes) {
    for (std::size_t t = 0; t < targets.size(); ++t) {
      const Placement probe{runtime, targets[t].first, targets[t].second, ""};
      if (auto unrunnable = CheckRunnable(*agents, probe)) {
        if (!skip_unavailable) return SendError(res, *unrunnable);
        skipped.push_back({{"runtime", runtime}, {"device", NullIfEmpty(probe.device)},
                           {"selector", probe.selector}, {"reason", unrunnable->message}});
      } else {
        pairs.emplace_back(runtime, t);
      }
    }
  }
  if (pairs.empty()) return SendError(res, {422, "no runtime and device of the job is available"});
  ModelPlanner planner(store, agents);
  std::vector<NewTask> tasks;
  for (const auto& model : models) {
    for (const auto& [runtime, t] : pairs) {
      NewTask task;
      task.model_sha256 = model;
      task.runtime = runtime;
      task.device = targets[t].first;
      task.selector = targets[t].second;
      task.settings = *settings;
      task.repeat_invalid = RepeatInvalid(context, task.settings);
      task.owner = who->subject;
      if (auto unplanned = planner.Plan(task)) return SendError(res, *unplanned);
      tasks.push_back(std::move(task));
    }
  }
  json spec = {{"models", models}, {"runtimes", runtimes}, {"devices", json::array()},
               {"selectors", json::array()}, {"settings", *settings}, {"skipped", skipped}};
  for (const auto& [device, selector] : targets) {
    if (!device.empty()) spec["devices"].push_back(device);
    else spec["selectors"].push_back(selector);
  }
  const int64_t id = store.CreateJob(who->subject, spec, tasks);
  context.Dispatch(store.ListJobTasks(id));
  SendJson(res, 201, JobDetail(store, *store.GetJob(id)));
}

// The job `req` names, when `who` may see it.
ApiResult<JobRow> VisibleJob(ServerContext& context, const httplib::Request& req, const TokenRow& who) {
  auto id = PathId(req, "job");
  if (!id.ok()) return id.error();
  context.store->ExpireLeases(context.options.max_attempts);
  auto job = context.store->GetJob(*id);
  if (!job || (who.kind != TokenKind::kAdmin && job->owner != who.subject)) {
    return ApiError{404, "job " + std::to_string(*id) + " not found"};
  }
  return *job;
}

void GetJob(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
  auto who = Authenticate(*context.store, req, {TokenKind::kAdmin, TokenKind::kUser});
  if (!who.ok()) return SendError(res, who.error());
  auto job = VisibleJob(context, req, *who);
  if (!job.ok()) return SendError(res, job.error());
  SendJson(res, 200, JobDetail(*context.store, *job));
}

// GET /v1/jobs?limit=&after=: newest first, paged as GET /v1/tasks.
void ListJobs(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
  auto who = Authenticate(*context.store, req, {TokenKind::kAdmin, TokenKind::kUser});
  if (!who.ok()) return SendError(res, who.error());
  auto limit = PageLimit(req);
  if (!limit.ok()) return SendError(res, limit.error());
  auto after = QueryInteger(req, "after", 1, std::numeric_limits<int64_t>::max());
  if (!after.ok()) return SendError(res, after.error());
  context.store->ExpireLeases(context.options.max_attempts);
  auto rows = context.store->ListJobs(who->kind == TokenKind::kAdmin ? "" : who->subject, *limit + 1, *after);
  json next = nullptr;
  if (static_cast<int>(rows.size()) > *limit) {
    rows.resize(*limit);
    next = rows.back().id;
  }
  json jobs = json::array();
  for (const auto& job : rows) jobs.push_back(JobJson(job));
  SendJson(res, 200, {{"jobs", jobs}, {"next", next}});
}

// Cancels the job's tasks that are not final yet.
void CancelJob(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
  auto who = Authenticate(*context.store, req, {TokenKind::kAdmin, TokenKind::kUser});
  if (!who.ok()) return SendError(res, who.error());
  auto job = VisibleJob(context, req, *who);
  if (!job.ok()) return SendError(res, job.error());
  for (const auto& task : context.store->ListJobTasks(job->id)) {
    if (!IsFinalState(task.state)) (void)context.store->CancelTask(task.id);  // 409 = finished meanwhile
  }
  SendJson(res, 200, JobJson(*context.store->GetJob(job->id)));
}

// Users see their own tasks; the admin sees all.
bool CanSee(const TokenRow& who, const TaskRow& task) {
  return who.kind == TokenKind::kAdmin || task.owner == who.subject;
}

// GET /v1/tasks?limit=&after=&state=&job=: newest first, a page of at most `limit` tasks with ids
// below `after`; "next" is the `after` of the following page (null on the last).
void ListTasks(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
  auto who = Authenticate(*context.store, req, {TokenKind::kAdmin, TokenKind::kUser});
  if (!who.ok()) return SendError(res, who.error());
  TaskQuery query;
  auto limit = PageLimit(req);
  if (!limit.ok()) return SendError(res, limit.error());
  auto after = QueryInteger(req, "after", 1, std::numeric_limits<int64_t>::max());
  if (!after.ok()) return SendError(res, after.error());
  auto job = QueryInteger(req, "job", 1, std::numeric_limits<int64_t>::max());
  if (!job.ok()) return SendError(res, job.error());
  query.state = req.has_param("state") ? req.get_param_value("state") : "";
  if (!query.state.empty() && !IsTaskState(query.state)) {
    return SendError(res, {400, "query parameter 'state' must be one of " + Join(TaskStates(), ", ")});
  }
  query.limit = *limit + 1;  // one more: is there a next page?
  query.before_id = *after;
  query.job_id = *job;
  if (who->kind != TokenKind::kAdmin) query.owner = who->subject;
  context.store->ExpireLeases(context.options.max_attempts);
  auto rows = context.store->ListTasks(query);
  json next = nullptr;
  if (static_cast<int>(rows.size()) > *limit) {
    rows.resize(*limit);
    next = rows.back().id;
  }
  json tasks = json::array();
  for (const auto& task : rows) tasks.push_back(TaskJson(task));
  SendJson(res, 200, {{"tasks", tasks}, {"next", next}});
}

void GetTask(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
  Store& store = *context.store;
  auto who = Authenticate(store, req, {TokenKind::kAdmin, TokenKind::kUser});
  if (!who.ok()) return SendError(res, who.error());
  auto id = PathId(req, "task");
  if (!id.ok()) return SendError(res, id.error());
  store.ExpireLeases(context.options.max_attempts);
  auto task = store.GetTask(*id);
  if (!task || !CanSee(*who, *task)) return SendError(res, {404, "task " + std::to_string(*id) + " not found"});
  json body = TaskJson(*task);
  // A model the server converted for the task's runtime: where from, and the converter's report.
  auto conversion = store.FindConversionTo(task->model_sha256);
  body["conversion"] = conversion ? json{{"source_model_sha256", conversion->source_sha256},
                                         {"target", conversion->target},
                                         {"precision", conversion->precision},
                                         {"converter_version", conversion->converter_version},
                                         {"report", conversion->report}}
                                  : json(nullptr);
  auto result = store.GetResult(*id);
  body["result"] = result ? *result : json(nullptr);
  SendJson(res, 200, body);
}

// Every result document of the task: the runs repeated because they came back INVALID, then
// the task's result.
void ListTaskResults(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
  Store& store = *context.store;
  auto who = Authenticate(store, req, {TokenKind::kAdmin, TokenKind::kUser});
  if (!who.ok()) return SendError(res, who.error());
  auto id = PathId(req, "task");
  if (!id.ok()) return SendError(res, id.error());
  auto task = store.GetTask(*id);
  if (!task || !CanSee(*who, *task)) return SendError(res, {404, "task " + std::to_string(*id) + " not found"});
  json results = json::array();
  for (const ResultAttempt& attempt : store.ResultAttempts(*id)) {
    results.push_back({{"attempt", attempt.attempt},
                       {"agent", NullIfEmpty(attempt.agent_name)},
                       {"uploaded_at", attempt.uploaded_at},
                       {"valid", attempt.document.value("validity", json::object()).value("valid", false)},
                       {"is_result", attempt.is_result},
                       {"document", attempt.document}});
  }
  SendJson(res, 200, {{"task", TaskJson(*task)}, {"results", results}});
}

void CancelTask(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
  auto who = Authenticate(*context.store, req, {TokenKind::kAdmin, TokenKind::kUser});
  if (!who.ok()) return SendError(res, who.error());
  auto id = PathId(req, "task");
  if (!id.ok()) return SendError(res, id.error());
  if (auto existing = context.store->GetTask(*id); existing && !CanSee(*who, *existing)) {
    return SendError(res, {404, "task " + std::to_string(*id) + " not found"});
  }
  auto task = context.store->CancelTask(*id);
  if (!task.ok()) return SendError(res, task.error());
  SendJson(res, 200, TaskJson(*task));
}

}  // namespace

void AddTaskRoutes(httplib::Server& http, ServerContext& context) {
  http.Post("/v1/tasks", Gated(context, CreateTask));
  http.Get("/v1/tasks", Gated(context, ListTasks));
  http.Get(R"(/v1/tasks/(\d+))", Gated(context, GetTask));
  http.Get(R"(/v1/tasks/(\d+)/results)", Gated(context, ListTaskResults));
  http.Post(R"(/v1/tasks/(\d+)/cancel)", Gated(context, CancelTask));
  http.Post("/v1/jobs", Gated(context, CreateJob));
  http.Get("/v1/jobs", Gated(context, ListJobs));
  http.Get(R"(/v1/jobs/(\d+))", Gated(context, GetJob));
  http.Post(R"(/v1/jobs/(\d+)/cancel)", Gated(context, CancelJob));
}

}  // namespace edgebench::server
