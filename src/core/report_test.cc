#include "edgebench/report.h"

#include <gtest/gtest.h>

namespace edgebench {
namespace {

BenchResult ProfiledResult() {
  BenchResult result;
  result.model = {"m.onnx", "abc123", 42, ModelFormat::kOnnx};
  result.runtime_name = "opencv";
  result.samples_ms = {1, 2, 3};
  result.latency_ms = ComputeLatencyStats(result.samples_ms);
  result.profile = OpProfile{"opencv getPerfProfile", 4, {}};
  result.profile_by_type = {{"Convolution", 28, 15.769, 0.9641},
                            {"Padding", 5, 0.5389, 0.0329},
                            {"Pooling", 1, 0.0314, 0.0019}};
  return result;
}

// The kernel-type table, as paper A's Table 4: expected text.
TEST(FormatResultText, ShowsTheProfileByKernelType) {
  const std::string text = FormatResultText(ProfiledResult());
  const std::string expected =
      "\noperator profile (opencv getPerfProfile, 4 runs after the timed ones)\n"
      "kernel type  kernels  ms/inference   share\n"
      "-----------  -------  ------------  ------\n"
      "Convolution       28        15.769  96.41%\n"
      "Padding            5        0.5389   3.29%\n"
      "Pooling            1        0.0314   0.19%\n"
      "\n"
      "verdict  VALID\n";
  EXPECT_NE(text.find(expected), std::string::npos) << text;
}

TEST(FormatResultText, ShowsTheTopTenKernelTypesOnly) {
  BenchResult result = ProfiledResult();
  result.profile_by_type.resize(12, {"Other", 1, 0.001, 0.0001});
  const std::string text = FormatResultText(result);
  EXPECT_NE(text.find("(2 more kernel types in the JSON document)\n"), std::string::npos) << text;
  result.profile.reset();
  EXPECT_EQ(FormatResultText(result).find("operator profile"), std::string::npos);
}

}  // namespace
}  // namespace edgebench
