// The conversion stage of tasks: a bounded pool of worker threads converts the models that tasks
// in state converting wait for (ConversionKey), each key once at a time, cached in the store by
// (source, target, precision, converter version); then the waiting tasks are queued, or failed
// with the converter's message. The queue itself is not durable: the tasks are. A conversion is
// leased like a task (Store::ClaimConversion): one server converts it, renewing the lease while
// it lives; Start() and Supervise() enqueue the conversions no live server holds, so one
// interrupted by a crash, here or on another replica, is redone.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "model_store.h"
#include "store.h"

namespace edgebench::server {

class ConversionQueue {
 public:
  // `on_finished` gets the tasks each finished conversion changed (from a worker thread);
  // `lease_ms`: how long a conversion stays this server's without a renewal.
  ConversionQueue(Store& store, const ModelStore& models, int64_t lease_ms,
                  std::function<void(const std::vector<TaskRow>&)> on_finished);
  // Stops: waits for the conversions in progress; those waiting stay for the next start.
  ~ConversionQueue();
  ConversionQueue(const ConversionQueue&) = delete;
  ConversionQueue& operator=(const ConversionQueue&) = delete;

  // Starts `workers` threads (at least 1) and enqueues every conversion tasks wait for.
  void Start(int workers);
  // Adds `key` unless it is waiting already. A key being converted is added again (its tasks may
  // have come after the conversion looked for them); the worker then finds it cached.
  void Enqueue(const ConversionKey& key);
  // Renews the leases of this server's conversions and enqueues those no live server holds
  // (another replica died mid-conversion); called periodically, well within the lease.
  void Supervise();

 private:
  void Work();
  // Converts the model and stores the result; the converted model's sha256, or the reason.
  ApiResult<std::string> Convert(const ConversionKey& key);

  Store& store_;
  const ModelStore& models_;
  const int64_t lease_ms_;
  std::function<void(const std::vector<TaskRow>&)> on_finished_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<ConversionKey> waiting_;
  std::set<ConversionKey> converting_;  // taken by a worker
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace edgebench::server
