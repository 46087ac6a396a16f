// `edgebench convert MODEL --to tflite [-o OUT] [--json] [--shape NAME=DIMS]`: converts an ONNX
// model with edgebench's own converter (docs/convert.md). The output file is written atomically;
// no file is written when any node cannot be converted.
#include <filesystem>
#include <iostream>
#include <memory>

#include "command.h"
#include "edgebench/convert.h"

namespace edgebench::cli {
namespace {

struct ConvertFlags {
  std::string model;
  std::string to;
  std::string precision = "fp32";
  std::string output;  // default: MODEL with the target's extension
  std::vector<std::string> shapes;
  bool json = false;
};

int RunConvert(const ConvertFlags& flags) {
  ConvertRequest request;
  request.model_path = flags.model;
  auto target = ParseConvertTarget(flags.to);
  if (!target.ok()) return ReportError(target.error());
  request.target = *target;
  auto precision = ParseConvertPrecision(flags.precision);
  if (!precision.ok()) return ReportError(precision.error());
  request.precision = *precision;
  for (const auto& shape : flags.shapes) {
    auto parsed = ParseShapeArgument(shape);
    if (!parsed.ok()) return ReportError(parsed.error());
    request.shapes[parsed->first] = parsed->second;
  }
  auto report = ConvertModel(request);
  if (!report.ok()) return ReportError(report.error());
  if (report->ok()) {
    const std::string output =
        flags.output.empty()
            ? std::filesystem::path(flags.model).replace_extension(ConvertTargetName(*target)).string()
            : flags.output;
    if (Status written = WriteOutput(output, report->model); !written.ok()) return ReportError(written.error());
    if (output != "-") report->log.push_back("wrote " + output);
  }
  // The report goes to stdout unless the model itself does.
  if (flags.output != "-") {
    std::cout << (flags.json ? ToJson(*report).dump(2) + "\n" : FormatConversionText(*report));
    std::cout.flush();
  }
  if (!report->ok()) return ReportError(UnsupportedError(*report));
  return std::cout ? kExitOk : kExitFailure;
}

}  // namespace

void AddConvertCommand(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand(
      "convert", "Convert an ONNX model to TensorFlow Lite (FP32) with edgebench's converter");
  command->footer(
      "Layout: 4-D tensors become NHWC (inputs and outputs too: feed NHWC data); BatchNorm folds\n"
      "into Conv, Relu/Relu6 fuse into their producer. Any node that cannot be converted is\n"
      "listed and no file is written (exit 2). Operators and rules: docs/convert.md.\n"
      "Example: edgebench convert mobilenetv2.onnx --to tflite -o mobilenetv2.tflite");
  auto flags = std::make_shared<ConvertFlags>();
  command->add_option("model", flags->model, "ONNX model file")->required();
  command->add_option("--to", flags->to, "Target format: tflite")->required();
  command->add_option("--precision", flags->precision,
                      "fp32, or fp16: float16 weights widened by DEQUANTIZE at load (compute stays FP32)")
      ->capture_default_str();
  command->add_option("-o,--output", flags->output,
                      "Output file (default: MODEL with the target's extension; - for stdout)");
  command->add_option("--shape", flags->shapes,
                      "Fix an input shape NAME=DIMS, e.g. input=1x3x224x224 (repeatable; needed "
                      "for dynamic dims)");
  command->add_flag("--json", flags->json,
                    "Print the conversion report as JSON (schema edgebench.convert/1)");
  command->callback([flags, &exit_code] { exit_code = RunConvert(*flags); });
}

}  // namespace edgebench::cli
