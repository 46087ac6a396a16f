// The evaluation server's wiring: the state (store.h, model_store.h), the conversion stage
// (conversion_queue.h), the routes of each resource (handlers.h) and the lease expiry thread.
#include "edgebench/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <filesystem>
#include <string_view>
#include <thread>

#include "edgebench/settings.h"
#include "embedded_files.h"
#include "handlers.h"
#include "http.h"
#include "tokens.h"

namespace edgebench {

namespace fs = std::filesystem;

namespace server {
namespace {

void Health(ServerContext&, const httplib::Request&, httplib::Response& res) {
  SendJson(res, 200, {{"status", "ok"}});
}

// The embedded file served at the request's path (the dashboard's assets, the OpenAPI document).
void SendEmbedded(const httplib::Request& req, httplib::Response& res) {
  for (const EmbeddedFile& file : EmbeddedFiles()) {
    if (req.path == file.url) {
      res.set_content(file.body.data(), file.body.size(), file.content_type);
      res.set_header("Cache-Control", "no-cache");
      return;
    }
  }
  SendError(res, {404, "no such file: " + req.path});
}

void OpenApiDocument(ServerContext&, const httplib::Request& req, httplib::Response& res) { SendEmbedded(req, res); }

}  // namespace

std::vector<Route> Routes() {
  std::vector<Route> routes = {{"GET", "/v1/health", Health}, {"GET", "/v1/openapi.json", OpenApiDocument}};
  for (auto table : {UserRoutes, ModelRoutes, TaskRoutes, AgentRoutes, ImageRoutes, HealthRoutes}) {
    for (Route& route : table()) routes.push_back(route);
  }
  return routes;
}

std::string RoutePattern(const std::string& path) {
  std::string pattern;
  for (std::size_t at = 0; at < path.size();) {
    if (path[at] != '{') {
      if (path[at] == '.') pattern += '\\';
      pattern += path[at++];
      continue;
    }
    const std::size_t end = path.find('}', at);
    const std::string name = path.substr(at + 1, end - at - 1);
    pattern += name == "id" ? R"((\d+))" : name == "sha256" ? "([0-9a-f]{64})" : "([^/]+)";
    at = end + 1;
  }
  return pattern;
}

}  // namespace server

void server::ServerContext::Dispatch(const std::vector<TaskRow>& tasks) {
  std::vector<Placement> queued;
  for (const auto& task : tasks) {
    if (task.conversion) conversions->Enqueue(*task.conversion);
    if (task.state == "queued") queued.push_back(PlacementOf(task));
  }
  if (!queued.empty()) waiters.Notify(queued);
}

struct EvaluationServer::Impl {
  server::ServerContext context;
  std::unique_ptr<httplib::Server> http;  // an httplib::SSLServer with TLS
  int port = 0;
  std::thread expiry_thread;
};

EvaluationServer::EvaluationServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

EvaluationServer::~EvaluationServer() {
  Stop();
  impl_->context.store->WatchQueuedTasks(nullptr);
  if (impl_->expiry_thread.joinable()) impl_->expiry_thread.join();
}

Expected<std::unique_ptr<EvaluationServer>> EvaluationServer::Start(const ServerOptions& options) {
  if (options.data_dir.empty()) return InvalidArgument("--data DIR is required");
  if (options.lease_seconds < 1) return InvalidArgument("--lease-seconds must be at least 1");
  if (options.max_attempts < 1) return InvalidArgument("--max-attempts must be at least 1");
  if (options.conversion_workers < 1) return InvalidArgument("--conversion-workers must be at least 1");
  if (options.health_check_minutes < 0) return InvalidArgument("--health-check-minutes must be at least 0");
  if (options.token_cache_seconds < 0) return InvalidArgument("--token-cache-seconds must be at least 0");
  // The default of the task setting takes the setting's values.
  for (const SettingSpec& spec : SettingsTable()) {
    if (spec.key == "repeat_invalid") {
      EB_RETURN_IF_ERROR(CheckSettingValue(spec, options.repeat_invalid, "--repeat-invalid"));
    }
  }
  auto impl = std::make_unique<Impl>();
  server::ServerContext& context = impl->context;
  context.options = options;
  auto models = server::ModelStore::Open(options.data_dir + "/models");
  if (!models.ok()) return models.error();
  context.models = std::move(models.value());
  auto store = server::Store::Open(options.store.empty() ? options.data_dir + "/edgebench.db" : options.store);
  if (!store.ok()) return RuntimeError(store.error().message);
  context.store = std::move(store.value());
  context.store->SetTokenCacheMs(static_cast<int64_t>(options.token_cache_seconds) * 1000);
  EB_RETURN_IF_ERROR(server::InitializeTokens(*context.store, options.data_dir));
  auto images = server::ImageCatalog::Open(options.data_dir, options.images);
  if (!images.ok()) return images.error();
  context.images = std::move(images.value());
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
  httplib::Server& http = *impl->http;
  const int threads = options.http_threads;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  // An answer is written in parts (headers, body): with Nagle's algorithm the body waits for the
  // client's delayed acknowledgement of the headers (40 ms on Linux) on a keep-alive connection.
  http.set_tcp_nodelay(true);
  http.set_payload_max_length(
      static_cast<size_t>(std::max({options.max_model_bytes, options.max_result_bytes, options.max_request_bytes})));
  using R = const httplib::Request&;
  using W = httplib::Response&;
  for (const server::Route& route : server::Routes()) {
    const std::string pattern = server::RoutePattern(route.path);
    const bool get = std::string_view(route.method) == "GET";
    if (route.read_body) {
      http.Post(pattern, [&context, handle = route.read_body](R req, W res, const httplib::ContentReader& reader) {
        handle(context, req, res, reader);
      });
      continue;
    }
    auto handler = [&context, handle = route.handle, queued = route.work_queue](R req, W res) {
      if (!queued) return handle(context, req, res);
      context.work.Enter();
      struct Leave {
        server::WorkQueue& work;
        ~Leave() { work.Leave(); }
      } leave{context.work};
      handle(context, req, res);
    };
    if (get) {
      http.Get(pattern, handler);
    } else {
      http.Post(pattern, handler);
    }
  }
  // The dashboard: its page and assets, without a token (the page asks for one and sends it
  // with each API request).
  for (const server::EmbeddedFile& file : server::EmbeddedFiles()) {
    if (std::string_view(file.url).rfind("/v1/", 0) != 0) http.Get(file.url, server::SendEmbedded);
  }
  server::InstallCommonHandlers(http, context.options);
  // httplib listens with a backlog of 5: past that, connections of a burst of clients wait for
  // SYN retries (1 s, 3 s, 7 s, ...). The listening socket is noted here and listens again
  // with the system's maximum once bound.
  int listening = -1;
  http.set_socket_options([&listening](socket_t sock) {
    httplib::default_socket_options(sock);
    listening = sock;
  });
  if (options.port == 0) {
    impl->port = http.bind_to_any_port(options.host);
    if (impl->port <= 0) return RuntimeError("cannot listen on " + options.host + " (any port)");
  } else {
    if (!http.bind_to_port(options.host, options.port)) {
      return RuntimeError("cannot listen on " + options.host + ":" + std::to_string(options.port) +
                          " (in use or not a local address)");
    }
    impl->port = options.port;
  }
  if (listening >= 0) ::listen(listening, SOMAXCONN);
  http.set_socket_options(httplib::default_socket_options);  // `listening` ends here
  // Converted tasks are handed on like new ones; conversions that tasks wait for since an
  // earlier run (stopped or crashed mid-conversion), or that a replica which died held, are
  // enqueued again.
  context.conversions = std::make_unique<server::ConversionQueue>(
      *context.store, *context.models, context.LeaseMs(),
      [&context](const std::vector<server::TaskRow>& tasks) { context.Dispatch(tasks); });
  context.conversions->Start(options.conversion_workers);
  // Tasks another replica queued wake this replica's waiting lease requests too.
  context.store->WatchQueuedTasks([&context](const std::vector<int64_t>& ids) {
    if (ids.empty()) return context.waiters.Notify();
    std::vector<server::TaskRow> tasks;
    for (const int64_t id : ids) {
      if (auto task = context.store->GetTask(id); task && task->state == "queued") tasks.push_back(std::move(*task));
    }
    if (!tasks.empty()) context.Dispatch(tasks);
  });
  // Leases expire every 0.5 s; health checks that are due are created every 5 s.
  impl->expiry_thread = std::thread([&context] {
    for (int round = 0; !context.waiters.stopping(); ++round) {
      if (context.store->ExpireLeases(context.options.max_attempts) > 0) context.waiters.Notify();
      context.conversions->Supervise();
      if (round % 10 == 0) server::ScheduleHealthChecks(context);
      context.waiters.SleepUnlessStopped(std::chrono::milliseconds(500));
    }
  });
  return std::unique_ptr<EvaluationServer>(new EvaluationServer(std::move(impl)));
}

int EvaluationServer::port() const { return impl_->port; }

void EvaluationServer::Serve() { impl_->http->listen_after_bind(); }

bool EvaluationServer::tls() const { return !impl_->context.options.tls_cert_file.empty(); }

void EvaluationServer::Stop() {
  impl_->context.waiters.Stop();
  impl_->http->stop();
}

}  // namespace edgebench
