// The evaluation service's own costs, measured on a real `edgebench server` on loopback. Prints
// figures; asserts nothing.
//
//   dispatch: submit-to-result time of a null-backend task through a real agent, minus the
//     benchmark's own time (load + first inference + warm-up + timed stage from the result
//     document): what the service adds (lease, model download, process or container start,
//     upload, the client noticing). Native agent always; docker agent with --image.
//   scale: N simulated agents (threads speaking the agents' HTTP protocol) on one server with
//     SQLite, or spread over 2 replicas on one PostgreSQL (--store postgresql: a server the bench
//     starts from Debian's binaries, testing/postgres.h; --store both: one after the other):
//     dispatch throughput (lease + result upload per task, tasks queued up front) and the
//     assignment latency of a task submitted while every agent long-polls (submit to lease);
//     with replicas, tasks are submitted to each in turn, so most wake-ups cross replicas.
//
// Usage: bench_service_dispatch --binary EDGEBENCH --model FILE [--agents 1000] [--tasks 5000]
//          [--dispatch-tasks 20] [--image null/ARCH=REFERENCE] [--store sqlite|postgresql|both]
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "edgebench/client.h"
#include "edgebench/stats.h"
#include "testing/backend_testing.h"
#include "testing/postgres.h"
#include "testing/process.h"
#include "testing/test_models.h"

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using edgebench::ServiceClient;
using edgebench::testing::Background;

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The `fraction` quantile of unsorted values (edgebench's type-7 percentile); 0 when empty.
double Percentile(std::vector<double> values, double fraction) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return edgebench::Percentile(values, 100 * fraction);
}

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "bench_service_dispatch: %s\n", message.c_str());
  std::exit(1);
}

template <typename T>
T Must(edgebench::Expected<T> value, const std::string& what) {
  if (!value.ok()) Die(what + ": " + value.error().message);
  return std::move(value.value());
}

struct Server {
  std::string dir, url, admin_token, registration_token;
  std::unique_ptr<Background> process;
};

