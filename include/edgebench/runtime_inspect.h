// Inspection through a runtime, for model formats only a runtime can read (TorchScript):
// format, inputs and outputs as the runtime reports them, parameters and weight bytes. No
// MACs: the graph is not analysed.
#pragma once

#include <string>

#include "edgebench/inspect.h"

namespace edgebench {

// Loads `path` with the first compiled backend that accepts its format and reports weights
// (Backend::Weights). Errors: the file's own (kNotFound, kBadModel) or kUnsupported when no
// compiled runtime can read the format.
Expected<ModelSummary> InspectWithRuntime(const std::string& path);

}  // namespace edgebench
