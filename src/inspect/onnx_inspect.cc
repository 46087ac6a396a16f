#include "onnx_inspect.h"

#include "onnx_analysis.h"

#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <queue>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "constant_folding.h"
#include "onnx_util.h"
#include "op_costs.h"
#include "summary_builder.h"

namespace edgebench::inspect {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kMaxElements = int64_t{1} << 40;  // beyond this a shape is absurd

std::string DisplayOpType(const onnx::NodeProto& node) {
  return IsDefaultDomain(node.domain()) ? node.op_type() : node.domain() + ":" + node.op_type();
}

std::string DescribeNode(const onnx::NodeProto& node, int index) {
  return "node '" + NodeLabel(node, index) + "' (" + DisplayOpType(node) + ")";
}

std::string FirstLine(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  if (line.size() > 300) line = line.substr(0, 300) + "...";
  return line;
}

std::vector<int64_t> ToVector(const google::protobuf::RepeatedField<int64_t>& dims) {
  return {dims.begin(), dims.end()};
}

// ---------------------------------------------------------------- loading

Expected<onnx::ModelProto> LoadModel(const std::string& path) {
  std::error_code error;
  const auto size = fs::file_size(path, error);
  if (error) return NotFound(path + ": cannot read the model (" + error.message() + ")");
  if (size > uint64_t(INT_MAX)) {
    return BadModel(path + ": larger than 2 GiB; an ONNX file this large must keep its weights in "
                           "external data files");
  }
  if (size == 0) return BadModel(path + ": the file is empty");
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(path + ": cannot open the model");
  onnx::ModelProto model;
  if (!model.ParseFromIstream(&in)) {
    return BadModel(path + ": not a valid ONNX model: the protobuf is corrupt or truncated");
  }
  if (!model.has_graph() || model.ir_version() <= 0) {
    return BadModel(path + ": not an ONNX model: the protobuf has no " +
                    (model.has_graph() ? "IR version" : "graph"));
  }
  return model;
}

// ---------------------------------------------------------------- topology

// Names a graph reads from an enclosing scope (used but not defined inside it).
void CollectFreeNames(const onnx::GraphProto& graph, std::set<std::string>& free_names) {
  std::unordered_set<std::string> defined;
  for (const auto& input : graph.input()) defined.insert(input.name());
  for (const auto& tensor : graph.initializer()) defined.insert(tensor.name());
  for (const auto& sparse : graph.sparse_initializer()) defined.insert(sparse.values().name());
  for (const auto& node : graph.node()) {
    for (const auto& output : node.output()) defined.insert(output);
  }
  for (const auto& node : graph.node()) {
    for (const auto& input : node.input()) {
      if (!input.empty() && !defined.count(input)) free_names.insert(input);
    }
    for (const auto& attribute : node.attribute()) {
      std::set<std::string> inner;
      if (attribute.has_g()) CollectFreeNames(attribute.g(), inner);
      for (const auto& subgraph : attribute.graphs()) CollectFreeNames(subgraph, inner);
      for (const auto& name : inner) {
        if (!defined.count(name)) free_names.insert(name);
      }
    }
  }
}

struct Topology {
  std::vector<int> order;                     // node indices in execution order
  std::vector<std::vector<std::string>> reads;  // per node: tensors read, subgraph reads included
};

// Checks that every tensor is produced once and read only where produced, and orders the nodes
// (file order when it is already topological).
Expected<Topology> AnalyzeTopology(const onnx::GraphProto& graph, const std::string& path) {
  const int count = graph.node_size();
  std::unordered_set<std::string> sources;
  for (const auto& input : graph.input()) sources.insert(input.name());
  for (const auto& tensor : graph.initializer()) sources.insert(tensor.name());
  for (const auto& sparse : graph.sparse_initializer()) sources.insert(sparse.values().name());

  std::unordered_map<std::string, int> producer;
  for (int i = 0; i < count; ++i) {
    for (const auto& output : graph.node(i).output()) {
      if (output.empty()) continue;
      if (auto it = producer.find(output); it != producer.end()) {
        return BadModel(path + ": tensor '" + output + "' is produced twice, by " +
                        DescribeNode(graph.node(it->second), it->second) + " and " +
                        DescribeNode(graph.node(i), i));
      }
      if (sources.count(output)) {
        return BadModel(path + ": tensor '" + output + "' is produced by " +
                        DescribeNode(graph.node(i), i) +
                        " but is also a graph input or initializer");
      }
      producer.emplace(output, i);
    }
  }

  Topology topology;
  topology.reads.resize(count);
  for (int i = 0; i < count; ++i) {
    const auto& node = graph.node(i);
    std::set<std::string> reads;
    for (const auto& input : node.input()) {
      if (!input.empty()) reads.insert(input);
    }
    std::set<std::string> implicit;
    for (const auto& attribute : node.attribute()) {
      if (attribute.has_g()) CollectFreeNames(attribute.g(), implicit);
      for (const auto& subgraph : attribute.graphs()) CollectFreeNames(subgraph, implicit);
    }
    for (const auto& name : reads) {
      if (!producer.count(name) && !sources.count(name)) {
        return BadModel(path + ": " + DescribeNode(node, i) + " reads '" + name +
                        "', which no node, graph input or initializer produces");
      }
    }
    for (const auto& name : implicit) {
      if (!producer.count(name) && !sources.count(name)) {
        return BadModel(path + ": a subgraph of " + DescribeNode(node, i) + " reads '" + name +
                        "', which nothing produces");
      }
      reads.insert(name);
    }
    topology.reads[i].assign(reads.begin(), reads.end());
  }
  for (const auto& output : graph.output()) {
    if (!producer.count(output.name()) && !sources.count(output.name())) {
      return BadModel(path + ": graph output '" + output.name() +
                      "' is not produced by any node, input or initializer");
    }
  }

  // Kahn's algorithm, taking the lowest index first so a sorted file keeps its order.
  std::vector<int> pending(count, 0);
  std::vector<std::vector<int>> successors(count);
  for (int i = 0; i < count; ++i) {
    std::set<int> predecessors;
    for (const auto& name : topology.reads[i]) {
      if (auto it = producer.find(name); it != producer.end()) predecessors.insert(it->second);
    }
    pending[i] = int(predecessors.size());
    for (int p : predecessors) successors[p].push_back(i);
  }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int i = 0; i < count; ++i) {
    if (pending[i] == 0) ready.push(i);
  }
  while (!ready.empty()) {
    const int i = ready.top();
    ready.pop();
    topology.order.push_back(i);
    for (int s : successors[i]) {
      if (--pending[s] == 0) ready.push(s);
    }
  }
  if (int(topology.order.size()) == count) return topology;

