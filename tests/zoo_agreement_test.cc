// Every zoo model computes the same answer on onnxruntime, opencv and libtorch: each runtime's
// output for the zoo's stored reference input is compared with the stored PyTorch output
// (tools/zoo writes input.f32 / output.f32 beside each model).
// Tolerance: max abs error <= 1e-4 x max(1, max |reference|) and the same top-1 class.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>

#include "edgebench/registry.h"
#include "edgebench/verify.h"
#include "testing/test_models.h"

namespace edgebench {
namespace {

constexpr double kRelativeTolerance = 1e-4;

const char* const kZooModels[] = {"tinycnn",     "tinycnn_dynamic", "mobilenetv1",  "mobilenetv2",
                                  "resnet50",    "efficientnetb0",  "densenet201",  "vgg16",
                                  "inceptionv3", "xception",        "shufflenetv2", "squeezenet11",
                                  "mobilenetv3small", "resnet18"};

std::string ZooFile(const std::string& model, const std::string& file) {
  return testing::CacheDir() + "/zoo/" + model + "/" + file;
}

// A raw float32 file as a tensor of `shape`.
Tensor ReadFloats(const std::string& path, const std::string& name, std::vector<int64_t> shape) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Tensor tensor{{name, DataType::kFloat32, std::move(shape)}, {}};
  tensor.data.resize(bytes.size());
  std::memcpy(tensor.data.data(), bytes.data(), bytes.size());
  return tensor;
}

// Runs `model_path` once on `runtime` with `input` (renamed and reshaped to the model's input).
Expected<std::vector<Tensor>> RunOnce(const std::string& runtime, const std::string& model_path,
                                      Tensor input) {
  auto entry = FindBackend(runtime);
  if (!entry.ok()) return entry.error();
  auto model = InspectModelFile(model_path);
  if (!model.ok()) return model.error();
  auto backend = (*entry)->create();
  EB_RETURN_IF_ERROR(backend->Load({*model, 0, *ValidateOptions((*entry)->describe(), {})}));
  const auto specs = backend->InputSpecs();
  if (specs.size() != 1) return InvalidArgument(model_path + ": expected one input");
  input.spec.name = specs[0].name;
  if (specs[0].rank_known && specs[0].IsConcrete()) input.spec.shape = specs[0].shape;
  EB_RETURN_IF_ERROR(backend->SetInputs({input}));
  EB_RETURN_IF_ERROR(backend->RunOnce());
  return backend->Outputs();
}

class ZooAgreement : public ::testing::TestWithParam<const char*> {};

TEST_P(ZooAgreement, RuntimesMatchThePyTorchReference) {
  const std::string name = GetParam();
  const std::string onnx = ZooFile(name, name + ".onnx"), pt = ZooFile(name, name + ".pt");
  EB_REQUIRE_FILE(onnx);
  EB_REQUIRE_FILE(ZooFile(name, "input.f32"));
  // Shapes come from the model; the raw files only need the right element counts.
  auto onnx_model = InspectModelFile(onnx);
  ASSERT_TRUE(onnx_model.ok());
  auto probe = (*FindBackend("onnxruntime"))->create();
  ASSERT_TRUE(probe->Load({*onnx_model, 1, *ValidateOptions((*FindBackend("onnxruntime"))->describe(), {})}).ok());
  std::vector<int64_t> input_shape = probe->InputSpecs()[0].shape;
  if (input_shape[0] == kDynamicDim) input_shape[0] = 1;
  const Tensor input = ReadFloats(ZooFile(name, "input.f32"), "input", input_shape);
  auto reference_elements = ElementCount(input_shape);
  ASSERT_EQ(static_cast<std::size_t>(*reference_elements) * 4, input.data.size()) << "input.f32 size";
  const std::vector<int64_t> output_shape = {1, static_cast<int64_t>(
      std::ifstream(ZooFile(name, "output.f32"), std::ios::ate | std::ios::binary).tellg() / 4)};
  const Tensor reference = ReadFloats(ZooFile(name, "output.f32"), "output", output_shape);

  double range = 1;
  for (double value : TensorValues(reference)) range = std::max(range, std::abs(value));
  for (const auto& [runtime, path] : {std::pair{"onnxruntime", onnx}, {"opencv", onnx}, {"libtorch", pt}}) {
    SCOPED_TRACE(std::string(runtime));
    auto outputs = RunOnce(runtime, path, input);
    ASSERT_TRUE(outputs.ok()) << outputs.error().message;
    auto comparison = CompareOutputs(*outputs, {reference});
    ASSERT_TRUE(comparison.ok()) << comparison.error().message;
    const OutputComparison& c = (*comparison)[0];
    std::printf("agreement %-16s %-12s max_abs_error %.3g  max_rel_error %.3g  top1 %s\n", name.c_str(),
                runtime, c.max_abs_error, c.max_rel_error,
                c.top1_agreement ? (*c.top1_agreement == 1 ? "same" : "DIFFERENT") : "n/a");
    EXPECT_LE(c.max_abs_error, kRelativeTolerance * range);
    ASSERT_TRUE(c.top1_agreement.has_value());
    EXPECT_EQ(*c.top1_agreement, 1.0);
  }
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooAgreement, ::testing::ValuesIn(kZooModels),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace edgebench
