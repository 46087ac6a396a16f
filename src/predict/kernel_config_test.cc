#include <gtest/gtest.h>

#include "edgebench/kernels.h"

namespace edgebench {
namespace {

using nlohmann::json;

KernelConfig Conv(int64_t hin, int64_t cin, int64_t cout, int64_t k, int64_t stride, int64_t groups = 1) {
  return {.type = "conv", .activation = "relu", .hin = hin, .win = hin, .cin = cin, .cout = cout,
          .kernel_size = k, .stride = stride, .groups = groups};
}

TEST(KernelConfig, TypesAreTheDocumentedOnes) {
  EXPECT_EQ(KernelTypes().size(), 16u);
  EXPECT_EQ(KernelTypes().front(), "conv");
  EXPECT_EQ(KernelActivations().front(), "none");
}

TEST(KernelConfig, OutputSizeIsSamePadding) {
  EXPECT_EQ(KernelOutputHeight(Conv(56, 64, 64, 3, 1)), 56);
  EXPECT_EQ(KernelOutputHeight(Conv(7, 64, 64, 3, 2)), 4);  // ceil(7 / 2)
  const KernelConfig resize = {.type = "resize", .hin = 7, .win = 5, .cin = 8, .stride = 2};
  EXPECT_EQ(KernelOutputHeight(resize), 14);
  EXPECT_EQ(KernelOutputWidth(resize), 10);
  EXPECT_EQ(KernelOutputHeight({.type = "globalpool", .hin = 7, .win = 7, .cin = 8}), 1);
  EXPECT_EQ(KernelOutputWidth({.type = "add", .hin = 7, .win = 9, .cin = 8, .inputs = 2}), 9);
}

TEST(KernelConfig, FlopsAndParams) {
  // 3x3 conv 64 -> 128 on 56x56, stride 2: 28x28x128 outputs, 64x9 MACs each.
  const KernelConfig conv = Conv(56, 64, 128, 3, 2);
  EXPECT_EQ(KernelFlops(conv), 2 * 28 * 28 * 128 * 64 * 9);
  EXPECT_EQ(KernelParams(conv), 128 * 64 * 9 + 128);
  const KernelConfig grouped = Conv(56, 64, 128, 3, 1, 4);
  EXPECT_EQ(KernelFlops(grouped), 2 * 56 * 56 * 128 * 16 * 9);
  EXPECT_EQ(KernelParams(grouped), 128 * 16 * 9 + 128);
  const KernelConfig dw = {.type = "dwconv", .hin = 14, .win = 14, .cin = 32, .cout = 32,
                           .kernel_size = 5, .stride = 1, .groups = 32};
  EXPECT_EQ(KernelFlops(dw), 2 * 14 * 14 * 32 * 25);
  EXPECT_EQ(KernelParams(dw), 32 * 25 + 32);
  const KernelConfig fc = {.type = "fc", .hin = 1, .win = 1, .cin = 1280, .cout = 1000};
  EXPECT_EQ(KernelFlops(fc), 2 * 1280 * 1000);
  EXPECT_EQ(KernelParams(fc), 1280 * 1000 + 1000);
  const KernelConfig pool = {.type = "maxpool", .hin = 112, .win = 112, .cin = 64, .kernel_size = 3, .stride = 2};
  EXPECT_EQ(KernelFlops(pool), 56 * 56 * 64);
  EXPECT_EQ(KernelParams(pool), 0);
  EXPECT_EQ(KernelParams({.type = "bn", .hin = 4, .win = 4, .cin = 16}), 32);
}

TEST(KernelConfig, FeaturesFollowTheirNames) {
  const KernelConfig mul = {.type = "mul", .activation = "hsigmoid", .hin = 14, .win = 14, .cin = 96};
  const std::vector<double> features = KernelFeatures(mul);
  ASSERT_EQ(features.size(), KernelFeatureNames().size());
  const auto at = [&](const std::string& name) {
    const auto& names = KernelFeatureNames();
    return features[std::find(names.begin(), names.end(), name) - names.begin()];
  };
  EXPECT_EQ(at("hin"), 14);
  EXPECT_EQ(at("cin"), 96);
  EXPECT_EQ(at("cout"), 0);
  EXPECT_EQ(at("activation"), 4);  // none, relu, relu6, hswish, hsigmoid
  EXPECT_EQ(at("flops"), 14 * 14 * 96);
  EXPECT_EQ(at("input_elements"), 14 * 14 * 96 + 96);
  EXPECT_EQ(at("output_elements"), 14 * 14 * 96);
  EXPECT_EQ(at("cin_align"), 32);  // 96 = 3 x 32
  EXPECT_EQ(at("cout_align"), 0);
  const std::vector<double> conv = KernelFeatures(Conv(56, 64, 128, 3, 2));
  EXPECT_EQ(conv[std::find(KernelFeatureNames().begin(), KernelFeatureNames().end(), "output_elements") -
                 KernelFeatureNames().begin()],
            28 * 28 * 128);
  EXPECT_EQ(conv.back(), 64);  // cout_align: 128 is capped at 64
}

TEST(KernelConfig, JsonRoundTripLeavesZeroFieldsOut) {
  const KernelConfig conv = Conv(56, 64, 128, 3, 2);
  const json j = ToJson(conv);
  EXPECT_EQ(j, json::parse(R"({"type": "conv", "activation": "relu", "hin": 56, "win": 56, "cin": 64,
                              "cout": 128, "kernel_size": 3, "stride": 2, "groups": 1})"));
  auto back = KernelConfigFromJson(j);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, conv);
  auto minimal = KernelConfigFromJson(json::parse(R"({"type": "globalpool", "cin": 8})"));
  ASSERT_TRUE(minimal.ok());
  EXPECT_EQ(minimal->activation, "none");
  EXPECT_EQ(minimal->hin, 0);
}

TEST(KernelConfig, JsonReadingIsStrict) {
  const auto error_of = [](const char* text) {
    auto config = KernelConfigFromJson(json::parse(text));
    EXPECT_FALSE(config.ok()) << text;
    return config.ok() ? std::string() : config.error().message;
  };
  EXPECT_NE(error_of(R"({"type": "conv3d"})").find("unknown type 'conv3d'"), std::string::npos);
  EXPECT_NE(error_of(R"({"cin": 3})").find("'type'"), std::string::npos);
  EXPECT_NE(error_of(R"({"type": "conv", "dilation": 2})").find("unknown field 'dilation'"), std::string::npos);
  EXPECT_NE(error_of(R"({"type": "conv", "cin": -3})").find("'cin' must be a non-negative integer"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"type": "conv", "cin": 3.5})").find("'cin'"), std::string::npos);
  EXPECT_NE(error_of(R"({"type": "conv", "cin": "3"})").find("'cin'"), std::string::npos);
  EXPECT_NE(error_of(R"({"type": "conv", "activation": "gelu"})").find("'activation'"), std::string::npos);
  EXPECT_NE(error_of(R"([1, 2])").find("expected an object"), std::string::npos);
  EXPECT_TRUE(KernelConfigFromJson(json::parse(R"({"type": "unknown", "cin": 3})")).ok());
}

TEST(KernelConfig, CheckNamesInconsistentFields) {
  EXPECT_TRUE(CheckKernelConfig(Conv(56, 64, 128, 3, 2)).ok());
  const auto message = [](const KernelConfig& config) {
    const Status status = CheckKernelConfig(config);
    return status.ok() ? std::string("ok") : status.error().message;
  };
  EXPECT_NE(message(Conv(56, 64, 64, 3, 1, 64)).find("is a dwconv"), std::string::npos);
  EXPECT_NE(message(Conv(56, 64, 96, 3, 1, 5)).find("groups must divide"), std::string::npos);
  EXPECT_NE(message(Conv(56, 64, 96, 0, 1)).find("'kernel_size' must be positive"), std::string::npos);
  EXPECT_NE(message({.type = "maxpool", .activation = "relu", .hin = 8, .win = 8, .cin = 8, .kernel_size = 2,
                     .stride = 2})
                .find("takes no activation"),
            std::string::npos);
  EXPECT_NE(message({.type = "globalpool", .hin = 8, .win = 8, .cin = 8, .cout = 8}).find("'cout' does not apply"),
            std::string::npos);
  EXPECT_NE(message({.type = "concat", .hin = 8, .win = 8, .cin = 9, .inputs = 2}).find("inputs must divide cin"),
            std::string::npos);
  EXPECT_NE(message({.type = "activation", .hin = 8, .win = 8, .cin = 8}).find("no activation"), std::string::npos);
  EXPECT_NE(message({.type = "unknown", .cin = 8}).find("has no kernel model"), std::string::npos);
  EXPECT_TRUE(CheckKernelConfig({.type = "fc", .hin = 1, .win = 1, .cin = 8, .cout = 4}).ok());
  EXPECT_TRUE(CheckKernelConfig({.type = "channel_shuffle", .hin = 8, .win = 8, .cin = 8, .groups = 2}).ok());
}

}  // namespace
}  // namespace edgebench