  // Walk backwards through unscheduled producers until a node repeats: that is a cycle.
  std::vector<int> walk;
  std::unordered_map<int, std::size_t> seen;
  int current = 0;
  while (pending[current] == 0) ++current;
  while (!seen.count(current)) {
    seen[current] = walk.size();
    walk.push_back(current);
    int next = -1;
    for (const auto& name : topology.reads[current]) {
      auto it = producer.find(name);
      if (it != producer.end() && pending[it->second] > 0) {
        next = it->second;
        break;
      }
    }
    if (next < 0) break;  // cannot happen: an unscheduled node has an unscheduled producer
    current = next;
  }
  std::vector<int> cycle(walk.begin() + std::ptrdiff_t(seen.count(current) ? seen[current] : 0),
                         walk.end());
  std::reverse(cycle.begin(), cycle.end());  // producers first
  std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());
  std::string text;
  for (std::size_t i = 0; i < cycle.size() && i < 8; ++i) {
    text += NodeLabel(graph.node(cycle[i]), cycle[i]) + " (" + DisplayOpType(graph.node(cycle[i])) +
            ") -> ";
  }
  if (cycle.size() > 8) text += "... -> ";
  text += NodeLabel(graph.node(cycle.front()), cycle.front());
  return BadModel(path + ": the graph has a cycle: " + text);
}

// ---------------------------------------------------------------- weights

struct WeightTotals {
  int64_t params = 0;
  int64_t bytes = 0;
  bool external = false;
};

// Integer tensors of these types hold shapes, axes and indices in ONNX, not weights.
bool CountsAsParameter(int32_t elem_type) {
  return elem_type != onnx::TensorProto::INT64 && elem_type != onnx::TensorProto::UINT64 &&
         elem_type != onnx::TensorProto::BOOL && elem_type != onnx::TensorProto::STRING &&
         elem_type != onnx::TensorProto::UNDEFINED;
}

int64_t TypedFieldSize(const onnx::TensorProto& tensor) {
  switch (tensor.data_type()) {
    case onnx::TensorProto::FLOAT:
    case onnx::TensorProto::COMPLEX64: return tensor.float_data_size();
    case onnx::TensorProto::DOUBLE:
    case onnx::TensorProto::COMPLEX128: return tensor.double_data_size();
    case onnx::TensorProto::INT64: return tensor.int64_data_size();
    case onnx::TensorProto::UINT32:
    case onnx::TensorProto::UINT64: return tensor.uint64_data_size();
    case onnx::TensorProto::STRING: return tensor.string_data_size();
    default: return tensor.int32_data_size();
  }
}

Expected<int64_t> ParseByteCount(const std::string& text, const std::string& what) {
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 0) {
    return BadModel(what + " has a bad external data offset or length '" + text + "'");
  }
  return value;
}

