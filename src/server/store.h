// The server's durable state: tokens, models, agents, tasks and results, in SQLite (DIR/edgebench.db,
// the default) or PostgreSQL (--store postgresql://..., which several server replicas may share).
// Every method is one transaction (a lease: two, the agent seen and the task handed out) on a
// connection of its own (a small pool), so a check and the
// update it guards (lease a task, accept a result) cannot interleave with another request: SQLite
// has one connection; on PostgreSQL the rows a method changes are locked (leases skip tasks
// another request or replica is leasing).
// Thread-safe.
#pragma once

#include <compare>
#include <condition_variable>
#include <functional>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>


namespace edgebench::server {

class Connection;
class Listener;

// An answer the HTTP layer sends as {"error": message} with `status`.
struct ApiError {
  int status = 500;
  std::string message;
};

// Value or ApiError (the HTTP face of status.h's Expected).
template <typename T>
class [[nodiscard]] ApiResult {
 public:
  ApiResult(T value) : value_(std::move(value)) {}             // NOLINT
  ApiResult(ApiError error) : value_(std::move(error)) {}      // NOLINT
  bool ok() const { return std::holds_alternative<T>(value_); }
  const T& value() const { return std::get<T>(value_); }
  T& value() { return std::get<T>(value_); }
  const T* operator->() const { return &value(); }
  const T& operator*() const { return value(); }
  const ApiError& error() const { return std::get<ApiError>(value_); }

 private:
  std::variant<T, ApiError> value_;
};

// 2: jobs; 3: conversions; 4: conversion precision; 5: task state converting; 6: repeated results;
// 7: comparison tasks; 8: device health (health, maintenance, health checks); 9: conversion leases
inline constexpr int kSchemaVersion = 9;

enum class TokenKind { kAdmin, kUser, kRegistration, kAgent };
std::string_view TokenKindName(TokenKind kind);

struct TokenRow {
  TokenKind kind = TokenKind::kUser;
  std::string subject;  // user name, agent name, or "registration"
};

struct ModelRow {
  std::string sha256;
  int64_t size_bytes = 0;
  std::string format;
  std::string name;
  std::string created_at;
};

// A model the server converted for a runtime that cannot read the submitted format (
// the server converts, the agent runs the result). Keyed by (source, target, precision, converter
// version).
struct ConversionRow {
  std::string source_sha256, target, precision, converter_version, converted_sha256;
  nlohmann::json report;  // edgebench.convert/2 (docs/convert.md)
};

struct AgentRow {
  int64_t id = 0;
  std::string name;
  nlohmann::json facts;   // {arch, cpu_model, cores, memory_bytes, runtimes: [{name, version}]}
  nlohmann::json labels;  // {key: value}
  std::string registered_at;
  std::string last_seen_at;
  int64_t last_seen_ms = 0;
  // Health (LAVA's model): "bad" after a failed health check, until an admin resets it; in
  // maintenance while an admin says so. Either takes the device out of scheduling.
  std::string health = "good";
  std::string health_reason;  // why it is bad
  bool maintenance = false;
  bool busy = false;  // holds a task (assigned or running)
};

// A health check: a task on a known model that the server gives a device on one of its
// runtimes; its verdict ("pending", "passed", "failed") and why.
struct HealthCheckRow {
  int64_t task_id = 0;
  std::string device, runtime, created_at, finished_at;
  std::string verdict = "pending";
  nlohmann::json detail;  // {reason, p50_ms, baseline_p50_ms, verification_passed}
};

// A conversion of a model, the unit of the conversion stage: tasks waiting for the same key
// wait for one conversion.
struct ConversionKey {
  std::string source_sha256, target, precision;
  auto operator<=>(const ConversionKey&) const = default;
};

struct TaskRow {
  int64_t id = 0;
  std::string model_sha256;  // while converting: the model converted from
  std::string model_format;  // of model_sha256
  std::string model_name;    // of model_sha256: the uploaded file's name
  std::string runtime;
  std::string device;        // "" = any agent matching the selector
  nlohmann::json selector;   // {label: value}
  nlohmann::json settings;
  // converting, queued, assigned, running, succeeded, failed, cancelled, timed_out
  std::string state;
  int attempts = 0;          // lease attempts: times the task was handed to an agent
  std::optional<int64_t> agent_id;
  std::string agent_name;
  int64_t lease_deadline_ms = 0;  // unix ms; 0 = no lease
  std::string created_at, assigned_at, started_at, finished_at;
  std::string error;              // why it failed/timed out/was cancelled ("" = none)
  std::string owner;              // token subject that created it
  bool has_result = false;
  // Runs repeated when their result came back INVALID (the `repeat_invalid` setting, or the
  // server's --repeat-invalid when absent), and the result documents received so far: the
  // repeated ones and the task's result.
  int repeat_invalid = 0;
  int result_attempts = 0;
  std::optional<int64_t> job_id;  // the job that created it, if any
  std::optional<ConversionKey> conversion;  // in state converting: the conversion it waits for
  // A comparison task (`edgebench compare` on the agent) when set: {"models": [sha256, ...] (the
  // variants' models after model_sha256), "threads": [n, ...], "round_ms": ms}; null for a bench.
  nlohmann::json compare;
};

struct NewTask {
  std::string model_sha256, runtime, device, owner;
  nlohmann::json selector = nlohmann::json::object();
  nlohmann::json settings = nlohmann::json::object();
  int repeat_invalid = 0;  // TaskRow::repeat_invalid
  // Set: the task starts in state converting and runs model_sha256's conversion to it.
  std::optional<ConversionKey> conversion;
  nlohmann::json compare;  // as TaskRow::compare
};

// Which tasks a listing holds (GET /v1/tasks): newest first.
struct TaskQuery {
  int limit = 100;
  std::optional<int64_t> before_id;  // only ids below (the page cursor)
  std::string owner;                 // "" = every owner's
  std::string state;                 // "" = any
  std::optional<int64_t> job_id;
};

// One result document a task received: a repeated (INVALID) run's or the task's result.
struct ResultAttempt {
  int attempt = 0;  // 1, 2, ... in upload order
  std::string agent_name;
  std::string uploaded_at;
  bool is_result = false;  // the task's result (the last attempt of a finished task)
  nlohmann::json document;
};

// A job: many tasks created at once (models x runtimes x targets, shared settings).
struct JobRow {
  int64_t id = 0;
  std::string owner;
  nlohmann::json request;  // the accepted request, as given
  std::string created_at;
  std::map<std::string, int> state_counts;  // task state -> tasks in it
  int tasks = 0;
};

class Store {
 public:
  // `location`: a SQLite file path or a postgresql:// URL (database.h). Creates the schema or
  // migrates it to kSchemaVersion.
  static ApiResult<std::unique_ptr<Store>> Open(const std::string& location);
  ~Store();

