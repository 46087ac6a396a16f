#include "conversion_queue.h"

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "edgebench/convert.h"
#include "edgebench/isolated.h"
#include "tokens.h"

namespace edgebench::server {
namespace {

// A conversion still running after this long (INT8 calibration of a large model takes minutes)
// is stopped and its tasks fail.
constexpr double kConversionTimeoutS = 1800;

}  // namespace

ConversionQueue::ConversionQueue(Store& store, const ModelStore& models, int64_t lease_ms,
                                 std::function<void(const std::vector<TaskRow>&)> on_finished)
    : store_(store), models_(models), lease_ms_(lease_ms), on_finished_(std::move(on_finished)) {}

ConversionQueue::~ConversionQueue() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void ConversionQueue::Start(int workers) {
  for (const auto& key : store_.UnclaimedConversions()) Enqueue(key);
  for (int i = 0; i < std::max(1, workers); ++i) workers_.emplace_back([this] { Work(); });
}

void ConversionQueue::Supervise() {
  store_.RenewConversions(lease_ms_);
  for (const auto& key : store_.UnclaimedConversions()) Enqueue(key);
}

void ConversionQueue::Enqueue(const ConversionKey& key) {
  {
    std::lock_guard lock(mutex_);
    if (std::find(waiting_.begin(), waiting_.end(), key) != waiting_.end()) return;
    waiting_.push_back(key);
  }
  cv_.notify_one();
}

void ConversionQueue::Work() {
  for (;;) {
    ConversionKey key;
    {
      std::unique_lock lock(mutex_);
      std::deque<ConversionKey>::iterator next;
      cv_.wait(lock, [&] {
        next = std::find_if(waiting_.begin(), waiting_.end(),
                            [&](const ConversionKey& k) { return !converting_.contains(k); });
        return stopping_ || next != waiting_.end();
      });
      if (stopping_) return;
      key = *next;
      waiting_.erase(next);
      converting_.insert(key);
    }
    std::vector<TaskRow> changed;
    // Not when all its tasks were cancelled or converted meanwhile, nor while another server
    // converts it.
    if (store_.ClaimConversion(key, lease_ms_)) {
      ApiResult<std::string> converted = ApiError{500, ""};
      try {
        converted = Convert(key);
      } catch (const std::exception& e) {  // holding the child's answer (bad_alloc on a huge model): the tasks fail
        std::cerr << "edgebench server: conversion of " << key.source_sha256 << " to " << key.target << ": " << e.what()
                  << std::endl;
        converted = ApiError{422, "conversion to " + key.target + " at " + key.precision +
                                      ": the model is too large or malformed to convert"};
      }
      changed = store_.FinishConversion(key, converted.ok() ? *converted : "",
                                        converted.ok() ? "" : converted.error().message);
    }
    {
      std::lock_guard lock(mutex_);
      converting_.erase(key);
    }
    cv_.notify_all();  // the same key may wait behind this one
    if (!changed.empty()) on_finished_(changed);
  }
}

ApiResult<std::string> ConversionQueue::Convert(const ConversionKey& key) {
  if (auto cached = store_.FindConversion(key.source_sha256, key.target, key.precision, kConverterVersion)) {
    return cached->converted_sha256;
  }
  const auto model = store_.FindModel(key.source_sha256);
  auto target = ParseConvertTarget(key.target);
  auto precision = ParseConvertPrecision(key.precision);
  if (!model || !target.ok() || !precision.ok()) {
    return ApiError{500, "no conversion of model " + key.source_sha256 + " to " + key.target + " at " + key.precision};
  }
  ConvertRequest request;
  request.model_path = models_.PathOf(key.source_sha256);
  request.target = *target;
  request.precision = *precision;
  auto name_it = [&](std::string message) {  // the user's file name, not the store's path
    for (size_t at; (at = message.find(request.model_path)) != std::string::npos;) {
      message.replace(at, request.model_path.size(), model->name);
    }
    return "conversion to " + key.target + " at " + key.precision + ": " + message;
  };
  // The converter parses the uploaded file with third-party code (protobuf, libonnx's shape
  // inference) that a hostile file can crash: it runs in a child process, so that a crash fails
  // this conversion's tasks, not the server. The child answers one JSON line ({"error": ...} or
  // {"log": ...}), then the converted model's bytes.
  auto answer = RunIsolated("the converter", [&] {
    auto report = ConvertModel(request);
    nlohmann::json header;
    if (!report.ok()) {
      header["error"] = report.error().message;
    } else if (!report->ok()) {
      header["error"] = UnsupportedError(*report).message;
    } else {
      header["log"] = ToJson(*report);
    }
    return header.dump() + "\n" + (report.ok() ? report->model : std::string());
  }, kConversionTimeoutS);
  if (!answer.ok()) return ApiError{422, name_it(answer.error().message)};
  const std::size_t header_end = answer->find('\n');
  nlohmann::json header = nlohmann::json::parse(answer->substr(0, header_end));
  if (header.contains("error")) return ApiError{422, name_it(header["error"].get<std::string>())};
  const std::string model_bytes = answer->substr(header_end + 1);
  const std::string converted = Sha256Hex(model_bytes);
  if (!models_.Write(model_bytes, converted)) {
    return ApiError{500, "cannot write the converted model to the model store"};
  }
  store_.AddModel({converted, static_cast<int64_t>(model_bytes.size()), key.target,
                   std::filesystem::path(model->name).stem().string() +
                       (key.precision == "fp32" ? "" : "." + key.precision) + "." + key.target,
                   ""});
  nlohmann::json log = std::move(header["log"]);
  log["source"] = model->name;
  store_.AddConversion({key.source_sha256, key.target, key.precision, kConverterVersion, converted, log});
  return converted;
}

}  // namespace edgebench::server
