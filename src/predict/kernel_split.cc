// Fusion rules and the splitter (kernel_split.h) over the inspector's ONNX front end.
#include "edgebench/kernel_split.h"

#include <algorithm>
#include <map>
#include <set>

#include "edgebench/model_file.h"
#include "edgebench/text.h"
#include "inspect/onnx_analysis.h"
#include "inspect/onnx_util.h"

namespace edgebench {
namespace {

using inspect::FindAttribute;
using inspect::IntAttribute;
using inspect::IntsAttribute;
using nlohmann::json;

template <typename T>
void AddUnique(std::vector<T>& items, const T& item) {
  if (std::find(items.begin(), items.end(), item) == items.end()) items.push_back(item);
}

// The activation name of an activation node, or "" when the node is none.
std::string ActivationOf(const onnx::NodeProto& node, const inspect::OnnxAnalysis& analysis, std::string& note) {
  const std::string& op = node.op_type();
  if (op == "Relu") return "relu";
  if (op == "HardSwish") return "hswish";
  if (op == "HardSigmoid") return "hsigmoid";
  if (op == "Sigmoid") return "sigmoid";
  if (op != "Clip") return "";
  // Clip's bounds: attributes before opset 11, optional constant inputs after.
  double low = inspect::FloatAttribute(node, "min", -3.4e38f), high = inspect::FloatAttribute(node, "max", 3.4e38f);
  for (int i = 1; i <= 2; ++i) {
    const auto constant = analysis.constants.find(inspect::InputName(node, i));
    if (constant != analysis.constants.end() && constant->second.size() == 1) {
      (i == 1 ? low : high) = constant->second.AsDouble(0);
    }
  }
  if (low == 0 && high == 6) return "relu6";
  if (low == 0 && high > 1e30) return "relu";
  note = "Clip(" + std::to_string(low) + ", " + std::to_string(high) + ") taken as relu6";
  return "relu6";
}

// --- Blocked layout ---------------------------------------------------------------------------
// Which kernels run in a blocked layout, as onnxruntime's NCHWc transformer decides, measured on
// onnxruntime 1.29 (the layout shares of kernel models and the conversions in profiles of whole
// models, tests/cli_test.cc): convolutions take channels in multiples of a quarter block (reading
// NCHW directly with fewer input channels than a block), pools need whole blocks, element-wise
// kernels and concatenations blocked inputs.

// How a kernel meets a blocked layout: whether it runs blocked, and whether it still reads its
// first input in the plain layout (a convolution of fewer input channels than a block).
struct BlockedUse {
  bool runs_blocked = false;
  bool reads_plain_input = false;
  // A convolution with a fused residual Add whose other operand is NCHW: onnxruntime does not
  // fuse then; the Add runs plain on the convolution's result converted back.
  bool plain_add = false;
};

// `inputs_blocked` and `input_dims`: the kernel's data inputs, in order.
BlockedUse UseOfBlockedLayout(const ModelKernel& kernel, const std::vector<bool>& inputs_blocked,
                              const std::vector<std::vector<int64_t>>& input_dims, int64_t block) {
  const KernelConfig& c = kernel.config;
  const auto aligned = [&](int64_t channels) { return channels > 0 && channels % block == 0; };
  const auto quarter_aligned = [&](int64_t channels) { return channels > 0 && channels % std::max<int64_t>(block / 4, 1) == 0; };
  const bool all_blocked = !inputs_blocked.empty() &&
                           std::all_of(inputs_blocked.begin(), inputs_blocked.end(), [](bool b) { return b; });
  const bool same_shapes = std::all_of(input_dims.begin(), input_dims.end(),
                                       [&](const std::vector<int64_t>& dims) { return dims == input_dims.front(); });
  if (c.type == "conv" || c.type == "dwconv") {
    BlockedUse use;
    if (c.type == "dwconv") {
      use.runs_blocked = quarter_aligned(c.cout);
    } else if (c.groups <= 1) {
      use = c.cin < block ? BlockedUse{true, true} : BlockedUse{quarter_aligned(c.cin), false};
    } else {
      use.runs_blocked = quarter_aligned(c.cout) && quarter_aligned(c.cin / c.groups) && quarter_aligned(c.cout / c.groups);
    }
    const bool fused_add = std::any_of(kernel.op_types.begin(), kernel.op_types.end(),
                                       [](const std::string& op) { return op == "Add" || op == "Sum"; });
    use.plain_add = use.runs_blocked && fused_add &&
                    std::any_of(inputs_blocked.begin() + std::min<std::size_t>(1, inputs_blocked.size()),
                                inputs_blocked.end(), [](bool b) { return !b; });
    return use;
  }
  if (c.type == "maxpool" || c.type == "avgpool") return {aligned(c.cin), false};
  const std::string op = kernel.op_types.empty() ? "" : kernel.op_types.front();
  // A kernel model's lone GlobalAveragePool (no op types here) is one too.
  if (c.type == "globalpool") return {aligned(c.cin) && (op.empty() || op.starts_with("Global")), false};
  if (c.type == "add" || c.type == "mul") return {all_blocked && input_dims.size() >= 2 && same_shapes, false};
  if (c.type == "concat") {
    return {all_blocked && std::all_of(input_dims.begin(), input_dims.end(), [&](const std::vector<int64_t>& dims) {
              return dims.size() == 4 && aligned(dims[1]);
            }),
            false};
  }
  if (c.type == "activation") {
    return {all_blocked && (op == "Relu" || op == "Sigmoid" || op == "Tanh" || op == "HardSigmoid"), false};
  }
  if (c.type == "bn") return {all_blocked, false};
  if (c.type == "resize") return {all_blocked && kernel.note.find("interpolation") == std::string::npos, false};
  return {};
}

ModelKernel Reorder(bool to_blocked, const std::vector<int64_t>& dims, const std::string& tensor,
                    const std::string& why) {
  ModelKernel reorder;
  reorder.config.type = kReorderKernelType;
  reorder.config.cin = reorder.config.cout = dims.size() == 4 ? dims[1] : 0;
  reorder.config.hin = dims.size() == 4 ? dims[2] : 0;
  reorder.config.win = dims.size() == 4 ? dims[3] : 0;
  reorder.op_types = {to_blocked ? "ReorderInput" : "ReorderOutput"};
  reorder.note = "'" + tensor + "' " + (to_blocked ? "to the blocked layout" : "back to NCHW") + why;
  return reorder;
}

class Splitter {
 public:
  Splitter(const inspect::OnnxAnalysis& analysis, const KernelRules& rules) : a_(analysis), rules_(rules) {
    const onnx::GraphProto& graph = a_.model.graph();
    for (int i = 0; i < graph.node_size(); ++i) {
      for (const auto& input : graph.node(i).input()) {
        if (!input.empty()) consumers_[input].push_back(i);
      }
    }
    for (const auto& output : graph.output()) graph_outputs_.insert(output.name());
    for (const auto& initializer : graph.initializer()) weights_.insert(initializer.name());
  }

