#include "edgebench/agent.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "edgebench/client.h"
#include "edgebench/environment.h"
#include "edgebench/model_file.h"
#include "edgebench/registry.h"
#include "edgebench/result_json.h"
#include "edgebench/settings.h"
#include "edgebench/text.h"
#include "task_runner.h"

namespace edgebench {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using agent::Clock;
using agent::DockerEngine;
using agent::Log;
using agent::ReadFileText;
using agent::WaitOutcome;

// The last non-empty line of a child's stderr (its one-line error).
std::string LastLine(const std::string& text) {
  std::istringstream lines(text);
  std::string line, last;
  while (std::getline(lines, line)) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  }
  return last;
}

std::string NowIso() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

class Agent final : public agent::LeaseKeeper {
 public:
  explicit Agent(AgentOptions options) : options_(std::move(options)) {}

  Status Run() {
    EB_RETURN_IF_ERROR(Register());
    for (;;) {
      auto lease = client_->LeaseTask(options_.name, options_.poll_seconds);
      if (!lease.ok()) {
        Log(lease.error().message + "; retrying in 2 s");
        std::this_thread::sleep_for(std::chrono::seconds(2));
        continue;
      }
      if (lease->token_rejected) {
        Log("token rejected; registering again");
        EB_RETURN_IF_ERROR(Register());
        continue;
      }
      if (!lease->task) continue;
      RunTask(*lease->task);
      if (options_.once) return OkStatus();
    }
  }

