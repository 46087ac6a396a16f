#include "edgebench/sensors.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace edgebench {
namespace {

namespace fs = std::filesystem;

// A fake filesystem root under a fresh temporary directory, removed afterwards.
class FakeRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("edgebench_sensors_" + std::to_string(getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::permissions(root_, fs::perms::owner_all, fs::perm_options::add, ignored);
    fs::remove_all(root_, ignored);
  }
  void Write(const std::string& relative, const std::string& text) {
    const fs::path path = root_ / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }
  // A directory where a file is expected: unreadable as a file even for root.
  void MakeDirectory(const std::string& relative) { fs::create_directories(root_ / relative); }

  fs::path root_;
};

using ProcessMemoryTest = FakeRoot;

TEST_F(ProcessMemoryTest, ReadsRssAndPeakInBytes) {
  Write("proc/self/status", "Name:\tedgebench\nVmPeak:\t  900000 kB\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\n");
  const auto memory = ReadProcessMemory(root_);
  ASSERT_TRUE(memory.has_value());
  EXPECT_EQ(memory->rss_bytes, 40960 * 1024);
  EXPECT_EQ(memory->peak_rss_bytes, 51200 * 1024);
}

TEST_F(ProcessMemoryTest, AbsentUnreadableOrGarbledIsNothing) {
  EXPECT_FALSE(ReadProcessMemory(root_).has_value());
  MakeDirectory("proc/self/status");
  EXPECT_FALSE(ReadProcessMemory(root_).has_value());
  fs::remove_all(root_ / "proc");
  Write("proc/self/status", "VmHWM:\tlots kB\nVmRSS:\t12 kB\n");
  EXPECT_FALSE(ReadProcessMemory(root_).has_value());
}

TEST_F(ProcessMemoryTest, ResetWritesFiveToClearRefs) {
  EXPECT_FALSE(ResetPeakResident(root_));  // no proc/self directory
  Write("proc/self/clear_refs", "");
  EXPECT_TRUE(ResetPeakResident(root_));
  std::ifstream in(root_ / "proc/self/clear_refs");
  std::string text;
  in >> text;
  EXPECT_EQ(text, "5");
}

TEST(ProcessMemory, ThisProcessHasAResidentSet) {
  const auto memory = ReadProcessMemory();
  ASSERT_TRUE(memory.has_value());
  EXPECT_GT(memory->rss_bytes, 0);
  EXPECT_GE(memory->peak_rss_bytes, memory->rss_bytes);
}

using CpuTimesTest = FakeRoot;

constexpr const char* kProcStat =
    "cpu  100 10 50 800 20 0 5 15 0 0\n"
    "cpu0 60 5 25 400 10 0 3 5 0 0\n"
    "cpu1 40 5 25 400 10 0 2 10 0 0\n"
    "intr 12345\n";

TEST_F(CpuTimesTest, SumsTheLinesOfTheCpusAsked) {
  Write("proc/stat", kProcStat);
  const int cpu1[] = {1};
  const auto one = ReadCpuTimes(root_, cpu1);
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->total, 40u + 5 + 25 + 400 + 10 + 0 + 2 + 10);
  EXPECT_EQ(one->iowait, 10u);
  EXPECT_EQ(one->steal, 10u);
  const auto all = ReadCpuTimes(root_, {});
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->total, 1000u);
  EXPECT_EQ(all->steal, 15u);
}

TEST_F(CpuTimesTest, MissingCpuOrGarbageIsNothing) {
  const int cpu3[] = {3};
  EXPECT_FALSE(ReadCpuTimes(root_, cpu3).has_value());
  Write("proc/stat", kProcStat);
  EXPECT_FALSE(ReadCpuTimes(root_, cpu3).has_value());
  Write("proc/stat", "cpu  100 ten 50\n");
  EXPECT_FALSE(ReadCpuTimes(root_, {}).has_value());
}

using FrequencyTest = FakeRoot;

TEST_F(FrequencyTest, AveragesTheCpusThatExposeCpufreq) {
  const int cpus[] = {0, 1, 2};
  EXPECT_FALSE(ReadCpuFrequencyMhz(root_, cpus).has_value());
  Write("sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq", "1500000\n");
  Write("sys/devices/system/cpu/cpu1/cpufreq/scaling_cur_freq", "1300000\n");
  Write("sys/devices/system/cpu/cpu2/cpufreq/scaling_cur_freq", "garbage\n");
  EXPECT_DOUBLE_EQ(*ReadCpuFrequencyMhz(root_, cpus), 1400);
}

