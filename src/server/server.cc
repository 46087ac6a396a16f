// HTTP face of the evaluation service: request parsing and validation, authentication, and the
// model store on disk. The state machine of tasks lives in store.cc.
#include "edgebench/server.h"

#include <fcntl.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <list>
#include <map>
#include <regex>
#include <thread>

#include "edgebench/convert.h"
#include "edgebench/model_file.h"
#include "edgebench/report.h"
#include "edgebench/result_json.h"
#include "edgebench/settings.h"
#include "images.h"
#include "store.h"

namespace edgebench {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using server::AgentRow;
using server::ApiError;
using server::ApiResult;
using server::TaskRow;
using server::TokenKind;
using server::TokenRow;

std::string Hex(const unsigned char* bytes, size_t size) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < size; ++i) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 15];
  }
  return out;
}

std::string Sha256Hex(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  return Hex(digest, length);
}

std::string NewSecret() {
  std::array<unsigned char, 32> bytes{};
  if (RAND_bytes(bytes.data(), bytes.size()) != 1) throw std::runtime_error("RAND_bytes failed");
  return Hex(bytes.data(), bytes.size());
}

// Writes `content` to `path` with mode 0600 (tokens).
Status WriteSecretFile(const std::string& path, const std::string& content) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return RuntimeError(path + ": cannot write");
  const bool ok = write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
                  fchmod(fd, 0600) == 0 && fsync(fd) == 0;
  close(fd);
  return ok ? OkStatus() : Status(RuntimeError(path + ": write failed"));
}

