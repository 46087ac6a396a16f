// The evaluation service's server: stores models and tasks, hands tasks to agents and
// keeps their results. HTTP/JSON API under /v1 (docs/http-api.md); state in SQLite
// (DATA_DIR/edgebench.db) or PostgreSQL (several replicas sharing one database and one DATA_DIR);
// models content-addressed in DATA_DIR/models/<sha256>.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "edgebench/status.h"

namespace edgebench {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0 = any free port (see EvaluationServer::port())
  std::string data_dir;
  // The database: "" = SQLite in DATA_DIR/edgebench.db; a postgresql:// URL = PostgreSQL, which
  // replicas given the same URL and the same DATA_DIR (models, token files) share.
  std::string store;
  int64_t max_model_bytes = 512LL << 20;  // larger uploads are refused with 413
  int lease_seconds = 30;     // an agent must renew its lease on a task within this
  int max_attempts = 3;       // leases that may expire before a task fails
  int repeat_invalid = 0;     // tasks without the setting `repeat_invalid`: runs repeated while INVALID
  int max_long_poll_seconds = 20;  // upper bound of a lease request's ?wait_s
  int64_t max_request_bytes = 1LL << 20;  // JSON request bodies larger than this get 413
  int64_t max_result_bytes = 16LL << 20;  // result documents (with operator profiles) likewise
  int max_job_tasks = 10000;       // tasks one job may create
  // Threads converting models for tasks in state converting (int8 calibration takes minutes).
  int conversion_workers = 1;
  // Requests served at once (one thread each). A waiting lease request holds one, so at most
  // http_threads - kReservedHttpThreads agents long-poll at a time; more get 503 and retry.
  int http_threads = 256;
  // Seconds a replica keeps what it read of a token (and its agent) before reading it again;
  // 0 = every request reads it. An agent token replaced on another replica stays accepted here
  // for at most this long (src/server/store.h, Store::FindCredential).
  int token_cache_seconds = 2;
  // Both set = HTTPS (PEM files); both empty = plain HTTP.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Runtime images for docker-mode agents, "RUNTIME/ARCH=REFERENCE" (src/server/images.h).
  std::vector<std::string> images;
  // Health checks (src/server/health.h): every good device runs this model (the sha256 of an
  // uploaded model) on each of its runtimes every health_check_minutes; "" or 0 = none.
  std::string health_model;
  int health_check_minutes = 0;
};

// Threads kept free of long polls for submits, heartbeats and result uploads.
inline constexpr int kReservedHttpThreads = 8;

class EvaluationServer {
 public:
  // Opens (creating on first start) the data directory, the database and the tokens: on first
  // start writes DATA_DIR/admin.token (a user token) and DATA_DIR/agent.token (the agents'
  // registration token), mode 0600. Then binds the listening socket.
  static Expected<std::unique_ptr<EvaluationServer>> Start(const ServerOptions& options);
  ~EvaluationServer();

  int port() const;  // the bound port
  bool tls() const;  // serving HTTPS
  // Serves requests until Stop() is called (from another thread or a signal handler thread).
  void Serve();
  void Stop();

 private:
  struct Impl;
  explicit EvaluationServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace edgebench
