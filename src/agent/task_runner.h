// How the agent runs `edgebench bench` for a task: as a child process (NativeRunner) or in the
// runtime's image through the Docker Engine API (DockerRunner). Internal to the agent.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "docker_engine.h"
#include "edgebench/agent.h"
#include "edgebench/status.h"

namespace edgebench::agent {

using Clock = std::chrono::steady_clock;

enum class WaitOutcome { kDone, kTimedOut, kAbandoned };

// The agent's side of a running task: its lease on the server.
class LeaseKeeper {
 public:
  virtual ~LeaseKeeper() = default;
  // Polls `done` every 50 ms, renewing the lease as it goes, until it holds (kDone), `deadline`
  // passes (kTimedOut) or the server says the task is no longer ours (kAbandoned).
  virtual WaitOutcome WaitRenewing(Clock::time_point deadline, const std::function<bool()>& done) = 0;
};

// One bench (or comparison) run, with every path on the agent's host.
struct TaskSpec {
  int64_t id = 0;
  std::string runtime;
  std::string image;          // the runtime's image (docker mode; "" = the server has none)
  std::string model_path;
  // A comparison task: the task's `compare` ({models, threads, round_ms}) and its other models'
  // paths, in its order; `compare` is null for a bench.
  nlohmann::json compare;
  std::vector<std::string> compare_model_paths;
  std::string settings_path;  // the bench's settings JSON (`bench --settings`)
  std::string out_dir;        // the bench writes out_dir/result.json
  int timeout_s = 0;
};

// What one bench run left behind, for the result document.
struct RunOutcome {
  WaitOutcome wait = WaitOutcome::kDone;
  int exit_code = 0;
  std::string log;   // the bench's stdout and stderr
  std::string note;  // what happened to the run, for a failure message ("the container was killed")
};

class TaskRunner {
 public:
  virtual ~TaskRunner() = default;
  // Runs the bench until it exits, its timeout passes or the lease is lost (both: killed).
  virtual Expected<RunOutcome> Run(const TaskSpec& task, LeaseKeeper& lease) = 0;
  // The result document's failure stage for an error of Run, or for a run without a result.
  virtual std::string FailureStage(const Error& error) const = 0;
  // For the agent's log: "native mode", "docker mode, engine on ...".
  virtual std::string Describe() const = 0;
};

// "edgebench agent: LINE" on stderr.
void Log(const std::string& line);

// A file's content ("" when it cannot be read).
std::string ReadFileText(const std::string& path);

// The command line after the binary (`bench ...`, or `compare ...` for a comparison task), with
// the paths as the command sees them: `models` = the task's model then its compare models.
std::vector<std::string> TaskArguments(const TaskSpec& task, const std::vector<std::string>& models,
                                       const std::string& settings, const std::string& result);

// Runs `bench_binary bench ...` as a child process (killed with the agent).
std::unique_ptr<TaskRunner> MakeNativeRunner(std::string bench_binary);

// Runs the bench in the task's image, sandboxed by `limits`; always removes the container.
// Errors of Run: kNotFound = no usable image (stage "image"), others = the container.
std::unique_ptr<TaskRunner> MakeDockerRunner(DockerEngine engine, DockerOptions limits, std::string agent_name);

}  // namespace edgebench::agent
