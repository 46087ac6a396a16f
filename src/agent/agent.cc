#include "edgebench/agent.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
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

namespace edgebench {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

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
    auto registrar = ServiceClient::Connect(options_.server_url, options_.registration_token);
    if (!registrar.ok()) return registrar.error();
    json labels = json::object();
    for (const auto& [key, value] : options_.labels) labels[key] = value;
    const json request = {{"name", options_.name}, {"facts", DetectDeviceFacts()}, {"labels", labels}};
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
    auto client = ServiceClient::Connect(options_.server_url, registered->at("token").get<std::string>());
    if (!client.ok()) return client.error();
    client_ = std::move(client.value());
    client_->SetReadTimeoutSeconds(options_.poll_seconds + 15);
    Log("registered as '" + options_.name + "' with " + options_.server_url);
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
    const std::string json_path = std::string(work) + "/result.json";
    const std::string log_path = std::string(work) + "/bench.log";
    std::vector<std::string> argv = {options_.bench_binary, "bench", *model_path, "--runtime", runtime,
                                     "--json", json_path, "-q"};
    for (auto& flag : BenchFlags(settings)) argv.push_back(std::move(flag));

    int timeout_s = options_.task_timeout_seconds;
    if (settings.contains("timeout_s") && settings["timeout_s"].is_number()) {
      timeout_s = std::min(timeout_s, std::max(1, static_cast<int>(settings["timeout_s"].get<double>())));
    }
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
    if (pid < 0) {
      Upload(id, FailureDocument(task, *model_path, "agent", RuntimeError("fork failed")));
      return;
    }
    const auto started = Clock::now();
    const auto heartbeat_every = std::chrono::milliseconds(std::max(200, lease_seconds_ * 1000 / 3));
    auto next_heartbeat = started + heartbeat_every;
    int status = 0;
    bool timed_out = false, abandoned = false;
    for (;;) {
      const pid_t done = waitpid(pid, &status, WNOHANG);
      if (done == pid) break;
      const auto now = Clock::now();
      if (now - started > std::chrono::seconds(timeout_s)) {
        timed_out = true;
      } else if (now >= next_heartbeat) {
        next_heartbeat = now + heartbeat_every;
        if (!Heartbeat(id)) abandoned = true;
      }
      if (timed_out || abandoned) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    const std::string log = Slurp(log_path);
    if (abandoned) {
      Log("task " + std::to_string(id) + ": abandoned (no longer held), bench killed");
    } else if (timed_out) {
      Upload(id, FailureDocument(task, *model_path, "timeout",
                                 RuntimeError("no result within " + std::to_string(timeout_s) +
                                              " s; the bench process was killed"),
                                 log));
    } else {
      json document = json::parse(Slurp(json_path), nullptr, /*allow_exceptions=*/false);
      if (document.is_discarded() || !BenchResultFromJson(document).ok()) {
        const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        std::string message = "bench exited with code " + std::to_string(code) + " without a result";
        if (const std::string last = LastLine(log); !last.empty()) message += ": " + last;
        document = FailureDocument(task, *model_path, "agent", RuntimeError(message), log);
      }
      Upload(id, document);
    }
    std::error_code ignored;
    fs::remove_all(work, ignored);
  }

  // Uploads a result; a refusal (4xx: the task is no longer ours) is logged, not retried.
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
  int lease_seconds_ = 30;
};

}  // namespace

json DetectDeviceFacts() {
  const Environment environment = CollectEnvironment();
  json runtimes = json::array();
  for (const auto& backend : AllBackends()) {
    if (!backend.compiled) continue;
    runtimes.push_back({{"name", backend.name}, {"version", backend.describe().version}});
  }
  return {{"arch", environment.architecture},
          {"cpu_model", environment.cpu_model},
          {"cores", environment.logical_cores},
          {"memory_bytes", environment.memory_total_bytes},
          {"os", environment.os},
          {"hostname", environment.hostname},
          {"container", environment.container},
          {"edgebench_version", environment.edgebench_version},
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
