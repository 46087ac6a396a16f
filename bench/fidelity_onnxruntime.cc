// Fidelity: edgebench's median on the onnxruntime backend vs a bare loop over the ONNX Runtime
// C++ API, same model, same input bytes, same settings (1 intra-op thread, all graph
// optimisations), interleaved in blocks in one process so both see the same machine state.
// Prints the ratio of the medians (goal: within 1%). Asserts nothing.
// Usage: bench_fidelity_onnxruntime MODEL.onnx [rounds=10] [runs_per_block=30]
#include <onnxruntime_cxx_api.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "edgebench/registry.h"
#include "edgebench/runner.h"
#include "edgebench/stats.h"

namespace {

using namespace edgebench;

double Median(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  return Percentile(samples, 50);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL.onnx [rounds] [runs_per_block]\n", argv[0]);
    return 2;
  }
  const std::string path = argv[1];
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 10;
  const int block = argc > 3 ? std::atoi(argv[3]) : 30;

  // edgebench side, through the registry like the CLI.
  auto entry = FindBackend("onnxruntime");
  auto model = InspectModelFile(path);
  if (!entry.ok() || !model.ok()) {
    std::fprintf(stderr, "%s\n", (entry.ok() ? model.error() : entry.error()).message.c_str());
    return 2;
  }
  std::unique_ptr<Backend> backend = (*entry)->create();
  LoadRequest request{*model, 1, *ValidateOptions((*entry)->describe(), {})};
  if (Status s = backend->Load(request); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.error().message.c_str());
    return 1;
  }
  const auto specs = ResolveInputShapes(backend->InputSpecs(), {});
  if (!specs.ok() || specs->size() != 1 || (*specs)[0].type != DataType::kFloat32) {
    std::fprintf(stderr, "this benchmark needs a model with one static float32 input\n");
    return 2;
  }
  Tensor input = *MakeRandomTensor((*specs)[0], 0);
  if (!backend->SetInputs({input}).ok()) return 1;

  // Bare side: the plain ORT API.
  Ort::Env env(ORT_LOGGING_LEVEL_WARNING, "fidelity");
  Ort::SessionOptions options;
  options.SetIntraOpNumThreads(1);
  options.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_ENABLE_ALL);
  Ort::Session session(env, path.c_str(), options);
  Ort::AllocatorWithDefaultOptions allocator;
  const std::string input_name = session.GetInputNameAllocated(0, allocator).get();
  std::vector<std::string> output_names;
  for (std::size_t i = 0; i < session.GetOutputCount(); ++i) {
    output_names.push_back(session.GetOutputNameAllocated(i, allocator).get());
  }
  std::vector<const char*> output_ptrs;
  for (const auto& name : output_names) output_ptrs.push_back(name.c_str());
  const char* input_ptr = input_name.c_str();
  auto memory = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  Ort::Value value = Ort::Value::CreateTensor<float>(
      memory, reinterpret_cast<float*>(input.data.data()), input.data.size() / sizeof(float),
      input.spec.shape.data(), input.spec.shape.size());

  BenchSettings settings;
  settings.warmup_runs = 3;
  settings.warmup_min_ms = 0;
  settings.min_runs = block;
  settings.max_runs = block;
  settings.min_duration_ms = 0;

  std::vector<double> edgebench_ms, bare_ms;
  for (int round = 0; round < rounds; ++round) {
    Measurement m = Measure(*backend, settings);
    edgebench_ms.insert(edgebench_ms.end(), m.samples_ms.begin(), m.samples_ms.end());
    for (int i = 0; i < settings.warmup_runs; ++i) {
      session.Run(Ort::RunOptions{nullptr}, &input_ptr, &value, 1, output_ptrs.data(), output_ptrs.size());
    }
    for (int i = 0; i < block; ++i) {
      const auto before = std::chrono::steady_clock::now();
      auto outputs = session.Run(Ort::RunOptions{nullptr}, &input_ptr, &value, 1, output_ptrs.data(),
                                 output_ptrs.size());
      const auto after = std::chrono::steady_clock::now();
      bare_ms.push_back(std::chrono::duration<double, std::milli>(after - before).count());
    }
  }
  const double edgebench_median = Median(edgebench_ms), bare_median = Median(bare_ms);
  std::printf("fidelity (%s, 1 thread, %d rounds x %d runs, interleaved): edgebench median %.4f ms, "
              "bare ORT loop median %.4f ms, ratio %.4f (goal: within 1%%)\n",
              path.c_str(), rounds, block, edgebench_median, bare_median,
              edgebench_median / bare_median);
  return 0;
}
