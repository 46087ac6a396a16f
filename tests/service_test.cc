// End-to-end tests of the evaluation service: a real `edgebench server`, real agents and the
// client commands, as processes on loopback. Bad-input answers are checked with httplib.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "edgebench/model_file.h"
#include "edgebench/settings.h"
#include "testing/service_fixture.h"

namespace edgebench {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using testing::Background;
using testing::Edgebench;
using testing::kQuickFlags;
using testing::ReadFile;
using testing::RuntimeCompiled;
using testing::Trim;
using ServiceTest = testing::ServiceFixture;

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
  EXPECT_NE(table.out.find("latency ("), std::string::npos) << table.out;
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

// A comparison task: the agent runs `edgebench compare` on the device, the server keeps the
// comparison document with the device's name, and the client prints its table.
TEST_F(ServiceTest, ComparisonTaskRunsInterleavedOnTheDevice) {
  if (!RuntimeCompiled("onnxruntime")) GTEST_SKIP() << "onnxruntime is not compiled in this build";
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  const std::string other = testing::ZooModel("squeezenet11", "onnx");
  EB_REQUIRE_FILE(model);
  EB_REQUIRE_FILE(other);
  StartServer();
  auto agent = StartAgent("cmp1", {"--once"});
  std::vector<std::string> args = {"submit", model, "--compare", other, "--compare-threads", "1,2", "--round-ms",
                                   "2", "--runtime", "onnxruntime", "--device", "cmp1", "--min-runs", "5",
                                   "--wait", "--wait-timeout", "120", "--json"};
  args.insert(args.end(), kQuickFlags.begin(), kQuickFlags.end());
  for (const auto& flag : ClientFlags()) args.push_back(flag);
  ASSERT_TRUE(WaitForDevice("cmp1")) << AgentLog("cmp1");
  testing::ProcessResult submit;
  json document = SubmitAndWait(args, &submit);
  ASSERT_EQ(submit.exit_code, 0) << submit.err << "\nagent: " << AgentLog("cmp1");
  EXPECT_EQ(document["schema"], "edgebench.comparison/1");
  EXPECT_EQ(document["device"], "cmp1");
  EXPECT_GE(document["rounds"].get<int>(), 5);
  ASSERT_EQ(document["variants"].size(), 4u);
  std::vector<std::string> labels;
  for (const auto& variant : document["variants"]) labels.push_back(variant["label"].get<std::string>());
  EXPECT_EQ(labels, (std::vector<std::string>{"tinycnn t=1", "tinycnn t=2", "squeezenet11 t=1", "squeezenet11 t=2"}));
  EXPECT_EQ(document["variants"][3]["result"]["device"], "cmp1");
  ASSERT_EQ(document["ratios"].size(), 4u);
  EXPECT_EQ(document["ratios"][0]["median"], 1.0);
  EXPECT_GT(document["ratios"][2]["median"].get<double>(), 0);
  EXPECT_EQ(agent->Wait(20000), 0) << AgentLog("cmp1");

  auto tasks = Edgebench({"tasks", "--json", "--server", url_, "--token-file", admin_token_file_});
  const json task = json::parse(tasks.out)[0];
  EXPECT_EQ(task["compare"]["threads"], json({1, 2}));
  auto table = Edgebench({"result", std::to_string(task["id"].get<int64_t>()), "--server", url_, "--token-file",
                          admin_token_file_});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("comparison of 4 variants on cmp1"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("(baseline)"), std::string::npos) << table.out;
}

// Every setting of the table (edgebench/settings.h) is validated by the server: taken at the
// edge of its range when the service reads it, refused past it, and refused when bench-only.
TEST_F(ServiceTest, ServerValidatesEverySettingOfTheTable) {
  StartServer();
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(model);
  RegisterFakeAgent("fake1");
  const std::string sha = UploadModel(model);
  auto client = Http(admin_token_);
  auto post = [&](const std::string& path, const std::string& body) {
    return client.Post(path.c_str(), body, "application/json");
  };
  const json good = {{"model_sha256", sha}, {"runtime", "null"}, {"device", "fake1"}};
  for (const auto& spec : SettingsTable()) {
    json value;
    switch (spec.type) {
      case SettingType::kInt: value = static_cast<int64_t>(spec.max); break;
      case SettingType::kNumber: value = spec.max; break;
      case SettingType::kBool: value = true; break;
      case SettingType::kString: value = "opencv"; break;
      case SettingType::kChoice: value = spec.choices.front(); break;
      case SettingType::kStringMap: value = {{"name", "value"}}; break;
      case SettingType::kShapeMap: value = {{"input", "1x3x32x32"}}; break;
    }
    json request = good;
    request["settings"] = {{spec.key, value}};
    if (!Accepts(SettingsReader::kService, spec.use)) {
      ExpectError(post("/v1/tasks", request.dump()), 400, "'settings." + spec.key + "' names a local file");
      continue;
    }
    auto created = post("/v1/tasks", request.dump());
    ASSERT_TRUE(created);
    EXPECT_EQ(created->status, 201) << spec.key << ": " << created->body;
    if (spec.type == SettingType::kInt || spec.type == SettingType::kNumber) {
      request["settings"][spec.key] =
          spec.type == SettingType::kInt ? json(static_cast<int64_t>(spec.max) + 1) : json(spec.max * 2);
      ExpectError(post("/v1/tasks", request.dump()), 400, "'settings." + spec.key + "' is out of range");
    }
  }
  json probe = good;
  probe["settings"] = {{"timeout_s", 1e308}, {"threads", 2147483648}};
  ExpectError(post("/v1/tasks", probe.dump()), 400, "is out of range");
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
  // Comparison tasks (compare).
  wrong = good;
  wrong["compare"] = json::object();
  ExpectError(post("/v1/tasks", wrong.dump()), 422, "this one has 1");
  wrong["compare"] = {{"models", {sha}}, {"warp", 1}};
  ExpectError(post("/v1/tasks", wrong.dump()), 400, "compare.warp");
  wrong["compare"] = {{"models", {std::string(64, 'b')}}};
  ExpectError(post("/v1/tasks", wrong.dump()), 404, std::string(64, 'b'));
  wrong["compare"] = {{"threads", {1, -2}}};
  ExpectError(post("/v1/tasks", wrong.dump()), 400, "compare.threads");
  wrong["compare"] = {{"threads", {1, 2}}, {"round_ms", 0}};
  ExpectError(post("/v1/tasks", wrong.dump()), 400, "compare.round_ms");
  wrong["compare"] = {{"threads", {1, 2}}};
  wrong["settings"] = {{"precision", "fp16"}};
  ExpectError(post("/v1/tasks", wrong.dump()), 422, "convert them first");
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
  json stored = json::parse(document);
  stored["device"] = "fake1";  // the server names the device the service knows: the agent
  EXPECT_EQ(json::parse(second->body)["result"], stored);
  EXPECT_EQ(CountStoredResults(id), 1);
  const json task = GetTask(id);
  EXPECT_EQ(task["state"], "succeeded");
  EXPECT_EQ(task["result"], stored);
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

// Sends `head` (request line and headers, no body) to the server at `url` (http://HOST:PORT)
// and returns everything it answers before closing: a refusal decided from the headers alone.
std::string AnswerToHeadersOnly(const std::string& url, const std::string& head) {
  const std::string host_port = url.substr(url.find("//") + 2);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(std::stoi(host_port.substr(host_port.find(':') + 1))));
  inet_pton(AF_INET, host_port.substr(0, host_port.find(':')).c_str(), &address.sin_addr);
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  std::string answer;
  if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      send(fd, head.data(), head.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(head.size())) {
    char buffer[4096];
    for (ssize_t n; (n = recv(fd, buffer, sizeof buffer, 0)) > 0;) answer.append(buffer, static_cast<size_t>(n));
  }
  if (fd >= 0) close(fd);
  return answer;
}

TEST_F(ServiceTest, OversizedUploadIs413) {
  StartServer({"--max-model-mb", "1"});
  auto client = Http(admin_token_);
  // Refused from its Content-Length, before the body is read: the answer comes and the
  // connection closes although no byte of the 2 MiB body was sent. (Sending the body as well
  // would race the server's close: the client may still be writing when the answer comes.)
  const std::string answer = AnswerToHeadersOnly(
      url_, "POST /v1/models?name=big.onnx HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + admin_token_ +
                "\r\nContent-Type: application/octet-stream\r\nContent-Length: " + std::to_string(2 << 20) +
                "\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer;
  EXPECT_NE(answer.find("exceeds the limit"), std::string::npos) << answer;
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

// The runtime image catalog for docker-mode agents: admins add (runtime, arch) -> reference,
// anyone with a token reads it, bad fields are named.
TEST_F(ServiceTest, ImageCatalogTakesAdminEntriesAndNamesBadOnes) {
  StartServer();
  auto admin = Http(admin_token_);
  const json entry = {{"runtime", "onnxruntime"}, {"arch", "amd64"}, {"image", "127.0.0.1:5000/edgebench/onnxruntime:1"}};
  auto added = admin.Post("/v1/images", entry.dump(), "application/json");
  ASSERT_TRUE(added && added->status == 201) << (added ? added->body : "no answer");
  auto listed = Http(registration_token_).Get("/v1/images?arch=x86_64");
  ASSERT_TRUE(listed && listed->status == 200);
  const json images = json::parse(listed->body)["images"];
  ASSERT_EQ(images.size(), 1u) << images.dump();
  EXPECT_EQ(images[0]["arch"], "x86_64");  // amd64 is stored under uname's name
  EXPECT_EQ(images[0]["image"], entry["image"]);
  json bad = entry;
  bad["image"] = "no spaces allowed";
  ExpectError(admin.Post("/v1/images", bad.dump(), "application/json"), 400, "bad image reference");
  bad = entry;
  bad.erase("arch");
  ExpectError(admin.Post("/v1/images", bad.dump(), "application/json"), 400, "arch");
  ExpectError(Http(registration_token_).Post("/v1/images", entry.dump(), "application/json"), 403, "");
}

TEST_F(ServiceTest, ServerStopsCleanlyOnSigtermAndKeepsItsState) {
  StartServer();
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(model);
  RegisterFakeAgent("fake1");
  const int64_t id = CreateTask(UploadModel(model), "fake1");
  kill(server_->pid(), SIGTERM);
  EXPECT_EQ(server_->Wait(10000), 0) << ReadFile(dir_ + "/server1.log");
  // A restart on the same data keeps tokens, devices and tasks.
  ListenAgain("127.0.0.1:0");
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

// A new task wakes a waiting agent that can run it (and only such an agent): each long poll
// below returns its own pool's task, not 204 at the end of its 20 s wait.
TEST_F(ServiceTest, NewTaskWakesAWaitingAgentThatCanRunIt) {
  StartServer();
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(model);
  const std::string sha = UploadModel(model);
  std::map<std::string, std::string> tokens = {{"a", RegisterFakeAgent("wa", {{"pool", "a"}})},
                                               {"b", RegisterFakeAgent("wb", {{"pool", "b"}})}};
  std::map<std::string, json> leased;
  std::mutex mutex;
  std::vector<std::thread> waiting;
  for (const auto& [pool, token] : tokens) {
    waiting.emplace_back([&, pool = pool, token = token] {
      auto client = Http(token);
      client.set_read_timeout(60, 0);
      auto res = client.Post(("/v1/agents/w" + pool + "/lease?wait_s=20").c_str());
      std::lock_guard lock(mutex);
      leased[pool] = res ? json{{"status", res->status}, {"body", json::parse(res->body, nullptr, false)}}
                         : json{{"status", 0}};
    });
  }
  auto admin = Http(admin_token_);
  std::map<std::string, int64_t> ids;
  for (const std::string pool : {"b", "a"}) {
    json body = {{"model_sha256", sha}, {"runtime", "null"}, {"selector", {{"pool", pool}}}};
    auto res = admin.Post("/v1/tasks", body.dump(), "application/json");
    ASSERT_TRUE(res && res->status == 201);
    ids[pool] = json::parse(res->body)["id"].get<int64_t>();
  }
  for (auto& thread : waiting) thread.join();
  for (const std::string pool : {"a", "b"}) {
    ASSERT_EQ(leased[pool]["status"], 200) << pool << ": " << leased[pool].dump();
    EXPECT_EQ(leased[pool]["body"]["task"]["id"], ids[pool]) << pool;
  }
}

// The server converts an ONNX model for a runtime that reads only TFLite, once, and the
// agent runs the converted model; a model the converter cannot express fails its task, naming its node.
TEST_F(ServiceTest, ServerConvertsOnnxForTfliteOnceAndTheAgentRunsIt) {
  if (!RuntimeCompiled("tflite")) GTEST_SKIP() << "tflite is not compiled in this build";
  // The task once its conversion stage is over (int8 calibrates: minutes on a slow host).
  auto Converted = [&](int64_t id) { return WaitForTask(id, [](const json& t) { return t["state"] != "converting"; }, 600000); };
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(model);
  StartServer();
  auto agent = StartAgent("lite", {"--once"});
  ASSERT_TRUE(WaitForDevice("lite")) << AgentLog("lite");
  const std::string source = UploadModel(model);
  std::vector<std::string> args = {"submit", model, "--runtime", "tflite", "--device", "lite", "--min-runs", "3",
                                   "--wait", "--wait-timeout", "60", "--json"};
  args.insert(args.end(), kQuickFlags.begin(), kQuickFlags.end());
  for (const auto& flag : ClientFlags()) args.push_back(flag);
  testing::ProcessResult submit;
  const json document = SubmitAndWait(args, &submit);
  ASSERT_EQ(submit.exit_code, 0) << submit.err << "\nagent: " << AgentLog("lite");
  EXPECT_EQ(document["runtime"]["name"], "tflite");
  EXPECT_EQ(document["model"]["format"], "tflite");
  EXPECT_TRUE(document["error"].is_null()) << document.dump();
  // The result records the conversion and its accuracy cost (the precision table reads them).
  EXPECT_EQ(document["conversion"]["precision"], "fp32") << document.dump();
  EXPECT_EQ(document["conversion"]["source_model"], "tinycnn.onnx");
  EXPECT_LT(document["conversion"]["accuracy"]["max_rel_error"].get<double>(), 1e-3);
  EXPECT_EQ(agent->Wait(20000), 0) << AgentLog("lite");

  const json listing = json::parse(Edgebench({"tasks", "--json", "--server", url_, "--token-file", admin_token_file_}).out);
  ASSERT_EQ(listing.size(), 1u);
  const json task = GetTask(listing[0]["id"].get<int64_t>());
  ASSERT_TRUE(task["conversion"].is_object()) << task.dump();
  EXPECT_EQ(task["conversion"]["source_model_sha256"], source);
  EXPECT_EQ(task["conversion"]["target"], "tflite");
  EXPECT_TRUE(task["conversion"]["report"]["ok"].get<bool>());
  EXPECT_NE(task["model_sha256"], source);
  EXPECT_EQ(document["model"]["sha256"], task["model_sha256"]);
  // A second task on the same model reuses the conversion.
  const std::string agent_token = RegisterFakeAgent("lite2");
  auto client = Http(admin_token_);
  json body = {{"model_sha256", source}, {"runtime", "null"}, {"device", "lite2"}};
  auto plain = client.Post("/v1/tasks", body.dump(), "application/json");
  ASSERT_TRUE(plain && plain->status == 201);
  EXPECT_EQ(json::parse(plain->body)["model_sha256"], source);  // null reads ONNX: no conversion
  body = {{"model_sha256", source}, {"runtime", "tflite"}, {"device", "lite"}};
  auto again = client.Post("/v1/tasks", body.dump(), "application/json");
  ASSERT_TRUE(again && again->status == 201) << (again ? again->body : "");
  EXPECT_EQ(json::parse(again->body)["model_sha256"], task["model_sha256"]);
  EXPECT_EQ(task["conversion"]["precision"], "fp32");
  EXPECT_TRUE(task["conversion"]["report"]["accuracy"]["max_abs_error"].is_number()) << task.dump();

  // settings.precision: int8 is another conversion (cached apart), with its quantization and
  // accuracy cost in the report; a runtime that runs the submitted file refuses it.
  body["settings"] = {{"precision", "int8"}};
  auto int8 = client.Post("/v1/tasks", body.dump(), "application/json");
  ASSERT_TRUE(int8 && int8->status == 201) << (int8 ? int8->body : "");
  EXPECT_EQ(json::parse(int8->body)["state"], "converting");  // answered before the conversion
  const json int8_task = Converted(json::parse(int8->body)["id"].get<int64_t>());
  ASSERT_EQ(int8_task["state"], "queued") << int8_task.dump();
  EXPECT_NE(int8_task["model_sha256"], task["model_sha256"]);
  EXPECT_EQ(int8_task["conversion"]["precision"], "int8");
  EXPECT_EQ(int8_task["conversion"]["report"]["precision"], "int8");
  EXPECT_GT(int8_task["conversion"]["report"]["quantization"]["int8_operators"].get<int>(), 0) << int8_task.dump();
  body["runtime"] = "null";
  body["device"] = "lite2";
  ExpectError(client.Post("/v1/tasks", body.dump(), "application/json"), 422, "runs the submitted model as is");
  if (RuntimeCompiled("onnxruntime")) {  // onnxruntime at int8: the server writes QDQ ONNX
    body["runtime"] = "onnxruntime";
    body["device"] = "lite";
    auto qdq = client.Post("/v1/tasks", body.dump(), "application/json");
    ASSERT_TRUE(qdq && qdq->status == 201) << (qdq ? qdq->body : "");
    const json qdq_task = Converted(json::parse(qdq->body)["id"].get<int64_t>());
    EXPECT_EQ(qdq_task["conversion"]["target"], "onnx") << qdq_task.dump();
    EXPECT_EQ(qdq_task["conversion"]["precision"], "int8");
    EXPECT_NE(qdq_task["model_sha256"], source);
  }
  body["settings"] = {{"precision", "int4"}};
  ExpectError(client.Post("/v1/tasks", body.dump(), "application/json"), 400, "settings.precision");
  body["runtime"] = "tflite";
  body["device"] = "lite";
  body.erase("settings");

  // A model with an operator the converter does not cover (LRN, an ONNX conformance model): the
  // task fails with the converter's message, naming the file, node and op.
  const std::string lrn = "/usr/share/libonnx-testdata/data/node/test_lrn/model.onnx";
  EB_REQUIRE_FILE(lrn);
  body["model_sha256"] = UploadModel(lrn);
  auto unconvertible = client.Post("/v1/tasks", body.dump(), "application/json");
  ASSERT_TRUE(unconvertible && unconvertible->status == 201) << (unconvertible ? unconvertible->body : "");
  const json failed = Converted(json::parse(unconvertible->body)["id"].get<int64_t>());
  EXPECT_EQ(failed["state"], "failed") << failed.dump();
  EXPECT_NE(failed["error"].get<std::string>().find("model.onnx: cannot convert"), std::string::npos) << failed.dump();
  EXPECT_NE(failed["error"].get<std::string>().find("(LRN)"), std::string::npos) << failed.dump();
  EXPECT_TRUE(failed["conversion"].is_null());
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

// A task whose result comes back INVALID is run again, up to its `repeat_invalid` setting (else
// the server's --repeat-invalid) more times, and every attempt's document is kept; a valid
// result ends the task at once.
TEST_F(ServiceTest, InvalidResultIsRepeatedAndEveryAttemptIsKept) {
  StartServer({"--repeat-invalid", "2"});
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(model);
  auto agent = StartAgent("rep1");
  ASSERT_TRUE(WaitForDevice("rep1")) << AgentLog("rep1");
  auto submit = [&](std::vector<std::string> settings) {
    std::vector<std::string> args = {"submit", model, "--runtime", "null", "--device", "rep1",
                                     "--wait", "--wait-timeout", "120", "--json"};
    args.insert(args.end(), kQuickFlags.begin(), kQuickFlags.end());
    args.insert(args.end(), settings.begin(), settings.end());
    for (const auto& flag : ClientFlags()) args.push_back(flag);
    testing::ProcessResult run;
    const json document = SubmitAndWait(args, &run);
    EXPECT_EQ(run.exit_code, 0) << run.err << "\nagent: " << AgentLog("rep1");
    EXPECT_TRUE(document.is_object()) << run.out;
    const json tasks = json::parse(Http(admin_token_).Get("/v1/tasks")->body)["tasks"];
    return std::tuple{document, run.err, tasks[0]};  // newest first
  };
  // Runs of 1 ms within at most 0.5 ms: one timed run where 5 are required, INVALID every time.
  const std::vector<std::string> invalid = {"-o", "spin_ns=1000000", "--min-runs", "5", "--max-duration-ms", "0.5"};
  const auto [document, err, task] = submit(invalid);
  EXPECT_EQ(document["validity"]["valid"], false) << document.dump();
  EXPECT_NE(err.find("INVALID after 3 attempts"), std::string::npos) << err;
  EXPECT_EQ(task["state"], "succeeded");
  EXPECT_EQ(task["repeat_invalid"], 2);
  EXPECT_EQ(task["result_attempts"], 3);
  EXPECT_EQ(task["attempts"], 3);  // leases: one per run
  const std::string id = std::to_string(task["id"].get<int64_t>());
  auto attempts = Edgebench({"result", id, "--attempts", "--json", "--server", url_, "--token-file", admin_token_file_});
  ASSERT_EQ(attempts.exit_code, 0) << attempts.err;
  const json results = json::parse(attempts.out);
  ASSERT_EQ(results.size(), 3u) << results.dump();
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i]["attempt"], i + 1);
    EXPECT_EQ(results[i]["agent"], "rep1");
    EXPECT_EQ(results[i]["valid"], false);
    EXPECT_EQ(results[i]["is_result"], i == 2);
    EXPECT_EQ(results[i]["document"]["runs"], 1);
  }
  EXPECT_EQ(results[2]["document"], document);
  auto lines = Edgebench({"result", id, "--attempts", "--server", url_, "--token-file", admin_token_file_});
  EXPECT_NE(lines.out.find("attempt 2  rep1  "), std::string::npos) << lines.out;
  EXPECT_NE(lines.out.find("INVALID: only 1 timed runs, fewer than the minimum 5"), std::string::npos) << lines.out;
  EXPECT_NE(lines.out.find("(the task's result)"), std::string::npos) << lines.out;
  auto table = Edgebench({"tasks", "--server", url_, "--token-file", admin_token_file_});
  EXPECT_NE(table.out.find(" 3/3 "), std::string::npos) << table.out;

  // The task's setting overrides the server's default: 0 = no repeat.
  std::vector<std::string> once = invalid;
  once.insert(once.end(), {"--repeat-invalid", "0"});
  const auto [once_document, once_err, once_task] = submit(once);
  EXPECT_EQ(once_document["validity"]["valid"], false);
  EXPECT_EQ(once_task["result_attempts"], 1);
  EXPECT_EQ(once_err.find("INVALID after"), std::string::npos) << once_err;

  // A valid result on the first run ends the task: no repeat.
  const auto [valid_document, valid_err, valid_task] =
      submit({"--min-runs", "3", "--max-cv", "1000", "--max-drift", "1000", "--allow-unpinned-governor",
              "--repeat-invalid", "1"});
  EXPECT_EQ(valid_document["validity"]["valid"], true) << valid_document.dump();
  EXPECT_NE(valid_err.find("valid on attempt 1 of 2"), std::string::npos) << valid_err;
  EXPECT_EQ(valid_task["result_attempts"], 1);
  EXPECT_EQ(valid_task["attempts"], 1);
}

// kernels measure through the service: one job of the kernel models and the overhead model on
// a native agent with onnxruntime; the result documents become the data set's points.
TEST_F(ServiceTest, KernelsMeasureRunsTheKernelModelsAsOneJob) {
  if (!RuntimeCompiled("onnxruntime")) GTEST_SKIP() << "onnxruntime is not compiled in this build";
  const std::string tiny = testing::ZooModel("tinycnn", "onnx");
  const std::string other = testing::ZooModel("squeezenet11", "onnx");
  EB_REQUIRE_FILE(tiny);
  EB_REQUIRE_FILE(other);
  StartServer();
  // Two different ONNX files stand for two kernel models (measure reads no graph).
  const std::string dir = testing::MakeTempDir();
  std::filesystem::copy_file(tiny, dir + "/0001_conv.onnx");
  std::filesystem::copy_file(other, dir + "/0002_conv.onnx");
  const json conv = {{"type", "conv"}, {"hin", 32}, {"win", 32}, {"cin", 3}, {"cout", 8}, {"kernel_size", 3},
                     {"stride", 1}, {"groups", 1}};
  const json index = {{"schema", "edgebench.kernel_models/1"}, {"seed", 1}, {"edgebench_version", "test"},
                      {"sources", {{{"name", "tinycnn"}, {"sha256", "00"}}}},
                      {"kernels", {{{"file", "0001_conv.onnx"}, {"source", "tinycnn"}, {"config", conv}},
                                   {{"file", "0002_conv.onnx"}, {"source", "tinycnn"}, {"config", conv}}}}};
  testing::WriteFile(dir + "/kernels.json", index.dump(2));
  auto agent = StartAgent("k1");
  ASSERT_TRUE(WaitForDevice("k1")) << AgentLog("k1");
  const std::string out = dir + "/k1.kernels.json";
  std::vector<std::string> args = {"kernels", "measure", dir, "-r", "onnxruntime", "--threads", "1", "--out", out,
                                   "--device", "k1", "--min-runs", "5", "--max-cv", "1000", "--max-drift", "1000",
                                   "--max-outliers", "100", "--allow-unpinned-governor", "--wait-timeout", "120",
                                   "--server", url_, "--token-file", admin_token_file_};
  args.insert(args.end(), kQuickFlags.begin(), kQuickFlags.end());
  auto measured = Edgebench(args);
  ASSERT_EQ(measured.exit_code, 0) << measured.err << "\nagent: " << AgentLog("k1");
  EXPECT_NE(measured.out.find("2 points, 2 valid (trained on)"), std::string::npos) << measured.out;
  const json data_set = json::parse(ReadFile(out));
  EXPECT_EQ(data_set["schema"], "edgebench.kernels/3");
  EXPECT_EQ(data_set["reference"], nullptr);  // a task times one model: kernels alone
  EXPECT_EQ(data_set["provenance"]["device"], "k1");
  EXPECT_EQ(data_set["provenance"]["runtime"], "onnxruntime");
  EXPECT_EQ(data_set["provenance"]["settings"]["threads"], 1);
  EXPECT_EQ(data_set["provenance"]["kernel_models"]["seed"], 1);
  EXPECT_GT(data_set["overhead_ms"].get<double>(), 0);
  ASSERT_EQ(data_set["points"].size(), 2u);
  for (const auto& point : data_set["points"]) {
    EXPECT_EQ(point["valid"], true) << point;
    EXPECT_GT(point["median_ms"].get<double>(), 0);
    EXPECT_EQ(point["attempts"], 1);
  }
  EXPECT_EQ(data_set["points"][0]["sha256"], *Sha256OfFile(tiny));
  const json jobs = json::parse(Http(admin_token_).Get("/v1/jobs")->body)["jobs"];
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]["tasks_total"], 3);  // two kernel models and the overhead model
  EXPECT_EQ(jobs[0]["spec"]["settings"]["repeat_invalid"], 2);
}

