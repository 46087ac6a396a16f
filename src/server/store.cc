#include "store.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <ctime>
#include <iterator>
#include <limits>
#include <stdexcept>

#include "database.h"
#include "edgebench/text.h"
#include "tokens.h"

namespace edgebench::server {
namespace {

// kMigrations[v - 1] takes a database from schema version v to v + 1. A new database of either
// kind starts at version 7 (kNewSchema) and runs the migrations from there; those before 7 take
// the SQLite files of older servers to it (version 1 had no jobs, conversions or repeated
// results, and fewer task columns). They run with foreign keys off, so that a table can be
// rebuilt (5: a CHECK constraint changes).
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY,
  owner TEXT NOT NULL,
  request TEXT NOT NULL,
  created_at TEXT NOT NULL);
ALTER TABLE tasks ADD COLUMN job_id INTEGER REFERENCES jobs (id);
CREATE INDEX tasks_by_job ON tasks (job_id, id);
)sql",
    R"sql(
CREATE TABLE conversions (
  source_sha256 TEXT NOT NULL REFERENCES models (sha256),
  target TEXT NOT NULL,
  converter_version TEXT NOT NULL,
  converted_sha256 TEXT NOT NULL REFERENCES models (sha256),
  report TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (source_sha256, target, converter_version));
CREATE INDEX conversions_by_result ON conversions (converted_sha256);
)sql",
    R"sql(
CREATE TABLE conversions_v4 (
  source_sha256 TEXT NOT NULL REFERENCES models (sha256),
  target TEXT NOT NULL,
  precision TEXT NOT NULL,
  converter_version TEXT NOT NULL,
  converted_sha256 TEXT NOT NULL REFERENCES models (sha256),
  report TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (source_sha256, target, precision, converter_version));
INSERT INTO conversions_v4 SELECT source_sha256, target, 'fp32', converter_version, converted_sha256, report,
  created_at FROM conversions;
DROP TABLE conversions;
ALTER TABLE conversions_v4 RENAME TO conversions;
CREATE INDEX conversions_by_result ON conversions (converted_sha256);
)sql",
    R"sql(
CREATE TABLE tasks_v5 (
  id INTEGER PRIMARY KEY,
  model_sha256 TEXT NOT NULL REFERENCES models (sha256),
  runtime TEXT NOT NULL,
  device TEXT NOT NULL,
  selector TEXT NOT NULL,
  settings TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('converting', 'queued', 'assigned', 'running', 'succeeded', 'failed',
                                       'cancelled', 'timed_out')),
  attempts INTEGER NOT NULL DEFAULT 0,
  agent_id INTEGER REFERENCES agents (id),
  lease_deadline_ms INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  assigned_at TEXT NOT NULL DEFAULT '',
  started_at TEXT NOT NULL DEFAULT '',
  finished_at TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '',
  owner TEXT NOT NULL,
  job_id INTEGER REFERENCES jobs (id),
  conversion_target TEXT NOT NULL DEFAULT '',
  conversion_precision TEXT NOT NULL DEFAULT '');
INSERT INTO tasks_v5 (id, model_sha256, runtime, device, selector, settings, state, attempts, agent_id,
  lease_deadline_ms, created_at, assigned_at, started_at, finished_at, error, owner, job_id)
  SELECT id, model_sha256, runtime, device, selector, settings, state, attempts, agent_id, lease_deadline_ms,
  created_at, assigned_at, started_at, finished_at, error, owner, job_id FROM tasks;
DROP TABLE tasks;
ALTER TABLE tasks_v5 RENAME TO tasks;
CREATE INDEX tasks_by_state ON tasks (state, id);
CREATE INDEX tasks_by_job ON tasks (job_id, id);
CREATE INDEX tasks_by_conversion ON tasks (model_sha256, conversion_target, conversion_precision)
  WHERE state = 'converting';
)sql",
    // 6: runs repeated because their result came back INVALID keep their documents here (the
    // task's result stays in results); lease_attempt is tasks.attempts when it was uploaded.
    R"sql(
ALTER TABLE tasks ADD COLUMN repeat_invalid INTEGER NOT NULL DEFAULT 0;
CREATE TABLE repeated_results (
  task_id INTEGER NOT NULL REFERENCES tasks (id),
  attempt INTEGER NOT NULL,
  agent_id INTEGER NOT NULL REFERENCES agents (id),
  lease_attempt INTEGER NOT NULL,
  document TEXT NOT NULL,
  uploaded_at TEXT NOT NULL,
  PRIMARY KEY (task_id, attempt));
)sql",
    // 7: a comparison task's variants (TaskRow::compare); '' for a bench.
    R"sql(
ALTER TABLE tasks ADD COLUMN compare TEXT NOT NULL DEFAULT '';
)sql",
    // 8: device health (AgentRow::health, maintenance) and the health checks (HealthCheckRow).
    R"sql(
ALTER TABLE agents ADD COLUMN health TEXT NOT NULL DEFAULT 'good';
ALTER TABLE agents ADD COLUMN health_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE agents ADD COLUMN maintenance INTEGER NOT NULL DEFAULT 0;
CREATE TABLE health_checks (
  task_id BIGINT PRIMARY KEY REFERENCES tasks (id),
  agent_id BIGINT NOT NULL REFERENCES agents (id),
  runtime TEXT NOT NULL,
  created_at TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  finished_at TEXT NOT NULL DEFAULT '',
  verdict TEXT NOT NULL DEFAULT 'pending',
  detail TEXT NOT NULL DEFAULT '{}');
CREATE INDEX health_checks_by_agent ON health_checks (agent_id, created_ms);
)sql",
    // 9: the tasks an agent holds, found without reading every held task (an agent's busy flag,
    // AgentHoldsModel); a conversion held by one server at a time, until its lease runs out
    // (holder: the store's replica id; renewed while the server lives).
    R"sql(
CREATE INDEX tasks_by_agent ON tasks (agent_id) WHERE state IN ('assigned', 'running');
CREATE TABLE conversion_leases (
  source_sha256 TEXT NOT NULL,
  target TEXT NOT NULL,
  precision TEXT NOT NULL,
  holder TEXT NOT NULL,
  deadline_ms BIGINT NOT NULL,
  PRIMARY KEY (source_sha256, target, precision));
)sql",
};
static_assert(std::size(kMigrations) == kSchemaVersion - 1);

// The schema at version kNewSchemaVersion, that of a new database of either kind, written in
// PostgreSQL's types; NewSchema() gives it in the database's dialect.
constexpr int kNewSchemaVersion = 7;
constexpr const char* kNewSchema = R"sql(
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE tokens (
  sha256 TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('admin', 'user', 'registration', 'agent')),
  subject TEXT NOT NULL,
  created_at TEXT NOT NULL);
CREATE TABLE models (
  sha256 TEXT PRIMARY KEY,
  size_bytes BIGINT NOT NULL,
  format TEXT NOT NULL,
  name TEXT NOT NULL,
  created_at TEXT NOT NULL);
CREATE TABLE agents (
  id BIGSERIAL PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  facts TEXT NOT NULL,
  labels TEXT NOT NULL,
  registered_at TEXT NOT NULL,
  last_seen_ms BIGINT NOT NULL);
CREATE TABLE jobs (
  id BIGSERIAL PRIMARY KEY,
  owner TEXT NOT NULL,
  request TEXT NOT NULL,
  created_at TEXT NOT NULL);