  WaitOutcome WaitRenewing(Clock::time_point deadline, const std::function<bool()>& done) override {
    const auto every = std::chrono::milliseconds(std::max(200, lease_seconds_ * 1000 / 3));
    auto next_heartbeat = Clock::now() + every;
    for (;;) {
      if (done()) return WaitOutcome::kDone;
      const auto now = Clock::now();
      if (now > deadline) return WaitOutcome::kTimedOut;
      if (now >= next_heartbeat) {
        next_heartbeat = now + every;
        if (!Heartbeat(current_task_)) return WaitOutcome::kAbandoned;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

 private:
  Status Register() {
    auto registrar = ServiceClient::Connect(options_.server_url, options_.registration_token, options_.ca_file);
    if (!registrar.ok()) return registrar.error();
    json labels = json::object();
    for (const auto& [key, value] : options_.labels) labels[key] = value;
    json facts = DetectDeviceFacts(options_.docker.socket_path);
    EB_RETURN_IF_ERROR(ChooseRunner(**registrar, facts));
    const json request = {{"name", options_.name}, {"facts", facts}, {"labels", labels}};
    // An unreachable server (or a 5xx) is retried for a while: devices may boot before it.
    const auto deadline = Clock::now() + std::chrono::seconds(options_.register_timeout_seconds);
    // A name registered before is re-registered with its agent's token (kept in the cache
    // directory): the shared registration token registers new names only.
    const std::string token_file = options_.cache_dir + "/" + options_.name + ".agent-token";
    std::unique_ptr<ServiceClient> previous;
    if (std::ifstream saved(token_file); saved) {
      std::string token;
      std::getline(saved, token);
      if (auto client = ServiceClient::Connect(options_.server_url, token, options_.ca_file); client.ok() && !token.empty()) {
        previous = std::move(client.value());
      }
    }
    Expected<json> registered = json();
    for (;;) {
      registered = previous ? previous->RegisterAgent(request) : (*registrar)->RegisterAgent(request);
      if (previous && !registered.ok() && registered.error().code != ErrorCode::kRuntimeError) {
        previous.reset();  // a token this server does not know (a new database): register anew
        continue;
      }
      if (registered.ok() || registered.error().code != ErrorCode::kRuntimeError ||
          Clock::now() >= deadline) {
        break;
      }
      Log(registered.error().message + "; retrying in 1 s");
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    if (!registered.ok()) return registered.error();
    SaveToken(token_file, registered->at("token").get<std::string>());
    lease_seconds_ = registered->value("lease_seconds", 30);
    auto client = ServiceClient::Connect(options_.server_url, registered->at("token").get<std::string>(),
                                        options_.ca_file);
    if (!client.ok()) return client.error();
    client_ = std::move(client.value());
    client_->SetReadTimeoutSeconds(options_.poll_seconds + 15);
    Log("registered as '" + options_.name + "' with " + options_.server_url + " (" + runner_->Describe() + ")");
    return OkStatus();
  }

  // Writes the agent's token, mode 0600; a failure is logged (the next start then needs the
  // admin token to take the name back).
  void SaveToken(const std::string& path, const std::string& token) {
    std::error_code ignored;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ignored);
    const std::string line = token + "\n";
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const bool written = fd >= 0 && write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    if (fd >= 0) close(fd);
    if (!written) Log("cannot keep the agent token in " + path);
  }

  // Picks the runner, and says which in `facts`. Docker mode offers the runtimes the server has
  // images for on this architecture (in place of the host binary's); auto falls back to native
  // without an engine or without images.
  Status ChooseRunner(ServiceClient& registrar, json& facts) {
    auto native = [&] {
      runner_ = agent::MakeNativeRunner(options_.bench_binary);
      facts["execution"] = "native";
      return OkStatus();
    };
    if (options_.mode == ExecutionMode::kNative) return native();
    const json docker = facts.value("docker", json::object());
    if (!docker.value("available", false)) {
      if (options_.mode == ExecutionMode::kDocker) {
        return RuntimeError("--mode docker: " + docker.value("reason", std::string("no Docker engine answers")));
      }
      Log("no Docker engine (" + docker.value("reason", std::string("?")) + "): native mode");
      return native();
    }
    const std::string arch = facts.value("arch", "");
    auto catalog = registrar.ListImages(arch);
    if (!catalog.ok()) return catalog.error();
    // The formats each runtime reads (the server converts models by them): from this host's own
    // plugin of that runtime, else from the label of an image already pulled; none when neither
    // is known (the server then hands models over as submitted).
    std::map<std::string, json> host_formats;
    for (const auto& runtime : facts.value("runtimes", json::array())) {
      if (runtime.contains("formats")) host_formats[runtime.value("name", "")] = runtime["formats"];
    }
    json runtimes = json::array();
    DockerEngine engine(options_.docker.socket_path);
    for (const auto& item : catalog->value("images", json::array())) {
      const std::string image = item.value("image", "");
      const std::string name = item.value("runtime", "");
      // The version label of an image already pulled; "" until then.
      std::string version;
      json formats = host_formats.count(name) ? host_formats[name] : json(nullptr);
      if (auto inspected = engine.Request("GET", "/images/" + image + "/json", nullptr, 10);
          inspected.ok() && inspected->status == 200) {
        const json labels = inspected->Json()["Config"].value("Labels", json::object());
        if (labels.is_object()) {
          version = labels.value("org.edgebench.runtime.version", "");
          const std::string listed = labels.value("org.edgebench.runtime.formats", "");
          if (formats.is_null() && !listed.empty()) formats = Split(listed, ',');
        }
      }
      json runtime = {{"name", name}, {"version", version}, {"image", image}};
      if (!formats.is_null()) runtime["formats"] = formats;
      runtimes.push_back(runtime);
    }
    if (runtimes.empty() && options_.mode == ExecutionMode::kAuto) {
      Log("the server has no runtime images for " + arch + ": native mode");
      return native();
    }
    facts["runtimes"] = runtimes;
    facts["execution"] = "docker";
    runner_ = agent::MakeDockerRunner(engine, options_.docker, options_.name);
    return OkStatus();
  }

  // Fetches the model into the cache (kept between tasks), checked against its sha256.
  Expected<std::string> FetchModel(const json& model) {
    const std::string sha = model.at("sha256").get<std::string>();
    if (sha.size() != 64 || sha.find_first_not_of("0123456789abcdef") != std::string::npos) {
      return RuntimeError("the server sent a malformed model sha256 '" + sha + "'");
    }
    std::string name = fs::path(model.value("name", "model")).filename().string();
    if (name.empty() || name == "." || name == "..") name = "model";
    const std::string dir = options_.cache_dir + "/" + sha;
    const std::string path = dir + "/" + name;
    std::error_code error;
    fs::create_directories(dir, error);
    if (error) return RuntimeError(dir + ": cannot create (" + error.message() + ")");
    if (fs::exists(path)) {
      auto cached = Sha256OfFile(path);
      if (cached.ok() && *cached == sha) return path;
    }
    EB_RETURN_IF_ERROR(WhileServerUnreachable("model download", [&]() -> Status {
      return client_->DownloadModel(sha, path);
    }));
    auto downloaded = Sha256OfFile(path);
    if (!downloaded.ok()) return downloaded.error();
    if (*downloaded != sha) {
      fs::remove(path, error);
      return RuntimeError("downloaded model has sha256 " + *downloaded + ", expected " + sha);
    }
    return path;
  }

  // A result document for a task that produced none (download failed, timeout, crash).
  json FailureDocument(const json& task, const std::string& model_path, const std::string& stage,
                       Error error, const std::string& log = "") {
    BenchResult result;
    if (auto model = InspectModelFile(model_path); !model_path.empty() && model.ok()) {
      result.model = *model;
    } else {
      result.model.path = task["model"].value("name", "");
      result.model.sha256 = task["model"].value("sha256", "");
      result.model.size_bytes = task["model"].value("size_bytes", int64_t{0});
    }
    result.runtime_name = task.value("runtime", "");
    result.environment = CollectEnvironment();
    result.started_at_utc = NowIso();
    result.stop_reason = StopReason::kFailed;
    result.validity.valid = false;
    result.validity.reasons.push_back("the benchmark did not complete (" + stage + ")");
    result.failure = RunFailure{stage, std::move(error), log};
    return ToJson(result);
  }

  // Renews the lease; false when the server says the task is no longer ours (cancelled).
  bool Heartbeat(int64_t task_id) {
    auto renewed = client_->RenewLease(task_id);
    if (!renewed.ok()) {
      Log("heartbeat: " + renewed.error().message);
      return true;  // keep running; the server may come back before the lease ends
    }
    if (!*renewed) Log("task " + std::to_string(task_id) + ": no longer held by this agent (cancelled or reassigned)");
    return *renewed;
  }

  void RunTask(const json& task) {
    const int64_t id = task.at("id").get<int64_t>();
    current_task_ = id;
    const std::string runtime = task.value("runtime", "");
    const json settings = task.value("settings", json::object());
    Log("task " + std::to_string(id) + ": " + runtime + " on " + task["model"].value("name", "") +
        " (attempt " + std::to_string(task.value("attempts", 1)) + ")");
    if (!Heartbeat(id)) return;  // -> running

    auto model_path = FetchModel(task.at("model"));
    if (!model_path.ok()) {
      Upload(id, FailureDocument(task, "", "download", model_path.error()));
      return;
    }

    // A comparison's other models.
    std::vector<std::string> compare_model_paths;
    for (const auto& model : task.value("compare_models", json::array())) {
      auto path = FetchModel(model);
      if (!path.ok()) {
        Upload(id, FailureDocument(task, *model_path, "download", path.error()));
        return;
      }
      compare_model_paths.push_back(*path);
    }

    char work_template[] = "/tmp/edgebench-agent-XXXXXX";
    const char* work = mkdtemp(work_template);
    if (!work) {
      Upload(id, FailureDocument(task, *model_path, "agent", RuntimeError("cannot create a work directory")));
      return;
    }
    agent::TaskSpec spec;
    spec.id = id;
    spec.runtime = runtime;
    if (task.contains("compare") && task["compare"].is_object()) {
      spec.compare = task["compare"];
      spec.compare_model_paths = std::move(compare_model_paths);
    }
    spec.image = task.value("image", json()).is_string() ? task["image"].get<std::string>() : "";
    spec.model_path = *model_path;
    spec.settings_path = std::string(work) + "/settings.json";
    spec.out_dir = std::string(work) + "/out";
    spec.timeout_s = options_.task_timeout_seconds;
    if (settings.contains("timeout_s") && settings["timeout_s"].is_number()) {
      spec.timeout_s = std::min(spec.timeout_s, std::max(1, static_cast<int>(settings["timeout_s"].get<double>())));
    }
    fs::create_directories(spec.out_dir);
    // The bench's part of the task's settings (the server validated them against the same table),
    // readable by a container's user.
    std::ofstream(spec.settings_path) << SelectSettings(settings, SettingsReader::kBench).dump() << "\n";
    std::error_code unreadable;
    fs::permissions(spec.settings_path, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read,
                    fs::perm_options::add, unreadable);
    Expected<agent::RunOutcome> outcome = runner_->Run(spec, *this);
    if (!outcome.ok()) {
      Upload(id, FailureDocument(task, *model_path, runner_->FailureStage(outcome.error()), outcome.error()));
    } else if (outcome->wait == WaitOutcome::kAbandoned) {
      Log("task " + std::to_string(id) + ": abandoned (no longer held), " + outcome->note);
    } else if (outcome->wait == WaitOutcome::kTimedOut) {
      Upload(id, FailureDocument(task, *model_path, "timeout",
                                 RuntimeError("no result within " + std::to_string(spec.timeout_s) + " s; " +
                                              outcome->note),
                                 outcome->log));
    } else {
      json document = json::parse(ReadFileText(spec.out_dir + "/result.json"), nullptr, /*allow_exceptions=*/false);
      const bool parsed = !document.is_discarded() && (spec.compare.is_null() ? BenchResultFromJson(document).ok()
                                                                             : ComparisonFromJson(document).ok());
      if (!parsed) {
        std::string message = "bench exited with code " + std::to_string(outcome->exit_code) + " without a result";
        if (!outcome->note.empty()) message += " (" + outcome->note + ")";
        if (const std::string last = LastLine(outcome->log); !last.empty()) message += ": " + last;
        const Error error = RuntimeError(message);
        document = FailureDocument(task, *model_path, runner_->FailureStage(error), error, outcome->log);
      }
      Upload(id, document);
    }
    std::error_code ignored;
    fs::remove_all(work, ignored);
  }

  void Upload(int64_t task_id, const json& document) {
    const std::string what = "task " + std::to_string(task_id) + ": result upload";
    Status uploaded = WhileServerUnreachable(what, [&]() -> Status {
      auto answer = client_->UploadResult(task_id, document);
      if (!answer.ok()) return answer.error();  // 5xx: kRuntimeError, retried
      Log("task " + std::to_string(task_id) + ": result uploaded (" + answer->value("state", std::string("?")) + ")");
      return OkStatus();
    });
    if (!uploaded.ok()) Log(what + " failed: " + uploaded.error().message);
  }

  // Runs `attempt` until it succeeds or fails with something other than an unreachable server
  // or a 5xx (kRuntimeError), for at most options_.server_retry_seconds; waits 1, 2, 4, 5, 5...
  // seconds between tries. A server that restarts keeps what it had, so waiting loses nothing.
  Status WhileServerUnreachable(const std::string& what, const std::function<Status()>& attempt) {
    const auto deadline = Clock::now() + std::chrono::seconds(options_.server_retry_seconds);
    for (int wait_s = 1;; wait_s = std::min(wait_s * 2, 5)) {
      Status status = attempt();
      if (status.ok() || status.error().code != ErrorCode::kRuntimeError || Clock::now() >= deadline) {
        return status;
      }
      Log(what + ": " + status.error().message + "; retrying in " + std::to_string(wait_s) + " s");
      std::this_thread::sleep_for(std::chrono::seconds(wait_s));
    }
  }

  AgentOptions options_;
  std::unique_ptr<ServiceClient> client_;
  std::unique_ptr<agent::TaskRunner> runner_;
  int lease_seconds_ = 30;
  int64_t current_task_ = 0;  // the task whose lease WaitRenewing keeps
};

}  // namespace

namespace {

// GPUs and other accelerators visible to this device: NVIDIA (nvidia-smi, else /dev/nvidia*),
// DRM render nodes (/dev/dri, with PCI vendor/device ids) and Jetson (Tegra) boards.
json DetectAccelerators() {
  json accelerators = json::array();
  if (FILE* smi = popen("nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader,nounits "
                        "2>/dev/null", "r")) {
    char line[512];
    while (std::fgets(line, sizeof line, smi)) {
      std::vector<std::string> fields;
      std::stringstream row(line);
      for (std::string field; std::getline(row, field, ',');) {
        field.erase(0, field.find_first_not_of(' '));
        field.erase(field.find_last_not_of(" \r\n") + 1);
        fields.push_back(field);
      }
      if (fields.size() == 3) {
        accelerators.push_back({{"kind", "nvidia-gpu"}, {"name", fields[0]},
                                {"memory_bytes", std::atoll(fields[1].c_str()) << 20}, {"driver", fields[2]}});
      }
    }
    pclose(smi);
  }
  std::error_code error;
  if (accelerators.empty()) {
    for (const auto& entry : fs::directory_iterator("/dev", error)) {
      const std::string name = entry.path().filename().string();
      if (name.size() > 6 && name.rfind("nvidia", 0) == 0 && std::isdigit(static_cast<unsigned char>(name[6]))) {
        accelerators.push_back({{"kind", "nvidia-gpu"}, {"device", entry.path().string()}});
      }
    }
  }
  for (const auto& entry : fs::directory_iterator("/dev/dri", error)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("renderD", 0) != 0) continue;
    const std::string sys = "/sys/class/drm/" + name + "/device/";
    auto read = [&](const std::string& file) { return LastLine(ReadFileText(sys + file)); };
    accelerators.push_back({{"kind", "drm-render"}, {"device", entry.path().string()},
                            {"vendor_id", read("vendor")}, {"device_id", read("device")}});
  }
  if (fs::exists("/etc/nv_tegra_release", error)) {
    accelerators.push_back({{"kind", "nvidia-tegra"}, {"name", LastLine(ReadFileText("/etc/nv_tegra_release"))}});
  }
  return accelerators;
}

json DetectDocker(const std::string& socket_path) {
  DockerEngine engine(socket_path);
  auto version = engine.Version();
  if (!version.ok()) return {{"available", false}, {"reason", version.error().message}};
  return {{"available", true}, {"version", version->value("Version", "")},
          {"api_version", version->value("ApiVersion", "")}, {"socket", engine.socket_path()}};
}

}  // namespace

json DetectDeviceFacts(const std::string& docker_socket) {
  const Environment environment = CollectEnvironment();
  json runtimes = json::array();
  for (const auto& backend : AllBackends()) {
    if (!backend.available) continue;
    const BackendInfo info = backend.describe();
    json formats = json::array();
    for (const ModelFormat format : info.formats) formats.push_back(std::string(ModelFormatName(format)));
    runtimes.push_back({{"name", backend.name}, {"version", info.version}, {"formats", formats}});
  }
  return {{"arch", environment.architecture},
          {"cpu_model", environment.cpu_model},
          {"cores", environment.logical_cores},
          {"memory_bytes", environment.memory_total_bytes},
          {"os", environment.os},
          {"hostname", environment.hostname},
          {"container", environment.container},
          {"edgebench_version", environment.edgebench_version},
          {"accelerators", DetectAccelerators()},
          {"docker", DetectDocker(docker_socket)},
          {"runtimes", runtimes}};
}

Status RunAgent(const AgentOptions& options) {
  if (options.name.empty()) return InvalidArgument("--name is required");
  AgentOptions effective = options;
  if (effective.cache_dir.empty()) {
    const char* cache = std::getenv("EDGEBENCH_CACHE_DIR");
    const char* home = std::getenv("HOME");
    effective.cache_dir = cache ? std::string(cache) + "/agent-models"
                                : std::string(home ? home : "/tmp") + "/.cache/edgebench/agent-models";
  }
  if (effective.poll_seconds < 0) effective.poll_seconds = 0;
  return Agent(std::move(effective)).Run();
}

}  // namespace edgebench
