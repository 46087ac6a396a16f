#include "op_costs.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

#include "onnx_util.h"

namespace edgebench::inspect {
namespace {

// How a non-MAC op's element operations scale.
enum class Rule {
  kMac,              // handled by a MAC counter
  kPerOutput,        // factor per element of the first output
  kPerInput,         // factor per element of the first input (reductions, global pooling)
  kVariadic,         // (inputs - 1) per output element: Sum, Max, Min; Mean adds one
  kPool,             // output elements x kernel size
  kResize,           // by interpolation mode
  kLrn,              // (size + 2) per output element
  kDataMovement,     // no arithmetic
  kControlFlow,      // subgraphs: not counted
  kDataDependent,    // cost depends on values (NonMaxSuppression)
};

struct OpRule {
  Rule rule;
  int64_t factor = 1;
};

const std::unordered_map<std::string, OpRule>& RuleTable() {
  static const auto* table = [] {
    auto* t = new std::unordered_map<std::string, OpRule>;
    for (const char* op : {"Conv", "ConvInteger", "QLinearConv", "ConvTranspose", "Gemm", "MatMul",
                           "MatMulInteger", "QLinearMatMul", "Einsum", "LSTM", "GRU", "RNN"}) {
      (*t)[op] = {Rule::kMac};
    }
    for (const char* op :
         {"Abs", "Acos", "Acosh", "Add", "And", "Asin", "Asinh", "Atan", "Atanh", "BitShift",
          "BitwiseAnd", "BitwiseNot", "BitwiseOr", "BitwiseXor", "Cast", "CastLike", "Ceil", "Celu",
          "Clip", "Cos", "Cosh", "DequantizeLinear", "Div", "Elu", "Equal", "Erf", "Exp", "Floor",
          "Gelu", "Greater", "GreaterOrEqual", "HardSigmoid", "HardSwish", "Hardmax", "IsInf",
          "IsNaN", "LeakyRelu", "Less", "LessOrEqual", "Log", "Mish", "Mod", "Mul", "Neg", "Not",
          "Or", "Pow", "PRelu", "QuantizeLinear", "DynamicQuantizeLinear", "Reciprocal", "Relu",
          "Round", "Selu", "Shrink", "Sigmoid", "Sign", "Sin", "Sinh", "Softplus", "Softsign",
          "Sqrt", "Sub", "Tan", "Tanh", "ThresholdedRelu", "Where", "Xor", "RoiAlign",
          "MaxRoiPool", "MaxUnpool", "Bernoulli", "RandomNormal", "RandomNormalLike",
          "RandomUniform", "RandomUniformLike", "Multinomial", "Col2Im", "Affine", "ScaledTanh",
          "ParametricSoftplus", "ImageScaler"}) {
      (*t)[op] = {Rule::kPerOutput, 1};
    }
    (*t)["BatchNormalization"] = {Rule::kPerOutput, 2};
    (*t)["Softmax"] = {Rule::kPerOutput, 3};
    (*t)["LogSoftmax"] = {Rule::kPerOutput, 3};
    for (const char* op : {"LayerNormalization", "InstanceNormalization", "GroupNormalization",
                           "MeanVarianceNormalization", "LpNormalization"}) {
      (*t)[op] = {Rule::kPerOutput, 5};
    }
    for (const char* op : {"GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool", "ReduceMean",
                           "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
                           "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare",
                           "ArgMax", "ArgMin", "CumSum", "TopK"}) {
      (*t)[op] = {Rule::kPerInput, 1};
    }
    for (const char* op : {"Sum", "Max", "Min", "Mean"}) (*t)[op] = {Rule::kVariadic};
    for (const char* op : {"MaxPool", "AveragePool", "LpPool"}) (*t)[op] = {Rule::kPool};
    for (const char* op : {"Resize", "Upsample", "GridSample"}) (*t)[op] = {Rule::kResize};
    for (const char* op : {"HannWindow", "HammingWindow", "BlackmanWindow", "MelWeightMatrix"}) {
      (*t)[op] = {Rule::kPerOutput, 3};
    }
    (*t)["NegativeLogLikelihoodLoss"] = {Rule::kPerInput, 1};
    (*t)["SoftmaxCrossEntropyLoss"] = {Rule::kPerInput, 4};
    (*t)["LRN"] = {Rule::kLrn};
    for (const char* op :
         {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Concat", "Split", "Slice",
          "Gather", "GatherElements", "GatherND", "Scatter", "ScatterElements", "ScatterND",
          "Shape", "Size", "Identity", "Constant", "ConstantOfShape", "Pad", "Tile", "Expand",
          "Dropout", "DepthToSpace", "SpaceToDepth", "OneHot", "Range", "NonZero", "Compress",
          "ReverseSequence", "EyeLike", "Trilu", "Unique", "CenterCropPad", "Optional",
          "OptionalGetElement", "OptionalHasElement", "SequenceAt", "SequenceConstruct",
          "SequenceEmpty", "SequenceErase", "SequenceInsert", "SequenceLength",
          "SplitToSequence", "ConcatFromSequence", "StringNormalizer", "TfIdfVectorizer", "Crop"}) {
      (*t)[op] = {Rule::kDataMovement};
    }
    for (const char* op : {"If", "Loop", "Scan"}) (*t)[op] = {Rule::kControlFlow};
    (*t)["NonMaxSuppression"] = {Rule::kDataDependent};
    return t;
  }();
  return *table;
}

const KnownShape* Find(const std::map<std::string, KnownShape>& shapes, const std::string& name) {
  if (name.empty()) return nullptr;
  auto it = shapes.find(name);
  return it == shapes.end() ? nullptr : &it->second;
}

// Builds costs, turning the first failure into the node's status.
class Counter {
 public:
  Counter(const onnx::NodeProto& node, const std::map<std::string, KnownShape>& shapes)
      : node_(node), shapes_(shapes) {}

