// Device health, after LAVA: a device is idle, busy, in maintenance (an admin took it out), bad
// (a health check failed; out of scheduling until an admin resets it) or offline (not seen).
// The server gives every good device a health check now and then: a known model (the server's
// --health-model) on each of its runtimes, judged by JudgeHealthCheck.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store.h"

namespace edgebench::server {

// A check fails when its median latency exceeds this factor times the median of the device's
// last kHealthBaselineChecks passed checks on the same runtime.
inline constexpr double kHealthSlowdownFactor = 2.0;
inline constexpr int kHealthBaselineChecks = 5;

// idle, busy, maintenance, bad or offline (the first that applies of offline, maintenance, bad,
// busy).
std::string DeviceState(const AgentRow& agent, bool online);

// The device as GET /v1/devices lists it.
nlohmann::json DeviceJson(const AgentRow& agent, bool online);
nlohmann::json HealthCheckJson(const HealthCheckRow& check);

struct HealthVerdict {
  bool passed = false;
  nlohmann::json detail;  // {reason, p50_ms, baseline_p50_ms, verification_passed}
};

// The verdict on a finished health-check task: failed when the run failed, when its outputs
// disagreed with the reference (a `verification` that did not pass), or when its median latency
// is over kHealthSlowdownFactor times that of `history` (the device's earlier passed checks on
// the runtime, newest first).
HealthVerdict JudgeHealthCheck(const TaskRow& task, const nlohmann::json& document,
                               const std::vector<HealthCheckRow>& history);

// The owner of every health-check task (TaskRow::owner); a user may have that name too, so a
// task of this owner is not necessarily a health check.
inline constexpr const char* kHealthCheckOwner = "health-check";

// The health-check tasks of `agent`: `model` on each runtime it offers that reads its format.
std::vector<NewTask> HealthCheckTasks(const AgentRow& agent, const ModelRow& model);

}  // namespace edgebench::server
