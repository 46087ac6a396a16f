// The task state machine of the server's store, without HTTP, on SQLite and on PostgreSQL (a
// server of its own, testing/postgres.h); the migrations of SQLite databases from older servers.
#include "store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "scheduler.h"
#include "testing/postgres.h"
#include "testing/test_models.h"

namespace edgebench::server {
namespace {

using json = nlohmann::json;

// The parameter names the database: "sqlite" or "postgresql".
class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  // A new, empty database of the parameter's kind.
  std::string NewDatabase() {
    if (GetParam() == "sqlite") return testing::MakeTempDir() + "/edgebench.db";
    std::string error;
    testing::PostgresServer* postgres = testing::SharedPostgres(&error);
    if (!postgres) {
      ADD_FAILURE() << error;
      return "";
    }
    static int databases = 0;
    return postgres->CreateDatabase("store_" + std::to_string(getpid()) + "_" + std::to_string(++databases));
  }

  void SetUp() override {
    if (GetParam() == "postgresql" && testing::PostgresServer::BinDir().empty()) {
      GTEST_SKIP() << "PostgreSQL 15 server binaries not installed (/usr/lib/postgresql/15/bin; "
                      "tools/setup.sh installs postgresql-15): PostgreSQL store not tested";
    }
    location_ = NewDatabase();
    auto opened = Store::Open(location_);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(opened.value());
    store_->AddModel({std::string(64, 'a'), 10, "onnx", "m.onnx", ""});
  }

  AgentRow Agent(const std::string& name, json runtimes, json labels = json::object()) {
    json facts = {{"runtimes", json::array()}};
    for (const auto& runtime : runtimes) facts["runtimes"].push_back({{"name", runtime}, {"version", "1"}});
    EXPECT_TRUE(store_->RegisterAgent(name, facts, labels, "token-" + name, /*may_replace=*/true).ok());
    return *store_->FindAgent(name);
  }

  int64_t Task(const std::string& runtime, const std::string& device, json selector = json::object()) {
    NewTask task;
    task.model_sha256 = std::string(64, 'a');
    task.runtime = runtime;
    task.device = device;
    task.selector = selector;
    task.owner = "admin";
    return store_->CreateTask(task);
  }

  // A tflite task for device "lite" whose model is the conversion `key` of model `key.source_sha256`.
  static NewTask WaitingForConversion(const ConversionKey& key) {
    NewTask task;
    task.model_sha256 = key.source_sha256;
    task.runtime = "tflite";
    task.device = "lite";
    task.owner = "admin";
    task.conversion = key;
    return task;
  }

