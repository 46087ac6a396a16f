#include "edgebench/sensors.h"

#include <sched.h>
#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <sstream>

namespace edgebench {
namespace {

namespace fs = std::filesystem;

// `path` relative to `root`: "/" + "proc/stat".
fs::path Under(const fs::path& root, const std::string& relative) { return root / relative; }

std::optional<std::string> ReadFirstLine(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

// A whole-line integer in `base`; nullopt for anything else.
template <typename T>
std::optional<T> ParseInteger(const std::string& text, int base = 10) {
  std::string digits = text;
  if (base == 16 && digits.rfind("0x", 0) == 0) digits = digits.substr(2);
  T value{};
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
  if (error != std::errc() || end != digits.data() + digits.size() || digits.empty()) return std::nullopt;
  return value;
}

template <typename T>
std::optional<T> ReadInteger(const fs::path& path, int base = 10) {
  auto line = ReadFirstLine(path);
  return line ? ParseInteger<T>(*line, base) : std::nullopt;
}

// Directory entries of `dir` whose names start with `prefix`, sorted; none when unreadable.
std::vector<fs::path> Entries(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> entries;
  std::error_code error;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    if (it->path().filename().string().rfind(prefix, 0) == 0) entries.push_back(it->path());
  }
  std::sort(entries.begin(), entries.end());
  return entries;
}

// "power3_input" with prefix "power" and suffix "_input" -> "3".
std::optional<std::string> Channel(const fs::path& file, const std::string& prefix, const std::string& suffix) {
  const std::string name = file.filename().string();
  if (name.size() <= prefix.size() + suffix.size() || name.rfind(prefix, 0) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return std::nullopt;
  }
  const std::string channel = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (!ParseInteger<int>(channel)) return std::nullopt;
  return channel;
}

void AddHwmonSensors(const fs::path& hwmon, std::vector<PowerSensor>& sensors) {
  const std::string chip = ReadFirstLine(hwmon / "name").value_or("");
  const std::string prefix = "hwmon/" + hwmon.filename().string() + (chip.empty() ? "" : " " + chip) + " ";
  auto label = [&](const std::string& stem) {
    return ReadFirstLine(hwmon / (stem + "_label")).value_or(stem);
  };
  for (const auto& file : Entries(hwmon, "")) {
    if (auto channel = Channel(file, "energy", "_input")) {
      sensors.push_back({prefix + label("energy" + *channel), PowerSensor::Kind::kEnergyMicrojoules, file, {}, 0});
    } else if (auto channel = Channel(file, "power", "_input")) {
      sensors.push_back({prefix + label("power" + *channel), PowerSensor::Kind::kPowerMicrowatts, file, {}, 0});
    } else if (auto channel = Channel(file, "in", "_input"); channel && chip == "ina3221") {
      // Channels 1-3 are bus voltages with a current of the same number; 4-7 are shunt voltages.
      const fs::path current = hwmon / ("curr" + *channel + "_input");
      if (fs::exists(current)) {
        sensors.push_back({prefix + label("in" + *channel), PowerSensor::Kind::kVoltsTimesAmps, file, current, 0});
      }
    }
  }
}

int64_t ThreadSwitches(int who, bool voluntary) {
  rusage usage{};
  if (getrusage(who, &usage) != 0) return 0;
  return voluntary ? usage.ru_nvcsw : usage.ru_nivcsw;
}

// The increase of a counter; 0 where it went backwards (some hypervisors' steal counters do).
uint64_t Increase(uint64_t before, uint64_t after) { return after > before ? after - before : 0; }

double PercentOf(uint64_t part, uint64_t whole) {
  return whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0;
}

}  // namespace

std::optional<ProcessMemory> ReadProcessMemory(const fs::path& root) {
  std::ifstream in(Under(root, "proc/self/status"));
  std::optional<int64_t> rss, peak;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key, unit;
    int64_t kilobytes = 0;
    if (!(fields >> key >> kilobytes >> unit) || unit != "kB") continue;
    if (key == "VmRSS:") rss = kilobytes * 1024;
    if (key == "VmHWM:") peak = kilobytes * 1024;
  }
  if (!rss || !peak) return std::nullopt;
  return ProcessMemory{*rss, *peak};
}

