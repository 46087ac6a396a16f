// Agents: registration (POST /v1/agents), the device list (GET /v1/devices), and what agents do
// with tasks: lease (long poll), heartbeat, result upload.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <limits>
#include <regex>

#include "edgebench/convert.h"
#include "edgebench/result_json.h"
#include "handlers.h"
#include "health.h"
#include "http.h"
#include "tokens.h"
#include "validation.h"

namespace edgebench::server {
namespace {

using json = nlohmann::json;

// facts.runtimes: [{name, version, formats: [format...]}] (formats optional).
std::optional<ApiError> CheckRuntimes(const json& facts) {
  if (!facts.contains("runtimes")) return std::nullopt;
  if (!facts["runtimes"].is_array()) return WrongType("facts.runtimes", "an array");
  for (const auto& runtime : facts["runtimes"]) {
    if (!runtime.is_object() || !runtime.contains("name") || !runtime["name"].is_string()) {
      return WrongType("facts.runtimes[]", "an object with a string 'name'");
    }
    if (!ValidName(runtime["name"].get<std::string>())) {
      return BadName("facts.runtimes[].name", runtime["name"].get<std::string>());
    }
    if (!runtime.contains("formats")) continue;
    if (!runtime["formats"].is_array()) return WrongType("facts.runtimes[].formats", "an array of strings");
    for (const auto& format : runtime["formats"]) {
      if (!format.is_string()) return WrongType("facts.runtimes[].formats[]", "a string");
      if (!ValidName(format.get<std::string>())) return BadName("facts.runtimes[].formats[]", format.get<std::string>());
    }
  }
  return std::nullopt;
}

void RegisterAgent(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
  // A new name takes the registration token; an existing one its agent's current token or the
  // admin's (Store::RegisterAgent), so that no one holding the shared token can take a device over.
  auto who = Authenticate(*context.store, req, {TokenKind::kRegistration, TokenKind::kAdmin, TokenKind::kAgent});
  if (!who.ok()) return SendError(res, who.error());
  auto parsed = ParseObject(req, context.options.max_request_bytes, {"name", "facts", "labels"});
  if (!parsed.ok()) return SendError(res, parsed.error());
  const json& body = *parsed;
  if (!body.contains("name") || !body["name"].is_string()) return SendError(res, WrongType("name", "a string"));
  const std::string name = body["name"].get<std::string>();
  if (!ValidName(name)) return SendError(res, BadName("name", name));
  if (!body.contains("facts") || !body["facts"].is_object()) return SendError(res, WrongType("facts", "an object"));
  const json& facts = body["facts"];
  if (auto error = CheckRuntimes(facts)) return SendError(res, *error);
  json labels = json::object();
  if (body.contains("labels") && !body["labels"].is_null()) {
    if (auto error = CheckLabels(body["labels"], "labels")) return SendError(res, *error);
    labels = body["labels"];
  }
  if (who->kind == TokenKind::kAgent && who->subject != name) {
    return SendError(res, {403, "this token belongs to agent '" + who->subject + "', not '" + name + "'"});
  }
  const std::string secret = NewSecret();
  const auto id = context.store->RegisterAgent(name, facts, labels, Sha256Hex(secret), who->kind != TokenKind::kRegistration);
  if (!id.ok()) return SendError(res, id.error());
  SendJson(res, 201, {{"agent_id", *id}, {"name", name}, {"token", secret},
                      {"lease_seconds", context.options.lease_seconds}});
}

// GET /v1/devices?limit=&after=: by name, a page of at most `limit` devices named after `after`;
// "next" is the `after` of the following page (null on the last).
void ListDevices(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
  auto who = Authenticate(*context.store, req, {TokenKind::kAdmin, TokenKind::kUser});
  if (!who.ok()) return SendError(res, who.error());
  auto limit = PageLimit(req);
  if (!limit.ok()) return SendError(res, limit.error());
  const std::string after = req.has_param("after") ? req.get_param_value("after") : "";
  auto agents = context.store->ListAgents(after, *limit + 1);
  json next = nullptr;
  if (static_cast<int>(agents.size()) > *limit) {
    agents.resize(*limit);
    next = agents.back().name;
  }
  const int64_t online_ms = DeviceOnlineMs(context);
  const int64_t now = NowMs();
  json devices = json::array();
  for (const auto& agent : agents) devices.push_back(DeviceJson(agent, now - agent.last_seen_ms < online_ms));
  SendJson(res, 200, {{"devices", devices}, {"next", next}});
}

int MaxLongPolls(const ServerContext& context) {
  return std::max(1, context.options.http_threads - kReservedHttpThreads);
}

// A place among the waiting lease requests, taken when `wanted` and one is free.
class LongPollSlot {
 public:
  LongPollSlot(ServerContext& context, bool wanted) : context_(context) {
    if (wanted && context_.long_polls.fetch_add(1) < MaxLongPolls(context_)) {
      held_ = true;
    } else if (wanted) {
      context_.long_polls.fetch_sub(1);
    }
  }
  ~LongPollSlot() {
    if (held_) context_.long_polls.fetch_sub(1);
  }
  LongPollSlot(const LongPollSlot&) = delete;
  LongPollSlot& operator=(const LongPollSlot&) = delete;
  bool held() const { return held_; }

