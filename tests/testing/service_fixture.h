// The fixture of the service's end-to-end tests: a real `edgebench server` on loopback with its
// tokens, agents started as processes, and HTTP helpers (httplib) for what the CLI does not
// cover. Header-only; a test that includes it defines EDGEBENCH_BINARY (the edgebench binary)
// and links httplib and SQLite.
#pragma once

#include <httplib.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "testing/backend_testing.h"  // ReadFile
#include "testing/process.h"
#include "testing/test_models.h"

namespace edgebench::testing {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

inline std::string Trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

inline ProcessResult Edgebench(std::vector<std::string> args) {
  args.insert(args.begin(), EDGEBENCH_BINARY);
  return RunProcess(args);
}

inline bool RuntimeCompiled(const std::string& name) {
  static const json listing = json::parse(Edgebench({"runtimes", "--json"}).out);
  for (const auto& runtime : listing["runtimes"]) {
    if (runtime["name"] == name) return runtime["available"].get<bool>();
  }
  return false;
}

// Settings that make a benchmark quick.
inline const std::vector<std::string> kQuickFlags = {"--warmup-runs", "1", "--warmup-min-ms", "0",
                                              "--min-duration-ms", "0"};

class ServiceFixture : public ::testing::Test {
 protected:
  void StartServer(std::vector<std::string> extra = {}) {
    dir_ = MakeTempDir();
    ListenAgain("127.0.0.1:0", std::move(extra));
  }

  // Starts a server on the data of the test (first or again), and reads its URL from the
  // first line it prints.
  void ListenAgain(const std::string& listen, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {EDGEBENCH_BINARY, "server", "--listen", listen, "--data", dir_ + "/data"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const std::string log = dir_ + "/server" + std::to_string(++server_starts_) + ".log";
    server_ = std::make_unique<Background>(argv, log, /*pipe_stdout=*/true);
    const std::string line = server_->ReadLine(10000);
    const std::string prefix = "listening on ";
    ASSERT_EQ(line.rfind(prefix, 0), 0u) << "server said '" << line << "'; log: " << ReadFile(log);
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
    if (!ca_file_.empty()) client.set_ca_cert_path(ca_file_.c_str());
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
    const std::string name = std::filesystem::path(path).filename().string();
    auto res = client.Post(("/v1/models?name=" + name).c_str(), ReadFile(path), "application/octet-stream");
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
  int server_starts_ = 0;
  std::string ca_file_;  // set for an https server
};

}  // namespace edgebench::testing
