#include "edgebench/runtime_inspect.h"

#include <algorithm>

#include "edgebench/registry.h"

namespace edgebench {
namespace {

InspectedTensor ToInspected(const TensorSpec& spec) {
  return {spec.name, std::string(DataTypeName(spec.type)), spec.shape, spec.rank_known};
}

}  // namespace

Expected<ModelSummary> InspectWithRuntime(const std::string& path) {
  auto model = InspectModelFile(path);
  if (!model.ok()) return model.error();
  std::string tried;
  for (const auto& entry : AllBackends()) {
    if (!entry.available) continue;
    const BackendInfo info = entry.describe();
    if (info.name == "null" ||
        std::find(info.formats.begin(), info.formats.end(), model->format) == info.formats.end()) {
      continue;
    }
    auto backend = entry.create();
    auto options = ValidateOptions(info, {});
    if (!options.ok()) return options.error();
    EB_RETURN_IF_ERROR(backend->Load({*model, 1, *options}));
    auto weights = backend->Weights();
    if (!weights.ok()) {
      tried += (tried.empty() ? "" : ", ") + info.name;
      continue;
    }
    ModelSummary summary;
    summary.path = path;
    summary.format = model->format;
    summary.producer = info.name + " " + info.version;
    for (const auto& spec : backend->InputSpecs()) summary.inputs.push_back(ToInspected(spec));
    for (const auto& spec : backend->OutputSpecs()) summary.outputs.push_back(ToInspected(spec));
    summary.params = weights->params;
    summary.weight_bytes = weights->bytes;
    summary.graph_analysed = false;
    summary.warnings.push_back("read through runtime " + info.name +
                               ": no per-node costs (MACs/FLOPs need the ONNX export of the model)");
    return summary;
  }
  return Unsupported(path + ": no runtime in this build reads " +
                     std::string(ModelFormatName(model->format)) + " files and reports weights" +
                     (tried.empty() ? "" : " (tried " + tried + ")"));
}

}  // namespace edgebench
