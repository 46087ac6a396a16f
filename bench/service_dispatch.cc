// The evaluation service's own costs, measured on a real `edgebench server` on loopback. Prints
// figures; asserts nothing.
//
//   dispatch: submit-to-result time of a null-backend task through a real agent, minus the
//     benchmark's own time (load + first inference + warm-up + timed stage from the result
//     document): what the service adds (lease, model download, process or container start,
//     upload, the client noticing). Native agent always; docker agent with --image.
//   scale: N simulated agents (keep-alive connections speaking the agents' HTTP protocol, driven
//     by two epoll threads) on one server with SQLite, or spread over 2 replicas on one
//     PostgreSQL (--store postgresql: a server the bench starts from Debian's binaries,
//     testing/postgres.h; --store both: one after the other, then a table of both): dispatch
//     throughput (lease + result upload per task, tasks queued up front), the CPU time a task
//     costs each party in that phase (each server, PostgreSQL's processes, this process's
//     simulated agents; from /proc/PID/stat: the cores a rate needs), and the assignment
//     latency of a task submitted while every agent long-polls (--poll-seconds, the agent's
//     default 10; submit to lease); with replicas, each agent talks to one of them and tasks are
//     submitted to each in turn, so most wake-ups cross replicas. Each agent holds a connection,
//     so the servers and this process need a file descriptor each: ulimit -n above N + 100.
//
// Usage: bench_service_dispatch --binary EDGEBENCH --model FILE [--agents 1000] [--tasks 5000]
//          [--dispatch-tasks 20] [--image null/ARCH=REFERENCE] [--store sqlite|postgresql|both]
//          [--poll-seconds 10]
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
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

// Simulated agents speaking the agents' HTTP protocol (lease long poll, result upload, lease
// again) over keep-alive connections, one per agent, driven by a few epoll threads: 10,000
// agents need 10,000 sockets, not 10,000 threads (the servers still hold a thread per
// connection, as they would for real agents).
class AgentSwarm {
 public:
  struct Agent {
    std::string name, token;
    int port = 0;
  };

  // `document`: the result every agent uploads; `wait_s`: each lease request's long poll.
  AgentSwarm(std::vector<Agent> agents, const json& document, int wait_s, int threads)
      : agents_(agents.size()), document_(document.dump()), wait_s_(wait_s) {
    for (size_t i = 0; i < agents.size(); ++i) agents_[i].identity = std::move(agents[i]);
    for (int t = 0; t < threads; ++t) loops_.emplace_back([this, t, threads] { Loop(t, threads); });
  }
  ~AgentSwarm() {
    stop_ = true;
    for (auto& loop : loops_) loop.join();
  }

  std::atomic<int> uploaded{0};
  std::atomic<int> errors{0};
  std::atomic<int> reconnects{0};  // requests sent again on a new connection (keep-alive closed)

  // When each task's lease answer arrived, and the lease requests that returned a task.
  std::map<int64_t, Clock::time_point> LeasedAt() {
    std::lock_guard lock(mutex_);
    return leased_at_;
  }
  std::vector<double> LeaseAnswerMs() {
    std::lock_guard lock(mutex_);
    return lease_answer_ms_;
  }

 private:
  enum class Phase { kLease, kUpload };
  struct State {
    Agent identity;
    int fd = -1;
    Phase phase = Phase::kLease;
    int64_t task = 0;
    std::string out, in;  // the request being sent, the answer being read
    size_t written = 0;
    Clock::time_point asked;
    bool waiting = false;  // after an error answer, until it asks again
  };

  void Error(const std::string& what) {
    if (errors++ == 0) std::fprintf(stderr, "first simulated agent error: %s\n", what.c_str());
  }

  void Request(State& agent, Phase phase) {
    agent.phase = phase;
    const std::string path = phase == Phase::kLease
                                 ? "/v1/agents/" + agent.identity.name + "/lease?wait_s=" + std::to_string(wait_s_)
                                 : "/v1/tasks/" + std::to_string(agent.task) + "/result";
    const std::string& body = phase == Phase::kLease ? std::string() : document_;
    agent.out = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + agent.identity.token +
                "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    agent.written = 0;
    agent.in.clear();
    agent.asked = Clock::now();
  }

