// The ONNX inspector: parse with libonnx's protobuf classes, validate the graph, run the
// checker and shape inference (with constant folding of shape subgraphs), count costs.
#pragma once

#include <string>

#include "edgebench/inspect.h"

namespace edgebench::inspect {

Expected<ModelSummary> InspectOnnx(const std::string& path, const ShapeOverrides& shapes);

}  // namespace edgebench::inspect
