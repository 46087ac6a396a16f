// `edgebench inspect MODEL [--json] [--shape NAME=DIMS] [--nodes]`: what a model costs on
// paper (parameters, MACs/FLOPs per operator type, activation memory), without running it.
#include <iostream>
#include <memory>

#include "command.h"
#include "edgebench/inspect.h"
#include "edgebench/json_text.h"
#include "edgebench/runtime_inspect.h"

namespace edgebench::cli {
namespace {

struct InspectFlags {
  std::string model;
  std::vector<std::string> shapes;  // name=dims
  bool json = false;
  bool nodes = false;
};

int RunInspect(const InspectFlags& flags) {
  ShapeOverrides shapes;
  for (const auto& shape : flags.shapes) {
    auto parsed = ParseShapeArgument(shape);
    if (!parsed.ok()) return ReportError(parsed.error());
    shapes[parsed->first] = parsed->second;
  }
  auto summary = InspectModel(flags.model, shapes);
  // Formats the inspector cannot parse (TorchScript) are read through a runtime instead.
  if (!summary.ok() && summary.error().code == ErrorCode::kUnsupported && shapes.empty()) {
    summary = InspectWithRuntime(flags.model);
  }
  if (!summary.ok()) return ReportError(summary.error());
  if (flags.json) {
    std::cout << DumpJson(ToJson(*summary), 2) << "\n";
  } else {
    std::cout << FormatModelSummaryText(*summary, flags.nodes);
  }
  std::cout.flush();
  return std::cout ? kExitOk : kExitFailure;
}

}  // namespace

void AddInspectCommand(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand(
      "inspect",
      "Show what a model costs on paper: inputs and outputs, parameters, MACs and FLOPs per "
      "operator type, activation memory (ONNX, TFLite)");
  command->footer(
      "FLOPs = 2 x MACs of Conv, ConvTranspose, Gemm and MatMul; other arithmetic is listed as\n"
      "element ops. Dynamic ONNX input dims are taken as 1 unless --shape sets them.\n"
      "Conventions: docs/inspect.md.\n"
      "Example: edgebench inspect mobilenetv2.onnx --shape input=8x3x224x224 --json");
  auto flags = std::make_shared<InspectFlags>();
  command->add_option("model", flags->model, "Model file (.onnx, .tflite)")->required();
  command->add_option("--shape", flags->shapes,
                      "Input shape NAME=DIMS, e.g. input=1x3x224x224 (repeatable)");
  command->add_flag("--json", flags->json,
                    "Print the summary as JSON (schema edgebench.inspect/1) on stdout");
  command->add_flag("--nodes", flags->nodes, "Also list every node's cost (text output)");
  command->callback([flags, &exit_code] { exit_code = RunInspect(*flags); });
}

}  // namespace edgebench::cli
