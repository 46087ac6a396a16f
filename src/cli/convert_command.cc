// `edgebench convert MODEL --to tflite [--precision fp32|fp16|int8] [-o OUT] [--json]
// [--shape NAME=DIMS] [--samples NAME=FILE] [--expected NAME=FILE] [--require-verified]`: converts an ONNX model with edgebench's own
// converter (docs/convert.md), quantizes it and measures its accuracy cost. The output file is
// written atomically; no file is written when any node cannot be converted.
#include <filesystem>
#include <iostream>
#include <memory>

#include "command.h"
#include "edgebench/convert.h"
#include "edgebench/json_text.h"

namespace edgebench::cli {
namespace {

struct ConvertFlags {
  std::string model;
  std::string to;
  std::string precision = "fp32";
  std::string output;  // default: MODEL with the target's extension
  std::vector<std::string> shapes;
  std::vector<std::string> samples;  // NAME=FILE
  std::vector<std::string> expected;  // NAME=FILE, per output
  bool require_verified = false;
  int calibration_samples = SampleSettings{}.random_calibration_samples;
  int accuracy_samples = SampleSettings{}.random_accuracy_samples;
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
  auto samples = KeyValues(flags.samples, "--samples", "NAME=FILE");
  if (!samples.ok()) return ReportError(samples.error());
  request.samples.files = std::move(*samples);
  auto expected = KeyValues(flags.expected, "--expected", "NAME=FILE");
  if (!expected.ok()) return ReportError(expected.error());
  if (!expected->empty() && request.samples.files.empty()) {
    return ReportError(InvalidArgument("--expected gives the outputs for the --samples files: give those too"));
  }
  request.samples.expected_files = std::move(*expected);
  request.samples.random_calibration_samples = flags.calibration_samples;
  request.samples.random_accuracy_samples = flags.accuracy_samples;
  auto report = ConvertModel(request);
  if (!report.ok()) return ReportError(report.error());
  const bool refused_unverified = report->ok() && flags.require_verified && !report->verified();
  if (report->ok() && !refused_unverified) {
    // Default: MODEL with the target's extension, and the precision in the name where that
    // would be MODEL itself (--to onnx).
    std::filesystem::path default_output = std::filesystem::path(flags.model).replace_extension(ConvertTargetName(*target));
    if (default_output == std::filesystem::path(flags.model)) {
      default_output.replace_extension(std::string(ConvertPrecisionName(*precision)) + "." +
                                       std::string(ConvertTargetName(*target)));
    }
    const std::string output = flags.output.empty() ? default_output.string() : flags.output;
    if (std::filesystem::exists(output) && std::filesystem::equivalent(output, flags.model)) {
      return ReportError(InvalidArgument(output + ": the output would overwrite the model"));
    }
    if (Status written = WriteOutput(output, report->model); !written.ok()) return ReportError(written.error());
    if (output != "-") report->log.push_back("wrote " + output);
  }
  // The report goes to stdout unless the model itself does.
  if (flags.output != "-") {
    std::cout << (flags.json ? DumpJson(ToJson(*report), 2) + "\n" : FormatConversionText(*report));
    std::cout.flush();
  }
  if (!report->ok()) return ReportError(UnsupportedError(*report));
  if (refused_unverified) {
    std::cerr << "edgebench: " << flags.model << ": conversion not verified (--require-verified; no file written): "
              << report->unverified_reason << "\n";
    return kExitInvalidResult;
  }
  return std::cout ? kExitOk : kExitFailure;
}

}  // namespace

void AddConvertCommand(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand(
      "convert", "Convert an ONNX model to TensorFlow Lite (FP32, FP16 or INT8) with edgebench's converter");
  command->footer(
      "Layout: 4-D tensors become NHWC (inputs and outputs too: feed NHWC data); BatchNorm folds\n"
      "into Conv, Relu/Relu6 fuse into their producer. Any node that cannot be converted is\n"
      "listed and no file is written (exit 2). Operators and rules: docs/convert.md.\n"
      "Every conversion is checked where it can be: the output runs on tflite against the ONNX\n"
      "model on onnxruntime (FP32) with the same samples (else against --expected outputs, else\n"
      "OpenCV DNN); the report gives the error and top-1 agreement, or 'verified: false' and why.\n"
      "Examples:\n"
      "  edgebench convert mobilenetv2.onnx --to tflite -o mobilenetv2.tflite\n"
      "  edgebench convert resnet50.onnx --to tflite --precision int8 --samples input=images.f32\n"
      "  edgebench convert resnet50.onnx --to onnx --precision int8   (QDQ, writes resnet50.int8.onnx)");
  auto flags = std::make_shared<ConvertFlags>();
  command->add_option("model", flags->model, "ONNX model file")->required();
  command->add_option("--to", flags->to, "Target format: tflite (edgebench's converter), or onnx (the ONNX model at --precision, for onnxruntime)")->required();
  command->add_option("--precision", flags->precision,
                      "fp32; fp16: float16 weights widened by DEQUANTIZE at load (compute stays FP32); "
                      "int8: full-integer post-training quantization calibrated on the samples")
      ->capture_default_str();
  command->add_option("--samples", flags->samples,
                      "Representative inputs NAME=FILE: raw float32 in the ONNX layout, any number of "
                      "samples back to back, or an ONNX TensorProto .pb (one sample); they calibrate int8 and check accuracy (repeatable, one per "
                      "input; default: random samples)");
  command->add_option("--expected", flags->expected,
                      "Expected outputs NAME=FILE for the --samples files, in the same formats: the "
                      "accuracy check's reference where onnxruntime cannot run the model (repeatable, "
                      "one per output)");
  command->add_flag("--require-verified", flags->require_verified,
                    "Exit 3 and write no file when the accuracy check could not run (no reference "
                    "ran the model, or --accuracy-samples 0)");
  command->add_option("--calibration-samples", flags->calibration_samples,
                      "Random samples to calibrate int8 on, without --samples")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  command->add_option("--accuracy-samples", flags->accuracy_samples,
                      "Random samples for the accuracy check, without --samples (0 skips it)")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000));
  command->add_option("-o,--output", flags->output,
                      "Output file (default: MODEL with the target's extension; - for stdout)");
  command->add_option("--shape", flags->shapes,
                      "Fix an input shape NAME=DIMS, e.g. input=1x3x224x224 (repeatable; needed "
                      "for dynamic dims)");
  command->add_flag("--json", flags->json,
                    "Print the conversion report as JSON (schema edgebench.convert/2)");
  AddVerboseFlag(command);
  command->callback([flags, &exit_code] { exit_code = RunConvert(*flags); });
}

}  // namespace edgebench::cli
