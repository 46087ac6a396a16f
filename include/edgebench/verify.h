// Output verification: do two runtimes compute the same answer on the same inputs?
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "edgebench/status.h"
#include "edgebench/tensor.h"
#include "edgebench/tensor_layout.h"

namespace edgebench {

struct OutputComparison {
  std::string name;  // output name of the runtime under test
  int64_t elements = 0;
  double max_abs_error = 0;  // max |actual - reference|
  double max_rel_error = 0;  // max_abs_error / max |reference| (relative to the output's range)
  // Fraction of rows whose argmax agrees, for classifier-shaped outputs ([N, C] or
  // [N, C, 1, 1]); nullopt for other shapes.
  std::optional<double> top1_agreement;
};

struct Verification {
  std::string reference_runtime;
  std::string reference_version;
  std::string reference_model;  // path; the benchmarked model unless --verify-model was given
  std::vector<OutputComparison> outputs;
  double max_abs_error = 0;          // over all outputs
  std::optional<double> tolerance;   // max_abs_error above it fails the result
  bool passed = true;
  // Set when the two models keep tensors in different layouts (a converted NHWC .tflite against
  // its NCHW ONNX source, from the layout records): reference input i = benchmarked input i
  // permuted by input_permutations[i]; benchmarked output i was permuted by
  // output_permutations[i] before the comparison. An empty permutation: passed as it is.
  std::vector<Permutation> input_permutations, output_permutations;
};

// Compares outputs pairwise in order. Outputs must have the same count and element counts
// (shapes may differ in layout, e.g. [1, 1000] vs [1, 1000, 1, 1]) and float or integer types.
Expected<std::vector<OutputComparison>> CompareOutputs(const std::vector<Tensor>& actual,
                                                       const std::vector<Tensor>& reference);

// Values of a tensor as doubles (every DataType).
std::vector<double> TensorValues(const Tensor& tensor);

}  // namespace edgebench
