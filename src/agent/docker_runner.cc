// DockerRunner: the bench in the task's runtime image, through the Docker Engine API.
#include <filesystem>
#include <future>
#include <random>
#include <thread>

#include "edgebench/environment.h"
#include "task_runner.h"

namespace edgebench::agent {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// Removes a container (force: killed first if running) and returns once the engine no longer
// knows it, bounded at 30 s: a DELETE can answer while the removal is still in progress (409),
// or fail while a killed container's filesystem is still busy (500), so it is retried until an
// inspect says 404. Logs when the container outlives the bound.
void RemoveContainer(const DockerEngine& engine, const std::string& id) {
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  std::string last;
  while (true) {
    auto removed = engine.Request("DELETE", "/containers/" + id + "?force=1", nullptr, 60);
    last = removed.ok() ? std::to_string(removed->status) + " " + removed->body : removed.error().message;
    auto inspected = engine.Request("GET", "/containers/" + id + "/json", nullptr, 30);
    if (inspected.ok() && inspected->status == 404) return;
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the engine's removal, not ours to signal
  }
  Log("container " + id.substr(0, 12) + " is still there after 30 s of removal attempts: " + last);
}

class DockerRunner final : public TaskRunner {
 public:
  DockerRunner(DockerEngine engine, DockerOptions limits, std::string agent_name)
      : engine_(std::move(engine)), limits_(std::move(limits)), agent_name_(std::move(agent_name)) {}