// Checks a weight tensor's shape and data, and the external file holding it, if any.
// Returns its element count.
Expected<int64_t> CheckTensor(const onnx::TensorProto& tensor, const std::string& what,
                              const std::string& path, std::vector<std::string>& warnings,
                              bool& external) {
  for (int64_t dim : tensor.dims()) {
    if (dim < 0) {
      return BadModel(path + ": " + what + " has a negative dimension (" +
                      FormatShape(ToVector(tensor.dims())) + ")");
    }
  }
  auto count = ProductOfDims(ToVector(tensor.dims()), kMaxElements);
  if (!count) {
    return BadModel(path + ": " + what + " has an absurd shape " +
                    FormatShape(ToVector(tensor.dims())) + " (more than 2^40 elements)");
  }
  const int32_t type = tensor.data_type();
  if (type == onnx::TensorProto::UNDEFINED || !onnx::TensorProto::DataType_IsValid(type)) {
    return BadModel(path + ": " + what + " has no valid element type");
  }
  const int64_t element_size = ElementSize(type);
  const int64_t needed_bytes = *count * element_size;
  if (tensor.data_location() == onnx::TensorProto::EXTERNAL) {
    external = true;
    std::string location;
    int64_t offset = 0, length = -1;
    for (const auto& entry : tensor.external_data()) {
      if (entry.key() == "location") location = entry.value();
      if (entry.key() == "offset") {
        auto parsed = ParseByteCount(entry.value(), path + ": " + what);
        if (!parsed.ok()) return parsed.error();
        offset = *parsed;
      }
      if (entry.key() == "length") {
        auto parsed = ParseByteCount(entry.value(), path + ": " + what);
        if (!parsed.ok()) return parsed.error();
        length = *parsed;
      }
    }
    if (location.empty()) {
      return BadModel(path + ": " + what + " is stored in external data but names no file");
    }
    const fs::path relative(location);
    if (relative.is_absolute() ||
        std::any_of(relative.begin(), relative.end(), [](const fs::path& part) { return part == ".."; })) {
      return BadModel(path + ": " + what + " names external data file '" + location +
                      "' outside the model's directory");
    }
    const fs::path file = fs::path(path).parent_path() / relative;
    std::error_code error;
    if (!fs::is_regular_file(file, error)) {
      return BadModel(path + ": external data file '" + location + "' of " + what +
                      " not found (looked for " + file.string() + ")");
    }
    const auto file_size = int64_t(fs::file_size(file, error));
    if (error) {
      return BadModel(path + ": cannot read external data file '" + file.string() + "'");
    }
    const int64_t size = length >= 0 ? length : needed_bytes;
    if (element_size > 0 && length >= 0 && length != needed_bytes) {
      return BadModel(path + ": " + what + " of shape " + FormatShape(ToVector(tensor.dims())) +
                      " needs " + std::to_string(needed_bytes) +
                      " bytes but its external data length is " + std::to_string(length));
    }
    auto end = CheckedAdd(offset, size);
    if (!end || *end > file_size) {
      return BadModel(path + ": external data file '" + location + "' is too short for " + what +
                      " (needs bytes " + std::to_string(offset) + " to " +
                      std::to_string(offset + size) + ", the file has " +
                      std::to_string(file_size) + ")");
    }
    return *count;
  }
  if (tensor.has_raw_data() && element_size > 0) {
    if (int64_t(tensor.raw_data().size()) != needed_bytes) {
      return BadModel(path + ": " + what + " of shape " + FormatShape(ToVector(tensor.dims())) +
                      " and type " + ElementTypeName(type) + " needs " +
                      std::to_string(needed_bytes) + " bytes but holds " +
                      std::to_string(tensor.raw_data().size()));
    }
    return *count;
  }
  if (!tensor.has_raw_data()) {
    const int64_t expected = type == onnx::TensorProto::COMPLEX64 || type == onnx::TensorProto::COMPLEX128
                                 ? *count * 2
                                 : *count;
    const int64_t held = TypedFieldSize(tensor);
    if (held == 0 && expected > 0) {
      warnings.push_back(what + " holds no data (counted from its shape)");
    } else if (held != expected) {
      return BadModel(path + ": " + what + " of shape " + FormatShape(ToVector(tensor.dims())) +
                      " holds " + std::to_string(held) + " values instead of " +
                      std::to_string(expected));
    }
  }
  return *count;
}

Status AddWeight(const onnx::TensorProto& tensor, const std::string& what, const std::string& path,
                 std::vector<std::string>& warnings, WeightTotals& totals) {
  auto count = CheckTensor(tensor, what, path, warnings, totals.external);
  if (!count.ok()) return count.error();
  if (!CountsAsParameter(tensor.data_type())) return OkStatus();
  totals.params += *count;  // each <= 2^40: no overflow for any realistic number of tensors
  totals.bytes += *count * ElementSize(tensor.data_type());
  return OkStatus();
}

Expected<WeightTotals> CountWeights(const onnx::GraphProto& graph, const std::string& path,
                                    std::vector<std::string>& warnings) {
  WeightTotals totals;
  for (const auto& tensor : graph.initializer()) {
    if (tensor.name().empty()) return BadModel(path + ": an initializer has no name");
    EB_RETURN_IF_ERROR(AddWeight(tensor, "initializer '" + tensor.name() + "'", path, warnings, totals));
  }
  for (const auto& sparse : graph.sparse_initializer()) {
    EB_RETURN_IF_ERROR(AddWeight(sparse.values(), "sparse initializer '" + sparse.values().name() + "'",
                                 path, warnings, totals));
  }
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& node = graph.node(i);
    if (node.op_type() != "Constant" || !IsDefaultDomain(node.domain())) continue;
    for (const auto& attribute : node.attribute()) {
      const std::string what = "the value of " + DescribeNode(node, i);
      if (attribute.name() == "value" && attribute.has_t()) {
        EB_RETURN_IF_ERROR(AddWeight(attribute.t(), what, path, warnings, totals));
      } else if (attribute.name() == "sparse_value" && attribute.has_sparse_tensor()) {
        EB_RETURN_IF_ERROR(AddWeight(attribute.sparse_tensor().values(), what, path, warnings, totals));
      } else if (attribute.name() == "value_float") {
        totals.params += 1;
        totals.bytes += 4;
      } else if (attribute.name() == "value_floats") {
        totals.params += attribute.floats_size();
        totals.bytes += 4 * int64_t(attribute.floats_size());
      }
    }
  }
  return totals;
}

// ---------------------------------------------------------------- inputs and shapes

KnownShape ShapeOfType(const onnx::TypeProto& type) {
  KnownShape shape;
  const onnx::TypeProto_Tensor* tensor = nullptr;
  if (type.has_tensor_type()) tensor = &type.tensor_type();
  if (!tensor) return shape;
  shape.elem_type = tensor->elem_type();
  if (!tensor->has_shape()) return shape;
  shape.rank_known = true;
  for (const auto& dim : tensor->shape().dim()) {
    shape.dims.push_back(dim.has_dim_value() && dim.dim_value() >= 0 ? dim.dim_value() : kDynamicDim);
  }
  return shape;
}