using ThermalTest = FakeRoot;

TEST_F(ThermalTest, ReadsZonesWithTheirTypes) {
  EXPECT_TRUE(ReadThermalZones(root_).empty());
  Write("sys/class/thermal/thermal_zone0/temp", "48312\n");
  Write("sys/class/thermal/thermal_zone0/type", "cpu-thermal\n");
  Write("sys/class/thermal/thermal_zone1/temp", "-\n");  // garbled: skipped
  MakeDirectory("sys/class/thermal/thermal_zone2/temp");  // unreadable: skipped
  Write("sys/class/thermal/cooling_device0/cur_state", "0\n");
  const auto zones = ReadThermalZones(root_);
  ASSERT_EQ(zones.size(), 1u);
  EXPECT_EQ(zones[0].zone, "thermal_zone0");
  EXPECT_EQ(zones[0].type, "cpu-thermal");
  EXPECT_DOUBLE_EQ(zones[0].celsius, 48.312);
}

using ThrottlingTest = FakeRoot;

TEST_F(ThrottlingTest, ReadsPiFlagsInHex) {
  EXPECT_FALSE(ReadPiThrottled(root_).has_value());
  Write("sys/devices/platform/soc/soc:firmware/get_throttled", "50005\n");
  EXPECT_EQ(*ReadPiThrottled(root_), 0x50005u);
  Write("sys/devices/platform/soc/soc:firmware/get_throttled", "throttled=0x0\n");
  EXPECT_FALSE(ReadPiThrottled(root_).has_value());
  EXPECT_EQ(ThrottledFlagNames(0x5), (std::vector<std::string>{"under-voltage", "throttled"}));
}

TEST_F(ThrottlingTest, SumsX86CoreThrottleCounts) {
  const int cpus[] = {0, 1};
  EXPECT_FALSE(ReadCoreThrottleCount(root_, cpus).has_value());
  Write("sys/devices/system/cpu/cpu0/thermal_throttle/core_throttle_count", "3\n");
  Write("sys/devices/system/cpu/cpu1/thermal_throttle/core_throttle_count", "4\n");
  EXPECT_EQ(*ReadCoreThrottleCount(root_, cpus), 7u);
}

using PowerSensorTest = FakeRoot;

TEST_F(PowerSensorTest, FindsRaplHwmonAndJetsonRails) {
  EXPECT_TRUE(FindPowerSensors(root_).empty());
  Write("sys/class/powercap/intel-rapl:0/name", "package-0\n");
  Write("sys/class/powercap/intel-rapl:0/energy_uj", "123456\n");
  Write("sys/class/powercap/intel-rapl:0/max_energy_range_uj", "262143328850\n");
  Write("sys/class/powercap/intel-rapl/enabled", "1\n");  // the control type: no counter
  Write("sys/class/hwmon/hwmon0/name", "acpi_power\n");
  Write("sys/class/hwmon/hwmon0/power1_input", "4500000\n");
  Write("sys/class/hwmon/hwmon1/name", "ina3221\n");
  Write("sys/class/hwmon/hwmon1/in1_label", "VDD_IN\n");
  Write("sys/class/hwmon/hwmon1/in1_input", "5000\n");
  Write("sys/class/hwmon/hwmon1/curr1_input", "1200\n");
  Write("sys/class/hwmon/hwmon1/in4_input", "300\n");  // a shunt voltage: no current beside it
  Write("sys/bus/i2c/drivers/ina3221x/1-0040/iio:device0/rail_name_0", "VDD_SYS_GPU\n");
  Write("sys/bus/i2c/drivers/ina3221x/1-0040/iio:device0/in_power0_input", "2500\n");
  const auto sensors = FindPowerSensors(root_);
  ASSERT_EQ(sensors.size(), 4u);
  EXPECT_EQ(sensors[0].name, "powercap/intel-rapl:0 (package-0)");
  EXPECT_EQ(sensors[0].wrap_microjoules, 262143328850u);
  EXPECT_DOUBLE_EQ(*ReadPowerSensor(sensors[0]), 123456);
  EXPECT_EQ(sensors[1].name, "hwmon/hwmon0 acpi_power power1");
  EXPECT_DOUBLE_EQ(*ReadPowerSensor(sensors[1]), 4.5);
  EXPECT_EQ(sensors[2].name, "hwmon/hwmon1 ina3221 VDD_IN");
  EXPECT_DOUBLE_EQ(*ReadPowerSensor(sensors[2]), 6.0);  // 5 V x 1.2 A
  EXPECT_EQ(sensors[3].name, "ina3221x 1-0040 VDD_SYS_GPU");
  EXPECT_DOUBLE_EQ(*ReadPowerSensor(sensors[3]), 2.5);
  Write("sys/class/hwmon/hwmon1/curr1_input", "n/a\n");
  EXPECT_FALSE(ReadPowerSensor(sensors[2]).has_value());
}

