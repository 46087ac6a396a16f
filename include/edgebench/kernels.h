// Kernels: the units a runtime executes after fusion ("Conv+BatchNormalization+Relu" runs as one
// convolution kernel on onnxruntime), each described by a kernel type and its configuration.
// One description serves both sides of latency prediction: the kernel-model generator writes a
// single-kernel ONNX model per configuration (edgebench kernels generate), and the splitter cuts a
// whole model into the kernels a runtime runs (edgebench predict). The regressors' features are
// computed from a KernelConfig by one function, so measured points and predicted kernels always
// agree on what a feature means (the features are documented in docs/predictor.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "edgebench/status.h"

namespace edgebench {

// Kernel types, runtime-independent (the runtime's own kernel name is kept apart):
//   conv             Conv with groups < channels (+BatchNormalization) (+activation)
//   dwconv           depthwise Conv: groups == cin == cout (+BatchNormalization) (+activation)
//   fc               Gemm, or MatMul on a 2-D input (+activation); hin = win = 1
//   maxpool, avgpool MaxPool / AveragePool with kernel_size and stride
//   globalpool       GlobalAveragePool (or ReduceMean over H and W)
//   add, mul         element-wise on two tensors (+activation); mul with a [N, C, 1, 1] operand
//                    is the excite step of squeeze-and-excite
//   concat           Concat of `inputs` tensors along channels; cin = output channels
//   channel_shuffle  Reshape -> Transpose -> Reshape with `groups`
//   activation       a standalone Relu, Clip (relu6), HardSwish, HardSigmoid or Sigmoid
//   bn               a standalone BatchNormalization
//   resize           Resize / Upsample by `stride` (the scale factor), nearest or linear
//   split            Split / Slice along channels into `inputs` outputs
//   softmax          Softmax over cin
// A node group the splitter cannot classify gets type "unknown": it is predicted as unknown with
// a warning, never as zero.
const std::vector<std::string>& KernelTypes();

// Every field is 0 where it does not apply to the type (fc has no kernel_size). Shapes are NCHW
// with batch 1; a rank-2 tensor is [1, cin] with hin = win = 1.
struct KernelConfig {
  std::string type;                 // one of KernelTypes(), or "unknown"
  std::string activation = "none";  // fused or standalone: none, relu, relu6, hswish, hsigmoid, sigmoid
  int64_t hin = 0;                  // input height
  int64_t win = 0;                  // input width
  int64_t cin = 0;                  // input channels (concat: output channels)
  int64_t cout = 0;                 // output channels
  int64_t kernel_size = 0;          // square kernel side (conv, dwconv, pools)
  int64_t stride = 0;               // conv, dwconv, pools; resize: the scale factor
  int64_t groups = 0;               // conv's groups; channel_shuffle's groups
  int64_t inputs = 0;               // concat / add / split: how many tensors in (or out)
};

bool operator==(const KernelConfig& a, const KernelConfig& b);

// The activation names in the order of KernelFeatures' "activation" index: none, relu, relu6,
// hswish, hsigmoid, sigmoid.
const std::vector<std::string>& KernelActivations();

// Whether `config` describes a kernel the generator can build: a type of KernelTypes(), the
// fields the type uses positive and consistent, the others 0 (docs/predictor.md lists them).
// kInvalidArgument naming the first problem.
Status CheckKernelConfig(const KernelConfig& config);

// Output spatial size with "same" padding (kernel_size / 2 on each side): ceil(hin / stride);
// resize: hin * stride. Pure.
int64_t KernelOutputHeight(const KernelConfig& config);
int64_t KernelOutputWidth(const KernelConfig& config);

// Floating-point operations (2 x MACs for conv, dwconv and fc; one per output element for the
// rest) and parameters (weights + biases; BatchNormalization is folded and adds none). Pure.
int64_t KernelFlops(const KernelConfig& config);
int64_t KernelParams(const KernelConfig& config);

// The regressors' feature vector, in the order of KernelFeatureNames(): hin, win, cin, cout,
// kernel_size, stride, groups, inputs, activation (an index into the activations listed above),
// flops, params, input_elements, output_elements, cin_align, cout_align (the largest power of
// two, up to 64, dividing cin and cout: whether the channels fill a runtime's SIMD blocks,
// which decides e.g. whether onnxruntime runs a Conv in its blocked NCHWc layout). Pure.
const std::vector<std::string>& KernelFeatureNames();
std::vector<double> KernelFeatures(const KernelConfig& config);

// {"type": "conv", "activation": "relu", "hin": 56, ...}; zero fields are left out.
nlohmann::json ToJson(const KernelConfig& config);
// Reads what ToJson wrote; an unknown type or field, a negative or non-integer value is
// kInvalidArgument naming it.
Expected<KernelConfig> KernelConfigFromJson(const nlohmann::json& json);

}  // namespace edgebench
