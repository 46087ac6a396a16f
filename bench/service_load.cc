// The evaluation server under many clients at once: N client threads, each sending M requests
// that alternate POST /v1/tasks (a null-runtime task for a registered fake agent) and
// GET /v1/tasks (one page, the default 100), one connection per request as curl makes. Prints
// the answer time (p50, p99, max) and the requests left unanswered (no answer within the
// client's 30 s, or a failed connection); asserts nothing.
//
// Usage: bench_service_load --binary EDGEBENCH --model FILE [--clients 200] [--requests 20]
//          [--http-threads N] (the server's; default its own)
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "edgebench/client.h"
#include "edgebench/stats.h"
#include "testing/backend_testing.h"
#include "testing/process.h"
#include "testing/test_models.h"

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "bench_service_load: %s\n", message.c_str());
  std::exit(1);
}

template <typename T>
T Must(edgebench::Expected<T> value, const std::string& what) {
  if (!value.ok()) Die(what + ": " + value.error().message);
  return std::move(value.value());
}

double PercentileOf(std::vector<double> values, double percent) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return edgebench::Percentile(values, percent);
}

}  // namespace

int main(int argc, char** argv) {
  std::string binary, model;
  int clients = 200, requests = 20;
  std::vector<std::string> server_argv;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--binary") binary = value();
    else if (arg == "--model") model = value();
    else if (arg == "--clients") clients = std::atoi(value().c_str());
    else if (arg == "--requests") requests = std::atoi(value().c_str());
    else if (arg == "--http-threads") server_argv = {"--http-threads", value()};
    else Die("unknown argument '" + arg + "' (see the comment at the top of bench/service_load.cc)");
  }
  if (binary.empty() || model.empty()) Die("--binary and --model are required");

  const std::string dir = edgebench::testing::MakeTempDir();
  std::vector<std::string> command = {binary, "server", "--listen", "127.0.0.1:0", "--data", dir + "/data"};
  command.insert(command.end(), server_argv.begin(), server_argv.end());
  edgebench::testing::Background server(command, dir + "/server.log", /*pipe_stdout=*/true);
  const std::string line = server.ReadLine(20000);
  if (line.rfind("listening on ", 0) != 0) Die("server did not start: " + edgebench::testing::ReadFile(dir + "/server.log"));
  const std::string url = line.substr(std::string("listening on ").size());
  const std::string admin_token = Must(edgebench::ReadTokenFile(dir + "/data/admin.token"), "admin token");
  const std::string registration_token = Must(edgebench::ReadTokenFile(dir + "/data/agent.token"), "agent token");
  auto admin = Must(edgebench::ServiceClient::Connect(url, admin_token), "connect");
  auto registrar = Must(edgebench::ServiceClient::Connect(url, registration_token), "connect");
  Must(registrar->RegisterAgent({{"name", "load1"}, {"facts", {{"runtimes", {{{"name", "null"}}}}}}}), "register");
  const std::string sha = Must(admin->UploadModel(model), "upload")["sha256"];
  const std::string task = json{{"model_sha256", sha}, {"runtime", "null"}, {"device", "load1"}}.dump();

  std::mutex mutex;
  std::vector<double> answer_ms, post_ms, get_ms;
  std::map<int, int> statuses;
  int unanswered = 0;
  std::atomic<bool> go = false;
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      while (!go) std::this_thread::yield();
      for (int r = 0; r < requests; ++r) {
        httplib::Client client(url);  // a connection per request, as curl makes
        client.set_bearer_token_auth(admin_token);
        client.set_connection_timeout(30, 0);
        client.set_read_timeout(30, 0);
        const auto start = Clock::now();
        const bool post = (c + r) % 2 == 0;
        auto res = post ? client.Post("/v1/tasks", task, "application/json") : client.Get("/v1/tasks");
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        std::lock_guard lock(mutex);
        if (!res) {
          ++unanswered;
        } else {
          answer_ms.push_back(ms);
          (post ? post_ms : get_ms).push_back(ms);
          ++statuses[res->status];
        }
      }
    });
  }
  const auto start = Clock::now();
  go = true;
  for (auto& thread : threads) thread.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::string codes;
  for (const auto& [status, count] : statuses) codes += " " + std::to_string(status) + ": " + std::to_string(count);
  std::printf("%d clients x %d requests (POST/GET /v1/tasks alternating) in %.1f s: answered %zu (%s), "
              "unanswered %d; answer time p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
              clients, requests, seconds, answer_ms.size(), codes.substr(1).c_str(), unanswered,
              PercentileOf(answer_ms, 50), PercentileOf(answer_ms, 99), PercentileOf(answer_ms, 100));
  std::printf("  POST /v1/tasks p50 %.1f ms, p99 %.1f ms; GET /v1/tasks (a page of 100) p50 %.1f ms, p99 %.1f ms\n",
              PercentileOf(post_ms, 50), PercentileOf(post_ms, 99), PercentileOf(get_ms, 50), PercentileOf(get_ms, 99));
  return 0;
}