std::string TypeName(const onnx::TypeProto& type) {
  switch (type.value_case()) {
    case onnx::TypeProto::kTensorType: return ElementTypeName(type.tensor_type().elem_type());
    case onnx::TypeProto::kSparseTensorType:
      return "sparse " + ElementTypeName(type.sparse_tensor_type().elem_type());
    case onnx::TypeProto::kSequenceType: return "sequence";
    case onnx::TypeProto::kMapType: return "map";
    case onnx::TypeProto::kOptionalType: return "optional";
    default: return "unknown";
  }
}

// Adds what `shape` knows to `known`, keeping dims already known.
void MergeShape(std::map<std::string, KnownShape>& shapes, const std::string& name,
                const KnownShape& shape) {
  auto [it, inserted] = shapes.emplace(name, shape);
  if (inserted) return;
  KnownShape& known = it->second;
  if (!known.elem_type) known.elem_type = shape.elem_type;
  if (!shape.rank_known) return;
  if (!known.rank_known) {
    known.rank_known = true;
    known.dims = shape.dims;
    return;
  }
  if (known.dims.size() != shape.dims.size()) return;
  for (std::size_t d = 0; d < known.dims.size(); ++d) {
    if (known.dims[d] < 0) known.dims[d] = shape.dims[d];
  }
}

// A real graph input (not an initializer) and the shape it is counted with.
struct InputPlan {
  int graph_index = 0;  // in graph.input()
  InspectedTensor tensor;
  int32_t elem_type = 0;
  std::vector<std::string> dim_params;  // symbolic names, "" where none
};

Expected<std::vector<InputPlan>> PlanInputs(const std::string& path, const onnx::GraphProto& graph,
                                            const ShapeOverrides& overrides,
                                            std::vector<std::string>& dynamic_inputs,
                                            std::vector<std::string>& assumed_dims) {
  std::unordered_set<std::string> initializers;
  for (const auto& tensor : graph.initializer()) initializers.insert(tensor.name());
  std::vector<InputPlan> plans;
  for (int i = 0; i < graph.input_size(); ++i) {
    const auto& input = graph.input(i);
    if (initializers.count(input.name())) continue;
    InputPlan plan;
    plan.graph_index = i;
    plan.tensor.name = input.name();
    plan.tensor.type = TypeName(input.type());
    const KnownShape shape = ShapeOfType(input.type());
    plan.elem_type = shape.elem_type;
    plan.tensor.rank_known = shape.rank_known;
    plan.tensor.shape = shape.dims;
    if (shape.rank_known) {
      for (const auto& dim : input.type().tensor_type().shape().dim()) {
        plan.dim_params.push_back(dim.has_dim_param() ? dim.dim_param() : "");
      }
    }
    if (!shape.IsConcrete()) dynamic_inputs.push_back(input.name());
    plans.push_back(std::move(plan));
  }

  for (const auto& [name, dims] : overrides) {
    auto it = std::find_if(plans.begin(), plans.end(),
                           [&name = name](const InputPlan& plan) { return plan.tensor.name == name; });
    if (it == plans.end()) {
      std::string known;
      for (const auto& plan : plans) known += (known.empty() ? "" : ", ") + plan.tensor.name;
      return InvalidArgument("--shape names input '" + name + "', but the model's inputs are: " +
                             (known.empty() ? "(none)" : known));
    }
    auto& tensor = it->tensor;
    if (tensor.rank_known && tensor.shape.size() != dims.size()) {
      return InvalidArgument("--shape " + name + "=" + FormatShape(dims) + " has rank " +
                             std::to_string(dims.size()) + ", but the model's input is " +
                             FormatShape(tensor.shape));
    }
    for (std::size_t d = 0; tensor.rank_known && d < dims.size(); ++d) {
      if (tensor.shape[d] >= 0 && tensor.shape[d] != dims[d]) {
        return InvalidArgument("--shape " + name + "=" + FormatShape(dims) +
                               " contradicts the model's fixed dimension " +
                               std::to_string(tensor.shape[d]) + " at axis " + std::to_string(d));
      }
    }
    if (!ElementCount(dims).ok()) {
      return InvalidArgument("--shape " + name + "=" + FormatShape(dims) + " has too many elements");
    }
    // Dims sharing a symbolic name with an overridden dim take the same value elsewhere.
    if (tensor.rank_known) {
      for (std::size_t d = 0; d < dims.size(); ++d) {
        const std::string& symbol = it->dim_params[d];
        if (symbol.empty()) continue;
        for (auto& other : plans) {
          if (overrides.count(other.tensor.name)) continue;
          for (std::size_t e = 0; e < other.dim_params.size(); ++e) {
            if (other.dim_params[e] == symbol && other.tensor.shape[e] < 0) other.tensor.shape[e] = dims[d];
          }
        }
      }
    }
    tensor.rank_known = true;
    tensor.shape = dims;
  }

  for (auto& plan : plans) {
    if (!plan.tensor.rank_known) continue;
    for (std::size_t d = 0; d < plan.tensor.shape.size(); ++d) {
      if (plan.tensor.shape[d] >= 0) continue;
      plan.tensor.shape[d] = 1;
      std::string note = plan.tensor.name + "[" + std::to_string(d) + "]=1";
      if (d < plan.dim_params.size() && !plan.dim_params[d].empty()) {
        note += " ('" + plan.dim_params[d] + "')";
      }
      assumed_dims.push_back(note);
    }
    if (!ProductOfDims(plan.tensor.shape, kMaxElements)) {
      return BadModel(path + ": input '" + plan.tensor.name + "' has an absurd shape " +
                      FormatShape(plan.tensor.shape) + " (more than 2^40 elements)");
    }
  }
  return plans;
}

// ---------------------------------------------------------------- shape inference