  std::string location_;
  std::unique_ptr<Store> store_;
};

INSTANTIATE_TEST_SUITE_P(Databases, StoreTest, ::testing::Values("sqlite", "postgresql"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST_P(StoreTest, LeaseMatchesDeviceOrLabelsAndRuntime) {
  const AgentRow rpi = Agent("rpi", {"tflite"}, {{"board", "rpi4"}});
  const AgentRow x86 = Agent("x86", {"onnxruntime", "null"}, {{"board", "pc"}});
  const int64_t for_rpi = Task("tflite", "rpi");
  const int64_t for_pc_label = Task("null", "", {{"board", "pc"}});
  const int64_t wrong_runtime = Task("onnxruntime", "rpi");
  auto leased = store_->LeaseTask(x86, 1000);
  ASSERT_TRUE(leased);
  EXPECT_EQ(leased->id, for_pc_label);
  EXPECT_EQ(leased->state, "assigned");
  EXPECT_EQ(leased->attempts, 1);
  EXPECT_FALSE(store_->LeaseTask(x86, 1000));  // the rest are for rpi
  leased = store_->LeaseTask(rpi, 1000);
  ASSERT_TRUE(leased);
  EXPECT_EQ(leased->id, for_rpi);
  EXPECT_FALSE(store_->LeaseTask(rpi, 1000));  // rpi lacks onnxruntime
  EXPECT_EQ(store_->GetTask(wrong_runtime)->state, "queued");
}

TEST_P(StoreTest, ExpiredLeaseRequeuesThenFails) {
  const AgentRow agent = Agent("a", {"null"});
  const int64_t id = Task("null", "a");
  ASSERT_TRUE(store_->LeaseTask(agent, 1));
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(store_->ExpireLeases(2), 1);
  EXPECT_EQ(store_->GetTask(id)->state, "queued");
  EXPECT_FALSE(store_->GetTask(id)->agent_id.has_value());
  ASSERT_TRUE(store_->LeaseTask(agent, 1));
  EXPECT_EQ(store_->GetTask(id)->attempts, 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(store_->ExpireLeases(2), 1);
  EXPECT_EQ(store_->GetTask(id)->state, "failed");
  EXPECT_EQ(store_->ExpireLeases(2), 0);
}

TEST_P(StoreTest, HeartbeatRenewsAndResultIsStoredOnce) {
  const AgentRow agent = Agent("a", {"null"});
  const AgentRow other = Agent("b", {"null"});
  const int64_t id = Task("null", "a");
  EXPECT_EQ(store_->Heartbeat(id, agent.id, 1000).error().status, 409);  // not leased yet
  ASSERT_TRUE(store_->LeaseTask(agent, 1000));
  auto running = store_->Heartbeat(id, agent.id, 60000);
  ASSERT_TRUE(running.ok());
  EXPECT_EQ(running->state, "running");
  EXPECT_FALSE(running->started_at.empty());
  EXPECT_EQ(store_->Heartbeat(id, other.id, 1000).error().status, 409);
  EXPECT_EQ(store_->Heartbeat(999, agent.id, 1000).error().status, 404);
  const json document = {{"schema", "edgebench.result/1"}, {"runs", 3}};
  auto first = store_->StoreResult(id, agent.id, document, false, "succeeded", "");
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->stored);
  EXPECT_EQ(first->task.state, "succeeded");  // the task after
  EXPECT_TRUE(first->task.has_result);
  EXPECT_EQ(first->task.result_attempts, 1);
  EXPECT_EQ(first->task.agent_name, "a");
  EXPECT_EQ(first->task.model_format, "onnx");
  EXPECT_FALSE(first->task.finished_at.empty());
  auto again = store_->StoreResult(id, agent.id, {{"runs", 4}}, false, "failed", "x");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->stored);
  EXPECT_EQ(again->document, document);
  EXPECT_EQ(store_->StoreResult(id, other.id, document, false, "succeeded", "").error().status, 409);
  EXPECT_EQ(store_->CountResults(id), 1);
  EXPECT_EQ(store_->GetTask(id)->state, "succeeded");
  EXPECT_EQ(store_->CancelTask(id).error().status, 409);
}

TEST_P(StoreTest, CancelledTaskCannotBeRenewedOrFinished) {
  const AgentRow agent = Agent("a", {"null"});
  const int64_t id = Task("null", "a");
  ASSERT_TRUE(store_->LeaseTask(agent, 60000));
  ASSERT_TRUE(store_->CancelTask(id).ok());
  EXPECT_EQ(store_->Heartbeat(id, agent.id, 1000).error().status, 409);
  EXPECT_EQ(store_->StoreResult(id, agent.id, json::object(), false, "succeeded", "").error().status, 409);
  EXPECT_EQ(store_->GetTask(id)->state, "cancelled");
}

TEST_P(StoreTest, ReopeningKeepsStateAndChecksTheSchemaVersion) {
  const std::string path = NewDatabase();
  {
    auto store = Store::Open(path);
    ASSERT_TRUE(store.ok());
    store.value()->AddToken("hash", TokenKind::kAdmin, "admin");
  }
  auto reopened = Store::Open(path);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  auto token = reopened.value()->FindCredential("hash");
  ASSERT_TRUE(token);
  EXPECT_EQ(token->token.kind, TokenKind::kAdmin);
  EXPECT_FALSE(reopened.value()->FindCredential("other"));
}

TEST_P(StoreTest, JobCreatesItsTasksAndCountsTheirStates) {
  const AgentRow agent = Agent("a", {"null", "onnxruntime"});
  std::vector<NewTask> tasks(3);
  for (size_t i = 0; i < tasks.size(); ++i) {
    tasks[i].model_sha256 = std::string(64, 'a');
    tasks[i].runtime = i == 2 ? "onnxruntime" : "null";
    tasks[i].device = "a";
    tasks[i].owner = "alice";
  }
  const json request = {{"models", {std::string(64, 'a')}}, {"runtimes", {"null", "onnxruntime"}}};
  const int64_t job = store_->CreateJob("alice", request, tasks);
  auto row = store_->GetJob(job);
  ASSERT_TRUE(row);
  EXPECT_EQ(row->owner, "alice");
  EXPECT_EQ(row->request, request);
  EXPECT_EQ(row->tasks, 3);
  EXPECT_EQ(row->state_counts, (std::map<std::string, int>{{"queued", 3}}));
  const std::vector<TaskRow> listed = store_->ListJobTasks(job);
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_LT(listed[0].id, listed[1].id);
  EXPECT_LT(listed[1].id, listed[2].id);
  EXPECT_EQ(listed[2].runtime, "onnxruntime");

  // One task finishes, one fails: the counts and the job's results follow.
  auto first = store_->LeaseTask(agent, 60000);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->id, listed[0].id);  // oldest first
  ASSERT_TRUE(store_->StoreResult(first->id, agent.id, {{"runs", 3}}, false, "succeeded", "").ok());
  auto second = store_->LeaseTask(agent, 60000);
  ASSERT_TRUE(second);
  ASSERT_TRUE(store_->StoreResult(second->id, agent.id, {{"runs", 0}}, false, "failed", "load").ok());
  row = store_->GetJob(job);
  EXPECT_EQ(row->state_counts, (std::map<std::string, int>{{"failed", 1}, {"queued", 1}, {"succeeded", 1}}));
  const auto results = store_->JobResults(job);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].first, listed[0].id);
  EXPECT_EQ(results[0].second, (json{{"runs", 3}}));

  // Owners see their own jobs, newest first; "" sees all.
  const int64_t other = store_->CreateJob("bob", json::object(), {tasks[0]});
  EXPECT_EQ(store_->ListJobs("alice", 10).size(), 1u);
  const auto all = store_->ListJobs("", 10);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, other);
  EXPECT_FALSE(store_->GetJob(other + 1));
}