  // Pulls the task's image, runs the bench in a sandboxed container, always removes it.
  Expected<RunOutcome> Run(const TaskSpec& task, LeaseKeeper& lease) override {
    const Environment environment = CollectEnvironment();
    const std::string& arch = environment.architecture;
    if (task.image.empty()) {
      return NotFound("the server has no image for runtime '" + task.runtime + "' on " + arch +
                      " (edgebench server --image " + task.runtime + "/" + arch + "=REFERENCE)");
    }
    // Pull in the background while the lease is renewed (a large image takes a while).
    const DockerEngine engine = engine_;
    const std::string image = task.image;
    const int pull_timeout = limits_.pull_timeout_seconds;
    auto pulled = std::async(std::launch::async, [engine, image, pull_timeout] { return engine.Pull(image, pull_timeout); });
    const WaitOutcome pulling = lease.WaitRenewing(Clock::now() + std::chrono::seconds(pull_timeout + 5), [&] {
      return pulled.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
    });
    if (pulling == WaitOutcome::kAbandoned) return RunOutcome{WaitOutcome::kAbandoned, 0, "", "the image pull was left"};
    if (Status status = pulled.get(); !status.ok()) return NotFound(status.error().message);

    // The output directory is written by the container's (non-root) user.
    fs::permissions(task.out_dir, fs::perms::all);
    // Each model read-only as /models/[N/]NAME: its own name (a comparison labels variants by it),
    // in a directory of its own when a comparison's models may share a name.
    std::vector<std::string> inner_models;
    json binds = json::array();
    std::vector<std::string> host_models = {task.model_path};
    host_models.insert(host_models.end(), task.compare_model_paths.begin(), task.compare_model_paths.end());
    for (const auto& model : host_models) {
      const std::string dir = inner_models.empty() ? "/models/" : "/models/" + std::to_string(inner_models.size()) + "/";
      inner_models.push_back(dir + fs::path(model).filename().string());
      binds.push_back(fs::absolute(model).string() + ":" + inner_models.back() + ":ro");
    }
    const std::string inner_settings = "/task/settings.json";
    binds.push_back(fs::absolute(task.settings_path).string() + ":" + inner_settings + ":ro");
    binds.push_back(task.out_dir + ":/results:rw");
    std::vector<std::string> args = TaskArguments(task, inner_models, inner_settings, "/results/result.json");
    std::mt19937_64 random(std::random_device{}());
    const std::string name = "edgebench-task-" + std::to_string(task.id) + "-" + std::to_string(random() % 1000000000);
    json host = {{"NetworkMode", "none"},
                 {"Memory", limits_.memory_mb << 20},
                 {"MemorySwap", limits_.memory_mb << 20},
                 {"PidsLimit", limits_.pids_limit},
                 {"ReadonlyRootfs", true},
                 {"CapDrop", {"ALL"}},
                 {"SecurityOpt", {"no-new-privileges"}},
                 {"Tmpfs", {{"/tmp", "rw,nosuid,nodev,size=" + std::to_string(limits_.tmpfs_mb) + "m"}}},
                 {"Binds", binds}};
    if (limits_.cpus > 0) host["NanoCpus"] = static_cast<int64_t>(limits_.cpus * 1e9);
    // The container is named after the device (not its random id), so that its results group
    // with the device's in reports.
    const json spec = {{"Image", image},
                       {"Hostname", environment.hostname},
                       {"Entrypoint", {"edgebench"}},
                       {"Cmd", args},
                       {"User", limits_.user},
                       {"WorkingDir", "/tmp"},
                       {"Env", {"HOME=/tmp"}},
                       {"NetworkDisabled", true},
                       {"Labels", {{"org.edgebench.task", std::to_string(task.id)}, {"org.edgebench.agent", agent_name_}}},
                       {"HostConfig", host}};
    auto created = engine.Request("POST", "/containers/create?name=" + name, spec, 60);
    if (!created.ok()) return created.error();
    if (created->status != 201) {
      return RuntimeError("creating the container failed (" + std::to_string(created->status) + "): " +
                          created->Json().value("message", created->body));
    }
    const std::string container = created->Json().value("Id", name);
    // Removed whatever happens next (force: kills it when still running).
    struct Remover {
      const DockerEngine& engine;
      std::string id;
      ~Remover() { RemoveContainer(engine, id); }
    } remover{engine, container};
    auto started = engine.Request("POST", "/containers/" + container + "/start", nullptr, 60);
    if (!started.ok()) return started.error();
    if (started->status != 204) {
      return RuntimeError("starting the container failed (" + std::to_string(started->status) + "): " +
                          started->Json().value("message", started->body));
    }
    Log("task " + std::to_string(task.id) + ": container " + container.substr(0, 12) + " from " + image);
    json state;
    auto exited = [&] {
      auto inspected = engine.Request("GET", "/containers/" + container + "/json", nullptr, 30);
      if (!inspected.ok() || inspected->status != 200) return false;
      state = inspected->Json().value("State", json::object());
      return state.value("Status", "") == "exited" || state.value("Status", "") == "dead";
    };
    RunOutcome outcome;
    outcome.wait = lease.WaitRenewing(Clock::now() + std::chrono::seconds(task.timeout_s), exited);
    if (outcome.wait != WaitOutcome::kDone) {
      (void)engine.Request("POST", "/containers/" + container + "/kill", nullptr, 30);
      outcome.note = "the container was killed and removed";
    }
    outcome.exit_code = state.value("ExitCode", -1);
    if (state.value("OOMKilled", false)) {
      outcome.note = "killed at the memory limit of " + std::to_string(limits_.memory_mb) + " MiB";
    }
    if (auto logs = engine.Logs(container); logs.ok()) outcome.log = *logs;
    return outcome;
  }

  std::string FailureStage(const Error& error) const override {
    return error.code == ErrorCode::kNotFound ? "image" : "container";
  }

  std::string Describe() const override { return "docker mode, engine on " + engine_.socket_path(); }

 private:
  DockerEngine engine_;
  DockerOptions limits_;
  std::string agent_name_;
};

}  // namespace

std::unique_ptr<TaskRunner> MakeDockerRunner(DockerEngine engine, DockerOptions limits, std::string agent_name) {
  return std::make_unique<DockerRunner>(std::move(engine), std::move(limits), std::move(agent_name));
}

}  // namespace edgebench::agent