  // Tokens are stored as the hex SHA-256 of the secret.
  void AddToken(const std::string& token_sha256, TokenKind kind, const std::string& subject);
  bool HasToken(TokenKind kind);
  // A token and, for an agent token, its agent (nullopt when that is not registered), read in
  // one statement and then kept for `token_cache_ms` (SetTokenCacheMs; 0, the default: not
  // kept). A kept answer may be that old: facts and labels are as of then, last_seen_ms, busy,
  // health and maintenance too (LeaseTask reads health and maintenance itself). Forgotten at
  // once when an agent registers on this store or, on PostgreSQL, on another that announces
  // it; a replaced token is accepted for at most `token_cache_ms` more where an announcement
  // is lost.
  struct Credential {
    TokenRow token;
    std::optional<AgentRow> agent;
  };
  std::optional<Credential> FindCredential(const std::string& token_sha256);
  void SetTokenCacheMs(int64_t token_cache_ms);

  void AddModel(const ModelRow& model);  // no-op when the sha256 is already stored
  // Models never change once stored: one found is kept (a lease answer names its model).
  std::optional<ModelRow> FindModel(const std::string& sha256);

  void AddConversion(const ConversionRow& conversion);  // no-op when the key is already stored
  std::optional<ConversionRow> FindConversion(const std::string& source_sha256, const std::string& target,
                                              const std::string& precision,
                                              const std::string& converter_version);
  // The conversion that produced the model `converted_sha256`, if it was one.
  std::optional<ConversionRow> FindConversionTo(const std::string& converted_sha256);

  // A user token for `name`; 409 when a user (or the admin) has that name already: owners are names.
  std::optional<ApiError> AddUser(const std::string& token_sha256, const std::string& name);

