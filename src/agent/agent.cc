#include "edgebench/agent.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <map>
#include <random>
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
#include "docker_engine.h"

namespace edgebench {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using agent::DockerEngine;

enum class WaitOutcome { kDone, kTimedOut, kAbandoned };

void Log(const std::string& line) {
  std::fprintf(stderr, "edgebench agent: %s\n", line.c_str());
  std::fflush(stderr);
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

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

// The bench flags a task's settings stand for (the server validated their types).
std::vector<std::string> BenchFlags(const json& settings) {
  static const std::vector<std::pair<std::string, std::string>> kValueFlags = {
      {"min_runs", "--min-runs"},           {"max_runs", "--max-runs"},
      {"warmup_runs", "--warmup-runs"},     {"warmup_min_ms", "--warmup-min-ms"},
      {"min_duration_ms", "--min-duration-ms"}, {"max_duration_ms", "--max-duration-ms"},
      {"threads", "--threads"},             {"seed", "--seed"},
      {"target_ci_percent", "--target-ci"}, {"max_cv_percent", "--max-cv"},
      {"max_drift_percent", "--max-drift"}};
  std::vector<std::string> flags;
  for (const auto& [key, flag] : kValueFlags) {
    if (settings.contains(key) && settings[key].is_number()) {
      flags.push_back(flag);
      flags.push_back(settings[key].dump());
    }
  }
  if (settings.value("allow_unpinned_governor", false)) flags.emplace_back("--allow-unpinned-governor");
  const json options = settings.value("options", json::object());
  const json shapes = settings.value("shapes", json::object());
  for (const auto& [key, value] : options.items()) {
    flags.emplace_back("-o");
    flags.push_back(key + "=" + value.get<std::string>());
  }
  for (const auto& [key, value] : shapes.items()) {
    flags.emplace_back("--shape");
    flags.push_back(key + "=" + value.get<std::string>());
  }
  return flags;
}

class Agent {
 public:
  explicit Agent(AgentOptions options) : options_(std::move(options)) {}

  Status Run() {
    EB_RETURN_IF_ERROR(Register());
    for (;;) {
      auto answer = client_->Send("POST", "/v1/agents/" + options_.name + "/lease?wait_s=" +
                                              std::to_string(options_.poll_seconds));
      if (!answer.ok()) {
        Log(answer.error().message + "; retrying in 2 s");
        std::this_thread::sleep_for(std::chrono::seconds(2));
        continue;
      }
      if (answer->status == 204) continue;
      if (answer->status == 401) {
        Log("token rejected; registering again");
        EB_RETURN_IF_ERROR(Register());
        continue;
      }
      if (answer->status != 200 || !answer->body.is_object() || !answer->body.contains("task")) {
        Log(ErrorFromAnswer(*answer).message + "; retrying in 2 s");
        std::this_thread::sleep_for(std::chrono::seconds(2));
        continue;
      }
      RunTask(answer->body["task"]);
      if (options_.once) return OkStatus();
    }
  }

 private:
  Status Register() {
    auto registrar = ServiceClient::Connect(options_.server_url, options_.registration_token, options_.ca_file);
    if (!registrar.ok()) return registrar.error();
    json labels = json::object();
    for (const auto& [key, value] : options_.labels) labels[key] = value;
    json facts = DetectDeviceFacts(options_.docker.socket_path);
    EB_RETURN_IF_ERROR(ChooseMode(**registrar, facts));
    facts["execution"] = docker_ ? "docker" : "native";
    const json request = {{"name", options_.name}, {"facts", facts}, {"labels", labels}};
    // An unreachable server (or a 5xx) is retried for a while: devices may boot before it.
    const auto deadline = Clock::now() + std::chrono::seconds(options_.register_timeout_seconds);
    Expected<json> registered = json();
    for (;;) {
      registered = (*registrar)->Call("POST", "/v1/agents", request);
      if (registered.ok() || registered.error().code != ErrorCode::kRuntimeError ||
          Clock::now() >= deadline) {
        break;
      }
      Log(registered.error().message + "; retrying in 1 s");
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    if (!registered.ok()) return registered.error();
    lease_seconds_ = registered->value("lease_seconds", 30);
    auto client = ServiceClient::Connect(options_.server_url, registered->at("token").get<std::string>(),
                                        options_.ca_file);
    if (!client.ok()) return client.error();
    client_ = std::move(client.value());
    client_->SetReadTimeoutSeconds(options_.poll_seconds + 15);
    Log("registered as '" + options_.name + "' with " + options_.server_url + " (" +
        (docker_ ? "docker mode, engine on " + docker_->socket_path() : std::string("native mode")) + ")");
    return OkStatus();
  }

  // Picks the execution mode. Docker mode offers the runtimes the server has images for on this
  // architecture (in place of the host binary's); auto falls back to native without an engine
  // or without images.
  Status ChooseMode(ServiceClient& registrar, json& facts) {
    docker_.reset();
    if (options_.mode == ExecutionMode::kNative) return OkStatus();
    const json docker = facts.value("docker", json::object());
    if (!docker.value("available", false)) {
      if (options_.mode == ExecutionMode::kDocker) {
        return RuntimeError("--mode docker: " + docker.value("reason", std::string("no Docker engine answers")));
      }
      Log("no Docker engine (" + docker.value("reason", std::string("?")) + "): native mode");
      return OkStatus();
    }
    const std::string arch = facts.value("arch", "");
    auto catalog = registrar.Call("GET", "/v1/images?arch=" + arch, nullptr);
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
          if (formats.is_null() && !listed.empty()) {
            formats = json::array();
            for (std::size_t start = 0; start < listed.size();) {
              const std::size_t end = std::min(listed.find(',', start), listed.size());
              formats.push_back(listed.substr(start, end - start));
              start = end + 1;
            }
          }
        }
      }
      json runtime = {{"name", name}, {"version", version}, {"image", image}};
      if (!formats.is_null()) runtime["formats"] = formats;
      runtimes.push_back(runtime);
    }
    if (runtimes.empty() && options_.mode == ExecutionMode::kAuto) {
      Log("the server has no runtime images for " + arch + ": native mode");
      return OkStatus();
    }
    facts["runtimes"] = runtimes;
    docker_ = std::make_unique<DockerEngine>(engine);
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
      return client_->Download("/v1/models/" + sha, path);
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
    auto answer = client_->Send("POST", "/v1/tasks/" + std::to_string(task_id) + "/heartbeat");
    if (!answer.ok()) {
      Log("heartbeat: " + answer.error().message);
      return true;  // keep running; the server may come back before the lease ends
    }
    if (answer->status == 409 || answer->status == 404) {
      Log("task " + std::to_string(task_id) + ": " + ErrorFromAnswer(*answer).message);
      return false;
    }
    return true;
  }