CREATE TABLE tasks (
  id BIGSERIAL PRIMARY KEY,
  model_sha256 TEXT NOT NULL REFERENCES models (sha256),
  runtime TEXT NOT NULL,
  device TEXT NOT NULL,
  selector TEXT NOT NULL,
  settings TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('converting', 'queued', 'assigned', 'running', 'succeeded', 'failed',
                                       'cancelled', 'timed_out')),
  attempts INTEGER NOT NULL DEFAULT 0,
  agent_id BIGINT REFERENCES agents (id),
  lease_deadline_ms BIGINT NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  assigned_at TEXT NOT NULL DEFAULT '',
  started_at TEXT NOT NULL DEFAULT '',
  finished_at TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '',
  owner TEXT NOT NULL,
  job_id BIGINT REFERENCES jobs (id),
  conversion_target TEXT NOT NULL DEFAULT '',
  conversion_precision TEXT NOT NULL DEFAULT '',
  repeat_invalid INTEGER NOT NULL DEFAULT 0,
  compare TEXT NOT NULL DEFAULT '');
CREATE INDEX tasks_by_state ON tasks (state, id);
CREATE INDEX tasks_by_job ON tasks (job_id, id);
CREATE INDEX tasks_by_conversion ON tasks (model_sha256, conversion_target, conversion_precision)
  WHERE state = 'converting';
CREATE TABLE results (
  task_id BIGINT PRIMARY KEY REFERENCES tasks (id),
  agent_id BIGINT NOT NULL REFERENCES agents (id),
  document TEXT NOT NULL,
  uploaded_at TEXT NOT NULL);
CREATE TABLE conversions (
  source_sha256 TEXT NOT NULL REFERENCES models (sha256),
  target TEXT NOT NULL,
  precision TEXT NOT NULL,
  converter_version TEXT NOT NULL,
  converted_sha256 TEXT NOT NULL REFERENCES models (sha256),
  report TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (source_sha256, target, precision, converter_version));
CREATE INDEX conversions_by_result ON conversions (converted_sha256);
CREATE TABLE repeated_results (
  task_id BIGINT NOT NULL REFERENCES tasks (id),
  attempt INTEGER NOT NULL,
  agent_id BIGINT NOT NULL REFERENCES agents (id),
  lease_attempt INTEGER NOT NULL,
  document TEXT NOT NULL,
  uploaded_at TEXT NOT NULL,
  PRIMARY KEY (task_id, attempt));
)sql";

// SQLite's row ids are its INTEGER PRIMARY KEY columns (PostgreSQL's: sequences, BIGSERIAL);
// every other type of kNewSchema reads the same in both.
std::string NewSchema(bool postgres) {
  std::string schema = kNewSchema;
  if (postgres) return schema;
  for (const std::string serial : {"BIGSERIAL PRIMARY KEY", "BIGINT PRIMARY KEY"}) {
    for (size_t at; (at = schema.find(serial)) != std::string::npos;) {
      schema.replace(at, serial.size(), "INTEGER PRIMARY KEY");
    }
  }
  return schema;
}

// Transaction locks (PostgreSQL advisory locks; replicas share them).
constexpr int64_t kMigrationLock = 0x65620001;
constexpr int64_t kExpiryLock = 0x65620002;
constexpr int64_t kHealthLock = 0x65620003;

// Notification channels between servers on one PostgreSQL database; payload "REPLICA[ ID,ID...]".
constexpr const char* kTasksChannel = "edgebench_tasks";    // tasks queued (no ids: unknown which)
constexpr const char* kAgentsChannel = "edgebench_agents";  // an agent registered
constexpr size_t kMaxNotifyBytes = 7000;                    // PostgreSQL's payload limit is 8000

// A task's columns in ReadTask's order, of the tasks row called `row`: the select list of a
// SELECT from tasks and the RETURNING list of an UPDATE of tasks.
std::string TaskFields(const std::string& row) {
  std::string fields =
      "@.id, @.model_sha256, @.runtime, @.device, @.selector, @.settings, @.state, @.attempts, @.agent_id, "
      "COALESCE((SELECT a.name FROM agents a WHERE a.id = @.agent_id), ''), @.lease_deadline_ms, @.created_at, "
      "@.assigned_at, @.started_at, @.finished_at, @.error, @.owner, "
      "EXISTS (SELECT 1 FROM results r WHERE r.task_id = @.id), @.job_id, "
      "COALESCE((SELECT m.format FROM models m WHERE m.sha256 = @.model_sha256), ''), "
      "@.conversion_target, @.conversion_precision, @.repeat_invalid, "
      "(SELECT COUNT(*) FROM repeated_results rr WHERE rr.task_id = @.id), @.compare, "
      "COALESCE((SELECT m.name FROM models m WHERE m.sha256 = @.model_sha256), '') ";
  for (size_t at; (at = fields.find('@')) != std::string::npos;) fields.replace(at, 1, row);
  return fields;
}
const std::string kTaskColumns = TaskFields("t") + "FROM tasks t ";

TaskRow ReadTask(const Statement& s) {
  TaskRow t;
  t.id = s.Int(0);
  t.model_sha256 = s.Text(1);
  t.runtime = s.Text(2);
  t.device = s.Text(3);
  t.selector = nlohmann::json::parse(s.Text(4));
  t.settings = nlohmann::json::parse(s.Text(5));
  t.state = s.Text(6);
  t.attempts = static_cast<int>(s.Int(7));
  if (!s.IsNull(8)) t.agent_id = s.Int(8);
  t.agent_name = s.Text(9);
  t.lease_deadline_ms = s.Int(10);
  t.created_at = s.Text(11);
  t.assigned_at = s.Text(12);
  t.started_at = s.Text(13);
  t.finished_at = s.Text(14);
  t.error = s.Text(15);
  t.owner = s.Text(16);
  t.has_result = s.Int(17) != 0;
  if (!s.IsNull(18)) t.job_id = s.Int(18);
  t.model_format = s.Text(19);
  if (t.state == "converting") t.conversion = ConversionKey{t.model_sha256, s.Text(20), s.Text(21)};
  t.repeat_invalid = static_cast<int>(s.Int(22));
  t.result_attempts = static_cast<int>(s.Int(23)) + (t.has_result ? 1 : 0);
  if (!s.Text(24).empty()) t.compare = nlohmann::json::parse(s.Text(24));
  t.model_name = s.Text(25);
  return t;
}

// `lock`: the task's row stays locked until the transaction ends (PostgreSQL; database.h).
std::optional<TaskRow> SelectTask(Connection* db, int64_t id, bool lock = false) {
  Statement s(db, std::string("SELECT ") + kTaskColumns + "WHERE t.id = ?" + (lock ? db->ForUpdate(false) : ""));
  s.Bind(1, id);
  if (!s.Step()) return std::nullopt;
  return ReadTask(s);
}

// The agent in kAgentFields' columns from `first` on.
AgentRow ReadAgent(const Statement& s, int first = 0) {
  AgentRow a;
  a.id = s.Int(first);
  a.name = s.Text(first + 1);
  a.facts = nlohmann::json::parse(s.Text(first + 2));
  a.labels = nlohmann::json::parse(s.Text(first + 3));
  a.registered_at = s.Text(first + 4);
  a.last_seen_ms = s.Int(first + 5);
  a.last_seen_at = IsoUtc(a.last_seen_ms);
  a.health = s.Text(first + 6);
  a.health_reason = s.Text(first + 7);
  a.maintenance = s.Int(first + 8) != 0;
  a.busy = s.Int(first + 9) != 0;
  return a;
}