  // Creates the agent called `name` with the token, or, when `may_replace` (the caller holds the
  // agent's current token, or is the admin), updates it and replaces its token; an existing
  // name without `may_replace` is a 409. One transaction: of racing registrations of a new
  // name, one creates it and the others get 409.
  ApiResult<int64_t> RegisterAgent(const std::string& name, const nlohmann::json& facts,
                                   const nlohmann::json& labels, const std::string& token_sha256,
                                   bool may_replace);
  std::optional<AgentRow> FindAgent(const std::string& name);
  // By name; names after `after_name` when not empty; at most `limit` (0 = all).
  std::vector<AgentRow> ListAgents(const std::string& after_name = "", int limit = 0);
  // Every agent as it registered (facts, labels; last_seen_ms as of then), shared and cached
  // until the next RegisterAgent: checking a new task against 1,000 agents reads none of them.
  std::shared_ptr<const std::vector<AgentRow>> RegisteredAgents();

  int64_t CreateTask(const NewTask& task);
  std::optional<TaskRow> GetTask(int64_t id);
  // Creates the job and all its tasks in one transaction (all or none); returns the job id.
  int64_t CreateJob(const std::string& owner, const nlohmann::json& request,
                    const std::vector<NewTask>& tasks);
  std::optional<JobRow> GetJob(int64_t id);
  // Newest first; `owner` "" = every owner's; ids below `before_id` when set.
  std::vector<JobRow> ListJobs(const std::string& owner, int limit, std::optional<int64_t> before_id = std::nullopt);
  std::vector<TaskRow> ListJobTasks(int64_t job_id);  // in creation order
  // The stored result documents of the job's tasks: {task id, document}, in task order.
  std::vector<std::pair<int64_t, nlohmann::json>> JobResults(int64_t job_id);
  // The tasks `query` selects: newest first, at most query.limit.
  std::vector<TaskRow> ListTasks(const TaskQuery& query);
  // A conversion is one server's at a time: takes `key` for this store until now + `lease_ms`
  // when tasks wait for it and no other server's lease on it runs; false otherwise.
  bool ClaimConversion(const ConversionKey& key, int64_t lease_ms);
  // Extends every conversion lease this store holds to now + `lease_ms` (while the server lives).
  void RenewConversions(int64_t lease_ms);
  // The conversions that tasks wait for and no server holds (none claimed them yet, or the
  // lease of a server that died ran out), each once, oldest task first.
  std::vector<ConversionKey> UnclaimedConversions();
  // Ends the conversion stage of the tasks waiting for `key`: with `converted_sha256` they run
  // that model and are queued, without they fail with `error`; the conversion's lease ends.
  // Returns the tasks changed.
  std::vector<TaskRow> FinishConversion(const ConversionKey& key, const std::string& converted_sha256,
                                        const std::string& error);
  // Notes the agent seen, then, unless it is bad or in maintenance, hands the oldest queued
  // task that it can run (scheduler.h's CanRun) to it (state assigned, attempts + 1, lease
  // until now + lease_ms), in one statement; nullopt when none.
  std::optional<TaskRow> LeaseTask(const AgentRow& agent, int64_t lease_ms);
  // The agent holding the task reports it running / still alive: renews the lease. 409 when the
  // agent no longer holds it (cancelled, expired and re-queued, ...), 404 when unknown.
  ApiResult<TaskRow> Heartbeat(int64_t task_id, int64_t agent_id, int64_t lease_ms);
  // Stores the result document of a task held by `agent_id` and moves the task to `final_state`,
  // except that an `invalid` document (a completed run whose verdict is INVALID) of a task with
  // repeats left (fewer than repeat_invalid runs repeated so far) is kept as a repeated result
  // and the task is queued again (lease cleared) for any agent to run. The same agent uploading again gets
  // the stored document, not stored; others get 409.
  struct StoredResult {
    nlohmann::json document;  // as stored
    bool stored = false;      // by this call
    TaskRow task;             // after it
  };
  ApiResult<StoredResult> StoreResult(int64_t task_id, int64_t agent_id, const nlohmann::json& document, bool invalid,
                                      const std::string& final_state, const std::string& error);
  std::optional<nlohmann::json> GetResult(int64_t task_id);
  // Every result document of the task, oldest first: the repeated runs', then its result.
  std::vector<ResultAttempt> ResultAttempts(int64_t task_id);
  int CountResults(int64_t task_id);
  ApiResult<TaskRow> CancelTask(int64_t task_id);
  // Re-queues tasks whose lease ran out (failed once `max_attempts` leases ended without a
  // result: leases of repeated runs do not count); returns how many changed.
  int ExpireLeases(int max_attempts);
  // True when the agent holds (assigned/running) a task on this model, or comparing it.
  bool AgentHoldsModel(int64_t agent_id, const std::string& sha256);