// A device in maintenance or bad gets no task; health checks are scheduled once per period for
// good devices seen lately, and a failed one marks the device bad until it is reset.
TEST_P(StoreTest, HealthChecksAndMaintenanceDecideWhatIsScheduled) {
  const AgentRow agent = Agent("a", {"null"});
  const AgentRow other = Agent("b", {"null"});
  const int64_t id = Task("null", "a");
  ASSERT_TRUE(store_->SetMaintenance("a", true));
  EXPECT_TRUE(store_->FindAgent("a")->maintenance);
  EXPECT_FALSE(store_->LeaseTask(agent, 1000));
  ASSERT_TRUE(store_->SetMaintenance("a", false));
  EXPECT_FALSE(store_->SetMaintenance("nobody", true));

  const auto checks_for = [](const AgentRow& device) {
    NewTask task;
    task.model_sha256 = std::string(64, 'a');
    task.runtime = "null";
    task.device = device.name;
    task.owner = "health-check";
    return std::vector<NewTask>{task};
  };
  const int64_t now = NowMs();
  EXPECT_EQ(store_->ScheduleHealthChecks(now - 60000, now - 60000, checks_for), 2);  // a and b
  EXPECT_EQ(store_->ScheduleHealthChecks(now - 60000, now - 60000, checks_for), 0);  // not due again
  const auto history = store_->HealthChecks("a", "", 10);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].verdict, "pending");
  EXPECT_EQ(history[0].runtime, "null");
  const int64_t check = history[0].task_id;
  EXPECT_EQ(store_->FindHealthCheck(check)->device, "a");
  EXPECT_FALSE(store_->FindHealthCheck(id));

  store_->FinishHealthCheck(check, false, {{"reason", "the run failed"}});
  const AgentRow bad = *store_->FindAgent("a");
  EXPECT_EQ(bad.health, "bad");
  EXPECT_NE(bad.health_reason.find("the run failed"), std::string::npos) << bad.health_reason;
  EXPECT_EQ(store_->HealthChecks("a", "", 10)[0].verdict, "failed");
  EXPECT_FALSE(store_->LeaseTask(agent, 1000));  // out of scheduling
  EXPECT_EQ(store_->GetTask(id)->state, "queued");
  ASSERT_TRUE(store_->ResetHealth("a"));
  EXPECT_EQ(store_->FindAgent("a")->health, "good");
  auto leased = store_->LeaseTask(agent, 1000);
  ASSERT_TRUE(leased);
  EXPECT_EQ(leased->id, id);
  EXPECT_TRUE(store_->FindAgent("a")->busy);
  EXPECT_FALSE(store_->FindAgent("b")->busy);
  // Passed checks of a runtime are the latency history.
  const int64_t other_check = store_->HealthChecks("b", "", 10)[0].task_id;
  store_->FinishHealthCheck(other_check, true, {{"p50_ms", 1.5}});
  EXPECT_EQ(store_->FindAgent("b")->health, "good");
  const auto passed = store_->HealthChecks("b", "null", 10);
  ASSERT_EQ(passed.size(), 1u);
  EXPECT_EQ(passed[0].detail["p50_ms"], 1.5);
  EXPECT_TRUE(store_->HealthChecks("a", "null", 10).empty());
}

// Issue 18, defects 2 and 7: a second registration of a name replaced the first's token.
TEST_P(StoreTest, ANameIsRegisteredOnceUnlessTheCallerMayReplaceIt) {
  const json facts = {{"runtimes", json::array()}};
  std::vector<std::thread> racers;
  std::atomic<int> created = 0, conflicts = 0;
  for (int i = 0; i < 50; ++i) {
    racers.emplace_back([&, i] {
      auto id = store_->RegisterAgent("dev1", facts, json::object(), "token-" + std::to_string(i), false);
      if (id.ok()) ++created;
      if (!id.ok() && id.error().status == 409) ++conflicts;
    });
  }
  for (auto& racer : racers) racer.join();
  EXPECT_EQ(created, 1);
  EXPECT_EQ(conflicts, 49);
  auto again = store_->RegisterAgent("dev1", facts, json::object(), "token-x", false);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("current token"), std::string::npos) << again.error().message;
  EXPECT_FALSE(store_->FindCredential("token-x"));
  // The holder of the current token (or the admin) replaces it: the old token dies.
  const auto winner = store_->FindAgent("dev1");
  ASSERT_TRUE(store_->RegisterAgent("dev1", facts, json::object(), "token-y", true).ok());
  EXPECT_EQ(store_->FindAgent("dev1")->id, winner->id);
  EXPECT_EQ(store_->FindCredential("token-y")->token.subject, "dev1");
  int live = 0;
  for (int i = 0; i < 50; ++i) live += store_->FindCredential("token-" + std::to_string(i)) ? 1 : 0;
  EXPECT_EQ(live, 0);
}

