// `edgebench agent --server URL --name NAME --token-file F`: serve tasks on this device.
#include "command.h"
#include "edgebench/agent.h"
#include "edgebench/client.h"

namespace edgebench::cli {
namespace {

struct AgentFlags {
  std::string token_file;
  std::string mode = "native";
  std::vector<std::string> labels;  // key=value
  AgentOptions options;
};

int RunAgentCommand(AgentFlags& flags) {
  auto labels = KeyValues(flags.labels, "--label");
  if (!labels.ok()) return ReportError(labels.error());
  flags.options.labels = *labels;
  if (flags.mode == "docker") {
    flags.options.mode = ExecutionMode::kDocker;
  } else if (flags.mode == "auto") {
    flags.options.mode = ExecutionMode::kAuto;
  } else {
    flags.options.mode = ExecutionMode::kNative;
  }
  const DockerOptions& docker = flags.options.docker;
  if (docker.memory_mb < 16 || docker.pids_limit < 8 || docker.cpus < 0 || docker.tmpfs_mb < 1) {
    return ReportError(InvalidArgument("docker limits out of range: --docker-memory-mb >= 16, --docker-pids >= 8, "
                                       "--docker-cpus >= 0, --docker-tmpfs-mb >= 1"));
  }
  if (docker.user.empty() || docker.user == "0" || docker.user.rfind("0:", 0) == 0 || docker.user == "root") {
    return ReportError(InvalidArgument("--docker-user '" + docker.user + "': the bench never runs as root"));
  }
  auto token = ReadTokenFile(flags.token_file);
  if (!token.ok()) return ReportError(token.error());
  flags.options.registration_token = *token;
  Status status = RunAgent(flags.options);
  return status.ok() ? kExitOk : ReportError(status.error());
}

}  // namespace

void AddAgentCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<AgentFlags>();
  AgentOptions& o = flags->options;
  auto* command = app.add_subcommand("agent", "Run tasks of an evaluation server on this device");
  command->footer("Example:\n  edgebench agent --server http://10.0.0.1:8080 --name rpi4 "
                  "--token-file agent.token --label board=rpi4\n"
                  "Each task runs 'edgebench bench': as a child process (--mode native) or in the task's\n"
                  "runtime image through the Docker engine (--mode docker; see docs/device-images.md).");
  command->add_option("--server", o.server_url,
                      "Server URL, http://HOST:PORT; replicas: several, comma-separated or repeated (fails over)")
      ->required()
      ->envname("EDGEBENCH_SERVER")
      ->delimiter(',')
      ->multi_option_policy(CLI::MultiOptionPolicy::Join);
  command->add_option("--ca-file", o.ca_file,
                      "CA certificate (PEM) that signed an https server's certificate (default $EDGEBENCH_CA_FILE, "
                      "else the system's CA store)")
      ->check(CLI::ExistingFile);
  command->add_option("--name", o.name, "Device name (unique on the server)")->required();
  command->add_option("--token-file", flags->token_file, "File holding the server's agent registration token")
      ->required();
  command->add_option("--label", flags->labels, "Label KEY=VALUE for task selectors (repeatable)");
  command->add_option("--cache-dir", o.cache_dir, "Where downloaded models are kept");
  command->add_option("--poll-seconds", o.poll_seconds, "Long-poll wait of one lease request")
      ->capture_default_str();
  command->add_option("--task-timeout", o.task_timeout_seconds,
                      "Kill a bench after this many seconds (a task's timeout_s may lower it)")
      ->capture_default_str();
  command->add_option("--register-timeout", o.register_timeout_seconds,
                      "Keep trying an unreachable server this many seconds at start")
      ->capture_default_str();
  command->add_option("--server-retry", o.server_retry_seconds,
                      "Keep retrying a model download or result upload this many seconds while "
                      "the server is unreachable")
      ->capture_default_str();
  command->add_flag("--once", o.once, "Exit after one task");
  command->add_option("--mode", flags->mode,
                      "native: a child process; docker: the runtime image of each task; auto: docker when "
                      "a Docker engine answers and the server has images for this architecture")
      ->check(CLI::IsMember({"native", "docker", "auto"}))
      ->capture_default_str();
  command->add_option("--docker-socket", o.docker.socket_path,
                      "The Docker engine's socket (default $DOCKER_HOST unix://, else /var/run/docker.sock)");
  command->add_option("--docker-memory-mb", o.docker.memory_mb, "Container memory limit (MiB, no swap)")
      ->capture_default_str();
  command->add_option("--docker-cpus", o.docker.cpus, "Container CPU quota in cores (0 = all)")->capture_default_str();
  command->add_option("--docker-pids", o.docker.pids_limit, "Container process/thread limit")->capture_default_str();
  command->add_option("--docker-user", o.docker.user, "uid:gid the bench runs as in the container (not root)")
      ->capture_default_str();
  command->add_option("--docker-tmpfs-mb", o.docker.tmpfs_mb, "Size of the container's writable /tmp (MiB)")
      ->capture_default_str();
  command->add_option("--pull-timeout", o.docker.pull_timeout_seconds, "Seconds an image pull may take")
      ->capture_default_str();
  command->callback([flags, &exit_code] { exit_code = RunAgentCommand(*flags); });
}

}  // namespace edgebench::cli
