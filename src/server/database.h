// One connection to the store's database, SQLite (a file) or PostgreSQL (libpq), behind one face:
// statements with `?` placeholders, transactions, and the few places where the two dialects
// differ (row locks, notifications, advisory locks, the catalogue). The store's SQL is written
// once in the dialect both accept. Not thread-safe: the store serialises its use.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "store.h"

namespace edgebench::server {

// Database failures are bugs, a broken disk or a lost database server: they surface as 500
// through the server's exception handler, never as a half-applied change.
class DatabaseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Dialect { kSqlite, kPostgres };

// A prepared statement; Bind* take 1-based indexes, Text/Int/IsNull 0-based columns.
class StatementDriver {
 public:
  virtual ~StatementDriver() = default;
  virtual void BindText(int index, const std::string& text) = 0;
  virtual void BindInt(int index, int64_t value) = 0;
  virtual void BindNull(int index) = 0;
  virtual bool Step() = 0;         // true while there is a row (runs the statement first)
  virtual void Reset() = 0;        // ready to run again with new bindings
  virtual int64_t Changes() = 0;   // rows the last run inserted, updated or deleted
  virtual std::string Text(int column) const = 0;
  virtual int64_t Int(int column) const = 0;  // booleans read 0/1
  virtual bool IsNull(int column) const = 0;
};

// Notifications another process sent on a channel (PostgreSQL LISTEN/NOTIFY), delivered on a
// thread of their own until the listener is destroyed.
class Listener {
 public:
  virtual ~Listener() = default;
};
using NotificationHandler = std::function<void(const std::string& channel, const std::string& payload)>;

class Connection {
 public:
  // `location`: a postgresql:// (or postgres://) URL, otherwise a SQLite file path.
  static ApiResult<std::unique_ptr<Connection>> Open(const std::string& location);
  static bool IsPostgresUrl(const std::string& location);
  virtual ~Connection() = default;

  virtual Dialect dialect() const = 0;
  virtual void Exec(const std::string& sql) = 0;  // statements without parameters
  virtual std::unique_ptr<StatementDriver> Prepare(const std::string& sql) = 0;
  // A write transaction: SQLite takes the database's write lock at once (BEGIN IMMEDIATE), so
  // check-then-update sequences need no row locks there; PostgreSQL sends BEGIN with the
  // transaction's first statement, in one round trip.
  virtual void Begin() = 0;
  // Appended to a SELECT of tasks t: locks the rows read until the end of the transaction
  // (PostgreSQL; "" on SQLite, whose transaction holds the whole database). `skip_locked`:
  // rows another transaction holds are left out instead of waited for.
  virtual std::string ForUpdate(bool skip_locked) const = 0;
  // A condition true when the JSON object of strings in `column` ({label: value}, a task's
  // selector) is within the one its `?` placeholder binds (an agent's labels, as text): each
  // key is there with the same value. Keys are names (validation.h's ValidName).
  virtual std::string SelectorWithin(const std::string& column) const = 0;
  // Sends `payload` on `channel` when the transaction commits; no-op on SQLite (one process).
  virtual void Notify(const std::string& channel, const std::string& payload) = 0;
  // Takes the lock `key` until the end of the transaction unless another holds it; always true
  // on SQLite.
  virtual bool TryTransactionLock(int64_t key) = 0;
  // Waits for the lock `key` until the end of the transaction (no-op on SQLite).
  virtual void TransactionLock(int64_t key) = 0;
  virtual bool TableExists(const std::string& table) = 0;
  // A listener on `channels` with a connection of its own; nullptr on SQLite.
  virtual std::unique_ptr<Listener> Listen(const std::vector<std::string>& channels,
                                           NotificationHandler handler) = 0;
};

// A statement of `connection` (the store's SQL helpers keep their shape on either driver).
class Statement {
 public:
  Statement(Connection* connection, const std::string& sql) : driver_(connection->Prepare(sql)) {}
  Statement& Bind(int index, const std::string& text) {
    driver_->BindText(index, text);
    return *this;
  }
  Statement& Bind(int index, const char* text) { return Bind(index, std::string(text)); }
  Statement& Bind(int index, int64_t value) {
    driver_->BindInt(index, value);
    return *this;
  }
  Statement& Bind(int index, int value) { return Bind(index, static_cast<int64_t>(value)); }
  Statement& BindNull(int index) {
    driver_->BindNull(index);
    return *this;
  }
  bool Step() { return driver_->Step(); }
  // Runs to the end; returns the rows changed.
  int64_t Run() {
    while (Step()) {}
    return driver_->Changes();
  }
  void Reset() { driver_->Reset(); }
  std::string Text(int column) const { return driver_->Text(column); }
  int64_t Int(int column) const { return driver_->Int(column); }
  bool IsNull(int column) const { return driver_->IsNull(column); }

 private:
  std::unique_ptr<StatementDriver> driver_;
};

// Begin() ... Commit(), rolled back when not committed (an exception in between).
class Transaction {
 public:
  explicit Transaction(Connection* connection) : connection_(connection) { connection_->Begin(); }
  ~Transaction();
  void Commit() {
    connection_->Exec("COMMIT");
    committed_ = true;
  }

 private:
  Connection* connection_;
  bool committed_ = false;
};

}  // namespace edgebench::server
