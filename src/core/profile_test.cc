#include "edgebench/profile.h"

#include <gtest/gtest.h>

namespace edgebench {
namespace {

OpEvent Kernel(std::string name, std::string type, double total_ms, std::string fused_into = "") {
  OpEvent event;
  event.kernel_name = std::move(name);
  event.kernel_type = std::move(type);
  event.total_ms = total_ms;
  event.calls = fused_into.empty() ? 4 : 0;
  event.fused_into = std::move(fused_into);
  return event;
}

// Four runs of a small MobileNet-like stack: two Convs (30 + 10 ms), a depthwise conv (8 ms),
// a Pad (2 ms), and a BatchNorm that the runtime folded into the first Conv.
OpProfile FourRuns() {
  OpProfile profile;
  profile.source = "test";
  profile.profiled_runs = 4;
  profile.kernels = {Kernel("conv0", "Conv", 30), Kernel("bn0", "BatchNorm", 0, "conv0"),
                     Kernel("pad1", "Pad", 2), Kernel("dw1", "DepthwiseConv", 8),
                     Kernel("conv1", "Conv", 10)};
  return profile;
}

TEST(SummarizeByKernelType, MatchesHandComputedShares) {
  const auto shares = SummarizeByKernelType(FourRuns());
  ASSERT_EQ(shares.size(), 3u);  // the fused BatchNorm is not a kernel of its own
  // Summed kernel time 50 ms over 4 runs.
  EXPECT_EQ(shares[0].kernel_type, "Conv");
  EXPECT_EQ(shares[0].kernels, 2);
  EXPECT_DOUBLE_EQ(shares[0].ms_per_inference, 10.0);  // (30 + 10) / 4
  EXPECT_DOUBLE_EQ(shares[0].share, 0.8);              // 40 / 50
  EXPECT_EQ(shares[1].kernel_type, "DepthwiseConv");
  EXPECT_EQ(shares[1].kernels, 1);
  EXPECT_DOUBLE_EQ(shares[1].ms_per_inference, 2.0);
  EXPECT_DOUBLE_EQ(shares[1].share, 0.16);
  EXPECT_EQ(shares[2].kernel_type, "Pad");
  EXPECT_DOUBLE_EQ(shares[2].ms_per_inference, 0.5);
  EXPECT_DOUBLE_EQ(shares[2].share, 0.04);
}

TEST(SummarizeByProvider, SharesOfKernelTime) {
  OpProfile profile = FourRuns();
  profile.kernels[3].provider = "gpu";  // the depthwise conv, 8 of 50 ms
  const auto shares = SummarizeByProvider(profile);
  ASSERT_EQ(shares.size(), 2u);
  EXPECT_EQ(shares[0].provider, "unknown");
  EXPECT_EQ(shares[0].kernels, 3);
  EXPECT_DOUBLE_EQ(shares[0].share, 0.84);
  EXPECT_EQ(shares[1].provider, "gpu");
  EXPECT_DOUBLE_EQ(shares[1].share, 0.16);
}

TEST(SummarizeTransfers, CountsOnlyHostDeviceCopies) {
  OpProfile profile = FourRuns();
  EXPECT_EQ(SummarizeTransfers(profile).kernels, 0);
  EXPECT_DOUBLE_EQ(SummarizeTransfers(profile).share, 0);
  profile.kernels.push_back(Kernel("in", "MemcpyFromHost", 6));
  profile.kernels.push_back(Kernel("out", "MemcpyToHost", 4));
  profile.kernels.push_back(Kernel("fused_copy", "MemcpyToHost", 9, "conv0"));  // not a kernel of its own
  const TransferSummary transfers = SummarizeTransfers(profile);
  EXPECT_EQ(transfers.kernels, 2);
  EXPECT_DOUBLE_EQ(transfers.ms_per_inference, 2.5);  // (6 + 4) / 4 runs
  EXPECT_DOUBLE_EQ(transfers.share, 10.0 / 60.0);
  EXPECT_FALSE(IsTransferKernelType("Conv"));
}

TEST(LayoutShare, CountsOnnxruntimeReordersThatRanThemselves) {
  OpProfile profile = FourRuns();
  EXPECT_DOUBLE_EQ(LayoutShare(profile), 0);
  profile.kernels.push_back(Kernel("ReorderInput", "ReorderInput", 6));
  profile.kernels.push_back(Kernel("ReorderOutput", "ReorderOutput", 4));
  profile.kernels.push_back(Kernel("folded", "ReorderOutput", 9, "conv0"));  // not a kernel of its own
  EXPECT_DOUBLE_EQ(LayoutShare(profile), 10.0 / 60.0);
  EXPECT_TRUE(IsLayoutKernelType("ReorderInput"));
  EXPECT_FALSE(IsLayoutKernelType("Transpose"));
  EXPECT_DOUBLE_EQ(LayoutShare(OpProfile{}), 0);
}

TEST(SummarizeByKernelType, TiesAreOrderedByTypeName) {
  OpProfile profile;
  profile.profiled_runs = 1;
  profile.kernels = {Kernel("b", "Relu", 1), Kernel("a", "Add", 1), Kernel("c", "Mul", 2)};
  const auto shares = SummarizeByKernelType(profile);
  ASSERT_EQ(shares.size(), 3u);
  EXPECT_EQ(shares[0].kernel_type, "Mul");
  EXPECT_EQ(shares[1].kernel_type, "Add");
  EXPECT_EQ(shares[2].kernel_type, "Relu");
}

TEST(SummarizeByKernelType, DegenerateProfilesGiveZerosNotNaN) {
  EXPECT_TRUE(SummarizeByKernelType(OpProfile{}).empty());
  OpProfile idle;
  idle.kernels = {Kernel("a", "Identity", 0)};  // profiled_runs 0 and no time
  const auto shares = SummarizeByKernelType(idle);
  ASSERT_EQ(shares.size(), 1u);
  EXPECT_EQ(shares[0].kernels, 1);
  EXPECT_EQ(shares[0].ms_per_inference, 0.0);
  EXPECT_EQ(shares[0].share, 0.0);
}

}  // namespace
}  // namespace edgebench