  // The dims of the node's input/output, or nullopt (and status kUnknownShape) when unknown.
  std::optional<std::vector<int64_t>> InputDims(int i) { return Dims(InputName(node_, i)); }
  std::optional<std::vector<int64_t>> OutputDims(int i) {
    return Dims(i < node_.output_size() ? node_.output(i) : std::string());
  }
  std::optional<int64_t> InputCount(int i) { return Count(InputDims(i)); }
  std::optional<int64_t> OutputCount(int i) { return Count(OutputDims(i)); }

  std::optional<int64_t> Count(const std::optional<std::vector<int64_t>>& dims) {
    if (!dims) return std::nullopt;
    auto count = ProductOfDims(*dims);
    if (!count) Overflow();
    return count;
  }

  std::optional<int64_t> Mul(std::optional<int64_t> a, std::optional<int64_t> b) {
    if (!a || !b) return std::nullopt;
    auto result = CheckedMul(*a, *b);
    if (!result) Overflow();
    return result;
  }

  void AddMacs(std::optional<int64_t> macs) { Add(cost_.macs, macs); }
  void AddElementwise(std::optional<int64_t> ops) { Add(cost_.elementwise_ops, ops); }

  void UnknownShape(const std::string& what) {
    if (cost_.status != CostStatus::kCounted) return;
    cost_.status = CostStatus::kUnknownShape;
    cost_.note = what;
  }
  void Unsupported(const std::string& why) {
    cost_.status = CostStatus::kUnsupported;
    cost_.note = why;
  }
  void Overflow() {
    cost_.status = CostStatus::kOverflow;
    cost_.note = "operation count overflows 64 bits";
  }

  CountedCost Result() {
    if (cost_.status != CostStatus::kCounted && cost_.status != CostStatus::kUnsupported) {
      cost_.macs = 0;
      cost_.elementwise_ops = 0;
    }
    return cost_;
  }

 private:
  std::optional<std::vector<int64_t>> Dims(const std::string& name) {
    if (name.empty()) {
      UnknownShape("a required input or output is missing");
      return std::nullopt;
    }
    const KnownShape* shape = Find(shapes_, name);
    if (!shape || !shape->IsConcrete()) {
      UnknownShape("shape of '" + name + "' unknown");
      return std::nullopt;
    }
    return shape->dims;
  }

  void Add(int64_t& total, std::optional<int64_t> value) {
    if (!value) {
      if (cost_.status == CostStatus::kCounted) UnknownShape("shape unknown");
      return;
    }
    auto sum = CheckedAdd(total, *value);
    if (!sum) {
      Overflow();
      return;
    }
    total = *sum;
  }

