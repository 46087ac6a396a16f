// The agent's docker mode end to end: a real Docker engine and a real registry on loopback
// (tools/docker-env.sh), runtime images built from this build and pushed there (tools/images.sh),
// a real server that maps (runtime, arch) to them and a docker-mode agent. Where the engine or
// the images cannot be had (no root, no dockerd), every test is SKIPPED with the reason.
#include <chrono>
#include <filesystem>
#include <sstream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "testing/service_fixture.h"

namespace edgebench {
namespace {

using json = nlohmann::json;
using testing::Clock;
using testing::Edgebench;
using testing::kQuickFlags;
using testing::ProcessResult;
using testing::RunProcess;
using testing::Trim;

const char* const kDocker = "/usr/bin/docker";

// The Docker side, made once for the whole suite: "" and the image references, or the reason
// docker mode cannot be tested here.
struct DockerSide {
  std::string skip_reason;
  std::map<std::string, std::string> images;  // "RUNTIME/ARCH" -> reference
};

std::string LastLine(const std::string& text) {
  std::string line, last;
  std::istringstream lines(text);
  while (std::getline(lines, line)) {
    if (!line.empty()) last = line;
  }
  return last;
}

// tests/docker_setup.sh writes the images (or why there are none) to EDGEBENCH_DOCKER_IMAGES_FILE,
// once per CTest run (the fixture); when that file is missing or older than the binary (the suite
// run alone), the suite runs the script itself.
const DockerSide& Docker() {
  static const DockerSide side = [] {
    DockerSide side;
    namespace fs = std::filesystem;
    std::string file = EDGEBENCH_DOCKER_IMAGES_FILE;
    std::error_code error;
    if (!fs::exists(file) || fs::last_write_time(file, error) < fs::last_write_time(EDGEBENCH_BINARY, error)) {
      file = testing::MakeTempDir() + "/images.txt";
      const ProcessResult setup = RunProcess(
          {"/bin/bash", std::string(EDGEBENCH_SOURCE_DIR) + "/tests/docker_setup.sh", file, EDGEBENCH_BINARY});
      if (setup.exit_code != 0) {
        side.skip_reason = "tests/docker_setup.sh failed: " + LastLine(setup.err);
        return side;
      }
    }
    std::istringstream lines(testing::ReadFile(file));
    for (std::string line; std::getline(lines, line);) {
      const size_t eq = line.find('=');
      if (line.rfind("skip ", 0) == 0) {
        side.skip_reason = line.substr(5);
      } else if (line.rfind("image ", 0) == 0 && eq != std::string::npos) {
        side.images[line.substr(6, eq - 6)] = line.substr(eq + 1);
      }
    }
    if (side.skip_reason.empty() && side.images.empty()) side.skip_reason = file + ": no image";
    return side;
  }();
  return side;
}

// This machine's architecture as agents name it (facts.arch).
std::string Arch() {
  static const std::string arch = [] {
    std::string out = RunProcess({"/bin/uname", "-m"}).out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }();
  return arch;
}

// The containers a task ran in that still exist (running or not).
// The containers of task `task_id` run by agent `agent` (task ids alone repeat across servers on
// one engine, e.g. a demo beside the tests).
std::vector<std::string> ContainersOfTask(int64_t task_id, const std::string& agent) {
  const ProcessResult ps =
      RunProcess({kDocker, "ps", "-aq", "--filter", "label=org.edgebench.task=" + std::to_string(task_id), "--filter",
                  "label=org.edgebench.agent=" + agent});
  std::vector<std::string> ids;
  std::istringstream lines(ps.out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) ids.push_back(line);
  }
  return ids;
}

class DockerModeTest : public testing::ServiceFixture {
 protected:
  void SetUp() override {
    if (!Docker().skip_reason.empty()) GTEST_SKIP() << Docker().skip_reason;
  }

  // A server that knows this suite's images.
  void StartServerWithImages(std::vector<std::string> extra = {}) {
    for (const auto& [key, reference] : Docker().images) {
      extra.push_back("--image");
      extra.push_back(key + "=" + reference);
    }
    StartServer(extra);
  }

  std::unique_ptr<testing::Background> StartDockerAgent(const std::string& name, std::vector<std::string> extra = {}) {
    extra.insert(extra.begin(), {"--mode", "docker"});
    return StartAgent(name, extra);
  }