bool ResetPeakResident(const fs::path& root) {
  std::ofstream out(Under(root, "proc/self/clear_refs"));
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

std::optional<CpuTimes> ReadCpuTimes(const fs::path& root, std::span<const int> cpus) {
  std::ifstream in(Under(root, "proc/stat"));
  std::vector<std::string> wanted;
  if (cpus.empty()) wanted.push_back("cpu");
  for (int cpu : cpus) wanted.push_back("cpu" + std::to_string(cpu));
  CpuTimes times;
  std::size_t found = 0;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name;
    fields >> name;
    if (std::find(wanted.begin(), wanted.end(), name) == wanted.end()) continue;
    uint64_t value[8] = {};  // user nice system idle iowait irq softirq steal
    for (auto& v : value) {
      if (!(fields >> v)) return std::nullopt;
    }
    for (auto v : value) times.total += v;
    times.iowait += value[4];
    times.steal += value[7];
    ++found;
  }
  if (found != wanted.size()) return std::nullopt;
  return times;
}

std::vector<int> UsableCpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

std::optional<double> ReadCpuFrequencyMhz(const fs::path& root, std::span<const int> cpus) {
  double sum = 0;
  int count = 0;
  for (int cpu : cpus) {
    const auto khz = ReadInteger<int64_t>(
        Under(root, "sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/cpufreq/scaling_cur_freq"));
    if (!khz) continue;
    sum += static_cast<double>(*khz) / 1000.0;
    ++count;
  }
  if (count == 0) return std::nullopt;
  return sum / count;
}

std::vector<ThermalReading> ReadThermalZones(const fs::path& root) {
  std::vector<ThermalReading> readings;
  for (const auto& zone : Entries(Under(root, "sys/class/thermal"), "thermal_zone")) {
    const auto millidegrees = ReadInteger<int64_t>(zone / "temp");
    if (!millidegrees) continue;
    readings.push_back({zone.filename().string(), ReadFirstLine(zone / "type").value_or(""),
                        static_cast<double>(*millidegrees) / 1000.0});
  }
  return readings;
}

std::optional<uint32_t> ReadPiThrottled(const fs::path& root) {
  return ReadInteger<uint32_t>(Under(root, "sys/devices/platform/soc/soc:firmware/get_throttled"), 16);
}

std::vector<std::string> ThrottledFlagNames(uint32_t flags) {
  static const char* const kNames[] = {"under-voltage", "ARM frequency capped", "throttled",
                                       "soft temperature limit"};
  std::vector<std::string> names;
  for (int bit = 0; bit < 4; ++bit) {
    if (flags & (1u << bit)) names.push_back(kNames[bit]);
  }
  return names;
}

std::optional<uint64_t> ReadCoreThrottleCount(const fs::path& root, std::span<const int> cpus) {
  std::optional<uint64_t> total;
  for (int cpu : cpus) {
    const auto count = ReadInteger<uint64_t>(Under(
        root, "sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/thermal_throttle/core_throttle_count"));
    if (count) total = total.value_or(0) + *count;
  }
  return total;
}

std::vector<PowerSensor> FindPowerSensors(const fs::path& root) {
  std::vector<PowerSensor> sensors;
  // RAPL (Intel, AMD): one zone per package with sub-zones (core, uncore, dram) beside it.
  for (const auto& zone : Entries(Under(root, "sys/class/powercap"), "")) {
    const fs::path energy = zone / "energy_uj";
    if (!ReadInteger<uint64_t>(energy)) continue;
    const std::string name = ReadFirstLine(zone / "name").value_or("");
    sensors.push_back({"powercap/" + zone.filename().string() + (name.empty() ? "" : " (" + name + ")"),
                       PowerSensor::Kind::kEnergyMicrojoules, energy, {},
                       ReadInteger<uint64_t>(zone / "max_energy_range_uj").value_or(0)});
  }
  for (const auto& hwmon : Entries(Under(root, "sys/class/hwmon"), "hwmon")) AddHwmonSensors(hwmon, sensors);
  // Jetson with the L4T ina3221x driver (before JetPack 5): rails in milliwatts under iio.
  for (const auto& device : Entries(Under(root, "sys/bus/i2c/drivers/ina3221x"), "")) {
    for (const auto& iio : Entries(device, "iio:device")) {
      for (const auto& file : Entries(iio, "in_power")) {
        auto channel = Channel(file, "in_power", "_input");
        if (!channel) continue;
        const std::string rail = ReadFirstLine(iio / ("rail_name_" + *channel)).value_or("in_power" + *channel);
        sensors.push_back({"ina3221x " + device.filename().string() + " " + rail,
                           PowerSensor::Kind::kPowerMilliwatts, file, {}, 0});
      }
    }
  }
  return sensors;
}