// --repeat-invalid takes the values of the task setting: 0 to 10.
TEST_F(ServiceTest, ServerRefusesRepeatInvalidOutOfRange) {
  const std::string dir = testing::MakeTempDir();
  for (const std::string value : {"-1", "11"}) {
    auto run = Edgebench({"server", "--listen", "127.0.0.1:0", "--data", dir + "/data", "--repeat-invalid", value});
    EXPECT_EQ(run.exit_code, 2) << run.err;
    EXPECT_NE(run.err.find("--repeat-invalid is out of range [0, 10]: " + value), std::string::npos) << run.err;
  }
}

// A job: two models x the null runtime x two devices, through the CLI; the table has the
// models as rows and runtime (device) as columns.
TEST_F(ServiceTest, JobRunsEveryCombinationAndPrintsTheTable) {
  StartServer();
  const std::string tiny = testing::ZooModel("tinycnn", "onnx");
  const std::string dynamic = testing::ZooModel("tinycnn_dynamic", "onnx");
  EB_REQUIRE_FILE(tiny);
  EB_REQUIRE_FILE(dynamic);
  auto a1 = StartAgent("a1");
  auto a2 = StartAgent("a2");
  ASSERT_TRUE(WaitForDevice("a1")) << AgentLog("a1");
  ASSERT_TRUE(WaitForDevice("a2")) << AgentLog("a2");
  std::vector<std::string> args = {"job", tiny, dynamic, "--runtime", "null", "--device", "a1", "--device", "a2",
                                   "--min-runs", "3", "--wait", "--wait-timeout", "120"};
  args.insert(args.end(), kQuickFlags.begin(), kQuickFlags.end());
  for (const auto& flag : ClientFlags()) args.push_back(flag);
  auto job = Edgebench(args);
  ASSERT_EQ(job.exit_code, 0) << job.err << "\na1: " << AgentLog("a1") << "\na2: " << AgentLog("a2");
  EXPECT_NE(job.err.find("4 tasks queued"), std::string::npos) << job.err;
  EXPECT_NE(job.err.find("4/4 tasks done"), std::string::npos) << job.err;
  EXPECT_NE(job.out.find("null (a1)"), std::string::npos) << job.out;
  EXPECT_NE(job.out.find("null (a2)"), std::string::npos) << job.out;
  EXPECT_NE(job.out.find("tinycnn_dynamic"), std::string::npos) << job.out;

  auto listing = Edgebench({"jobs", "--json", "--server", url_, "--token-file", admin_token_file_});
  ASSERT_EQ(listing.exit_code, 0) << listing.err;
  const json jobs = json::parse(listing.out);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]["state"], "succeeded");
  EXPECT_EQ(jobs[0]["tasks_done"], 4);
  // One job: its progress, its tasks by model name, the latency matrix.
  auto one = Edgebench({"jobs", std::to_string(jobs[0]["id"].get<int64_t>()), "--server", url_, "--token-file",
                        admin_token_file_});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_NE(one.out.find("succeeded  4/4 tasks done"), std::string::npos) << one.out;
  EXPECT_NE(one.out.find("tinycnn_dynamic.onnx"), std::string::npos) << one.out;
  EXPECT_NE(one.out.find("null (a2)"), std::string::npos) << one.out;
  EXPECT_EQ(Edgebench({"jobs", "99", "--server", url_, "--token-file", admin_token_file_}).exit_code, 2);
  auto res = Http(admin_token_).Get(("/v1/jobs/" + std::to_string(jobs[0]["id"].get<int64_t>())).c_str());
  ASSERT_TRUE(res && res->status == 200);
  const json detail = json::parse(res->body);
  ASSERT_EQ(detail["tasks"].size(), 4u);
  std::set<std::pair<std::string, std::string>> cells;  // (model, device) pairs run
  for (const auto& task : detail["tasks"]) {
    EXPECT_EQ(task["state"], "succeeded") << task.dump();
    EXPECT_EQ(task["job"], detail["id"]);
    EXPECT_EQ(task["agent"], task["device"]);
    EXPECT_EQ(CountStoredResults(task["id"].get<int64_t>()), 1);
    cells.emplace(task["model_sha256"].get<std::string>(), task["device"].get<std::string>());
  }
  EXPECT_EQ(cells.size(), 4u);
  const json header = detail["table"]["header"];
  EXPECT_EQ(header, (json{"model", "null (a1)", "null (a2)", "FLOPs"})) << header;
  ASSERT_EQ(detail["table"]["rows"].size(), 2u);
  EXPECT_EQ(detail["table"]["rows"][0][0], "tinycnn");
  EXPECT_EQ(detail["table"]["rows"][1][0], "tinycnn_dynamic");
  for (const auto& row : detail["table"]["rows"]) {
    EXPECT_FALSE(row[1].get<std::string>().empty()) << row;
    EXPECT_FALSE(row[2].get<std::string>().empty()) << row;
  }

  // An INVALID result is marked in the job's table, with its reason as a footnote: 1 ms runs
  // cannot reach 1000 timed runs in 30 ms. The stored result names its device (the agent).
  std::vector<std::string> invalid = {"job", tiny, "--runtime", "null", "--device", "a1", "-o", "spin_ns=1000000",
                                      "--min-runs", "1000", "--min-duration-ms", "0", "--max-duration-ms", "30", "--warmup-runs", "0",
                                      "--warmup-min-ms", "0", "--wait", "--wait-timeout", "120"};
  for (const auto& flag : ClientFlags()) invalid.push_back(flag);
  auto marked = Edgebench(invalid);
  ASSERT_EQ(marked.exit_code, 0) << marked.err << "\na1: " << AgentLog("a1");
  EXPECT_NE(marked.out.find("null (a1)"), std::string::npos) << marked.out;
  EXPECT_NE(marked.out.find(" !1"), std::string::npos) << marked.out;
  EXPECT_NE(marked.out.find("0 of 1 results valid; 1 INVALID (!)"), std::string::npos) << marked.out;
  EXPECT_NE(marked.out.find("fewer than the minimum 1000"), std::string::npos) << marked.out;
  auto invalid_jobs = Edgebench({"jobs", "--json", "--server", url_, "--token-file", admin_token_file_});
  ASSERT_EQ(invalid_jobs.exit_code, 0) << invalid_jobs.err;
  int64_t invalid_job = 0;
  for (const auto& j : json::parse(invalid_jobs.out)) invalid_job = std::max(invalid_job, j["id"].get<int64_t>());
  auto invalid_detail = Http(admin_token_).Get(("/v1/jobs/" + std::to_string(invalid_job)).c_str());
  ASSERT_TRUE(invalid_detail && invalid_detail->status == 200);
  const json invalid_table = json::parse(invalid_detail->body)["table"];
  ASSERT_EQ(invalid_table["rows"].size(), 1u) << invalid_table.dump();
  EXPECT_NE(invalid_table["rows"][0][1].get<std::string>().find(" !1"), std::string::npos) << invalid_table.dump();
  bool named = false;  // the reason is a footnote (others, such as the spread, may be too)
  for (const auto& note : invalid_table["invalid_notes"]) {
    named = named || note.get<std::string>().find("fewer than the minimum 1000") != std::string::npos;
  }
  EXPECT_TRUE(named) << invalid_table.dump();
  const int64_t invalid_task = json::parse(invalid_detail->body)["tasks"][0]["id"].get<int64_t>();
  auto task = Http(admin_token_).Get(("/v1/tasks/" + std::to_string(invalid_task)).c_str());
  ASSERT_TRUE(task && task->status == 200);
  EXPECT_EQ(json::parse(task->body)["result"]["device"], "a1");

  // A job whose tasks fail (a bad runtime option) ends failed and exits non-zero.
  std::vector<std::string> bad = {"job", tiny, "--runtime", "null", "--device", "a1", "-o", "spin_ns=-5",
                                  "--wait", "--wait-timeout", "120"};
  for (const auto& flag : ClientFlags()) bad.push_back(flag);
  auto failed = Edgebench(bad);
  EXPECT_EQ(failed.exit_code, 1) << failed.err;
  EXPECT_NE(failed.err.find("failed"), std::string::npos) << failed.err;
}

