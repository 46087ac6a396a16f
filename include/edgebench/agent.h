// The evaluation service's agent: runs on a device, registers it with the server,
// leases tasks and runs `edgebench bench` for each, then uploads the result document. Two modes:
// native (a child process) and docker (the task's runtime image, pulled from a registry, run
// through the Docker Engine API with no network, resource limits, a read-only model and a
// non-root user; docs/device-images.md). A failed or timed-out bench is still uploaded (its
// document has `error` set).
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "edgebench/status.h"

namespace edgebench {

enum class ExecutionMode { kNative, kDocker, kAuto };  // auto: docker when an engine answers

// Sandbox of a docker-mode task.
struct DockerOptions {
  std::string socket_path;          // "" = $DOCKER_HOST (unix://) or /var/run/docker.sock
  int64_t memory_mb = 4096;         // memory limit (swap included: no swap beyond it)
  double cpus = 0;                  // CPU quota in cores; 0 = all cores
  int64_t pids_limit = 256;         // processes and threads
  std::string user = "65534:65534"; // uid:gid the bench runs as (never root)
  int64_t tmpfs_mb = 256;           // size of the writable /tmp (the root filesystem is read-only)
  int pull_timeout_seconds = 900;   // pulling an image may take this long
};

struct AgentOptions {
  std::string server_url;               // http://HOST:PORT or https://HOST:PORT
  std::string ca_file;                  // PEM CA of an https server; "" = $EDGEBENCH_CA_FILE / system
  std::string name;                     // device name, unique per server
  std::string registration_token;       // the server's DATA_DIR/agent.token
  std::map<std::string, std::string> labels;
  std::string cache_dir;                // downloaded models; "" = ~/.cache/edgebench/agent-models
  std::string bench_binary = "/proc/self/exe";  // the `edgebench` binary run for each task
  bool once = false;                    // exit after one task
  int poll_seconds = 10;                // long-poll wait of one lease request
  int task_timeout_seconds = 3600;      // upper bound; a task's settings.timeout_s may lower it
  int register_timeout_seconds = 60;    // keep trying an unreachable server this long at start
  int server_retry_seconds = 600;       // keep retrying a model download or a result upload this
                                        // long while the server is unreachable (restarting)
  ExecutionMode mode = ExecutionMode::kNative;
  DockerOptions docker;
};

// Facts about this device sent at registration: {arch, cpu_model, cores, memory_bytes, os,
// hostname, accelerators: [{kind, name, ...}], docker: {available, version, api_version} or
// {available: false, reason}, runtimes: [{name, version}]} (runtimes = those compiled into this
// binary; a docker-mode agent replaces them by the server's images for its architecture).
nlohmann::json DetectDeviceFacts(const std::string& docker_socket = "");

// Registers and serves tasks until `once` is done or a fatal error (unreachable server at
// registration, rejected token). Per-task trouble is reported to the server, not returned.
Status RunAgent(const AgentOptions& options);

}  // namespace edgebench
