// The conversion stage on a real store and model store, without HTTP: tasks left converting by
// an earlier run are converted at start, waiting tasks share one conversion, failures fail them.
#include "conversion_queue.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>

#include "edgebench/convert.h"
#include "edgebench/model_file.h"
#include "testing/test_models.h"

namespace edgebench::server {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

class ConversionQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir();
    OpenStores();
  }

  void OpenStores() {
    auto store = Store::Open(dir_ + "/edgebench.db");
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(store.value());
    auto models = ModelStore::Open(dir_ + "/models");
    ASSERT_TRUE(models.ok());
    models_ = std::move(models.value());
  }

  // Puts the model file into both stores; returns its sha256.
  std::string AddModel(const std::string& path) {
    auto model = InspectModelFile(path);
    EXPECT_TRUE(model.ok());
    fs::copy_file(path, models_->PathOf(model->sha256), fs::copy_options::overwrite_existing);
    store_->AddModel({model->sha256, model->size_bytes, std::string(ModelFormatName(model->format)),
                      fs::path(path).filename().string(), ""});
    return model->sha256;
  }

  int64_t ConvertingTask(const ConversionKey& key) {
    NewTask task;
    task.model_sha256 = key.source_sha256;
    task.runtime = "tflite";
    task.device = "rpi";
    task.owner = "admin";
    task.conversion = key;
    return store_->CreateTask(task);
  }

  // A queue whose finished conversions are collected here.
  std::unique_ptr<ConversionQueue> Queue() {
    return std::make_unique<ConversionQueue>(*store_, *models_, /*lease_ms=*/30000, [this](const std::vector<TaskRow>& tasks) {
      std::lock_guard lock(mutex_);
      finished_.push_back(tasks);
      cv_.notify_all();
    });
  }

  // Waits for the `count`th finished conversion (bounded, for a broken build only).
  bool WaitFinished(size_t count) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::minutes(5), [&] { return finished_.size() >= count; });
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ModelStore> models_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::vector<TaskRow>> finished_;
};

// Tasks in state converting at start-up (a crash interrupted their conversion) are converted
// once for both, then queued on the converted model.
TEST_F(ConversionQueueTest, ConvertingTasksOfAnEarlierRunAreConvertedOnceAtStart) {
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(model);
  const ConversionKey key{AddModel(model), "tflite", "fp32"};
  const int64_t first = ConvertingTask(key);
  const int64_t second = ConvertingTask(key);
  EXPECT_EQ(store_->GetTask(first)->state, "converting");
  ASSERT_TRUE(store_->GetTask(first)->conversion);
  EXPECT_EQ(*store_->GetTask(first)->conversion, key);
  store_.reset();  // the earlier run ends before converting
  OpenStores();
  EXPECT_EQ(store_->UnclaimedConversions(), std::vector<ConversionKey>{key});
  auto queue = Queue();
  queue->Start(2);
  ASSERT_TRUE(WaitFinished(1));
  queue.reset();
  ASSERT_EQ(finished_.size(), 1u);
  ASSERT_EQ(finished_[0].size(), 2u);  // one conversion for both tasks
  auto conversion = store_->FindConversion(key.source_sha256, "tflite", "fp32", kConverterVersion);
  ASSERT_TRUE(conversion);
  for (const int64_t id : {first, second}) {
    const TaskRow task = *store_->GetTask(id);
    EXPECT_EQ(task.state, "queued");
    EXPECT_EQ(task.model_sha256, conversion->converted_sha256);
    EXPECT_EQ(task.model_format, "tflite");
    EXPECT_FALSE(task.conversion);
  }
  EXPECT_TRUE(fs::exists(models_->PathOf(conversion->converted_sha256)));
  EXPECT_TRUE(store_->UnclaimedConversions().empty());
}

// A model the converter cannot express fails its task with the converter's message; a key whose
// tasks were all cancelled is not converted.
TEST_F(ConversionQueueTest, FailedConversionFailsTheTaskAndCancelledOnesAreSkipped) {
  const std::string lrn = "/usr/share/libonnx-testdata/data/node/test_lrn/model.onnx";
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(lrn);
  EB_REQUIRE_FILE(model);
  const ConversionKey cancelled{AddModel(model), "tflite", "fp32"};
  const ConversionKey unconvertible{AddModel(lrn), "tflite", "fp32"};
  const int64_t gone = ConvertingTask(cancelled);
  ASSERT_TRUE(store_->CancelTask(gone).ok());
  auto queue = Queue();
  queue->Start(1);  // one worker takes the keys in order: the cancelled one first
  const int64_t id = ConvertingTask(unconvertible);
  queue->Enqueue(cancelled);
  queue->Enqueue(unconvertible);
  ASSERT_TRUE(WaitFinished(1));
  queue.reset();
  ASSERT_EQ(finished_.size(), 1u);
  ASSERT_EQ(finished_[0].size(), 1u);
  EXPECT_EQ(finished_[0][0].id, id);
  const TaskRow task = *store_->GetTask(id);
  EXPECT_EQ(task.state, "failed");
  EXPECT_NE(task.error.find("model.onnx: cannot convert"), std::string::npos) << task.error;
  EXPECT_NE(task.error.find("(LRN)"), std::string::npos) << task.error;
  EXPECT_FALSE(store_->FindConversion(cancelled.source_sha256, "tflite", "fp32", kConverterVersion));
  EXPECT_EQ(store_->GetTask(gone)->state, "cancelled");
}

}  // namespace
}  // namespace edgebench::server
