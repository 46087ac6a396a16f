#include "edgebench/client.h"

#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "edgebench/text.h"

#include "edgebench/text.h"

namespace edgebench {
namespace {

std::string FileName(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

std::string UrlEncode(const std::string& text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

Error ErrorFromAnswer(const HttpAnswer& answer) {
  std::string message;
  if (answer.body.is_object() && answer.body.contains("error") && answer.body["error"].is_string()) {
    message = answer.body["error"].get<std::string>();
  } else {
    message = answer.raw_body.substr(0, 200);
  }
  message = "server answered " + std::to_string(answer.status) + ": " + message;
  if (answer.status == 404) return NotFound(message);
  if (answer.status >= 400 && answer.status < 500) return InvalidArgument(message);
  return RuntimeError(message);
}

bool IsFinalTaskState(const std::string& state) {
  return state == "succeeded" || state == "failed" || state == "cancelled" || state == "timed_out";
}

Expected<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound(path + ": cannot read the token file");
  std::string token;
  std::getline(in, token);
  const auto first = token.find_first_not_of(" \t\r\n");
  const auto last = token.find_last_not_of(" \t\r\n");
  if (first == std::string::npos) return InvalidArgument(path + ": empty token file");
  return token.substr(first, last - first + 1);
}

bool IsFinalJobState(const std::string& state) { return state == "succeeded" || state == "failed"; }

ServiceClient::ServiceClient(std::vector<std::string> server_urls, std::string token, std::string ca_file)
    : server_urls_(std::move(server_urls)), token_(std::move(token)), ca_file_(std::move(ca_file)) {
  UseServer(0);
}

void ServiceClient::UseServer(size_t index) {
  current_ = index;
  server_url_ = server_urls_[index];
  http_ = std::make_unique<httplib::Client>(server_url_);
  if (!ca_file_.empty()) http_->set_ca_cert_path(ca_file_.c_str());
  http_->set_connection_timeout(5, 0);
  http_->set_read_timeout(read_timeout_s_, 0);
  http_->set_write_timeout(60, 0);
  http_->set_bearer_token_auth(token_);
}

bool ServiceClient::FailOver(httplib::Error error, size_t& tried) {
  if (server_urls_.size() < 2) return false;
  UseServer((current_ + 1) % server_urls_.size());
  return error == httplib::Error::Connection && ++tried < server_urls_.size();
}

ServiceClient::~ServiceClient() = default;

Expected<std::unique_ptr<ServiceClient>> ServiceClient::Connect(const std::string& server_url,
                                                                std::string token,
                                                                const std::string& ca_file) {
  std::vector<std::string> urls;
  bool https = false;
  for (std::string url : Split(server_url, ',')) {
    const bool secure = url.rfind("https://", 0) == 0;
    if (url.rfind("http://", 0) != 0 && !secure) {
      return InvalidArgument("bad --server '" + url + "': expected http://HOST:PORT or https://HOST:PORT");
    }
    https = https || secure;
    while (!url.empty() && url.back() == '/') url.pop_back();
    urls.push_back(url);
  }
  if (urls.empty()) return InvalidArgument("no --server given: expected http://HOST:PORT or https://HOST:PORT");
  std::string ca = ca_file;
  if (ca.empty() && std::getenv("EDGEBENCH_CA_FILE")) ca = std::getenv("EDGEBENCH_CA_FILE");
  if (https && !ca.empty() && !std::filesystem::is_regular_file(ca)) {
    return NotFound(ca + ": cannot read the CA certificate file");
  }
  return std::unique_ptr<ServiceClient>(new ServiceClient(std::move(urls), std::move(token), https ? ca : ""));
}

void ServiceClient::SetReadTimeoutSeconds(int seconds) {
  read_timeout_s_ = seconds;
  http_->set_read_timeout(seconds, 0);
}

Expected<HttpAnswer> ServiceClient::Send(const std::string& method, const std::string& path,
                                         const std::string& body, const std::string& content_type) {
  auto send = [&] {
    return method == "GET" ? http_->Get(path.c_str()) : http_->Post(path.c_str(), body, content_type.c_str());
  };
  httplib::Result result = send();
  for (size_t tried = 0; !result; result = send()) {
    Error failed = TransportError(result.error());
    if (!FailOver(result.error(), tried)) return failed;
  }
  HttpAnswer answer;
  answer.status = result->status;
  answer.raw_body = result->body;
  answer.body = nlohmann::json::parse(result->body, nullptr, /*allow_exceptions=*/false);
  if (answer.body.is_discarded()) answer.body = nullptr;
  return answer;
}

Expected<nlohmann::json> ServiceClient::Call(const std::string& method, const std::string& path,
                                             const nlohmann::json& body) {
  auto answer = Send(method, path, body.is_null() ? std::string() : body.dump());
  if (!answer.ok()) return answer.error();
  if (answer->status < 200 || answer->status >= 300) return ErrorFromAnswer(*answer);
  return answer->body;
}

Expected<nlohmann::json> ServiceClient::UploadModel(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(path + ": cannot read the model file");
  std::stringstream bytes;
  bytes << in.rdbuf();
  auto answer = Send("POST", "/v1/models?name=" + UrlEncode(FileName(path)), bytes.str(),
                     "application/octet-stream");
  if (!answer.ok()) return answer.error();
  if (answer->status < 200 || answer->status >= 300) return ErrorFromAnswer(*answer);
  return answer->body;
}

Expected<nlohmann::json> ServiceClient::CreateTask(const nlohmann::json& request) {
  return Call("POST", "/v1/tasks", request);
}

Expected<nlohmann::json> ServiceClient::GetTask(int64_t task_id) {
  return Call("GET", "/v1/tasks/" + std::to_string(task_id));
}

Expected<nlohmann::json> ServiceClient::GetTaskResults(int64_t task_id) {
  return Call("GET", "/v1/tasks/" + std::to_string(task_id) + "/results");
}

Expected<nlohmann::json> ServiceClient::WaitTask(
    int64_t task_id, const std::function<void(const nlohmann::json&)>& on_change,
    int poll_interval_ms, double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  std::string last_state;
  for (;;) {
    auto task = GetTask(task_id);
    if (!task.ok()) return task.error();
    const std::string state = task->value("state", "");
    if (state != last_state) {
      last_state = state;
      if (on_change) on_change(*task);
    }
    if (IsFinalTaskState(state)) return task;
    if (timeout_s > 0 && std::chrono::steady_clock::now() > deadline) {
      return RuntimeError("task " + std::to_string(task_id) + " is still " + state + " after " +
                          std::to_string(static_cast<int>(timeout_s)) + " s (--wait-timeout)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(poll_interval_ms));
  }
}

Expected<nlohmann::json> ServiceClient::ListTasks(const TaskListQuery& query) {
  std::vector<std::string> parameters;
  if (query.limit > 0) parameters.push_back("limit=" + std::to_string(query.limit));
  if (query.after > 0) parameters.push_back("after=" + std::to_string(query.after));
  if (!query.state.empty()) parameters.push_back("state=" + UrlEncode(query.state));
  if (query.job > 0) parameters.push_back("job=" + std::to_string(query.job));
  return Call("GET", "/v1/tasks" + (parameters.empty() ? std::string() : "?" + Join(parameters, "&")));
}

Expected<nlohmann::json> ServiceClient::ListDevices() { return Call("GET", "/v1/devices"); }

Expected<nlohmann::json> ServiceClient::CancelTask(int64_t task_id) {
  return Call("POST", "/v1/tasks/" + std::to_string(task_id) + "/cancel");
}

Expected<nlohmann::json> ServiceClient::SetMaintenance(const std::string& device, bool on) {
  return Call("POST", "/v1/devices/" + UrlEncode(device) + "/maintenance", {{"maintenance", on}});
}

Expected<nlohmann::json> ServiceClient::ResetDevice(const std::string& device) {
  return Call("POST", "/v1/devices/" + UrlEncode(device) + "/reset");
}

Expected<nlohmann::json> ServiceClient::DeviceHealth(const std::string& device) {
  return Call("GET", "/v1/devices/" + UrlEncode(device) + "/health");
}

Expected<nlohmann::json> ServiceClient::CreateJob(const nlohmann::json& request) {
  return Call("POST", "/v1/jobs", request);
}

Expected<nlohmann::json> ServiceClient::GetJob(int64_t job_id) {
  return Call("GET", "/v1/jobs/" + std::to_string(job_id));
}

Expected<nlohmann::json> ServiceClient::ListJobs() { return Call("GET", "/v1/jobs"); }

Expected<nlohmann::json> ServiceClient::CancelJob(int64_t job_id) {
  return Call("POST", "/v1/jobs/" + std::to_string(job_id) + "/cancel");
}

Expected<nlohmann::json> ServiceClient::WaitJob(
    int64_t job_id, const std::function<void(const nlohmann::json&)>& on_progress,
    int poll_interval_ms, double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  nlohmann::json last_counts;
  for (;;) {
    auto job = GetJob(job_id);
    if (!job.ok()) return job.error();
    if (job->value("counts", nlohmann::json()) != last_counts) {
      last_counts = job->value("counts", nlohmann::json());
      if (on_progress) on_progress(*job);
    }
    if (IsFinalJobState(job->value("state", ""))) return job;
    if (timeout_s > 0 && std::chrono::steady_clock::now() > deadline) {
      return RuntimeError("job " + std::to_string(job_id) + ": " + std::to_string(job->value("tasks_done", 0)) +
                          " of " + std::to_string(job->value("tasks_total", 0)) + " tasks done after " +
                          std::to_string(static_cast<int>(timeout_s)) + " s (--wait-timeout)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(poll_interval_ms));
  }
}

Expected<nlohmann::json> ServiceClient::RegisterAgent(const nlohmann::json& request) {
  return Call("POST", "/v1/agents", request);
}

Expected<nlohmann::json> ServiceClient::ListImages(const std::string& arch) {
  return Call("GET", "/v1/images?arch=" + UrlEncode(arch));
}

Expected<ServiceClient::LeaseAnswer> ServiceClient::LeaseTask(const std::string& agent_name, int wait_s) {
  auto answer = Send("POST", "/v1/agents/" + UrlEncode(agent_name) + "/lease?wait_s=" + std::to_string(wait_s));
  if (!answer.ok()) return answer.error();
  if (answer->status == 204) return LeaseAnswer{};
  if (answer->status == 401) return LeaseAnswer{std::nullopt, true};
  if (answer->status != 200 || !answer->body.is_object() || !answer->body.contains("task")) {
    return ErrorFromAnswer(*answer);
  }
  return LeaseAnswer{answer->body["task"], false};
}

Expected<bool> ServiceClient::RenewLease(int64_t task_id) {
  auto answer = Send("POST", "/v1/tasks/" + std::to_string(task_id) + "/heartbeat");
  if (!answer.ok()) return answer.error();
  if (answer->status == 404 || answer->status == 409) return false;
  if (answer->status < 200 || answer->status >= 300) return ErrorFromAnswer(*answer);
  return true;
}

Expected<nlohmann::json> ServiceClient::UploadResult(int64_t task_id, const nlohmann::json& document) {
  return Call("POST", "/v1/tasks/" + std::to_string(task_id) + "/result", document);
}

Status ServiceClient::DownloadModel(const std::string& sha256, const std::string& file_path) {
  return Download("/v1/models/" + sha256, file_path);
}

Error ServiceClient::TransportError(httplib::Error error) const {
  std::string message = "cannot reach " + server_url_ + " (" + httplib::to_string(error) + ")";
  if (error == httplib::Error::SSLServerVerification) {
    message += "; is the server's certificate signed by the CA of --ca-file?";
  } else if (error == httplib::Error::SSLConnection && server_url_.rfind("https://", 0) == 0) {
    message += "; is the server serving HTTPS?";
  }
  return RuntimeError(message);
}

Status ServiceClient::Download(const std::string& path, const std::string& file_path) {
  const std::string temporary = file_path + ".part." + std::to_string(getpid());
  for (size_t tried = 0;;) {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) return RuntimeError(temporary + ": cannot write");
    std::string error_body;
    int status = 0;
    httplib::Result result = http_->Get(
        path.c_str(),
        [&](const httplib::Response& response) {
          status = response.status;
          return true;
        },
        [&](const char* data, size_t length) {
          if (status == 200) {
            out.write(data, static_cast<std::streamsize>(length));
          } else {
            error_body.append(data, length);
          }
          return static_cast<bool>(out);
        });
    out.close();
    if (result && status == 200 && out) break;
    std::remove(temporary.c_str());
    if (!result) {
      Error failed = TransportError(result.error());
      if (FailOver(result.error(), tried)) continue;
      return failed;
    }
    if (status != 200) {
      HttpAnswer answer{status, nlohmann::json::parse(error_body, nullptr, false), error_body};
      if (answer.body.is_discarded()) answer.body = nullptr;
      return ErrorFromAnswer(answer);
    }
    return RuntimeError(temporary + ": write failed");
  }
  if (std::rename(temporary.c_str(), file_path.c_str()) != 0) {
    std::remove(temporary.c_str());
    return RuntimeError(file_path + ": cannot rename the download into place");
  }
  return OkStatus();
}

}  // namespace edgebench