// A copy of the model for shape inference: planned input shapes, and large initializers
// without their data.
onnx::ModelProto BuildShapeModel(const onnx::ModelProto& model, const std::vector<InputPlan>& inputs,
                                 bool keep_value_info) {
  const onnx::GraphProto& source = model.graph();
  onnx::ModelProto copy;
  copy.set_ir_version(model.ir_version());
  *copy.mutable_opset_import() = model.opset_import();
  *copy.mutable_functions() = model.functions();
  onnx::GraphProto& graph = *copy.mutable_graph();
  graph.set_name(source.name());
  *graph.mutable_input() = source.input();
  for (const auto& plan : inputs) {
    auto* type = graph.mutable_input(plan.graph_index)->mutable_type();
    if (!type->has_tensor_type() || !plan.tensor.rank_known) continue;
    auto* shape = type->mutable_tensor_type()->mutable_shape();
    shape->clear_dim();
    for (int64_t dim : plan.tensor.shape) shape->add_dim()->set_dim_value(dim);
  }
  *graph.mutable_output() = source.output();
  if (keep_value_info) {
    *graph.mutable_value_info() = source.value_info();
  } else {
    for (auto& output : *graph.mutable_output()) {
      if (output.type().has_tensor_type()) output.mutable_type()->mutable_tensor_type()->clear_shape();
    }
  }
  *graph.mutable_node() = source.node();
  for (const auto& tensor : source.initializer()) {
    auto count = ProductOfDims(ToVector(tensor.dims()));
    if (count && *count <= kMaxFoldElements && tensor.data_location() != onnx::TensorProto::EXTERNAL) {
      *graph.add_initializer() = tensor;
    } else {
      auto* stub = graph.add_initializer();
      stub->set_name(tensor.name());
      stub->set_data_type(tensor.data_type());
      *stub->mutable_dims() = tensor.dims();
    }
  }
  *graph.mutable_sparse_initializer() = source.sparse_initializer();
  return copy;
}

// libonnx's inference functions trust more than the schema checks, and fuzzing found two that
// crash on ranks they do not expect: the first RNN, GRU and LSTM (before opset 7) read X's first
// two dimensions unchecked (an X of rank 1 crashed it), and the convolution and pooling
// inference indexes the weights' and attributes' dimensions by X's (a QLinearConv of X rank 3
// and W rank 4 crashed it). Returns why `node` must not be inferred, given the rank of each input
// (`rank_of(i)`, -1 when not known), or "" when inference is safe.
std::string InferenceHazard(const onnx::NodeProto& node, const onnx::OpSchema& schema,
                            const std::function<int(int)>& rank_of) {
  if (!IsDefaultDomain(schema.domain())) return "";
  const std::string label = "node '" + node.name() + "' (" + node.op_type() + "-" + std::to_string(schema.since_version()) + "): ";
  static const std::set<std::string> kRecurrent = {"RNN", "GRU", "LSTM"};
  if (kRecurrent.contains(node.op_type()) && schema.since_version() < 7 && rank_of(0) != 3) {
    const int rank = rank_of(0);
    return label + "its input X has " + (rank < 0 ? std::string("no known rank") : "rank " + std::to_string(rank)) +
           ", and this version's shape inference needs rank 3";
  }
  // Convolutions and pools: the input holding the weights (-1: none).
  static const std::map<std::string, int> kWindowed = {
      {"Conv", 1}, {"ConvInteger", 1}, {"QLinearConv", 3}, {"ConvTranspose", 1},
      {"MaxPool", -1}, {"AveragePool", -1}, {"LpPool", -1}};
  const auto windowed = kWindowed.find(node.op_type());
  const int x_rank = node.input_size() > 0 ? rank_of(0) : -1;
  if (windowed == kWindowed.end() || x_rank < 0) return "";
  if (x_rank < 3) return label + "its input X has rank " + std::to_string(x_rank) + ", not at least 3";
  const int w = windowed->second;
  if (w >= 0 && w < node.input_size() && !node.input(w).empty() && rank_of(w) >= 0 && rank_of(w) != x_rank) {
    return label + "its weights have rank " + std::to_string(rank_of(w)) + ", its input X rank " + std::to_string(x_rank);
  }
  for (const auto& attribute : node.attribute()) {
    const int per_spatial_dim = attribute.name() == "pads" ? 2 : 1;
    const bool spatial = attribute.name() == "kernel_shape" || attribute.name() == "strides" ||
                         attribute.name() == "dilations" || attribute.name() == "pads" ||
                         attribute.name() == "output_padding";
    if (spatial && attribute.ints_size() != per_spatial_dim * (x_rank - 2)) {
      return label + "its " + attribute.name() + " has " + std::to_string(attribute.ints_size()) + " values for " +
             std::to_string(x_rank - 2) + " spatial dims";
    }
  }
  return "";
}

