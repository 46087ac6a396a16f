// Client of the edgebench evaluation service (docs/http-api.md): uploads models, creates tasks,
// follows them and reads results, over the versioned JSON API under /v1.
//
// Errors follow status.h: a 4xx answer becomes kInvalidArgument (kNotFound for 404) carrying the
// server's {"error": ...} message; an unreachable server or a 5xx answer becomes kRuntimeError.
// A Client is not thread-safe; use one per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "edgebench/status.h"

namespace httplib {
class Client;
enum class Error;
}

namespace edgebench {

// One HTTP answer: the status code and the body parsed as JSON (null when empty or not JSON).
struct HttpAnswer {
  int status = 0;
  nlohmann::json body;
  std::string raw_body;
};

// Which tasks ListTasks asks for (GET /v1/tasks?limit=&after=&state=&job=); 0 or "" = the
// server's default (limit 100) or no filter.
struct TaskListQuery {
  int limit = 0;
  int64_t after = 0;  // tasks with smaller ids (a page's `next`)
  std::string state;
  int64_t job = 0;
};

class ServiceClient {
 public:
  // `server_url` is "http://HOST:PORT" or "https://HOST:PORT", or several of them separated by
  // commas (replicas of one service, sharing a database): a request that cannot reach one is sent
  // to the next when it never arrived (connection refused or unreachable), and after any failed
  // answer the next request starts with the next. `token` is sent as
  // "Authorization: Bearer TOKEN". For https the server's certificate is checked against
  // `ca_file` (PEM), else the file named by $EDGEBENCH_CA_FILE, else the system's CA store.
  static Expected<std::unique_ptr<ServiceClient>> Connect(const std::string& server_url,
                                                          std::string token,
                                                          const std::string& ca_file = "");
  ~ServiceClient();

  // Uploads a model file; returns {sha256, size_bytes, format, name}.
  Expected<nlohmann::json> UploadModel(const std::string& path);
  // Creates a task from a request {model_sha256, runtime, device | selector, settings}; it is
  // queued, or converting while the server converts its model for the runtime.
  Expected<nlohmann::json> CreateTask(const nlohmann::json& request);
  Expected<nlohmann::json> GetTask(int64_t task_id);
  // Every result document of the task, INVALID runs repeated and its result: {task, results:
  // [{attempt, agent, uploaded_at, valid, is_result, document}]}.
  Expected<nlohmann::json> GetTaskResults(int64_t task_id);
  // Polls GetTask every `poll_interval_ms` until the task is in a final state (succeeded,
  // failed, cancelled, timed_out) and returns it; `on_change` sees each new state. Gives up with
  // kRuntimeError after `timeout_s` seconds (0 = never).
  Expected<nlohmann::json> WaitTask(int64_t task_id,
                                    const std::function<void(const nlohmann::json&)>& on_change,
                                    int poll_interval_ms = 200, double timeout_s = 0);
  // A page of tasks, newest first: {tasks: [...], next: the `after` of the next page or null}.
  Expected<nlohmann::json> ListTasks(const TaskListQuery& query = {});
  Expected<nlohmann::json> ListDevices();
  Expected<nlohmann::json> CancelTask(int64_t task_id);
  // Device health (admin): maintenance on or off, reset of a bad device; each returns the
  // device. DeviceHealth: {device, checks: [...]}, the health checks newest first.
  Expected<nlohmann::json> SetMaintenance(const std::string& device, bool on);
  Expected<nlohmann::json> ResetDevice(const std::string& device);
  Expected<nlohmann::json> DeviceHealth(const std::string& device);

  // Creates a job from a request {models: [sha256...], runtimes: [...], devices: [...],
  // selectors: [{label: value}...], settings, skip_unavailable}; returns the job.
  Expected<nlohmann::json> CreateJob(const nlohmann::json& request);
  // The job with its tasks and its latency matrix ({table: {header, rows, note, text}}).
  Expected<nlohmann::json> GetJob(int64_t job_id);
  Expected<nlohmann::json> ListJobs();
  Expected<nlohmann::json> CancelJob(int64_t job_id);
  // Polls GetJob until every task is final and returns the job; `on_progress` sees the job
  // each time its task counts change. Gives up like WaitTask.
  Expected<nlohmann::json> WaitJob(int64_t job_id,
                                   const std::function<void(const nlohmann::json&)>& on_progress,
                                   int poll_interval_ms = 500, double timeout_s = 0);

  // ---- for the agent (docs/http-api.md, "Agents") ----
  // Registers (or re-registers) an agent with the registration token; returns {token,
  // lease_seconds, ...}: the token the agent's further requests use.
  Expected<nlohmann::json> RegisterAgent(const nlohmann::json& request);
  // The runtime images the server offers for `arch`: {images: [{runtime, arch, image}...]}.
  Expected<nlohmann::json> ListImages(const std::string& arch);
  // Long-polls for a task for `agent_name`, waiting up to `wait_s` seconds on the server.
  struct LeaseAnswer {
    std::optional<nlohmann::json> task;  // none when no task came within the wait
    bool token_rejected = false;         // 401: the server no longer knows the token (register again)
  };
  Expected<LeaseAnswer> LeaseTask(const std::string& agent_name, int wait_s);
  // Renews a leased task's lease. False when the server says the task is no longer this
  // agent's (cancelled or reassigned: 404, 409); an error when the renewal did not happen.
  Expected<bool> RenewLease(int64_t task_id);
  // Uploads a task's result document; returns the task.
  Expected<nlohmann::json> UploadResult(int64_t task_id, const nlohmann::json& document);
  // Downloads a model by its sha256 into `file_path` (streamed, through a temporary file).
  Status DownloadModel(const std::string& sha256, const std::string& file_path);

  // Seconds to wait for one answer (long polls need more than the default 30).
  void SetReadTimeoutSeconds(int seconds);

 private:
  ServiceClient(std::vector<std::string> server_urls, std::string token, std::string ca_file);
  // After a transport failure: makes the next server current and says whether to send the
  // request again (it never arrived, and a server is left untried). `tried` counts the servers.
  bool FailOver(httplib::Error error, size_t& tried);
  void UseServer(size_t index);
  // One request; any status code is returned, only a transport failure is an error. `body` is
  // sent as-is with `content_type` (POST when not GET).
  Expected<HttpAnswer> Send(const std::string& method, const std::string& path,
                            const std::string& body = "",
                            const std::string& content_type = "application/json");
  // Like Send, but returns the body as an error unless the status is 2xx.
  Expected<nlohmann::json> Call(const std::string& method, const std::string& path,
                                const nlohmann::json& body = nullptr);
  // Downloads GET `path` into `file_path` (streamed, through a temporary file and a rename).
  Status Download(const std::string& path, const std::string& file_path);
  std::vector<std::string> server_urls_;
  size_t current_ = 0;  // server_urls_[current_] is server_url_, the one http_ talks to
  std::string server_url_;
  std::string token_;
  std::string ca_file_;
  Error TransportError(httplib::Error error) const;  // for an answer that never came
  std::unique_ptr<httplib::Client> http_;
  int read_timeout_s_ = 30;  // per answer
};

// The error a non-2xx answer stands for (see the header comment).
Error ErrorFromAnswer(const HttpAnswer& answer);

// True for succeeded, failed, cancelled and timed_out.
bool IsFinalTaskState(const std::string& state);

// True for a job whose tasks are all final (succeeded, failed).
bool IsFinalJobState(const std::string& state);

// Reads a token file (first line, surrounding blanks removed).
Expected<std::string> ReadTokenFile(const std::string& path);

}  // namespace edgebench
