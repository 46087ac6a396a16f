#include "scheduler.h"

#include <algorithm>

#include "edgebench/text.h"

namespace edgebench::server {
namespace {

using json = nlohmann::json;

bool MatchesSelector(const AgentRow& agent, const json& selector) {
  for (const auto& [key, value] : selector.items()) {
    const auto label = agent.labels.find(key);
    if (label == agent.labels.end() || *label != value) return false;
  }
  return true;
}

// The agent's facts.runtimes[] entry named `runtime`; nullptr when it does not offer it. Read in
// place: the scheduler asks this of every agent for each new task.
const json* RuntimeFacts(const AgentRow& agent, const std::string& runtime) {
  const auto runtimes = agent.facts.find("runtimes");
  if (runtimes == agent.facts.end() || !runtimes->is_array()) return nullptr;
  for (const auto& item : *runtimes) {
    if (!item.is_object()) continue;
    const auto name = item.find("name");
    if (name != item.end() && name->is_string() && name->get_ref<const std::string&>() == runtime) return &item;
  }
  return nullptr;
}

bool Reads(const std::vector<std::string>& formats, const std::string& format) {
  return std::find(formats.begin(), formats.end(), format) != formats.end();
}

}  // namespace

Placement PlacementOf(const TaskRow& task) { return {task.runtime, task.device, task.selector, task.model_format}; }

Placement PlacementOf(const NewTask& task) { return {task.runtime, task.device, task.selector, ""}; }

std::optional<std::vector<std::string>> RuntimeFormats(const AgentRow& agent, const std::string& runtime) {
  const json* item = RuntimeFacts(agent, runtime);
  if (!item) return std::nullopt;
  std::vector<std::string> formats;
  if (const auto listed = item->find("formats"); listed != item->end() && listed->is_array()) {
    for (const auto& format : *listed) {
      if (format.is_string()) formats.push_back(format.get<std::string>());
    }
  }
  return formats;
}

bool CanRun(const AgentRow& agent, const Placement& task) {
  if (!task.device.empty() && agent.name != task.device) return false;
  const json* item = RuntimeFacts(agent, task.runtime);
  if (!item) return false;
  if (!task.model_format.empty()) {
    // No formats reported: the agent is given models as submitted.
    const auto formats = item->find("formats");
    if (formats != item->end() && formats->is_array() && !formats->empty() &&
        std::find(formats->begin(), formats->end(), json(task.model_format)) == formats->end()) {
      return false;
    }
  }
  return task.device.empty() ? MatchesSelector(agent, task.selector) : true;
}

std::optional<ApiError> CheckRunnable(const std::vector<AgentRow>& agents, const Placement& task) {
  Placement any_format = task;
  any_format.model_format.clear();
  bool runtime_known = false, device_known = false, runnable = false;
  for (const auto& agent : agents) {
    runtime_known |= RuntimeFormats(agent, task.runtime).has_value();
    device_known |= !task.device.empty() && agent.name == task.device;
    runnable |= CanRun(agent, any_format);
    if (runtime_known && (task.device.empty() || device_known) && runnable) break;  // the answer is known
  }
  if (!runtime_known) return ApiError{422, "unknown runtime '" + task.runtime + "': no registered device offers it"};
  if (!task.device.empty() && !device_known) {
    return ApiError{422, "unknown device '" + task.device + "': no agent of that name is registered"};
  }
  if (!runnable) {
    return ApiError{422, !task.device.empty()
                             ? "device '" + task.device + "' does not offer runtime '" + task.runtime + "'"
                             : "no registered device matches selector " + task.selector.dump() +
                                   " with runtime '" + task.runtime + "'"};
  }
  return std::nullopt;
}

ApiResult<std::optional<ConversionNeed>> PlanConversion(const std::vector<AgentRow>& agents, const Placement& where,
                                                        const std::string& model_format,
                                                        const std::string& precision) {
  Placement any_format = where;
  any_format.model_format.clear();
  bool reads_model = false, reads_onnx = false, reads_tflite = false, unreported = false;
  std::vector<std::string> reported;  // for the message
  for (const auto& agent : agents) {
    if (!CanRun(agent, any_format)) continue;
    const auto formats = RuntimeFormats(agent, where.runtime);
    unreported |= formats->empty();
    reads_model |= Reads(*formats, model_format);
    reads_onnx |= Reads(*formats, "onnx");
    reads_tflite |= Reads(*formats, "tflite");
    for (const auto& format : *formats) {
      if (!Reads(reported, format)) reported.push_back(format);
    }
    if (precision == "fp32" && (reads_model || unreported)) break;  // no conversion, whatever the others read
  }
  const bool onnx = model_format == "onnx";
  if (precision == "fp32" && (reads_model || unreported)) return std::optional<ConversionNeed>();
  if (onnx && reads_onnx) return std::optional<ConversionNeed>(ConversionNeed{"onnx", precision});
  if (onnx && reads_tflite) return std::optional<ConversionNeed>(ConversionNeed{"tflite", precision});
  if (reads_model || unreported) {
    return ApiError{422, "settings.precision '" + precision + "' needs a conversion; runtime '" + where.runtime +
                             "' runs the submitted model as is (precision applies to ONNX models on runtimes "
                             "that read ONNX or TFLite)"};
  }
  return ApiError{422, "runtime '" + where.runtime + "' reads " + Join(reported, ", ") + " (as its devices report), not " +
                           model_format + "; the server converts ONNX models only, to TFLite or ONNX"};
}

void LeaseWaiters::Notify(const std::vector<Placement>& tasks) {
  std::lock_guard lock(mutex_);
  if (tasks.empty()) {
    for (Waiter* waiter : waiters_) {
      waiter->woken = true;
      waiter->cv.notify_one();
    }
    stop_cv_.notify_all();
    return;
  }
  for (const auto& task : tasks) {
    for (Waiter* waiter : waiters_) {
      if (!waiter->woken && CanRun(waiter->agent, task)) {
        waiter->woken = true;
        waiter->woken_for = task;
        waiter->cv.notify_one();
        break;
      }
    }
  }
}

std::optional<TaskRow> LeaseWaiters::Lease(const AgentRow& agent, std::chrono::steady_clock::time_point deadline,
                                           const std::function<std::optional<TaskRow>()>& try_lease) {
  std::optional<Placement> owed;  // a wake-up received here, passed on if another task is taken
  for (;;) {
    Waiter waiter(agent);
    std::unique_lock lock(mutex_);
    const auto listed = waiters_.insert(waiters_.end(), &waiter);
    lock.unlock();
    auto task = try_lease();
    lock.lock();
    if (!task && !stopping_) {
      waiter.cv.wait_until(lock, deadline, [&] { return waiter.woken || stopping_; });
    }
    waiters_.erase(listed);
    const bool stopped = stopping_;
    lock.unlock();
    if (waiter.woken_for) owed = waiter.woken_for;
    if (task) {
      // Woken for a task but taking another (or the same: one spare wake-up): pass it on.
      if (owed) Notify({*owed});
      return task;
    }
    if (stopped || !waiter.woken) return std::nullopt;
  }
}

void LeaseWaiters::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  Notify();
}

bool LeaseWaiters::stopping() {
  std::lock_guard lock(mutex_);
  return stopping_;
}

void LeaseWaiters::SleepUnlessStopped(std::chrono::milliseconds period) {
  std::unique_lock lock(mutex_);
  stop_cv_.wait_for(lock, period, [this] { return stopping_; });
}

}  // namespace edgebench::server
