// The public conversion API (edgebench/convert.h): target names, errors, JSON and text.
#include "edgebench/convert.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "edgebench/json_text.h"
#include "edgebench/result_json.h"
#include "edgebench/tensor_layout.h"
#include "onnx_precision.h"
#include "onnx_to_tflite.h"
#include "quantize.h"
#include "samples.h"
#include "tflite_writer.h"

namespace edgebench {

std::string_view ConvertTargetName(ConvertTarget target) {
  switch (target) {
    case ConvertTarget::kTflite: return "tflite";
    case ConvertTarget::kOnnx: return "onnx";
  }
  return "unknown";
}

Expected<ConvertTarget> ParseConvertTarget(std::string_view name) {
  if (name == "tflite") return ConvertTarget::kTflite;
  if (name == "onnx") return ConvertTarget::kOnnx;
  return InvalidArgument("unknown conversion target '" + std::string(name) + "' (known: tflite, onnx)");
}

std::string_view ConvertPrecisionName(ConvertPrecision precision) {
  switch (precision) {
    case ConvertPrecision::kFloat32: return "fp32";
    case ConvertPrecision::kFloat16: return "fp16";
    case ConvertPrecision::kInt8: return "int8";
  }
  return "unknown";
}

Expected<ConvertPrecision> ParseConvertPrecision(std::string_view name) {
  if (name == "fp32") return ConvertPrecision::kFloat32;
  if (name == "fp16") return ConvertPrecision::kFloat16;
  if (name == "int8") return ConvertPrecision::kInt8;
  return InvalidArgument("unknown precision '" + std::string(name) + "' (known: fp32, fp16, int8)");
}

namespace {

// Replaces the float model of `report` by its int8 form; operators and node links follow.
Status QuantizeToInt8(const ConvertRequest& request, ConversionReport& report) {
  auto samples = convert::MakeSamples(report.inputs, request.samples, convert::SamplePurpose::kCalibration);
  if (!samples.ok()) return samples.error();
  auto ranges = convert::Calibrate(report.model, report.inputs, *samples);
  if (!ranges.ok()) return ranges.error();
  auto quantized = convert::QuantizeTflite(report.model, *ranges);
  if (!quantized.ok()) return Error{quantized.error().code, report.source_path + ": " + quantized.error().message};
  QuantizationSummary summary;
  summary.calibration = samples->description;
  summary.calibration_samples = int(samples->samples.size());
  std::vector<TfliteOperator> operators;
  std::vector<int> new_index(report.operators.size(), -1);
  for (const convert::QuantizedOperator& op : quantized->operators) {
    if (op.source < 0) {
      operators.push_back({op.op, op.version, {}, "precision"});
      continue;
    }
    TfliteOperator entry = report.operators[std::size_t(op.source)];
    entry.version = op.version;
    new_index[std::size_t(op.source)] = int(operators.size());
    operators.push_back(std::move(entry));
  }
  for (int i : quantized->float_operators) summary.float_operators.push_back(report.operators[std::size_t(i)].op);
  summary.int8_operators = int(report.operators.size() - quantized->float_operators.size());
  for (NodeConversion& node : report.nodes) {
    for (int& op : node.operators) op = new_index[std::size_t(op)];
  }
  report.operators = std::move(operators);
  report.model = std::move(quantized->model);
  report.log.push_back("int8: calibrated on " + summary.calibration + "; " + std::to_string(summary.int8_operators) +
                       " operators int8, " + std::to_string(summary.float_operators.size()) + " kept float");
  report.quantization = std::move(summary);
  return OkStatus();
}

// Keeps in the file how its inputs and outputs relate to the ONNX ones (edgebench/tensor_layout.h),
// so that a reader (bench --input-layout, --verify against the ONNX source) can carry tensors across.
Status RecordLayout(ConversionReport& report) {
  LayoutRecord record;
  record.source_format = "onnx";
  for (const ConvertedTensor& t : report.inputs) record.inputs.push_back({t.name, t.onnx_shape, t.permutation});
  for (const ConvertedTensor& t : report.outputs) record.outputs.push_back({t.name, t.onnx_shape, t.permutation});
  auto model = convert::WithMetadata(report.model, kLayoutMetadataName, DumpJson(ToJson(record)));
  if (!model.ok()) return model.error();
  report.model = std::move(*model);
  return OkStatus();
}

}  // namespace

Expected<ConversionReport> ConvertModel(const ConvertRequest& request) {
  auto report = request.target == ConvertTarget::kOnnx ? convert::ConvertOnnxToOnnx(request)
                                                        : convert::ConvertOnnxToTflite(request);
  if (!report.ok() || !report->ok()) return report;
  if (request.target == ConvertTarget::kTflite && request.precision == ConvertPrecision::kInt8) {
    EB_RETURN_IF_ERROR(QuantizeToInt8(request, *report));
  }
  if (request.target == ConvertTarget::kTflite) EB_RETURN_IF_ERROR(RecordLayout(*report));
  auto samples = convert::MakeSamples(report->inputs, request.samples, convert::SamplePurpose::kAccuracy);
  if (!samples.ok()) return samples.error();
  if (samples->samples.empty()) {
    report->unverified_reason = "no accuracy samples (--accuracy-samples 0)";
    return report;
  }
  auto accuracy = convert::MeasureAccuracy(request.model_path, *report, *samples, request.samples.expected_files);
  if (accuracy.ok()) {
    report->accuracy = std::move(*accuracy);
  } else if (accuracy.error().code == ErrorCode::kUnsupported) {
    report->unverified_reason = accuracy.error().message;  // no reference, or tflite not built
  } else {
    return Error{accuracy.error().code, request.model_path + ": accuracy check: " + accuracy.error().message};
  }
  return report;
}

Error UnsupportedError(const ConversionReport& report) {
  std::string message = report.source_path + ": cannot convert to " +
                        std::string(ConvertTargetName(report.target));
  if (report.unsupported.empty()) return Unsupported(message);
  const UnsupportedNode& first = report.unsupported.front();
  message += ": node '" + first.node + "' (" + first.op_type + "): " + first.reason;
  if (report.unsupported.size() > 1) {
    message += " (and " + std::to_string(report.unsupported.size() - 1) + " more)";
  }
  return Unsupported(message);
}

namespace {

nlohmann::json TensorJson(const ConvertedTensor& tensor) {
  return {{"name", tensor.name},
          {"onnx_shape", tensor.onnx_shape},
          {"tflite_shape", tensor.tflite_shape},
          {"permutation", tensor.permutation}};
}

// Operators by type, in order of first appearance.
std::vector<std::pair<std::string, int>> CountOperators(const ConversionReport& report) {
  std::vector<std::pair<std::string, int>> counts;
  for (const TfliteOperator& op : report.operators) {
    auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& c) { return c.first == op.op; });
    if (it == counts.end()) {
      counts.push_back({op.op, 1});
    } else {
      ++it->second;
    }
  }
  return counts;
}

}  // namespace