// Runs ONNX shape inference, retrying without the file's value_info and without data
// propagation when it throws. Returns the inferred model; failures become warnings.
onnx::ModelProto InferShapes(const onnx::ModelProto& model, const std::vector<InputPlan>& inputs,
                             std::vector<std::string>& warnings) {
  struct Attempt {
    bool keep_value_info;
    bool data_propagation;
  };
  // libonnx's inference functions trust the schema: a node missing a required attribute can
  // crash them (a Scan-9 without num_scan_inputs, found by fuzzing). Such a graph is not inferred.
  std::map<std::string, int> opsets;
  for (const auto& import : model.opset_import()) opsets[import.domain() == "ai.onnx" ? "" : import.domain()] = static_cast<int>(import.version());
  // The ranks whole-model inference starts from: the file's initializers and value_info, and
  // the graph inputs as planned. Ranks it infers on the way are not checked beforehand.
  std::map<std::string, int> known_ranks;
  for (const auto& value : model.graph().value_info()) {
    if (value.type().tensor_type().has_shape()) known_ranks[value.name()] = value.type().tensor_type().shape().dim_size();
  }
  for (const auto& tensor : model.graph().initializer()) known_ranks[tensor.name()] = tensor.dims_size();
  for (const auto& plan : inputs) {
    if (plan.tensor.rank_known) known_ranks[plan.tensor.name] = static_cast<int>(plan.tensor.shape.size());
  }
  std::string unverified;
  std::function<void(const onnx::GraphProto&)> verify = [&](const onnx::GraphProto& graph) {
    for (const auto& node : graph.node()) {
      if (!unverified.empty()) return;
      const auto opset = opsets.find(node.domain() == "ai.onnx" ? "" : node.domain());
      const auto* schema = opset == opsets.end() ? nullptr
                                                 : onnx::OpSchemaRegistry::Schema(node.op_type(), opset->second, node.domain());
      if (schema != nullptr) {
        try {
          schema->Verify(node);
        } catch (const std::exception& error) {
          unverified = "node '" + node.name() + "' (" + node.op_type() + "): " + FirstLine(error.what());
          return;
        }
        unverified = InferenceHazard(node, *schema, [&](int i) {
          const auto rank = i < node.input_size() ? known_ranks.find(node.input(i)) : known_ranks.end();
          return rank == known_ranks.end() ? -1 : rank->second;
        });
        if (!unverified.empty()) return;
      }
      for (const auto& attribute : node.attribute()) {
        if (attribute.has_g()) verify(attribute.g());
        for (const auto& graph_attribute : attribute.graphs()) verify(graph_attribute);
      }
    }
  };
  verify(model.graph());
  if (!unverified.empty()) {
    warnings.push_back("shape inference skipped: " + unverified + "; shapes not given in the file are unknown");
    return BuildShapeModel(model, inputs, /*keep_value_info=*/true);
  }
  std::string first_error;
  onnx::ModelProto inferred;
  for (const Attempt attempt : {Attempt{true, true}, Attempt{false, true}, Attempt{false, false}}) {
    inferred = BuildShapeModel(model, inputs, attempt.keep_value_info);
    try {
      onnx::ShapeInferenceOptions options(/*check_type=*/false, /*error_mode=*/0,
                                          /*enable_data_propagation=*/attempt.data_propagation);
      onnx::shape_inference::InferShapes(inferred, onnx::OpSchemaRegistry::Instance(), options);
      return inferred;
    } catch (const std::exception& error) {
      if (first_error.empty()) first_error = FirstLine(error.what());
    }
  }
  warnings.push_back("shape inference failed (" + first_error +
                     "); shapes not inferred are unknown");
  return inferred;
}

std::map<std::string, KnownShape> CollectShapes(const onnx::ModelProto& model,
                                                const onnx::GraphProto& inferred,
                                                const std::vector<InputPlan>& inputs,
                                                const std::map<std::string, ConstTensor>& constants) {
  std::map<std::string, KnownShape> shapes;
  for (const auto& [name, value] : constants) {
    shapes[name] = KnownShape{value.elem_type, true, value.dims};
  }
  for (const auto& tensor : model.graph().initializer()) {
    MergeShape(shapes, tensor.name(), KnownShape{tensor.data_type(), true, ToVector(tensor.dims())});
  }
  for (const auto& plan : inputs) {
    MergeShape(shapes, plan.tensor.name, KnownShape{plan.elem_type, plan.tensor.rank_known, plan.tensor.shape});
  }
  for (const auto& value : inferred.input()) MergeShape(shapes, value.name(), ShapeOfType(value.type()));
  for (const auto& value : inferred.value_info()) MergeShape(shapes, value.name(), ShapeOfType(value.type()));
  for (const auto& value : inferred.output()) MergeShape(shapes, value.name(), ShapeOfType(value.type()));
  return shapes;
}

onnx::TypeProto TypeOfShape(const KnownShape& shape) {
  onnx::TypeProto type;
  auto* tensor = type.mutable_tensor_type();
  tensor->set_elem_type(shape.elem_type);
  if (shape.rank_known) {
    auto* dims = tensor->mutable_shape();
    for (int64_t value : shape.dims) {
      auto* dim = dims->add_dim();
      if (value >= 0) dim->set_dim_value(value);
    }
  }
  return type;
}

// Sequence, map and optional types that whole-model inference found, by tensor name.
std::unordered_map<std::string, onnx::TypeProto> NonTensorTypes(const onnx::GraphProto& inferred) {
  std::unordered_map<std::string, onnx::TypeProto> types;
  auto add = [&types](const onnx::ValueInfoProto& value) {
    if (value.has_type() && !value.type().has_tensor_type()) types[value.name()] = value.type();
  };
  for (const auto& value : inferred.input()) add(value);
  for (const auto& value : inferred.value_info()) add(value);
  for (const auto& value : inferred.output()) add(value);
  return types;
}

bool HasSubgraph(const onnx::NodeProto& node) {
  return std::any_of(node.attribute().begin(), node.attribute().end(),
                     [](const onnx::AttributeProto& a) { return a.has_g() || a.graphs_size() > 0; });
}