  // ---- device health ----
  // Puts the device in maintenance (or takes it out); nullopt when unknown.
  std::optional<AgentRow> SetMaintenance(const std::string& name, bool on);
  // An admin's reset of a bad device: good again, back in scheduling; nullopt when unknown.
  std::optional<AgentRow> ResetHealth(const std::string& name);
  // Creates the health checks that are due: for each device that is good, not in maintenance,
  // seen since `seen_since_ms` and without a health check created since `due_since_ms`, the
  // tasks `checks_for(device)` (one per runtime). One server at a time (the others return 0).
  int ScheduleHealthChecks(int64_t seen_since_ms, int64_t due_since_ms,
                           const std::function<std::vector<NewTask>(const AgentRow&)>& checks_for);
  // The health check that task `task_id` is, if it is one.
  std::optional<HealthCheckRow> FindHealthCheck(int64_t task_id);
  // Records the verdict of a pending check; a failed one marks its device bad (`detail.reason`).
  void FinishHealthCheck(int64_t task_id, bool passed, const nlohmann::json& detail);
  // The device's health checks, newest first; passed ones of `runtime` only when given.
  std::vector<HealthCheckRow> HealthChecks(const std::string& device, const std::string& runtime_passed, int limit);

  // Calls `handler` when another server sharing the database (PostgreSQL) queued tasks: created,
  // converted or re-queued, with their ids, or none when it does not say which (wake every
  // waiting lease). Runs on a thread of the store's own until WatchQueuedTasks(nullptr) or the
  // store's end; on SQLite there is no other server and it is never called.
  void WatchQueuedTasks(std::function<void(const std::vector<int64_t>& ids)> handler);

 private:
  // A connection of the pool for one method: an idle one, a new one while fewer than the pool's
  // size are open, else the first returned. SQLite's pool is its one connection (its writes
  // are serial anyway); PostgreSQL's lets requests' transactions run side by side.
  class Borrowed {
   public:
    explicit Borrowed(Store& store);
    ~Borrowed();
    Borrowed(const Borrowed&) = delete;
    Borrowed& operator=(const Borrowed&) = delete;
    operator Connection*() const { return connection_.get(); }  // NOLINT: used where a Connection* is
    Connection* operator->() const { return connection_.get(); }

   private:
    Store& store_;
    std::unique_ptr<Connection> connection_;
  };

  Store(std::string location, std::unique_ptr<Connection> connection);
  // Tells the other servers on the database that tasks were queued (none listed: unknown), when
  // `db`'s transaction commits.
  void AnnounceQueued(Connection* db, const std::vector<int64_t>& ids);
  void Notified(const std::string& channel, const std::string& payload);

  const std::string location_;
  const bool postgres_;
  const int pool_size_;
  std::mutex pool_mutex_;  // the pool: idle_, open_
  std::condition_variable pool_returned_;
  std::vector<std::unique_ptr<Connection>> idle_;
  int open_ = 0;
  const std::string replica_;  // this store's id in its announcements, to ignore its own
  std::mutex mutex_;           // the members below
  std::function<void(const std::vector<int64_t>&)> queued_handler_;
  std::shared_ptr<const std::vector<AgentRow>> registered_agents_;  // RegisteredAgents(); null = stale
  uint64_t registrations_ = 0;  // RegisterAgent calls, so a list read before one is not cached
  int64_t token_cache_ms_ = 0;
  // FindCredential's answers: token sha256 -> {credential, unix ms until which it is kept}.
  std::unordered_map<std::string, std::pair<Credential, int64_t>> credentials_;
  std::unordered_map<std::string, ModelRow> models_;  // FindModel's: sha256 -> row
  std::unique_ptr<Listener> listener_;  // last: its thread uses the members above
};

// succeeded, failed, cancelled, timed_out: a task in one never changes again.
bool IsFinalState(const std::string& state);
// Every task state (TaskRow::state), and whether `state` is one.
const std::vector<std::string>& TaskStates();
bool IsTaskState(const std::string& state);

// Current time as unix milliseconds and as ISO 8601 UTC ("2026-11-22T04:48:29.123Z").
int64_t NowMs();
std::string IsoUtc(int64_t unix_ms);

}  // namespace edgebench::server
