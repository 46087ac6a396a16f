// Interference evidence around the timed runs: CPU steal and iowait, context switches, CPU clock,
// temperatures, throttling flags, power and energy, and the process's resident memory.
//
// Every reader takes the filesystem root ("/" on a real machine, a fake tree in tests) and reads
// an absent, unreadable or garbled source as absent (nullopt or empty), never as an error.
// SummarizeInterference is a pure function; InterferenceMonitor does the sampling.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace edgebench {

// ---- Memory: proc/self/status of this process.
struct ProcessMemory {
  int64_t rss_bytes = 0;       // VmRSS
  int64_t peak_rss_bytes = 0;  // VmHWM: peak since start or since ResetPeakResident
};
std::optional<ProcessMemory> ReadProcessMemory(const std::filesystem::path& root = "/");
// Resets VmHWM to the current RSS by writing "5" to proc/self/clear_refs (Linux 4.0+).
// False when the kernel refuses it (older kernels, some containers).
bool ResetPeakResident(const std::filesystem::path& root = "/");

// ---- CPU time: the "cpuN" lines of proc/stat for `cpus` summed (the "cpu" line when empty), in
// clock ticks. total = user + nice + system + idle + iowait + irq + softirq + steal.
struct CpuTimes {
  uint64_t total = 0, iowait = 0, steal = 0;
};
std::optional<CpuTimes> ReadCpuTimes(const std::filesystem::path& root, std::span<const int> cpus);

// The CPUs in this process's affinity mask.
std::vector<int> UsableCpus();

// ---- CPU clock: mean scaling_cur_freq of those of `cpus` that expose cpufreq, in MHz.
std::optional<double> ReadCpuFrequencyMhz(const std::filesystem::path& root, std::span<const int> cpus);

// ---- Temperatures: sys/class/thermal/thermal_zone*/temp (millidegrees) with their type.
struct ThermalReading {
  std::string zone;  // "thermal_zone0"
  std::string type;  // "cpu-thermal", "x86_pkg_temp"
  double celsius = 0;
};
std::vector<ThermalReading> ReadThermalZones(const std::filesystem::path& root);

// ---- Throttling.
// Raspberry Pi firmware flags (the value of `vcgencmd get_throttled`, from sysfs): bits 0-3 are
// the state now (under-voltage, ARM frequency capped, throttled, soft temperature limit), bits
// 16-19 the same events since boot.
std::optional<uint32_t> ReadPiThrottled(const std::filesystem::path& root);
// Names of bits 0-3 of Pi throttling flags, in bit order.
std::vector<std::string> ThrottledFlagNames(uint32_t flags);
// x86: thermal throttling events of `cpus` so far (sum of thermal_throttle/core_throttle_count).
std::optional<uint64_t> ReadCoreThrottleCount(const std::filesystem::path& root, std::span<const int> cpus);

// ---- Power and energy sensors.
struct PowerSensor {
  enum class Kind {
    kEnergyMicrojoules,  // a counter: powercap energy_uj (RAPL), hwmon energy*_input
    kPowerMicrowatts,    // hwmon power*_input
    kPowerMilliwatts,    // Jetson ina3221x (iio) in_power*_input
    kVoltsTimesAmps,     // Jetson ina3221 (hwmon): in*_input (mV) x curr*_input (mA)
  };
  std::string name;  // "powercap/intel-rapl:0 (package-0)", "hwmon/hwmon1 ina3221 VDD_IN"
  Kind kind = Kind::kEnergyMicrojoules;
  std::filesystem::path value;    // the file read (the voltage for kVoltsTimesAmps)
  std::filesystem::path current;  // kVoltsTimesAmps: the current file
  uint64_t wrap_microjoules = 0;  // energy counters: max_energy_range_uj (0 = unknown)
};
std::vector<PowerSensor> FindPowerSensors(const std::filesystem::path& root);
// Microjoules for an energy counter, watts for a power sensor.
std::optional<double> ReadPowerSensor(const PowerSensor& sensor);

// ---- What the sampler sees at one moment, and the counters at the start and end of the timed stage.
struct SensorSample {
  std::optional<double> cpu_frequency_mhz;
  std::vector<ThermalReading> thermal;
  std::optional<uint32_t> pi_throttled;
  std::vector<std::optional<double>> power;  // per sensor of FindPowerSensors, in its order
};

struct CounterSnapshot {
  std::optional<CpuTimes> cpu;
  int64_t voluntary_context_switches = 0;    // getrusage, this process less the sampler
  int64_t involuntary_context_switches = 0;
  std::optional<uint64_t> core_throttle_count;
};

// ---- The summary in the result document (docs/result-schema.md, `interference`).
struct ThermalZoneSummary {
  std::string zone, type;
  double start_c = 0, max_c = 0, end_c = 0;
};

struct PowerSummary {
  std::string sensor;
  double average_w = 0;
  std::optional<double> energy_per_inference_mj;  // unset without timed runs
};

struct Interference {
  double sample_period_ms = 0;
  int samples = 0;  // sensor samples taken (0 when no sensor exists to sample)
  std::optional<double> steal_percent;   // of the usable CPUs' time during the timed stage
  std::optional<double> iowait_percent;
  int64_t voluntary_context_switches = 0;
  int64_t involuntary_context_switches = 0;
  std::optional<double> cpu_frequency_min_mhz, cpu_frequency_max_mhz;
  // Largest fall of the clock from an earlier sample to a later one at which the hottest thermal
  // zone was hotter, in percent of the earlier clock; unset without both clock and temperature.
  std::optional<double> thermal_frequency_drop_percent;
  std::vector<ThermalZoneSummary> thermal_zones;
  // Pi: bits 0-3 seen set in any sample, or newly set among the since-boot bits 16-19.
  std::optional<uint32_t> throttled_flags;
  std::optional<int64_t> throttle_events;  // x86: core_throttle_count increase
  std::vector<PowerSummary> power;
};

// Summarises the timed stage: counters at its start and end, sensor samples in time order (the
// first taken at its start, the last at its end), `runs` timed runs in `measure_ms`.
Interference SummarizeInterference(const CounterSnapshot& start, const CounterSnapshot& end,
                                   std::span<const SensorSample> samples,
                                   std::span<const PowerSensor> sensors, std::size_t runs,
                                   double measure_ms, double sample_period_ms);

// Samples interference sources over a stage (the harness: the timed runs): counters at Start and
// Stop, and the sensors at both and every `period` between on a background thread, which exists
// only when some sensor does. Stop ends the thread at once (a condition variable, no sleep).
class InterferenceMonitor {
 public:
  explicit InterferenceMonitor(std::filesystem::path root = "/",
                               std::chrono::milliseconds period = std::chrono::milliseconds(100));
  ~InterferenceMonitor();
  InterferenceMonitor(const InterferenceMonitor&) = delete;
  InterferenceMonitor& operator=(const InterferenceMonitor&) = delete;

  void Start();
  void Stop();
  // After Stop.
  Interference Summary(std::size_t runs, double measure_ms) const;

 private:
  SensorSample Sample() const;
  CounterSnapshot Counters() const;
  void StopSampler();

  std::filesystem::path root_;
  std::chrono::milliseconds period_;
  std::vector<int> cpus_;
  std::vector<PowerSensor> sensors_;
  bool has_sensors_ = false;
  CounterSnapshot start_, end_;
  std::vector<SensorSample> samples_;  // guarded by mutex_ while the sampler runs
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  int64_t sampler_voluntary_ = 0, sampler_involuntary_ = 0;  // the sampler thread's own switches
  std::thread sampler_;
};

}  // namespace edgebench
