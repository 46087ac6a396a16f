// What the handlers of each resource share, and the function that adds each resource's routes.
#pragma once

#include <httplib.h>

#include <atomic>
#include <memory>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "conversion_queue.h"
#include "edgebench/server.h"
#include "images.h"
#include "model_store.h"
#include "scheduler.h"
#include "store.h"

namespace edgebench::server {

// Requests that do work at once (all but lease requests, which mostly wait): past a few, more
// only queue for the CPU and the store's lock, unfairly, and the slowest answers of a burst of
// clients come seconds late (issue 18: 200 clients). The others wait here, asleep, and go in
// the order they came.
class WorkQueue {
 public:
  explicit WorkQueue(int places) : free_(places) {}
  void Enter() {
    std::unique_lock lock(mutex_);
    if (free_ > 0 && waiting_.empty()) {
      --free_;
      return;
    }
    Waiter me;
    waiting_.push_back(&me);
    me.turn.wait(lock, [&me] { return me.admitted; });
  }
  void Leave() {  // hands the place to the longest waiting, if any
    std::lock_guard lock(mutex_);
    if (waiting_.empty()) {
      ++free_;
      return;
    }
    Waiter* next = waiting_.front();
    waiting_.pop_front();
    next->admitted = true;
    next->turn.notify_one();
  }

 private:
  struct Waiter {
    std::condition_variable turn;
    bool admitted = false;
  };
  std::mutex mutex_;
  int free_;
  std::deque<Waiter*> waiting_;
};
inline constexpr int kConcurrentWork = 4;

struct ServerContext {
  ServerOptions options;
  std::unique_ptr<Store> store;
  std::unique_ptr<ModelStore> models;
  std::unique_ptr<ImageCatalog> images;  // (runtime, arch) -> image reference
  LeaseWaiters waiters;
  std::atomic<int> long_polls{0};  // lease requests waiting now
  WorkQueue work{kConcurrentWork};
  std::unique_ptr<ConversionQueue> conversions;  // last: its workers use the members above

  int64_t LeaseMs() const { return static_cast<int64_t>(options.lease_seconds) * 1000; }
  // Hands new or converted tasks on: queued ones wake an agent that can run them, converting
  // ones go to the conversion queue.
  void Dispatch(const std::vector<TaskRow>& tasks);
};

using Handler = void (*)(ServerContext&, const httplib::Request&, httplib::Response&);
// A handler that reads the request body itself, as it arrives (model uploads).
using ReadingHandler = void (*)(ServerContext&, const httplib::Request&, httplib::Response&,
                                const httplib::ContentReader&);

// One route of the HTTP API: its method, its path as the OpenAPI document (docs/openapi.json)
// writes it ("/v1/tasks/{id}"), and one of the two handlers.
struct Route {
  const char* method;  // "GET" or "POST"
  const char* path;
  Handler handle = nullptr;
  ReadingHandler read_body = nullptr;
  // true: `handle` runs holding one of the context's work places (WorkQueue), in arrival order;
  // false for long polls (leases), which wait without working.
  bool work_queue = true;
};

// The route table of each resource.
std::vector<Route> UserRoutes();   // users_handler.cc
std::vector<Route> ModelRoutes();  // models_handler.cc
std::vector<Route> TaskRoutes();   // tasks_handler.cc: tasks, jobs
// agents_handler.cc: registration, devices, leases, heartbeats, results
std::vector<Route> AgentRoutes();
std::vector<Route> ImageRoutes();  // images_handler.cc
// Every /v1 route the server registers (server.cc): the tables above, health and the OpenAPI
// document. The one list the server and the OpenAPI consistency test read.
std::vector<Route> Routes();
// The path's regular expression for httplib: "{id}" matches digits, "{sha256}" 64 lowercase hex
// digits, any other "{name}" one path segment.
std::string RoutePattern(const std::string& path);

// health_handler.cc: device maintenance, reset and health-check history; the verdict on a
// health-check task once final (from its result `document`); the periodic scheduling of checks
// (--health-model, --health-check-minutes).
std::vector<Route> HealthRoutes();
void JudgeIfHealthCheck(ServerContext& context, const TaskRow& task, const nlohmann::json& document);
void ScheduleHealthChecks(ServerContext& context);
// A device not seen for this long is offline.
int64_t DeviceOnlineMs(const ServerContext& context);

}  // namespace edgebench::server
