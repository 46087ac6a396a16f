#include "database.h"

#include <libpq-fe.h>
#include <poll.h>
#include <sqlite3.h>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <optional>
#include <thread>
#include <unordered_map>

namespace edgebench::server {
namespace {

// ---- SQLite ----

void CheckSqlite(sqlite3* db, int rc, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE) {
    throw DatabaseError(std::string("sqlite: ") + what + ": " + sqlite3_errmsg(db));
  }
}

class SqliteStatement : public StatementDriver {
 public:
  SqliteStatement(sqlite3* db, const std::string& sql) : db_(db) {
    CheckSqlite(db, sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr), sql.c_str());
  }
  ~SqliteStatement() override { sqlite3_finalize(stmt_); }

  void BindText(int index, const std::string& text) override {
    CheckSqlite(db_, sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT),
                "bind");
  }
  void BindInt(int index, int64_t value) override { CheckSqlite(db_, sqlite3_bind_int64(stmt_, index, value), "bind"); }
  void BindNull(int index) override { CheckSqlite(db_, sqlite3_bind_null(stmt_, index), "bind"); }
  bool Step() override {
    const int rc = sqlite3_step(stmt_);
    CheckSqlite(db_, rc, sqlite3_sql(stmt_));
    return rc == SQLITE_ROW;
  }
  void Reset() override {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  int64_t Changes() override { return sqlite3_changes(db_); }
  std::string Text(int column) const override {
    const auto* text = sqlite3_column_text(stmt_, column);
    return text ? reinterpret_cast<const char*>(text) : "";
  }
  int64_t Int(int column) const override { return sqlite3_column_int64(stmt_, column); }
  bool IsNull(int column) const override { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

class SqliteConnection : public Connection {
 public:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  ~SqliteConnection() override { sqlite3_close(db_); }

  Dialect dialect() const override { return Dialect::kSqlite; }
  void Exec(const std::string& sql) override {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      std::string text = message ? message : "unknown error";
      sqlite3_free(message);
      throw DatabaseError("sqlite: " + text + " in: " + sql);
    }
  }
  std::unique_ptr<StatementDriver> Prepare(const std::string& sql) override {
    return std::make_unique<SqliteStatement>(db_, sql);
  }
  void Begin() override { Exec("BEGIN IMMEDIATE"); }
  std::string ForUpdate(bool) const override { return ""; }
  std::string SelectorWithin(const std::string& column) const override {
    return "NOT EXISTS (SELECT 1 FROM json_each(" + column + ") s WHERE json_extract(?, '$.\"' || s.key || '\"') "
           "IS NOT s.value)";
  }
  void Notify(const std::string&, const std::string&) override {}
  bool TryTransactionLock(int64_t) override { return true; }
  void TransactionLock(int64_t) override {}
  bool TableExists(const std::string& table) override {
    return Statement(this, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").Bind(1, table).Step();
  }
  std::unique_ptr<Listener> Listen(const std::vector<std::string>&, NotificationHandler) override { return nullptr; }

 private:
  sqlite3* db_;
};

ApiResult<std::unique_ptr<Connection>> OpenSqlite(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string message = path + ": cannot open database: " + (db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return ApiError{500, message};
  }
  sqlite3_busy_timeout(db, 5000);
  return std::unique_ptr<Connection>(std::make_unique<SqliteConnection>(db));
}

// ---- PostgreSQL (libpq) ----

// SQLite's placeholders (outside quoted literals) as PostgreSQL's: `?` as $1, $2, ... in order,
// `?N` as $N.
std::string NumberPlaceholders(const std::string& sql) {
  std::string out;
  bool quoted = false;
  int next = 1;
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (c == '\'') quoted = !quoted;
    if (c != '?' || quoted) {
      out += c;
    } else if (i + 1 < sql.size() && std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
      out += '$';
    } else {
      out += "$" + std::to_string(next++);
    }
  }
  return out;
}

std::string PgMessage(PGconn* conn) {
  std::string message = PQerrorMessage(conn);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

constexpr Oid kInt8Oid = 20;
constexpr Oid kTextOid = 25;

// A libpq connection and the statements prepared on it, each parsed and planned once (PostgreSQL
// plans again by itself when a table they read changes).
struct PostgresSession {
  PGconn* conn = nullptr;
  std::unordered_map<std::string, std::string> prepared;  // SQL and parameter types -> name
  std::unordered_map<std::string, std::string> numbered;  // the store's SQL -> NumberPlaceholders'
  // A transaction begun and not sent yet: its BEGIN goes with its first statement.
  bool begin_pending = false;

  // Connects again after the server went away (a restart): the prepared statements went too.
  void Reset() {
    PQreset(conn);
    prepared.clear();
  }
};

class PostgresStatement : public StatementDriver {
 public:
  PostgresStatement(PostgresSession* session, const std::string& sql)
      : session_(session), conn_(session->conn), sql_(Numbered(session, sql)) {}
  ~PostgresStatement() override { PQclear(result_); }

  void BindText(int index, const std::string& text) override { Set(index, text, kTextOid); }
  void BindInt(int index, int64_t value) override { Set(index, std::to_string(value), kInt8Oid); }
  void BindNull(int index) override { Set(index, std::nullopt, 0); }  // 0: the column's type
  bool Step() override {
    if (!result_) {
      if (PQstatus(conn_) == CONNECTION_BAD && PQtransactionStatus(conn_) != PQTRANS_INTRANS) session_->Reset();
      std::vector<const char*> values;
      for (const auto& value : values_) values.push_back(value ? value->c_str() : nullptr);
      const int count = static_cast<int>(values.size());
      const std::string& name = Prepared();
      if (session_->begin_pending) {
        session_->begin_pending = false;
        Check(ExecAfterBegin(name, count, values.data()));
      } else {
        Check(PQexecPrepared(conn_, name.c_str(), count, values.data(), nullptr, nullptr, 0));
      }
      row_ = -1;
    }
    return ++row_ < PQntuples(result_);
  }
  void Reset() override {
    PQclear(result_);
    result_ = nullptr;
    values_.clear();
    types_.clear();
  }
  int64_t Changes() override { return result_ ? std::atoll(PQcmdTuples(result_)) : 0; }
  std::string Text(int column) const override { return PQgetvalue(result_, row_, column); }
  int64_t Int(int column) const override {
    const char* value = PQgetvalue(result_, row_, column);
    if (value[0] == 't') return 1;  // boolean
    if (value[0] == 'f') return 0;
    return std::atoll(value);
  }
  bool IsNull(int column) const override { return PQgetisnull(result_, row_, column) != 0; }

 private:
  // Keeps `result` as this statement's result; throws when it is an error.
  void Check(PGresult* result) {
    PQclear(result_);
    result_ = result;
    const ExecStatusType status = PQresultStatus(result_);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      const std::string message = PQresultErrorMessage(result_);
      PQclear(result_);
      result_ = nullptr;
      throw DatabaseError("postgresql: " + message + " in: " + sql_);
    }
  }

  static const std::string& Numbered(PostgresSession* session, const std::string& sql) {
    auto found = session->numbered.find(sql);
    if (found == session->numbered.end()) found = session->numbered.emplace(sql, NumberPlaceholders(sql)).first;
    return found->second;
  }

  // BEGIN and the statement `name` in one round trip (libpq's pipeline mode); the statement's
  // result. Throws when BEGIN fails.
  PGresult* ExecAfterBegin(const std::string& name, int count, const char* const* values) {
    if (PQenterPipelineMode(conn_) != 1) throw DatabaseError("postgresql: " + PgMessage(conn_));
    const bool sent = PQsendQueryParams(conn_, "BEGIN", 0, nullptr, nullptr, nullptr, nullptr, 0) == 1 &&
                      PQsendQueryPrepared(conn_, name.c_str(), count, values, nullptr, nullptr, 0) == 1 &&
                      PQpipelineSync(conn_) == 1;
    PGresult* results[2] = {nullptr, nullptr};  // BEGIN's, the statement's
    if (sent) {
      for (PGresult*& result : results) {  // each query's results end with a null
        while (PGresult* next = PQgetResult(conn_)) {
          if (result) {
            PQclear(next);
          } else {
            result = next;
          }
        }
      }
      PQclear(PQgetResult(conn_));  // the sync's
    }
    const std::string message = PgMessage(conn_);
    PQexitPipelineMode(conn_);
    if (!sent || PQresultStatus(results[0]) != PGRES_COMMAND_OK) {
      PQclear(results[0]);
      PQclear(results[1]);
      throw DatabaseError("postgresql: BEGIN: " + message);
    }
    PQclear(results[0]);
    return results[1];
  }

  // The name of this statement prepared with its parameters' types, preparing it the first time.
  const std::string& Prepared() {
    std::string key = sql_;
    for (const Oid type : types_) key += "\n" + std::to_string(type);
    auto found = session_->prepared.find(key);
    if (found != session_->prepared.end()) return found->second;
    const std::string name = "edgebench_" + std::to_string(session_->prepared.size() + 1);
    Check(PQprepare(conn_, name.c_str(), sql_.c_str(), static_cast<int>(types_.size()), types_.data()));
    return session_->prepared.emplace(std::move(key), name).first->second;
  }

  void Set(int index, std::optional<std::string> value, Oid type) {
    // Parameters left unbound are NULL ids (bigint): the store leaves optional ids unbound
    // ("?1 IS NULL OR t.id < ?1"), where PostgreSQL could not infer a type.
    if (static_cast<int>(values_.size()) < index) {
      values_.resize(index);
      types_.resize(index, kInt8Oid);
    }
    values_[index - 1] = std::move(value);
    types_[index - 1] = type;
  }

  PostgresSession* session_;
  PGconn* conn_;
  std::string sql_;
  std::vector<std::optional<std::string>> values_;
  std::vector<Oid> types_;
  PGresult* result_ = nullptr;
  int row_ = -1;
};

ApiResult<PGconn*> ConnectPostgres(const std::string& url) {
  PGconn* conn = PQconnectdb(url.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = "postgresql: cannot connect: " + PgMessage(conn);
    PQfinish(conn);
    return ApiError{500, message};
  }
  PQclear(PQexec(conn, "SET client_min_messages = warning"));
  // The store's statements read a few rows in the order of an index (a lease: the oldest queued
  // task it may run), never a whole table sorted. With the statistics of a table filled just
  // before (a burst of new tasks), the planner would read every queued task and sort them, for
  // each lease (35 ms at 10,000 queued tasks, instead of 0.5 ms).
  PQclear(PQexec(conn, "SET enable_sort = off"));
  // Result documents (a few KiB and up) are compressed as they are stored: LZ4 where the server
  // has it (PostgreSQL 14+ built with it; else its default, pglz, which costs several times more).
  PQclear(PQexec(conn, "SET default_toast_compression = lz4"));
  return conn;
}

class PostgresListener : public Listener {
 public:
  PostgresListener(std::string url, PGconn* conn, std::vector<std::string> channels, NotificationHandler handler)
      : url_(std::move(url)), conn_(conn), channels_(std::move(channels)), handler_(std::move(handler)) {
    Subscribe();
    thread_ = std::thread([this] { Run(); });
  }
  ~PostgresListener() override {
    stop_ = true;
    thread_.join();
    PQfinish(conn_);
  }

 private:
  void Subscribe() {
    for (const std::string& channel : channels_) PQclear(PQexec(conn_, ("LISTEN " + channel).c_str()));
  }
  void Run() {
    while (!stop_) {
      if (PQstatus(conn_) == CONNECTION_BAD) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        PQreset(conn_);
        if (PQstatus(conn_) != CONNECTION_OK) continue;
        Subscribe();
        // Notifications sent while the connection was down are lost: tell of "something".
        for (const std::string& channel : channels_) handler_(channel, "");
      }
      pollfd fd{PQsocket(conn_), POLLIN, 0};
      if (poll(&fd, 1, 200) <= 0) continue;
      if (PQconsumeInput(conn_) == 0) continue;  // the connection broke: reset above
      while (PGnotify* notify = PQnotifies(conn_)) {
        handler_(notify->relname, notify->extra);
        PQfreemem(notify);
      }
    }
  }

  std::string url_;
  PGconn* conn_;
  std::vector<std::string> channels_;
  NotificationHandler handler_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class PostgresConnection : public Connection {
 public:
  PostgresConnection(std::string url, PGconn* conn) : url_(std::move(url)), conn_(conn) { session_.conn = conn; }
  ~PostgresConnection() override { PQfinish(conn_); }

  Dialect dialect() const override { return Dialect::kPostgres; }
  void Exec(const std::string& sql) override {
    if (session_.begin_pending) {
      session_.begin_pending = false;
      if (sql == "COMMIT" || sql == "ROLLBACK") return;  // the transaction ran nothing
      Exec("BEGIN");
    }
    PGresult* result = PQexec(conn_, sql.c_str());
    const ExecStatusType status = PQresultStatus(result);
    const std::string message = PQresultErrorMessage(result);
    PQclear(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      throw DatabaseError("postgresql: " + message + " in: " + sql);
    }
  }
  std::unique_ptr<StatementDriver> Prepare(const std::string& sql) override {
    return std::make_unique<PostgresStatement>(&session_, sql);
  }
  void Begin() override {
    if (PQstatus(conn_) == CONNECTION_BAD) session_.Reset();  // the database restarted
    session_.begin_pending = true;  // sent with the first statement: one round trip less
  }
  std::string ForUpdate(bool skip_locked) const override {
    return skip_locked ? " FOR UPDATE OF t SKIP LOCKED" : " FOR UPDATE OF t";
  }
  std::string SelectorWithin(const std::string& column) const override {
    return "(" + column + ")::jsonb <@ (?)::jsonb";
  }
  void Notify(const std::string& channel, const std::string& payload) override {
    Statement(this, "SELECT pg_notify(?, ?)").Bind(1, channel).Bind(2, payload).Run();
  }
  bool TryTransactionLock(int64_t key) override {
    Statement s(this, "SELECT pg_try_advisory_xact_lock(?)");
    return s.Bind(1, key).Step() && s.Int(0) == 1;
  }
  void TransactionLock(int64_t key) override { Statement(this, "SELECT pg_advisory_xact_lock(?)").Bind(1, key).Run(); }
  bool TableExists(const std::string& table) override {
    return Statement(this, "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() "
                           "AND table_name = ?").Bind(1, table).Step();
  }
  std::unique_ptr<Listener> Listen(const std::vector<std::string>& channels, NotificationHandler handler) override {
    auto conn = ConnectPostgres(url_);
    if (!conn.ok()) throw DatabaseError(conn.error().message);
    return std::make_unique<PostgresListener>(url_, conn.value(), channels, std::move(handler));
  }

 private:
  std::string url_;
  PGconn* conn_;
  PostgresSession session_;
};

}  // namespace

Transaction::~Transaction() {
  if (committed_) return;
  try {
    connection_->Exec("ROLLBACK");
  } catch (const DatabaseError&) {
    // The connection is gone: so is the transaction.
  }
}

bool Connection::IsPostgresUrl(const std::string& location) {
  return location.rfind("postgresql://", 0) == 0 || location.rfind("postgres://", 0) == 0;
}

ApiResult<std::unique_ptr<Connection>> Connection::Open(const std::string& location) {
  if (!IsPostgresUrl(location)) return OpenSqlite(location);
  auto conn = ConnectPostgres(location);
  if (!conn.ok()) return conn.error();
  return std::unique_ptr<Connection>(std::make_unique<PostgresConnection>(location, conn.value()));
}

}  // namespace edgebench::server