std::optional<double> ReadPowerSensor(const PowerSensor& sensor) {
  const auto value = ReadInteger<int64_t>(sensor.value);
  if (!value) return std::nullopt;
  const double v = static_cast<double>(*value);
  switch (sensor.kind) {
    case PowerSensor::Kind::kEnergyMicrojoules: return v;
    case PowerSensor::Kind::kPowerMicrowatts: return v / 1e6;
    case PowerSensor::Kind::kPowerMilliwatts: return v / 1e3;
    case PowerSensor::Kind::kVoltsTimesAmps: {
      const auto milliamps = ReadInteger<int64_t>(sensor.current);
      if (!milliamps) return std::nullopt;
      return v * static_cast<double>(*milliamps) / 1e6;
    }
  }
  return std::nullopt;
}

Interference SummarizeInterference(const CounterSnapshot& start, const CounterSnapshot& end,
                                   std::span<const SensorSample> samples,
                                   std::span<const PowerSensor> sensors, std::size_t runs,
                                   double measure_ms, double sample_period_ms) {
  Interference summary;
  summary.sample_period_ms = sample_period_ms;
  summary.samples = static_cast<int>(samples.size());
  if (start.cpu && end.cpu && end.cpu->total > start.cpu->total) {
    const uint64_t total = end.cpu->total - start.cpu->total;
    summary.steal_percent = PercentOf(Increase(start.cpu->steal, end.cpu->steal), total);
    summary.iowait_percent = PercentOf(Increase(start.cpu->iowait, end.cpu->iowait), total);
  }
  summary.voluntary_context_switches = end.voluntary_context_switches - start.voluntary_context_switches;
  summary.involuntary_context_switches = end.involuntary_context_switches - start.involuntary_context_switches;
  if (start.core_throttle_count && end.core_throttle_count) {
    summary.throttle_events = static_cast<int64_t>(Increase(*start.core_throttle_count, *end.core_throttle_count));
  }

  // Clock range, and the largest clock fall towards a hotter moment (running peak of the clock).
  std::optional<double> peak_mhz, peak_celsius;
  for (const SensorSample& sample : samples) {
    std::optional<double> hottest;
    for (const auto& reading : sample.thermal) hottest = std::max(hottest.value_or(reading.celsius), reading.celsius);
    if (!sample.cpu_frequency_mhz) continue;
    const double mhz = *sample.cpu_frequency_mhz;
    summary.cpu_frequency_min_mhz = std::min(summary.cpu_frequency_min_mhz.value_or(mhz), mhz);
    summary.cpu_frequency_max_mhz = std::max(summary.cpu_frequency_max_mhz.value_or(mhz), mhz);
    if (!hottest) continue;
    if (!summary.thermal_frequency_drop_percent) summary.thermal_frequency_drop_percent = 0;
    if (peak_mhz && *hottest > *peak_celsius && mhz < *peak_mhz) {
      summary.thermal_frequency_drop_percent =
          std::max(*summary.thermal_frequency_drop_percent, 100 * (*peak_mhz - mhz) / *peak_mhz);
    }
    if (!peak_mhz || mhz > *peak_mhz) {
      peak_mhz = mhz;
      peak_celsius = hottest;
    }
  }

  // Thermal zones by name, in the order first seen.
  for (const SensorSample& sample : samples) {
    for (const auto& reading : sample.thermal) {
      auto zone = std::find_if(summary.thermal_zones.begin(), summary.thermal_zones.end(),
                               [&](const ThermalZoneSummary& z) { return z.zone == reading.zone; });
      if (zone == summary.thermal_zones.end()) {
        summary.thermal_zones.push_back({reading.zone, reading.type, reading.celsius, reading.celsius, reading.celsius});
        continue;
      }
      zone->max_c = std::max(zone->max_c, reading.celsius);
      zone->end_c = reading.celsius;
    }
  }

  std::optional<uint32_t> first_pi, last_pi;
  uint32_t seen_now = 0;
  for (const SensorSample& sample : samples) {
    if (!sample.pi_throttled) continue;
    if (!first_pi) first_pi = sample.pi_throttled;
    last_pi = sample.pi_throttled;
    seen_now |= *sample.pi_throttled & 0xF;
  }
  if (first_pi) summary.throttled_flags = seen_now | (((*last_pi & ~*first_pi) >> 16) & 0xF);

  const double seconds = measure_ms / 1000.0;
  for (std::size_t i = 0; i < sensors.size(); ++i) {
    const PowerSensor& sensor = sensors[i];
    const bool counter = sensor.kind == PowerSensor::Kind::kEnergyMicrojoules;
    double sum = 0;  // microjoules for a counter, watts otherwise
    int readings = 0;
    std::optional<double> previous;
    for (const SensorSample& sample : samples) {
      if (i >= sample.power.size() || !sample.power[i]) continue;
      const double value = *sample.power[i];
      ++readings;
      if (!counter) {
        sum += value;
      } else if (previous) {
        // A counter that went down wrapped at max_energy_range_uj (once between two samples).
        sum += value >= *previous ? value - *previous : value + static_cast<double>(sensor.wrap_microjoules) - *previous;
      }
      previous = value;
    }
    if (readings < (counter ? 2 : 1) || seconds <= 0) continue;
    PowerSummary power{sensor.name, counter ? sum / 1e6 / seconds : sum / readings, std::nullopt};
    if (runs > 0) power.energy_per_inference_mj = 1000 * power.average_w * seconds / static_cast<double>(runs);
    summary.power.push_back(std::move(power));
  }
  return summary;
}