constexpr const char* kAgentFields =
    "agents.id, agents.name, agents.facts, agents.labels, agents.registered_at, agents.last_seen_ms, "
    "agents.health, agents.health_reason, agents.maintenance, "
    "EXISTS (SELECT 1 FROM tasks t WHERE t.agent_id = agents.id AND t.state IN ('assigned', 'running')) ";
const std::string kAgentColumns = std::string("SELECT ") + kAgentFields + "FROM agents ";
// A token and the agent of an agent token (its columns NULL otherwise).
const std::string kCredentialColumns = std::string("SELECT k.kind, k.subject, ") + kAgentFields +
                                       "FROM tokens k LEFT JOIN agents ON k.kind = 'agent' AND agents.name = k.subject ";

}  // namespace

const std::vector<std::string>& TaskStates() {
  static const std::vector<std::string> states = {"converting", "queued",    "assigned",  "running",
                                                  "succeeded",  "failed",    "cancelled", "timed_out"};
  return states;
}

bool IsTaskState(const std::string& state) {
  return std::find(TaskStates().begin(), TaskStates().end(), state) != TaskStates().end();
}

bool IsFinalState(const std::string& state) {
  return state == "succeeded" || state == "failed" || state == "cancelled" || state == "timed_out";
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string IsoUtc(int64_t unix_ms) {
  const std::time_t seconds = unix_ms / 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  char full[48];
  std::snprintf(full, sizeof full, "%s.%03dZ", text, static_cast<int>(unix_ms % 1000));
  return full;
}

std::string_view TokenKindName(TokenKind kind) {
  switch (kind) {
    case TokenKind::kAdmin: return "admin";
    case TokenKind::kUser: return "user";
    case TokenKind::kRegistration: return "registration";
    case TokenKind::kAgent: return "agent";
  }
  return "user";
}

namespace {

// A URL without its user and password, for messages.
std::string Redacted(const std::string& location) {
  const size_t scheme = location.find("://");
  const size_t at = location.find('@');
  if (scheme == std::string::npos || at == std::string::npos) return location;
  return location.substr(0, scheme + 3) + location.substr(at + 1);
}

}  // namespace

ApiResult<std::unique_ptr<Store>> Store::Open(const std::string& location) {
  const std::string path = Redacted(location);
  auto connection = Connection::Open(location);
  if (!connection.ok()) return ApiError{500, path + ": " + connection.error().message};
  std::unique_ptr<Store> store(new Store(location, std::move(connection.value())));
  const bool postgres = store->postgres_;
  try {
    Borrowed db(*store);
    if (!postgres) {
      db->Exec("PRAGMA journal_mode = WAL");
      db->Exec("PRAGMA synchronous = NORMAL");
      db->Exec("PRAGMA foreign_keys = OFF");  // for the migrations; a no-op inside a transaction
    }
    Transaction transaction(db);
    db->TransactionLock(kMigrationLock);  // replicas starting together migrate once
    // Finalized before the migrations run: an open read of sqlite_master blocks DROP TABLE.
    const bool exists = db->TableExists("schema_version");
    int64_t version = 1;
    if (!exists) {
      db->Exec(NewSchema(postgres));
      version = kNewSchemaVersion;
      Statement(db, "INSERT INTO schema_version (version) VALUES (?)").Bind(1, version).Run();
    } else {
      Statement found(db, "SELECT version FROM schema_version");
      version = found.Step() ? found.Int(0) : 0;
    }
    if (version < 1 || version > kSchemaVersion) {
      return ApiError{500, path + ": database schema version " + std::to_string(version) +
                               ", this server reads 1.." + std::to_string(kSchemaVersion)};
    }
    for (; version < kSchemaVersion; ++version) db->Exec(kMigrations[version - 1]);
    Statement(db, "UPDATE schema_version SET version = ?").Bind(1, kSchemaVersion).Run();
    // One server uses a SQLite file: the conversions an earlier run held died with it.
    if (!postgres) db->Exec("DELETE FROM conversion_leases");
    transaction.Commit();
    if (!postgres) db->Exec("PRAGMA foreign_keys = ON");
  } catch (const std::exception& e) {
    return ApiError{500, path + ": " + e.what()};
  }
  return store;
}

// PostgreSQL connections per store: enough for requests to overlap their round trips and
// commits, few enough that two replicas stay far below the server's max_connections.
constexpr int kPostgresPoolSize = 8;

Store::Store(std::string location, std::unique_ptr<Connection> connection)
    : location_(std::move(location)),
      postgres_(connection->dialect() == Dialect::kPostgres),
      pool_size_(postgres_ ? kPostgresPoolSize : 1),
      open_(1),
      replica_(NewSecret().substr(0, 16)) {
  idle_.push_back(std::move(connection));
}

Store::~Store() = default;

Store::Borrowed::Borrowed(Store& store) : store_(store) {
  std::unique_lock lock(store.pool_mutex_);
  store.pool_returned_.wait(lock, [&] { return !store.idle_.empty() || store.open_ < store.pool_size_; });
  if (!store.idle_.empty()) {
    connection_ = std::move(store.idle_.back());
    store.idle_.pop_back();
    return;
  }
  ++store.open_;
  lock.unlock();
  auto opened = Connection::Open(store.location_);
  if (!opened.ok()) {
    lock.lock();
    --store.open_;
    store.pool_returned_.notify_one();
    throw DatabaseError(opened.error().message);
  }
  connection_ = std::move(opened.value());
}

Store::Borrowed::~Borrowed() {
  std::lock_guard lock(store_.pool_mutex_);
  store_.idle_.push_back(std::move(connection_));
  store_.pool_returned_.notify_one();
}

void Store::AnnounceQueued(Connection* db, const std::vector<int64_t>& ids) {
  if (!postgres_) return;
  std::string payload = replica_;
  for (size_t i = 0; i < ids.size() && payload.size() < kMaxNotifyBytes; ++i) {
    payload += (i == 0 ? " " : ",") + std::to_string(ids[i]);
  }
  if (payload.size() >= kMaxNotifyBytes) payload = replica_;  // too many to list
  db->Notify(kTasksChannel, payload);
}

void Store::Notified(const std::string& channel, const std::string& payload) {
  const std::string sender = payload.substr(0, payload.find(' '));
  if (sender == replica_) return;
  if (channel == kAgentsChannel || sender.empty()) {
    std::lock_guard lock(mutex_);
    registered_agents_.reset();
    ++registrations_;
    credentials_.clear();
  }
  if (channel != kTasksChannel) return;
  std::vector<int64_t> ids;
  const size_t space = payload.find(' ');
  if (space != std::string::npos) {
    for (const std::string& id : Split(payload.substr(space + 1), ',')) ids.push_back(std::stoll(id));
  }
  std::function<void(const std::vector<int64_t>&)> handler;
  {
    std::lock_guard lock(mutex_);
    handler = queued_handler_;
  }
  if (handler) handler(ids);
}

void Store::WatchQueuedTasks(std::function<void(const std::vector<int64_t>& ids)> handler) {
  {
    std::lock_guard lock(mutex_);
    queued_handler_ = handler;
    if (!handler || listener_) return;
  }
  auto listener = Borrowed(*this)->Listen({kTasksChannel, kAgentsChannel}, [this](const std::string& channel,
                                                                        const std::string& payload) {
    Notified(channel, payload);
  });
  std::lock_guard lock(mutex_);
  listener_ = std::move(listener);
}

void Store::AddToken(const std::string& token_sha256, TokenKind kind, const std::string& subject) {
  Borrowed db(*this);
  Transaction transaction(db);
  Statement(db, "INSERT INTO tokens (sha256, kind, subject, created_at) VALUES (?, ?, ?, ?)")
      .Bind(1, token_sha256).Bind(2, std::string(TokenKindName(kind))).Bind(3, subject)
      .Bind(4, IsoUtc(NowMs())).Run();
  transaction.Commit();
}

namespace {

// A token in columns kind, subject.
TokenRow ReadToken(const Statement& s) {
  TokenRow row;
  const std::string kind = s.Text(0);
  row.kind = kind == "admin" ? TokenKind::kAdmin
             : kind == "registration" ? TokenKind::kRegistration
             : kind == "agent" ? TokenKind::kAgent : TokenKind::kUser;
  row.subject = s.Text(1);
  return row;
}

}  // namespace

void Store::SetTokenCacheMs(int64_t token_cache_ms) {
  std::lock_guard lock(mutex_);
  token_cache_ms_ = token_cache_ms;
  credentials_.clear();
}

std::optional<Store::Credential> Store::FindCredential(const std::string& token_sha256) {
  const int64_t now = NowMs();
  uint64_t registrations = 0;
  {
    std::lock_guard lock(mutex_);
    if (auto kept = credentials_.find(token_sha256); kept != credentials_.end()) {
      if (kept->second.second > now) return kept->second.first;
      credentials_.erase(kept);
    }
    registrations = registrations_;
  }
  Credential credential;
  {
    Borrowed db(*this);
    Statement s(db, std::string(kCredentialColumns) + "WHERE k.sha256 = ?");
    s.Bind(1, token_sha256);
    if (!s.Step()) return std::nullopt;
    credential.token = ReadToken(s);
    if (!s.IsNull(2)) credential.agent = ReadAgent(s, 2);
  }
  std::lock_guard lock(mutex_);
  // Not kept when an agent registered meanwhile: the answer may be from before.
  if (token_cache_ms_ > 0 && registrations == registrations_) {
    credentials_[token_sha256] = {credential, now + token_cache_ms_};
  }
  return credential;
}

bool Store::HasToken(TokenKind kind) {
  Borrowed db(*this);
  Statement s(db, "SELECT 1 FROM tokens WHERE kind = ?");
  s.Bind(1, std::string(TokenKindName(kind)));
  return s.Step();
}

void Store::AddModel(const ModelRow& model) {
  Borrowed db(*this);
  Transaction transaction(db);
  Statement(db, "INSERT INTO models (sha256, size_bytes, format, name, created_at) "
                 "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")
      .Bind(1, model.sha256).Bind(2, model.size_bytes).Bind(3, model.format).Bind(4, model.name)
      .Bind(5, IsoUtc(NowMs())).Run();
  transaction.Commit();
}

void Store::AddConversion(const ConversionRow& c) {
  Borrowed db(*this);
  Transaction transaction(db);
  Statement(db, "INSERT INTO conversions (source_sha256, target, precision, converter_version, "
                 "converted_sha256, report, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")
      .Bind(1, c.source_sha256).Bind(2, c.target).Bind(3, c.precision).Bind(4, c.converter_version)
      .Bind(5, c.converted_sha256).Bind(6, c.report.dump()).Bind(7, IsoUtc(NowMs())).Run();
  transaction.Commit();
}

namespace {
constexpr const char* kConversionColumns =
    "SELECT source_sha256, target, precision, converter_version, converted_sha256, report FROM conversions ";
ConversionRow ReadConversion(const Statement& s) {
  return {s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Text(4), nlohmann::json::parse(s.Text(5))};
}
}  // namespace

std::optional<ConversionRow> Store::FindConversion(const std::string& source_sha256, const std::string& target,
                                                   const std::string& precision,
                                                   const std::string& converter_version) {
  Borrowed db(*this);
  Statement s(db, (std::string(kConversionColumns) +
                    "WHERE source_sha256 = ? AND target = ? AND precision = ? AND converter_version = ?").c_str());
  s.Bind(1, source_sha256).Bind(2, target).Bind(3, precision).Bind(4, converter_version);
  if (!s.Step()) return std::nullopt;
  return ReadConversion(s);
}

std::optional<ConversionRow> Store::FindConversionTo(const std::string& converted_sha256) {
  Borrowed db(*this);
  Statement s(db, (std::string(kConversionColumns) + "WHERE converted_sha256 = ? LIMIT 1").c_str());
  s.Bind(1, converted_sha256);
  if (!s.Step()) return std::nullopt;
  return ReadConversion(s);
}

std::optional<ModelRow> Store::FindModel(const std::string& sha256) {
  {
    std::lock_guard lock(mutex_);
    if (auto kept = models_.find(sha256); kept != models_.end()) return kept->second;
  }
  Borrowed db(*this);
  Statement s(db, "SELECT sha256, size_bytes, format, name, created_at FROM models WHERE sha256 = ?");
  s.Bind(1, sha256);
  if (!s.Step()) return std::nullopt;
  ModelRow model{s.Text(0), s.Int(1), s.Text(2), s.Text(3), s.Text(4)};
  std::lock_guard lock(mutex_);
  models_.emplace(sha256, model);
  return model;
}

std::optional<ApiError> Store::AddUser(const std::string& token_sha256, const std::string& name) {
  Borrowed db(*this);
  Transaction transaction(db);
  if (Statement(db, "SELECT 1 FROM tokens WHERE kind IN ('admin', 'user') AND subject = ?").Bind(1, name).Step()) {
    return ApiError{409, "user '" + name + "' exists already (names are unique; 'admin' is the admin's)"};
  }
  Statement(db, "INSERT INTO tokens (sha256, kind, subject, created_at) VALUES (?, 'user', ?, ?)")
      .Bind(1, token_sha256).Bind(2, name).Bind(3, IsoUtc(NowMs())).Run();
  transaction.Commit();
  return std::nullopt;
}

ApiResult<int64_t> Store::RegisterAgent(const std::string& name, const nlohmann::json& facts,
                                        const nlohmann::json& labels, const std::string& token_sha256,
                                        bool may_replace) {
  Borrowed db(*this);
  Transaction transaction(db);
  const int64_t now = NowMs();
  // A new name is inserted or nothing is (also when another server inserts it at the same time).
  const int64_t inserted =
      Statement(db, std::string("INSERT INTO agents (name, facts, labels, registered_at, last_seen_ms) VALUES "
                                 "(?, ?, ?, ?, ?) ON CONFLICT (name) ") +
                         (may_replace ? "DO UPDATE SET facts = excluded.facts, labels = excluded.labels, "
                                        "last_seen_ms = excluded.last_seen_ms"
                                      : "DO NOTHING"))
          .Bind(1, name).Bind(2, facts.dump()).Bind(3, labels.dump()).Bind(4, IsoUtc(now)).Bind(5, now)
          .Run();
  if (inserted == 0) {
    return ApiError{409, "agent '" + name + "' is registered already: re-register it with its current token "
                                            "(or the admin token), or choose another name"};
  }
  Statement id(db, "SELECT id FROM agents WHERE name = ?");
  id.Bind(1, name).Step();
  const int64_t agent_id = id.Int(0);
  Statement(db, "DELETE FROM tokens WHERE kind = 'agent' AND subject = ?").Bind(1, name).Run();
  Statement(db, "INSERT INTO tokens (sha256, kind, subject, created_at) VALUES (?, 'agent', ?, ?)")
      .Bind(1, token_sha256).Bind(2, name).Bind(3, IsoUtc(now)).Run();
  db->Notify(kAgentsChannel, replica_);
  transaction.Commit();
  std::lock_guard lock(mutex_);
  registered_agents_.reset();
  ++registrations_;
  credentials_.clear();
  return agent_id;
}

std::optional<AgentRow> Store::FindAgent(const std::string& name) {
  Borrowed db(*this);
  Statement s(db, std::string(kAgentColumns) + "WHERE name = ?");
  s.Bind(1, name);
  if (!s.Step()) return std::nullopt;
  return ReadAgent(s);
}

std::vector<AgentRow> Store::ListAgents(const std::string& after_name, int limit) {
  Borrowed db(*this);
  Statement s(db, std::string(kAgentColumns) + "WHERE name > ? ORDER BY name LIMIT ?");
  // No limit: the largest (PostgreSQL refuses SQLite's -1).
  s.Bind(1, after_name).Bind(2, limit > 0 ? static_cast<int64_t>(limit) : std::numeric_limits<int64_t>::max());
  std::vector<AgentRow> agents;
  while (s.Step()) agents.push_back(ReadAgent(s));
  return agents;
}

std::shared_ptr<const std::vector<AgentRow>> Store::RegisteredAgents() {
  uint64_t registrations = 0;
  {
    std::lock_guard lock(mutex_);
    if (registered_agents_) return registered_agents_;
    registrations = registrations_;
  }
  auto agents = std::make_shared<const std::vector<AgentRow>>(ListAgents());
  std::lock_guard lock(mutex_);
  if (registrations == registrations_) registered_agents_ = agents;
  return agents;
}

namespace {

constexpr const char* kInsertTask =
    "INSERT INTO tasks (model_sha256, runtime, device, selector, settings, state, created_at, owner, "
    "conversion_target, conversion_precision, job_id, repeat_invalid, compare) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id";

// Binds all of kInsertTask but the job id (11).
void BindNewTask(Statement& insert, const NewTask& task, const std::string& now, const std::string& owner) {
  insert.Bind(1, task.model_sha256).Bind(2, task.runtime).Bind(3, task.device).Bind(4, task.selector.dump())
      .Bind(5, task.settings.dump()).Bind(6, task.conversion ? "converting" : "queued").Bind(7, now)
      .Bind(8, owner).Bind(9, task.conversion ? task.conversion->target : "")
      .Bind(10, task.conversion ? task.conversion->precision : "").Bind(12, task.repeat_invalid)
      .Bind(13, task.compare.is_null() ? std::string() : task.compare.dump());
}

}  // namespace

int64_t Store::CreateTask(const NewTask& task) {
  Borrowed db(*this);
  Transaction transaction(db);
  Statement insert(db, kInsertTask);
  BindNewTask(insert, task, IsoUtc(NowMs()), task.owner);
  insert.BindNull(11).Step();
  const int64_t id = insert.Int(0);
  insert.Run();
  if (!task.conversion) AnnounceQueued(db, {id});
  transaction.Commit();
  return id;
}

std::optional<TaskRow> Store::GetTask(int64_t id) {
  Borrowed db(*this);
  return SelectTask(db, id);
}

int64_t Store::CreateJob(const std::string& owner, const nlohmann::json& request,
                         const std::vector<NewTask>& tasks) {
  Borrowed db(*this);
  Transaction transaction(db);
  const std::string now = IsoUtc(NowMs());
  Statement job(db, "INSERT INTO jobs (owner, request, created_at) VALUES (?, ?, ?) RETURNING id");
  job.Bind(1, owner).Bind(2, request.dump()).Bind(3, now).Step();
  const int64_t job_id = job.Int(0);
  job.Run();
  Statement insert(db, kInsertTask);
  std::vector<int64_t> queued;
  for (const NewTask& task : tasks) {
    BindNewTask(insert, task, now, owner);
    insert.Bind(11, job_id).Step();
    if (!task.conversion) queued.push_back(insert.Int(0));
    insert.Run();
    insert.Reset();
  }
  if (!queued.empty()) AnnounceQueued(db, queued);
  transaction.Commit();
  return job_id;
}

namespace {

std::vector<JobRow> SelectJobs(Connection* db, const std::string& where, const std::function<void(Statement&)>& bind) {
  std::vector<JobRow> jobs;
  {
    Statement s(db, ("SELECT id, owner, request, created_at FROM jobs " + where).c_str());
    bind(s);
    while (s.Step()) {
      JobRow job;
      job.id = s.Int(0);
      job.owner = s.Text(1);
      job.request = nlohmann::json::parse(s.Text(2));
      job.created_at = s.Text(3);
      jobs.push_back(std::move(job));
    }
  }
  Statement counts(db, "SELECT state, COUNT(*) FROM tasks WHERE job_id = ? GROUP BY state");
  for (JobRow& job : jobs) {
    counts.Bind(1, job.id);
    while (counts.Step()) {
      job.state_counts[counts.Text(0)] = static_cast<int>(counts.Int(1));
      job.tasks += static_cast<int>(counts.Int(1));
    }
    counts.Reset();
  }
  return jobs;
}

}  // namespace

std::optional<JobRow> Store::GetJob(int64_t id) {
  Borrowed db(*this);
  auto jobs = SelectJobs(db, "WHERE id = ?", [id](Statement& s) { s.Bind(1, id); });
  if (jobs.empty()) return std::nullopt;
  return std::move(jobs.front());
}

std::vector<JobRow> Store::ListJobs(const std::string& owner, int limit, std::optional<int64_t> before_id) {
  Borrowed db(*this);
  return SelectJobs(db, "WHERE (?1 = '' OR owner = ?1) AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3",
                    [&](Statement& s) {
                      s.Bind(1, owner).Bind(3, limit);
                      if (before_id) s.Bind(2, *before_id);
                    });
}

std::vector<TaskRow> Store::ListJobTasks(int64_t job_id) {
  Borrowed db(*this);
  Statement s(db, (std::string("SELECT ") + kTaskColumns + "WHERE t.job_id = ? ORDER BY t.id").c_str());
  s.Bind(1, job_id);
  std::vector<TaskRow> tasks;
  while (s.Step()) tasks.push_back(ReadTask(s));
  return tasks;
}

std::vector<std::pair<int64_t, nlohmann::json>> Store::JobResults(int64_t job_id) {
  Borrowed db(*this);
  Statement s(db, "SELECT r.task_id, r.document FROM results r JOIN tasks t ON t.id = r.task_id "
                   "WHERE t.job_id = ? ORDER BY t.id");
  s.Bind(1, job_id);
  std::vector<std::pair<int64_t, nlohmann::json>> results;
  while (s.Step()) results.emplace_back(s.Int(0), nlohmann::json::parse(s.Text(1)));
  return results;
}

std::vector<TaskRow> Store::ListTasks(const TaskQuery& query) {
  Borrowed db(*this);
  Statement s(db, (std::string("SELECT ") + kTaskColumns +
                    "WHERE (?1 IS NULL OR t.id < ?1) AND (?2 = '' OR t.owner = ?2) AND (?3 = '' OR t.state = ?3) "
                    "AND (?4 IS NULL OR t.job_id = ?4) ORDER BY t.id DESC LIMIT ?5").c_str());
  if (query.before_id) s.Bind(1, *query.before_id);
  s.Bind(2, query.owner).Bind(3, query.state);
  if (query.job_id) s.Bind(4, *query.job_id);
  s.Bind(5, query.limit);
  std::vector<TaskRow> tasks;
  while (s.Step()) tasks.push_back(ReadTask(s));
  return tasks;
}

namespace {
constexpr const char* kAwaitingConversion =
    "t.state = 'converting' AND t.model_sha256 = ? AND t.conversion_target = ? AND t.conversion_precision = ? ";
}  // namespace

std::vector<TaskRow> Store::FinishConversion(const ConversionKey& key, const std::string& converted_sha256,
                                             const std::string& error) {
  Borrowed db(*this);
  Transaction transaction(db);
  std::vector<int64_t> ids;
  {
    Statement s(db, std::string("SELECT t.id FROM tasks t WHERE ") + kAwaitingConversion + "ORDER BY t.id" +
                         db->ForUpdate(false));
    s.Bind(1, key.source_sha256).Bind(2, key.target).Bind(3, key.precision);
    while (s.Step()) ids.push_back(s.Int(0));
  }
  Statement update(db, converted_sha256.empty()
                            ? "UPDATE tasks SET state = 'failed', finished_at = ?, error = ? WHERE id = ?"
                            : "UPDATE tasks SET state = 'queued', model_sha256 = ? WHERE id = ?");
  std::vector<TaskRow> changed;
  for (const int64_t id : ids) {
    if (converted_sha256.empty()) {
      update.Bind(1, IsoUtc(NowMs())).Bind(2, error).Bind(3, id).Run();
    } else {
      update.Bind(1, converted_sha256).Bind(2, id).Run();
    }
    update.Reset();
    changed.push_back(*SelectTask(db, id));
  }
  if (!converted_sha256.empty() && !ids.empty()) AnnounceQueued(db, ids);
  Statement(db, "DELETE FROM conversion_leases WHERE source_sha256 = ? AND target = ? AND precision = ?")
      .Bind(1, key.source_sha256).Bind(2, key.target).Bind(3, key.precision).Run();
  transaction.Commit();
  return changed;
}

bool Store::ClaimConversion(const ConversionKey& key, int64_t lease_ms) {
  Borrowed db(*this);
  Transaction transaction(db);
  if (!Statement(db, std::string("SELECT 1 FROM tasks t WHERE ") + kAwaitingConversion)
           .Bind(1, key.source_sha256).Bind(2, key.target).Bind(3, key.precision).Step()) {
    return false;
  }
  const int64_t now = NowMs();
  const int64_t claimed =
      Statement(db, "INSERT INTO conversion_leases (source_sha256, target, precision, holder, deadline_ms) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (source_sha256, target, precision) DO UPDATE SET "
                    "holder = excluded.holder, deadline_ms = excluded.deadline_ms "
                    "WHERE conversion_leases.holder = excluded.holder OR conversion_leases.deadline_ms < ?")
          .Bind(1, key.source_sha256).Bind(2, key.target).Bind(3, key.precision).Bind(4, replica_)
          .Bind(5, now + lease_ms).Bind(6, now).Run();
  transaction.Commit();
  return claimed > 0;
}

void Store::RenewConversions(int64_t lease_ms) {
  Borrowed db(*this);
  Statement(db, "UPDATE conversion_leases SET deadline_ms = ? WHERE holder = ?")
      .Bind(1, NowMs() + lease_ms).Bind(2, replica_).Run();
}

std::vector<ConversionKey> Store::UnclaimedConversions() {
  Borrowed db(*this);
  Statement s(db, "SELECT t.model_sha256, t.conversion_target, t.conversion_precision FROM tasks t "
                  "LEFT JOIN conversion_leases l ON l.source_sha256 = t.model_sha256 AND l.target = t.conversion_target "
                  "AND l.precision = t.conversion_precision "
                  "WHERE t.state = 'converting' AND (l.holder IS NULL OR l.deadline_ms < ?) "
                  "GROUP BY 1, 2, 3 ORDER BY MIN(t.id)");
  s.Bind(1, NowMs());
  std::vector<ConversionKey> keys;
  while (s.Step()) keys.push_back({s.Text(0), s.Text(1), s.Text(2)});
  return keys;
}

namespace {

// scheduler.h's CanRun(agent, task) as a condition on the tasks t and their models m, with its
// parameters: the rule again, as SQL, so that a lease is one statement (the store test
// LeaseFollowsCanRun holds the two to each other). nullopt when the agent offers no runtime.
struct RunnableSql {
  std::string condition;
  std::vector<std::string> parameters;
};

std::optional<RunnableSql> Runnable(Connection* db, const AgentRow& agent) {
  RunnableSql sql;
  // The named device, or any device when the agent's labels hold the selector.
  sql.condition = "(t.device = ? OR (t.device = '' AND " + db->SelectorWithin("t.selector") + ")) AND (";
  sql.parameters = {agent.name, agent.labels.dump()};
  const auto runtimes = agent.facts.find("runtimes");
  if (runtimes == agent.facts.end() || !runtimes->is_array()) return std::nullopt;
  std::vector<std::string> offered;
  for (const auto& item : *runtimes) {
    const auto name = item.is_object() ? item.find("name") : item.end();
    if (!item.is_object() || name == item.end() || !name->is_string()) continue;
    const std::string runtime = name->get<std::string>();
    if (std::find(offered.begin(), offered.end(), runtime) != offered.end()) continue;  // CanRun reads the first
    sql.condition += std::string(offered.empty() ? "" : " OR ") + "(t.runtime = ?";
    sql.parameters.push_back(runtime);
    offered.push_back(runtime);
    const auto formats = item.find("formats");
    if (formats != item.end() && formats->is_array() && !formats->empty()) {
      // Formats reported: the model's must be one of them (or unknown).
      sql.condition += " AND (COALESCE(m.format, '') = ''";
      std::string listed;
      for (const auto& format : *formats) {
        if (!format.is_string()) continue;
        listed += listed.empty() ? "?" : ", ?";
        sql.parameters.push_back(format.get<std::string>());
      }
      if (!listed.empty()) sql.condition += " OR m.format IN (" + listed + ")";
      sql.condition += ")";
    }
    sql.condition += ")";
  }
  if (offered.empty()) return std::nullopt;
  sql.condition += ")";
  return sql;
}

}  // namespace

std::optional<TaskRow> Store::LeaseTask(const AgentRow& agent, int64_t lease_ms) {
  Borrowed db(*this);
  const int64_t now = NowMs();
  // Seen now; a bad device or one in maintenance is out of scheduling.
  Statement seen(db, "UPDATE agents SET last_seen_ms = ? WHERE id = ? RETURNING health = 'good' AND maintenance = 0");
  const bool schedulable = seen.Bind(1, now).Bind(2, agent.id).Step() && seen.Int(0) != 0;
  seen.Run();
  const auto runnable = Runnable(db, agent);
  if (!schedulable || !runnable) return std::nullopt;
  // One statement: the oldest queued task the agent can run, assigned to it. PostgreSQL: the
  // row is locked as it is chosen, skipping those another request or replica is leasing (their
  // lease re-checks the row's state once they hold it); SQLite runs one statement at a time.
  Statement lease(db, "UPDATE tasks SET state = 'assigned', agent_id = ?, attempts = attempts + 1, "
                      "lease_deadline_ms = ?, assigned_at = ?, started_at = '' WHERE id = "
                      "(SELECT t.id FROM tasks t LEFT JOIN models m ON m.sha256 = t.model_sha256 "
                      "WHERE t.state = 'queued' AND " + runnable->condition + " ORDER BY t.id LIMIT 1" +
                          db->ForUpdate(true) + ") RETURNING " + TaskFields("tasks"));
  lease.Bind(1, agent.id).Bind(2, now + lease_ms).Bind(3, IsoUtc(now));
  for (size_t i = 0; i < runnable->parameters.size(); ++i) lease.Bind(static_cast<int>(i) + 4, runnable->parameters[i]);
  if (!lease.Step()) return std::nullopt;
  TaskRow task = ReadTask(lease);
  lease.Run();
  return task;
}

ApiResult<TaskRow> Store::Heartbeat(int64_t task_id, int64_t agent_id, int64_t lease_ms) {
  Borrowed db(*this);
  Transaction transaction(db);
  auto task = SelectTask(db, task_id, true);
  if (!task) return ApiError{404, "task " + std::to_string(task_id) + " not found"};
  if (task->agent_id != agent_id || (task->state != "assigned" && task->state != "running")) {
    return ApiError{409, "task " + std::to_string(task_id) + " is not held by this agent (state " +
                             task->state + ")"};
  }
  const int64_t now = NowMs();
  Statement(db,
            "UPDATE tasks SET state = 'running', lease_deadline_ms = ?, "
            "started_at = CASE WHEN started_at = '' THEN ? ELSE started_at END WHERE id = ?")
      .Bind(1, now + lease_ms).Bind(2, IsoUtc(now)).Bind(3, task_id).Run();
  Statement(db, "UPDATE agents SET last_seen_ms = ? WHERE id = ?").Bind(1, now).Bind(2, agent_id).Run();
  task = SelectTask(db, task_id);
  transaction.Commit();
  return *task;
}

ApiResult<Store::StoredResult> Store::StoreResult(int64_t task_id, int64_t agent_id, const nlohmann::json& document,
                                                  bool invalid, const std::string& final_state,
                                                  const std::string& error) {
  Borrowed db(*this);
  Transaction transaction(db);
  const int64_t now = NowMs();
  // Ends the task with this final result when the agent holds it (then it has no result yet: a
  // task has one once final) and it is not an INVALID one with repeats left: the task after;
  // nullopt otherwise.
  const auto finish = [&]() -> std::optional<TaskRow> {
    Statement end(db, "UPDATE tasks SET state = ?, finished_at = ?, error = ?, lease_deadline_ms = 0, "
                      "started_at = CASE WHEN started_at = '' THEN ? ELSE started_at END "
                      "WHERE id = ? AND agent_id = ? AND state IN ('assigned', 'running') AND (? = 0 OR "
                      "repeat_invalid <= (SELECT COUNT(*) FROM repeated_results rr WHERE rr.task_id = tasks.id)) "
                      "RETURNING " + TaskFields("tasks"));
    end.Bind(1, final_state).Bind(2, IsoUtc(now)).Bind(3, error).Bind(4, IsoUtc(now)).Bind(5, task_id)
        .Bind(6, agent_id).Bind(7, invalid ? 1 : 0);
    if (!end.Step()) return std::nullopt;
    TaskRow ended = ReadTask(end);
    end.Run();
    Statement(db, "INSERT INTO results (task_id, agent_id, document, uploaded_at) VALUES (?, ?, ?, ?)")
        .Bind(1, task_id).Bind(2, agent_id).Bind(3, document.dump()).Bind(4, IsoUtc(now)).Run();
    transaction.Commit();
    ended.has_result = true;  // inserted after the row was read
    ++ended.result_attempts;
    return ended;
  };
  // The common case in two statements; the rest (another agent's upload, the same one again, an
  // INVALID result to repeat) reads the task, locked, first.
  if (auto ended = finish()) return StoredResult{document, true, std::move(*ended)};
  auto task = SelectTask(db, task_id, true);
  if (!task) return ApiError{404, "task " + std::to_string(task_id) + " not found"};
  {
    Statement stored(db, "SELECT document, agent_id FROM results WHERE task_id = ?");
    stored.Bind(1, task_id);
    if (stored.Step()) {
      if (stored.Int(1) != agent_id) {
        return ApiError{409, "task " + std::to_string(task_id) +
                                 " already has a result from another agent"};
      }
      return StoredResult{nlohmann::json::parse(stored.Text(0)), false, std::move(*task)};
    }
  }
  if (task->agent_id != agent_id || (task->state != "assigned" && task->state != "running")) {
    // The upload of a repeated run again, before the task was leased anew.
    Statement repeated(db, "SELECT document, agent_id, lease_attempt FROM repeated_results WHERE task_id = ? "
                            "ORDER BY attempt DESC LIMIT 1");
    repeated.Bind(1, task_id);
    if (repeated.Step() && repeated.Int(1) == agent_id && repeated.Int(2) == task->attempts) {
      return StoredResult{nlohmann::json::parse(repeated.Text(0)), false, std::move(*task)};
    }
    return ApiError{409, "task " + std::to_string(task_id) + " is not held by this agent (state " +
                             task->state + ")"};
  }
  if (invalid && task->result_attempts < task->repeat_invalid) {
    const int attempt = task->result_attempts + 1;
    Statement(db, "INSERT INTO repeated_results (task_id, attempt, agent_id, lease_attempt, document, uploaded_at) "
                   "VALUES (?, ?, ?, ?, ?, ?)")
        .Bind(1, task_id).Bind(2, attempt).Bind(3, agent_id).Bind(4, task->attempts).Bind(5, document.dump())
        .Bind(6, IsoUtc(now)).Run();
    Statement(db, "UPDATE tasks SET state = 'queued', agent_id = NULL, lease_deadline_ms = 0, error = ? WHERE id = ?")
        .Bind(1, "result of attempt " + std::to_string(attempt) + " of " + std::to_string(task->repeat_invalid + 1) +
                     " INVALID; re-queued")
        .Bind(2, task_id).Run();
    AnnounceQueued(db, {task_id});
    task = SelectTask(db, task_id);
    transaction.Commit();
    return StoredResult{document, true, std::move(*task)};
  }
  return StoredResult{document, true, *finish()};  // held: checked above, on the locked row
}

std::optional<nlohmann::json> Store::GetResult(int64_t task_id) {
  Borrowed db(*this);
  Statement s(db, "SELECT document FROM results WHERE task_id = ?");
  s.Bind(1, task_id);
  if (!s.Step()) return std::nullopt;
  return nlohmann::json::parse(s.Text(0));
}

std::vector<ResultAttempt> Store::ResultAttempts(int64_t task_id) {
  Borrowed db(*this);
  Statement s(db, "SELECT r.attempt, COALESCE(a.name, ''), r.uploaded_at, r.document, 0 FROM repeated_results r "
                   "LEFT JOIN agents a ON a.id = r.agent_id WHERE r.task_id = ? "
                   "UNION ALL SELECT (SELECT COUNT(*) FROM repeated_results WHERE task_id = ?) + 1, COALESCE(a.name, ''), "
                   "r.uploaded_at, r.document, 1 FROM results r LEFT JOIN agents a ON a.id = r.agent_id "
                   "WHERE r.task_id = ? ORDER BY 1");
  s.Bind(1, task_id).Bind(2, task_id).Bind(3, task_id);
  std::vector<ResultAttempt> attempts;
  while (s.Step()) {
    attempts.push_back({static_cast<int>(s.Int(0)), s.Text(1), s.Text(2), s.Int(4) != 0,
                        nlohmann::json::parse(s.Text(3))});
  }
  return attempts;
}

int Store::CountResults(int64_t task_id) {
  Borrowed db(*this);
  Statement s(db, "SELECT COUNT(*) FROM results WHERE task_id = ?");
  s.Bind(1, task_id).Step();
  return static_cast<int>(s.Int(0));
}

ApiResult<TaskRow> Store::CancelTask(int64_t task_id) {
  Borrowed db(*this);
  Transaction transaction(db);
  auto task = SelectTask(db, task_id, true);
  if (!task) return ApiError{404, "task " + std::to_string(task_id) + " not found"};
  if (IsFinalState(task->state)) {
    return ApiError{409, "task " + std::to_string(task_id) + " is already " + task->state};
  }
  Statement(db, "UPDATE tasks SET state = 'cancelled', finished_at = ?, lease_deadline_ms = 0, "
                 "error = 'cancelled by user' WHERE id = ?")
      .Bind(1, IsoUtc(NowMs())).Bind(2, task_id).Run();
  task = SelectTask(db, task_id);
  transaction.Commit();
  return *task;
}

int Store::ExpireLeases(int max_attempts) {
  Borrowed db(*this);
  Transaction transaction(db);
  // One server expires leases at a time; the others skip their turn.
  if (!db->TryTransactionLock(kExpiryLock)) return 0;
  const int64_t now = NowMs();
  // Leases that ended without a result: the repeated runs' leases ended with one.
  constexpr const char* kLostLeases =
      "(attempts - (SELECT COUNT(*) FROM repeated_results r WHERE r.task_id = tasks.id))";
  Statement fail(db, (std::string("UPDATE tasks SET state = 'failed', finished_at = ?, lease_deadline_ms = 0, "
                                   "error = 'lease expired ' || ") + kLostLeases +
                       " || ' times (agent lost); giving up' "
                       "WHERE state IN ('assigned', 'running') AND lease_deadline_ms < ? AND " + kLostLeases +
                       " >= ?").c_str());
  int changed = static_cast<int>(fail.Bind(1, IsoUtc(now)).Bind(2, now).Bind(3, max_attempts).Run());
  Statement requeue(db,
                    "UPDATE tasks SET state = 'queued', agent_id = NULL, lease_deadline_ms = 0, "
                    "error = 'lease of attempt ' || attempts || ' expired (agent lost); re-queued' "
                    "WHERE state IN ('assigned', 'running') AND lease_deadline_ms < ?");
  const int64_t requeued = requeue.Bind(1, now).Run();
  changed += static_cast<int>(requeued);
  if (requeued > 0) AnnounceQueued(db, {});
  transaction.Commit();
  return changed;
}

bool Store::AgentHoldsModel(int64_t agent_id, const std::string& sha256) {
  Borrowed db(*this);
  // A comparison's other models are in its `compare` JSON (a quoted sha256 matches only itself).
  Statement s(db, "SELECT 1 FROM tasks WHERE agent_id = ? AND state IN ('assigned', 'running') "
                   "AND (model_sha256 = ? OR compare LIKE '%\"' || ? || '\"%')");
  s.Bind(1, agent_id).Bind(2, sha256).Bind(3, sha256);
  return s.Step();
}

}  // namespace edgebench::server

