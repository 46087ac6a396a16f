#include "health.h"

#include <algorithm>
#include <cstdio>

#include "scheduler.h"

namespace edgebench::server {

using json = nlohmann::json;

std::string DeviceState(const AgentRow& agent, bool online) {
  if (!online) return "offline";
  if (agent.maintenance) return "maintenance";
  if (agent.health == "bad") return "bad";
  return agent.busy ? "busy" : "idle";
}

json DeviceJson(const AgentRow& agent, bool online) {
  return {{"name", agent.name},
          {"facts", agent.facts},
          {"labels", agent.labels},
          {"registered_at", agent.registered_at},
          {"last_seen_at", agent.last_seen_at},
          {"online", online},
          {"state", DeviceState(agent, online)},
          {"health", agent.health},
          {"health_reason", agent.health_reason.empty() ? json(nullptr) : json(agent.health_reason)},
          {"maintenance", agent.maintenance}};
}

json HealthCheckJson(const HealthCheckRow& check) {
  return {{"task_id", check.task_id},           {"runtime", check.runtime},
          {"created_at", check.created_at},     {"finished_at", check.finished_at.empty() ? json(nullptr) : json(check.finished_at)},
          {"verdict", check.verdict},           {"detail", check.detail}};
}

namespace {

std::string Ms(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g ms", value);
  return text;
}

}  // namespace

HealthVerdict JudgeHealthCheck(const TaskRow& task, const json& document, const std::vector<HealthCheckRow>& history) {
  HealthVerdict verdict;
  json& detail = verdict.detail;
  detail = {{"reason", nullptr}, {"p50_ms", nullptr}, {"baseline_p50_ms", nullptr}, {"verification_passed", nullptr}};
  if (task.state != "succeeded") {
    detail["reason"] = "the run " + task.state + (task.error.empty() ? "" : ": " + task.error);
    return verdict;
  }
  const json verification = document.value("verification", json());
  if (verification.is_object()) {
    detail["verification_passed"] = verification.value("passed", false);
    if (!verification.value("passed", false)) {
      detail["reason"] = "outputs disagree with " + verification.value("reference_runtime", std::string("the reference"));
      return verdict;
    }
  }
  const json latency = document.value("latency_ms", json::object());
  if (!latency.contains("p50") || !latency["p50"].is_number()) {
    detail["reason"] = "the result has no median latency";
    return verdict;
  }
  const double p50 = latency["p50"].get<double>();
  detail["p50_ms"] = p50;
  std::vector<double> before;
  for (const HealthCheckRow& check : history) {
    if (check.detail.contains("p50_ms") && check.detail["p50_ms"].is_number()) {
      before.push_back(check.detail["p50_ms"].get<double>());
    }
    if (static_cast<int>(before.size()) == kHealthBaselineChecks) break;
  }
  if (!before.empty()) {
    std::sort(before.begin(), before.end());
    const double baseline = before[before.size() / 2];
    detail["baseline_p50_ms"] = baseline;
    if (p50 > kHealthSlowdownFactor * baseline) {
      char factor[16];
      std::snprintf(factor, sizeof factor, "%g", kHealthSlowdownFactor);
      detail["reason"] = "median " + Ms(p50) + " is over " + factor + " times the device's usual " + Ms(baseline);
      return verdict;
    }
  }
  verdict.passed = true;
  return verdict;
}

std::vector<NewTask> HealthCheckTasks(const AgentRow& agent, const ModelRow& model) {
  std::vector<NewTask> tasks;
  for (const auto& runtime : agent.facts.value("runtimes", json::array())) {
    // Runtimes that report their formats and cannot read the model's are not checked.
    const auto formats = RuntimeFormats(agent, runtime.value("name", ""));
    if (formats && !formats->empty() && std::find(formats->begin(), formats->end(), model.format) == formats->end()) {
      continue;
    }
    NewTask task;
    task.model_sha256 = model.sha256;
    task.runtime = runtime.value("name", "");
    task.device = agent.name;
    task.owner = kHealthCheckOwner;
    task.settings = {{"min_runs", 20}};
    tasks.push_back(std::move(task));
  }
  return tasks;
}

}  // namespace edgebench::server