  std::vector<ModelKernel> Split() {
    const onnx::GraphProto& graph = a_.model.graph();
    std::vector<bool> taken(graph.node_size(), false);
    std::vector<ModelKernel> kernels;
    std::vector<std::vector<int>> groups;
    for (int index : a_.order) {
      if (taken[index]) continue;
      const onnx::NodeProto& node = graph.node(index);
      if (Removed(node)) continue;
      std::vector<int> group = ChannelShuffle(index);
      if (group.empty()) group = LongestPattern(index, taken);
      ModelKernel kernel;
      for (int member : group) {
        taken[member] = true;
        kernel.nodes.push_back(inspect::NodeLabel(graph.node(member), member));
        kernel.op_types.push_back(graph.node(member).op_type());
      }
      Classify(group, kernel);
      kernels.push_back(std::move(kernel));
      groups.push_back(std::move(group));
    }
    if (rules_.layout_block_channels <= 0) return kernels;
    return WithLayoutConversions(std::move(kernels), groups);
  }

 private:
  // The tensors the nodes of `group` read from outside it (no weights or constants), in order.
  std::vector<std::string> GroupInputs(const std::vector<int>& group) const {
    const onnx::GraphProto& graph = a_.model.graph();
    std::set<std::string> produced;
    for (int member : group) produced.insert(graph.node(member).output().begin(), graph.node(member).output().end());
    std::vector<std::string> inputs;
    for (int member : group) {
      for (const auto& input : graph.node(member).input()) {
        if (input.empty() || produced.count(input) || weights_.count(input) || IsConstant(input)) continue;
        AddUnique(inputs, input);
      }
    }
    return inputs;
  }