  const onnx::NodeProto& node_;
  const std::map<std::string, KnownShape>& shapes_;
  CountedCost cost_;
};

// Conv, ConvInteger, QLinearConv: every output element is a dot product over
// (input channels / group) x kernel elements, which is the weight's size per output channel.
void CountConv(Counter& c, const onnx::NodeProto& node) {
  const std::string& op = node.op_type();
  const int weight_index = op == "QLinearConv" ? 3 : 1;
  const int bias_index = op == "QLinearConv" ? 8 : (op == "Conv" ? 2 : -1);
  auto w = c.InputDims(weight_index);
  auto y_count = c.OutputCount(0);
  if (!w || !y_count) return;
  if (w->empty() || (*w)[0] <= 0) {
    c.UnknownShape("weight has no output channels");
    return;
  }
  auto w_count = ProductOfDims(*w);
  if (!w_count) return c.Overflow();
  c.AddMacs(c.Mul(y_count, *w_count / (*w)[0]));
  if (bias_index >= 0 && !InputName(node, bias_index).empty()) c.AddElementwise(y_count);
}

// ConvTranspose: every input element is scattered through (output channels / group) x kernel
// weights, which is the weight's size per input channel (weight is C x M/group x k...).
void CountConvTranspose(Counter& c, const onnx::NodeProto& node) {
  auto x_count = c.InputCount(0);
  auto w = c.InputDims(1);
  if (!x_count || !w) return;
  if (w->empty() || (*w)[0] <= 0) {
    c.UnknownShape("weight has no input channels");
    return;
  }
  auto w_count = ProductOfDims(*w);
  if (!w_count) return c.Overflow();
  c.AddMacs(c.Mul(x_count, *w_count / (*w)[0]));
  if (!InputName(node, 2).empty()) c.AddElementwise(c.OutputCount(0));
}

// Gemm: M x N outputs, each a dot product of length K; the bias C adds one op per output.
void CountGemm(Counter& c, const onnx::NodeProto& node) {
  auto a = c.InputDims(0);
  auto y_count = c.OutputCount(0);
  if (!a || !y_count) return;
  if (a->size() != 2) {
    c.UnknownShape("Gemm input A is not 2-D");
    return;
  }
  const int64_t k = IntAttribute(node, "transA", 0) ? (*a)[0] : (*a)[1];
  c.AddMacs(c.Mul(y_count, k));
  if (!InputName(node, 2).empty()) c.AddElementwise(y_count);
}

// MatMul and its quantized forms: each output element is a dot product along A's last axis.
void CountMatMul(Counter& c) {
  auto a = c.InputDims(0);
  auto y_count = c.OutputCount(0);
  if (!a || !y_count) return;
  if (a->empty()) {
    c.UnknownShape("MatMul input is a scalar");
    return;
  }
  c.AddMacs(c.Mul(y_count, a->back()));
}

// Einsum with two operands: one MAC per point of the joint index space (every letter, and the
// broadcast ellipsis dims). One operand: one op per input element.
void CountEinsum(Counter& c, const onnx::NodeProto& node) {
  std::string equation = StringAttribute(node, "equation");
  equation.erase(std::remove_if(equation.begin(), equation.end(),
                                [](unsigned char ch) { return std::isspace(ch); }),
                 equation.end());
  const auto arrow = equation.find("->");
  const std::string lhs = equation.substr(0, arrow);
  std::vector<std::string> terms;
  std::size_t begin = 0;
  while (true) {
    const auto comma = lhs.find(',', begin);
    terms.push_back(lhs.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin));
    if (comma == std::string::npos) break;
    begin = comma + 1;
  }
  if (int(terms.size()) != node.input_size()) {
    c.UnknownShape("Einsum equation does not match its inputs");
    return;
  }
  if (terms.size() == 1) {
    c.AddElementwise(c.InputCount(0));
    return;
  }
  if (terms.size() != 2) {
    c.Unsupported("Einsum with more than two operands");
    return;
  }
  std::map<char, int64_t> letter_size;
  std::vector<int64_t> ellipsis_dims;
  for (int i = 0; i < 2; ++i) {
    auto dims = c.InputDims(i);
    if (!dims) return;
    const std::string& term = terms[i];
    const auto dots = term.find("...");
    const std::string letters = dots == std::string::npos ? term : term.substr(0, dots) + term.substr(dots + 3);
    if (letters.size() > dims->size() || (dots == std::string::npos && letters.size() != dims->size())) {
      c.UnknownShape("Einsum term '" + term + "' does not match its input's rank");
      return;
    }
    const std::size_t ellipsis_rank = dims->size() - letters.size();
    const std::size_t prefix = dots == std::string::npos ? letters.size() : dots;
    for (std::size_t j = 0; j < letters.size(); ++j) {
      const std::size_t axis = j < prefix ? j : j + ellipsis_rank;
      int64_t& size = letter_size[letters[j]];
      size = std::max(size, (*dims)[axis]);
    }
    std::vector<int64_t> own(dims->begin() + prefix, dims->begin() + prefix + ellipsis_rank);
    // Broadcast the ellipsis part against the other operand's.
    if (own.size() > ellipsis_dims.size()) ellipsis_dims.insert(ellipsis_dims.begin(), own.size() - ellipsis_dims.size(), 1);
    for (std::size_t j = 0; j < own.size(); ++j) {
      int64_t& dim = ellipsis_dims[ellipsis_dims.size() - own.size() + j];
      dim = std::max(dim, own[j]);
    }
  }
  std::optional<int64_t> macs = 1;
  for (const auto& [letter, size] : letter_size) macs = c.Mul(macs, size);
  for (int64_t dim : ellipsis_dims) macs = c.Mul(macs, dim);
  c.AddMacs(macs);
}

// LSTM, GRU, RNN: per step and batch row, W (gates*hidden x input) and R (gates*hidden x hidden)
// are applied for each direction: the element counts of W and R together. Bias adds and gate
// activations are 3 element ops per gate unit and step.
void CountRecurrent(Counter& c) {
  auto x = c.InputDims(0);
  auto w = c.InputDims(1);
  auto r = c.InputDims(2);
  if (!x || !w || !r) return;
  if (x->size() != 3 || w->size() != 3) {
    c.UnknownShape("recurrent input or weight is not 3-D");
    return;
  }
  // seq x batch: the same product in either layout.
  auto steps_times_batch = CheckedMul((*x)[0], (*x)[1]);
  if (!steps_times_batch) return c.Overflow();
  auto w_count = ProductOfDims(*w);
  auto r_count = ProductOfDims(*r);
  if (!w_count || !r_count) return c.Overflow();
  auto weights = CheckedAdd(*w_count, *r_count);
  if (!weights) return c.Overflow();
  c.AddMacs(c.Mul(*steps_times_batch, *weights));
  c.AddElementwise(c.Mul(c.Mul(*steps_times_batch, c.Mul((*w)[0], (*w)[1])), 3));
}

int64_t KernelSize(const onnx::NodeProto& node) {
  int64_t size = 1;
  if (auto kernel = IntsAttribute(node, "kernel_shape")) {
    for (int64_t k : *kernel) {
      if (k <= 0) return -1;
      auto next = CheckedMul(size, k);
      if (!next) return -1;
      size = *next;
    }
  }
  return size;
}

void CountByRule(Counter& c, const onnx::NodeProto& node, const OpRule& rule) {
  switch (rule.rule) {
    case Rule::kMac: break;
    case Rule::kPerOutput:
      c.AddElementwise(c.Mul(c.OutputCount(0), rule.factor));
      break;
    case Rule::kPerInput:
      c.AddElementwise(c.Mul(c.InputCount(0), rule.factor));
      break;
    case Rule::kVariadic: {
      int inputs = 0;
      for (const auto& input : node.input()) inputs += !input.empty();
      const int64_t per_element = std::max(0, inputs - 1) + (node.op_type() == "Mean" ? 1 : 0);
      c.AddElementwise(c.Mul(c.OutputCount(0), per_element));
      break;
    }
    case Rule::kPool: {
      const int64_t kernel = KernelSize(node);
      if (kernel < 0) {
        c.UnknownShape("bad kernel_shape");
        return;
      }
      c.AddElementwise(c.Mul(c.OutputCount(0), kernel));
      break;
    }
    case Rule::kResize: {
      const std::string mode =
          StringAttribute(node, "mode", node.op_type() == "GridSample" ? "bilinear" : "nearest");
      const int64_t factor = mode == "nearest" ? 0 : (mode == "cubic" || mode == "bicubic" ? 16 : 4);
      c.AddElementwise(c.Mul(c.OutputCount(0), factor));
      break;
    }
    case Rule::kLrn:
      c.AddElementwise(c.Mul(c.OutputCount(0), IntAttribute(node, "size", 1) + 2));
      break;
    case Rule::kDataMovement: break;
    case Rule::kControlFlow:
      c.Unsupported("control flow: the cost of its subgraphs is not counted");
      break;
    case Rule::kDataDependent:
      c.Unsupported("cost depends on the input values");
      break;
  }
}

}  // namespace