nlohmann::json ToJson(const ConversionReport& report) {
  nlohmann::json json;
  json["schema"] = "edgebench.convert/2";
  json["source_path"] = report.source_path;
  json["target"] = std::string(ConvertTargetName(report.target));
  json["precision"] = std::string(ConvertPrecisionName(report.precision));
  json["converter_version"] = report.converter_version;
  json["ok"] = report.ok();
  json["model_bytes"] = report.model.size();
  json["inputs"] = nlohmann::json::array();
  for (const auto& tensor : report.inputs) json["inputs"].push_back(TensorJson(tensor));
  json["outputs"] = nlohmann::json::array();
  for (const auto& tensor : report.outputs) json["outputs"].push_back(TensorJson(tensor));
  json["operators"] = nlohmann::json::array();
  for (const auto& op : report.operators) {
    json["operators"].push_back({{"op", op.op},
                                 {"version", op.version},
                                 {"source_nodes", op.source_nodes},
                                 {"added_for", op.added_for}});
  }
  json["nodes"] = nlohmann::json::array();
  for (const auto& node : report.nodes) {
    nlohmann::json entry{{"node", node.node},
                         {"op_type", node.op_type},
                         {"disposition", node.disposition},
                         {"operators", node.operators}};
    if (!node.fused_into.empty()) entry["fused_into"] = node.fused_into;
    json["nodes"].push_back(std::move(entry));
  }
  json["unsupported"] = nlohmann::json::array();
  for (const auto& node : report.unsupported) {
    json["unsupported"].push_back({{"node", node.node}, {"op_type", node.op_type}, {"reason", node.reason}});
  }
  if (report.quantization) {
    const QuantizationSummary& q = *report.quantization;
    json["quantization"] = {{"calibration", q.calibration},
                            {"calibration_samples", q.calibration_samples},
                            {"int8_operators", q.int8_operators},
                            {"float_operators", q.float_operators}};
  }
  if (report.accuracy) json["accuracy"] = ToJson(*report.accuracy);
  if (report.ok()) {
    json["verified"] = report.verified();
    if (!report.verified()) json["unverified_reason"] = report.unverified_reason;
  }
  json["log"] = report.log;
  return json;
}