// A token and its agent in one read, kept for the cache's time: until this store registers an
// agent (a replacement elsewhere goes unseen meanwhile; servers hear of it by notification).
TEST_P(StoreTest, CredentialsAreKeptUntilARegistration) {
  const AgentRow a = Agent("a", {"null"}, {{"board", "pc"}});
  store_->AddToken("user-hash", TokenKind::kUser, "alice");
  store_->SetTokenCacheMs(60000);
  auto credential = store_->FindCredential("token-a");
  ASSERT_TRUE(credential);
  EXPECT_EQ(credential->token.kind, TokenKind::kAgent);
  ASSERT_TRUE(credential->agent);
  EXPECT_EQ(credential->agent->id, a.id);
  EXPECT_EQ(credential->agent->labels, a.labels);
  credential = store_->FindCredential("user-hash");
  ASSERT_TRUE(credential);
  EXPECT_EQ(credential->token.subject, "alice");
  EXPECT_FALSE(credential->agent);
  EXPECT_FALSE(store_->FindCredential("unknown"));

  auto opened = Store::Open(location_);  // another server on the same database
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  Store& other = *opened.value();
  ASSERT_TRUE(other.RegisterAgent("a", {{"runtimes", json::array()}}, json::object(), "token-a2", true).ok());
  EXPECT_EQ(store_->FindCredential("token-a")->agent->id, a.id);  // kept
  Agent("b", {"null"});                                           // a registration here
  EXPECT_FALSE(store_->FindCredential("token-a"));
  EXPECT_EQ(store_->FindCredential("token-a2")->agent->facts["runtimes"], json::array());
  store_->SetTokenCacheMs(0);  // not kept: the other's replacement is seen at once
  ASSERT_TRUE(other.RegisterAgent("a", {{"runtimes", json::array()}}, json::object(), "token-a3", true).ok());
  EXPECT_FALSE(store_->FindCredential("token-a2"));
}

// A lease takes the oldest queued task that scheduler.h's CanRun lets the agent run, a rule the
// lease's SQL restates: the named device or a selector within the labels, a runtime offered
// (its first entry) and, where it lists formats, the model's format among them.
TEST_P(StoreTest, LeaseFollowsCanRun) {
  store_->AddModel({std::string(64, 'b'), 10, "tflite", "m.tflite", ""});
  const json facts = {{"runtimes",
                       {{{"name", "tflite"}, {"version", "1"}, {"formats", {"tflite"}}},
                        {{"name", "onnxruntime"}, {"version", "1"}},
                        {{"name", "tflite"}, {"version", "2"}, {"formats", {"onnx"}}}}}};
  ASSERT_TRUE(store_->RegisterAgent("pi", facts, {{"board", "rpi4"}, {"site", "lab 'b'"}}, "token-pi", true).ok());
  const AgentRow pi = *store_->FindAgent("pi");
  const AgentRow other = Agent("other", {"tflite", "onnxruntime"}, {{"board", "rpi4"}});
  const std::vector<std::pair<std::string, json>> targets = {
      {"pi", json::object()},           {"other", json::object()},
      {"", json::object()},             {"", {{"board", "rpi4"}}},
      {"", {{"board", "rpi4"}, {"site", "lab 'b'"}}}, {"", {{"board", "pc"}}},
      {"", {{"site", "lab 'b'"}}},      {"", {{"site", "lab"}}},
      {"", {{"rack", "1"}}}};
  std::vector<int64_t> ids;
  for (const std::string model : {std::string(64, 'a'), std::string(64, 'b')}) {  // ONNX, TFLite
    for (const std::string runtime : {"tflite", "onnxruntime", "null"}) {
      for (const auto& [device, selector] : targets) {
        NewTask task;
        task.model_sha256 = model;
        task.runtime = runtime;
        task.device = device;
        task.selector = selector;
        task.owner = "admin";
        ids.push_back(store_->CreateTask(task));
      }
    }
  }
  int leased_count = 0;
  for (const AgentRow* agent : {&pi, &other}) {
    for (;;) {
      std::optional<int64_t> expected;
      for (const int64_t id : ids) {
        const TaskRow task = *store_->GetTask(id);
        if (task.state == "queued" && CanRun(*agent, PlacementOf(task))) {
          expected = id;
          break;
        }
      }
      const auto leased = store_->LeaseTask(*agent, 60000);
      ASSERT_EQ(leased.has_value(), expected.has_value()) << agent->name << " leased " << (leased ? leased->id : 0);
      if (!leased) break;
      EXPECT_EQ(leased->id, *expected) << agent->name;
      EXPECT_EQ(leased->agent_name, agent->name);
      ++leased_count;
    }
  }
  EXPECT_GT(leased_count, 10);
  EXPECT_LT(leased_count, static_cast<int>(ids.size()));
}

