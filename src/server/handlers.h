// What the handlers of each resource share, and the function that adds each resource's routes.
#pragma once

#include <httplib.h>

#include <atomic>
#include <memory>
#include <condition_variable>
#include <deque>
#include <mutex>
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

// `handler` (a route's) run holding one of the context's work places.
template <typename Handler>
auto Gated(ServerContext& context, Handler handler) {
  return [&context, handler](const httplib::Request& req, httplib::Response& res) {
    context.work.Enter();
    struct Leave {
      WorkQueue& work;
      ~Leave() { work.Leave(); }
    } leave{context.work};
    handler(context, req, res);
  };
}

void AddUserRoutes(httplib::Server& http, ServerContext& context);   // users_handler.cc
void AddModelRoutes(httplib::Server& http, ServerContext& context);  // models_handler.cc
void AddTaskRoutes(httplib::Server& http, ServerContext& context);   // tasks_handler.cc: tasks, jobs
// agents_handler.cc: registration, devices, leases, heartbeats, results
void AddAgentRoutes(httplib::Server& http, ServerContext& context);
void AddImageRoutes(httplib::Server& http, ServerContext& context);  // images_handler.cc

// health_handler.cc: device maintenance, reset and health-check history; the verdict on a
// health-check task once final (from its result `document`); the periodic scheduling of checks
// (--health-model, --health-check-minutes).
void AddHealthRoutes(httplib::Server& http, ServerContext& context);
void JudgeIfHealthCheck(ServerContext& context, const TaskRow& task, const nlohmann::json& document);
void ScheduleHealthChecks(ServerContext& context);
// A device not seen for this long is offline.
int64_t DeviceOnlineMs(const ServerContext& context);

}  // namespace edgebench::server