// ---- SummarizeInterference: a pure function over counters and samples.

SensorSample At(double mhz, double celsius) {
  return {mhz, {{"thermal_zone0", "cpu-thermal", celsius}}, std::nullopt, {}};
}

TEST(SummarizeInterference, StealAndIowaitShareAndContextSwitches) {
  CounterSnapshot start{CpuTimes{1000, 10, 50}, 100, 7, std::nullopt};
  CounterSnapshot end{CpuTimes{1400, 30, 70}, 130, 19, std::nullopt};
  const Interference i = SummarizeInterference(start, end, {}, {}, 10, 1000, 100);
  EXPECT_DOUBLE_EQ(*i.iowait_percent, 5.0);   // 20 of 400 ticks
  EXPECT_DOUBLE_EQ(*i.steal_percent, 5.0);    // 20 of 400 ticks
  EXPECT_EQ(i.voluntary_context_switches, 30);
  EXPECT_EQ(i.involuntary_context_switches, 12);
  EXPECT_EQ(i.samples, 0);
  EXPECT_FALSE(i.cpu_frequency_min_mhz.has_value());
  EXPECT_FALSE(i.thermal_frequency_drop_percent.has_value());
  EXPECT_FALSE(i.throttled_flags.has_value());
  EXPECT_TRUE(i.power.empty());
}

TEST(SummarizeInterference, ACounterThatWentBackwardsCountsNothing) {
  CounterSnapshot start{CpuTimes{1000, 10, 50}, 0, 0, 9};
  CounterSnapshot end{CpuTimes{1400, 30, 40}, 0, 0, 9};
  const Interference i = SummarizeInterference(start, end, {}, {}, 10, 1000, 100);
  EXPECT_DOUBLE_EQ(*i.steal_percent, 0.0);
  EXPECT_EQ(*i.throttle_events, 0);
}

TEST(SummarizeInterference, WithoutCpuTimesStealIsUnknown) {
  const Interference i = SummarizeInterference({}, {}, {}, {}, 10, 1000, 100);
  EXPECT_FALSE(i.steal_percent.has_value());
}

TEST(SummarizeInterference, ClockDropCountsOnlyWhileGettingHotter) {
  // 1500 MHz at 50 C, then 1200 MHz at 70 C: a 20% drop towards a hotter moment.
  const SensorSample hot[] = {At(1500, 50), At(1500, 60), At(1200, 70), At(1400, 65)};
  const Interference i = SummarizeInterference({}, {}, hot, {}, 10, 1000, 100);
  EXPECT_DOUBLE_EQ(*i.thermal_frequency_drop_percent, 20.0);
  EXPECT_DOUBLE_EQ(*i.cpu_frequency_min_mhz, 1200);
  EXPECT_DOUBLE_EQ(*i.cpu_frequency_max_mhz, 1500);
  ASSERT_EQ(i.thermal_zones.size(), 1u);
  EXPECT_DOUBLE_EQ(i.thermal_zones[0].start_c, 50);
  EXPECT_DOUBLE_EQ(i.thermal_zones[0].max_c, 70);
  EXPECT_DOUBLE_EQ(i.thermal_zones[0].end_c, 65);
  // The same clock drop while cooling (a governor, not heat) is no thermal drop.
  const SensorSample cool[] = {At(1500, 70), At(1200, 60)};
  EXPECT_DOUBLE_EQ(*SummarizeInterference({}, {}, cool, {}, 10, 1000, 100).thermal_frequency_drop_percent, 0);
}