TEST_P(StoreTest, UserNamesAreUniqueAndTheAdminsIsTaken) {
  store_->AddToken("admin-hash", TokenKind::kAdmin, "admin");
  EXPECT_FALSE(store_->AddUser("alice-hash", "alice"));
  auto twice = store_->AddUser("alice-hash-2", "alice");
  ASSERT_TRUE(twice);
  EXPECT_EQ(twice->status, 409);
  auto admin = store_->AddUser("admin-2", "admin");
  ASSERT_TRUE(admin);
  EXPECT_EQ(admin->status, 409);
  EXPECT_FALSE(store_->FindCredential("alice-hash-2"));
}

// Issue 18, defect 6: pages and filters of the task list.
TEST_P(StoreTest, TaskListsArePagedAndFiltered) {
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Task("null", "dev1"));
  ASSERT_TRUE(store_->CancelTask(ids[1]).ok());
  TaskQuery query;
  query.limit = 2;
  auto page = store_->ListTasks(query);
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].id, ids[4]);
  EXPECT_EQ(page[1].id, ids[3]);
  query.before_id = page[1].id;
  page = store_->ListTasks(query);
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].id, ids[2]);
  query.before_id.reset();
  query.state = "cancelled";
  page = store_->ListTasks(query);
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].id, ids[1]);
  query.state.clear();
  query.owner = "bob";
  EXPECT_TRUE(store_->ListTasks(query).empty());
  query.owner.clear();
  const int64_t job = store_->CreateJob("admin", json::object(), {NewTask{std::string(64, 'a'), "null", "dev1", "admin"}});
  query.job_id = job;
  query.limit = 10;
  page = store_->ListTasks(query);
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].job_id, job);
}

// Runs SQL on a closed store's database file.
void ExecSql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

// Undoes migrations 6 to 9 (repeated results ... conversion leases) of the database at `path`:
// what a version-5 server left.
void RevertToSchema5(const std::string& path) {
  ExecSql(path, "DROP TABLE conversion_leases; DROP INDEX tasks_by_agent; "
                "DROP TABLE health_checks; ALTER TABLE agents DROP COLUMN health; "
                "ALTER TABLE agents DROP COLUMN health_reason; ALTER TABLE agents DROP COLUMN maintenance; "
                "ALTER TABLE tasks DROP COLUMN compare; DROP TABLE repeated_results; "
                "ALTER TABLE tasks DROP COLUMN repeat_invalid; UPDATE schema_version SET version = 5;");
}

TEST(SqliteStoreTest, SchemaVersion1DatabaseIsMigratedWithItsTasks) {
  const std::string path = testing::MakeTempDir() + "/edgebench.db";
  int64_t old_task = 0;
  {
    auto store = Store::Open(path);
    ASSERT_TRUE(store.ok());
    store.value()->AddModel({std::string(64, 'b'), 10, "onnx", "m.onnx", ""});
    NewTask task;
    task.model_sha256 = std::string(64, 'b');
    task.runtime = "null";
    task.device = "a";
    task.owner = "admin";
    old_task = store.value()->CreateTask(task);
  }
  // What a version-1 server left: no jobs table, no tasks.job_id.
  RevertToSchema5(path);
  ExecSql(path, "DROP TABLE conversions; DROP INDEX tasks_by_job; ALTER TABLE tasks DROP COLUMN job_id; "
                "DROP INDEX tasks_by_conversion; ALTER TABLE tasks DROP COLUMN conversion_target; "
                "ALTER TABLE tasks DROP COLUMN conversion_precision; "
                "DROP TABLE jobs; UPDATE schema_version SET version = 1;");
  auto migrated = Store::Open(path);
  ASSERT_TRUE(migrated.ok()) << migrated.error().message;
  auto task = migrated.value()->GetTask(old_task);
  ASSERT_TRUE(task);
  EXPECT_EQ(task->state, "queued");
  NewTask next;
  next.model_sha256 = std::string(64, 'b');
  next.runtime = "null";
  next.device = "a";
  next.owner = "admin";
  const int64_t job = migrated.value()->CreateJob("admin", json::object(), {next});
  EXPECT_EQ(migrated.value()->GetJob(job)->tasks, 1);
  migrated.value()->AddConversion({std::string(64, 'b'), "tflite", "int8", "2", std::string(64, 'b'), json::object()});
  EXPECT_TRUE(migrated.value()->FindConversion(std::string(64, 'b'), "tflite", "int8", "2"));
  EXPECT_FALSE(migrated.value()->FindConversion(std::string(64, 'b'), "tflite", "fp32", "2"));
}