  // The tensors the nodes of `group` produce for nodes outside it or for the graph.
  std::vector<std::string> GroupOutputs(const std::vector<int>& group) const {
    const onnx::GraphProto& graph = a_.model.graph();
    const std::set<int> members(group.begin(), group.end());
    std::vector<std::string> outputs;
    for (int member : group) {
      for (const auto& output : graph.node(member).output()) {
        const auto consumers = consumers_.find(output);
        const bool read_outside =
            consumers != consumers_.end() &&
            std::any_of(consumers->second.begin(), consumers->second.end(), [&](int c) { return !members.count(c); });
        if (!output.empty() && (read_outside || graph_outputs_.count(output))) outputs.push_back(output);
      }
    }
    return outputs;
  }

  // `kernels` (of node groups `groups`) with the conversions of the rules' blocked layout: a
  // ReorderInput before the first kernel that needs a plain tensor blocked, a ReorderOutput
  // before the first that needs a blocked tensor plain, one per tensor and direction; blocked
  // graph outputs are converted last.
  std::vector<ModelKernel> WithLayoutConversions(std::vector<ModelKernel> kernels,
                                                 const std::vector<std::vector<int>>& groups) const {
    const int64_t block = rules_.layout_block_channels;
    std::vector<std::vector<std::string>> inputs, outputs;
    std::vector<std::vector<std::vector<int64_t>>> input_dims;
    for (const auto& group : groups) {
      inputs.push_back(GroupInputs(group));
      outputs.push_back(GroupOutputs(group));
      input_dims.emplace_back();
      for (const auto& input : inputs.back()) input_dims.back().push_back(Dims(input));
    }
    const auto blocked_inputs = [&](std::size_t i, const std::set<std::string>& blocked) {
      std::vector<bool> flags;
      for (const auto& input : inputs[i]) flags.push_back(blocked.count(input) > 0);
      return flags;
    };
    // Which tensors are blocked: the kernels in order, again until nothing changes (a fused group
    // can read a tensor that a later kernel produces: a residual Add fused into one of two
    // convolutions). Only grows, so it ends.
    std::set<std::string> blocked;
    for (bool changed = true; changed;) {
      changed = false;
      for (std::size_t i = 0; i < kernels.size(); ++i) {
        const BlockedUse use = UseOfBlockedLayout(kernels[i], blocked_inputs(i, blocked), input_dims[i], block);
        if (!use.runs_blocked || use.plain_add) continue;
        for (const auto& output : outputs[i]) changed |= blocked.insert(output).second;
      }
    }
    std::set<std::string> converted_to_blocked, converted_to_plain;
    std::vector<ModelKernel> result;
    for (std::size_t i = 0; i < kernels.size(); ++i) {
      const std::vector<bool> inputs_blocked = blocked_inputs(i, blocked);
      const BlockedUse use = UseOfBlockedLayout(kernels[i], inputs_blocked, input_dims[i], block);
      const std::string for_kernel = " for " + Join(kernels[i].op_types, "+");
      if (use.plain_add) {
        const std::string output = outputs[i].empty() ? "" : outputs[i].front();
        result.push_back(Reorder(false, Dims(output), output, " before its residual Add, whose other operand is NCHW"));
      }
      for (std::size_t j = 0; j < inputs[i].size(); ++j) {
        const std::string& input = inputs[i][j];
        const bool needs_blocked = use.runs_blocked && !(j == 0 && use.reads_plain_input) && !(j > 0 && use.plain_add);
        if (needs_blocked && !inputs_blocked[j] && converted_to_blocked.insert(input).second) {
          result.push_back(Reorder(true, input_dims[i][j], input, for_kernel));
        } else if (!needs_blocked && inputs_blocked[j] && converted_to_plain.insert(input).second) {
          result.push_back(Reorder(false, input_dims[i][j], input, for_kernel));
        }
      }
      result.push_back(std::move(kernels[i]));
    }
    for (const auto& output : a_.model.graph().output()) {
      if (blocked.count(output.name()) && converted_to_plain.insert(output.name()).second) {
        result.push_back(Reorder(false, Dims(output.name()), output.name(), " (a graph output)"));
      }
    }
    return result;
  }

