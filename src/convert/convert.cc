// The public conversion API (edgebench/convert.h): target names, errors, JSON and text.
#include "edgebench/convert.h"

#include <algorithm>
#include <map>

#include "onnx_to_tflite.h"

namespace edgebench {

std::string_view ConvertTargetName(ConvertTarget target) {
  switch (target) {
    case ConvertTarget::kTflite: return "tflite";
  }
  return "unknown";
}

Expected<ConvertTarget> ParseConvertTarget(std::string_view name) {
  if (name == "tflite") return ConvertTarget::kTflite;
  return InvalidArgument("unknown conversion target '" + std::string(name) + "' (known: tflite)");
}

std::string_view ConvertPrecisionName(ConvertPrecision precision) {
  return precision == ConvertPrecision::kFloat16 ? "fp16" : "fp32";
}

Expected<ConvertPrecision> ParseConvertPrecision(std::string_view name) {
  if (name == "fp32") return ConvertPrecision::kFloat32;
  if (name == "fp16") return ConvertPrecision::kFloat16;
  return InvalidArgument("unknown precision '" + std::string(name) + "' (known: fp32, fp16)");
}

Expected<ConversionReport> ConvertModel(const ConvertRequest& request) {
  switch (request.target) {
    case ConvertTarget::kTflite: return convert::ConvertOnnxToTflite(request);
  }
  return Internal("unknown conversion target");
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
  json["schema"] = "edgebench.convert/1";
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
    text += "  input  " + tensor.name + ": onnx " + FormatShape(tensor.onnx_shape) + " -> tflite " +
            FormatShape(tensor.tflite_shape) + "\n";
  }
  for (const auto& tensor : report.outputs) {
    text += "  output " + tensor.name + ": onnx " + FormatShape(tensor.onnx_shape) + " -> tflite " +
            FormatShape(tensor.tflite_shape) + "\n";
  }
  if (report.ok()) {
    int added_layout = 0, added_padding = 0;
    for (const auto& op : report.operators) {
      added_layout += op.added_for == "layout";
      added_padding += op.added_for == "padding";
    }
    text += "  TFLite operators: " + std::to_string(report.operators.size()) + " (" +
            std::to_string(added_layout) + " added for layout, " + std::to_string(added_padding) +
            " for padding), " + std::to_string(report.model.size()) + " bytes\n";
    for (const auto& [op, count] : CountOperators(report)) {
      text += "    " + op + std::string(op.size() < 24 ? 24 - op.size() : 1, ' ') + std::to_string(count) + "\n";
    }
  } else {
    text += "  unsupported nodes: " + std::to_string(report.unsupported.size()) + "\n";
    for (const auto& node : report.unsupported) {
      text += "    " + node.node + " (" + node.op_type + "): " + node.reason + "\n";
    }
  }
  if (!report.log.empty()) {
    text += "  log:\n";
    for (const auto& line : report.log) text += "    " + line + "\n";
  }
  return text;
}

}  // namespace edgebench