 private:
  ServerContext& context_;
  bool held_ = false;
};

void Lease(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
  auto agent = AuthenticateAgent(*context.store, req, req.matches[1]);
  if (!agent.ok()) return SendError(res, agent.error());
  auto wait = QueryInteger(req, "wait_s", 0, std::numeric_limits<int>::max());
  if (!wait.ok()) return SendError(res, wait.error());
  int wait_s = static_cast<int>(wait->value_or(0));
  wait_s = std::min(wait_s, context.options.max_long_poll_seconds);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_s);
  // Each waiting request holds a server thread: past the cap, answer at once (503) so that
  // heartbeats and results always find a free thread.
  LongPollSlot slot(context, wait_s > 0);
  if (wait_s > 0 && !slot.held()) {
    res.set_header("Retry-After", "2");
    return SendError(res, {503, "too many agents are waiting for tasks (" + std::to_string(MaxLongPolls(context)) +
                                    "; raise --http-threads); retry later"});
  }
  // Expired leases are re-queued by the expiry thread (every 500 ms), which then wakes us.
  auto task = context.waiters.Lease(*agent, deadline,
                                    [&] { return context.store->LeaseTask(*agent, context.LeaseMs()); });
  if (!task) {
    res.status = 204;
    return;
  }
  auto model = context.store->FindModel(task->model_sha256);
  json body = TaskJson(*task);
  body["model"] = ModelJson(*model);
  if (!task->compare.is_null()) {
    body["compare_models"] = json::array();
    for (const auto& sha : task->compare["models"]) body["compare_models"].push_back(ModelJson(*context.store->FindModel(sha)));
  }
  body["lease_seconds"] = context.options.lease_seconds;
  auto image = context.images->Find(task->runtime, agent->facts.value("arch", ""));
  body["image"] = image ? json(*image) : json(nullptr);
  SendJson(res, 200, {{"task", body}});
}

void Heartbeat(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
  auto agent = AuthenticateAgent(*context.store, req);
  if (!agent.ok()) return SendError(res, agent.error());
  auto id = PathId(req, "task");
  if (!id.ok()) return SendError(res, id.error());
  auto task = context.store->Heartbeat(*id, agent->id, context.LeaseMs());
  if (!task.ok()) return SendError(res, task.error());
  SendJson(res, 200, TaskJson(*task));
}

// What an upload stores: the document as recorded, the task's final state and its error, and
// whether its verdict is INVALID (a completed run the task's repeat_invalid may run again).
struct CheckedUpload {
  json record;
  std::string state;
  std::string error;
  bool invalid = false;
};

std::string FinalState(const std::optional<RunFailure>& failure) {
  if (!failure) return "succeeded";
  return failure->stage == "timeout" ? "timed_out" : "failed";
}

std::string FailureText(const std::optional<RunFailure>& failure) {
  return failure ? failure->stage + ": " + failure->error.message : "";
}

// A document the reader refused: its message, unless that carries the JSON library's text (a
// nested field of the wrong type, past CheckResultValues), which goes to the server's log.
ApiError RefusedDocument(const std::string& message) {
  const auto at = message.find("[json.exception.");
  if (at == std::string::npos) return ApiError{400, message};
  std::cerr << "edgebench server: result document refused: " << message << std::endl;
  static const std::regex kMissing("key '([^']{1,64})' not found");
  std::smatch missing;
  if (std::regex_search(message, missing, kMissing)) {
    return ApiError{400, message.substr(0, at) + "missing field '" + missing[1].str() + "' (docs/result-schema.md)"};
  }
  return ApiError{400, message.substr(0, at) + "a field is of the wrong type (docs/result-schema.md)"};
}

// A bench's result document (edgebench.result/1), for a bench task or any task's failure;
// recorded with the device (the agent's name).
ApiResult<CheckedUpload> CheckResultDocument(Store& store, const json& document, const TaskRow& task,
                                             const AgentRow& agent) {
  auto parsed = BenchResultFromJson(document);
  if (!parsed.ok()) return RefusedDocument(parsed.error().message);
  if (!parsed->model.sha256.empty() && parsed->model.sha256 != task.model_sha256) {
    return ApiError{400, "result is for model " + parsed->model.sha256 + ", task " + std::to_string(task.id) +
                             " is for " + task.model_sha256};
  }
  // The result names its device as the service knows it (the agent), and a converted model
  // records where it came from and the accuracy cost.
  json record = document;
  record["device"] = agent.name;
  if (auto conversion = store.FindConversionTo(task.model_sha256)) {
    ConversionInfo info{"", conversion->source_sha256, conversion->target, conversion->precision,
                        conversion->converter_version, std::nullopt};
    if (auto source = store.FindModel(conversion->source_sha256)) info.source_model = source->name;
    if (conversion->report.contains("accuracy")) info.accuracy = AccuracyCostFromJson(conversion->report["accuracy"]);
    record["conversion"] = ToJson(info);
  }
  return CheckedUpload{std::move(record), FinalState(parsed->failure), FailureText(parsed->failure),
                       !parsed->failure && !parsed->validity.valid};
}

// A comparison document (edgebench.comparison/1), for a comparison task only; recorded with the
// device (the agent's name), its variants' results too.
ApiResult<CheckedUpload> CheckComparisonDocument(const json& document, const TaskRow& task, const AgentRow& agent) {
  if (task.compare.is_null()) {
    return ApiError{400, "task " + std::to_string(task.id) + " is a bench task, not a comparison"};
  }
  auto parsed = ComparisonFromJson(document);
  if (!parsed.ok()) return RefusedDocument(parsed.error().message);
  std::vector<std::string> models = {task.model_sha256};
  for (const auto& sha : task.compare["models"]) models.push_back(sha.get<std::string>());
  for (const auto& variant : parsed->variants) {
    const std::string& sha = variant.result.model.sha256;
    if (!sha.empty() && std::find(models.begin(), models.end(), sha) == models.end()) {
      return ApiError{400, "comparison variant '" + variant.label + "' ran model " + sha + ", which task " +
                               std::to_string(task.id) + " does not compare"};
    }
  }
  json record = document;
  record["device"] = agent.name;
  for (auto& variant : record["variants"]) variant["result"]["device"] = agent.name;
  return CheckedUpload{std::move(record), FinalState(parsed->failure), FailureText(parsed->failure),
                       !parsed->failure && !parsed->validity.valid};
}

void UploadResult(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
  Store& store = *context.store;
  auto agent = AuthenticateAgent(store, req);
  if (!agent.ok()) return SendError(res, agent.error());
  auto id = PathId(req, "task");
  if (!id.ok()) return SendError(res, id.error());
  auto document = ParseObject(req, context.options.max_result_bytes, {}, "result document", kResultJsonLimits);
  if (!document.ok()) return SendError(res, document.error());
  auto task = store.GetTask(*id);
  if (!task) return SendError(res, {404, "task " + std::to_string(*id) + " not found"});
  if (auto error = CheckResultValues(*document)) return SendError(res, *error);
  auto checked = (*document).value("schema", "") == kComparisonSchema ? CheckComparisonDocument(*document, *task, *agent)
                                                                   : CheckResultDocument(store, *document, *task, *agent);
  if (!checked.ok()) return SendError(res, checked.error());
  const auto& [record, state, error, invalid] = *checked;
  auto stored = store.StoreResult(*id, agent->id, record, invalid, state, error);
  if (!stored.ok()) return SendError(res, stored.error());
  const TaskRow& after = stored->task;
  if (after.state == "queued") context.Dispatch({after});  // INVALID and repeated: any agent may run it
  JudgeIfHealthCheck(context, after, stored->document);
  json body = TaskJson(after);
  body["result"] = stored->document;
  body["stored"] = stored->stored;
  SendJson(res, stored->stored ? 201 : 200, body);
}

}  // namespace

std::vector<Route> AgentRoutes() {
  return {{"POST", "/v1/agents", RegisterAgent},
          {"GET", "/v1/devices", ListDevices},
          {"POST", "/v1/agents/{name}/lease", Lease, nullptr, /*work_queue=*/false},
          {"POST", "/v1/tasks/{id}/heartbeat", Heartbeat},
          {"POST", "/v1/tasks/{id}/result", UploadResult}};
}

}  // namespace edgebench::server
