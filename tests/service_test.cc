// End-to-end tests of the evaluation service: a real `edgebench server`, real agents and the
// client commands, as processes on loopback. Bad-input answers are checked with httplib.
#include <fcntl.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include <gtest/gtest.h>

#include "testing/process.h"
#include "testing/test_models.h"

namespace edgebench {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// A child process left running in the background (server, agent); killed when destroyed.
class Background {
 public:
  // stdout goes to a pipe (read with ReadLine) when `pipe_stdout`, else with stderr to `log_path`.
  Background(const std::vector<std::string>& argv, const std::string& log_path, bool pipe_stdout) {
    int fds[2] = {-1, -1};
    if (pipe_stdout && pipe(fds) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(pipe_stdout ? fds[1] : log, STDOUT_FILENO);
      dup2(log, STDERR_FILENO);
      if (pipe_stdout) close(fds[0]);
      std::vector<char*> args;
      for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    if (pipe_stdout) {
      close(fds[1]);
      out_fd_ = fds[0];
    }
  }
  ~Background() {
    if (running()) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) close(out_fd_);
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  bool running() const { return pid_ > 0 && !exited_; }
  pid_t pid() const { return pid_; }

  // The first line of stdout, or "" after `timeout_ms`.
  std::string ReadLine(int timeout_ms) {
    std::string line;
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
      pollfd p{out_fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char c;
      if (read(out_fd_, &c, 1) != 1) break;
      if (c == '\n') return line;
      line.push_back(c);
    }
    return "";
  }

  // Exit code, or -1 when still running after `timeout_ms`.
  int Wait(int timeout_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!exited_) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
      if (Clock::now() > deadline) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return exit_code_;
  }