// One pass in execution order: a node whose inputs are constant is folded; any other node runs
// its schema's shape inference seeing the folded values (so Reshape, Expand, Resize... get
// their target shapes). What this pass cannot tell keeps the whole-model inference's answer.
void PropagateShapes(const onnx::ModelProto& model, const Topology& topology,
                     const std::unordered_map<std::string, onnx::TypeProto>& non_tensor_types,
                     std::map<std::string, KnownShape>& shapes,
                     std::map<std::string, ConstTensor>& constants) {
  std::unordered_map<std::string, int> opsets;
  for (const auto& import : model.opset_import()) {
    opsets[IsDefaultDomain(import.domain()) ? "" : import.domain()] = int(import.version());
  }
  const int opset = opsets.count("") ? opsets[""] : 1;
  for (int index : topology.order) {
    const auto& node = model.graph().node(index);
    if (auto outputs = FoldNode(node, opset, constants, shapes)) {
      for (int o = 0; o < node.output_size(); ++o) {
        const std::string& name = node.output(o);
        if (name.empty()) continue;
        shapes[name] = KnownShape{(*outputs)[o].elem_type, true, (*outputs)[o].dims};
        constants[name] = std::move((*outputs)[o]);
      }
      continue;
    }
    const std::string domain = IsDefaultDomain(node.domain()) ? "" : node.domain();
    const auto version = opsets.find(domain);
    if (version == opsets.end() || HasSubgraph(node)) continue;
    const onnx::OpSchema* schema =
        onnx::OpSchemaRegistry::Schema(node.op_type(), version->second, domain);
    if (!schema || !schema->has_type_and_shape_inference_function()) continue;
    try {
      schema->Verify(node);  // inference functions trust what the schema requires
    } catch (const std::exception&) {
      continue;
    }
    const std::string hazard = InferenceHazard(node, *schema, [&](int i) {
      const auto shape = i < node.input_size() ? shapes.find(node.input(i)) : shapes.end();
      return shape != shapes.end() && shape->second.rank_known ? int(shape->second.dims.size()) : -1;
    });
    if (!hazard.empty()) continue;

    const int input_count = node.input_size();
    std::vector<onnx::TypeProto> input_types(input_count);
    std::vector<onnx::TensorProto> input_data(input_count);
    std::unordered_map<std::string, onnx::TypeProto*> types;
    std::unordered_map<std::string, const onnx::TensorProto*> data;
    bool complete = true;
    for (int i = 0; i < input_count && complete; ++i) {
      const std::string& name = node.input(i);
      if (name.empty() || types.count(name)) continue;
      if (auto shape = shapes.find(name); shape != shapes.end() && shape->second.elem_type != 0) {
        input_types[i] = TypeOfShape(shape->second);
      } else if (auto other = non_tensor_types.find(name); other != non_tensor_types.end()) {
        input_types[i] = other->second;
      } else {
        complete = false;
        break;
      }
      types[name] = &input_types[i];
      if (auto value = constants.find(name); value != constants.end()) {
        input_data[i] = ConstToProto(value->second, name);
        data[name] = &input_data[i];
      }
    }
    if (!complete) continue;
    onnx::NodeProto copy = node;
    try {
      onnx::shape_inference::InferenceContextImpl context(copy, types, data, {});
      schema->GetTypeAndShapeInferenceFunction()(context);
      for (int o = 0; o < node.output_size() && o < int(context.allOutputTypes_.size()); ++o) {
        const std::string& name = node.output(o);
        if (name.empty()) continue;
        KnownShape inferred = ShapeOfType(context.allOutputTypes_[o]);
        if (!inferred.elem_type && !inferred.rank_known) continue;
        if (auto previous = shapes.find(name); previous != shapes.end()) {
          std::map<std::string, KnownShape> merged{{name, inferred}};
          MergeShape(merged, name, previous->second);
          inferred = merged[name];
        }
        shapes[name] = inferred;
      }
    } catch (const std::exception&) {
      // Keep the whole-model answer for this node.
    }
  }
}

// ---------------------------------------------------------------- the pass

int DefaultOpset(const onnx::ModelProto& model) {
  for (const auto& import : model.opset_import()) {
    if (IsDefaultDomain(import.domain())) return int(import.version());
  }
  return 1;  // IR versions before opset imports meant opset 1
}

void RunChecker(const onnx::ModelProto& model, const std::string& path, bool external,
                std::vector<std::string>& warnings) {
  try {
    if (external) {
      onnx::checker::check_model(path);  // resolves external files next to the model
    } else {
      onnx::checker::check_model(model);
    }
  } catch (const std::exception& error) {
    warnings.push_back("onnx checker: " + FirstLine(error.what()));
  }
}

}  // namespace

std::string NodeLabel(const onnx::NodeProto& node, int index) {
  return node.name().empty() ? node.op_type() + "_" + std::to_string(index) : node.name();
}

