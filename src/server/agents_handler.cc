// Agents: registration (POST /v1/agents), the device list (GET /v1/devices), and what agents do
// with tasks: lease (long poll), heartbeat, result upload.
#include <algorithm>
#include <chrono>

#include "edgebench/convert.h"
#include "edgebench/result_json.h"
#include "handlers.h"
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
  auto who = Authenticate(*context.store, req, {TokenKind::kRegistration, TokenKind::kAdmin});
  if (!who.ok()) return SendError(res, who.error());
  auto parsed = ParseObject(req, context.options.max_request_bytes);
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
  const std::string secret = NewSecret();
  const int64_t id = context.store->RegisterAgent(name, facts, labels, Sha256Hex(secret));
  SendJson(res, 201, {{"agent_id", id}, {"name", name}, {"token", secret},
                      {"lease_seconds", context.options.lease_seconds}});
}

void ListDevices(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
  auto who = Authenticate(*context.store, req, {TokenKind::kAdmin, TokenKind::kUser});
  if (!who.ok()) return SendError(res, who.error());
  const int64_t online_ms = std::max<int64_t>(60, 3 * context.options.max_long_poll_seconds) * 1000;
  const int64_t now = NowMs();
  json devices = json::array();
  for (const auto& agent : context.store->ListAgents()) {
    devices.push_back({{"name", agent.name},
                       {"facts", agent.facts},
                       {"labels", agent.labels},
                       {"registered_at", agent.registered_at},
                       {"last_seen_at", agent.last_seen_at},
                       {"online", now - agent.last_seen_ms < online_ms}});
  }
  SendJson(res, 200, {{"devices", devices}});
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
  int wait_s = 0;
  if (req.has_param("wait_s")) {
    const std::string text = req.get_param_value("wait_s");
    std::size_t used = 0;
    try {
      wait_s = std::stoi(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size() || wait_s < 0) {
      return SendError(res, {400, "query parameter 'wait_s' must be a non-negative integer"});
    }
  }
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

void UploadResult(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
  Store& store = *context.store;
  auto agent = AuthenticateAgent(store, req);
  if (!agent.ok()) return SendError(res, agent.error());
  auto id = PathId(req, "task");
  if (!id.ok()) return SendError(res, id.error());
  auto document = ParseObject(req, context.options.max_result_bytes);
  if (!document.ok()) return SendError(res, document.error());
  auto parsed = BenchResultFromJson(*document);
  if (!parsed.ok()) return SendError(res, {400, parsed.error().message});
  auto task = store.GetTask(*id);
  if (!task) return SendError(res, {404, "task " + std::to_string(*id) + " not found"});
  if (!parsed->model.sha256.empty() && parsed->model.sha256 != task->model_sha256) {
    return SendError(res, {400, "result is for model " + parsed->model.sha256 + ", task " + std::to_string(*id) +
                                    " is for " + task->model_sha256});
  }
  // The result names its device as the service knows it (the agent), and a converted model
  // records where it came from and the accuracy cost.
  json record = *document;
  record["device"] = agent->name;
  if (auto conversion = store.FindConversionTo(task->model_sha256)) {
    ConversionInfo info{"", conversion->source_sha256, conversion->target, conversion->precision,
                        conversion->converter_version, std::nullopt};
    if (auto source = store.FindModel(conversion->source_sha256)) info.source_model = source->name;
    if (conversion->report.contains("accuracy")) info.accuracy = AccuracyCostFromJson(conversion->report["accuracy"]);
    record["conversion"] = ToJson(info);
  }
  std::string state = "succeeded", error;
  if (parsed->failure) {
    state = parsed->failure->stage == "timeout" ? "timed_out" : "failed";
    error = parsed->failure->stage + ": " + parsed->failure->error.message;
  }
  auto stored = store.StoreResult(*id, agent->id, record, state, error);
  if (!stored.ok()) return SendError(res, stored.error());
  json body = TaskJson(*store.GetTask(*id));
  body["result"] = stored->first;
  body["stored"] = stored->second;
  SendJson(res, stored->second ? 201 : 200, body);
}

}  // namespace

void AddAgentRoutes(httplib::Server& http, ServerContext& context) {
  using R = const httplib::Request&;
  using W = httplib::Response&;
  http.Post("/v1/agents", [&context](R req, W res) { RegisterAgent(context, req, res); });
  http.Get("/v1/devices", [&context](R req, W res) { ListDevices(context, req, res); });
  http.Post(R"(/v1/agents/([^/]+)/lease)", [&context](R req, W res) { Lease(context, req, res); });
  http.Post(R"(/v1/tasks/(\d+)/heartbeat)", [&context](R req, W res) { Heartbeat(context, req, res); });
  http.Post(R"(/v1/tasks/(\d+)/result)", [&context](R req, W res) { UploadResult(context, req, res); });
}

}  // namespace edgebench::server