// Schema 5 rebuilds the tasks table (state converting): tasks and their results are kept.
TEST(SqliteStoreTest, SchemaVersion4DatabaseIsMigratedWithItsTasksAndResults) {
  const std::string path = testing::MakeTempDir() + "/edgebench.db";
  const std::string sha(64, 'b');
  int64_t old_task = 0;
  {
    auto store = Store::Open(path);
    ASSERT_TRUE(store.ok());
    store.value()->AddModel({sha, 10, "onnx", "m.onnx", ""});
    ASSERT_TRUE(store.value()->RegisterAgent("a", {{"runtimes", {{{"name", "null"}}}}}, json::object(), "token-a", false).ok());
    NewTask task;
    task.model_sha256 = sha;
    task.runtime = "null";
    task.device = "a";
    task.owner = "admin";
    old_task = store.value()->CreateTask(task);
    const AgentRow agent = *store.value()->FindAgent("a");
    ASSERT_TRUE(store.value()->LeaseTask(agent, 60000));
    ASSERT_TRUE(store.value()->StoreResult(old_task, agent.id, {{"runs", 3}}, false, "succeeded", "").ok());
  }
  // The tasks table of a version-4 server: no state converting, no conversion columns.
  RevertToSchema5(path);
  ExecSql(path, R"sql(
DROP INDEX tasks_by_conversion;
CREATE TABLE tasks_v4 (
  id INTEGER PRIMARY KEY, model_sha256 TEXT NOT NULL REFERENCES models (sha256), runtime TEXT NOT NULL,
  device TEXT NOT NULL, selector TEXT NOT NULL, settings TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('queued', 'assigned', 'running', 'succeeded', 'failed', 'cancelled',
                                       'timed_out')),
  attempts INTEGER NOT NULL DEFAULT 0, agent_id INTEGER REFERENCES agents (id),
  lease_deadline_ms INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, assigned_at TEXT NOT NULL DEFAULT '',
  started_at TEXT NOT NULL DEFAULT '', finished_at TEXT NOT NULL DEFAULT '', error TEXT NOT NULL DEFAULT '',
  owner TEXT NOT NULL, job_id INTEGER REFERENCES jobs (id));
INSERT INTO tasks_v4 SELECT id, model_sha256, runtime, device, selector, settings, state, attempts, agent_id,
  lease_deadline_ms, created_at, assigned_at, started_at, finished_at, error, owner, job_id FROM tasks;
DROP TABLE tasks;
ALTER TABLE tasks_v4 RENAME TO tasks;
CREATE INDEX tasks_by_state ON tasks (state, id);
CREATE INDEX tasks_by_job ON tasks (job_id, id);
UPDATE schema_version SET version = 4;
)sql");
  auto migrated = Store::Open(path);
  ASSERT_TRUE(migrated.ok()) << migrated.error().message;
  Store& store = *migrated.value();
  auto task = store.GetTask(old_task);
  ASSERT_TRUE(task);
  EXPECT_EQ(task->state, "succeeded");
  EXPECT_TRUE(task->has_result);
  EXPECT_EQ(task->agent_name, "a");
  EXPECT_EQ(store.GetResult(old_task), (json{{"runs", 3}}));
  NewTask converting;
  converting.model_sha256 = sha;
  converting.runtime = "tflite";
  converting.device = "a";
  converting.owner = "admin";
  converting.conversion = ConversionKey{sha, "tflite", "int8"};
  const int64_t id = store.CreateTask(converting);
  EXPECT_EQ(store.GetTask(id)->state, "converting");
  EXPECT_EQ(store.UnclaimedConversions(), std::vector<ConversionKey>{*converting.conversion});
}

// Schema 6 adds repeated results: a version-5 task keeps its one result, its first attempt.
TEST(SqliteStoreTest, SchemaVersion5DatabaseIsMigratedWithItsResults) {
  const std::string path = testing::MakeTempDir() + "/edgebench.db";
  int64_t old_task = 0;
  {
    auto store = Store::Open(path);
    ASSERT_TRUE(store.ok());
    store.value()->AddModel({std::string(64, 'b'), 10, "onnx", "m.onnx", ""});
    ASSERT_TRUE(store.value()->RegisterAgent("a", {{"runtimes", {{{"name", "null"}}}}}, json::object(), "token-a", false).ok());
    NewTask task;
    task.model_sha256 = std::string(64, 'b');
    task.runtime = "null";
    task.device = "a";
    task.owner = "admin";
    old_task = store.value()->CreateTask(task);
    const AgentRow agent = *store.value()->FindAgent("a");
    ASSERT_TRUE(store.value()->LeaseTask(agent, 60000));
    ASSERT_TRUE(store.value()->StoreResult(old_task, agent.id, {{"runs", 3}}, false, "succeeded", "").ok());
  }
  RevertToSchema5(path);
  auto migrated = Store::Open(path);
  ASSERT_TRUE(migrated.ok()) << migrated.error().message;
  Store& store = *migrated.value();
  auto task = store.GetTask(old_task);
  ASSERT_TRUE(task);
  EXPECT_EQ(task->state, "succeeded");
  EXPECT_EQ(task->repeat_invalid, 0);
  EXPECT_EQ(task->result_attempts, 1);
  EXPECT_EQ(store.GetResult(old_task), (json{{"runs", 3}}));
  const auto attempts = store.ResultAttempts(old_task);
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].attempt, 1);
  EXPECT_TRUE(attempts[0].is_result);
  EXPECT_EQ(attempts[0].agent_name, "a");
  EXPECT_EQ(attempts[0].document, (json{{"runs", 3}}));
}

