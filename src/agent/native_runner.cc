// NativeRunner: the bench as a child process of the agent.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "task_runner.h"

namespace edgebench::agent {
namespace {

class NativeRunner final : public TaskRunner {
 public:
  explicit NativeRunner(std::string bench_binary) : bench_binary_(std::move(bench_binary)) {}

  Expected<RunOutcome> Run(const TaskSpec& task, LeaseKeeper& lease) override {
    const std::string log_path = task.out_dir + "/bench.log";
    std::vector<std::string> models = {task.model_path};
    models.insert(models.end(), task.compare_model_paths.begin(), task.compare_model_paths.end());
    std::vector<std::string> argv = TaskArguments(task, models, task.settings_path, task.out_dir + "/result.json");
    argv.insert(argv.begin(), bench_binary_);
    const pid_t agent_pid = getpid();
    const pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // a killed agent takes its bench with it
      if (getppid() != agent_pid) _exit(127);
      setpgid(0, 0);
      const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int null_in = open("/dev/null", O_RDONLY);
      dup2(null_in, STDIN_FILENO);
      dup2(log, STDOUT_FILENO);
      dup2(log, STDERR_FILENO);
      for (int fd = 3; fd < 1024; ++fd) close(fd);
      std::vector<char*> args;
      for (auto& arg : argv) args.push_back(arg.data());
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    if (pid < 0) return RuntimeError("fork failed");
    int status = 0;
    RunOutcome outcome;
    outcome.wait = lease.WaitRenewing(Clock::now() + std::chrono::seconds(task.timeout_s),
                                      [&] { return waitpid(pid, &status, WNOHANG) == pid; });
    if (outcome.wait != WaitOutcome::kDone) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      outcome.note = "the bench process was killed";
    }
    outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    outcome.log = ReadFileText(log_path);
    return outcome;
  }

  std::string FailureStage(const Error&) const override { return "agent"; }
  std::string Describe() const override { return "native mode"; }

 private:
  std::string bench_binary_;
};

}  // namespace

std::unique_ptr<TaskRunner> MakeNativeRunner(std::string bench_binary) {
  return std::make_unique<NativeRunner>(std::move(bench_binary));
}

}  // namespace edgebench::agent
