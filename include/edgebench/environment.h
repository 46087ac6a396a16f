// Facts about the machine a result was measured on, read once per run.
#pragma once

#include <cstdint>
#include <string>

namespace edgebench {

struct Environment {
  std::string hostname;
  std::string os;              // e.g. "Linux 6.1.0-18-amd64"
  std::string architecture;    // uname machine, e.g. "x86_64", "aarch64"
  std::string cpu_model;
  int logical_cores = 0;
  int usable_cores = 0;        // cores in this process's affinity mask
  std::string cpu_governor;    // "" when cpufreq is not exposed (VMs, containers)
  double cpu_frequency_mhz = 0;      // current frequency of cpu0; 0 when unknown
  double cpu_max_frequency_mhz = 0;  // 0 when unknown
  double load_average_1m = 0;
  int64_t memory_total_bytes = 0;
  int64_t memory_available_bytes = 0;
  std::string container;       // "docker", "podman", "container" or "" for native
  std::string edgebench_version;
  std::string edgebench_commit;
};

Environment CollectEnvironment();

}  // namespace edgebench
