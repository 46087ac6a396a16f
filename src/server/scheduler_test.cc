// The runnable rule, conversion planning and lease wake-ups, without a process.
#include "scheduler.h"

#include <gtest/gtest.h>

#include <thread>

namespace edgebench::server {
namespace {

using json = nlohmann::json;

// An agent offering `runtimes` {name: [formats]} (no formats = none reported).
AgentRow Agent(const std::string& name, const json& runtimes, json labels = json::object()) {
  AgentRow agent;
  agent.name = name;
  agent.facts = {{"runtimes", json::array()}};
  for (const auto& [runtime, formats] : runtimes.items()) {
    json item = {{"name", runtime}, {"version", "1"}};
    if (!formats.empty()) item["formats"] = formats;
    agent.facts["runtimes"].push_back(item);
  }
  agent.labels = std::move(labels);
  return agent;
}

Placement On(const std::string& runtime, const std::string& device, json selector = json::object(),
             const std::string& format = "") {
  return {runtime, device, std::move(selector), format};
}

TEST(SchedulerTest, CanRunNeedsTheRuntimeTheDeviceOrSelectorAndTheFormat) {
  const AgentRow rpi = Agent("rpi", {{"tflite", {"tflite"}}, {"null", json::array()}}, {{"board", "rpi4"}});
  EXPECT_TRUE(CanRun(rpi, On("tflite", "rpi")));
  EXPECT_TRUE(CanRun(rpi, On("tflite", "", {{"board", "rpi4"}})));
  EXPECT_FALSE(CanRun(rpi, On("tflite", "", {{"board", "pc"}})));
  EXPECT_FALSE(CanRun(rpi, On("tflite", "other")));
  EXPECT_FALSE(CanRun(rpi, On("onnxruntime", "rpi")));
  EXPECT_TRUE(CanRun(rpi, On("tflite", "rpi", json::object(), "tflite")));
  EXPECT_FALSE(CanRun(rpi, On("tflite", "rpi", json::object(), "onnx")));  // reads only TFLite
  EXPECT_TRUE(CanRun(rpi, On("null", "rpi", json::object(), "onnx")));     // formats not reported
}

TEST(SchedulerTest, CheckRunnableNamesTheUnknownPart) {
  const std::vector<AgentRow> agents = {Agent("rpi", {{"tflite", {"tflite"}}}, {{"board", "rpi4"}}),
                                        Agent("pc", {{"onnxruntime", {"onnx"}}}, {{"board", "pc"}})};
  EXPECT_FALSE(CheckRunnable(agents, On("tflite", "rpi")));
  EXPECT_FALSE(CheckRunnable(agents, On("onnxruntime", "", {{"board", "pc"}})));
  auto error = CheckRunnable(agents, On("warpdrive", "rpi"));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->status, 422);
  EXPECT_EQ(error->message, "unknown runtime 'warpdrive': no registered device offers it");
  error = CheckRunnable(agents, On("tflite", "nowhere"));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->message, "unknown device 'nowhere': no agent of that name is registered");
  error = CheckRunnable(agents, On("tflite", "pc"));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->message, "device 'pc' does not offer runtime 'tflite'");
  error = CheckRunnable(agents, On("tflite", "", {{"board", "pc"}}));
  ASSERT_TRUE(error);
  EXPECT_NE(error->message.find("no registered device matches selector"), std::string::npos) << error->message;
}

// The target comes from the formats the agents able to run the task report.
TEST(SchedulerTest, PlanConversionFollowsTheReportedFormats) {
  const std::vector<AgentRow> agents = {
      Agent("rpi", {{"tflite", {"tflite"}}, {"armnn", {"tflite"}}, {"libtorch", {"torchscript"}}}),
      Agent("pc", {{"onnxruntime", {"onnx"}}, {"null", json::array()}})};
  auto plan = [&](const std::string& runtime, const std::string& device, const std::string& format,
                  const std::string& precision) {
    return PlanConversion(agents, On(runtime, device), format, precision);
  };
  auto none = plan("onnxruntime", "pc", "onnx", "fp32");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none.value());
  auto tflite = plan("armnn", "rpi", "onnx", "fp32");
  ASSERT_TRUE(tflite.ok());
  ASSERT_TRUE(tflite.value());
  EXPECT_EQ(tflite.value()->target, "tflite");
  EXPECT_EQ(tflite.value()->precision, "fp32");
  auto int8 = plan("tflite", "rpi", "onnx", "int8");
  ASSERT_TRUE(int8.ok());
  EXPECT_EQ(int8.value()->target, "tflite");
  EXPECT_EQ(int8.value()->precision, "int8");
  auto variant = plan("onnxruntime", "pc", "onnx", "fp16");
  ASSERT_TRUE(variant.ok());
  EXPECT_EQ(variant.value()->target, "onnx");
  EXPECT_EQ(variant.value()->precision, "fp16");
  EXPECT_FALSE(plan("tflite", "rpi", "tflite", "fp32").value());  // read as submitted
  EXPECT_FALSE(plan("null", "pc", "onnx", "fp32").value());       // formats not reported: as submitted

  auto as_is = plan("null", "pc", "onnx", "int8");
  ASSERT_FALSE(as_is.ok());
  EXPECT_EQ(as_is.error().status, 422);
  EXPECT_NE(as_is.error().message.find("runs the submitted model as is"), std::string::npos);
  auto unreadable = plan("libtorch", "rpi", "onnx", "fp32");
  ASSERT_FALSE(unreadable.ok());
  EXPECT_EQ(unreadable.error().status, 422);
  EXPECT_NE(unreadable.error().message.find("reads torchscript"), std::string::npos) << unreadable.error().message;
  EXPECT_FALSE(plan("onnxruntime", "pc", "tflite", "fp32").ok());  // TFLite is never converted
}

// A new task wakes the longest-waiting request that can run it, and only that one.
TEST(SchedulerTest, NotifyWakesOneWaiterThatCanRunTheTask) {
  LeaseWaiters waiters;
  const AgentRow lite = Agent("lite", {{"tflite", {"tflite"}}});
  const AgentRow pc = Agent("pc", {{"onnxruntime", {"onnx"}}});
  std::mutex mutex;
  std::condition_variable cv;
  int attempts_lite = 0, attempts_pc = 0;
  std::optional<TaskRow> offered;  // what try_lease hands out once woken
  auto try_lease = [&](int& attempts) {
    std::lock_guard lock(mutex);
    ++attempts;
    cv.notify_all();
    std::optional<TaskRow> task;
    std::swap(task, offered);
    return task;
  };
  const auto far = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  std::optional<TaskRow> got_lite, got_pc;
  std::thread lite_thread([&] { got_lite = waiters.Lease(lite, far, [&] { return try_lease(attempts_lite); }); });
  std::thread pc_thread([&] { got_pc = waiters.Lease(pc, far, [&] { return try_lease(attempts_pc); }); });
  {
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return attempts_lite == 1 && attempts_pc == 1; });  // both listed and waiting
    TaskRow task;
    task.id = 7;
    offered = task;
  }
  waiters.Notify({On("onnxruntime", "pc", json::object(), "onnx")});
  pc_thread.join();
  ASSERT_TRUE(got_pc);
  EXPECT_EQ(got_pc->id, 7);
  waiters.Stop();  // the lite request was not woken by the task: it ends only now
  lite_thread.join();
  EXPECT_FALSE(got_lite);
  EXPECT_EQ(attempts_lite, 1);
}

}  // namespace
}  // namespace edgebench::server