  // Polls `done` every 50 ms, renewing the lease as it goes, until it holds (kDone), the
  // deadline passes (kTimedOut) or the server says the task is no longer ours (kAbandoned).
  WaitOutcome WaitHeartbeating(int64_t task_id, Clock::time_point deadline, const std::function<bool()>& done) {
    const auto every = std::chrono::milliseconds(std::max(200, lease_seconds_ * 1000 / 3));
    auto next_heartbeat = Clock::now() + every;
    for (;;) {
      if (done()) return WaitOutcome::kDone;
      const auto now = Clock::now();
      if (now > deadline) return WaitOutcome::kTimedOut;
      if (now >= next_heartbeat) {
        next_heartbeat = now + every;
        if (!Heartbeat(task_id)) return WaitOutcome::kAbandoned;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  // What one bench run left behind, for the result document.
  struct BenchOutcome {
    WaitOutcome wait = WaitOutcome::kDone;
    int exit_code = 0;
    std::string log;
    std::string note;  // appended to a missing-result message (e.g. OOM kill)
  };

  void RunTask(const json& task) {
    const int64_t id = task.at("id").get<int64_t>();
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

    char work_template[] = "/tmp/edgebench-agent-XXXXXX";
    const char* work = mkdtemp(work_template);
    if (!work) {
      Upload(id, FailureDocument(task, *model_path, "agent", RuntimeError("cannot create a work directory")));
      return;
    }
    int timeout_s = options_.task_timeout_seconds;
    if (settings.contains("timeout_s") && settings["timeout_s"].is_number()) {
      timeout_s = std::min(timeout_s, std::max(1, static_cast<int>(settings["timeout_s"].get<double>())));
    }
    const std::string out_dir = std::string(work) + "/out";
    fs::create_directories(out_dir);
    Expected<BenchOutcome> outcome = docker_ ? RunInContainer(task, *model_path, out_dir, timeout_s)
                                             : RunNative(task, *model_path, out_dir, timeout_s);
    const std::string what = docker_ ? "container" : "bench process";
    if (!outcome.ok()) {
      Upload(id, FailureDocument(task, *model_path, docker_ ? outcome.error().code == ErrorCode::kNotFound
                                                                  ? "image" : "container"
                                                            : "agent",
                                 outcome.error()));
    } else if (outcome->wait == WaitOutcome::kAbandoned) {
      Log("task " + std::to_string(id) + ": abandoned (no longer held), " + what + " killed");
    } else if (outcome->wait == WaitOutcome::kTimedOut) {
      Upload(id, FailureDocument(task, *model_path, "timeout",
                                 RuntimeError("no result within " + std::to_string(timeout_s) + " s; the " + what +
                                              " was killed" + (docker_ ? " and removed" : "")),
                                 outcome->log));
    } else {
      json document = json::parse(Slurp(out_dir + "/result.json"), nullptr, /*allow_exceptions=*/false);
      if (document.is_discarded() || !BenchResultFromJson(document).ok()) {
        std::string message = "bench exited with code " + std::to_string(outcome->exit_code) + " without a result";
        if (!outcome->note.empty()) message += " (" + outcome->note + ")";
        if (const std::string last = LastLine(outcome->log); !last.empty()) message += ": " + last;
        document = FailureDocument(task, *model_path, docker_ ? "container" : "agent", RuntimeError(message),
                                   outcome->log);
      }
      Upload(id, document);
    }
    std::error_code ignored;
    fs::remove_all(work, ignored);
  }

  // The bench command line after the binary: model and result paths as the bench sees them.
  static std::vector<std::string> BenchArguments(const json& task, const std::string& model, const std::string& result) {
    std::vector<std::string> args = {"bench", model, "--runtime", task.value("runtime", ""), "--json", result, "-q"};
    for (auto& flag : BenchFlags(task.value("settings", json::object()))) args.push_back(std::move(flag));
    return args;
  }

  Expected<BenchOutcome> RunNative(const json& task, const std::string& model_path, const std::string& out_dir,
                                   int timeout_s) {
    const int64_t id = task.at("id").get<int64_t>();
    const std::string log_path = out_dir + "/bench.log";
    std::vector<std::string> argv = BenchArguments(task, model_path, out_dir + "/result.json");
    argv.insert(argv.begin(), options_.bench_binary);
    const pid_t agent_pid = getpid();
    const pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // a killed agent takes its bench with it
      if (getppid() != agent_pid) _exit(127);
      setpgid(0, 0);
      const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int null_in = open("/dev/null", O_RDONLY);
      dup2(null_in, STDIN_FILENO);
      dup2(log, STDOUT_FILENO);
      dup2(log, STDERR_FILENO);
      for (int fd = 3; fd < 1024; ++fd) close(fd);
      std::vector<char*> args;
      for (auto& arg : argv) args.push_back(arg.data());
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    if (pid < 0) return RuntimeError("fork failed");
    int status = 0;
    BenchOutcome outcome;
    outcome.wait = WaitHeartbeating(id, Clock::now() + std::chrono::seconds(timeout_s),
                                    [&] { return waitpid(pid, &status, WNOHANG) == pid; });
    if (outcome.wait != WaitOutcome::kDone) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
    }
    outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    outcome.log = Slurp(log_path);
    return outcome;
  }

  // Docker mode: pull the task's image, run the bench in a sandboxed container, always remove it.
  // Errors: NotFound = no usable image (stage "image"), others = the container (stage "container").
  Expected<BenchOutcome> RunInContainer(const json& task, const std::string& model_path, const std::string& out_dir,
                                        int timeout_s) {
    const int64_t id = task.at("id").get<int64_t>();
    const std::string arch = CollectEnvironment().architecture;
    const std::string image = task.value("image", json()).is_string() ? task["image"].get<std::string>() : "";
    if (image.empty()) {
      return NotFound("the server has no image for runtime '" + task.value("runtime", "") + "' on " + arch +
                      " (edgebench server --image " + task.value("runtime", "") + "/" + arch + "=REFERENCE)");
    }
    // Pull in the background while the lease is renewed (a large image takes a while).
    const DockerEngine engine = *docker_;
    const int pull_timeout = options_.docker.pull_timeout_seconds;
    auto pulled = std::async(std::launch::async, [engine, image, pull_timeout] { return engine.Pull(image, pull_timeout); });
    const WaitOutcome pulling = WaitHeartbeating(id, Clock::now() + std::chrono::seconds(pull_timeout + 5), [&] {
      return pulled.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
    });
    if (pulling == WaitOutcome::kAbandoned) return BenchOutcome{WaitOutcome::kAbandoned, 0, "", ""};
    if (Status status = pulled.get(); !status.ok()) return NotFound(status.error().message);

    // The output directory is written by the container's (non-root) user.
    fs::permissions(out_dir, fs::perms::all);
    const std::string model_name = fs::path(model_path).filename().string();
    const std::string inner_model = "/models/" + model_name;
    std::vector<std::string> args = BenchArguments(task, inner_model, "/results/result.json");
    std::mt19937_64 random(std::random_device{}());
    const std::string name = "edgebench-task-" + std::to_string(id) + "-" + std::to_string(random() % 1000000000);
    const DockerOptions& limits = options_.docker;
    json host = {{"NetworkMode", "none"},
                 {"Memory", limits.memory_mb << 20},
                 {"MemorySwap", limits.memory_mb << 20},
                 {"PidsLimit", limits.pids_limit},
                 {"ReadonlyRootfs", true},
                 {"CapDrop", {"ALL"}},
                 {"SecurityOpt", {"no-new-privileges"}},
                 {"Tmpfs", {{"/tmp", "rw,nosuid,nodev,size=" + std::to_string(limits.tmpfs_mb) + "m"}}},
                 {"Binds", {fs::absolute(model_path).string() + ":" + inner_model + ":ro", out_dir + ":/results:rw"}}};
    if (limits.cpus > 0) host["NanoCpus"] = static_cast<int64_t>(limits.cpus * 1e9);
    // The container is named after the device (not its random id), so that its results group
    // with the device's in reports.
    const json spec = {{"Image", image},
                       {"Hostname", CollectEnvironment().hostname},
                       {"Entrypoint", {"edgebench"}},
                       {"Cmd", args},
                       {"User", limits.user},
                       {"WorkingDir", "/tmp"},
                       {"Env", {"HOME=/tmp"}},
                       {"NetworkDisabled", true},
                       {"Labels", {{"org.edgebench.task", std::to_string(id)}, {"org.edgebench.agent", options_.name}}},
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
    Log("task " + std::to_string(id) + ": container " + container.substr(0, 12) + " from " + image);
    json state;
    auto exited = [&] {
      auto inspected = engine.Request("GET", "/containers/" + container + "/json", nullptr, 30);
      if (!inspected.ok() || inspected->status != 200) return false;
      state = inspected->Json().value("State", json::object());
      return state.value("Status", "") == "exited" || state.value("Status", "") == "dead";
    };
    BenchOutcome outcome;
    outcome.wait = WaitHeartbeating(id, Clock::now() + std::chrono::seconds(timeout_s), exited);
    if (outcome.wait != WaitOutcome::kDone) {
      (void)engine.Request("POST", "/containers/" + container + "/kill", nullptr, 30);
    }
    outcome.exit_code = state.value("ExitCode", -1);
    if (state.value("OOMKilled", false)) {
      outcome.note = "killed at the memory limit of " + std::to_string(limits.memory_mb) + " MiB";
    }
    if (auto logs = engine.Logs(container); logs.ok()) outcome.log = *logs;
    return outcome;
  }

  // Removes a container (force: killed first if running) and returns once the engine no longer
  // knows it, bounded at 30 s: a DELETE can answer while the removal is still in progress (409),
  // or fail while a killed container's filesystem is still busy (500), so it is retried until an
  // inspect says 404. Logs when the container outlives the bound.
  static void RemoveContainer(const DockerEngine& engine, const std::string& id) {
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

  void Upload(int64_t task_id, const json& document) {
    const std::string path = "/v1/tasks/" + std::to_string(task_id) + "/result";
    const std::string what = "task " + std::to_string(task_id) + ": result upload";
    Status uploaded = WhileServerUnreachable(what, [&]() -> Status {
      auto answer = client_->Send("POST", path, document.dump());
      if (!answer.ok()) return answer.error();
      if (answer->status == 200 || answer->status == 201) {
        Log("task " + std::to_string(task_id) + ": result uploaded (" +
            answer->body.value("state", std::string("?")) + ")");
        return OkStatus();
      }
      return ErrorFromAnswer(*answer);  // 5xx: kRuntimeError, retried
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
  std::unique_ptr<DockerEngine> docker_;  // set in docker mode
  int lease_seconds_ = 30;
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
    auto read = [&](const std::string& file) { return LastLine(Slurp(sys + file)); };
    accelerators.push_back({{"kind", "drm-render"}, {"device", entry.path().string()},
                            {"vendor_id", read("vendor")}, {"device_id", read("device")}});
  }
  if (fs::exists("/etc/nv_tegra_release", error)) {
    accelerators.push_back({{"kind", "nvidia-tegra"}, {"name", LastLine(Slurp("/etc/nv_tegra_release"))}});
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
