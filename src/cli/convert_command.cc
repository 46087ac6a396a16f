// `edgebench convert MODEL --to tflite -o OUT [--shape NAME=DIMS] [--json]`: edgebench's own
// ONNX -> TFLite converter (docs/convert.md). The output file is written whole or not at all.
#include <iostream>
#include <memory>

#include "command.h"
#include "edgebench/convert.h"

namespace edgebench::cli {
namespace {

struct ConvertFlags {
  std::string model;
  std::string to = "tflite";
  std::string precision = "fp32";
  std::string output;
  std::vector<std::string> shapes;  // name=dims
  bool json = false;
};

int RunConvert(const ConvertFlags& flags) {
  ConvertRequest request;
  request.model_path = flags.model;
  auto target = ParseConvertTarget(flags.to);
  if (!target.ok()) return ReportError(target.error());
  request.target = *target;
  if (flags.precision != "fp32") {
    return ReportError(Unsupported("--precision " + flags.precision +
                                   ": only fp32 conversion is implemented so far (docs/convert.md)"));
  }
  for (const auto& shape : flags.shapes) {
    auto parsed = ParseShapeArgument(shape);
    if (!parsed.ok()) return ReportError(parsed.error());
    request.shapes[parsed->first] = parsed->second;
  }
  auto report = ConvertModel(request);
  if (!report.ok()) return ReportError(report.error());
  if (flags.json) {
    std::cout << ToJson(*report).dump(2) << "\n";
  } else {
    std::cerr << FormatConversionText(*report);
  }
  if (!report->ok()) return ReportError(UnsupportedError(*report));
  if (Status written = WriteOutput(flags.output, report->model); !written.ok()) return ReportError(written.error());
  if (!flags.json) std::cerr << "wrote " << flags.output << " (" << report->model.size() << " bytes)\n";
  std::cout.flush();
  return std::cout ? kExitOk : kExitFailure;
}

}  // namespace

void AddConvertCommand(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand(
      "convert", "Convert an ONNX model to TensorFlow Lite with edgebench's own converter (FP32)");
  command->footer(
      "The TFLite model takes NHWC input where the ONNX model took NCHW (the summary shows both\n"
      "shapes). An operator the converter cannot express is named and no file is written.\n"
      "Operators, layout and padding rules: docs/convert.md.\n"
      "Example: edgebench convert mobilenetv2.onnx -o mobilenetv2.tflite && "
      "edgebench bench mobilenetv2.tflite -r tflite");
  auto flags = std::make_shared<ConvertFlags>();
  command->add_option("model", flags->model, "ONNX model file")->required();
  command->add_option("--to", flags->to, "Target format")->check(CLI::IsMember({"tflite"}))->capture_default_str();
  command->add_option("--precision", flags->precision, "fp32 (fp16 and int8 are not implemented yet)")
      ->check(CLI::IsMember({"fp32", "fp16", "int8"}))
      ->capture_default_str();
  command->add_option("-o,--output", flags->output, "Output file")->required();
  command->add_option("--shape", flags->shapes, "Fix a dynamic input NAME=DIMS, e.g. input=1x3x224x224 (repeatable)");
  command->add_flag("--json", flags->json, "Print the conversion report as JSON (schema edgebench.convert/1)");
  command->callback([flags, &exit_code] { exit_code = RunConvert(*flags); });
}

}  // namespace edgebench::cli
