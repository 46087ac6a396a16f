// The verdict on a health check and the device states.
#include "health.h"

#include <gtest/gtest.h>

namespace edgebench::server {
namespace {

using json = nlohmann::json;

TaskRow Finished(const std::string& state, const std::string& error = "") {
  TaskRow task;
  task.state = state;
  task.error = error;
  return task;
}

HealthCheckRow Passed(double p50_ms) {
  HealthCheckRow check;
  check.verdict = "passed";
  check.detail = {{"p50_ms", p50_ms}};
  return check;
}

TEST(HealthTest, CheckFailsOnAFailedRunDisagreeingOutputsOrASlowdown) {
  const json fast = {{"latency_ms", {{"p50", 2.0}}}};
  EXPECT_TRUE(JudgeHealthCheck(Finished("succeeded"), fast, {}).passed);  // no history: latency not judged
  EXPECT_TRUE(JudgeHealthCheck(Finished("succeeded"), fast, {Passed(1.5), Passed(1.0), Passed(9.0)}).passed);

  const HealthVerdict failed = JudgeHealthCheck(Finished("failed", "load: cannot open"), fast, {});
  EXPECT_FALSE(failed.passed);
  EXPECT_EQ(failed.detail["reason"], "the run failed: load: cannot open");

  json disagreeing = fast;
  disagreeing["verification"] = {{"passed", false}, {"reference_runtime", "onnxruntime"}};
  const HealthVerdict wrong = JudgeHealthCheck(Finished("succeeded"), disagreeing, {});
  EXPECT_FALSE(wrong.passed);
  EXPECT_EQ(wrong.detail["reason"], "outputs disagree with onnxruntime");
  EXPECT_EQ(wrong.detail["verification_passed"], false);

  // The baseline is the median of the last checks: 1.0 (of 1.0, 1.0, 50); 2.5 > 2 x 1.0.
  const HealthVerdict slow =
      JudgeHealthCheck(Finished("succeeded"), {{"latency_ms", {{"p50", 2.5}}}}, {Passed(1.0), Passed(1.0), Passed(50)});
  EXPECT_FALSE(slow.passed);
  EXPECT_EQ(slow.detail["baseline_p50_ms"], 1.0);
  EXPECT_EQ(slow.detail["reason"], "median 2.5 ms is over 2 times the device's usual 1 ms");
  EXPECT_FALSE(JudgeHealthCheck(Finished("succeeded"), json::object(), {}).passed);  // no latency
}

TEST(HealthTest, DeviceStateTakesTheFirstThatApplies) {
  AgentRow agent;
  EXPECT_EQ(DeviceState(agent, true), "idle");
  agent.busy = true;
  EXPECT_EQ(DeviceState(agent, true), "busy");
  agent.health = "bad";
  EXPECT_EQ(DeviceState(agent, true), "bad");
  agent.maintenance = true;
  EXPECT_EQ(DeviceState(agent, true), "maintenance");
  EXPECT_EQ(DeviceState(agent, false), "offline");
}

TEST(HealthTest, ChecksRunTheModelOnEachRuntimeThatReadsIt) {
  AgentRow agent;
  agent.name = "box";
  agent.facts = {{"runtimes",
                  {{{"name", "onnxruntime"}, {"formats", {"onnx"}}},
                   {{"name", "tflite"}, {"formats", {"tflite"}}},
                   {{"name", "null"}}}}};
  ModelRow model{std::string(64, 'a'), 10, "onnx", "m.onnx", ""};
  const auto tasks = HealthCheckTasks(agent, model);
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0].runtime, "onnxruntime");
  EXPECT_EQ(tasks[1].runtime, "null");
  EXPECT_EQ(tasks[1].device, "box");
  EXPECT_EQ(tasks[1].model_sha256, model.sha256);
}

}  // namespace
}  // namespace edgebench::server
