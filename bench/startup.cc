// What starting an `edgebench` process costs: wall time and peak resident memory of commands
// that need no runtime (`--version`, `tasks` against a local server) beside `runtimes --json`,
// which loads every runtime plugin. With --baseline, another edgebench binary (e.g. a build
// from before the runtimes became plugins) runs the same commands, interleaved run by run with
// this one, and each figure gets its ratio baseline / this one with a 95% interval. Prints
// figures; asserts nothing.
//
// Usage: bench_startup --binary EDGEBENCH [--baseline OTHER_EDGEBENCH] [--runs 20]
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "edgebench/stats.h"
#include "testing/backend_testing.h"
#include "testing/process.h"
#include "testing/test_models.h"

namespace {

using edgebench::testing::Background;

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "bench_startup: %s\n", message.c_str());
  std::exit(1);
}

struct Sample {
  double wall_ms = 0;
  double peak_rss_mb = 0;
};

// Runs argv once; its wall time and peak RSS.
Sample RunOnce(const std::vector<std::string>& argv) {
  const auto run = edgebench::testing::RunProcess(argv);
  if (run.exit_code != 0) Die(argv[0] + " " + argv[1] + " failed: " + run.err);
  return {run.wall_ms, run.peak_rss_kb / 1024.0};
}

double Median(const std::vector<double>& values) { return edgebench::ComputeLatencyStats(values).p50; }

// "median [low, high]" of the run-by-run ratios a[i] / b[i] (the runs are interleaved, so each
// pair saw the same machine).
std::string RatioWithInterval(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> ratios;
  for (size_t i = 0; i < a.size(); ++i) ratios.push_back(a[i] / b[i]);
  const edgebench::LatencyStats stats = edgebench::ComputeLatencyStats(ratios);
  char text[96];
  std::snprintf(text, sizeof text, "%.1fx [%.1f, %.1f]", stats.p50, stats.median_ci95_low, stats.median_ci95_high);
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  std::string binary, baseline;
  int runs = 20;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--binary") {
      binary = value();
    } else if (arg == "--baseline") {
      baseline = value();
    } else if (arg == "--runs") {
      runs = std::atoi(value().c_str());
    } else {
      Die("unknown argument '" + arg + "' (usage: bench_startup --binary EDGEBENCH [--baseline OTHER] [--runs N])");
    }
  }
  if (binary.empty() || runs < 2) Die("--binary is required and --runs must be >= 2");

  // One server for the `tasks` command (both binaries speak the same API).
  const std::string dir = edgebench::testing::MakeTempDir();
  Background server({binary, "server", "--listen", "127.0.0.1:0", "--data", dir + "/data"}, dir + "/server.log",
                    /*pipe_stdout=*/true);
  const std::string line = server.ReadLine(20000);
  if (line.rfind("listening on ", 0) != 0) Die("server did not start: " + edgebench::testing::ReadFile(dir + "/server.log"));
  const std::string url = line.substr(std::string("listening on ").size());
  const std::string token_file = dir + "/data/admin.token";

  struct Command {
    std::string label;
    std::vector<std::string> args;
  };
  const std::vector<Command> commands = {
      {"--version", {"--version"}},
      {"tasks", {"tasks", "--server", url, "--token-file", token_file}},
      {"runtimes --json (loads every plugin)", {"runtimes", "--json"}},
  };
  std::vector<std::string> binaries = {binary};
  if (!baseline.empty()) binaries.push_back(baseline);

  // samples[binary][command]
  std::vector<std::vector<std::vector<Sample>>> samples(binaries.size(),
                                                        std::vector<std::vector<Sample>>(commands.size()));
  for (int run = 0; run < runs; ++run) {
    for (size_t c = 0; c < commands.size(); ++c) {
      for (size_t b = 0; b < binaries.size(); ++b) {
        std::vector<std::string> argv = commands[c].args;
        argv.insert(argv.begin(), binaries[b]);
        samples[b][c].push_back(RunOnce(argv));
      }
    }
  }

  std::printf("%d runs of each command, interleaved%s\n", runs, baseline.empty() ? "" : " with the baseline");
  for (size_t c = 0; c < commands.size(); ++c) {
    std::printf("%s\n", commands[c].label.c_str());
    std::vector<std::vector<double>> wall(binaries.size()), rss(binaries.size());
    for (size_t b = 0; b < binaries.size(); ++b) {
      for (const auto& sample : samples[b][c]) {
        wall[b].push_back(sample.wall_ms);
        rss[b].push_back(sample.peak_rss_mb);
      }
      std::printf("  %-9s wall median %8.1f ms  peak RSS median %6.1f MB   (%s)\n", b == 0 ? "this" : "baseline",
                  Median(wall[b]), Median(rss[b]), binaries[b].c_str());
    }
    if (binaries.size() == 2) {
      std::printf("  baseline / this: wall %s, peak RSS %s (median of run-by-run ratios, 95%% interval)\n",
                  RatioWithInterval(wall[1], wall[0]).c_str(), RatioWithInterval(rss[1], rss[0]).c_str());
    }
  }
  return 0;
}