namespace edgebench::server {

namespace {

HealthCheckRow ReadHealthCheck(const Statement& s) {
  return {s.Int(0), s.Text(1), s.Text(2), s.Text(3), s.Text(4), s.Text(5), nlohmann::json::parse(s.Text(6))};
}

constexpr const char* kHealthCheckColumns =
    "SELECT h.task_id, a.name, h.runtime, h.created_at, h.finished_at, h.verdict, h.detail "
    "FROM health_checks h JOIN agents a ON a.id = h.agent_id ";

}  // namespace

std::optional<AgentRow> Store::SetMaintenance(const std::string& name, bool on) {
  {
    Borrowed db(*this);
    Statement(db, "UPDATE agents SET maintenance = ? WHERE name = ?").Bind(1, on ? 1 : 0).Bind(2, name).Run();
  }
  return FindAgent(name);
}

std::optional<AgentRow> Store::ResetHealth(const std::string& name) {
  {
    Borrowed db(*this);
    Statement(db, "UPDATE agents SET health = 'good', health_reason = '' WHERE name = ?").Bind(1, name).Run();
  }
  return FindAgent(name);
}

int Store::ScheduleHealthChecks(int64_t seen_since_ms, int64_t due_since_ms,
                                const std::function<std::vector<NewTask>(const AgentRow&)>& checks_for) {
  Borrowed db(*this);
  Transaction transaction(db);
  if (!db->TryTransactionLock(kHealthLock)) return 0;
  std::vector<AgentRow> due;
  {
    Statement s(db, std::string(kAgentColumns) +
                         "WHERE health = 'good' AND maintenance = 0 AND last_seen_ms >= ? AND NOT EXISTS "
                         "(SELECT 1 FROM health_checks h WHERE h.agent_id = agents.id AND h.created_ms >= ?) "
                         "ORDER BY id");
    s.Bind(1, seen_since_ms).Bind(2, due_since_ms);
    while (s.Step()) due.push_back(ReadAgent(s));
  }
  const int64_t now = NowMs();
  Statement insert(db, kInsertTask);
  Statement check(db, "INSERT INTO health_checks (task_id, agent_id, runtime, created_at, created_ms) "
                       "VALUES (?, ?, ?, ?, ?)");
  std::vector<int64_t> created;
  for (const AgentRow& agent : due) {
    for (const NewTask& task : checks_for(agent)) {
      BindNewTask(insert, task, IsoUtc(now), task.owner);
      insert.BindNull(11).Step();
      created.push_back(insert.Int(0));
      insert.Run();
      insert.Reset();
      check.Bind(1, created.back()).Bind(2, agent.id).Bind(3, task.runtime).Bind(4, IsoUtc(now)).Bind(5, now).Run();
      check.Reset();
    }
  }
  if (!created.empty()) AnnounceQueued(db, created);
  transaction.Commit();
  return static_cast<int>(created.size());
}

std::optional<HealthCheckRow> Store::FindHealthCheck(int64_t task_id) {
  Borrowed db(*this);
  Statement s(db, std::string(kHealthCheckColumns) + "WHERE h.task_id = ?");
  s.Bind(1, task_id);
  if (!s.Step()) return std::nullopt;
  return ReadHealthCheck(s);
}

void Store::FinishHealthCheck(int64_t task_id, bool passed, const nlohmann::json& detail) {
  Borrowed db(*this);
  Transaction transaction(db);
  const int64_t changed =
      Statement(db, "UPDATE health_checks SET verdict = ?, finished_at = ?, detail = ? "
                     "WHERE task_id = ? AND verdict = 'pending'")
          .Bind(1, passed ? "passed" : "failed").Bind(2, IsoUtc(NowMs())).Bind(3, detail.dump()).Bind(4, task_id).Run();
  if (changed > 0 && !passed) {
    Statement(db, "UPDATE agents SET health = 'bad', health_reason = ? "
                   "WHERE id = (SELECT agent_id FROM health_checks WHERE task_id = ?)")
        .Bind(1, "health check (task " + std::to_string(task_id) + ") failed: " + detail.value("reason", ""))
        .Bind(2, task_id).Run();
  }
  transaction.Commit();
}

std::vector<HealthCheckRow> Store::HealthChecks(const std::string& device, const std::string& runtime_passed,
                                                int limit) {
  Borrowed db(*this);
  Statement s(db, std::string(kHealthCheckColumns) +
                       "WHERE a.name = ? AND (? = '' OR (h.runtime = ? AND h.verdict = 'passed')) "
                       "ORDER BY h.created_ms DESC, h.task_id DESC LIMIT ?");
  s.Bind(1, device).Bind(2, runtime_passed).Bind(3, runtime_passed).Bind(4, limit);
  std::vector<HealthCheckRow> checks;
  while (s.Step()) checks.push_back(ReadHealthCheck(s));
  return checks;
}

}  // namespace edgebench::server
