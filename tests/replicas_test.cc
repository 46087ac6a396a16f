// Two `edgebench server` replicas on one PostgreSQL (a server of the test's own, testing/postgres.h)
// and one data directory: a task created on one wakes a lease waiting on the other, and when one
// replica is killed (SIGKILL) in the middle of a job, native agents given both URLs carry on with
// the other and every task ends exactly once with one result; a conversion a killed replica held
// is taken over by the other once its lease runs out.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "testing/postgres.h"
#include "testing/service_fixture.h"

namespace edgebench {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using testing::Background;
using testing::ReadFile;

class ReplicasTest : public testing::ServiceFixture {
 protected:
  // Starts replica A (url_, server_) and replica B (url_b_, replica_b_) on a new database.
  void StartReplicas() {
    if (testing::PostgresServer::BinDir().empty()) {
      GTEST_SKIP() << "PostgreSQL 15 server binaries not installed (/usr/lib/postgresql/15/bin; tools/setup.sh "
                      "installs postgresql-15): replicas not tested";
    }
    std::string error;
    testing::PostgresServer* postgres = testing::SharedPostgres(&error);
    ASSERT_NE(postgres, nullptr) << error;
    static int databases = 0;
    store_ = postgres->CreateDatabase("replicas_" + std::to_string(getpid()) + "_" + std::to_string(++databases));
    const std::vector<std::string> flags = {"--store", store_, "--lease-seconds", "3"};
    StartServer(flags);  // A first: it creates the schema and the tokens B then reads
    if (HasFatalFailure()) return;
    std::vector<std::string> argv = {EDGEBENCH_BINARY, "server", "--listen", "127.0.0.1:0", "--data", dir_ + "/data"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    replica_b_ = std::make_unique<Background>(argv, dir_ + "/replica-b.log", /*pipe_stdout=*/true);
    const std::string line = replica_b_->ReadLine(10000);
    ASSERT_EQ(line.rfind("listening on ", 0), 0u) << line << ReadFile(dir_ + "/replica-b.log");
    url_a_ = url_;
    url_b_ = line.substr(std::string("listening on ").size());
  }

  // Creates a task for any agent of the pool "ci" through the replica at `url`.
  int64_t CreatePoolTask(const std::string& url, const std::string& sha, const json& settings) {
    httplib::Client client(url);
    client.set_bearer_token_auth(admin_token_);
    const json body = {{"model_sha256", sha}, {"runtime", "null"}, {"selector", {{"pool", "ci"}}}, {"settings", settings}};
    auto res = client.Post("/v1/tasks", body.dump(), "application/json");
    EXPECT_TRUE(res && res->status == 201) << (res ? res->body : "no answer");
    return res && res->status == 201 ? json::parse(res->body)["id"].get<int64_t>() : 0;
  }

  std::string store_, url_a_, url_b_;
  std::unique_ptr<Background> replica_b_;
};

TEST_F(ReplicasTest, TaskCreatedOnOneReplicaWakesALeaseWaitingOnTheOther) {
  StartReplicas();
  if (IsSkipped() || HasFatalFailure()) return;
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(model);
  const std::string sha = UploadModel(model);  // through A; B reads the shared model directory
  const std::string token = RegisterFakeAgent("waiter", {{"pool", "ci"}});
  json leased;
  std::thread waiting([&] {
    httplib::Client client(url_a_);
    client.set_bearer_token_auth(token);
    client.set_read_timeout(60, 0);
    auto res = client.Post("/v1/agents/waiter/lease?wait_s=20");
    leased = res ? json{{"status", res->status}, {"body", json::parse(res->body, nullptr, false)}} : json{{"status", 0}};
  });
  const int64_t id = CreatePoolTask(url_b_, sha, json::object());
  waiting.join();
  // Without the notification from B the lease would wait its 20 s out and answer 204.
  ASSERT_EQ(leased["status"], 200) << leased.dump();
  EXPECT_EQ(leased["body"]["task"]["id"], id);
  httplib::Client b(url_b_);
  b.set_bearer_token_auth(token);
  auto model_from_b = b.Get(("/v1/models/" + sha).c_str());
  ASSERT_TRUE(model_from_b);
  EXPECT_EQ(model_from_b->status, 200);
}

TEST_F(ReplicasTest, ReplicaKilledMidJobAgentsFailOverAndEveryTaskEndsOnce) {
  StartReplicas();
  if (IsSkipped() || HasFatalFailure()) return;
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(model);
  const std::string sha = UploadModel(model);
  // Agents list the replicas in either order, so both hand out leases before the kill.
  std::vector<std::unique_ptr<Background>> agents;
  const std::vector<std::string> names = {"r1", "r2", "r3"};
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string servers = i % 2 == 0 ? url_a_ + "," + url_b_ : url_b_ + "," + url_a_;
    agents.push_back(std::make_unique<Background>(
        std::vector<std::string>{EDGEBENCH_BINARY, "agent", "--server", servers, "--name", names[i], "--token-file",
                                 agent_token_file_, "--cache-dir", dir_ + "/cache-" + names[i], "--poll-seconds", "2",
                                 "--label", "pool=ci"},
        dir_ + "/agent-" + names[i] + ".log", /*pipe_stdout=*/false));
  }
  for (const std::string& name : names) ASSERT_TRUE(WaitForDevice(name)) << AgentLog(name);
  // Tasks of ~0.5 s simulated work each, created on both replicas.
  const json settings = {{"min_runs", 250}, {"max_runs", 250}, {"warmup_runs", 0}, {"warmup_min_ms", 0},
                         {"min_duration_ms", 0}, {"options", {{"spin_ns", "2000000"}}}};
  std::vector<int64_t> ids;
  for (int i = 0; i < 12; ++i) ids.push_back(CreatePoolTask(i % 2 == 0 ? url_a_ : url_b_, sha, settings));
  // Kill A once tasks run (some leased through A, all in the middle of the job).
  const auto running_deadline = Clock::now() + std::chrono::seconds(60);
  int running = 0;
  while (running == 0 && Clock::now() < running_deadline) {
    for (const int64_t id : ids) running += GetTask(id)["state"] == "running" ? 1 : 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GT(running, 0);
  server_->Kill(SIGKILL);
  url_ = url_b_;  // the fixture's helpers go to B from here on
  // The agents carry on with B: tasks created after the kill run too.
  for (int i = 0; i < 3; ++i) ids.push_back(CreatePoolTask(url_b_, sha, settings));
  std::map<std::string, int> states;
  int results = 0, attempts = 0;
  for (const int64_t id : ids) {
    const json task = WaitForTask(id, [](const json& t) { return t["state"] == "succeeded" || t["state"] == "failed"; },
                                  120000);
    ++states[task.value("state", std::string("?"))];
    EXPECT_EQ(task["state"], "succeeded") << task.dump();
    attempts += task.value("attempts", 0);
    auto res = Http(admin_token_).Get(("/v1/tasks/" + std::to_string(id) + "/results").c_str());
    ASSERT_TRUE(res && res->status == 200);
    const json listed = json::parse(res->body)["results"];
    EXPECT_EQ(listed.size(), 1u) << "task " << id << ": " << listed.dump();
    results += static_cast<int>(listed.size());
  }
  std::cout << "[failover] " << ids.size() << " tasks: " << states["succeeded"] << " succeeded, " << results
            << " results, " << attempts << " leases" << std::endl;
  EXPECT_EQ(states["succeeded"], static_cast<int>(ids.size()));
  EXPECT_EQ(results, static_cast<int>(ids.size()));
  for (size_t i = 0; i < agents.size(); ++i) EXPECT_TRUE(agents[i]->running()) << AgentLog(names[i]);
}


// A replica killed in the middle of a conversion: its lease (--lease-seconds) runs out and the
// other replica converts the model and queues the task, which would otherwise stay converting
// (as it did before conversions had leases).
TEST_F(ReplicasTest, ConversionOfAKilledReplicaIsTakenOverByTheOther) {
  StartReplicas();
  if (IsSkipped() || HasFatalFailure()) return;
  // MobileNetV2 at int8 calibrates for seconds: A is killed in the middle of it.
  const std::string model = testing::ZooModel("mobilenetv2", "onnx");
  EB_REQUIRE_FILE(model);
  const std::string sha = UploadModel(model);
  // A device whose runtime reads TFLite only: its tasks on the ONNX model need a conversion.
  auto registration = Http(registration_token_);
  const json device = {{"name", "lite"},
                       {"facts", {{"arch", "x86_64"}, {"runtimes", {{{"name", "tflite"}, {"formats", {"tflite"}}}}}}}};
  auto registered = registration.Post("/v1/agents", device.dump(), "application/json");
  ASSERT_TRUE(registered && registered->status == 201) << (registered ? registered->body : "no answer");
  httplib::Client a(url_a_);
  a.set_bearer_token_auth(admin_token_);
  const json body = {{"model_sha256", sha}, {"runtime", "tflite"}, {"device", "lite"},
                     {"settings", {{"precision", "int8"}}}};
  auto created = a.Post("/v1/tasks", body.dump(), "application/json");
  ASSERT_TRUE(created && created->status == 201) << (created ? created->body : "no answer");
  const json task = json::parse(created->body);
  ASSERT_EQ(task["state"], "converting") << task.dump();
  // Killed once it holds the conversion (its lease is in the database).
  const std::string psql = testing::PostgresServer::BinDir() + "/psql";
  const auto claimed_deadline = Clock::now() + std::chrono::seconds(60);
  std::string leases;
  while (leases != "1" && Clock::now() < claimed_deadline) {
    leases = testing::Trim(testing::RunProcess({psql, store_, "-Atc", "SELECT COUNT(*) FROM conversion_leases"}).out);
  }
  ASSERT_EQ(leases, "1");
  server_->Kill(SIGKILL);
  url_ = url_b_;
  const json converted = WaitForTask(task["id"].get<int64_t>(), [](const json& t) { return t["state"] != "converting"; },
                                     600000);
  ASSERT_EQ(converted["state"], "queued") << converted.dump() << ReadFile(dir_ + "/replica-b.log");
  EXPECT_NE(converted["model_sha256"], sha);
  EXPECT_EQ(converted["conversion"]["precision"], "int8") << converted.dump();
}

}  // namespace
}  // namespace edgebench
