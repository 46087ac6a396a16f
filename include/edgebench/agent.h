// The evaluation service's agent (paper A): runs on a device, registers it with the server,
// leases tasks and runs each as a native `edgebench bench` child process, then uploads the
// result document. A failed or timed-out bench is still uploaded (its document has `error` set).
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "edgebench/status.h"

namespace edgebench {

struct AgentOptions {
  std::string server_url;               // http://HOST:PORT
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
};

// Facts about this device sent at registration: {arch, cpu_model, cores, memory_bytes, os,
// hostname, runtimes: [{name, version}]} (runtimes = those compiled into this binary).
nlohmann::json DetectDeviceFacts();

// Registers and serves tasks until `once` is done or a fatal error (unreachable server at
// registration, rejected token). Per-task trouble is reported to the server, not returned.
Status RunAgent(const AgentOptions& options);

}  // namespace edgebench
