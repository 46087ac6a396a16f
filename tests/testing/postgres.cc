#include "testing/postgres.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

#include "testing/process.h"

namespace edgebench::testing {
namespace {

namespace fs = std::filesystem;

constexpr uid_t kNobody = 65534;  // Debian's nobody/nogroup

// A loopback port free now.
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  return port;
}

// `argv` run as nobody when this process is root (the server refuses to run as root).
std::vector<std::string> Unprivileged(std::vector<std::string> argv) {
  if (geteuid() != 0) return argv;
  std::vector<std::string> wrapped = {"/usr/bin/setpriv", "--reuid=" + std::to_string(kNobody),
                                      "--regid=" + std::to_string(kNobody), "--clear-groups"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::string PostgresServer::BinDir() {
  const char* configured = std::getenv("EDGEBENCH_POSTGRES_BIN");
  const std::string dir = configured && *configured ? configured : "/usr/lib/postgresql/15/bin";
  return access((dir + "/initdb").c_str(), X_OK) == 0 && access((dir + "/pg_ctl").c_str(), X_OK) == 0 ? dir : "";
}

std::unique_ptr<PostgresServer> PostgresServer::Start(std::string* error) {
  std::unique_ptr<PostgresServer> server(new PostgresServer());
  server->bin_ = BinDir();
  if (server->bin_.empty()) {
    *error = "PostgreSQL server binaries not found (initdb, pg_ctl in /usr/lib/postgresql/15/bin or "
             "$EDGEBENCH_POSTGRES_BIN; tools/setup.sh installs postgresql-15)";
    return nullptr;
  }
  char pattern[] = "/tmp/edgebench-postgres.XXXXXX";
  if (!mkdtemp(pattern)) {
    *error = "cannot create a temporary directory";
    return nullptr;
  }
  server->dir_ = pattern;
  chmod(pattern, 0755);
  if (geteuid() == 0 && chown(pattern, kNobody, kNobody) != 0) {
    *error = server->dir_ + ": cannot hand the directory to nobody";
    return nullptr;
  }
  const std::string data = server->dir_ + "/data";
  const ProcessResult init = RunProcess(Unprivileged(
      {server->bin_ + "/initdb", "-D", data, "-U", "edgebench", "--auth=trust", "-E", "UTF8", "--no-sync"}));
  if (init.exit_code != 0) {
    *error = "initdb failed: " + init.err;
    return nullptr;
  }
  server->port_ = FreePort();
  const ProcessResult start = RunProcess(Unprivileged(
      {server->bin_ + "/pg_ctl", "-D", data, "-l", server->dir_ + "/log", "-w", "-t", "60", "-o",
       "-p " + std::to_string(server->port_) + " -h 127.0.0.1 -k " + server->dir_ +
           " -F -c max_connections=300", "start"}));
  if (start.exit_code != 0) {
    *error = "pg_ctl start failed: " + start.out + start.err + Slurp(server->dir_ + "/log");
    return nullptr;
  }
  return server;
}

PostgresServer::~PostgresServer() {
  if (port_ != 0) {
    RunProcess(Unprivileged({bin_ + "/pg_ctl", "-D", dir_ + "/data", "-m", "immediate", "-w", "stop"}));
  }
  if (!dir_.empty()) {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
}

int PostgresServer::pid() const {
  std::ifstream file(dir_ + "/data/postmaster.pid");  // its first line
  int pid = -1;
  return file >> pid ? pid : -1;
}

std::string PostgresServer::CreateDatabase(const std::string& name) {
  RunProcess({bin_ + "/createdb", "-h", "127.0.0.1", "-p", std::to_string(port_), "-U", "edgebench", name});
  return "postgresql://edgebench@127.0.0.1:" + std::to_string(port_) + "/" + name;
}

PostgresServer* SharedPostgres(std::string* error) {
  static std::mutex mutex;
  static std::unique_ptr<PostgresServer> server;
  static std::string start_error;
  std::lock_guard lock(mutex);
  if (!server && start_error.empty()) {
    server = PostgresServer::Start(&start_error);
  }
  *error = start_error;
  return server.get();
}

}  // namespace edgebench::testing
