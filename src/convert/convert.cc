#include "edgebench/convert.h"

#include <map>
#include <sstream>

#include "onnx_to_tflite.h"

namespace edgebench {

std::string_view ConvertTargetName(ConvertTarget target) {
  switch (target) {
    case ConvertTarget::kTflite:
      return "tflite";
  }
  return "?";
}

Expected<ConvertTarget> ParseConvertTarget(std::string_view name) {
  if (name == "tflite") return ConvertTarget::kTflite;
  return InvalidArgument("unknown conversion target '" + std::string(name) + "' (known: tflite)");
}

Expected<ConversionReport> ConvertModel(const ConvertRequest& request) {
  return convert::ConvertOnnxToTflite(request);
}

Error UnsupportedError(const ConversionReport& report) {
  if (report.unsupported.empty()) return Internal("UnsupportedError of a successful conversion");
  const UnsupportedNode& first = report.unsupported.front();
  std::string message = report.source_path + ": cannot convert to " + std::string(ConvertTargetName(report.target)) +
                        ": node '" + first.node + "' (" + first.op_type + "): " + first.reason;
  if (report.unsupported.size() > 1) message += " (and " + std::to_string(report.unsupported.size() - 1) + " more)";
  return Unsupported(message);
}

namespace {

nlohmann::json TensorJson(const ConvertedTensor& t) {
  return {{"name", t.name}, {"onnx_shape", t.onnx_shape}, {"tflite_shape", t.tflite_shape},
          {"permutation", t.permutation}};
}

}  // namespace

nlohmann::json ToJson(const ConversionReport& report) {
  nlohmann::json nodes = nlohmann::json::array(), operators = nlohmann::json::array(),
                 unsupported = nlohmann::json::array(), inputs = nlohmann::json::array(),
                 outputs = nlohmann::json::array();
  for (const auto& n : report.nodes) {
    nodes.push_back({{"node", n.node}, {"op_type", n.op_type}, {"disposition", n.disposition},
                     {"operators", n.operators}, {"fused_into", n.fused_into}});
  }
  for (const auto& op : report.operators) {
    operators.push_back({{"op", op.op}, {"version", op.version}, {"source_nodes", op.source_nodes},
                         {"added_for", op.added_for}});
  }
  for (const auto& u : report.unsupported) {
    unsupported.push_back({{"node", u.node}, {"op_type", u.op_type}, {"reason", u.reason}});
  }
  for (const auto& t : report.inputs) inputs.push_back(TensorJson(t));
  for (const auto& t : report.outputs) outputs.push_back(TensorJson(t));
  return {{"schema", "edgebench.convert/1"},
          {"source", report.source_path},
          {"target", ConvertTargetName(report.target)},
          {"converter_version", report.converter_version},
          {"ok", report.ok()},
          {"model_bytes", report.model.size()},
          {"inputs", inputs},
          {"outputs", outputs},
          {"nodes", nodes},
          {"operators", operators},
          {"unsupported", unsupported},
          {"log", report.log}};
}

std::string FormatConversionText(const ConversionReport& report) {
  std::ostringstream out;
  std::map<std::string, int> by_op, by_disposition, added;
  for (const auto& op : report.operators) {
    ++by_op[op.op];
    if (!op.added_for.empty()) ++added[op.added_for];
  }
  for (const auto& n : report.nodes) ++by_disposition[n.disposition];
  out << report.source_path << " -> " << ConvertTargetName(report.target) << " (converter "
      << report.converter_version << ")\n";
  out << "ONNX nodes: " << report.nodes.size();
  for (const auto& [disposition, count] : by_disposition) out << ", " << count << " " << disposition;
  out << "\nTFLite operators: " << report.operators.size();
  for (const auto& [why, count] : added) out << " (" << count << " added for " << why << ")";
  out << "\n";
  for (const auto& [op, count] : by_op) out << "  " << op << " x" << count << "\n";
  for (const auto& t : report.inputs) {
    out << "input  " << t.name << ": ONNX [";
    for (std::size_t i = 0; i < t.onnx_shape.size(); ++i) out << (i ? "," : "") << t.onnx_shape[i];
    out << "] -> TFLite [";
    for (std::size_t i = 0; i < t.tflite_shape.size(); ++i) out << (i ? "," : "") << t.tflite_shape[i];
    out << "]\n";
  }
  for (const auto& u : report.unsupported) {
    out << "unsupported: node '" << u.node << "' (" << u.op_type << "): " << u.reason << "\n";
  }
  for (const auto& line : report.log) out << line << "\n";
  return out.str();
}

}  // namespace edgebench