  // Runs as no kernel: a removed op type, or a node whose outputs are all constants (folded at
  // load by every runtime: Constant, shape arithmetic).
  bool Removed(const onnx::NodeProto& node) const {
    const auto& removed = rules_.removed_op_types;
    if (std::find(removed.begin(), removed.end(), node.op_type()) != removed.end()) return true;
    return std::all_of(node.output().begin(), node.output().end(),
                       [&](const std::string& output) { return output.empty() || a_.constants.count(output); });
  }

  // The node that alone reads node `index`'s only output (which is no graph output), or -1.
  int OnlyConsumer(int index) const {
    const onnx::NodeProto& node = a_.model.graph().node(index);
    if (node.output_size() != 1 || graph_outputs_.count(node.output(0))) return -1;
    const auto it = consumers_.find(node.output(0));
    if (it == consumers_.end() || it->second.size() != 1) return -1;
    return it->second.front();
  }

  // A Mul joins the activation before it only as x * activation(x), its other operand the
  // activation's own input (SiLU: x * Sigmoid(x), which onnxruntime runs as one QuickGelu);
  // a gate such as squeeze-excite's x * Sigmoid(s) stays a kernel of its own. Any other pair joins.
  bool JoinsAsGatedActivation(int previous, int next) const {
    const onnx::GraphProto& graph = a_.model.graph();
    const onnx::NodeProto& before = graph.node(previous);
    const onnx::NodeProto& mul = graph.node(next);
    std::string ignored;
    if (mul.op_type() != "Mul" || ActivationOf(before, a_, ignored).empty() || before.input_size() == 0) return true;
    return std::any_of(mul.input().begin(), mul.input().end(),
                       [&](const std::string& operand) { return operand == before.input(0); });
  }

  // The chain from `index` along only consumers not `taken` by an earlier kernel with the longest
  // op-type pattern of the rules; the node alone when none matches. (A residual Add reads two
  // Conv+BatchNormalization chains; it joins the first.)
  std::vector<int> LongestPattern(int index, const std::vector<bool>& taken) const {
    const onnx::GraphProto& graph = a_.model.graph();
    std::vector<int> best = {index};
    for (const auto& pattern : rules_.fused_patterns) {
      if (pattern.size() <= best.size() || pattern.front() != graph.node(index).op_type()) continue;
      std::vector<int> chain = {index};
      while (chain.size() < pattern.size()) {
        const int next = OnlyConsumer(chain.back());
        if (next < 0 || taken[next] || graph.node(next).op_type() != pattern[chain.size()]) break;
        if (!JoinsAsGatedActivation(chain.back(), next)) break;
        chain.push_back(next);
      }
      if (chain.size() == pattern.size()) best = chain;
    }
    return best;
  }

  // Reshape [N, C, H, W] -> [N, g, C/g, H, W], Transpose {0, 2, 1, 3, 4}, Reshape back: the three
  // nodes, or none.
  std::vector<int> ChannelShuffle(int index) const {
    const onnx::GraphProto& graph = a_.model.graph();
    if (graph.node(index).op_type() != "Reshape") return {};
    const int transpose = OnlyConsumer(index);
    if (transpose < 0 || graph.node(transpose).op_type() != "Transpose") return {};
    const int reshape = OnlyConsumer(transpose);
    if (reshape < 0 || graph.node(reshape).op_type() != "Reshape") return {};
    const auto perm = IntsAttribute(graph.node(transpose), "perm");
    if (!perm || *perm != std::vector<int64_t>{0, 2, 1, 3, 4}) return {};
    return {index, transpose, reshape};
  }