std::string FormatConversionText(const ConversionReport& report) {
  std::string text = report.source_path + " -> " + std::string(ConvertTargetName(report.target)) +
                     " " + std::string(ConvertPrecisionName(report.precision)) + " (converter " +
                     report.converter_version + ")\n";
  std::map<std::string, int> dispositions;
  for (const auto& node : report.nodes) ++dispositions[node.disposition];
  text += "  ONNX nodes: " + std::to_string(report.nodes.size());
  for (const auto& [name, count] : dispositions) text += ", " + std::to_string(count) + " " + name;
  text += "\n";
  for (const auto& tensor : report.inputs) {
    text += "  input  " + tensor.name + ": onnx " + FormatShape(tensor.onnx_shape) + " -> " + std::string(ConvertTargetName(report.target)) + " " +
            FormatShape(tensor.tflite_shape) + "\n";
  }
  for (const auto& tensor : report.outputs) {
    text += "  output " + tensor.name + ": onnx " + FormatShape(tensor.onnx_shape) + " -> " + std::string(ConvertTargetName(report.target)) + " " +
            FormatShape(tensor.tflite_shape) + "\n";
  }
  if (report.ok()) {
    int added_layout = 0, added_padding = 0, added_precision = 0;
    for (const auto& op : report.operators) {
      added_layout += op.added_for == "layout";
      added_padding += op.added_for == "padding";
      added_precision += op.added_for == "precision";
    }
    text += std::string(report.target == ConvertTarget::kTflite ? "  TFLite operators: " : "  ONNX nodes out: ") +
            std::to_string(report.operators.size()) + " (" +
            std::to_string(added_layout) + " added for layout, " + std::to_string(added_padding) +
            " for padding, " + std::to_string(added_precision) + " for precision), " +
            std::to_string(report.model.size()) + " bytes\n";
    for (const auto& [op, count] : CountOperators(report)) {
      text += "    " + op + std::string(op.size() < 24 ? 24 - op.size() : 1, ' ') + std::to_string(count) + "\n";
    }
  } else {
    text += "  unsupported nodes: " + std::to_string(report.unsupported.size()) + "\n";
    for (const auto& node : report.unsupported) {
      text += "    " + node.node + " (" + node.op_type + "): " + node.reason + "\n";
    }
  }
  if (report.quantization) {
    const QuantizationSummary& q = *report.quantization;
    text += "  int8: " + std::to_string(q.int8_operators) + " operators int8, calibrated on " + q.calibration + "\n";
    if (!q.float_operators.empty()) {
      text += "    kept float (no int8 kernel):";
      for (const auto& op : q.float_operators) text += " " + op;
      text += "\n";
    }
  }
  if (report.accuracy) {
    const AccuracyCost& a = *report.accuracy;
    char line[256];
    std::snprintf(line, sizeof line, "  accuracy vs %s fp32 on %s: max |error| %.3g (%.3g of max |output|), mean %.3g",
                  a.reference_runtime.c_str(), a.inputs.c_str(), a.max_abs_error, a.max_rel_error, a.mean_abs_error);
    text += line;
    if (a.top1_agreement) {
      std::snprintf(line, sizeof line, ", top-1 agreement %.1f%%", 100 * *a.top1_agreement);
      text += line;
    }
    text += "\n";
  } else if (report.ok()) {
    text += "  NOT VERIFIED: " + report.unverified_reason + "\n";
  }
  if (!report.log.empty()) {
    text += "  log:\n";
    for (const auto& line : report.log) text += "    " + line + "\n";
  }
  return text;
}

}  // namespace edgebench