  // `edgebench submit ... --wait --json` of tinycnn; the result document.
  json SubmitTinycnn(const std::string& runtime, const std::string& device, std::vector<std::string> flags,
                     ProcessResult* submit) {
    const std::string model = testing::ZooModel("tinycnn", "onnx");
    std::vector<std::string> args = {"submit", model, "--runtime", runtime, "--device", device,
                                     "--wait", "--wait-timeout", "300", "--json"};
    args.insert(args.end(), flags.begin(), flags.end());
    for (const auto& flag : ClientFlags()) args.push_back(flag);
    *submit = Edgebench(args);
    return json::parse(submit->out, nullptr, false);
  }
};

TEST_F(DockerModeTest, AgentRegistersWithTheEngineAndTheServersImages) {
  StartServerWithImages();
  auto agent = StartDockerAgent("box1");
  ASSERT_TRUE(WaitForDevice("box1")) << AgentLog("box1");
  auto devices = Edgebench({"devices", "--json", "--server", url_, "--token-file", admin_token_file_});
  ASSERT_EQ(devices.exit_code, 0) << devices.err;
  const json facts = json::parse(devices.out)[0]["facts"];
  EXPECT_EQ(facts["execution"], "docker") << facts.dump();
  EXPECT_TRUE(facts["docker"]["available"].get<bool>()) << facts.dump();
  EXPECT_FALSE(facts["docker"]["version"].get<std::string>().empty());
  // The runtimes it offers are the images' (null and onnxruntime), not the host binary's.
  std::vector<std::string> runtimes;
  for (const auto& runtime : facts["runtimes"]) runtimes.push_back(runtime["name"]);
  EXPECT_EQ(runtimes, (std::vector<std::string>{"null", "onnxruntime"})) << facts.dump();
}

TEST_F(DockerModeTest, NullAndOnnxruntimeTasksRunInTheirImages) {
  StartServerWithImages();
  auto agent = StartDockerAgent("box2");
  ASSERT_TRUE(WaitForDevice("box2")) << AgentLog("box2");
  std::vector<std::string> flags = {"--min-runs", "5", "--threads", "1"};
  flags.insert(flags.end(), kQuickFlags.begin(), kQuickFlags.end());
  for (const std::string runtime : {"null", "onnxruntime"}) {
    ProcessResult submit;
    const json document = SubmitTinycnn(runtime, "box2", flags, &submit);
    ASSERT_EQ(submit.exit_code, 0) << runtime << ": " << submit.err << "\nagent: " << AgentLog("box2");
    EXPECT_EQ(document["schema"], "edgebench.result/1");
    EXPECT_TRUE(document["error"].is_null()) << document["error"].dump();
    EXPECT_EQ(document["runtime"]["name"], runtime);
    EXPECT_EQ(document["runs"], 5);
    // The bench ran in the runtime's image, in a container named after the device.
    EXPECT_NE(AgentLog("box2").find("from " + Docker().images.at(runtime + "/" + Arch())), std::string::npos)
        << AgentLog("box2");
    EXPECT_EQ(document["environment"]["hostname"], Trim(RunProcess({"/bin/hostname"}).out));
  }
  // A comparison task: both models bound read-only into the runtime's image and compared there.
  std::vector<std::string> compare_flags = flags;
  compare_flags.insert(compare_flags.end(), {"--compare", testing::ZooModel("squeezenet11", "onnx"), "--round-ms", "2"});
  ProcessResult submit;
  const json document = SubmitTinycnn("onnxruntime", "box2", compare_flags, &submit);
  ASSERT_EQ(submit.exit_code, 0) << submit.err << "\nagent: " << AgentLog("box2");
  EXPECT_EQ(document["schema"], "edgebench.comparison/1");
  EXPECT_EQ(document["device"], "box2");
  ASSERT_EQ(document["variants"].size(), 2u);
  EXPECT_EQ(document["variants"][0]["label"], "tinycnn");
  EXPECT_EQ(document["variants"][1]["label"], "squeezenet11");
  EXPECT_EQ(document["rounds"], 5);
}

TEST_F(DockerModeTest, ContainerHasTheSandboxTheAgentAsksFor) {
  StartServerWithImages({"--lease-seconds", "3"});
  auto agent = StartDockerAgent("box3", {"--once", "--docker-memory-mb", "512", "--docker-pids", "64",
                                         "--docker-cpus", "1.5"});
  ASSERT_TRUE(WaitForDevice("box3")) << AgentLog("box3");
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  // ~20 s of simulated work: long enough to look at the running container, then cancelled.
  const json settings = {{"min_runs", 4000}, {"max_runs", 4000}, {"warmup_runs", 0}, {"warmup_min_ms", 0},
                         {"min_duration_ms", 0}, {"options", {{"spin_ns", "5000000"}}}};
  const int64_t id = CreateTask(UploadModel(model), "box3", settings);
  json task = WaitForTask(id, [](const json& t) { return t["state"] == "running"; }, 120000);
  ASSERT_EQ(task["state"], "running") << task.dump() << AgentLog("box3");
  // The container is created, then started, after the task is marked running: wait (bounded)
  // until the engine says it runs.
  std::vector<std::string> containers;
  json container;
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline) {
    containers = ContainersOfTask(id, "box3");
    if (containers.size() == 1) {
      const ProcessResult inspect = RunProcess({kDocker, "inspect", containers[0]});
      ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
      container = json::parse(inspect.out)[0];
      if (container["State"]["Status"] != "created") break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(containers.size(), 1u) << AgentLog("box3");
  const json host = container["HostConfig"];
  EXPECT_EQ(host["NetworkMode"], "none");
  EXPECT_EQ(host["Memory"], int64_t{512} << 20);
  EXPECT_EQ(host["MemorySwap"], int64_t{512} << 20);  // no swap beyond the limit
  EXPECT_EQ(host["PidsLimit"], 64);
  EXPECT_EQ(host["NanoCpus"], int64_t{1500000000});
  EXPECT_TRUE(host["ReadonlyRootfs"].get<bool>());
  EXPECT_EQ(host["CapDrop"], json::array({"ALL"}));
  EXPECT_EQ(container["Config"]["User"], "65534:65534");
  bool model_read_only = false;
  for (const auto& mount : container["Mounts"]) {
    if (mount["Destination"].get<std::string>().rfind("/models/", 0) == 0) model_read_only = !mount["RW"].get<bool>();
  }
  EXPECT_TRUE(model_read_only) << container["Mounts"].dump();
  EXPECT_EQ(container["State"]["Status"], "running");

  // Cancelled: the agent kills and removes the container.
  auto cancel = Edgebench({"cancel", std::to_string(id), "--server", url_, "--token-file", admin_token_file_});
  EXPECT_EQ(cancel.exit_code, 0) << cancel.err;
  EXPECT_EQ(agent->Wait(60000), 0) << AgentLog("box3");
  EXPECT_TRUE(ContainersOfTask(id, "box3").empty()) << AgentLog("box3");
  EXPECT_EQ(GetTask(id)["state"], "cancelled");
}

TEST_F(DockerModeTest, HangingContainerIsKilledAtItsTimeoutAndRemoved) {
  StartServerWithImages();
  auto agent = StartDockerAgent("box4", {"--once"});
  ASSERT_TRUE(WaitForDevice("box4")) << AgentLog("box4");
  // ~10 s of simulated work with a 2 s timeout.
  std::vector<std::string> flags = {"-o", "spin_ns=5000000", "--min-runs", "2000", "--max-runs", "2000",
                                    "--timeout-s", "2"};
  flags.insert(flags.end(), kQuickFlags.begin(), kQuickFlags.end());
  ProcessResult submit;
  const json document = SubmitTinycnn("null", "box4", flags, &submit);
  EXPECT_EQ(submit.exit_code, 1) << submit.err;
  ASSERT_TRUE(document.is_object()) << submit.out << submit.err;
  EXPECT_EQ(document["error"]["stage"], "timeout") << document.dump();
  EXPECT_NE(document["error"]["message"].get<std::string>().find("removed"), std::string::npos) << document.dump();
  EXPECT_NE(submit.err.find("timed_out"), std::string::npos) << submit.err;
  EXPECT_EQ(agent->Wait(60000), 0) << AgentLog("box4");
  const json tasks = json::parse(Edgebench({"tasks", "--json", "--server", url_, "--token-file", admin_token_file_}).out);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_TRUE(ContainersOfTask(tasks[0]["id"].get<int64_t>(), "box4").empty()) << AgentLog("box4");
}

TEST_F(DockerModeTest, RuntimeWithoutAnImageFailsAtTheImageStage) {
  // The server maps null to an image that is not in the registry.
  const std::string& reference = Docker().images.at("null/" + Arch());
  const std::string registry = reference.substr(0, reference.find('/'));
  StartServer({"--image", "null/" + Arch() + "=" + registry + "/edgebench/absent:none"});
  auto agent = StartDockerAgent("box5", {"--once"});
  ASSERT_TRUE(WaitForDevice("box5")) << AgentLog("box5");
  ProcessResult submit;
  const json document = SubmitTinycnn("null", "box5", {}, &submit);
  EXPECT_EQ(submit.exit_code, 2) << submit.err;
  ASSERT_TRUE(document.is_object()) << submit.out << submit.err;
  EXPECT_EQ(document["error"]["stage"], "image") << document.dump();
  EXPECT_NE(document["error"]["message"].get<std::string>().find("edgebench/absent:none"), std::string::npos)
      << document.dump();
  EXPECT_EQ(agent->Wait(60000), 0) << AgentLog("box5");
}

}  // namespace
}  // namespace edgebench
