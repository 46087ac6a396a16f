// InspectModel's dispatch by format, and the summary's JSON and text forms (formatting only).
#include "edgebench/inspect.h"

#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "edgebench/report.h"
#include "onnx_inspect.h"
#include "tflite_inspect.h"

namespace edgebench {
namespace {


std::string Printf(const char* format, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

// 3504872 -> "3,504,872"
std::string WithCommas(int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  std::string text;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) text += ',';
    text += digits[i];
  }
  return value < 0 ? "-" + text : text;
}

// 300800000 -> "300.8 M", 7728000000 -> "7.728 B" (decimal units, B = 10^9).
std::string Count(int64_t value) {
  const double v = double(value);
  if (value >= 1'000'000'000) return Printf("%.3f B", v / 1e9);
  if (value >= 1'000'000) return Printf("%.2f M", v / 1e6);
  if (value >= 1'000) return Printf("%.1f K", v / 1e3);
  return std::to_string(value);
}

std::string Bytes(int64_t value) {
  const double v = double(value);
  if (value >= (int64_t{1} << 30)) return Printf("%.2f GiB", v / double(int64_t{1} << 30));
  if (value >= (int64_t{1} << 20)) return Printf("%.2f MiB", v / double(1 << 20));
  if (value >= (int64_t{1} << 10)) return Printf("%.1f KiB", v / double(1 << 10));
  return std::to_string(value) + " B";
}

std::string ShapeText(const std::vector<int64_t>& shape, bool rank_known) {
  return rank_known ? FormatShape(shape) : "unknown";
}

nlohmann::json ShapeJson(const std::vector<int64_t>& shape, bool rank_known) {
  return rank_known ? nlohmann::json(shape) : nlohmann::json(nullptr);
}

nlohmann::json TensorJson(const InspectedTensor& tensor) {
  return {{"name", tensor.name}, {"type", tensor.type}, {"shape", ShapeJson(tensor.shape, tensor.rank_known)}};
}


}  // namespace

Expected<ModelSummary> InspectModel(const std::string& path, const ShapeOverrides& shapes) {
  try {
    auto format = DetectModelFormat(path);
    if (!format.ok()) return format.error();
    switch (*format) {
      case ModelFormat::kOnnx: return inspect::InspectOnnx(path, shapes);
      case ModelFormat::kTflite: return inspect::InspectTflite(path, shapes);
      default:
        return Unsupported(path + ": inspect supports onnx and tflite only for now (this is a " +
                           std::string(ModelFormatName(*format)) + " file)");
    }
  } catch (const std::exception& error) {  // allocation failure or a library bug
    return Internal(path + ": inspect failed: " + error.what());
  }
}

nlohmann::json ToJson(const ModelSummary& s) {
  nlohmann::json inputs = nlohmann::json::array(), outputs = nlohmann::json::array();
  for (const auto& tensor : s.inputs) inputs.push_back(TensorJson(tensor));
  for (const auto& tensor : s.outputs) outputs.push_back(TensorJson(tensor));
  nlohmann::json op_types = nlohmann::json::object();
  for (const auto& type : s.op_types) {
    op_types[type.op_type] = {{"count", type.count},
                              {"macs", type.macs},
                              {"mac_share", type.mac_share},
                              {"elementwise_ops", type.elementwise_ops},
                              {"unknown_cost_count", type.unknown_cost_count}};
  }
  nlohmann::json nodes = nlohmann::json::array();
  for (const auto& node : s.nodes) {
    nlohmann::json entry = {{"name", node.name},
                            {"op_type", node.op_type},
                            {"macs", node.macs},
                            {"elementwise_ops", node.elementwise_ops},
                            {"output_shape", ShapeJson(node.output_shape, node.output_rank_known)},
                            {"cost_known", node.cost_known}};
    if (!node.note.empty()) entry["note"] = node.note;
    nodes.push_back(std::move(entry));
  }
  return {{"schema", "edgebench.inspect/1"},
          {"model", s.path},
          {"format", ModelFormatName(s.format)},
          {"producer", s.producer},
          {"ir_version", s.ir_version},
          {"opset", s.opset},
          {"inputs", inputs},
          {"outputs", outputs},
          {"dynamic_inputs", s.dynamic_inputs},
          {"assumed_dims", s.assumed_dims},
          {"params", s.params},
          {"weight_bytes", s.weight_bytes},
          {"graph_analysed", s.graph_analysed},
          {"macs", s.graph_analysed ? nlohmann::json(s.macs) : nlohmann::json(nullptr)},
          {"flops", s.graph_analysed ? nlohmann::json(s.flops) : nlohmann::json(nullptr)},
          {"elementwise_ops", s.graph_analysed ? nlohmann::json(s.elementwise_ops) : nlohmann::json(nullptr)},
          {"peak_activation_bytes", s.graph_analysed ? nlohmann::json(s.peak_activation_bytes) : nlohmann::json(nullptr)},
          {"total_activation_bytes", s.graph_analysed ? nlohmann::json(s.total_activation_bytes) : nlohmann::json(nullptr)},
          {"unknown_size_activations", s.unknown_size_activations},
          {"op_types", op_types},
          {"unsupported_ops", s.unsupported_ops},
          {"unknown_cost_nodes", s.unknown_cost_nodes},
          {"warnings", s.warnings},
          {"nodes", nodes}};
}

std::string FormatModelSummaryText(const ModelSummary& s, bool with_nodes) {
  std::ostringstream out;
  out << "model        " << s.path << "\n";
  out << "format       " << ModelFormatName(s.format);
  if (s.format == ModelFormat::kOnnx) out << ", IR " << s.ir_version << ", opset " << s.opset;
  if (!s.producer.empty()) out << ", from " << s.producer;
  out << "\n\n";

  std::vector<std::vector<std::string>> rows;
  for (const auto& tensor : s.inputs) {
    const bool dynamic = std::find(s.dynamic_inputs.begin(), s.dynamic_inputs.end(), tensor.name) !=
                         s.dynamic_inputs.end();
    rows.push_back({"input", tensor.name, tensor.type,
                    ShapeText(tensor.shape, tensor.rank_known) + (dynamic ? " (dynamic in the file)" : "")});
  }
  for (const auto& tensor : s.outputs) {
    rows.push_back({"output", tensor.name, tensor.type, ShapeText(tensor.shape, tensor.rank_known)});
  }
  out << FormatTable({"", "name", "type", "shape"}, rows);
  if (!s.assumed_dims.empty()) {
    out << "dynamic dims counted as:";
    for (const auto& note : s.assumed_dims) out << " " << note;
    out << (s.format == ModelFormat::kOnnx ? "\n(set them with --shape NAME=DIMS)\n" : "\n");
  }
  out << "\n";

  const std::string lower_bound = s.unknown_cost_nodes > 0 ? " (at least)" : "";
  out << "parameters   " << Count(s.params) << " (" << WithCommas(s.params) << ")\n";
  out << "weights      " << Bytes(s.weight_bytes) << " (" << WithCommas(s.weight_bytes) << " bytes)\n";
  if (!s.graph_analysed) {
    for (const auto& warning : s.warnings) out << "warning: " << warning << "\n";
    return out.str();
  }
  out << "MACs         " << Count(s.macs) << lower_bound << " (" << WithCommas(s.macs) << ")\n";
  out << "FLOPs        " << Count(s.flops) << lower_bound << " (2 x MACs of Conv, ConvTranspose, Gemm, MatMul)\n";
  out << "element ops  " << Count(s.elementwise_ops) << lower_bound
      << " (other arithmetic: bias, activations, pooling, normalization; not in FLOPs)\n";
  out << "activations  peak " << Bytes(s.peak_activation_bytes) << " live, total "
      << Bytes(s.total_activation_bytes);
  if (s.unknown_size_activations > 0) {
    out << " (" << s.unknown_size_activations << " tensors of unknown size left out)";
  }
  out << "\n\n";

  rows.clear();
  for (const auto& type : s.op_types) {
    std::string count = std::to_string(type.count);
    if (type.unknown_cost_count > 0) count += " (" + std::to_string(type.unknown_cost_count) + " ?)";
    rows.push_back({type.op_type, count, Count(type.macs), Printf("%.1f%%", 100.0 * type.mac_share),
                    Count(type.elementwise_ops)});
  }
  out << FormatTable({"op type", "count", "MACs", "share", "element ops"}, rows,
                     {false, true, true, true, true});

  if (with_nodes) {
    rows.clear();
    const bool any_note = std::any_of(s.nodes.begin(), s.nodes.end(),
                                      [](const NodeCost& node) { return !node.note.empty(); });
    for (const auto& node : s.nodes) {
      rows.push_back({node.name, node.op_type, ShapeText(node.output_shape, node.output_rank_known),
                      node.cost_known ? Count(node.macs) : "?",
                      node.cost_known ? Count(node.elementwise_ops) : "?"});
      if (any_note) rows.back().push_back(node.note);
    }
    std::vector<std::string> header = {"node", "op type", "output", "MACs", "element ops"};
    if (any_note) header.push_back("note");
    out << "\n" << FormatTable(header, rows, {false, false, false, true, true, false});
  }

  if (s.unknown_cost_nodes > 0 || !s.unsupported_ops.empty() || !s.warnings.empty()) out << "\n";
  if (s.unknown_cost_nodes > 0) {
    out << "note: " << s.unknown_cost_nodes
        << " node(s) could not be counted; totals are lower bounds (--nodes shows which)\n";
  }
  if (!s.unsupported_ops.empty()) {
    out << "unsupported ops (no counting rule):";
    for (const auto& op : s.unsupported_ops) out << " " << op;
    out << "\n";
  }
  for (const auto& warning : s.warnings) out << "warning: " << warning << "\n";
  return out.str();
}

}  // namespace edgebench
