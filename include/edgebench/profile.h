// Per-operator profiles: the one record every backend converts its runtime's profiler output
// into, and the pure summary by kernel type (the operator shares table).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace edgebench {

// One kernel the runtime executed (or, with fused_into set, a layer it folded into another
// kernel), accumulated over the profiled runs.
struct OpEvent {
  std::string kernel_name;  // unique within a profile: the runtime's node/layer name
  std::string kernel_type;  // the runtime's operator type ("Conv", "Convolution", "aten::clamp")
  // Names of the source-graph nodes this kernel covers, where the runtime tells (OpenCV: the
  // kernel's node plus the nodes fused into it; onnxruntime: the node of its optimized graph);
  // empty when unknown.
  std::vector<std::string> source_nodes;
  std::string provider;  // where it ran: "CPUExecutionProvider", "opencv/cpu", "cpu"
  std::string fused_into;  // kernel_name of the kernel that computed this one; "" = ran itself
  double total_ms = 0;  // summed over all calls in all profiled runs
  int64_t calls = 0;    // how many times it ran in all profiled runs (0 when fused)
};

struct OpProfile {
  std::string source;         // the profiler: "onnxruntime profiler", "opencv getPerfProfile", ...
  int64_t profiled_runs = 0;  // inferences the kernels were accumulated over
  std::vector<OpEvent> kernels;  // in execution order of the first profiled run
};

// The kernels of one kernel_type, over the kernels that ran themselves (fused_into empty).
struct KernelTypeShare {
  std::string kernel_type;
  int64_t kernels = 0;          // distinct kernels of this type
  double ms_per_inference = 0;  // their summed total_ms / profiled_runs
  double share = 0;             // fraction of the summed time of all kernels, in [0, 1]
};

// Groups the kernels by kernel_type, sorted by share (descending, ties by type name). Kernels
// fused into another are left out: their time is inside that kernel. Shares are 0 when the
// kernels took no time in total; ms_per_inference is 0 when profiled_runs is 0. Pure.
std::vector<KernelTypeShare> SummarizeByKernelType(const OpProfile& profile);

// Where kernels ran ("N of M layers ran on the DLA, the rest fell back to the GPU").
struct ProviderShare {
  std::string provider;  // OpEvent::provider; "unknown" where the runtime did not say
  int64_t kernels = 0;   // kernels that ran there themselves (fused_into empty)
  double share = 0;      // their fraction of the summed time of all such kernels, in [0, 1]
};

// Counts the kernels that ran themselves per provider, by kernels (descending), ties in order
// of first appearance. Pure.
std::vector<ProviderShare> SummarizeByProvider(const OpProfile& profile);

// Kernels that only move data between host and device memory, as runtimes name them:
// onnxruntime's MemcpyFromHost/MemcpyToHost (inserted where a graph crosses from one execution
// provider to another, e.g. around a CUDA or TensorRT partition). CPU-only runs have none.
bool IsTransferKernelType(const std::string& kernel_type);

// The hidden cost of accelerator fallback: the time spent moving tensors between providers.
struct TransferSummary {
  int64_t kernels = 0;          // transfer kernels that ran themselves
  double ms_per_inference = 0;  // their summed total_ms / profiled_runs
  double share = 0;             // fraction of the summed time of all kernels, in [0, 1]
};
TransferSummary SummarizeTransfers(const OpProfile& profile);

// Kernels that only convert a tensor between memory layouts, as runtimes name them:
// onnxruntime's ReorderInput/ReorderOutput (to and from its blocked NCHWc layout, inserted where
// a kernel that runs in NCHWc meets one that does not, or the model's input or output).
bool IsLayoutKernelType(const std::string& kernel_type);

// The fraction of the summed time of the kernels that ran themselves spent in layout kernels,
// in [0, 1]; 0 when the kernels took no time. Pure.
double LayoutShare(const OpProfile& profile);

}  // namespace edgebench