  // Opens the agent's connection and starts sending its request.
  void Connect(int epoll, State& agent) {
    agent.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (agent.fd < 0) Die(std::string("socket: ") + std::strerror(errno) + " (raise ulimit -n)");
    const int one = 1;
    setsockopt(agent.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(agent.identity.port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(agent.fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 && errno != EINPROGRESS) {
      Die(std::string("connect: ") + std::strerror(errno));
    }
    epoll_event event{agent.waiting ? 0u : EPOLLIN | EPOLLOUT, {.ptr = &agent}};
    epoll_ctl(epoll, EPOLL_CTL_ADD, agent.fd, &event);
  }

  void Reconnect(int epoll, State& agent) {
    epoll_ctl(epoll, EPOLL_CTL_DEL, agent.fd, nullptr);
    close(agent.fd);
    agent.written = 0;
    agent.in.clear();
    Connect(epoll, agent);
  }

  void Write(int epoll, State& agent) {
    while (agent.written < agent.out.size()) {
      const ssize_t n = send(agent.fd, agent.out.data() + agent.written, agent.out.size() - agent.written, MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (n <= 0) {
        ++reconnects;
        return Reconnect(epoll, agent);
      }
      agent.written += static_cast<size_t>(n);
    }
    epoll_event event{EPOLLIN, {.ptr = &agent}};
    epoll_ctl(epoll, EPOLL_CTL_MOD, agent.fd, &event);
  }

  void Send(int epoll, State& agent) {
    epoll_event event{EPOLLIN | EPOLLOUT, {.ptr = &agent}};
    epoll_ctl(epoll, EPOLL_CTL_MOD, agent.fd, &event);
    Write(epoll, agent);
  }

  void Read(int epoll, State& agent) {
    char buffer[16384];
    bool closed = false;
    for (;;) {
      const ssize_t n = recv(agent.fd, buffer, sizeof buffer, 0);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n <= 0) {
        closed = true;
        break;
      }
      agent.in.append(buffer, static_cast<size_t>(n));
    }
    const size_t head_end = agent.in.find("\r\n\r\n");
    if (head_end == std::string::npos) {
      if (closed) {  // closed (keep-alive ended) before the answer: ask again on a new connection
        ++reconnects;
        Reconnect(epoll, agent);
      }
      return;
    }
    std::string head = agent.in.substr(0, head_end);
    std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return std::tolower(c); });
    size_t length = 0;
    if (const size_t at = head.find("\r\ncontent-length:"); at != std::string::npos) {
      length = std::strtoul(head.c_str() + at + 17, nullptr, 10);
    }
    if (agent.in.size() < head_end + 4 + length) {
      if (closed) {
        ++reconnects;
        Reconnect(epoll, agent);
      }
      return;
    }
    const int status = std::atoi(agent.in.c_str() + 9);  // "HTTP/1.1 200"
    const std::string body = agent.in.substr(head_end + 4, length);
    const bool closing = closed || head.find("\r\nconnection: close") != std::string::npos;
    if (!Answered(agent, status, body)) {
      resends_.emplace_back(Clock::now() + std::chrono::milliseconds(100), &agent);
    }
    if (closing) {
      epoll_ctl(epoll, EPOLL_CTL_DEL, agent.fd, nullptr);
      close(agent.fd);
      Connect(epoll, agent);  // the next request goes out once connected
      return;
    }
    if (agent.waiting) {
      epoll_event event{0, {.ptr = &agent}};
      epoll_ctl(epoll, EPOLL_CTL_MOD, agent.fd, &event);
      return;
    }
    Send(epoll, agent);
  }

  // Prepares the agent's next request from the answer to its last; false after an error answer,
  // when the agent waits before asking again.
  bool Answered(State& agent, int status, const std::string& body) {
    if (agent.phase == Phase::kLease && status == 200) {
      agent.task = json::parse(body)["task"]["id"].get<int64_t>();
      {
        std::lock_guard lock(mutex_);
        leased_at_[agent.task] = Clock::now();
        lease_answer_ms_.push_back(MsSince(agent.asked));
      }
      Request(agent, Phase::kUpload);
      return true;
    }
    if (agent.phase == Phase::kUpload && (status == 200 || status == 201)) {
      ++uploaded;
    } else if (status != 204) {
      Error((agent.phase == Phase::kLease ? "lease: HTTP " : "upload: HTTP ") + std::to_string(status) + " " + body);
      agent.waiting = true;
    }
    Request(agent, Phase::kLease);
    return !agent.waiting;
  }

