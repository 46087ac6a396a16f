// A throwaway PostgreSQL server for tests: Debian's binaries (initdb, pg_ctl) in a temporary
// directory on a free loopback port, run as an unprivileged user when the tests run as root
// (PostgreSQL refuses root). Trust authentication, user "edgebench"; stopped when destroyed.
#pragma once

#include <memory>
#include <string>

namespace edgebench::testing {

class PostgresServer {
 public:
  // The binaries' directory: $EDGEBENCH_POSTGRES_BIN, else /usr/lib/postgresql/15/bin; "" when
  // they are not installed (tests skip and say so).
  static std::string BinDir();
  // Starts a server; nullptr with `error` set when it cannot.
  static std::unique_ptr<PostgresServer> Start(std::string* error);
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const { return port_; }
  // The postmaster's process id (its connections' processes are its children); -1 when unknown.
  int pid() const;
  // Creates the database `name` (letters, digits, _) and returns its postgresql:// URL.
  std::string CreateDatabase(const std::string& name);

 private:
  PostgresServer() = default;
  std::string bin_, dir_;
  int port_ = 0;
};

// The one server the tests of a process share (started on first use, stopped at exit); nullptr
// with `error` set when it cannot start.
PostgresServer* SharedPostgres(std::string* error);

}  // namespace edgebench::testing
