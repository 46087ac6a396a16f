// `edgebench server --listen HOST:PORT --data DIR`: run the evaluation service's server.
#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <thread>

#include "command.h"
#include "edgebench/server.h"

namespace edgebench::cli {
namespace {

int g_stop_pipe[2] = {-1, -1};  // signal handler -> stopping thread

struct ServerFlags {
  std::string listen = "127.0.0.1:8080";
  int64_t max_model_mb = 512;
  int64_t max_request_kb = 1024;
  ServerOptions options;
};

Status ParseListen(const std::string& listen, ServerOptions& options) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) {
    return InvalidArgument("bad --listen '" + listen + "': expected HOST:PORT (PORT 0 = any free port)");
  }
  options.host = listen.substr(0, colon);
  try {
    std::size_t used = 0;
    options.port = std::stoi(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1 || options.port < 0 || options.port > 65535) throw std::out_of_range("");
  } catch (const std::exception&) {
    return InvalidArgument("bad --listen '" + listen + "': the port must be a number in 0..65535");
  }
  return OkStatus();
}

int RunServer(ServerFlags& flags) {
  if (Status parsed = ParseListen(flags.listen, flags.options); !parsed.ok()) return ReportError(parsed.error());
  if (flags.max_model_mb < 1) return ReportError(InvalidArgument("--max-model-mb must be at least 1"));
  flags.options.max_model_bytes = flags.max_model_mb << 20;
  if (flags.max_request_kb < 1) return ReportError(InvalidArgument("--max-request-kb must be at least 1"));
  flags.options.max_request_bytes = flags.max_request_kb << 10;
  auto server = EvaluationServer::Start(flags.options);
  if (!server.ok()) return ReportError(server.error());
  std::cout << "listening on " << ((*server)->tls() ? "https://" : "http://") << flags.options.host << ":" << (*server)->port() << std::endl;
  std::cerr << "edgebench server: data in " << flags.options.data_dir << " (user token: "
            << flags.options.data_dir << "/admin.token, agent registration token: "
            << flags.options.data_dir << "/agent.token)" << std::endl;
  // SIGINT/SIGTERM stop the server cleanly: the handler (run by whichever thread gets the signal;
  // runtimes may have started threads before main) writes to a pipe that a thread waits on.
  if (pipe(g_stop_pipe) != 0) return ReportError(RuntimeError("pipe failed"));
  struct sigaction action {};
  action.sa_handler = [](int signal) {
    const char byte = static_cast<char>(signal);
    [[maybe_unused]] auto ignored = write(g_stop_pipe[1], &byte, 1);
  };
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  EvaluationServer* raw = server->get();
  std::thread([raw] {
    char signal = 0;
    if (read(g_stop_pipe[0], &signal, 1) == 1) {
      std::cerr << "edgebench server: stopping (signal " << int{signal} << ")" << std::endl;
      raw->Stop();
    }
  }).detach();
  (*server)->Serve();
  return kExitOk;
}

}  // namespace

void AddServerCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<ServerFlags>();
  auto* command = app.add_subcommand("server", "Run the evaluation server (tasks, models, results; HTTP API /v1)");
  command->footer("Example:\n  edgebench server --listen 127.0.0.1:8080 --data /var/lib/edgebench\n"
                  "  edgebench server --listen 0.0.0.0:8081 --data /shared/edgebench "
                  "--store postgresql://edgebench@db/edgebench\n"
                  "Prints 'listening on http://HOST:PORT' first. See docs/http-api.md.");
  command->add_option("--listen", flags->listen, "HOST:PORT to listen on (PORT 0 = any free port)")
      ->capture_default_str();
  command->add_option("--data", flags->options.data_dir, "Data directory (database, models, tokens)")->required();
  command->add_option("--store", flags->options.store,
                      "Database: a postgresql://USER@HOST:PORT/DB URL (replicas given the same URL and "
                      "--data share it); default SQLite in DATA_DIR/edgebench.db");
  command->add_option("--max-model-mb", flags->max_model_mb, "Largest model upload accepted (MiB)")
      ->capture_default_str();
  command->add_option("--lease-seconds", flags->options.lease_seconds,
                      "Seconds an agent holds a task without renewing its lease")
      ->capture_default_str();
  command->add_option("--max-attempts", flags->options.max_attempts,
                      "Leases of a task that may expire before it fails")
      ->capture_default_str();
  command->add_option("--repeat-invalid", flags->options.repeat_invalid,
                      "Runs of a task repeated while its result is INVALID, for tasks without the "
                      "repeat_invalid setting")
      ->capture_default_str();
  command->add_option("--max-request-kb", flags->max_request_kb, "Largest JSON request body accepted (KiB)")
      ->capture_default_str();
  command->add_option("--max-job-tasks", flags->options.max_job_tasks, "Most tasks one job may create")
      ->capture_default_str();
  command->add_option("--conversion-workers", flags->options.conversion_workers,
                      "Models converted at once for tasks in state converting")
      ->capture_default_str();
  command->add_option("--http-threads", flags->options.http_threads,
                      "Requests served at once; waiting agents hold one each, " +
                          std::to_string(kReservedHttpThreads) + " are kept for the rest")
      ->capture_default_str();
  command->add_option("--token-cache-seconds", flags->options.token_cache_seconds,
                      "Seconds a token read from the database is trusted before it is read again (0 = "
                      "never kept); a token replaced on another replica is accepted here at most this long")
      ->capture_default_str();
  command->add_option("--tls-cert", flags->options.tls_cert_file, "Serve HTTPS with this certificate (PEM)");
  command->add_option("--tls-key", flags->options.tls_key_file, "Private key of --tls-cert (PEM)");
  command->add_option("--health-model", flags->options.health_model,
                      "SHA256 of an uploaded model every good device runs as its health check, on each runtime");
  command->add_option("--health-check-minutes", flags->options.health_check_minutes,
                      "Minutes between a device's health checks (0 = none)")
      ->capture_default_str();
  command->add_option("--image", flags->options.images,
                      "Runtime image for docker-mode agents, RUNTIME/ARCH=REFERENCE (repeatable; "
                      "tools/images.sh prints them)");
  command->callback([flags, &exit_code] { exit_code = RunServer(*flags); });
}

}  // namespace edgebench::cli