InterferenceMonitor::InterferenceMonitor(fs::path root, std::chrono::milliseconds period)
    : root_(std::move(root)), period_(period), cpus_(UsableCpus()) {}

InterferenceMonitor::~InterferenceMonitor() { StopSampler(); }

SensorSample InterferenceMonitor::Sample() const {
  SensorSample sample{ReadCpuFrequencyMhz(root_, cpus_), ReadThermalZones(root_), ReadPiThrottled(root_), {}};
  for (const auto& sensor : sensors_) sample.power.push_back(ReadPowerSensor(sensor));
  return sample;
}

CounterSnapshot InterferenceMonitor::Counters() const {
  return {ReadCpuTimes(root_, cpus_), ThreadSwitches(RUSAGE_SELF, true), ThreadSwitches(RUSAGE_SELF, false),
          ReadCoreThrottleCount(root_, cpus_)};
}

void InterferenceMonitor::Start() {
  sensors_ = FindPowerSensors(root_);
  samples_.clear();
  SensorSample first = Sample();
  has_sensors_ = first.cpu_frequency_mhz || !first.thermal.empty() || first.pi_throttled || !sensors_.empty();
  if (has_sensors_) samples_.push_back(std::move(first));
  stop_ = false;
  sampler_voluntary_ = sampler_involuntary_ = 0;
  start_ = Counters();
  if (!has_sensors_) return;
  sampler_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, period_, [this] { return stop_; })) {
      lock.unlock();
      SensorSample sample = Sample();
      lock.lock();
      samples_.push_back(std::move(sample));
    }
    // A thread's counts start at 0; they stay in the process's after it exits.
    sampler_voluntary_ = ThreadSwitches(RUSAGE_THREAD, true);
    sampler_involuntary_ = ThreadSwitches(RUSAGE_THREAD, false);
  });
}

void InterferenceMonitor::StopSampler() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (sampler_.joinable()) sampler_.join();
}

void InterferenceMonitor::Stop() {
  StopSampler();
  end_ = Counters();
  // The sampler's own waits are not the benchmark's.
  end_.voluntary_context_switches -= sampler_voluntary_;
  end_.involuntary_context_switches -= sampler_involuntary_;
  if (has_sensors_) samples_.push_back(Sample());
}

Interference InterferenceMonitor::Summary(std::size_t runs, double measure_ms) const {
  return SummarizeInterference(start_, end_, samples_, sensors_, runs, measure_ms,
                               static_cast<double>(period_.count()));
}

}  // namespace edgebench