  void Kill(int signal) {
    kill(pid_, signal);
    Wait(10000);
  }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  bool exited_ = false;
  int exit_code_ = -1;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string Trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

testing::ProcessResult Edgebench(std::vector<std::string> args) {
  args.insert(args.begin(), EDGEBENCH_BINARY);
  return testing::RunProcess(args);
}

bool RuntimeCompiled(const std::string& name) {
  static const json listing = json::parse(Edgebench({"runtimes", "--json"}).out);
  for (const auto& runtime : listing["runtimes"]) {
    if (runtime["name"] == name) return runtime["available"].get<bool>();
  }
  return false;
}

// Settings that make a benchmark quick.
const std::vector<std::string> kQuickFlags = {"--warmup-runs", "1", "--warmup-min-ms", "0",
                                              "--min-duration-ms", "0"};

class ServiceTest : public ::testing::Test {
 protected:
  void StartServer(std::vector<std::string> extra = {}) {
    dir_ = testing::MakeTempDir();
    std::vector<std::string> argv = {EDGEBENCH_BINARY, "server", "--listen", "127.0.0.1:0", "--data", dir_ + "/data"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    server_ = std::make_unique<Background>(argv, dir_ + "/server.log", /*pipe_stdout=*/true);
    const std::string line = server_->ReadLine(10000);
    const std::string prefix = "listening on ";
    ASSERT_EQ(line.rfind(prefix, 0), 0u) << "server said '" << line << "'; log: " << ReadFile(dir_ + "/server.log");
    url_ = line.substr(prefix.size());
    admin_token_file_ = dir_ + "/data/admin.token";
    agent_token_file_ = dir_ + "/data/agent.token";
    admin_token_ = Trim(ReadFile(admin_token_file_));
    registration_token_ = Trim(ReadFile(agent_token_file_));
  }

  std::unique_ptr<Background> StartAgent(const std::string& name, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {EDGEBENCH_BINARY, "agent", "--server", url_, "--name", name,
                                     "--token-file", agent_token_file_, "--cache-dir", dir_ + "/cache-" + name,
                                     "--poll-seconds", "2"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return std::make_unique<Background>(argv, dir_ + "/agent-" + name + ".log", /*pipe_stdout=*/false);
  }

  // Waits (bounded) until the agent called `name` has registered.
  bool WaitForDevice(const std::string& name, int timeout_ms = 20000) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    auto client = Http(admin_token_);
    while (Clock::now() < deadline) {
      auto res = client.Get("/v1/devices");
      if (res && res->status == 200) {
        const json devices = json::parse(res->body)["devices"];
        for (const auto& device : devices) {
          if (device["name"] == name) return true;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  std::string AgentLog(const std::string& name) { return ReadFile(dir_ + "/agent-" + name + ".log"); }

  std::vector<std::string> ClientFlags() { return {"--server", url_, "--token-file", admin_token_file_}; }

  httplib::Client Http(const std::string& token) {
    httplib::Client client(url_);
    client.set_bearer_token_auth(token);
    client.set_read_timeout(30, 0);
    return client;
  }

  // Registers a fake agent over HTTP; returns its token.
  std::string RegisterFakeAgent(const std::string& name, json labels = json::object()) {
    auto client = Http(registration_token_);
    json body = {{"name", name},
                 {"facts", {{"arch", "x86_64"}, {"cores", 2}, {"runtimes", {{{"name", "null"}, {"version", "1"}}}}}},
                 {"labels", labels}};
    auto res = client.Post("/v1/agents", body.dump(), "application/json");
    EXPECT_TRUE(res);
    if (!res) return "";
    EXPECT_EQ(res->status, 201) << res->body;
    return json::parse(res->body)["token"].get<std::string>();
  }

  std::string UploadModel(const std::string& path) {
    auto client = Http(admin_token_);
    auto res = client.Post("/v1/models?name=tinycnn.onnx", ReadFile(path), "application/octet-stream");
    EXPECT_TRUE(res);
    if (!res) return "";
    EXPECT_EQ(res->status, 201) << res->body;
    return json::parse(res->body)["sha256"].get<std::string>();
  }

  int64_t CreateTask(const std::string& sha, const std::string& device, json settings = json::object()) {
    auto client = Http(admin_token_);
    json body = {{"model_sha256", sha}, {"runtime", "null"}, {"device", device}, {"settings", settings}};
    auto res = client.Post("/v1/tasks", body.dump(), "application/json");
    EXPECT_TRUE(res);
    if (!res) return 0;
    EXPECT_EQ(res->status, 201) << res->body;
    return json::parse(res->body)["id"].get<int64_t>();
  }

  json GetTask(int64_t id) {
    auto client = Http(admin_token_);
    auto res = client.Get(("/v1/tasks/" + std::to_string(id)).c_str());
    if (!res || res->status != 200) return nullptr;
    return json::parse(res->body);
  }

  // Polls the task until `done(task)` holds or `timeout_ms` passes; returns the last state seen.
  json WaitForTask(int64_t id, const std::function<bool(const json&)>& done, int timeout_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    json task;
    while (Clock::now() < deadline) {
      task = GetTask(id);
      if (!task.is_null() && done(task)) return task;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return task;
  }

  int CountStoredResults(int64_t task_id) {
    sqlite3* db = nullptr;
    int count = -1;
    if (sqlite3_open_v2((dir_ + "/data/edgebench.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_stmt* stmt = nullptr;
      sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM results WHERE task_id = ?", -1, &stmt, nullptr);
      sqlite3_bind_int64(stmt, 1, task_id);
      if (sqlite3_step(stmt) == SQLITE_ROW) count = sqlite3_column_int(stmt, 0);
      sqlite3_finalize(stmt);
    }
    sqlite3_close(db);
    return count;
  }

  // Checks status code and that the JSON error names the problem.
  static void ExpectError(const httplib::Result& res, int status, const std::string& fragment) {
    ASSERT_TRUE(res) << "no answer";
    EXPECT_EQ(res->status, status) << res->body;
    const json body = json::parse(res->body, nullptr, false);
    ASSERT_TRUE(body.is_object() && body.contains("error") && body["error"].is_string()) << res->body;
    EXPECT_NE(body["error"].get<std::string>().find(fragment), std::string::npos)
        << "'" << fragment << "' not in: " << body["error"];
  }

  std::string dir_, url_, admin_token_file_, agent_token_file_, admin_token_, registration_token_;
  std::unique_ptr<Background> server_;
};

// Submit with --wait through a real agent; returns the result document printed by --json.
json SubmitAndWait(const std::vector<std::string>& args, testing::ProcessResult* out) {
  *out = Edgebench(args);
  return json::parse(out->out, nullptr, false);
}

TEST_F(ServiceTest, NullRuntimeEndToEnd) {
  StartServer();
  auto agent = StartAgent("dev1", {"--once", "--label", "board=ci"});
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(model);
  std::vector<std::string> args = {"submit", model, "--runtime", "null", "--device", "dev1", "--min-runs", "7",
                                   "--wait", "--wait-timeout", "60", "--json"};
  // The agent registers asynchronously: a submit before that is refused (422).
  ASSERT_TRUE(WaitForDevice("dev1")) << AgentLog("dev1");
  testing::ProcessResult submit;
  auto full = args;
  full.insert(full.end(), kQuickFlags.begin(), kQuickFlags.end());
  for (const auto& flag : ClientFlags()) full.push_back(flag);
  json document = SubmitAndWait(full, &submit);
  ASSERT_EQ(submit.exit_code, 0) << submit.err << "\nagent: " << AgentLog("dev1");
  ASSERT_TRUE(document.is_object()) << submit.out;
  EXPECT_EQ(document["schema"], "edgebench.result/1");
  EXPECT_EQ(document["runs"], 7);
  EXPECT_EQ(document["runtime"]["name"], "null");
  EXPECT_TRUE(document["error"].is_null());
  EXPECT_NE(submit.err.find("succeeded"), std::string::npos) << submit.err;
  EXPECT_EQ(agent->Wait(20000), 0) << AgentLog("dev1");

  // The other client commands see the same task and result.
  auto tasks = Edgebench({"tasks", "--json", "--server", url_, "--token-file", admin_token_file_});
  ASSERT_EQ(tasks.exit_code, 0) << tasks.err;
  const json listing = json::parse(tasks.out);
  ASSERT_EQ(listing.size(), 1u);
  EXPECT_EQ(listing[0]["state"], "succeeded");
  EXPECT_EQ(listing[0]["attempts"], 1);
  EXPECT_EQ(listing[0]["agent"], "dev1");
  auto result = Edgebench({"result", std::to_string(listing[0]["id"].get<int64_t>()), "--json", "--server", url_,
                           "--token-file", admin_token_file_});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(json::parse(result.out), document);
  auto table = Edgebench({"result", std::to_string(listing[0]["id"].get<int64_t>()), "--server", url_,
                          "--token-file", admin_token_file_});
  EXPECT_NE(table.out.find("latency (ms)"), std::string::npos) << table.out;
  auto devices = Edgebench({"devices", "--json", "--server", url_, "--token-file", admin_token_file_});
  ASSERT_EQ(devices.exit_code, 0) << devices.err;
  const json device = json::parse(devices.out)[0];
  EXPECT_EQ(device["name"], "dev1");
  EXPECT_EQ(device["labels"]["board"], "ci");
  EXPECT_GT(device["facts"]["cores"].get<int>(), 0);
  EXPECT_FALSE(device["facts"]["runtimes"].empty());
}

TEST_F(ServiceTest, OnnxruntimeEndToEndWithSelector) {
  if (!RuntimeCompiled("onnxruntime")) GTEST_SKIP() << "onnxruntime is not compiled in this build";
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(model);
  StartServer();
  auto agent = StartAgent("dev2", {"--once", "--label", "board=ci"});
  std::vector<std::string> args = {"submit", model, "--runtime", "onnxruntime", "--select", "board=ci",
                                   "--min-runs", "5", "--threads", "1", "--wait", "--wait-timeout", "60", "--json"};
  args.insert(args.end(), kQuickFlags.begin(), kQuickFlags.end());
  for (const auto& flag : ClientFlags()) args.push_back(flag);
  ASSERT_TRUE(WaitForDevice("dev2")) << AgentLog("dev2");
  testing::ProcessResult submit;
  json document = SubmitAndWait(args, &submit);
  ASSERT_EQ(submit.exit_code, 0) << submit.err << "\nagent: " << AgentLog("dev2");
  EXPECT_EQ(document["schema"], "edgebench.result/1");
  EXPECT_EQ(document["runs"], 5);
  EXPECT_EQ(document["runtime"]["name"], "onnxruntime");
  EXPECT_EQ(document["model"]["format"], "onnx");
  EXPECT_GT(document["latency_ms"]["p50"].get<double>(), 0);
  EXPECT_EQ(agent->Wait(20000), 0) << AgentLog("dev2");
}

TEST_F(ServiceTest, BadRequestsAreJsonErrorsWithTheRightStatus) {
  StartServer();
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(model);
  const std::string agent_token = RegisterFakeAgent("fake1");
  const std::string sha = UploadModel(model);
  auto client = Http(admin_token_);
  auto post = [&](const std::string& path, const std::string& body) {
    return client.Post(path.c_str(), body, "application/json");
  };
  const json good = {{"model_sha256", sha}, {"runtime", "null"}, {"device", "fake1"}};

  ExpectError(post("/v1/tasks", "{\"model_sha256\": "), 400, "malformed JSON");
  ExpectError(post("/v1/tasks", "[1, 2]"), 400, "JSON object");
  json wrong = good;
  wrong["model_sha256"] = 5;
  ExpectError(post("/v1/tasks", wrong.dump()), 400, "'model_sha256'");
  wrong = good;
  wrong["settings"] = {{"min_runs", "many"}};
  ExpectError(post("/v1/tasks", wrong.dump()), 400, "'settings.min_runs' must be an integer");
  wrong = good;
  wrong["settings"] = {{"turbo", true}};
  ExpectError(post("/v1/tasks", wrong.dump()), 400, "settings.turbo");
  wrong = good;
  wrong["model_sha256"] = std::string(64, 'a');
  ExpectError(post("/v1/tasks", wrong.dump()), 404, std::string(64, 'a'));
  wrong = good;
  wrong["runtime"] = "warpdrive";
  ExpectError(post("/v1/tasks", wrong.dump()), 422, "warpdrive");
  wrong = good;
  wrong["device"] = "jetson-nowhere";
  ExpectError(post("/v1/tasks", wrong.dump()), 422, "jetson-nowhere");
  wrong = good;
  wrong.erase("device");
  wrong["selector"] = {{"board", "rpi9"}};
  ExpectError(post("/v1/tasks", wrong.dump()), 422, "rpi9");
  ExpectError(client.Get("/v1/tasks/999"), 404, "task 999");
  ExpectError(client.Post("/v1/tasks/999/cancel"), 404, "task 999");
  ExpectError(client.Get("/v1/nothing"), 404, "/v1/nothing");

  // Wrong or missing tokens.
  auto stranger = Http("not-a-token");
  ExpectError(stranger.Get("/v1/tasks"), 401, "invalid token");
  ExpectError(httplib::Client(url_).Get("/v1/tasks"), 401, "Bearer");
  ExpectError(stranger.Post("/v1/agents", "{}", "application/json"), 401, "invalid token");
  ExpectError(Http(agent_token).Post("/v1/tasks", good.dump(), "application/json"), 403, "agent token");
  ExpectError(Http(admin_token_).Post("/v1/agents/fake1/lease"), 403, "admin token");

  // Unknown task results, and results for tasks an agent does not hold.
  auto agent = Http(agent_token);
  const std::string other_token = RegisterFakeAgent("fake2");
  auto other = Http(other_token);
  auto bench = Edgebench({"bench", model, "-r", "null", "--min-runs", "3", "--warmup-runs", "1", "--warmup-min-ms",
                          "0", "--min-duration-ms", "0", "-q", "--json", "-"});
  ASSERT_EQ(bench.exit_code, 0) << bench.err;
  const std::string document = bench.out;
  ExpectError(agent.Post("/v1/tasks/999/result", document, "application/json"), 404, "task 999");
  const int64_t id = CreateTask(sha, "fake1");
  ExpectError(agent.Post(("/v1/tasks/" + std::to_string(id) + "/result").c_str(), document, "application/json"),
              409, "not held");  // queued, not leased yet
  auto lease = agent.Post("/v1/agents/fake1/lease");
  ASSERT_TRUE(lease);
  ASSERT_EQ(lease->status, 200) << lease->body;
  EXPECT_EQ(json::parse(lease->body)["task"]["id"], id);
  EXPECT_EQ(json::parse(lease->body)["task"]["state"], "assigned");
  const std::string result_path = "/v1/tasks/" + std::to_string(id) + "/result";
  ExpectError(other.Post(result_path.c_str(), document, "application/json"), 409, "not held");
  ExpectError(agent.Post(result_path.c_str(), "{\"schema\": ", "application/json"), 400, "malformed JSON");
  ExpectError(agent.Post(result_path.c_str(), "{\"schema\": \"other/9\"}", "application/json"), 400, "schema");
  // The model is downloadable by the holder only.
  auto download = agent.Get(("/v1/models/" + sha).c_str());
  ASSERT_TRUE(download);
  EXPECT_EQ(download->status, 200);
  EXPECT_EQ(download->body, ReadFile(model));
  ExpectError(other.Get(("/v1/models/" + sha).c_str()), 403, "holds no task");

  // Idempotent upload: the second identical post answers 200 with the stored document.
  auto first = agent.Post(result_path.c_str(), document, "application/json");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 201) << first->body;
  auto second = agent.Post(result_path.c_str(), document, "application/json");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200) << second->body;
  EXPECT_EQ(json::parse(second->body)["stored"], false);
  EXPECT_EQ(json::parse(second->body)["result"], json::parse(document));
  EXPECT_EQ(CountStoredResults(id), 1);
  const json task = GetTask(id);
  EXPECT_EQ(task["state"], "succeeded");
  EXPECT_EQ(task["result"], json::parse(document));
  ExpectError(other.Post(result_path.c_str(), document, "application/json"), 409, "another agent");
  ExpectError(client.Post(("/v1/tasks/" + std::to_string(id) + "/cancel").c_str()), 409, "already succeeded");

  // Client commands map answers to exit codes: 4xx -> 2, unreachable -> 1.
  auto submit = Edgebench({"submit", model, "--runtime", "null", "--device", "nowhere", "--server", url_,
                           "--token-file", admin_token_file_});
  EXPECT_EQ(submit.exit_code, 2) << submit.err;
  EXPECT_NE(submit.err.find("unknown device 'nowhere'"), std::string::npos) << submit.err;
  auto unreachable = Edgebench({"tasks", "--server", "http://127.0.0.1:1", "--token-file", admin_token_file_});
  EXPECT_EQ(unreachable.exit_code, 1) << unreachable.err;
  EXPECT_NE(unreachable.err.find("cannot reach"), std::string::npos) << unreachable.err;
}

TEST_F(ServiceTest, OversizedUploadIs413) {
  StartServer({"--max-model-mb", "1"});
  auto client = Http(admin_token_);
  const std::string big(2 << 20, 'x');
  ExpectError(client.Post("/v1/models?name=big.onnx", big, "application/octet-stream"), 413, "exceeds the limit");
  // Nothing was kept.
  size_t stored = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir_ + "/data/models")) ++stored;
  EXPECT_EQ(stored, 0u);
  // Garbage that is not a model is refused too.
  ExpectError(client.Post("/v1/models?name=junk.bin", std::string(100, 'x'), "application/octet-stream"), 400,
              "junk.bin");
}

TEST_F(ServiceTest, UsersHaveTheirOwnTokensAndTasks) {
  StartServer();
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(model);
  RegisterFakeAgent("fake1");
  auto make_user = [&](const std::string& name) {
    auto res = Http(admin_token_).Post("/v1/users", json{{"name", name}}.dump(), "application/json");
    EXPECT_TRUE(res && res->status == 201) << (res ? res->body : "no answer");
    return res ? json::parse(res->body)["token"].get<std::string>() : std::string();
  };
  auto alice = Http(make_user("alice"));
  auto bob = Http(make_user("bob"));
  ExpectError(bob.Post("/v1/users", json{{"name", "eve"}}.dump(), "application/json"), 403, "user token");
  auto upload = alice.Post("/v1/models?name=tinycnn.onnx", ReadFile(model), "application/octet-stream");
  ASSERT_TRUE(upload && upload->status == 201);
  const json request = {{"model_sha256", json::parse(upload->body)["sha256"]}, {"runtime", "null"}, {"device", "fake1"}};
  auto created = alice.Post("/v1/tasks", request.dump(), "application/json");
  ASSERT_TRUE(created && created->status == 201);
  const json task = json::parse(created->body);
  EXPECT_EQ(task["owner"], "alice");
  EXPECT_EQ(task["state"], "queued");
  const std::string path = "/v1/tasks/" + std::to_string(task["id"].get<int64_t>());
  auto mine = alice.Get(path.c_str());
  ASSERT_TRUE(mine);
  EXPECT_EQ(mine->status, 200);
  ExpectError(bob.Get(path.c_str()), 404, "not found");
  ExpectError(bob.Post((path + "/cancel").c_str()), 404, "not found");
  auto listing = bob.Get("/v1/tasks");
  ASSERT_TRUE(listing);
  EXPECT_TRUE(json::parse(listing->body)["tasks"].empty());
  auto all = Http(admin_token_).Get("/v1/tasks");
  ASSERT_TRUE(all);
  EXPECT_EQ(json::parse(all->body)["tasks"].size(), 1u);
}

TEST_F(ServiceTest, ServerStopsCleanlyOnSigtermAndKeepsItsState) {
  StartServer();
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(model);
  RegisterFakeAgent("fake1");
  const int64_t id = CreateTask(UploadModel(model), "fake1");
  kill(server_->pid(), SIGTERM);
  EXPECT_EQ(server_->Wait(10000), 0) << ReadFile(dir_ + "/server.log");
  // A restart on the same data keeps tokens, devices and tasks.
  std::vector<std::string> argv = {EDGEBENCH_BINARY, "server", "--listen", "127.0.0.1:0", "--data", dir_ + "/data"};
  server_ = std::make_unique<Background>(argv, dir_ + "/server2.log", /*pipe_stdout=*/true);
  const std::string line = server_->ReadLine(10000);
  ASSERT_EQ(line.rfind("listening on ", 0), 0u) << ReadFile(dir_ + "/server2.log");
  url_ = line.substr(std::string("listening on ").size());
  EXPECT_EQ(Trim(ReadFile(admin_token_file_)), admin_token_);
  const json task = GetTask(id);
  ASSERT_TRUE(task.is_object());
  EXPECT_EQ(task["state"], "queued");
}

TEST_F(ServiceTest, AgentWithAWrongTokenOrNoServerExits) {
  StartServer();
  const std::string bad_token = dir_ + "/bad.token";
  std::ofstream(bad_token) << "0123456789\n";
  auto refused = Edgebench({"agent", "--server", url_, "--name", "x", "--token-file", bad_token, "--once"});
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
  EXPECT_NE(refused.err.find("401: invalid token"), std::string::npos) << refused.err;
  auto unreachable = Edgebench({"agent", "--server", "http://127.0.0.1:1", "--name", "x", "--token-file",
                                agent_token_file_, "--once", "--register-timeout", "0"});
  EXPECT_EQ(unreachable.exit_code, 1) << unreachable.err;
  EXPECT_NE(unreachable.err.find("cannot reach"), std::string::npos) << unreachable.err;
}

TEST_F(ServiceTest, CancelledQueuedTaskIsNotLeased) {
  StartServer();
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(model);
  const std::string token = RegisterFakeAgent("fake1");
  const int64_t id = CreateTask(UploadModel(model), "fake1");
  auto cancel = Edgebench({"cancel", std::to_string(id), "--server", url_, "--token-file", admin_token_file_});
  EXPECT_EQ(cancel.exit_code, 0) << cancel.err;
  EXPECT_EQ(GetTask(id)["state"], "cancelled");
  auto lease = Http(token).Post("/v1/agents/fake1/lease");
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->status, 204);
}

// Stage 2: an agent killed in the middle of a task loses its lease; the task goes back to the
// queue and a second agent completes it; one result is stored.
TEST_F(ServiceTest, LeaseExpiresWhenAgentDiesAndAnotherAgentFinishes) {
  StartServer({"--lease-seconds", "2"});
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(model);
  auto doomed = StartAgent("doomed", {"--label", "pool=ci"});
  // ~2.4 s of simulated inference: long enough to be killed in the middle.
  const json settings = {{"min_runs", 1200}, {"max_runs", 1200}, {"warmup_runs", 0}, {"warmup_min_ms", 0},
                         {"min_duration_ms", 0}, {"options", {{"spin_ns", "2000000"}}}};
  const std::string sha = UploadModel(model);
  auto client = Http(admin_token_);
  json request = {{"model_sha256", sha}, {"runtime", "null"}, {"selector", {{"pool", "ci"}}}, {"settings", settings}};
  ASSERT_TRUE(WaitForDevice("doomed")) << AgentLog("doomed");
  auto created = client.Post("/v1/tasks", request.dump(), "application/json");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  const int64_t id = json::parse(created->body)["id"].get<int64_t>();
  json task = WaitForTask(id, [](const json& t) { return t["state"] == "running"; }, 20000);
  ASSERT_EQ(task["state"], "running") << task.dump() << AgentLog("doomed");
  EXPECT_EQ(task["agent"], "doomed");
  EXPECT_EQ(task["attempts"], 1);
  doomed->Kill(SIGKILL);

  // The lease (2 s) runs out and the task is queued again for the next agent.
  task = WaitForTask(id, [](const json& t) { return t["state"] == "queued"; }, 15000);
  ASSERT_EQ(task["state"], "queued") << task.dump();
  EXPECT_NE(task["error"].get<std::string>().find("expired"), std::string::npos) << task.dump();
  auto rescuer = StartAgent("rescuer", {"--once", "--label", "pool=ci"});
  EXPECT_EQ(rescuer->Wait(60000), 0) << AgentLog("rescuer");
  task = GetTask(id);
  EXPECT_EQ(task["state"], "succeeded") << task.dump();
  EXPECT_EQ(task["agent"], "rescuer");
  EXPECT_EQ(task["attempts"], 2);
  EXPECT_EQ(task["result"]["runs"], 1200);
  EXPECT_EQ(CountStoredResults(id), 1);
}

TEST_F(ServiceTest, CancellingARunningTaskStopsItsBench) {
  StartServer({"--lease-seconds", "3"});  // the agent renews (and learns of the cancel) every second
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(model);
  auto agent = StartAgent("dev5", {"--once"});
  ASSERT_TRUE(WaitForDevice("dev5")) << AgentLog("dev5");
  // ~20 s of simulated work unless stopped.
  const json settings = {{"min_runs", 4000}, {"max_runs", 4000}, {"warmup_runs", 0}, {"warmup_min_ms", 0},
                         {"min_duration_ms", 0}, {"options", {{"spin_ns", "5000000"}}}};
  const int64_t id = CreateTask(UploadModel(model), "dev5", settings);
  json task = WaitForTask(id, [](const json& t) { return t["state"] == "running"; }, 20000);
  ASSERT_EQ(task["state"], "running") << task.dump() << AgentLog("dev5");
  auto cancel = Edgebench({"cancel", std::to_string(id), "--server", url_, "--token-file", admin_token_file_});
  EXPECT_EQ(cancel.exit_code, 0) << cancel.err;
  EXPECT_EQ(agent->Wait(10000), 0) << AgentLog("dev5");  // well before the 20 s of work
  EXPECT_NE(AgentLog("dev5").find("abandoned"), std::string::npos) << AgentLog("dev5");
  task = GetTask(id);
  EXPECT_EQ(task["state"], "cancelled");
  EXPECT_TRUE(task["result"].is_null());
  EXPECT_EQ(CountStoredResults(id), 0);
}

TEST_F(ServiceTest, TaskFailsAfterMaxAttempts) {
  StartServer({"--lease-seconds", "1", "--max-attempts", "2"});
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(model);
  const std::string token = RegisterFakeAgent("fake1");
  const int64_t id = CreateTask(UploadModel(model), "fake1");
  auto agent = Http(token);
  for (int attempt = 1; attempt <= 2; ++attempt) {
    // Lease and never renew: the lease expires.
    auto lease = agent.Post("/v1/agents/fake1/lease?wait_s=10");
    ASSERT_TRUE(lease);
    ASSERT_EQ(lease->status, 200) << "attempt " << attempt;
    EXPECT_EQ(json::parse(lease->body)["task"]["attempts"], attempt);
  }
  const json task = WaitForTask(id, [](const json& t) { return t["state"] == "failed"; }, 10000);
  EXPECT_EQ(task["state"], "failed") << task.dump();
  EXPECT_NE(task["error"].get<std::string>().find("lease expired 2 times"), std::string::npos) << task.dump();
}

TEST_F(ServiceTest, BenchFailureIsUploadedAsData) {
  StartServer();
  auto agent = StartAgent("dev3", {"--once"});
  // A "model" the null runtime accepts by format but with a bad option value: bench fails at
  // the options stage and the failure document is the task's result.
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(model);
  std::vector<std::string> args = {"submit", model, "--runtime", "null", "--device", "dev3", "-o", "spin_ns=-5",
                                   "--wait", "--wait-timeout", "60", "--json"};
  for (const auto& flag : ClientFlags()) args.push_back(flag);
  ASSERT_TRUE(WaitForDevice("dev3")) << AgentLog("dev3");
  testing::ProcessResult submit;
  json document = SubmitAndWait(args, &submit);
  EXPECT_EQ(submit.exit_code, 2) << submit.err;
  ASSERT_TRUE(document.is_object()) << submit.out << submit.err;
  EXPECT_EQ(document["error"]["stage"], "options") << document.dump();
  EXPECT_NE(submit.err.find("failed"), std::string::npos) << submit.err;
  EXPECT_EQ(agent->Wait(20000), 0) << AgentLog("dev3");
}

TEST_F(ServiceTest, BenchOverItsTimeoutIsKilledAndTimedOut) {
  StartServer();
  auto agent = StartAgent("dev4", {"--once"});
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(model);
  // ~10 s of simulated work with a 1 s timeout.
  std::vector<std::string> args = {"submit", model, "--runtime", "null", "--device", "dev4", "-o", "spin_ns=5000000",
                                   "--min-runs", "2000", "--max-runs", "2000", "--timeout-s", "1",
                                   "--wait", "--wait-timeout", "60", "--json"};
  args.insert(args.end(), kQuickFlags.begin(), kQuickFlags.end());
  for (const auto& flag : ClientFlags()) args.push_back(flag);
  ASSERT_TRUE(WaitForDevice("dev4")) << AgentLog("dev4");
  testing::ProcessResult submit;
  json document = SubmitAndWait(args, &submit);
  EXPECT_EQ(submit.exit_code, 1) << submit.err;
  ASSERT_TRUE(document.is_object()) << submit.out << submit.err;
  EXPECT_EQ(document["error"]["stage"], "timeout") << document.dump();
  EXPECT_NE(submit.err.find("timed_out"), std::string::npos) << submit.err;
  EXPECT_EQ(agent->Wait(20000), 0) << AgentLog("dev4");
}

}  // namespace
}  // namespace edgebench