  void Loop(int first, int step) {
    const int epoll = epoll_create1(0);
    std::vector<State*> mine;
    for (size_t i = first; i < agents_.size(); i += step) {
      mine.push_back(&agents_[i]);
      Request(agents_[i], Phase::kLease);
      Connect(epoll, agents_[i]);
    }
    std::vector<epoll_event> events(1024);
    while (!stop_) {
      const int n = epoll_wait(epoll, events.data(), static_cast<int>(events.size()), 50);
      for (int i = 0; i < n; ++i) {
        State& agent = *static_cast<State*>(events[i].data.ptr);
        if (agent.waiting) continue;
        if (events[i].events & EPOLLOUT) Write(epoll, agent);
        if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) Read(epoll, agent);
      }
      while (!resends_.empty() && resends_.front().first <= Clock::now()) {
        State& agent = *resends_.front().second;
        resends_.pop_front();
        agent.waiting = false;
        Send(epoll, agent);
      }
    }
    for (State* agent : mine) close(agent->fd);
    close(epoll);
  }

  std::vector<State> agents_;
  const std::string document_;
  const int wait_s_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::map<int64_t, Clock::time_point> leased_at_;
  std::vector<double> lease_answer_ms_;
  std::vector<std::thread> loops_;
  // Agents waiting after an error answer, and when they ask again (in order); per loop thread.
  static thread_local std::deque<std::pair<Clock::time_point, State*>> resends_;
};

thread_local std::deque<std::pair<Clock::time_point, AgentSwarm::State*>> AgentSwarm::resends_;

int PortOf(const std::string& url) { return std::atoi(url.substr(url.rfind(':') + 1).c_str()); }

// CPU time of processes from /proc/PID/stat, in clock ticks.
struct ProcessCpu {
  int64_t own = 0;       // utime + stime: its threads
  int64_t children = 0;  // cutime + cstime: its children that ended and were waited for
  int parent = 0;
};

std::optional<ProcessCpu> ReadProcessCpu(int pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(file, text)) return std::nullopt;
  const size_t name_end = text.rfind(')');  // the command name may hold spaces
  if (name_end == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(name_end + 2));
  std::vector<std::string> field;  // field[0] is the state, the third of the line
  for (std::string item; fields >> item && field.size() < 15;) field.push_back(item);
  if (field.size() < 15) return std::nullopt;
  return ProcessCpu{std::stoll(field[11]) + std::stoll(field[12]), std::stoll(field[13]) + std::stoll(field[14]),
                    std::stoi(field[1])};
}

// Ticks of `pid` and, with `tree`, of its children (alive now, or ended and waited for).
int64_t CpuTicks(int pid, bool tree) {
  const auto root = ReadProcessCpu(pid);
  if (!root) return 0;
  if (!tree) return root->own;
  int64_t ticks = root->own + root->children;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (const auto child = ReadProcessCpu(std::stoi(name)); child && child->parent == pid) ticks += child->own;
  }
  return ticks;
}

// The CPU time the parties of a scale run spend: each server, PostgreSQL (its processes) and
// this process (the simulated agents), sampled before and after a phase.
class CpuAccount {
 public:
  // `servers`: the server processes; `postgres`: the postmaster, 0 = none.
  CpuAccount(std::vector<int> servers, int postgres) : servers_(std::move(servers)), postgres_(postgres) {}
  void Start() { start_ = Sample(); }
  // Since Start(), a task's share: {"servers 1.23 + 1.20 ms, PostgreSQL 2.00 ms, agents (this bench)
  // 0.50 ms: 4.93 ms", 4.93}.
  std::pair<std::string, double> PerTask(int tasks) const {
    const std::vector<int64_t> end = Sample();
    const double ms_per_tick = 1000.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
    auto ms = [&](size_t i) { return static_cast<double>(end[i] - start_[i]) * ms_per_tick / std::max(1, tasks); };
    char text[64];
    std::string line = servers_.size() == 1 ? "server " : "servers ";
    double total = 0;
    for (size_t i = 0; i < servers_.size(); ++i) {
      std::snprintf(text, sizeof text, "%s%.2f", i == 0 ? "" : " + ", ms(i));
      line += text;
      total += ms(i);
    }
    line += " ms";
    if (postgres_ > 0) {
      std::snprintf(text, sizeof text, ", PostgreSQL %.2f ms", ms(servers_.size()));
      line += text;
      total += ms(servers_.size());
    }
    total += ms(end.size() - 1);
    std::snprintf(text, sizeof text, ", agents (this bench) %.2f ms: %.2f ms", ms(end.size() - 1), total);
    return {line + text, total};
  }

