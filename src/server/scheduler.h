// Which agent may run which task: the one rule ("runnable") used to validate new tasks, to lease
// queued tasks and to wake waiting lease requests, and the conversion a task needs so that the
// agents able to run it can read its model. Also the list of long-polling lease requests.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store.h"

namespace edgebench::server {

// Where a task may run.
struct Placement {
  std::string runtime;
  std::string device;                                 // "" = any agent matching the selector
  nlohmann::json selector = nlohmann::json::object();  // {label: value}
  std::string model_format;                           // the model's format; "" = not checked
};

Placement PlacementOf(const TaskRow& task);
Placement PlacementOf(const NewTask& task);  // model_format ""

// The model formats `agent` reports for `runtime` (facts.runtimes[].formats): nullopt when it
// does not offer the runtime, empty when it offers it without reporting formats (such an agent
// is given models as submitted and converts nothing).
std::optional<std::vector<std::string>> RuntimeFormats(const AgentRow& agent, const std::string& runtime);

// The runnable rule: the agent offers the runtime, reads the model's format (when both are
// known), and is the named device or matches the selector.
bool CanRun(const AgentRow& agent, const Placement& task);

// Whether a registered agent could run `task` (its model format aside); the 422 answer says
// which part is unknown.
std::optional<ApiError> CheckRunnable(const std::vector<AgentRow>& agents, const Placement& task);

// A conversion of a task's model: target format ("tflite", "onnx") and precision.
struct ConversionNeed {
  std::string target;
  std::string precision;
};

// The conversion a task at `precision` ("fp32", "fp16", "int8") needs on the agents that can run
// `where`, from the formats they report: none when one of them reads `model_format` at fp32;
// the model's TFLite conversion when they read TFLite but not ONNX; its ONNX precision variant
// when they read ONNX. 422 when no such agent reads the model and no conversion serves them,
// and for a precision other than fp32 that no conversion gives.
ApiResult<std::optional<ConversionNeed>> PlanConversion(const std::vector<AgentRow>& agents, const Placement& where,
                                                        const std::string& model_format,
                                                        const std::string& precision);

// Lease requests waiting for a task (long polls). For each new task, the longest-waiting
// request whose agent can run it is woken, so one task costs one lease attempt, not one per
// waiting agent. Thread-safe.
class LeaseWaiters {
 public:
  // Wakes one fitting waiter per task; with no tasks (leases expired and re-queued, shutdown),
  // wakes every waiter.
  void Notify(const std::vector<Placement>& tasks = {});
  // Calls `try_lease` and, while it finds nothing, waits for a wake-up until `deadline`. The
  // request is listed before each attempt, so a task created meanwhile cannot be missed; one
  // woken for a task but taking another passes the wake-up on. nullopt at the deadline or at
  // Stop().
  std::optional<TaskRow> Lease(const AgentRow& agent, std::chrono::steady_clock::time_point deadline,
                               const std::function<std::optional<TaskRow>()>& try_lease);
  // Ends every wait now and later ones at once.
  void Stop();
  bool stopping();
  // Sleeps for `period` or until Stop().
  void SleepUnlessStopped(std::chrono::milliseconds period);

 private:
  struct Waiter {
    explicit Waiter(const AgentRow& waiting) : agent(waiting) {}
    const AgentRow& agent;
    std::condition_variable cv;
    bool woken = false;
    std::optional<Placement> woken_for;  // the new task it was woken for, if any
  };
  std::mutex mutex_;
  std::list<Waiter*> waiters_;  // longest waiting first
  std::condition_variable stop_cv_;
  bool stopping_ = false;
};

}  // namespace edgebench::server