TEST(SummarizeInterference, PiFlagsSeenNowOrNewlySinceBoot) {
  SensorSample a, b, c;
  a.pi_throttled = 0x10000;  // under-voltage before the run: not counted
  b.pi_throttled = 0x10000;
  c.pi_throttled = 0x50000;  // throttling happened since the last look
  const SensorSample samples[] = {a, b, c};
  EXPECT_EQ(*SummarizeInterference({}, {}, samples, {}, 10, 1000, 100).throttled_flags, 0x4u);
  const SensorSample quiet[] = {a, b};
  EXPECT_EQ(*SummarizeInterference({}, {}, quiet, {}, 10, 1000, 100).throttled_flags, 0u);
}

TEST(SummarizeInterference, EnergyCounterWithWrapAndPowerAverage) {
  const PowerSensor sensors[] = {
      {"rapl", PowerSensor::Kind::kEnergyMicrojoules, {}, {}, 1000000},
      {"rail", PowerSensor::Kind::kPowerMicrowatts, {}, {}, 0},
  };
  // 2 s: the counter goes 900000 -> 400000 (wrapped at 1 J: +500000) -> 900000 (+500000): 1 J.
  SensorSample s0, s1, s2;
  s0.power = {900000.0, 4.0};
  s1.power = {400000.0, std::nullopt};
  s2.power = {900000.0, 6.0};
  const SensorSample samples[] = {s0, s1, s2};
  const Interference i = SummarizeInterference({}, {}, samples, sensors, 100, 2000, 100);
  ASSERT_EQ(i.power.size(), 2u);
  EXPECT_DOUBLE_EQ(i.power[0].average_w, 0.5);                 // 1 J over 2 s
  EXPECT_DOUBLE_EQ(*i.power[0].energy_per_inference_mj, 10);   // 1 J over 100 runs
  EXPECT_DOUBLE_EQ(i.power[1].average_w, 5);
  EXPECT_DOUBLE_EQ(*i.power[1].energy_per_inference_mj, 100);  // 5 W x 2 s / 100
}

TEST(SummarizeInterference, AnEnergyCounterReadOnceGivesNothing) {
  const PowerSensor sensors[] = {{"rapl", PowerSensor::Kind::kEnergyMicrojoules, {}, {}, 0}};
  SensorSample s0;
  s0.power = {5.0};
  const SensorSample samples[] = {s0};
  EXPECT_TRUE(SummarizeInterference({}, {}, samples, sensors, 10, 1000, 100).power.empty());
}

// ---- The monitor over a fake tree: samples at start and stop, stops at once.

using InterferenceMonitorTest = FakeRoot;

TEST_F(InterferenceMonitorTest, SamplesAtStartAndStopAndCountsTheCounters) {
  Write("sys/class/thermal/thermal_zone0/temp", "40000\n");
  Write("sys/class/thermal/thermal_zone0/type", "soc\n");
  // A stat line for each CPU this process may use: 200 ticks each, 50 of them stolen.
  auto stat = [](const std::string& ticks) {
    std::string text;
    for (int cpu : UsableCpus()) text += "cpu" + std::to_string(cpu) + " " + ticks + "\n";
    return text;
  };
  Write("proc/stat", stat("100 0 0 900 0 0 0 0 0 0"));
  InterferenceMonitor monitor(root_, std::chrono::hours(1));  // the period never elapses
  monitor.Start();
  Write("sys/class/thermal/thermal_zone0/temp", "45000\n");
  Write("proc/stat", stat("150 0 0 1000 0 0 0 50 0 0"));
  monitor.Stop();
  const Interference i = monitor.Summary(10, 1000);
  EXPECT_DOUBLE_EQ(*i.steal_percent, 25.0);
  EXPECT_EQ(i.samples, 2);
  ASSERT_EQ(i.thermal_zones.size(), 1u);
  EXPECT_DOUBLE_EQ(i.thermal_zones[0].start_c, 40);
  EXPECT_DOUBLE_EQ(i.thermal_zones[0].end_c, 45);
  EXPECT_GE(i.voluntary_context_switches, 0);
}

TEST_F(InterferenceMonitorTest, WithoutSensorsThereIsNoSampler) {
  InterferenceMonitor monitor(root_);
  monitor.Start();
  monitor.Stop();
  const Interference i = monitor.Summary(10, 1000);
  EXPECT_EQ(i.samples, 0);
  EXPECT_FALSE(i.steal_percent.has_value());
  EXPECT_TRUE(i.thermal_zones.empty());
}

}  // namespace
}  // namespace edgebench