// `dir`: the data directory of a replica started before ("" = a new one).
Server StartServer(const std::string& binary, const std::vector<std::string>& extra, const std::string& dir = "") {
  Server server;
  server.dir = dir.empty() ? edgebench::testing::MakeTempDir() : dir;
  std::vector<std::string> argv = {binary, "server", "--listen", "127.0.0.1:0", "--data", server.dir + "/data"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  const std::string log = server.dir + (dir.empty() ? "/server.log" : "/replica.log");
  server.process = std::make_unique<Background>(argv, log, /*pipe_stdout=*/true);
  const std::string line = server.process->ReadLine(20000);
  const std::string prefix = "listening on ";
  if (line.rfind(prefix, 0) != 0) Die("server did not start: " + edgebench::testing::ReadFile(log));
  server.url = line.substr(prefix.size());
  server.admin_token = Must(edgebench::ReadTokenFile(server.dir + "/data/admin.token"), "admin token");
  server.registration_token = Must(edgebench::ReadTokenFile(server.dir + "/data/agent.token"), "agent token");
  return server;
}

// Waits (bounded) until the device `name` is registered.
void WaitForDevice(ServiceClient& client, const std::string& name, const std::string& log) {
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline) {
    auto devices = client.ListDevices();
    if (devices.ok()) {
      for (const auto& device : devices->value("devices", json::array())) {
        if (device.value("name", "") == name) return;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Die("agent '" + name + "' did not register: " + edgebench::testing::ReadFile(log));
}

// Submit-to-result minus the bench's own time, for `count` tasks one after another on `device`.
void MeasureDispatch(ServiceClient& client, const std::string& sha, const std::string& device,
                     const std::string& label, int count) {
  const json settings = {{"min_runs", 10}, {"max_runs", 10}, {"warmup_runs", 1}, {"warmup_min_ms", 0},
                         {"min_duration_ms", 0}};
  std::vector<double> total_ms, overhead_ms;
  for (int i = 0; i < count; ++i) {
    const auto start = Clock::now();
    const json task = Must(client.CreateTask({{"model_sha256", sha}, {"runtime", "null"}, {"device", device},
                                              {"settings", settings}}),
                           "create task");
    const json done = Must(client.WaitTask(task["id"].get<int64_t>(), nullptr, /*poll_interval_ms=*/2, 300),
                           "wait task");
    const double elapsed = MsSince(start);
    if (done.value("state", "") != "succeeded") Die(label + ": task " + done.dump());
    const json result = done.value("result", json::object());  // GET /v1/tasks/ID carries it when final
    const double bench_ms = result.value("load_ms", 0.0) + result.value("first_inference_ms", 0.0) +
                            result.value("warmup", json::object()).value("ms", 0.0) + result.value("measure_ms", 0.0);
    total_ms.push_back(elapsed);
    overhead_ms.push_back(elapsed - bench_ms);
  }
  std::printf("dispatch %-7s %d tasks: submit-to-result median %.1f ms, bench's own time subtracted: "
              "overhead median %.1f ms, p90 %.1f ms\n",
              label.c_str(), count, Percentile(total_ms, 0.5), Percentile(overhead_ms, 0.5),
              Percentile(overhead_ms, 0.9));
}

// Wall time of the same bench run as a plain process on this machine (no service): the part of
// the dispatch overhead that is the bench process itself starting and exiting.
void MeasureBenchProcess(const std::string& binary, const std::string& model, int count) {
  const std::string out = edgebench::testing::MakeTempDir() + "/result.json";
  std::vector<double> wall_ms;
  for (int i = 0; i < count; ++i) {
    const auto start = Clock::now();
    const auto run = edgebench::testing::RunProcess(
        {binary, "bench", model, "-r", "null", "--min-runs", "10", "--max-runs", "10", "--warmup-runs", "1",
         "--warmup-min-ms", "0", "--min-duration-ms", "0", "-q", "--json", out});
    wall_ms.push_back(MsSince(start));
    if (run.exit_code != 0) Die("edgebench bench -r null failed: " + run.err);
  }
  std::printf("dispatch reference: the same bench as a plain process, %d runs: wall median %.1f ms "
              "(process start, library loading and exit)\n", count, Percentile(wall_ms, 0.5));
}

// The result document every simulated agent uploads: a real null-backend result for the model.
json NullResult(const std::string& binary, const std::string& model) {
  const std::string path = edgebench::testing::MakeTempDir() + "/result.json";
  const auto run = edgebench::testing::RunProcess(
      {binary, "bench", model, "-r", "null", "--min-runs", "3", "--warmup-runs", "0", "--warmup-min-ms", "0",
       "--min-duration-ms", "0", "-q", "--json", path});
  if (run.exit_code != 0) Die("edgebench bench -r null failed: " + run.err);
  return json::parse(edgebench::testing::ReadFile(path));
}

struct SimulatedAgents {
  std::atomic<bool> stop{false};
  std::atomic<int> uploaded{0};
  std::atomic<int> errors{0};
  std::atomic<int> retries{0};  // uploads sent again after a transport error
  std::mutex mutex;
  std::map<int64_t, Clock::time_point> leased_at;  // task id -> when its lease answer arrived
  std::vector<double> lease_answer_ms;              // lease requests that returned a task
};

// `store`: "sqlite" (one server) or "postgresql" (two replicas on a new database).
void RunScale(const std::string& binary, const std::string& model, int agents, int tasks, const std::string& store) {
  std::vector<std::string> extra = {"--http-threads", std::to_string(agents + 64), "--lease-seconds", "60"};
  std::vector<Server> replicas;
  if (store == "postgresql") {
    std::string error;
    edgebench::testing::PostgresServer* postgres = edgebench::testing::SharedPostgres(&error);
    if (!postgres) Die("PostgreSQL: " + error);
    extra.push_back("--store");
    extra.push_back(postgres->CreateDatabase("bench_" + std::to_string(getpid())));
    replicas.push_back(StartServer(binary, extra));
    replicas.push_back(StartServer(binary, extra, replicas[0].dir));
  } else {
    replicas.push_back(StartServer(binary, extra));
  }
  const std::string label = "scale[" + store + ", " + std::to_string(replicas.size()) +
                            (replicas.size() == 1 ? " server]" : " replicas]");
  // Client i talks to replica i % n first, then the others.
  auto urls_from = [&](size_t i) {
    std::string urls;
    for (size_t k = 0; k < replicas.size(); ++k) {
      urls += (k == 0 ? "" : ",") + replicas[(i + k) % replicas.size()].url;
    }
    return urls;
  };
  Server& server = replicas[0];
  std::vector<std::unique_ptr<ServiceClient>> admins;
  for (size_t i = 0; i < replicas.size(); ++i) {
    admins.push_back(Must(ServiceClient::Connect(urls_from(i), server.admin_token), "connect"));
  }
  auto& admin = admins[0];
  const std::string sha = Must(admin->UploadModel(model), "upload")["sha256"];
  const json document = NullResult(binary, model);

  // Register the agents.
  std::vector<std::pair<std::string, std::string>> identities;  // name, token
  const auto registering = Clock::now();
  {
    auto registrar = Must(ServiceClient::Connect(server.url, server.registration_token), "connect");
    for (int i = 0; i < agents; ++i) {
      const std::string name = "sim" + std::to_string(i);
      const json request = {{"name", name},
                            {"facts", {{"arch", "x86_64"}, {"cores", 1}, {"runtimes", {{{"name", "null"}, {"version", "1"}}}}}},
                            {"labels", {{"fleet", "sim"}}}};
      identities.emplace_back(name, Must(registrar->RegisterAgent(request), "register")["token"]);
    }
  }
  std::printf("%s: %d agents registered in %.2f s\n", label.c_str(), agents, MsSince(registering) / 1000);

  // Queue the throughput phase's tasks before any agent asks.
  const json task_request = {{"model_sha256", sha}, {"runtime", "null"}, {"selector", {{"fleet", "sim"}}},
                             {"settings", json::object()}};
  const auto queueing = Clock::now();
  for (int i = 0; i < tasks; ++i) Must(admins[i % admins.size()]->CreateTask(task_request), "create task");
  const double queue_s = MsSince(queueing) / 1000;
  std::printf("%s: %d tasks created in %.2f s (%.0f tasks/s from one client)\n", label.c_str(), tasks, queue_s,
              tasks / queue_s);

  SimulatedAgents state;
  std::mutex go_mutex;
  std::condition_variable go_cv;
  bool go = false;
  std::vector<std::thread> threads;
  for (size_t i = 0; i < identities.size(); ++i) {
    threads.emplace_back([&, i, name = identities[i].first, token = identities[i].second] {
      auto client = Must(ServiceClient::Connect(urls_from(i), token), "connect");
      client->SetReadTimeoutSeconds(60);
      {
        std::unique_lock lock(go_mutex);
        go_cv.wait(lock, [&] { return go; });
      }
      while (!state.stop) {
        const auto asked = Clock::now();
        auto lease = client->LeaseTask(name, 5);
        if (!lease.ok() || lease->token_rejected) {
          if (state.errors++ == 0) {
            std::fprintf(stderr, "first lease error: %s\n",
                         lease.ok() ? "token rejected" : lease.error().message.c_str());
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          continue;
        }
        if (!lease->task) continue;
        const int64_t id = (*lease->task)["id"].get<int64_t>();
        {
          std::lock_guard lock(state.mutex);
          state.leased_at[id] = Clock::now();
          state.lease_answer_ms.push_back(MsSince(asked));
        }
        // Retried on a transport error, as the real agent does (a keep-alive connection the
        // server closed just as the request went out).
        auto uploaded = client->UploadResult(id, document);
        for (int retry = 0; retry < 3 && !uploaded.ok() && uploaded.error().code == edgebench::ErrorCode::kRuntimeError;
             ++retry) {
          ++state.retries;
          uploaded = client->UploadResult(id, document);
        }
        if (uploaded.ok()) {
          ++state.uploaded;
        } else if (state.errors++ == 0) {
          std::fprintf(stderr, "first upload error: %s\n", uploaded.error().message.c_str());
        }
      }
    });
  }

  // Throughput: every queued task leased and its result stored.
  const auto draining = Clock::now();
  {
    std::lock_guard lock(go_mutex);
    go = true;
  }
  go_cv.notify_all();
  while (state.uploaded < tasks && MsSince(draining) < 600000) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const double drain_s = MsSince(draining) / 1000;
  std::vector<double> busy_lease_ms;
  {
    std::lock_guard lock(state.mutex);
    busy_lease_ms = state.lease_answer_ms;
  }
  std::printf("%s: throughput %.0f tasks/s (%d tasks leased and their results stored in %.2f s by %d agents); "
              "lease answer with tasks queued: p50 %.1f ms, p99 %.1f ms\n",
              label.c_str(), state.uploaded.load() / drain_s, state.uploaded.load(), drain_s, agents,
              Percentile(busy_lease_ms, 0.5), Percentile(busy_lease_ms, 0.99));

  // Assignment latency: all agents idle in a long poll; tasks arrive one at a time.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let the agents settle into their polls
  const int latency_tasks = 200;
  std::map<int64_t, Clock::time_point> submitted;
  for (int i = 0; i < latency_tasks; ++i) {
    const auto before = Clock::now();
    const int64_t id = Must(admins[i % admins.size()]->CreateTask(task_request), "create task")["id"].get<int64_t>();
    submitted[id] = before;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the arrival rate: ~50 tasks/s
  }
  while (state.uploaded < tasks + latency_tasks && MsSince(draining) < 600000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  state.stop = true;
  std::vector<double> assignment_ms;
  {
    std::lock_guard lock(state.mutex);
    for (const auto& [id, at] : submitted) {
      if (auto leased = state.leased_at.find(id); leased != state.leased_at.end()) {
        assignment_ms.push_back(std::chrono::duration<double, std::milli>(leased->second - at).count());
      }
    }
  }
  std::printf("%s: assignment latency (submit to lease answer, %zu tasks at ~50/s, %d idle agents "
              "long-polling): p50 %.1f ms, p99 %.1f ms (goal: p99 < 100 ms); %d request errors, %d uploads "
              "retried\n",
              label.c_str(), assignment_ms.size(), agents, Percentile(assignment_ms, 0.5), Percentile(assignment_ms, 0.99),
              state.errors.load(), state.retries.load());
  for (auto& thread : threads) thread.join();
}

}  // namespace

int main(int argc, char** argv) {
  std::string binary, model, image, store = "sqlite";
  int agents = 1000, tasks = 5000, dispatch_tasks = 20;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--binary") binary = value();
    else if (arg == "--model") model = value();
    else if (arg == "--agents") agents = std::atoi(value().c_str());
    else if (arg == "--tasks") tasks = std::atoi(value().c_str());
    else if (arg == "--dispatch-tasks") dispatch_tasks = std::atoi(value().c_str());
    else if (arg == "--image") image = value();
    else if (arg == "--store") store = value();
    else Die("unknown argument '" + arg + "' (see the comment at the top of bench/service_dispatch.cc)");
  }
  if (binary.empty() || model.empty()) Die("--binary and --model are required");
  if (store != "sqlite" && store != "postgresql" && store != "both") Die("--store: sqlite, postgresql or both");

  if (dispatch_tasks > 0) {
    std::vector<std::string> extra;
    if (!image.empty()) extra = {"--image", image};
    Server server = StartServer(binary, extra);
    auto admin = Must(ServiceClient::Connect(server.url, server.admin_token), "connect");
    const std::string sha = Must(admin->UploadModel(model), "upload")["sha256"];
    MeasureBenchProcess(binary, model, dispatch_tasks);
    std::vector<std::string> modes = {"native"};
    if (!image.empty()) modes.push_back("docker");
    for (const std::string& mode : modes) {
      const std::string name = mode + "-agent";
      const std::string log = server.dir + "/" + name + ".log";
      Background agent({binary, "agent", "--server", server.url, "--name", name, "--token-file",
                        server.dir + "/data/agent.token", "--mode", mode, "--poll-seconds", "30",
                        "--cache-dir", server.dir + "/cache-" + mode},
                       log, /*pipe_stdout=*/false);
      WaitForDevice(*admin, name, log);
      MeasureDispatch(*admin, sha, name, mode, dispatch_tasks);
    }
  }
  for (const std::string& each : {std::string("sqlite"), std::string("postgresql")}) {
    if (store == each || store == "both") RunScale(binary, model, agents, tasks, each);
  }
  return 0;
}
