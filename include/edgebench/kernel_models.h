// Single-kernel models for latency prediction (edgebench kernels generate): configurations
// sampled around the kernels of real models, and one ONNX model per configuration built the way
// exporters build real models, so that a runtime runs it as exactly one kernel.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "edgebench/kernel_split.h"
#include "edgebench/kernels.h"
#include "edgebench/status.h"

namespace edgebench {

// Writes an ONNX model (opset 14) that runs `config` as one kernel: Conv -> BatchNormalization ->
// activation (relu6 is Clip with min/max initializers), "same" padding (kernel_size / 2 for odd
// kernels), Gemm for fc, Add (Sum for more than two inputs), Reshape -> Transpose -> Reshape for
// channel_shuffle, nearest Resize. Inputs: "input" [1, cin, hin, win] (fc: [1, cin]; softmax with
// hin = win = 1: [1, cin]); add adds inputs "input_1", ... of the same shape; mul a second
// input "input_1" [1, cin, 1, 1]; concat takes `inputs` inputs of cin / inputs channels each.
// Nodes and outputs are named as the PyTorch exporter names them ("/k2/Relu",
// "/k2/Relu_output_0"), so that fusion maps of their profiles find the nodes.
// Weights are pseudo-random, the same for the same `seed`. kInvalidArgument when
// CheckKernelConfig fails; kNotFound when `path` cannot be written.
Status WriteKernelModel(const KernelConfig& config, const std::string& path, uint64_t seed);

// The fusion the generator assumes: Conv (after an explicit Pad or not) with a following
// BatchNormalization and/or activation, Gemm, Add, Sum, Mul and BatchNormalization with an
// activation; Dropout and Identity removed. The generator splits real models with these rules,
// and every model WriteKernelModel writes splits under them into its one kernel.
KernelRules ReferenceKernelRules();

// The kernels of one real model, as SplitIntoKernels gives them.
struct KernelSourceModel {
  std::string name;  // "mobilenetv2"
  std::vector<ModelKernel> kernels;
};

inline constexpr int64_t kMaxImageChannels = 4;

struct SampledKernel {
  KernelConfig config;
  std::string source;  // the model whose kernel the configuration was sampled around
};

// Up to `per_type` configurations of each of `types` (KernelTypes() when empty). Each picks a
// real kernel of the type from `sources` at random, keeps its kernel_size, stride, activation,
// inputs and (conv) channels per group, and perturbs it within the ranges observed over all
// sources' kernels of the type: channels (conv with groups > 1: the groups) by a factor 2^u,
// u uniform in [-1, 1], rounded to a multiple of 8 from 16 up; height and width by 1/2, 1 or 2
// (aspect ratio kept), clamped to the observed heights. Types without a real kernel get none.
// Convolutions that read the image (at most kMaxImageChannels input channels: a model's first
// layer, one kernel in dozens, yet often a large share of its time, on a slower path of the
// runtime) get per_type / 4 more configurations (at least 1) around them alone, their input
// channels kept, with a random sequence of their own, after all the others (which are what
// they were without them, in the same places).
// Deterministic for a seed; the result is in KernelTypes() order, then those.
std::vector<SampledKernel> SampleKernelConfigs(const std::vector<KernelSourceModel>& sources,
                                               const std::vector<std::string>& types, int per_type,
                                               uint64_t seed);

}  // namespace edgebench