Expected<OnnxAnalysis> AnalyzeOnnx(const std::string& path, const ShapeOverrides& overrides) {
  auto loaded = LoadModel(path);
  if (!loaded.ok()) return loaded.error();
  OnnxAnalysis analysis;
  analysis.model = std::move(*loaded);
  const onnx::ModelProto& model = analysis.model;
  const onnx::GraphProto& graph = model.graph();
  analysis.opset = DefaultOpset(model);

  auto topology = AnalyzeTopology(graph, path);
  if (!topology.ok()) return topology.error();
  auto weights = CountWeights(graph, path, analysis.warnings);
  if (!weights.ok()) return weights.error();
  analysis.params = weights->params;
  analysis.weight_bytes = weights->bytes;
  analysis.external_data = weights->external;

  auto inputs = PlanInputs(path, graph, overrides, analysis.dynamic_inputs, analysis.assumed_dims);
  if (!inputs.ok()) return inputs.error();
  for (const auto& plan : *inputs) analysis.inputs.push_back(plan.tensor);

  RunChecker(model, path, weights->external, analysis.warnings);

  // Whole-model shape inference first (it also covers subgraphs and functions), then a pass in
  // execution order that folds constant (shape) subgraphs and re-infers each node seeing the
  // folded values.
  std::map<std::string, ConstTensor>& constants = analysis.constants;
  for (const auto& tensor : graph.initializer()) {
    if (auto value = ConstFromProto(tensor)) constants.emplace(tensor.name(), std::move(*value));
  }
  const onnx::ModelProto inferred = InferShapes(model, *inputs, analysis.warnings);
  std::map<std::string, KnownShape>& shapes = analysis.shapes;
  shapes = CollectShapes(model, inferred.graph(), *inputs, constants);
  PropagateShapes(model, *topology, NonTensorTypes(inferred.graph()), shapes, constants);

  for (const auto& [name, shape] : shapes) {
    if (!shape.rank_known) continue;
    std::vector<int64_t> known;
    for (int64_t dim : shape.dims) {
      if (dim >= 0) known.push_back(dim);
    }
    if (!ProductOfDims(known, kMaxElements)) {
      return BadModel(path + ": tensor '" + name + "' would have the absurd shape " +
                      FormatShape(shape.dims) + " (more than 2^40 elements)");
    }
  }
  analysis.order = std::move(topology->order);
  analysis.reads = std::move(topology->reads);
  return analysis;
}

Expected<ModelSummary> InspectOnnx(const std::string& path, const ShapeOverrides& overrides) {
  auto analyzed = AnalyzeOnnx(path, overrides);
  if (!analyzed.ok()) return analyzed.error();
  const OnnxAnalysis& analysis = *analyzed;
  const onnx::ModelProto& model = analysis.model;
  const onnx::GraphProto& graph = model.graph();
  const std::map<std::string, KnownShape>& shapes = analysis.shapes;

  ModelSummary summary;
  summary.path = path;
  summary.format = ModelFormat::kOnnx;
  summary.ir_version = model.ir_version();
  summary.opset = analysis.opset;
  summary.producer = model.producer_name();
  if (!model.producer_version().empty()) {
    summary.producer += (summary.producer.empty() ? "" : " ") + model.producer_version();
  }
  summary.params = analysis.params;
  summary.weight_bytes = analysis.weight_bytes;
  summary.inputs = analysis.inputs;
  summary.dynamic_inputs = analysis.dynamic_inputs;
  summary.assumed_dims = analysis.assumed_dims;
  summary.warnings = analysis.warnings;

  for (const auto& output : graph.output()) {
    InspectedTensor tensor;
    tensor.name = output.name();
    tensor.type = TypeName(output.type());
    auto it = shapes.find(output.name());
    if (it != shapes.end()) {
      if (it->second.elem_type) tensor.type = ElementTypeName(it->second.elem_type);
      tensor.rank_known = it->second.rank_known;
      tensor.shape = it->second.dims;
    } else {
      tensor.rank_known = false;
    }
    summary.outputs.push_back(std::move(tensor));
  }

  std::vector<bool> unsupported;
  for (int index : analysis.order) {
    const auto& node = graph.node(index);
    const CountedCost cost = CountNodeCost(node, summary.opset, shapes);
    if (cost.status == CostStatus::kOverflow) {
      return BadModel(path + ": " + DescribeNode(node, index) +
                      ": operation count overflows 64 bits (absurd shapes)");
    }
    NodeCost entry;
    entry.name = NodeLabel(node, index);
    entry.op_type = DisplayOpType(node);
    entry.macs = cost.macs;
    entry.elementwise_ops = cost.elementwise_ops;
    entry.cost_known = cost.status == CostStatus::kCounted;
    entry.note = cost.note;
    if (node.output_size() > 0) {
      if (auto it = shapes.find(node.output(0)); it != shapes.end()) {
        entry.output_rank_known = it->second.rank_known;
        entry.output_shape = it->second.dims;
      }
    }
    unsupported.push_back(cost.status == CostStatus::kUnsupported);
    summary.nodes.push_back(std::move(entry));
  }
  if (!AddUpNodeCosts(summary, unsupported)) {
    return BadModel(path + ": the model's operation count overflows 64 bits (absurd shapes)");
  }

  // Activation memory: graph inputs and node outputs (not Constant nodes' values).
  std::vector<std::string> input_names, output_names;
  for (const auto& input : analysis.inputs) input_names.push_back(input.name);
  for (const auto& output : graph.output()) output_names.push_back(output.name());
  std::vector<ScheduleStep> steps;
  for (int index : analysis.order) {
    const auto& node = graph.node(index);
    ScheduleStep step;
    step.reads = analysis.reads[index];
    if (node.op_type() != "Constant") {
      for (const auto& output : node.output()) {
        if (!output.empty()) step.writes.push_back(output);
      }
    }
    steps.push_back(std::move(step));
  }
  const ActivationMemory memory =
      MeasureActivations(input_names, output_names, steps, [&shapes](const std::string& name) -> int64_t {
        auto it = shapes.find(name);
        if (it == shapes.end() || !it->second.IsConcrete()) return -1;
        const int64_t size = ElementSize(it->second.elem_type);
        auto count = ProductOfDims(it->second.dims, kMaxElements);
        if (size == 0 || !count) return -1;
        return *count * size;
      });
  summary.peak_activation_bytes = memory.peak_bytes;
  summary.total_activation_bytes = memory.total_bytes;
  summary.unknown_size_activations = memory.unknown;
  return summary;
}

}  // namespace edgebench::inspect
