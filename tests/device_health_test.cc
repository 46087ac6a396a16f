// Device health end to end: a real server giving a native agent (null runtime) its periodic
// health check, the check's verdict and history, and an admin's maintenance and reset through
// the CLI.
#include <algorithm>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "testing/service_fixture.h"

namespace edgebench {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using testing::Edgebench;
using DeviceHealthTest = testing::ServiceFixture;

TEST_F(DeviceHealthTest, DeviceRunsItsHealthCheckAndAdminsTakeItOutAndBack) {
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(model);
  StartServer();
  const std::string sha = UploadModel(model);
  // Again with the uploaded model as the health check's, every minute.
  server_->Kill(SIGTERM);
  ListenAgain("127.0.0.1:0", {"--health-model", sha, "--health-check-minutes", "1"});
  auto agent = StartAgent("checked", {"--label", "pool=ci"});
  ASSERT_TRUE(WaitForDevice("checked")) << AgentLog("checked");
  std::vector<std::string> health = {"device", "health", "checked", "--json"};
  for (const auto& flag : ClientFlags()) health.push_back(flag);
  json answer;
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline) {
    answer = json::parse(Edgebench(health).out, nullptr, false);
    const auto pending = [](const json& checks) {
      return std::any_of(checks.begin(), checks.end(), [](const json& c) { return c["verdict"] == "pending"; });
    };
    if (answer.is_object() && !answer["checks"].empty() && !pending(answer["checks"])) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(answer.is_object() && !answer["checks"].empty()) << answer.dump() << AgentLog("checked");
  // One check per runtime of the agent that reads ONNX, each passed.
  bool null_checked = false;
  for (const json& check : answer["checks"]) {
    EXPECT_EQ(check["verdict"], "passed") << check.dump();
    EXPECT_GT(check["detail"]["p50_ms"].get<double>(), 0);
    EXPECT_EQ(GetTask(check["task_id"].get<int64_t>())["state"], "succeeded");
    null_checked = null_checked || check["runtime"] == "null";
  }
  EXPECT_TRUE(null_checked) << answer.dump();
  EXPECT_EQ(answer["device"]["health"], "good");

  // Maintenance takes it out of scheduling: a task waits until it is back.
  std::vector<std::string> maintenance = {"device", "maintenance", "checked"};
  for (const auto& flag : ClientFlags()) maintenance.push_back(flag);
  const auto on = Edgebench(maintenance);
  ASSERT_EQ(on.exit_code, 0) << on.err;
  EXPECT_EQ(on.out, "checked: maintenance\n");
  const int64_t id = CreateTask(sha, "checked");
  std::vector<std::string> devices = {"devices", "--json"};
  for (const auto& flag : ClientFlags()) devices.push_back(flag);
  EXPECT_EQ(json::parse(Edgebench(devices).out)[0]["state"], "maintenance");
  EXPECT_EQ(GetTask(id)["state"], "queued");
  maintenance.push_back("--off");
  ASSERT_EQ(Edgebench(maintenance).exit_code, 0);
  const json done = WaitForTask(id, [](const json& t) { return t["state"] == "succeeded"; }, 60000);
  EXPECT_EQ(done["state"], "succeeded") << done.dump() << AgentLog("checked");

  // Only admins change it; an unknown device is 404.
  auto user = Http(admin_token_).Post("/v1/users", json{{"name", "ann"}}.dump(), "application/json");
  ASSERT_TRUE(user && user->status == 201) << (user ? user->body : "");
  auto refused = Http(json::parse(user->body)["token"].get<std::string>())
                     .Post("/v1/devices/checked/maintenance", json{{"maintenance", true}}.dump(), "application/json");
  ExpectError(refused, 403, "");
  ExpectError(Http(admin_token_).Post("/v1/devices/nobody/reset"), 404, "device 'nobody' not found");
  ExpectError(Http(admin_token_).Post("/v1/devices/checked/maintenance", json{{"maintenance", 1}}.dump(),
                                      "application/json"),
              400, "'maintenance' must be true or false");
}

}  // namespace
}  // namespace edgebench