void FsyncPath(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

void SendJson(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void SendError(httplib::Response& res, const ApiError& error) {
  SendJson(res, error.status, {{"error", error.message}});
}

json NullIfEmpty(const std::string& text) { return text.empty() ? json(nullptr) : json(text); }

json TaskJson(const TaskRow& t) {
  return {{"id", t.id},
          {"state", t.state},
          {"model_sha256", t.model_sha256},
          {"runtime", t.runtime},
          {"device", NullIfEmpty(t.device)},
          {"selector", t.selector},
          {"settings", t.settings},
          {"attempts", t.attempts},
          {"agent", NullIfEmpty(t.agent_name)},
          {"lease_deadline", t.lease_deadline_ms > 0 ? json(server::IsoUtc(t.lease_deadline_ms)) : json(nullptr)},
          {"created_at", t.created_at},
          {"assigned_at", NullIfEmpty(t.assigned_at)},
          {"started_at", NullIfEmpty(t.started_at)},
          {"finished_at", NullIfEmpty(t.finished_at)},
          {"error", NullIfEmpty(t.error)},
          {"owner", t.owner},
          {"has_result", t.has_result},
          {"job", t.job_id ? json(*t.job_id) : json(nullptr)}};
}

json ModelJson(const server::ModelRow& m) {
  return {{"sha256", m.sha256}, {"size_bytes", m.size_bytes}, {"format", m.format}, {"name", m.name}};
}

ApiError TooLarge(int64_t size, int64_t limit, const std::string& what) {
  return ApiError{413, what + " of " + std::to_string(size) + " bytes exceeds the limit of " +
                           std::to_string(limit) + " bytes"};
}

// Parses a request body that must be a JSON object of at most `max_bytes`.
ApiResult<json> ParseObject(const httplib::Request& req, int64_t max_bytes) {
  if (static_cast<int64_t>(req.body.size()) > max_bytes) {
    return TooLarge(static_cast<int64_t>(req.body.size()), max_bytes, "request body");
  }
  json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return ApiError{400, "malformed JSON in the request body"};
  if (!body.is_object()) return ApiError{400, "the request body must be a JSON object"};
  return body;
}

ApiError WrongType(const std::string& field, const std::string& expected) {
  return ApiError{400, "field '" + field + "' must be " + expected};
}

// Checks a settings object against the settings table (edgebench/settings.h).
std::optional<ApiError> ValidateSettings(const json& settings) {
  if (Status valid = ValidateSettingsJson(settings, SettingsReader::kService); !valid.ok()) {
    return ApiError{400, valid.error().message};
  }
  return std::nullopt;
}

bool ValidName(const std::string& name) {
  static const std::regex kName("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  return std::regex_match(name, kName);
}

ApiError BadName(const std::string& field, const std::string& name) {
  return ApiError{400, "field '" + field + "': '" + name.substr(0, 80) +
                           "' is not a valid name ([A-Za-z0-9._-], at most 64)"};
}

// A {key: value} object of strings with valid keys (labels, selectors); `field` names it.
std::optional<ApiError> CheckLabels(const json& labels, const std::string& field) {
  if (!labels.is_object()) return WrongType(field, "an object of strings");
  for (const auto& [key, value] : labels.items()) {
    if (!ValidName(key)) return BadName(field + " key", key);
    if (!value.is_string()) return WrongType(field + "." + key, "a string");
    if (value.get<std::string>().size() > 256) return ApiError{400, "field '" + field + "." + key + "' is longer than 256"};
  }
  return std::nullopt;
}

bool IsSha256(const std::string& text) {
  return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

bool MatchesSelector(const AgentRow& agent, const json& selector) {
  for (const auto& [key, value] : selector.items()) {
    if (!agent.labels.contains(key) || agent.labels[key] != value) return false;
  }
  return true;
}

bool AgentOffersRuntime(const AgentRow& agent, const std::string& runtime) {
  for (const auto& item : agent.facts.value("runtimes", json::array())) {
    if (item.is_object() && item.value("name", "") == runtime) return true;
  }
  return false;
}

bool AgentCanRun(const AgentRow& agent, const server::NewTask& task) {
  if (!AgentOffersRuntime(agent, task.runtime)) return false;
  return task.device.empty() ? MatchesSelector(agent, task.selector) : agent.name == task.device;
}

// Whether a registered agent could run `task` (device or selector, and runtime); the 422
// answer says which part is unknown.
std::optional<ApiError> CheckRunnable(const std::vector<AgentRow>& agents, const server::NewTask& task) {
  bool runtime_known = false, device_known = false, runnable = false;
  for (const auto& agent : agents) {
    const bool offers = AgentOffersRuntime(agent, task.runtime);
    runtime_known |= offers;
    if (!task.device.empty()) {
      if (agent.name == task.device) {
        device_known = true;
        runnable = offers;
      }
    } else {
      runnable |= offers && MatchesSelector(agent, task.selector);
    }
  }
  if (!runtime_known) return ApiError{422, "unknown runtime '" + task.runtime + "': no registered device offers it"};
  if (!task.device.empty() && !device_known) {
    return ApiError{422, "unknown device '" + task.device + "': no agent of that name is registered"};
  }
  if (!runnable) {
    return ApiError{422, !task.device.empty()
                             ? "device '" + task.device + "' does not offer runtime '" + task.runtime + "'"
                             : "no registered device matches selector " + task.selector.dump() +
                                   " with runtime '" + task.runtime + "'"};
  }
  return std::nullopt;
}

// An optional string field that must be a valid name when present; "" when absent or null.
ApiResult<std::string> OptionalName(const json& body, const std::string& field) {
  if (!body.contains(field) || body[field].is_null()) return std::string();
  if (!body[field].is_string()) return WrongType(field, "a string");
  const std::string name = body[field].get<std::string>();
  if (!ValidName(name)) return BadName(field, name);
  return name;
}

// The job's state from its tasks' states: queued (none started), running, succeeded (all),
// failed (all final, some not succeeded).
std::string JobState(const server::JobRow& job) {
  int final_tasks = 0, succeeded = 0, queued = 0;
  for (const auto& [state, count] : job.state_counts) {
    if (server::IsFinalState(state)) final_tasks += count;
    if (state == "succeeded") succeeded += count;
    if (state == "queued") queued += count;
  }
  if (final_tasks < job.tasks) return queued == job.tasks ? "queued" : "running";
  return succeeded == job.tasks ? "succeeded" : "failed";
}

json JobJson(const server::JobRow& job) {
  int done = 0;
  for (const auto& [state, count] : job.state_counts) {
    if (server::IsFinalState(state)) done += count;
  }
  return {{"id", job.id},           {"state", JobState(job)},  {"owner", job.owner},
          {"created_at", job.created_at}, {"tasks_total", job.tasks}, {"tasks_done", done},
          {"counts", job.state_counts},   {"spec", job.request}};
}

}  // namespace

struct EvaluationServer::Impl {
  ServerOptions options;
  std::unique_ptr<server::Store> store;
  std::unique_ptr<server::ImageCatalog> images;  // (runtime, arch) -> image reference
  std::unique_ptr<httplib::Server> http;  // an httplib::SSLServer with TLS
  int port = 0;
  std::atomic<int> long_polls{0};  // lease requests waiting now
  std::string models_dir;
  // A long-polling lease request. It is listed (under wake_mutex) before it looks for a task,
  // so that a task created meanwhile cannot be missed, and it sleeps on its own condition.
  struct Waiter {
    const AgentRow& agent;
    std::condition_variable cv;
    bool woken = false;
    std::optional<server::NewTask> woken_for;  // the new task it was woken for, if any
  };
  std::mutex convert_mutex;  // ModelForRuntime
  std::mutex wake_mutex;
  std::list<Waiter*> waiters;        // longest waiting first
  std::condition_variable stop_cv;   // wakes the expiry thread at shutdown
  std::atomic<bool> stopping{false};
  std::thread expiry_thread;

  // For each new task, wakes the longest-waiting lease request whose agent can run it, so that
  // one task costs one lease attempt, not one per waiting agent (1,000 agents: bench/). Without
  // tasks (leases expired and re-queued, shutdown), wakes every waiter. A woken request takes
  // the oldest task it can run; one that was busy with another task when woken passes the
  // wake-up on (Lease), so no new task is left without a woken agent.
  void Notify(const std::vector<server::NewTask>& tasks = {}) {
    std::lock_guard lock(wake_mutex);
    if (tasks.empty()) {
      for (Waiter* waiter : waiters) {
        waiter->woken = true;
        waiter->cv.notify_one();
      }
      stop_cv.notify_all();
      return;
    }
    for (const auto& task : tasks) {
      for (Waiter* waiter : waiters) {
        if (!waiter->woken && AgentCanRun(waiter->agent, task)) {
          waiter->woken = true;
          waiter->woken_for = task;
          waiter->cv.notify_one();
          break;
        }
      }
    }
  }

  int MaxLongPolls() const { return std::max(1, options.http_threads - kReservedHttpThreads); }

  // A place among the waiting lease requests, taken when `wanted` and one is free.
  class LongPollSlot {
   public:
    LongPollSlot(Impl& impl, bool wanted) : impl_(impl) {
      if (wanted && impl_.long_polls.fetch_add(1) < impl_.MaxLongPolls()) {
        held_ = true;
      } else if (wanted) {
        impl_.long_polls.fetch_sub(1);
      }
    }
    ~LongPollSlot() {
      if (held_) impl_.long_polls.fetch_sub(1);
    }
    LongPollSlot(const LongPollSlot&) = delete;
    LongPollSlot& operator=(const LongPollSlot&) = delete;
    bool held() const { return held_; }

   private:
    Impl& impl_;
    bool held_ = false;
  };

  int64_t LeaseMs() const { return static_cast<int64_t>(options.lease_seconds) * 1000; }

  // The token of the request, if it is one of `kinds`.
  ApiResult<TokenRow> Authenticate(const httplib::Request& req, std::initializer_list<TokenKind> kinds) {
    const std::string header = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    if (header.rfind(prefix, 0) != 0 || header.size() == prefix.size()) {
      return ApiError{401, "missing 'Authorization: Bearer TOKEN' header"};
    }
    auto token = store->FindToken(Sha256Hex(header.substr(prefix.size())));
    if (!token) return ApiError{401, "invalid token"};
    for (TokenKind kind : kinds) {
      if (token->kind == kind) return *token;
    }
    return ApiError{403, "a " + std::string(server::TokenKindName(token->kind)) +
                             " token cannot use this endpoint"};
  }

  // The agent behind an agent token; `name` (from the path) must be it when given.
  ApiResult<AgentRow> AuthenticateAgent(const httplib::Request& req, const std::string& name = "") {
    auto token = Authenticate(req, {TokenKind::kAgent});
    if (!token.ok()) return token.error();
    if (!name.empty() && token->subject != name) {
      return ApiError{403, "this token belongs to agent '" + token->subject + "', not '" + name + "'"};
    }
    auto agent = store->FindAgent(token->subject);
    if (!agent) return ApiError{401, "agent '" + token->subject + "' is not registered"};
    return *agent;
  }

  Status InitializeTokens() {
    const std::string admin_path = options.data_dir + "/admin.token";
    const std::string agent_path = options.data_dir + "/agent.token";
    if (!store->HasToken(TokenKind::kAdmin)) {
      const std::string secret = NewSecret();
      EB_RETURN_IF_ERROR(WriteSecretFile(admin_path, secret + "\n"));
      store->AddToken(Sha256Hex(secret), TokenKind::kAdmin, "admin");
    }
    if (!store->HasToken(TokenKind::kRegistration)) {
      const std::string secret = NewSecret();
      EB_RETURN_IF_ERROR(WriteSecretFile(agent_path, secret + "\n"));
      store->AddToken(Sha256Hex(secret), TokenKind::kRegistration, "registration");
    }
    return OkStatus();
  }

  // ---- users ---------------------------------------------------------------------------

  void CreateUser(const httplib::Request& req, httplib::Response& res) {
    auto who = Authenticate(req, {TokenKind::kAdmin});
    if (!who.ok()) return SendError(res, who.error());
    auto body = ParseObject(req, options.max_request_bytes);
    if (!body.ok()) return SendError(res, body.error());
    if (!body->contains("name") || !(*body)["name"].is_string()) return SendError(res, WrongType("name", "a string"));
    const std::string name = (*body)["name"].get<std::string>();
    if (!ValidName(name)) return SendError(res, BadName("name", name));
    const std::string secret = NewSecret();
    store->AddToken(Sha256Hex(secret), TokenKind::kUser, name);
    SendJson(res, 201, {{"name", name}, {"token", secret}});
  }

  // ---- models --------------------------------------------------------------------------

  void UploadModel(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
    auto who = Authenticate(req, {TokenKind::kAdmin, TokenKind::kUser});
    if (!who.ok()) {
      reader([](const char*, size_t) { return true; });  // drain, so the client reads the answer
      return SendError(res, who.error());
    }
    std::string name = req.has_param("name") ? req.get_param_value("name")
                                             : req.get_header_value("X-Model-Name");
    name = fs::path(name).filename().string();
    if (name.empty()) name = "model";
    const std::string temporary = models_dir + "/.upload-" + NewSecret().substr(0, 16) +
                                  fs::path(name).extension().string();
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) return SendError(res, {500, "cannot write to the model store"});
    int64_t size = 0;
    bool too_large = false;
    reader([&](const char* data, size_t length) {
      size += static_cast<int64_t>(length);
      if (size > options.max_model_bytes) too_large = true;
      if (!too_large) out.write(data, static_cast<std::streamsize>(length));
      return true;
    });
    out.flush();
    const bool written = static_cast<bool>(out);
    out.close();
    auto discard = [&] { std::error_code ignored; fs::remove(temporary, ignored); };
    if (too_large) {
      discard();
      return SendError(res, {413, "model of " + std::to_string(size) + " bytes exceeds the limit of " +
                                      std::to_string(options.max_model_bytes) + " bytes (--max-model-mb)"});
    }
    if (!written) {
      discard();
      return SendError(res, {500, "cannot write to the model store"});
    }
    if (size == 0) {
      discard();
      return SendError(res, {400, "empty model upload (send the model file as the request body)"});
    }
    auto inspected = InspectModelFile(temporary);
    if (!inspected.ok()) {
      discard();
      std::string message = inspected.error().message;
      const auto at = message.find(temporary);
      if (at != std::string::npos) message.replace(at, temporary.size(), name);
      return SendError(res, {400, message});
    }
    if (!MoveIntoModelStore(temporary, inspected->sha256)) {
      return SendError(res, {500, "cannot move the upload into the model store"});
    }
    server::ModelRow row{inspected->sha256, inspected->size_bytes,
                         std::string(ModelFormatName(inspected->format)), name, ""};
    store->AddModel(row);
    SendJson(res, 201, ModelJson(*store->FindModel(row.sha256)));
  }

  void DownloadModel(const httplib::Request& req, httplib::Response& res) {
    auto agent = AuthenticateAgent(req);
    if (!agent.ok()) return SendError(res, agent.error());
    const std::string sha = req.matches[1];
    auto model = store->FindModel(sha);
    if (!model) return SendError(res, {404, "model " + sha + " not found"});
    if (!store->AgentHoldsModel(agent->id, sha)) {
      return SendError(res, {403, "agent '" + agent->name + "' holds no task on model " + sha});
    }
    auto file = std::make_shared<std::ifstream>(models_dir + "/" + sha, std::ios::binary);
    if (!*file) return SendError(res, {500, "model " + sha + " is missing from the model store"});
    res.set_content_provider(
        static_cast<size_t>(model->size_bytes), "application/octet-stream",
        [file](size_t offset, size_t length, httplib::DataSink& sink) {
          std::array<char, 1 << 16> buffer;
          file->seekg(static_cast<std::streamoff>(offset));
          file->read(buffer.data(), static_cast<std::streamsize>(std::min(length, buffer.size())));
          if (file->gcount() <= 0) return false;
          sink.write(buffer.data(), static_cast<size_t>(file->gcount()));
          return true;
        });
  }

  // ---- tasks ---------------------------------------------------------------------------

  // `settings` (shared by tasks and jobs): absent/null = {}.
  static ApiResult<json> ParseSettings(const json& body) {
    if (!body.contains("settings") || body["settings"].is_null()) return json::object();
    if (!body["settings"].is_object()) return WrongType("settings", "an object");
    if (auto error = ValidateSettings(body["settings"])) return *error;
    return body["settings"];
  }

  // Makes the complete file `temporary` the store's file for `sha256` (durably: fsync of the file,
  // rename, fsync of the directory); drops it when that content is already stored. False when
  // the rename fails (`temporary` is then removed).
  bool MoveIntoModelStore(const std::string& temporary, const std::string& sha256) {
    std::error_code ignored;
    const std::string final_path = models_dir + "/" + sha256;
    if (fs::exists(final_path)) {
      fs::remove(temporary, ignored);  // dedupe: same content already stored
      return true;
    }
    FsyncPath(temporary);
    if (std::rename(temporary.c_str(), final_path.c_str()) != 0) {
      fs::remove(temporary, ignored);
      return false;
    }
    FsyncPath(models_dir);
    return true;
  }

  // Runtimes that read only TFLite files: an ONNX model for them is converted on the server.
  static bool ReadsOnlyTflite(const std::string& runtime) { return runtime == "tflite" || runtime == "armnn"; }

  // The model a task on `runtime` runs at the settings' precision (default fp32): `sha` itself,
  // its TFLite conversion for a runtime that reads only TFLite, or its ONNX precision variant
  // (fp16, QDQ int8) for onnxruntime. Made once and kept by (source, target, precision,
  // converter version) as a model of its own. 422 naming the node and op when the converter
  // cannot express the model, and for a precision other than fp32 on a runtime with no conversion.
  ApiResult<std::string> ModelForRuntime(const std::string& sha, const std::string& runtime, const json& settings) {
    const auto model = store->FindModel(sha);
    const std::string precision = settings.value("precision", "fp32");
    const bool onnx = model && model->format == "onnx";
    std::optional<ConvertTarget> target;
    if (onnx && ReadsOnlyTflite(runtime)) target = ConvertTarget::kTflite;
    if (onnx && runtime == "onnxruntime" && precision != "fp32") target = ConvertTarget::kOnnx;
    if (!target) {
      if (precision == "fp32") return sha;
      return ApiError{422, "settings.precision '" + precision + "' needs a conversion; runtime '" + runtime +
                               "' runs the submitted model as is (precision applies to ONNX models on tflite, "
                               "armnn and onnxruntime)"};
    }
    const std::string target_name(ConvertTargetName(*target));
    std::lock_guard lock(convert_mutex);  // one conversion at a time; the cache answers the rest
    if (auto cached = store->FindConversion(sha, target_name, precision, kConverterVersion)) {
      return cached->converted_sha256;
    }
    ConvertRequest request;
    request.model_path = models_dir + "/" + sha;
    request.target = *target;
    request.precision = *ParseConvertPrecision(precision);
    auto report = ConvertModel(request);
    auto name_it = [&](std::string message) {  // the user's file name, not the store's path
      for (size_t at; (at = message.find(request.model_path)) != std::string::npos;) {
        message.replace(at, request.model_path.size(), model->name);
      }
      return message;
    };
    const std::string why = *target == ConvertTarget::kTflite ? "runtime '" + runtime + "' needs TFLite: "
                                                               : "precision " + precision + " on '" + runtime + "': ";
    if (!report.ok()) return ApiError{422, why + name_it(report.error().message)};
    if (!report->ok()) return ApiError{422, why + name_it(UnsupportedError(*report).message)};
    const std::string converted = Sha256Hex(report->model);
    const std::string temporary = models_dir + "/.convert-" + NewSecret().substr(0, 16);
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(report->model.data(), static_cast<std::streamsize>(report->model.size()));
    out.close();
    if (!out || !MoveIntoModelStore(temporary, converted)) {
      std::error_code ignored;
      fs::remove(temporary, ignored);
      return ApiError{500, "cannot write the converted model to the model store"};
    }
    store->AddModel({converted, static_cast<int64_t>(report->model.size()), target_name,
                     fs::path(model->name).stem().string() + (precision == "fp32" ? "" : "." + precision) + "." +
                         target_name,
                     ""});
    json log = ToJson(*report);
    log["source"] = model->name;
    store->AddConversion({sha, target_name, precision, kConverterVersion, converted, log});
    return converted;
  }

  ApiResult<std::string> KnownModel(const json& value, const std::string& field) {
    if (!value.is_string()) return WrongType(field, "a string");
    const std::string sha = value.get<std::string>();
    if (!IsSha256(sha)) return ApiError{400, "field '" + field + "' must be 64 lowercase hex digits (a sha256)"};
    if (!store->FindModel(sha)) return ApiError{404, "model " + sha + " not found (upload it with POST /v1/models)"};
    return sha;
  }

  void CreateTask(const httplib::Request& req, httplib::Response& res) {
    auto who = Authenticate(req, {TokenKind::kAdmin, TokenKind::kUser});
    if (!who.ok()) return SendError(res, who.error());
    auto parsed = ParseObject(req, options.max_request_bytes);
    if (!parsed.ok()) return SendError(res, parsed.error());
    const json& body = *parsed;
    for (const auto& [key, value] : body.items()) {
      if (key != "model_sha256" && key != "runtime" && key != "device" && key != "selector" && key != "settings") {
        return SendError(res, {400, "unknown field '" + key + "'"});
      }
    }
    server::NewTask task;
    task.owner = who->subject;
    if (!body.contains("model_sha256")) return SendError(res, WrongType("model_sha256", "a string"));
    if (!body.contains("runtime") || !body["runtime"].is_string()) return SendError(res, WrongType("runtime", "a string"));
    auto runtime = OptionalName(body, "runtime");
    if (!runtime.ok()) return SendError(res, runtime.error());
    task.runtime = *runtime;
    auto device = OptionalName(body, "device");
    if (!device.ok()) return SendError(res, device.error());
    task.device = *device;
    if (body.contains("selector") && !body["selector"].is_null()) {
      if (auto error = CheckLabels(body["selector"], "selector")) return SendError(res, *error);
      task.selector = body["selector"];
    }
    if (task.device.empty() == task.selector.empty()) {
      return SendError(res, {400, "give exactly one of 'device' and 'selector'"});
    }
    auto settings = ParseSettings(body);
    if (!settings.ok()) return SendError(res, settings.error());
    task.settings = *settings;
    auto model = KnownModel(body["model_sha256"], "model_sha256");
    if (!model.ok()) return SendError(res, model.error());
    if (auto error = CheckRunnable(*store->RegisteredAgents(), task)) return SendError(res, *error);
    auto runnable_model = ModelForRuntime(*model, task.runtime, task.settings);
    if (!runnable_model.ok()) return SendError(res, runnable_model.error());
    task.model_sha256 = *runnable_model;
    const int64_t id = store->CreateTask(task);
    Notify({task});
    SendJson(res, 201, TaskJson(*store->GetTask(id)));
  }

  // ---- jobs ----------------------------------------------------------------------------

  // A non-empty array field of distinct items, each checked by `check`.
  template <typename Check>
  static std::optional<ApiError> ForEachItem(const json& body, const std::string& field, bool required, Check check) {
    if (!body.contains(field) || body[field].is_null()) {
      return required ? std::optional<ApiError>(WrongType(field, "a non-empty array")) : std::nullopt;
    }
    if (!body[field].is_array() || (required && body[field].empty())) return WrongType(field, "a non-empty array");
    for (std::size_t i = 0; i < body[field].size(); ++i) {
      const json& item = body[field][i];
      for (std::size_t j = 0; j < i; ++j) {
        if (body[field][j] == item) return ApiError{400, "field '" + field + "' lists " + item.dump() + " twice"};
      }
      if (auto error = check(item, field + "[" + std::to_string(i) + "]")) return error;
    }
    return std::nullopt;
  }

  void CreateJob(const httplib::Request& req, httplib::Response& res) {
    auto who = Authenticate(req, {TokenKind::kAdmin, TokenKind::kUser});
    if (!who.ok()) return SendError(res, who.error());
    auto parsed = ParseObject(req, options.max_request_bytes);
    if (!parsed.ok()) return SendError(res, parsed.error());
    const json& body = *parsed;
    for (const auto& [key, value] : body.items()) {
      if (key != "models" && key != "runtimes" && key != "devices" && key != "selectors" && key != "settings" &&
          key != "skip_unavailable") {
        return SendError(res, {400, "unknown field '" + key + "'"});
      }
    }
    std::vector<std::string> models, runtimes;
    std::vector<std::pair<std::string, json>> targets;  // {device, selector}
    std::optional<ApiError> error = ForEachItem(body, "models", true, [&](const json& item, const std::string& field) {
      auto sha = KnownModel(item, field);
      if (!sha.ok()) return std::optional<ApiError>(sha.error());
      models.push_back(*sha);
      return std::optional<ApiError>();
    });
    if (!error) {
      error = ForEachItem(body, "runtimes", true, [&](const json& item, const std::string& field) {
        if (!item.is_string()) return std::optional<ApiError>(WrongType(field, "a string"));
        if (!ValidName(item.get<std::string>())) return std::optional<ApiError>(BadName(field, item.get<std::string>()));
        runtimes.push_back(item.get<std::string>());
        return std::optional<ApiError>();
      });
    }
    if (!error) {
      error = ForEachItem(body, "devices", false, [&](const json& item, const std::string& field) {
        if (!item.is_string()) return std::optional<ApiError>(WrongType(field, "a string"));
        if (!ValidName(item.get<std::string>())) return std::optional<ApiError>(BadName(field, item.get<std::string>()));
        targets.emplace_back(item.get<std::string>(), json::object());
        return std::optional<ApiError>();
      });
    }
    if (!error) {
      error = ForEachItem(body, "selectors", false, [&](const json& item, const std::string& field) {
        if (auto bad = CheckLabels(item, field)) return bad;
        if (item.empty()) return std::optional<ApiError>(WrongType(field, "a non-empty object of strings"));
        targets.emplace_back("", item);
        return std::optional<ApiError>();
      });
    }
    if (error) return SendError(res, *error);
    if (targets.empty()) return SendError(res, {400, "give at least one of 'devices' and 'selectors'"});
    bool skip_unavailable = false;
    if (body.contains("skip_unavailable")) {
      if (!body["skip_unavailable"].is_boolean()) return SendError(res, WrongType("skip_unavailable", "a boolean"));
      skip_unavailable = body["skip_unavailable"].get<bool>();
    }
    auto settings = ParseSettings(body);
    if (!settings.ok()) return SendError(res, settings.error());
    const std::size_t combinations = models.size() * runtimes.size() * targets.size();
    if (combinations > static_cast<std::size_t>(options.max_job_tasks)) {
      return SendError(res, {400, "the job would create " + std::to_string(combinations) + " tasks; the limit is " +
                                      std::to_string(options.max_job_tasks) + " (--max-job-tasks)"});
    }
    // Each (runtime, target) pair must be runnable, or with skip_unavailable is left out.
    const auto agents = store->RegisteredAgents();
    std::vector<std::pair<std::string, std::size_t>> pairs;  // runnable {runtime, target index}
    json skipped = json::array();
    for (const auto& runtime : runtimes) {
      for (std::size_t t = 0; t < targets.size(); ++t) {
        server::NewTask probe;
        probe.runtime = runtime;
        probe.device = targets[t].first;
        probe.selector = targets[t].second;
        if (auto unrunnable = CheckRunnable(*agents, probe)) {
          if (!skip_unavailable) return SendError(res, *unrunnable);
          skipped.push_back({{"runtime", runtime}, {"device", NullIfEmpty(probe.device)},
                             {"selector", probe.selector}, {"reason", unrunnable->message}});
        } else {
          pairs.emplace_back(runtime, t);
        }
      }
    }
    if (pairs.empty()) return SendError(res, {422, "no runtime and device of the job is available"});
    std::vector<server::NewTask> tasks;
    std::map<std::pair<std::string, std::string>, std::string> runnable;  // (model, runtime) -> model run
    for (const auto& model : models) {
      for (const auto& [runtime, t] : pairs) {
        server::NewTask task;
        auto& run = runnable[{model, runtime}];
        if (run.empty()) {
          auto runnable_model = ModelForRuntime(model, runtime, *settings);
          if (!runnable_model.ok()) return SendError(res, runnable_model.error());
          run = *runnable_model;
        }
        task.model_sha256 = run;
        task.runtime = runtime;
        task.device = targets[t].first;
        task.selector = targets[t].second;
        task.settings = *settings;
        task.owner = who->subject;
        tasks.push_back(std::move(task));
      }
    }
    json spec = {{"models", models}, {"runtimes", runtimes}, {"devices", json::array()},
                 {"selectors", json::array()}, {"settings", *settings}, {"skipped", skipped}};
    for (const auto& [device, selector] : targets) {
      if (!device.empty()) spec["devices"].push_back(device);
      else spec["selectors"].push_back(selector);
    }
    const int64_t id = store->CreateJob(who->subject, spec, tasks);
    Notify(tasks);
    SendJson(res, 201, JobDetail(*store->GetJob(id)));
  }

  // The job with its tasks and the Table 2 layout of its results so far.
  json JobDetail(const server::JobRow& job) {
    json body = JobJson(job);
    const auto tasks = store->ListJobTasks(job.id);
    std::map<int64_t, std::string> agent_of;
    body["tasks"] = json::array();
    for (const auto& task : tasks) {
      body["tasks"].push_back(TaskJson(task));
      agent_of[task.id] = task.agent_name;
    }
    // Columns are runtime (device as the server knows it), so two agents on one host differ.
    std::vector<BenchResult> results;
    for (const auto& [task_id, document] : store->JobResults(job.id)) {
      auto result = BenchResultFromJson(document);
      if (!result.ok()) continue;  // validated on upload; a document never fails here
      if (!agent_of[task_id].empty()) result->environment.hostname = agent_of[task_id];
      results.push_back(std::move(*result));
    }
    const LatencyTable table = BuildLatencyTable(results);
    body["table"] = {{"header", table.HeaderCells()},
                     {"rows", table.RowCells()},
                     {"note", kLatencyTableNote},
                     {"text", results.empty() ? std::string() : FormatLatencyTable(results, TableStyle::kText)}};
    // Paper D: the precisions of converted models side by side ("" when there are none).
    body["precision_table"] = {{"text", FormatPrecisionTable(results, TableStyle::kText)}};
    return body;
  }

  static ApiResult<int64_t> JobId(const httplib::Request& req) {
    try {
      return static_cast<int64_t>(std::stoll(req.matches[1]));
    } catch (const std::exception&) {
      return ApiError{404, "job " + std::string(req.matches[1]) + " not found"};
    }
  }

  // The job `req` names, when `who` may see it.
  ApiResult<server::JobRow> VisibleJob(const httplib::Request& req, const TokenRow& who) {
    auto id = JobId(req);
    if (!id.ok()) return id.error();
    store->ExpireLeases(options.max_attempts);
    auto job = store->GetJob(*id);
    if (!job || (who.kind != TokenKind::kAdmin && job->owner != who.subject)) {
      return ApiError{404, "job " + std::to_string(*id) + " not found"};
    }
    return *job;
  }

  void GetJob(const httplib::Request& req, httplib::Response& res) {
    auto who = Authenticate(req, {TokenKind::kAdmin, TokenKind::kUser});
    if (!who.ok()) return SendError(res, who.error());
    auto job = VisibleJob(req, *who);
    if (!job.ok()) return SendError(res, job.error());
    SendJson(res, 200, JobDetail(*job));
  }

  void ListJobs(const httplib::Request& req, httplib::Response& res) {
    auto who = Authenticate(req, {TokenKind::kAdmin, TokenKind::kUser});
    if (!who.ok()) return SendError(res, who.error());
    store->ExpireLeases(options.max_attempts);
    json jobs = json::array();
    for (const auto& job : store->ListJobs(who->kind == TokenKind::kAdmin ? "" : who->subject, 1000)) {
      jobs.push_back(JobJson(job));
    }
    SendJson(res, 200, {{"jobs", jobs}});
  }

  // Cancels the job's tasks that are not final yet.
  void CancelJob(const httplib::Request& req, httplib::Response& res) {
    auto who = Authenticate(req, {TokenKind::kAdmin, TokenKind::kUser});
    if (!who.ok()) return SendError(res, who.error());
    auto job = VisibleJob(req, *who);
    if (!job.ok()) return SendError(res, job.error());
    for (const auto& task : store->ListJobTasks(job->id)) {
      if (!server::IsFinalState(task.state)) (void)store->CancelTask(task.id);  // 409 = finished meanwhile
    }
    SendJson(res, 200, JobJson(*store->GetJob(job->id)));
  }

  // Users see their own tasks; the admin sees all.
  static bool CanSee(const TokenRow& who, const TaskRow& task) {
    return who.kind == TokenKind::kAdmin || task.owner == who.subject;
  }

  static ApiResult<int64_t> TaskId(const httplib::Request& req) {
    try {
      return static_cast<int64_t>(std::stoll(req.matches[1]));
    } catch (const std::exception&) {
      return ApiError{404, "task " + std::string(req.matches[1]) + " not found"};
    }
  }

  void ListTasks(const httplib::Request& req, httplib::Response& res) {
    auto who = Authenticate(req, {TokenKind::kAdmin, TokenKind::kUser});
    if (!who.ok()) return SendError(res, who.error());
    store->ExpireLeases(options.max_attempts);
    json tasks = json::array();
    for (const auto& task : store->ListTasks(1000)) {
      if (CanSee(*who, task)) tasks.push_back(TaskJson(task));
    }
    SendJson(res, 200, {{"tasks", tasks}});
  }

  void GetTask(const httplib::Request& req, httplib::Response& res) {
    auto who = Authenticate(req, {TokenKind::kAdmin, TokenKind::kUser});
    if (!who.ok()) return SendError(res, who.error());
    auto id = TaskId(req);
    if (!id.ok()) return SendError(res, id.error());
    store->ExpireLeases(options.max_attempts);
    auto task = store->GetTask(*id);
    if (!task || !CanSee(*who, *task)) return SendError(res, {404, "task " + std::to_string(*id) + " not found"});
    json body = TaskJson(*task);
    // A model the server converted for the task's runtime: where from, and the converter's report.
    auto conversion = store->FindConversionTo(task->model_sha256);
    body["conversion"] = conversion ? json{{"source_model_sha256", conversion->source_sha256},
                                           {"target", conversion->target},
                                           {"precision", conversion->precision},
                                           {"converter_version", conversion->converter_version},
                                           {"report", conversion->report}}
                                    : json(nullptr);
    auto result = store->GetResult(*id);
    body["result"] = result ? *result : json(nullptr);
    SendJson(res, 200, body);
  }

  void CancelTask(const httplib::Request& req, httplib::Response& res) {
    auto who = Authenticate(req, {TokenKind::kAdmin, TokenKind::kUser});
    if (!who.ok()) return SendError(res, who.error());
    auto id = TaskId(req);
    if (!id.ok()) return SendError(res, id.error());
    if (auto existing = store->GetTask(*id); existing && !CanSee(*who, *existing)) {
      return SendError(res, {404, "task " + std::to_string(*id) + " not found"});
    }
    auto task = store->CancelTask(*id);
    if (!task.ok()) return SendError(res, task.error());
    SendJson(res, 200, TaskJson(*task));
  }

  void ListDevices(const httplib::Request& req, httplib::Response& res) {
    auto who = Authenticate(req, {TokenKind::kAdmin, TokenKind::kUser});
    if (!who.ok()) return SendError(res, who.error());
    const int64_t online_ms = std::max<int64_t>(60, 3 * options.max_long_poll_seconds) * 1000;
    const int64_t now = server::NowMs();
    json devices = json::array();
    for (const auto& agent : store->ListAgents()) {
      devices.push_back({{"name", agent.name},
                         {"facts", agent.facts},
                         {"labels", agent.labels},
                         {"registered_at", agent.registered_at},
                         {"last_seen_at", agent.last_seen_at},
                         {"online", now - agent.last_seen_ms < online_ms}});
    }
    SendJson(res, 200, {{"devices", devices}});
  }

  // ---- agents --------------------------------------------------------------------------

  void RegisterAgent(const httplib::Request& req, httplib::Response& res) {
    auto who = Authenticate(req, {TokenKind::kRegistration, TokenKind::kAdmin});
    if (!who.ok()) return SendError(res, who.error());
    auto parsed = ParseObject(req, options.max_request_bytes);
    if (!parsed.ok()) return SendError(res, parsed.error());
    const json& body = *parsed;
    if (!body.contains("name") || !body["name"].is_string()) return SendError(res, WrongType("name", "a string"));
    const std::string name = body["name"].get<std::string>();
    if (!ValidName(name)) return SendError(res, BadName("name", name));
    if (!body.contains("facts") || !body["facts"].is_object()) return SendError(res, WrongType("facts", "an object"));
    const json& facts = body["facts"];
    if (facts.contains("runtimes")) {
      if (!facts["runtimes"].is_array()) return SendError(res, WrongType("facts.runtimes", "an array"));
      for (const auto& runtime : facts["runtimes"]) {
        if (!runtime.is_object() || !runtime.contains("name") || !runtime["name"].is_string()) {
          return SendError(res, WrongType("facts.runtimes[]", "an object with a string 'name'"));
        }
        if (!ValidName(runtime["name"].get<std::string>())) {
          return SendError(res, BadName("facts.runtimes[].name", runtime["name"].get<std::string>()));
        }
      }
    }
    json labels = json::object();
    if (body.contains("labels") && !body["labels"].is_null()) {
      if (auto error = CheckLabels(body["labels"], "labels")) return SendError(res, *error);
      labels = body["labels"];
    }
    const std::string secret = NewSecret();
    const int64_t id = store->RegisterAgent(name, facts, labels, Sha256Hex(secret));
    SendJson(res, 201, {{"agent_id", id}, {"name", name}, {"token", secret},
                        {"lease_seconds", options.lease_seconds}});
  }

  void Lease(const httplib::Request& req, httplib::Response& res) {
    auto agent = AuthenticateAgent(req, req.matches[1]);
    if (!agent.ok()) return SendError(res, agent.error());
    int wait_s = 0;
    if (req.has_param("wait_s")) {
      const std::string text = req.get_param_value("wait_s");
      std::size_t used = 0;
      try {
        wait_s = std::stoi(text, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != text.size() || wait_s < 0) {
        return SendError(res, {400, "query parameter 'wait_s' must be a non-negative integer"});
      }
    }
    wait_s = std::min(wait_s, options.max_long_poll_seconds);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_s);
    // Each waiting request holds a server thread: past the cap, answer at once (503) so that
    // heartbeats and results always find a free thread.
    LongPollSlot slot(*this, wait_s > 0);
    if (wait_s > 0 && !slot.held()) {
      res.set_header("Retry-After", "2");
      return SendError(res, {503, "too many agents are waiting for tasks (" + std::to_string(MaxLongPolls()) +
                                      "; raise --http-threads); retry later"});
    }
    // Expired leases are re-queued by the expiry thread (every 500 ms), which then wakes us.
    std::optional<server::NewTask> owed;  // a wake-up received here, passed on if another task is taken
    for (;;) {
      Waiter waiter{*agent};
      std::unique_lock lock(wake_mutex);
      const auto listed = waiters.insert(waiters.end(), &waiter);
      lock.unlock();
      auto task = store->LeaseTask(*agent, LeaseMs());
      lock.lock();
      if (!task && !stopping) {
        waiter.cv.wait_until(lock, deadline, [&] { return waiter.woken || stopping.load(); });
      }
      waiters.erase(listed);
      lock.unlock();
      if (waiter.woken_for) owed = waiter.woken_for;
      if (task) {
        // Woken for a task but taking another (or the same: one spare wake-up): pass it on.
        if (owed) Notify({*owed});
        auto model = store->FindModel(task->model_sha256);
        json body = TaskJson(*task);
        body["model"] = ModelJson(*model);
        body["lease_seconds"] = options.lease_seconds;
        auto image = images->Find(task->runtime, agent->facts.value("arch", ""));
        body["image"] = image ? json(*image) : json(nullptr);
        return SendJson(res, 200, {{"task", body}});
      }
      if (stopping || !waiter.woken) {
        res.status = 204;
        return;
      }
    }
  }

  void Heartbeat(const httplib::Request& req, httplib::Response& res) {
    auto agent = AuthenticateAgent(req);
    if (!agent.ok()) return SendError(res, agent.error());
    auto id = TaskId(req);
    if (!id.ok()) return SendError(res, id.error());
    auto task = store->Heartbeat(*id, agent->id, LeaseMs());
    if (!task.ok()) return SendError(res, task.error());
    SendJson(res, 200, TaskJson(*task));
  }

  void UploadResult(const httplib::Request& req, httplib::Response& res) {
    auto agent = AuthenticateAgent(req);
    if (!agent.ok()) return SendError(res, agent.error());
    auto id = TaskId(req);
    if (!id.ok()) return SendError(res, id.error());
    auto document = ParseObject(req, options.max_result_bytes);
    if (!document.ok()) return SendError(res, document.error());
    auto parsed = BenchResultFromJson(*document);
    if (!parsed.ok()) return SendError(res, {400, parsed.error().message});
    auto task = store->GetTask(*id);
    if (!task) return SendError(res, {404, "task " + std::to_string(*id) + " not found"});
    if (!parsed->model.sha256.empty() && parsed->model.sha256 != task->model_sha256) {
      return SendError(res, {400, "result is for model " + parsed->model.sha256 + ", task " +
                                      std::to_string(*id) + " is for " + task->model_sha256});
    }
    // A converted model: the result records where it came from and the accuracy cost.
    json record = *document;
    if (auto conversion = store->FindConversionTo(task->model_sha256)) {
      ConversionInfo info{"", conversion->source_sha256, conversion->target, conversion->precision,
                          conversion->converter_version, std::nullopt};
      if (auto source = store->FindModel(conversion->source_sha256)) info.source_model = source->name;
      if (conversion->report.contains("accuracy")) info.accuracy = AccuracyCostFromJson(conversion->report["accuracy"]);
      record["conversion"] = ToJson(info);
    }
    std::string state = "succeeded", error;
    if (parsed->failure) {
      state = parsed->failure->stage == "timeout" ? "timed_out" : "failed";
      error = parsed->failure->stage + ": " + parsed->failure->error.message;
    }
    auto stored = store->StoreResult(*id, agent->id, record, state, error);
    if (!stored.ok()) return SendError(res, stored.error());
    json body = TaskJson(*store->GetTask(*id));
    body["result"] = stored->first;
    body["stored"] = stored->second;
    SendJson(res, stored->second ? 201 : 200, body);
  }

  // ---- runtime images (images.h) --------------------------------------------------------

  // Any token may read the catalog (agents read it before registering); ?arch= filters.
  void ListImages(const httplib::Request& req, httplib::Response& res) {
    auto who = Authenticate(req, {TokenKind::kAdmin, TokenKind::kUser, TokenKind::kAgent, TokenKind::kRegistration});
    if (!who.ok()) return SendError(res, who.error());
    SendJson(res, 200, {{"images", images->ToJson(req.has_param("arch") ? req.get_param_value("arch") : "")}});
  }

  void AddImage(const httplib::Request& req, httplib::Response& res) {
    auto who = Authenticate(req, {TokenKind::kAdmin});
    if (!who.ok()) return SendError(res, who.error());
    auto body = ParseObject(req, options.max_request_bytes);
    if (!body.ok()) return SendError(res, body.error());
    for (const char* field : {"runtime", "arch", "image"}) {
      if (!body->contains(field) || !(*body)[field].is_string()) return SendError(res, WrongType(field, "a string"));
    }
    Status added = images->Add((*body)["runtime"], (*body)["arch"], (*body)["image"]);
    if (!added.ok()) {
      const int status = added.error().code == ErrorCode::kInvalidArgument ? 400 : 500;
      return SendError(res, {status, added.error().message});
    }
    SendJson(res, 201, {{"images", images->ToJson()}});
  }

  void Routes() {
    using R = const httplib::Request&;
    using W = httplib::Response&;
    http->Post("/v1/users", [this](R req, W res) { CreateUser(req, res); });
    http->Post("/v1/models", [this](R req, W res, const httplib::ContentReader& reader) { UploadModel(req, res, reader); });
    http->Get(R"(/v1/models/([0-9a-f]{64}))", [this](R req, W res) { DownloadModel(req, res); });
    http->Post("/v1/tasks", [this](R req, W res) { CreateTask(req, res); });
    http->Get("/v1/tasks", [this](R req, W res) { ListTasks(req, res); });
    http->Get(R"(/v1/tasks/(\d+))", [this](R req, W res) { GetTask(req, res); });
    http->Post(R"(/v1/tasks/(\d+)/cancel)", [this](R req, W res) { CancelTask(req, res); });
    http->Post(R"(/v1/tasks/(\d+)/heartbeat)", [this](R req, W res) { Heartbeat(req, res); });
    http->Post(R"(/v1/tasks/(\d+)/result)", [this](R req, W res) { UploadResult(req, res); });
    http->Post("/v1/jobs", [this](R req, W res) { CreateJob(req, res); });
    http->Get("/v1/jobs", [this](R req, W res) { ListJobs(req, res); });
    http->Get(R"(/v1/jobs/(\d+))", [this](R req, W res) { GetJob(req, res); });
    http->Post(R"(/v1/jobs/(\d+)/cancel)", [this](R req, W res) { CancelJob(req, res); });
    http->Get("/v1/devices", [this](R req, W res) { ListDevices(req, res); });
    http->Post("/v1/agents", [this](R req, W res) { RegisterAgent(req, res); });
    http->Post(R"(/v1/agents/([^/]+)/lease)", [this](R req, W res) { Lease(req, res); });
    http->Get("/v1/images", [this](R req, W res) { ListImages(req, res); });
    http->Post("/v1/images", [this](R req, W res) { AddImage(req, res); });
    http->Get("/v1/health", [](R, W res) { SendJson(res, 200, {{"status", "ok"}}); });
    // Bodies over the limits are refused from their Content-Length, before they are read
    // (ParseObject checks the size of bodies sent without one).
    http->set_pre_routing_handler([this](R req, W res) {
      if (!req.has_header("Content-Length")) return httplib::Server::HandlerResponse::Unhandled;
      int64_t length = 0;
      try {
        length = std::stoll(req.get_header_value("Content-Length"));
      } catch (const std::exception&) {
        SendError(res, {400, "bad Content-Length header"});
        return httplib::Server::HandlerResponse::Handled;
      }
      const bool model = req.method == "POST" && req.path == "/v1/models";
      const bool result = req.method == "POST" && std::regex_match(req.path, std::regex(R"(/v1/tasks/\d+/result)"));
      const int64_t limit = model ? options.max_model_bytes : result ? options.max_result_bytes : options.max_request_bytes;
      if (length <= limit) return httplib::Server::HandlerResponse::Unhandled;
      SendError(res, TooLarge(length, limit, model ? "model" : result ? "result document" : "request body"));
      res.set_header("Connection", "close");  // the unread body must not be taken for a request
      return httplib::Server::HandlerResponse::Handled;
    });
    http->set_error_handler([](R req, W res) {
      if (!res.body.empty()) return;
      if (res.status == 404) {
        SendJson(res, 404, {{"error", "no such endpoint: " + req.method + " " + req.path}});
      } else if (res.status >= 400) {
        SendJson(res, res.status, {{"error", "HTTP " + std::to_string(res.status)}});
      }
    });
    http->set_exception_handler([](R, W res, std::exception_ptr error) {
      std::string message = "internal error";
      try {
        if (error) std::rethrow_exception(error);
      } catch (const std::exception& e) {
        message += std::string(": ") + e.what();
      } catch (...) {
      }
      SendJson(res, 500, {{"error", message}});
    });
  }
};

EvaluationServer::EvaluationServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

EvaluationServer::~EvaluationServer() {
  Stop();
  if (impl_->expiry_thread.joinable()) impl_->expiry_thread.join();
}

Expected<std::unique_ptr<EvaluationServer>> EvaluationServer::Start(const ServerOptions& options) {
  if (options.data_dir.empty()) return InvalidArgument("--data DIR is required");
  if (options.lease_seconds < 1) return InvalidArgument("--lease-seconds must be at least 1");
  if (options.max_attempts < 1) return InvalidArgument("--max-attempts must be at least 1");
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->models_dir = options.data_dir + "/models";
  std::error_code error;
  fs::create_directories(impl->models_dir, error);
  if (error) return InvalidArgument(impl->models_dir + ": cannot create (" + error.message() + ")");
  auto store = server::Store::Open(options.data_dir + "/edgebench.db");
  if (!store.ok()) return RuntimeError(store.error().message);
  impl->store = std::move(store.value());
  EB_RETURN_IF_ERROR(impl->InitializeTokens());
  auto images = server::ImageCatalog::Open(options.data_dir, options.images);
  if (!images.ok()) return images.error();
  impl->images = std::move(images.value());
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return InvalidArgument("give both --tls-cert and --tls-key, or neither");
  }
  if (options.http_threads < kReservedHttpThreads + 1) {
    return InvalidArgument("--http-threads must be at least " + std::to_string(kReservedHttpThreads + 1));
  }
  if (options.max_request_bytes < 1024) return InvalidArgument("--max-request-kb must be at least 1");
  if (!options.tls_cert_file.empty()) {
    for (const std::string& file : {options.tls_cert_file, options.tls_key_file}) {
      if (!fs::is_regular_file(file)) return NotFound(file + ": no such file");
    }
    auto ssl = std::make_unique<httplib::SSLServer>(options.tls_cert_file.c_str(), options.tls_key_file.c_str());
    if (!ssl->is_valid()) {
      return InvalidArgument(options.tls_cert_file + ", " + options.tls_key_file +
                             ": cannot load the TLS certificate and key (PEM, matching pair)");
    }
    impl->http = std::move(ssl);
  } else {
    impl->http = std::make_unique<httplib::Server>();
  }
  const int threads = options.http_threads;
  impl->http->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  impl->http->set_payload_max_length(
      static_cast<size_t>(std::max({options.max_model_bytes, options.max_result_bytes, options.max_request_bytes})));
  impl->Routes();
  if (options.port == 0) {
    impl->port = impl->http->bind_to_any_port(options.host);
    if (impl->port <= 0) return RuntimeError("cannot listen on " + options.host + " (any port)");
  } else {
    if (!impl->http->bind_to_port(options.host, options.port)) {
      return RuntimeError("cannot listen on " + options.host + ":" + std::to_string(options.port) +
                          " (in use or not a local address)");
    }
    impl->port = options.port;
  }
  Impl* raw = impl.get();
  raw->expiry_thread = std::thread([raw] {
    while (!raw->stopping) {
      if (raw->store->ExpireLeases(raw->options.max_attempts) > 0) raw->Notify();
      std::unique_lock lock(raw->wake_mutex);
      raw->stop_cv.wait_for(lock, std::chrono::milliseconds(500), [raw] { return raw->stopping.load(); });
    }
  });
  return std::unique_ptr<EvaluationServer>(new EvaluationServer(std::move(impl)));
}

int EvaluationServer::port() const { return impl_->port; }

void EvaluationServer::Serve() { impl_->http->listen_after_bind(); }

bool EvaluationServer::tls() const { return !impl_->options.tls_cert_file.empty(); }

void EvaluationServer::Stop() {
  impl_->stopping = true;
  impl_->Notify();
  impl_->http->stop();
}

}  // namespace edgebench