  // Known dims of a tensor, or empty when the shape is not fully known.
  std::vector<int64_t> Dims(const std::string& tensor) const {
    const auto it = a_.shapes.find(tensor);
    if (it == a_.shapes.end() || !it->second.IsConcrete()) return {};
    return it->second.dims;
  }

  // Sets hin, win and cin from an [N, C, H, W] or [N, C] tensor; false when its shape is unknown.
  bool SetInputShape(const std::string& tensor, KernelConfig& config) const {
    const std::vector<int64_t> dims = Dims(tensor);
    if (dims.size() == 4) {
      config.cin = dims[1], config.hin = dims[2], config.win = dims[3];
      return true;
    }
    if (dims.size() == 2) {
      config.cin = dims[1], config.hin = 1, config.win = 1;
      return true;
    }
    return false;
  }

  bool IsConstant(const std::string& tensor) const { return a_.constants.count(tensor) > 0; }

  void Classify(const std::vector<int>& group, ModelKernel& kernel) const {
    const onnx::GraphProto& graph = a_.model.graph();
    const onnx::NodeProto& head = graph.node(group.front());
    KernelConfig& c = kernel.config;
    std::vector<std::string> notes;
    const auto unknown = [&](const std::string& why) {
      c = KernelConfig{.type = "unknown"};
      SetInputShape(head.input_size() > 0 ? head.input(0) : "", c);
      const std::vector<int64_t> out = Dims(graph.node(group.back()).output(0));
      if (out.size() >= 2) c.cout = out[1];
      kernel.note = why;
    };
    // A leading Pad (a fused explicit padding) describes the input; the node after it the kernel.
    const std::size_t first = head.op_type() == "Pad" && group.size() > 1 ? 1 : 0;
    const onnx::NodeProto& kernel_node = graph.node(group[first]);
    // The fused nodes after the kernel_node node: BatchNormalization folds, an activation sets `activation`.
    for (std::size_t i = first + 1; i < group.size(); ++i) {
      const onnx::NodeProto& node = graph.node(group[i]);
      if (node.op_type() == "BatchNormalization" && kernel_node.op_type() != "BatchNormalization") continue;
      std::string note;
      const std::string activation = ActivationOf(node, a_, note);
      if (!note.empty()) notes.push_back(note);
      if (!activation.empty() && c.activation == "none") {
        c.activation = activation;
      } else if (kernel_node.op_type() != "Reshape") {
        notes.push_back(node.op_type() + " fused into the kernel, not described by its configuration");
      }
    }
    const std::string& op = kernel_node.op_type();
    std::string activation_note;
    const std::string main_activation = ActivationOf(kernel_node, a_, activation_note);
    if (!activation_note.empty()) notes.insert(notes.begin(), activation_note);
    const std::string input = inspect::InputName(head, 0);
    const std::vector<int64_t> out = Dims(kernel_node.output(0));
    if (op == "Conv") {
      const std::vector<int64_t> weight = Dims(inspect::InputName(kernel_node, 1));
      if (!SetInputShape(input, c) || weight.size() != 4 || out.size() != 4 || Dims(input).size() != 4) {
        return unknown("Conv with unknown shapes or not 2-D");
      }
      c.cout = weight[0];
      c.groups = IntAttribute(kernel_node, "group", 1);
      c.kernel_size = weight[2];
      if (weight[2] != weight[3]) notes.push_back("non-square kernel, kernel_size is its height");
      const auto strides = IntsAttribute(kernel_node, "strides");
      c.stride = strides && !strides->empty() ? strides->front() : 1;
      const auto dilations = IntsAttribute(kernel_node, "dilations");
      if (dilations && std::any_of(dilations->begin(), dilations->end(), [](int64_t d) { return d != 1; })) {
        notes.push_back("dilated convolution measured as undilated");
      }
      c.type = c.groups == c.cin && c.cin == c.cout ? "dwconv" : "conv";
      if (KernelOutputHeight(c) != out[2] || KernelOutputWidth(c) != out[3]) {
        notes.push_back("padding is not \"same\" (output " + FormatShape(out) + ")");
      }
    } else if (op == "Gemm" || op == "MatMul") {
      const std::vector<int64_t> in = Dims(input);
      if (in.size() != 2 || out.size() != 2) return unknown(op + " on a tensor of rank other than 2");
      c.type = "fc", c.cin = in[1], c.cout = out[1], c.hin = 1, c.win = 1;
    } else if (op == "MaxPool" || op == "AveragePool") {
      const auto kernel_shape = IntsAttribute(kernel_node, "kernel_shape");
      if (!SetInputShape(input, c) || !kernel_shape || kernel_shape->size() != 2) {
        return unknown(op + " with unknown shapes or not 2-D");
      }
      c.type = op == "MaxPool" ? "maxpool" : "avgpool";
      c.kernel_size = kernel_shape->front();
      const auto strides = IntsAttribute(kernel_node, "strides");
      c.stride = strides && !strides->empty() ? strides->front() : 1;
      if (out.size() == 4 && (KernelOutputHeight(c) != out[2] || KernelOutputWidth(c) != out[3])) {
        notes.push_back("padding is not \"same\" (output " + FormatShape(out) + ")");
      }
    } else if (op == "GlobalAveragePool" || op == "GlobalMaxPool" || op == "ReduceMean") {
      if (op == "ReduceMean") {
        const auto axes = IntsAttribute(kernel_node, "axes");
        if (!axes || (*axes != std::vector<int64_t>{2, 3} && *axes != std::vector<int64_t>{-2, -1})) {
          return unknown("ReduceMean over axes other than H and W");
        }
      }
      if (!SetInputShape(input, c) || Dims(input).size() != 4) return unknown(op + " with unknown shapes");
      c.type = "globalpool";
      if (op == "GlobalMaxPool") notes.push_back("GlobalMaxPool measured as GlobalAveragePool");
    } else if (op == "Add" || op == "Sum" || op == "Mul") {
      if (!SetInputShape(kernel_node.output(0), c)) return unknown(op + " with unknown shapes");
      const std::vector<int64_t> full = Dims(kernel_node.output(0));
      int64_t full_inputs = 0;
      for (const auto& operand : kernel_node.input()) {
        if (IsConstant(operand)) notes.push_back("operand '" + operand + "' is a constant");
        if (Dims(operand) == full) ++full_inputs;
      }
      if (op == "Mul" && full_inputs != kernel_node.input_size()) {
        c.type = "mul";
      } else if (op == "Mul") {  // x * HardSigmoid(x), a HardSwish: element-wise like an add
        c.type = "add";
        c.inputs = kernel_node.input_size();
        notes.push_back("Mul of two full-size operands, predicted as an add");
      } else {
        c.type = "add";
        c.inputs = kernel_node.input_size();
        if (full_inputs != kernel_node.input_size()) notes.push_back("an operand is broadcast");
      }
    } else if (op == "Concat") {
      if (!SetInputShape(kernel_node.output(0), c) || IntAttribute(kernel_node, "axis", 0) != 1) {
        return unknown("Concat along an axis other than channels, or with unknown shapes");
      }
      c.type = "concat", c.inputs = kernel_node.input_size();
      if (c.cin % c.inputs != 0) notes.push_back("inputs of unequal channels (measured as equal)");
    } else if (op == "Reshape" && group.size() == 3) {
      const std::vector<int64_t> grouped = Dims(kernel_node.output(0));
      if (!SetInputShape(input, c) || grouped.size() != 5) return unknown("channel shuffle with unknown shapes");
      c.type = "channel_shuffle", c.groups = grouped[1];
    } else if (!main_activation.empty()) {
      if (!SetInputShape(input, c)) return unknown(op + " with unknown shapes");
      if (c.activation != "none") notes.push_back("a second activation fused");
      c.type = "activation", c.activation = main_activation;
    } else if (op == "BatchNormalization") {
      if (!SetInputShape(input, c)) return unknown(op + " with unknown shapes");
      c.type = "bn";
    } else if (op == "Resize" || op == "Upsample") {
      const std::vector<int64_t> in = Dims(input);
      if (!SetInputShape(input, c) || in.size() != 4 || out.size() != 4 || out[2] % in[2] != 0 ||
          out[3] * in[2] != out[2] * in[3]) {
        return unknown(op + " by a non-integer or unequal scale, or with unknown shapes");
      }
      c.type = "resize", c.stride = out[2] / in[2];
      const std::string mode = inspect::StringAttribute(kernel_node, "mode", "nearest");
      if (mode != "nearest") notes.push_back(mode + " interpolation measured as nearest");
    } else if (op == "Split" || op == "Slice") {
      if (!SetInputShape(input, c) || Dims(input).size() != 4) return unknown(op + " with unknown shapes");
      const std::vector<int64_t> part = Dims(kernel_node.output(0));
      if (part.size() != 4 || part[2] != c.hin || part[3] != c.win) {
        return unknown(op + " along an axis other than channels");
      }
      c.type = "split", c.inputs = kernel_node.output_size();
      if (op == "Slice") notes.push_back("Slice: one part of the channels");
    } else if ((op == "Flatten" || op == "Reshape") && Dims(input).size() == 4 && out.size() == 2) {
      if (!SetInputShape(input, c) || out[1] != c.cin * c.hin * c.win) {
        return unknown(op + " to other than [N, C x H x W], or with unknown shapes");
      }
      c.type = "reshape";
    } else if (op == "Softmax") {
      const std::vector<int64_t> in = Dims(input);
      if (!SetInputShape(input, c) || (in.size() == 4 && IntAttribute(kernel_node, "axis", -1) != 1) ||
          (in.size() == 2 && IntAttribute(kernel_node, "axis", -1) == 0)) {
        return unknown("Softmax over an axis other than channels, or with unknown shapes");
      }
      c.type = "softmax";
    } else {
      return unknown("no kernel type for " + Join(kernel.op_types, "+"));
    }
    kernel.note = Join(notes, "; ");
  }