 private:
  std::vector<int64_t> Sample() const {
    std::vector<int64_t> ticks;
    for (const int pid : servers_) ticks.push_back(CpuTicks(pid, false));
    if (postgres_ > 0) ticks.push_back(CpuTicks(postgres_, true));
    ticks.push_back(CpuTicks(getpid(), false));
    return ticks;
  }

  std::vector<int> servers_;
  int postgres_;
  std::vector<int64_t> start_;
};

// `store`: "sqlite" (one server) or "postgresql" (two replicas on a new database).
// The scale phases' figures for one store, printed side by side at the end.
struct ScaleFigures {
  std::string label;
  double tasks_per_s = 0, cpu_ms_per_task = 0, lease_p50_ms = 0, lease_p99_ms = 0, assign_p50_ms = 0, assign_p99_ms = 0;
  int errors = 0;
};

// `store`: "sqlite" (one server) or "postgresql" (two replicas on a new database); `wait_s`: the
// simulated agents' long poll.
ScaleFigures RunScale(const std::string& binary, const std::string& model, int agents, int tasks,
                      const std::string& store, int wait_s) {
  const size_t replica_count = store == "postgresql" ? 2 : 1;
  // Each connection holds a server thread (keep-alive): a replica serves its share of the agents.
  const int http_threads = static_cast<int>(agents / replica_count) + 64;
  // Leases outlast the longest wait of an upload behind the others (the simulated agents send no
  // heartbeats), so that no task is leased twice.
  std::vector<std::string> extra = {"--http-threads", std::to_string(http_threads), "--lease-seconds", "300"};
  std::vector<Server> replicas;
  int postgres_pid = 0;
  if (store == "postgresql") {
    std::string error;
    edgebench::testing::PostgresServer* postgres = edgebench::testing::SharedPostgres(&error);
    if (!postgres) Die("PostgreSQL: " + error);
    postgres_pid = std::max(0, postgres->pid());
    extra.push_back("--store");
    extra.push_back(postgres->CreateDatabase("bench_" + std::to_string(getpid())));
    replicas.push_back(StartServer(binary, extra));
    replicas.push_back(StartServer(binary, extra, replicas[0].dir));
  } else {
    replicas.push_back(StartServer(binary, extra));
  }
  const std::string label = "scale[" + store + ", " + std::to_string(replicas.size()) +
                            (replicas.size() == 1 ? " server]" : " replicas]");
  Server& server = replicas[0];
  std::vector<std::unique_ptr<ServiceClient>> admins;
  for (const Server& replica : replicas) {
    admins.push_back(Must(ServiceClient::Connect(replica.url, server.admin_token), "connect"));
  }
  auto& admin = admins[0];
  const std::string sha = Must(admin->UploadModel(model), "upload")["sha256"];
  const json document = NullResult(binary, model);

  // Register the agents (a few clients at once), each with the replica it will talk to.
  std::vector<AgentSwarm::Agent> identities(agents);
  const auto registering = Clock::now();
  {
    std::vector<std::thread> registrars;
    const int clients = 8;
    for (int c = 0; c < clients; ++c) {
      registrars.emplace_back([&, c] {
        std::vector<std::unique_ptr<ServiceClient>> registrars_of;  // one per replica
        for (const Server& replica : replicas) {
          registrars_of.push_back(Must(ServiceClient::Connect(replica.url, server.registration_token), "connect"));
        }
        for (int i = c; i < agents; i += clients) {
          const Server& replica = replicas[i % replicas.size()];
          auto& registrar = registrars_of[i % replicas.size()];
          const std::string name = "sim" + std::to_string(i);
          const json request = {{"name", name},
                                {"facts", {{"arch", "x86_64"}, {"cores", 1}, {"runtimes", {{{"name", "null"}, {"version", "1"}}}}}},
                                {"labels", {{"fleet", "sim"}}}};
          identities[i] = {name, Must(registrar->RegisterAgent(request), "register")["token"], PortOf(replica.url)};
        }
      });
    }
    for (auto& registrar : registrars) registrar.join();
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

  // Throughput: every queued task leased and its result stored.
  std::vector<int> server_pids;
  for (const Server& replica : replicas) server_pids.push_back(replica.process->pid());
  CpuAccount cpu(server_pids, postgres_pid);
  cpu.Start();
  const auto draining = Clock::now();
  auto swarm = std::make_unique<AgentSwarm>(identities, document, wait_s, /*threads=*/2);
  while (swarm->uploaded < tasks && MsSince(draining) < 600000) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const double drain_s = MsSince(draining) / 1000;
  const auto [cpu_per_task, cpu_ms] = cpu.PerTask(swarm->uploaded.load());
  const std::vector<double> busy_lease_ms = swarm->LeaseAnswerMs();
  ScaleFigures figures;
  figures.label = label;
  figures.tasks_per_s = swarm->uploaded.load() / drain_s;
  figures.cpu_ms_per_task = cpu_ms;
  figures.lease_p50_ms = Percentile(busy_lease_ms, 0.5);
  figures.lease_p99_ms = Percentile(busy_lease_ms, 0.99);
  std::printf("%s: throughput %.0f tasks/s (%d tasks leased and their results stored in %.2f s by %d agents); "
              "lease answer with tasks queued: p50 %.1f ms, p99 %.1f ms\n",
              label.c_str(), figures.tasks_per_s, swarm->uploaded.load(), drain_s, agents, figures.lease_p50_ms,
              figures.lease_p99_ms);
  // What a task costs in CPU, whatever the machine's cores: the cores a rate needs.
  std::printf("%s: CPU time a task (throughput phase, /proc/PID/stat): %s of CPU a task\n", label.c_str(),
              cpu_per_task.c_str());

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
  while (swarm->uploaded < tasks + latency_tasks && MsSince(draining) < 600000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::vector<double> assignment_ms;
  for (const auto& [id, at] : swarm->LeasedAt()) {
    if (auto sent = submitted.find(id); sent != submitted.end()) {
      assignment_ms.push_back(std::chrono::duration<double, std::milli>(at - sent->second).count());
    }
  }
  figures.assign_p50_ms = Percentile(assignment_ms, 0.5);
  figures.assign_p99_ms = Percentile(assignment_ms, 0.99);
  figures.errors = swarm->errors.load();
  std::printf("%s: assignment latency (submit to lease answer, %zu tasks at ~50/s, %d idle agents "
              "long-polling %d s): p50 %.1f ms, p99 %.1f ms (goal: p99 < 100 ms); %d request errors, %d requests "
              "sent again on a new connection\n",
              label.c_str(), assignment_ms.size(), agents, wait_s, figures.assign_p50_ms, figures.assign_p99_ms,
              figures.errors, swarm->reconnects.load());
  swarm.reset();
  return figures;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each figure as it comes, also into a file
  std::string binary, model, image, store = "sqlite";
  int agents = 1000, tasks = 5000, dispatch_tasks = 20, wait_s = 10;
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
    else if (arg == "--poll-seconds") wait_s = std::atoi(value().c_str());
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
  std::vector<ScaleFigures> figures;
  for (const std::string& each : {std::string("sqlite"), std::string("postgresql")}) {
    if (store == each || store == "both") figures.push_back(RunScale(binary, model, agents, tasks, each, wait_s));
  }
  if (agents > 0) {
    std::printf("\n%d simulated agents, %d tasks queued, then 200 at ~50/s:\n"
                "| store | throughput | CPU a task (all parties) | lease answer p50 / p99 (tasks queued) "
                "| assignment p50 / p99 (idle agents) | errors |\n|---|---|---|---|---|---|\n", agents, tasks);
    for (const ScaleFigures& f : figures) {
      std::printf("| %s | %.0f tasks/s | %.2f ms | %.1f / %.1f ms | %.1f / %.1f ms | %d |\n", f.label.c_str(),
                  f.tasks_per_s, f.cpu_ms_per_task, f.lease_p50_ms, f.lease_p99_ms, f.assign_p50_ms, f.assign_p99_ms, f.errors);
    }
  }
  return 0;
}