// An INVALID result with repeats left queues the task again for any agent and is kept; the
// last run's document becomes the result once the repeats are used up.
TEST_P(StoreTest, InvalidResultIsRepeatedUntilTheRepeatsAreUsedUp) {
  const AgentRow a = Agent("a", {"null"}, {{"any", "1"}});
  const AgentRow b = Agent("b", {"null"}, {{"any", "1"}});
  NewTask task;
  task.model_sha256 = std::string(64, 'a');
  task.runtime = "null";
  task.selector = {{"any", "1"}};
  task.owner = "admin";
  task.repeat_invalid = 2;
  const int64_t id = store_->CreateTask(task);
  ASSERT_TRUE(store_->LeaseTask(a, 60000));
  auto first = store_->StoreResult(id, a.id, {{"run", 1}}, true, "succeeded", "");
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->stored);
  EXPECT_EQ(first->task.state, "queued");
  TaskRow queued = *store_->GetTask(id);
  EXPECT_EQ(queued.state, "queued");
  EXPECT_FALSE(queued.agent_id.has_value());
  EXPECT_FALSE(queued.has_result);
  EXPECT_EQ(queued.result_attempts, 1);
  EXPECT_EQ(queued.error, "result of attempt 1 of 3 INVALID; re-queued");
  // The same upload again (its answer lost) is answered with what was kept; nothing changes.
  auto again = store_->StoreResult(id, a.id, {{"run", 1}}, true, "succeeded", "");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->stored);
  EXPECT_EQ(store_->GetTask(id)->result_attempts, 1);
  EXPECT_EQ(store_->StoreResult(id, b.id, {{"run", 1}}, true, "succeeded", "").error().status, 409);

  ASSERT_TRUE(store_->LeaseTask(b, 60000));
  ASSERT_TRUE(store_->StoreResult(id, b.id, {{"run", 2}}, true, "succeeded", "").ok());
  EXPECT_EQ(store_->GetTask(id)->state, "queued");
  ASSERT_TRUE(store_->LeaseTask(a, 60000));
  ASSERT_TRUE(store_->StoreResult(id, a.id, {{"run", 3}}, true, "succeeded", "").ok());
  const TaskRow done = *store_->GetTask(id);
  EXPECT_EQ(done.state, "succeeded");
  EXPECT_EQ(done.error, "");
  EXPECT_EQ(done.attempts, 3);
  EXPECT_EQ(done.result_attempts, 3);
  EXPECT_EQ(store_->GetResult(id), (json{{"run", 3}}));
  const auto attempts = store_->ResultAttempts(id);
  ASSERT_EQ(attempts.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(attempts[i].attempt, i + 1);
    EXPECT_EQ(attempts[i].document, (json{{"run", i + 1}}));
    EXPECT_EQ(attempts[i].is_result, i == 2);
    EXPECT_EQ(attempts[i].agent_name, i == 1 ? "b" : "a");
  }
}

TEST_P(StoreTest, ValidResultEndsTheRepeats) {
  const AgentRow agent = Agent("a", {"null"});
  NewTask task;
  task.model_sha256 = std::string(64, 'a');
  task.runtime = "null";
  task.device = "a";
  task.owner = "admin";
  task.repeat_invalid = 2;
  const int64_t id = store_->CreateTask(task);
  ASSERT_TRUE(store_->LeaseTask(agent, 60000));
  ASSERT_TRUE(store_->StoreResult(id, agent.id, {{"run", 1}}, true, "succeeded", "").ok());
  ASSERT_TRUE(store_->LeaseTask(agent, 60000));
  ASSERT_TRUE(store_->StoreResult(id, agent.id, {{"run", 2}}, false, "succeeded", "").ok());
  EXPECT_EQ(store_->GetTask(id)->state, "succeeded");
  EXPECT_EQ(store_->GetTask(id)->result_attempts, 2);
  EXPECT_EQ(store_->GetResult(id), (json{{"run", 2}}));
  EXPECT_FALSE(store_->LeaseTask(agent, 60000));
}

// --max-attempts counts leases lost without a result, not the leases of repeated runs.
TEST_P(StoreTest, RepeatedRunsDoNotCountAsExpiredLeases) {
  const AgentRow agent = Agent("a", {"null"});
  NewTask task;
  task.model_sha256 = std::string(64, 'a');
  task.runtime = "null";
  task.device = "a";
  task.owner = "admin";
  task.repeat_invalid = 1;
  const int64_t id = store_->CreateTask(task);
  ASSERT_TRUE(store_->LeaseTask(agent, 60000));
  ASSERT_TRUE(store_->StoreResult(id, agent.id, {{"run", 1}}, true, "succeeded", "").ok());
  ASSERT_TRUE(store_->LeaseTask(agent, 1));
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(store_->ExpireLeases(2), 1);
  EXPECT_EQ(store_->GetTask(id)->state, "queued");
  ASSERT_TRUE(store_->LeaseTask(agent, 1));
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(store_->ExpireLeases(2), 1);
  EXPECT_EQ(store_->GetTask(id)->state, "failed");
  EXPECT_EQ(store_->GetTask(id)->error, "lease expired 2 times (agent lost); giving up");
}