  const inspect::OnnxAnalysis& a_;
  const KernelRules& rules_;
  std::map<std::string, std::vector<int>> consumers_;
  std::set<std::string> graph_outputs_;
  std::set<std::string> weights_;  // initializers
};

std::vector<std::string> StringList(const json& j, const std::string& what, Status& status) {
  if (!j.is_array()) {
    status = InvalidArgument("kernel rules: '" + what + "' must be an array of strings");
    return {};
  }
  std::vector<std::string> items;
  for (const auto& item : j) {
    if (!item.is_string() || item.get<std::string>().empty()) {
      status = InvalidArgument("kernel rules: '" + what + "' must hold non-empty strings, got " + item.dump());
      return {};
    }
    items.push_back(item.get<std::string>());
  }
  return items;
}

}  // namespace

std::vector<KernelConfig> LoneKernelReorders(const KernelConfig& config, int64_t block_channels) {
  if (block_channels <= 0) return {};
  const std::vector<int64_t> input = {1, config.cin, config.hin, config.win};
  const std::vector<bool> inputs_blocked(std::max<int64_t>(config.inputs, 1), false);
  ModelKernel lone;
  lone.config = config;
  const BlockedUse use = UseOfBlockedLayout(lone, inputs_blocked,
                                            std::vector<std::vector<int64_t>>(inputs_blocked.size(), input),
                                            block_channels);
  if (!use.runs_blocked) return {};
  std::vector<KernelConfig> reorders;
  if (!use.reads_plain_input) reorders.push_back(Reorder(true, input, "", "").config);
  reorders.push_back(
      Reorder(false, {1, config.cout > 0 ? config.cout : config.cin, KernelOutputHeight(config), KernelOutputWidth(config)},
              "", "")
          .config);
  return reorders;
}

void AddFusionMap(const FusionMap& map, KernelRules& rules) {
  for (const FusionPattern& pattern : map.patterns) {
    if (pattern.source_op_types.size() > 1) AddUnique(rules.fused_patterns, pattern.source_op_types);
  }
  for (const OpTypeCount& removed : map.removed) AddUnique(rules.removed_op_types, removed.op_type);
}

int64_t MeasuredLayoutConversions(const FusionMap& map) {
  int64_t count = 0;
  for (const OpTypeCount& added : map.added) {
    if (added.op_type == "ReorderInput" || added.op_type == "ReorderOutput") count += added.count;
  }
  return count;
}

Expected<int64_t> DetectLayoutBlock(const std::vector<std::string>& models, const std::vector<FusionMap>& maps,
                                    const KernelRules& rules, const ShapeOverrides& shapes) {
  if (std::none_of(maps.begin(), maps.end(), [](const FusionMap& map) { return MeasuredLayoutConversions(map) > 0; })) {
    return int64_t{0};
  }
  int64_t best_block = 0, best_difference = -1;
  for (const int64_t block : {4, 8, 16, 32}) {
    KernelRules candidate = rules;
    candidate.layout_block_channels = block;
    int64_t difference = 0;
    for (std::size_t i = 0; i < models.size() && i < maps.size(); ++i) {
      auto kernels = SplitIntoKernels(models[i], candidate, shapes);
      if (!kernels.ok()) return kernels.error();
      const auto split = std::count_if(kernels->begin(), kernels->end(),
                                       [](const ModelKernel& k) { return k.config.type == kReorderKernelType; });
      difference += std::abs(split - MeasuredLayoutConversions(maps[i]));
    }
    if (best_difference < 0 || difference < best_difference) best_difference = difference, best_block = block;
  }
  return best_block;
}

json ToJson(const KernelRules& rules) {
  return {{"runtime", rules.runtime},
          {"runtime_version", rules.runtime_version},
          {"fused_patterns", rules.fused_patterns},
          {"removed_op_types", rules.removed_op_types},
          {"layout_block_channels", rules.layout_block_channels},
          {"source", rules.source}};
}

Expected<KernelRules> KernelRulesFromJson(const json& j) {
  if (!j.is_object()) return InvalidArgument("kernel rules: expected an object");
  KernelRules rules;
  Status status;
  for (const auto& [key, value] : j.items()) {
    if (key == "runtime" || key == "runtime_version" || key == "source") {
      if (!value.is_string()) return InvalidArgument("kernel rules: '" + key + "' must be a string");
      (key == "runtime" ? rules.runtime : key == "source" ? rules.source : rules.runtime_version) =
          value.get<std::string>();
    } else if (key == "fused_patterns") {
      if (!value.is_array()) return InvalidArgument("kernel rules: 'fused_patterns' must be an array of arrays");
      for (const auto& pattern : value) {
        rules.fused_patterns.push_back(StringList(pattern, key, status));
        if (!status.ok()) return status.error();
        if (rules.fused_patterns.back().size() < 2) {
          return InvalidArgument("kernel rules: a fused pattern needs at least two op types, got " + pattern.dump());
        }
      }
    } else if (key == "removed_op_types") {
      rules.removed_op_types = StringList(value, key, status);
      if (!status.ok()) return status.error();
    } else if (key == "layout_block_channels") {  // absent in rules written before it existed: 0
      if (!value.is_number_integer() || value.get<int64_t>() < 0) {
        return InvalidArgument("kernel rules: 'layout_block_channels' must be a non-negative integer, got " +
                               value.dump());
      }
      rules.layout_block_channels = value.get<int64_t>();
    } else {
      return InvalidArgument("kernel rules: unknown field '" + key +
                             "' (known: runtime, runtime_version, fused_patterns, removed_op_types, "
                             "layout_block_channels, source)");
    }
  }
  if (rules.runtime.empty()) return InvalidArgument("kernel rules: 'runtime' is missing");
  return rules;
}

Expected<std::vector<ModelKernel>> SplitIntoKernels(const std::string& path, const KernelRules& rules,
                                                    const ShapeOverrides& shapes) {
  auto format = DetectModelFormat(path);
  if (!format.ok()) return format.error();
  if (*format != ModelFormat::kOnnx) {
    return Unsupported(path + ": splitting into kernels needs an ONNX model, not " +
                       std::string(ModelFormatName(*format)));
  }
  auto analysis = inspect::AnalyzeOnnx(path, shapes);
  if (!analysis.ok()) return analysis.error();
  return Splitter(*analysis, rules).Split();
}

}  // namespace edgebench
