// Model conversion: an ONNX model to a TensorFlow Lite flatbuffer (the converter is edgebench's
// own; docs/convert.md lists the operators, the layout rules and how to add an operator).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "edgebench/result.h"
#include "edgebench/status.h"
#include "edgebench/tensor.h"

namespace edgebench {

// kTflite: edgebench's ONNX -> TFLite converter (tflite, armnn); kOnnx: the ONNX model itself at a
// precision, for runtimes that read ONNX (onnxruntime).
enum class ConvertTarget { kTflite, kOnnx };

std::string_view ConvertTargetName(ConvertTarget target);
Expected<ConvertTarget> ParseConvertTarget(std::string_view name);

// Bumped whenever the converter's output for the same input can change (a cache key part).
inline constexpr const char* kConverterVersion = "4";

// kFloat16: weights stored as float16 and widened to float32 by DEQUANTIZE operators when the
// model loads (what TFLite's own float16 post-training quantization writes); compute stays FP32.
// kInt8: full-integer post-training quantization calibrated on representative inputs
// (src/convert/quantize.h has the scheme); the model keeps float inputs and outputs.
enum class ConvertPrecision { kFloat32, kFloat16, kInt8 };

std::string_view ConvertPrecisionName(ConvertPrecision precision);  // "fp32", "fp16", "int8"
Expected<ConvertPrecision> ParseConvertPrecision(std::string_view name);

// Representative inputs: they calibrate INT8 and measure every conversion's accuracy cost.
struct SampleSettings {
  // Per ONNX input: a raw little-endian float32 file in the ONNX layout holding one or more
  // samples back to back (its size a multiple of one sample's), or a `.pb` file holding an ONNX
  // TensorProto (the conformance suite's input_N.pb). Empty: random samples.
  std::map<std::string, std::string> files;
  // Per ONNX output, in the same formats: the outputs expected for `files` (the suite's
  // output_N.pb). The accuracy check's reference where onnxruntime cannot run the model.
  std::map<std::string, std::string> expected_files;
  int random_calibration_samples = 8;  // when `files` is empty
  int random_accuracy_samples = 4;     // when `files` is empty; 0 skips the accuracy check
  uint64_t seed = 1;
};

struct ConvertRequest {
  std::string model_path;  // an ONNX file
  ConvertTarget target = ConvertTarget::kTflite;
  // Fixes dynamic input dims (TFLite needs static shapes); a dynamic dim no entry names is an
  // error naming the input.
  ShapeOverrides shapes;
  ConvertPrecision precision = ConvertPrecision::kFloat32;
  SampleSettings samples;
};

// One ONNX node and what became of it.
struct NodeConversion {
  std::string node;     // the node's name, or "<op_type>_<index>" when the file gives none
  std::string op_type;  // ONNX op type
  // "converted": became operators[]; "fused": merged into the operator of another node
  // (fused_into); "folded": evaluated at conversion time (constant); "removed": a no-op at
  // inference (Dropout, Identity).
  std::string disposition;
  std::vector<int> operators;  // indices into ConversionReport::operators
  std::string fused_into;      // node name, for "fused"
};

// One TFLite operator of the output, in execution order.
struct TfliteOperator {
  std::string op;                         // builtin name, e.g. "CONV_2D"
  int version = 1;
  std::vector<std::string> source_nodes;  // ONNX nodes it implements (fused ones included)
  // Why an operator with no node of its own was added: "layout" (NCHW<->NHWC TRANSPOSE or
  // RESHAPE), "padding" (explicit PAD for padding TFLite's SAME/VALID cannot express),
  // "precision" (DEQUANTIZE of float16 weights; QUANTIZE/DEQUANTIZE around int8 operators);
  // "" else.
  std::string added_for;
};

struct UnsupportedNode {
  std::string node;
  std::string op_type;
  std::string reason;  // one line
};

// How an input or output of the converted model relates to the ONNX one.
struct ConvertedTensor {
  std::string name;
  std::vector<int64_t> onnx_shape;
  std::vector<int64_t> tflite_shape;
  // tflite dim i = onnx dim permutation[i] (identity unless a 4-D NCHW tensor became NHWC).
  std::vector<int> permutation;
};

// INT8 only: how the model was calibrated and what stayed float.
struct QuantizationSummary {
  std::string calibration;  // "16 random samples (seed 1)" or "32 samples from files"
  int calibration_samples = 0;
  int int8_operators = 0;
  std::vector<std::string> float_operators;  // builtin names of operators with no int8 kernel
};

struct ConversionReport {
  std::string source_path;
  ConvertTarget target = ConvertTarget::kTflite;
  ConvertPrecision precision = ConvertPrecision::kFloat32;
  std::string converter_version = kConverterVersion;
  std::vector<std::string> log;  // what the converter did, one line per step
  std::vector<NodeConversion> nodes;
  std::vector<TfliteOperator> operators;
  std::vector<UnsupportedNode> unsupported;  // non-empty: no model was produced
  std::vector<ConvertedTensor> inputs, outputs;
  std::optional<QuantizationSummary> quantization;  // kInt8
  // Set when the accuracy check ran (the conversion is verified); unset, with the reason in
  // unverified_reason, when it was skipped (no accuracy samples) or no reference could run the
  // source model (onnxruntime, the expected outputs, OpenCV DNN) or tflite is not compiled in.
  std::optional<AccuracyCost> accuracy;
  std::string unverified_reason;
  std::string model;  // the output file's bytes; empty when unsupported is not

  bool ok() const { return unsupported.empty(); }
  bool verified() const { return accuracy.has_value(); }
};

// Converts request.model_path, quantizes it for kInt8 (calibrating on the tflite backend) and
// measures its accuracy cost (onnxruntime FP32 against tflite). A file that cannot be read or is not valid ONNX, and a dynamic
// input the shapes do not fix, are errors (kNotFound, kBadModel, kInvalidArgument); operators the
// target cannot express come back in report.unsupported (no model bytes) so that a caller can
// keep the full list; UnsupportedError(report) makes the one-line error for them.
Expected<ConversionReport> ConvertModel(const ConvertRequest& request);

// kUnsupported: "<model>: cannot convert to tflite: node 'x' (Op): <reason> (and N more)".
Error UnsupportedError(const ConversionReport& report);

// Schema "edgebench.convert/2" (docs/convert.md); without the model bytes.
nlohmann::json ToJson(const ConversionReport& report);

// The human-readable summary: counts, operators by type, unsupported nodes, the log.
std::string FormatConversionText(const ConversionReport& report);

}  // namespace edgebench
