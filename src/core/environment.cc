#include "edgebench/environment.h"

#include <sched.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "edgebench/version.h"

namespace edgebench {
namespace {

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// Value of the first "key<sep>value" line of a /proc file, trimmed.
std::string ProcField(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    return value;
  }
  return "";
}

int64_t MeminfoBytes(const std::string& key) {
  const std::string value = ProcField("/proc/meminfo", key + ":");
  return value.empty() ? 0 : std::stoll(value) * 1024;  // reported in kB
}

std::string DetectContainer() {
  if (std::filesystem::exists("/.dockerenv")) return "docker";
  if (std::filesystem::exists("/run/.containerenv")) return "podman";
  std::ifstream cgroup("/proc/1/cgroup");
  std::string line;
  while (std::getline(cgroup, line)) {
    if (line.find("docker") != std::string::npos) return "docker";
    if (line.find("kubepods") != std::string::npos) return "kubernetes";
    if (line.find("lxc") != std::string::npos) return "lxc";
  }
  if (const char* container = std::getenv("container"); container && *container) return container;
  return "";
}

double KhzFileToMhz(const std::string& path) {
  const std::string value = ReadFirstLine(path);
  return value.empty() ? 0 : std::stod(value) / 1000.0;
}

}  // namespace

Environment CollectEnvironment() {
  Environment env;
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0) env.hostname = host;
  utsname names{};
  if (uname(&names) == 0) {
    env.os = std::string(names.sysname) + " " + names.release;
    env.architecture = names.machine;
  }
  env.cpu_model = ProcField("/proc/cpuinfo", "model name");
  if (env.cpu_model.empty()) env.cpu_model = ProcField("/proc/cpuinfo", "Model");  // Arm boards
  env.logical_cores = static_cast<int>(std::thread::hardware_concurrency());
  cpu_set_t set;
  CPU_ZERO(&set);
  env.usable_cores = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : env.logical_cores;
  const std::string cpufreq = "/sys/devices/system/cpu/cpu0/cpufreq/";
  env.cpu_governor = ReadFirstLine(cpufreq + "scaling_governor");
  env.cpu_frequency_mhz = KhzFileToMhz(cpufreq + "scaling_cur_freq");
  env.cpu_max_frequency_mhz = KhzFileToMhz(cpufreq + "cpuinfo_max_freq");
  if (env.cpu_frequency_mhz == 0) {
    const std::string mhz = ProcField("/proc/cpuinfo", "cpu MHz");
    if (!mhz.empty()) env.cpu_frequency_mhz = std::stod(mhz);
  }
  std::istringstream(ReadFirstLine("/proc/loadavg")) >> env.load_average_1m;
  env.memory_total_bytes = MeminfoBytes("MemTotal");
  env.memory_available_bytes = MeminfoBytes("MemAvailable");
  env.container = DetectContainer();
  env.edgebench_version = kVersion;
  env.edgebench_commit = kGitCommit;
  return env;
}

}  // namespace edgebench
