// Device health: admin maintenance and reset (POST /v1/devices/{name}/maintenance, /reset), the
// health-check history (GET /v1/devices/{name}/health), the verdict on an uploaded health check
// and the periodic scheduling of checks (health.h).
#include <algorithm>

#include "handlers.h"
#include "health.h"
#include "http.h"

namespace edgebench::server {
namespace {

using json = nlohmann::json;

bool Online(const ServerContext& context, const AgentRow& agent) {
  return NowMs() - agent.last_seen_ms < DeviceOnlineMs(context);
}

void SetMaintenance(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
  auto who = Authenticate(*context.store, req, {TokenKind::kAdmin});
  if (!who.ok()) return SendError(res, who.error());
  auto body = ParseObject(req, context.options.max_request_bytes, {"maintenance"});
  if (!body.ok()) return SendError(res, body.error());
  if (!body->contains("maintenance") || !(*body)["maintenance"].is_boolean()) {
    return SendError(res, {400, "field 'maintenance' must be true or false"});
  }
  auto agent = context.store->SetMaintenance(req.matches[1], (*body)["maintenance"].get<bool>());
  if (!agent) return SendError(res, {404, "device '" + std::string(req.matches[1]) + "' not found"});
  if (!agent->maintenance) context.waiters.Notify();  // back in scheduling
  SendJson(res, 200, DeviceJson(*agent, Online(context, *agent)));
}

void ResetHealth(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
  auto who = Authenticate(*context.store, req, {TokenKind::kAdmin});
  if (!who.ok()) return SendError(res, who.error());
  auto agent = context.store->ResetHealth(req.matches[1]);
  if (!agent) return SendError(res, {404, "device '" + std::string(req.matches[1]) + "' not found"});
  context.waiters.Notify();  // back in scheduling: its waiting lease may find a task now
  SendJson(res, 200, DeviceJson(*agent, Online(context, *agent)));
}

void HealthHistory(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
  auto who = Authenticate(*context.store, req, {TokenKind::kAdmin, TokenKind::kUser});
  if (!who.ok()) return SendError(res, who.error());
  auto agent = context.store->FindAgent(req.matches[1]);
  if (!agent) return SendError(res, {404, "device '" + std::string(req.matches[1]) + "' not found"});
  json checks = json::array();
  for (const auto& check : context.store->HealthChecks(agent->name, "", 100)) checks.push_back(HealthCheckJson(check));
  SendJson(res, 200, {{"device", DeviceJson(*agent, Online(context, *agent))}, {"checks", checks}});
}

}  // namespace

int64_t DeviceOnlineMs(const ServerContext& context) {
  return std::max<int64_t>(60, 3 * context.options.max_long_poll_seconds) * 1000;
}

void JudgeIfHealthCheck(ServerContext& context, const TaskRow& task, const json& document) {
  if (!IsFinalState(task.state) || task.owner != kHealthCheckOwner) return;
  auto check = context.store->FindHealthCheck(task.id);
  if (!check || check->verdict != "pending") return;
  const auto history = context.store->HealthChecks(check->device, check->runtime, kHealthBaselineChecks);
  const HealthVerdict verdict = JudgeHealthCheck(task, document, history);
  context.store->FinishHealthCheck(task.id, verdict.passed, verdict.detail);
}

void ScheduleHealthChecks(ServerContext& context) {
  const ServerOptions& options = context.options;
  if (options.health_model.empty() || options.health_check_minutes <= 0) return;
  auto model = context.store->FindModel(options.health_model);
  if (!model) return;  // not uploaded yet
  const int64_t now = NowMs();
  const int created = context.store->ScheduleHealthChecks(
      now - DeviceOnlineMs(context), now - static_cast<int64_t>(options.health_check_minutes) * 60000,
      [&](const AgentRow& agent) { return HealthCheckTasks(agent, *model); });
  if (created > 0) context.waiters.Notify();
}

std::vector<Route> HealthRoutes() {
  return {{"POST", "/v1/devices/{name}/maintenance", SetMaintenance},
          {"POST", "/v1/devices/{name}/reset", ResetHealth},
          {"GET", "/v1/devices/{name}/health", HealthHistory}};
}

}  // namespace edgebench::server