// A job whose models no registered device reads and the server cannot convert is refused at
// submission, each (model, runtime) pair named, and nothing is queued.
TEST_F(ServiceTest, JobNamesEveryPairNoDeviceCanRun) {
  StartServer();
  const std::string onnx = testing::ZooModel("tinycnn", "onnx");
  const std::string pt = testing::ZooModel("tinycnn", "pt");
  const std::string other_pt = testing::ZooModel("squeezenet11", "pt");
  EB_REQUIRE_FILE(onnx);
  EB_REQUIRE_FILE(pt);
  EB_REQUIRE_FILE(other_pt);
  auto registration = Http(registration_token_);
  const json agent = {{"name", "ort1"},
                      {"facts", {{"runtimes", {{{"name", "onnxruntime"}, {"version", "1"}, {"formats", {"onnx"}}},
                                               {{"name", "opencv"}, {"version", "1"}, {"formats", {"onnx"}}}}}}}};
  auto registered = registration.Post("/v1/agents", agent.dump(), "application/json");
  ASSERT_TRUE(registered && registered->status == 201);
  const json job = {{"models", {UploadModel(onnx), UploadModel(pt), UploadModel(other_pt)}},
                    {"runtimes", {"onnxruntime", "opencv"}},
                    {"devices", {"ort1"}}};
  auto res = Http(admin_token_).Post("/v1/jobs", job.dump(), "application/json");
  ExpectError(res, 422, "tinycnn.pt on onnxruntime: runtime 'onnxruntime' reads onnx");
  const std::string message = json::parse(res->body)["error"];
  for (const std::string pair : {"tinycnn.pt on opencv", "squeezenet11.pt on onnxruntime", "squeezenet11.pt on opencv"}) {
    EXPECT_NE(message.find(pair), std::string::npos) << message;
  }
  EXPECT_EQ(message.find("tinycnn.onnx on"), std::string::npos) << message;
  auto tasks = Http(admin_token_).Get("/v1/tasks");
  ASSERT_TRUE(tasks && tasks->status == 200);
  EXPECT_TRUE(json::parse(tasks->body)["tasks"].empty()) << tasks->body;
}