// A task that waits for a conversion is not leased; cancelled, it leaves the stage; finished,
// it runs the converted model.
TEST_P(StoreTest, ConvertingTaskIsLeasedOnlyOnceConverted) {
  const AgentRow lite = Agent("lite", {"tflite"});
  store_->AddModel({std::string(64, 'c'), 10, "tflite", "m.tflite", ""});
  const ConversionKey key{std::string(64, 'a'), "tflite", "fp32"};
  const NewTask task = WaitingForConversion(key);
  const int64_t cancelled = store_->CreateTask(task);
  const int64_t id = store_->CreateTask(task);
  EXPECT_FALSE(store_->LeaseTask(lite, 1000));
  ASSERT_TRUE(store_->CancelTask(cancelled).ok());
  EXPECT_EQ(store_->UnclaimedConversions(), std::vector<ConversionKey>{key});
  const auto changed = store_->FinishConversion(key, std::string(64, 'c'), "");
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].id, id);
  EXPECT_EQ(changed[0].state, "queued");
  EXPECT_EQ(changed[0].model_format, "tflite");
  EXPECT_FALSE(store_->ClaimConversion(key, 60000));  // no task waits for it any more
  EXPECT_TRUE(store_->UnclaimedConversions().empty());
  auto leased = store_->LeaseTask(lite, 1000);
  ASSERT_TRUE(leased);
  EXPECT_EQ(leased->id, id);
  EXPECT_EQ(leased->model_sha256, std::string(64, 'c'));
  EXPECT_EQ(store_->GetTask(cancelled)->state, "cancelled");

  const int64_t failing = store_->CreateTask(task);
  const auto failed = store_->FinishConversion(key, "", "conversion to tflite at fp32: cannot convert");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(store_->GetTask(failing)->state, "failed");
  EXPECT_EQ(store_->GetTask(failing)->error, "conversion to tflite at fp32: cannot convert");
}

// A conversion is one server's while its lease runs: the others neither claim nor list it; once
// the lease runs out (its server died: no renewal), another server takes it over.
TEST_P(StoreTest, ConversionIsOneServersUntilItsLeaseRunsOut) {
  store_->AddModel({std::string(64, 'c'), 10, "tflite", "m.tflite", ""});
  const ConversionKey key{std::string(64, 'a'), "tflite", "fp32"};
  const NewTask task = WaitingForConversion(key);
  const int64_t id = store_->CreateTask(task);
  EXPECT_EQ(store_->UnclaimedConversions(), std::vector<ConversionKey>{key});
  ASSERT_TRUE(store_->ClaimConversion(key, 60000));
  EXPECT_TRUE(store_->UnclaimedConversions().empty());
  EXPECT_TRUE(store_->ClaimConversion(key, 60000));  // its own lease: claimed again
  store_->RenewConversions(60000);
  if (GetParam() == "postgresql") {  // another replica on the same database
    auto opened = Store::Open(location_);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    Store& other = *opened.value();
    EXPECT_FALSE(other.ClaimConversion(key, 60000));
    EXPECT_TRUE(other.UnclaimedConversions().empty());
    ASSERT_TRUE(store_->ClaimConversion(key, -1));  // a lease that ran out, not renewed since
    EXPECT_EQ(other.UnclaimedConversions(), std::vector<ConversionKey>{key});
    ASSERT_TRUE(other.ClaimConversion(key, 60000));
    store_->RenewConversions(60000);  // renews only its own leases
    EXPECT_FALSE(store_->ClaimConversion(key, 60000));
    EXPECT_EQ(other.FinishConversion(key, std::string(64, 'c'), "").size(), 1u);
  } else {  // one server per SQLite file: a restart voids the leases of the run before
    store_.reset();
    auto reopened = Store::Open(location_);
    ASSERT_TRUE(reopened.ok()) << reopened.error().message;
    store_ = std::move(reopened.value());
    EXPECT_EQ(store_->UnclaimedConversions(), std::vector<ConversionKey>{key});
    EXPECT_EQ(store_->FinishConversion(key, std::string(64, 'c'), "").size(), 1u);
  }
  EXPECT_EQ(store_->GetTask(id)->state, "queued");
  EXPECT_TRUE(store_->UnclaimedConversions().empty());
  EXPECT_FALSE(store_->ClaimConversion(key, 60000));  // finished: no task waits for it
}

TEST(SqliteStoreTest, DatabaseFromANewerServerIsRefused) {
  const std::string path = testing::MakeTempDir() + "/edgebench.db";
  ASSERT_TRUE(Store::Open(path).ok());
  ExecSql(path, "UPDATE schema_version SET version = 99;");
  auto refused = Store::Open(path);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().status, 500);
  EXPECT_NE(refused.error().message.find("schema version 99"), std::string::npos) << refused.error().message;
}

}  // namespace
}  // namespace edgebench::server
