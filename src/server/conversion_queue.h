// The conversion stage of tasks: a bounded pool of worker threads converts the models that tasks
// in state converting wait for (ConversionKey), each key once at a time, cached in the store by
// (source, target, precision, converter version); then the waiting tasks are queued, or failed
// with the converter's message. The queue itself is not durable: the tasks are, and Start()
// enqueues the conversions they wait for, so one interrupted by a crash is redone.
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
  // `on_finished` gets the tasks each finished conversion changed (from a worker thread).
  ConversionQueue(Store& store, const ModelStore& models, std::function<void(const std::vector<TaskRow>&)> on_finished);
  // Stops: waits for the conversions in progress; those waiting stay for the next start.
  ~ConversionQueue();
  ConversionQueue(const ConversionQueue&) = delete;
  ConversionQueue& operator=(const ConversionQueue&) = delete;

  // Starts `workers` threads (at least 1) and enqueues every conversion tasks wait for.
  void Start(int workers);
  // Adds `key` unless it is waiting already. A key being converted is added again (its tasks may
  // have come after the conversion looked for them); the worker then finds it cached.
  void Enqueue(const ConversionKey& key);

 private:
  void Work();
  // Converts the model and stores the result; the converted model's sha256, or the reason.
  ApiResult<std::string> Convert(const ConversionKey& key);

  Store& store_;
  const ModelStore& models_;
  std::function<void(const std::vector<TaskRow>&)> on_finished_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<ConversionKey> waiting_;
  std::set<ConversionKey> converting_;  // taken by a worker
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace edgebench::server