TEST_F(ServiceTest, BadJobsAndOversizedRequestsAreRefused) {
  StartServer({"--max-request-kb", "64"});
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(model);
  const std::string agent_token = RegisterFakeAgent("fake1", {{"board", "pc"}});
  const std::string sha = UploadModel(model);
  auto client = Http(admin_token_);
  auto post = [&](const json& body) { return client.Post("/v1/jobs", body.dump(), "application/json"); };
  const json good = {{"models", {sha}}, {"runtimes", {"null"}}, {"devices", {"fake1"}}};
  json wrong = good;
  wrong.erase("models");
  ExpectError(post(wrong), 400, "'models' must be a non-empty array");
  wrong = good;
  wrong["runtimes"] = {"null", "null"};
  ExpectError(post(wrong), 400, "twice");
  wrong = good;
  wrong["models"] = {std::string(64, 'f')};
  ExpectError(post(wrong), 404, "not found");
  wrong = good;
  wrong["models"] = {"abc"};
  ExpectError(post(wrong), 400, "sha256");
  wrong = good;
  wrong["devices"] = {"nowhere"};
  ExpectError(post(wrong), 422, "unknown device 'nowhere'");
  wrong = good;
  wrong["runtimes"] = {"null", "tflite"};
  ExpectError(post(wrong), 422, "unknown runtime 'tflite'");
  wrong["skip_unavailable"] = true;  // leaves the pair out instead
  auto skipped = post(wrong);
  ASSERT_TRUE(skipped);
  ASSERT_EQ(skipped->status, 201) << skipped->body;
  EXPECT_EQ(json::parse(skipped->body)["tasks_total"], 1);
  EXPECT_EQ(json::parse(skipped->body)["spec"]["skipped"][0]["runtime"], "tflite");
  wrong = good;
  wrong["selectors"] = {{{"board", 5}}};
  ExpectError(post(wrong), 400, "'selectors[0].board' must be a string");
  wrong = good;
  wrong.erase("devices");
  ExpectError(post(wrong), 400, "at least one of 'devices' and 'selectors'");
  wrong = good;
  wrong["settings"] = {{"min_runs", 0}};
  ExpectError(post(wrong), 400, "'settings.min_runs' is out of range");
  wrong = good;
  wrong["colour"] = "red";
  ExpectError(post(wrong), 400, "unknown field 'colour'");
  ExpectError(client.Get("/v1/jobs/12345"), 404, "job 12345 not found");
  ExpectError(Http("wrong").Get("/v1/jobs"), 401, "invalid token");

  // Bodies over --max-request-kb: refused from Content-Length, and without one (chunked).
  json big = good;
  big["settings"] = {{"options", {{"pad", std::string(100 << 10, 'x')}}}};
  ExpectError(post(big), 413, "exceeds the limit of 65536 bytes");
  ExpectError(client.Post("/v1/tasks", big.dump(), "application/json"), 413, "exceeds the limit");
  const std::string body = big.dump();
  auto chunked = client.Post(
      "/v1/tasks",
      [&](size_t offset, httplib::DataSink& sink) {
        if (offset < body.size()) sink.write(body.data() + offset, std::min<size_t>(4096, body.size() - offset));
        if (offset + 4096 >= body.size()) sink.done();
        return true;
      },
      "application/json");
  ExpectError(chunked, 413, "exceeds the limit");
  ExpectError(Http(registration_token_).Post("/v1/agents", big.dump(), "application/json"), 413, "exceeds the limit");
  // Names and labels are checked too.
  json agent = {{"name", "ok"}, {"facts", {{"runtimes", {{{"name", "null"}}}}}}, {"labels", {{"bad key!", "x"}}}};
  ExpectError(Http(registration_token_).Post("/v1/agents", agent.dump(), "application/json"), 400, "labels key");
  ExpectError(Http(agent_token).Post("/v1/agents/fake1/lease?wait_s=abc"), 400, "'wait_s'");
  ExpectError(Http(agent_token).Post("/v1/agents/fake1/lease?wait_s=-1"), 400, "'wait_s'");
}