bool HasCountingRule(const std::string& op_type) {
  auto it = RuleTable().find(op_type);
  return it != RuleTable().end() && it->second.rule != Rule::kControlFlow &&
         it->second.rule != Rule::kDataDependent;
}

CountedCost CountNodeCost(const onnx::NodeProto& node, int /*opset*/,
                          const std::map<std::string, KnownShape>& shapes) {
  Counter c(node, shapes);
  if (!IsDefaultDomain(node.domain())) {
    c.Unsupported("no counting rule for domain '" + node.domain() + "'");
    return c.Result();
  }
  const std::string& op = node.op_type();
  auto it = RuleTable().find(op);
  if (it == RuleTable().end()) {
    c.Unsupported("no counting rule for " + op);
    return c.Result();
  }
  if (op == "Conv" || op == "ConvInteger" || op == "QLinearConv") {
    CountConv(c, node);
  } else if (op == "ConvTranspose") {
    CountConvTranspose(c, node);
  } else if (op == "Gemm") {
    CountGemm(c, node);
  } else if (op == "MatMul" || op == "MatMulInteger" || op == "QLinearMatMul") {
    CountMatMul(c);
  } else if (op == "Einsum") {
    CountEinsum(c, node);
  } else if (op == "LSTM" || op == "GRU" || op == "RNN") {
    CountRecurrent(c);
  } else {
    CountByRule(c, node, it->second);
  }
  return c.Result();
}

}  // namespace edgebench::inspect
