// Harness overhead: nanoseconds per timed iteration of edgebench's measurement loop on the null
// backend (which does nothing), beside a bare loop over the same virtual RunOnce call without
// clocks. Prints figures; asserts nothing. Usage: bench_harness_overhead [runs]
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "edgebench/registry.h"
#include "edgebench/runner.h"

int main(int argc, char** argv) {
  using namespace edgebench;
  const int runs = argc > 1 ? std::atoi(argv[1]) : 2'000'000;
  auto entry = FindBackend("null");
  if (!entry.ok()) {
    std::fprintf(stderr, "%s\n", entry.error().message.c_str());
    return 1;
  }
  std::unique_ptr<Backend> backend = (*entry)->create();
  LoadRequest request;
  request.options = *ValidateOptions((*entry)->describe(), {});
  if (!backend->Load(request).ok() || !backend->SetInputs({}).ok()) return 1;

  BenchSettings settings;
  settings.warmup_runs = 1000;
  settings.warmup_min_ms = 0;
  settings.min_runs = runs;
  settings.max_runs = runs;
  settings.min_duration_ms = 0;

  for (int round = 0; round < 3; ++round) {
    const Measurement m = Measure(*backend, settings);
    const double harness_ns = m.measure_ms * 1e6 / static_cast<double>(m.samples_ms.size());

    const auto start = std::chrono::steady_clock::now();
    int failures = 0;
    for (int i = 0; i < runs; ++i) failures += !backend->RunOnce().ok();
    const double bare_ns =
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() / runs;

    std::printf("round %d: edgebench timed loop %.1f ns/iteration, bare call loop %.1f ns/iteration, "
                "overhead %.1f ns (goal: < 100 ns per timed iteration)%s\n",
                round + 1, harness_ns, bare_ns, harness_ns - bare_ns, failures ? " [failures]" : "");
  }
  return 0;
}