// Issue 18, defects 1, 5 and 7: hostile bodies and headers get 4xx answers that name the problem
// (never the JSON library's text), and the server lives on.
TEST_F(ServiceTest, HostileRequestsAreRefusedAndTheServerLivesOn) {
  StartServer();
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(model);
  const std::string agent_token = RegisterFakeAgent("fake1");
  const std::string sha = UploadModel(model);
  const int64_t id = CreateTask(sha, "fake1");
  auto agent = Http(agent_token);
  auto lease = agent.Post("/v1/agents/fake1/lease");
  ASSERT_TRUE(lease && lease->status == 200) << (lease ? lease->body : "no answer");
  const std::string result_path = "/v1/tasks/" + std::to_string(id) + "/result";

  // 1: a 100,000-deep array (the server crashed on it).
  const std::string deep = "{\"schema\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
  ExpectError(agent.Post(result_path.c_str(), deep, "application/json"), 400,
              "result document: JSON nested deeper than 64 levels");
  auto health = agent.Get("/v1/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);

  // 5: values out of range, named.
  auto bench = Edgebench({"bench", model, "-r", "null", "--min-runs", "2000", "--warmup-runs", "1", "--warmup-min-ms",
                          "0", "--min-duration-ms", "0", "-q", "--json", "-"});
  ASSERT_EQ(bench.exit_code, 0) << bench.err;
  const json document = json::parse(bench.out);
  for (const auto& [pointer, value, named] :
       std::vector<std::tuple<std::string, json, std::string>>{{"/load_ms", -1, "field 'load_ms' is out of range"},
                                                               {"/peak_rss_bytes", -1, "field 'peak_rss_bytes' is out of range"},
                                                               {"/started_at", "x", "field 'started_at' must be a UTC timestamp"},
                                                               {"/settings/threads", 2147483648, "'settings.threads' is out of range"}}) {
    json bad = document;
    bad[json::json_pointer(pointer)] = value;
    ExpectError(agent.Post(result_path.c_str(), bad.dump(), "application/json"), 400, named);
  }
  // 7: a nested field of the wrong type: named as well as the reader can, never the library's text.
  json nested = document;
  nested["environment"]["hostname"] = 5;
  auto refused = agent.Post(result_path.c_str(), nested.dump(), "application/json");
  ExpectError(refused, 400, "malformed result document");
  EXPECT_EQ(refused->body.find("json.exception"), std::string::npos) << refused->body;
  EXPECT_EQ(refused->body.find("type must be"), std::string::npos) << refused->body;

  // 7: strict Content-Length and token syntax (sent raw: clients would not send these).
  const std::string head = "POST " + result_path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
  const std::string auth = "Authorization: Bearer " + agent_token + "\r\n";
  std::string answer = AnswerToHeadersOnly(url_, head + auth + "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}");
  EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
  EXPECT_NE(answer.find("more than one Content-Length"), std::string::npos) << answer;
  for (const std::string length : {"+2", "0x2", "-1", "2abc"}) {
    answer = AnswerToHeadersOnly(url_, head + auth + "Content-Length: " + length + "\r\n\r\n{}");
    EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << length << ": " << answer;
  }
  answer = AnswerToHeadersOnly(url_, head + "Authorization: Bearer " + agent_token + std::string(1, '\0') +
                                         "junk\r\nContent-Length: 2\r\n\r\n{}");
  EXPECT_EQ(answer.rfind("HTTP/1.1 401", 0), 0u) << answer;
  answer = AnswerToHeadersOnly(url_, head + auth + auth + "Content-Length: 2\r\n\r\n{}");
  EXPECT_EQ(answer.rfind("HTTP/1.1 401", 0), 0u) << answer;

  // 7: curl --data-binary @result.json sends application/x-www-form-urlencoded: taken as JSON,
  // over 8 KiB too.
  ASSERT_GT(document.dump().size(), 8192u);
  auto stored = agent.Post(result_path.c_str(), document.dump(), "application/x-www-form-urlencoded");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->status, 201) << stored->body;
  // Multipart is no JSON body.
  ExpectError(agent.Post(result_path.c_str(), httplib::MultipartFormDataItems{{"file", "{}", "r.json", ""}}), 415,
              "not multipart/form-data");

  // 7: `curl -X POST .../cancel` sends no body and no Content-Length.
  const int64_t other = CreateTask(sha, "fake1");
  answer = AnswerToHeadersOnly(url_, "POST /v1/tasks/" + std::to_string(other) +
                                         "/cancel HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                                         "Authorization: Bearer " + admin_token_ + "\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
  EXPECT_EQ(GetTask(other)["state"], "cancelled");
}

// Issue 18, defects 2 and 7: the shared registration token registers new names only; a name is
// re-registered with its agent's current token (or the admin's); racing registrations of one
// name give one winner and 409s; user names are unique.
TEST_F(ServiceTest, RegistrationProvesIdentityAndRacesHaveOneWinner) {
  StartServer();
  const std::string first = RegisterFakeAgent("dev1");
  const json request = {{"name", "dev1"}, {"facts", {{"runtimes", {{{"name", "null"}}}}}}};
  auto post = [&](const std::string& token, const json& body) {
    return Http(token).Post("/v1/agents", body.dump(), "application/json");
  };
  ExpectError(post(registration_token_, request), 409, "agent 'dev1' is registered already");
  EXPECT_EQ(Http(first).Post("/v1/agents/dev1/lease")->status, 204);  // the first token lives on
  auto renewed = post(first, request);
  ASSERT_TRUE(renewed);
  ASSERT_EQ(renewed->status, 201) << renewed->body;
  const std::string second = json::parse(renewed->body)["token"];
  ExpectError(Http(first).Post("/v1/agents/dev1/lease"), 401, "invalid token");
  EXPECT_EQ(Http(second).Post("/v1/agents/dev1/lease")->status, 204);
  const std::string other = RegisterFakeAgent("dev2");
  ExpectError(post(other, request), 403, "belongs to agent 'dev2'");
  auto by_admin = post(admin_token_, request);
  ASSERT_TRUE(by_admin);
  EXPECT_EQ(by_admin->status, 201) << by_admin->body;

  std::vector<std::thread> racers;
  std::mutex mutex;
  std::map<int, int> statuses;
  json race = request;
  race["name"] = "race1";
  for (int i = 0; i < 50; ++i) {
    racers.emplace_back([&] {
      auto res = post(registration_token_, race);
      std::lock_guard lock(mutex);
      ++statuses[res ? res->status : 0];
    });
  }
  for (auto& racer : racers) racer.join();
  EXPECT_EQ(statuses, (std::map<int, int>{{201, 1}, {409, 49}}));

  auto users = Http(admin_token_);
  auto alice = users.Post("/v1/users", R"({"name": "alice"})", "application/json");
  ASSERT_TRUE(alice);
  EXPECT_EQ(alice->status, 201);
  ExpectError(users.Post("/v1/users", R"({"name": "alice"})", "application/json"), 409, "user 'alice' exists");
  ExpectError(users.Post("/v1/users", R"({"name": "admin"})", "application/json"), 409, "user 'admin' exists");

  // A restarted agent takes its name back with the token it kept.
  auto agent = StartAgent("phoenix");
  ASSERT_TRUE(WaitForDevice("phoenix")) << AgentLog("phoenix");
  agent->Kill(SIGTERM);
  agent = StartAgent("phoenix");
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (AgentLog("phoenix").find("registered as") == std::string::npos && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(AgentLog("phoenix").find("registered as 'phoenix'"), std::string::npos) << AgentLog("phoenix");
}

// Issue 18, defect 4: multipart model uploads, names that are not UTF-8, and no temporary file
// left behind by any refusal.
TEST_F(ServiceTest, ModelUploadsTakeMultipartAndLeaveNothingBehind) {
  StartServer();
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(model);
  auto client = Http(admin_token_);
  auto multipart = client.Post("/v1/models", httplib::MultipartFormDataItems{{"model", ReadFile(model), "tiny.onnx", ""}});
  ASSERT_TRUE(multipart);
  ASSERT_EQ(multipart->status, 201) << multipart->body;
  EXPECT_EQ(json::parse(multipart->body)["name"], "tiny.onnx");
  EXPECT_EQ(json::parse(multipart->body)["format"], "onnx");
  ExpectError(client.Post("/v1/models", httplib::MultipartFormDataItems{{"a", "x", "a.onnx", ""}, {"b", "y", "b.onnx", ""}}),
              400, "exactly one part");
  client.set_url_encode(false);  // sent as written: %FF is a byte that no UTF-8 name holds
  ExpectError(client.Post("/v1/models?name=bad%FF.onnx", ReadFile(model), "application/octet-stream"), 400,
              "the model name must be UTF-8");
  ExpectError(client.Post("/v1/models?name=junk.bin", std::string(100, 'x'), "application/octet-stream"), 400,
              "junk.bin");
  ExpectError(client.Post("/v1/models?name=empty.onnx", "", "application/octet-stream"), 400, "empty model upload");
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir_ + "/data/models")) {
    files.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(files, std::vector<std::string>{json::parse(multipart->body)["sha256"].get<std::string>()});
}

// Issue 18, defect 6: GET /v1/tasks is paged (?limit=&after=, "next") and filtered (?state=&job=),
// as the `tasks` command is; /v1/jobs and /v1/devices page too.
TEST_F(ServiceTest, ListsArePagedAndFiltered) {
  StartServer();
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(model);
  RegisterFakeAgent("fake1");
  RegisterFakeAgent("fake2");
  const std::string sha = UploadModel(model);
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(CreateTask(sha, "fake1"));
  auto client = Http(admin_token_);
  ASSERT_EQ(client.Post(("/v1/tasks/" + std::to_string(ids[0]) + "/cancel").c_str())->status, 200);
  auto get = [&](const std::string& path) {
    auto res = client.Get(path.c_str());
    EXPECT_TRUE(res && res->status == 200) << path << ": " << (res ? res->body : "no answer");
    return res && res->status == 200 ? json::parse(res->body) : json();
  };
  auto ids_of = [](const json& tasks) {
    std::vector<int64_t> listed;
    for (const auto& task : tasks) listed.push_back(task["id"]);
    return listed;
  };
  json page = get("/v1/tasks?limit=2");
  EXPECT_EQ(ids_of(page["tasks"]), (std::vector<int64_t>{ids[4], ids[3]}));
  EXPECT_EQ(page["next"], ids[3]);
  page = get("/v1/tasks?limit=2&after=" + std::to_string(ids[1]));
  EXPECT_EQ(ids_of(page["tasks"]), (std::vector<int64_t>{ids[0]}));
  EXPECT_TRUE(page["next"].is_null());
  EXPECT_EQ(ids_of(get("/v1/tasks?state=cancelled")["tasks"]), (std::vector<int64_t>{ids[0]}));
  EXPECT_EQ(get("/v1/tasks")["tasks"].size(), 5u);
  const json job = {{"models", {sha}}, {"runtimes", {"null"}}, {"devices", {"fake1", "fake2"}}};
  auto created = client.Post("/v1/jobs", job.dump(), "application/json");
  ASSERT_TRUE(created && created->status == 201);
  const int64_t job_id = json::parse(created->body)["id"];
  EXPECT_EQ(get("/v1/tasks?job=" + std::to_string(job_id))["tasks"].size(), 2u);
  ExpectError(client.Get("/v1/tasks?limit=0"), 400, "'limit' must be an integer in [1, 1000]");
  ExpectError(client.Get("/v1/tasks?limit=1001"), 400, "'limit'");
  ExpectError(client.Get("/v1/tasks?after=x"), 400, "'after'");
  ExpectError(client.Get("/v1/tasks?state=done"), 400, "'state' must be one of");
  page = get("/v1/jobs?limit=1");
  EXPECT_EQ(page["jobs"].size(), 1u);
  EXPECT_TRUE(page["next"].is_null());
  page = get("/v1/devices?limit=1");
  ASSERT_EQ(page["devices"].size(), 1u);
  EXPECT_EQ(page["devices"][0]["name"], "fake1");
  EXPECT_EQ(page["next"], "fake1");
  EXPECT_EQ(get("/v1/devices?after=fake1")["devices"][0]["name"], "fake2");

  auto listed = Edgebench({"tasks", "--json", "--state", "queued", "--limit", "2", "--server", url_, "--token-file",
                           admin_token_file_});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(json::parse(listed.out).size(), 2u);
  EXPECT_NE(listed.err.find("more tasks: --after"), std::string::npos) << listed.err;
  listed = Edgebench({"tasks", "--json", "--job", std::to_string(job_id), "--server", url_, "--token-file",
                      admin_token_file_});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(json::parse(listed.out).size(), 2u);
}

// The server is killed (-9) while a job runs and restarted on the same data and port: the
// agent carries on, the job completes, one result per task.
TEST_F(ServiceTest, ServerKilledMidJobRestartsAndTheJobCompletes) {
  StartServer();
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(model);
  const std::string listen = url_.substr(std::string("http://").size());
  auto agent = StartAgent("survivor");
  ASSERT_TRUE(WaitForDevice("survivor")) << AgentLog("survivor");
  // Three tasks of ~1 s simulated work each.
  const json settings = {{"min_runs", 500}, {"max_runs", 500}, {"warmup_runs", 0}, {"warmup_min_ms", 0},
                         {"min_duration_ms", 0}, {"options", {{"spin_ns", "2000000"}}}};
  const std::string sha = UploadModel(model);
  const std::string other = UploadModel(testing::ZooModel("tinycnn_dynamic", "onnx"));
  json request = {{"models", {sha, other}}, {"runtimes", {"null"}}, {"devices", {"survivor"}},
                  {"settings", settings}};
  auto created = Http(admin_token_).Post("/v1/jobs", request.dump(), "application/json");
  ASSERT_TRUE(created && created->status == 201) << (created ? created->body : "no answer");
  const int64_t job_id = json::parse(created->body)["id"].get<int64_t>();
  const int64_t first = json::parse(created->body)["tasks"][0]["id"].get<int64_t>();
  json task = WaitForTask(first, [](const json& t) { return t["state"] == "running"; }, 30000);
  ASSERT_EQ(task["state"], "running") << task.dump() << AgentLog("survivor");

  server_->Kill(SIGKILL);
  // Down until the agent has met the dead server (a heartbeat or an upload that cannot connect).
  const auto down_deadline = Clock::now() + std::chrono::seconds(60);
  while (AgentLog("survivor").find("cannot reach") == std::string::npos && Clock::now() < down_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_NE(AgentLog("survivor").find("cannot reach"), std::string::npos) << AgentLog("survivor");
  ListenAgain(listen);
  auto job_state = [&] {
    auto res = Http(admin_token_).Get(("/v1/jobs/" + std::to_string(job_id)).c_str());
    return res && res->status == 200 ? json::parse(res->body) : json();
  };
  json job;
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  while (Clock::now() < deadline) {
    job = job_state();
    if (job.is_object() && (job["state"] == "succeeded" || job["state"] == "failed")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(job["state"], "succeeded") << job.dump() << "\n" << AgentLog("survivor");
  for (const auto& t : job["tasks"]) {
    EXPECT_EQ(t["state"], "succeeded") << t.dump();
    EXPECT_EQ(CountStoredResults(t["id"].get<int64_t>()), 1);
    EXPECT_FALSE(t.contains("result")) << t.dump();  // the job lists tasks; results are in the table
  }
  EXPECT_EQ(job["table"]["rows"].size(), 2u) << job["table"].dump();
  EXPECT_TRUE(agent->running());
}

// HTTPS with a self-signed certificate made by the openssl CLI: a task runs end to end; a client
// without the CA is refused with a clear message.
TEST_F(ServiceTest, TlsServerRunsATaskForClientsThatTrustItsCertificate) {
  const std::string dir = testing::MakeTempDir();
  ca_file_ = dir + "/cert.pem";
  const std::string key = dir + "/key.pem";
  auto made = testing::RunProcess({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                                   "-out", ca_file_, "-days", "2", "-subj", "/CN=127.0.0.1",
                                   "-addext", "subjectAltName=IP:127.0.0.1"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  StartServer({"--tls-cert", ca_file_, "--tls-key", key});
  ASSERT_EQ(url_.rfind("https://", 0), 0u) << url_;
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(model);
  auto agent = StartAgent("secure", {"--once", "--ca-file", ca_file_});
  ASSERT_TRUE(WaitForDevice("secure")) << AgentLog("secure");
  std::vector<std::string> args = {"submit", model, "--runtime", "null", "--device", "secure", "--min-runs", "3",
                                   "--wait", "--wait-timeout", "60", "--json", "--ca-file", ca_file_};
  args.insert(args.end(), kQuickFlags.begin(), kQuickFlags.end());
  for (const auto& flag : ClientFlags()) args.push_back(flag);
  testing::ProcessResult submit;
  json document = SubmitAndWait(args, &submit);
  ASSERT_EQ(submit.exit_code, 0) << submit.err << "\nagent: " << AgentLog("secure");
  EXPECT_EQ(document["runs"], 3);
  EXPECT_EQ(agent->Wait(20000), 0) << AgentLog("secure");
  // The dashboard and the OpenAPI document on the same port, over TLS, without a token.
  auto page = Http("").Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page->body.find("<script type=\"module\" src=\"/app.js\">"), std::string::npos) << page->body;
  auto script = Http("").Get("/app.js");
  ASSERT_TRUE(script);
  EXPECT_EQ(script->status, 200);
  EXPECT_EQ(script->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  auto description = Http("").Get("/v1/openapi.json");
  ASSERT_TRUE(description);
  EXPECT_EQ(json::parse(description->body)["openapi"], "3.1.0");
  // An agent that does not trust the certificate cannot register and says why.
  auto doubting = StartAgent("doubting", {"--once", "--register-timeout", "0"});
  EXPECT_EQ(doubting->Wait(20000), 1) << AgentLog("doubting");
  EXPECT_NE(AgentLog("doubting").find("certificate"), std::string::npos) << AgentLog("doubting");

  auto untrusted = Edgebench({"tasks", "--server", url_, "--token-file", admin_token_file_});
  EXPECT_EQ(untrusted.exit_code, 1) << untrusted.err;
  EXPECT_NE(untrusted.err.find("--ca-file"), std::string::npos) << untrusted.err;
  auto plain = Edgebench({"tasks", "--server", "http" + url_.substr(5), "--token-file", admin_token_file_});
  EXPECT_NE(plain.exit_code, 0);
  auto missing = Edgebench({"server", "--listen", "127.0.0.1:0", "--data", dir + "/other", "--tls-cert", ca_file_});
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
  EXPECT_NE(missing.err.find("--tls-key"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace edgebench
