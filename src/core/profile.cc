#include "edgebench/profile.h"

#include <algorithm>
#include <map>

namespace edgebench {

std::vector<KernelTypeShare> SummarizeByKernelType(const OpProfile& profile) {
  std::map<std::string, KernelTypeShare> by_type;
  double total_ms = 0;
  for (const OpEvent& kernel : profile.kernels) {
    if (!kernel.fused_into.empty()) continue;
    KernelTypeShare& entry = by_type[kernel.kernel_type];
    entry.kernel_type = kernel.kernel_type;
    entry.kernels += 1;
    entry.ms_per_inference += kernel.total_ms;  // summed ms until divided below
    total_ms += kernel.total_ms;
  }
  std::vector<KernelTypeShare> shares;
  for (auto& [type, entry] : by_type) {
    entry.share = total_ms > 0 ? entry.ms_per_inference / total_ms : 0;
    entry.ms_per_inference =
        profile.profiled_runs > 0 ? entry.ms_per_inference / profile.profiled_runs : 0;
    shares.push_back(std::move(entry));
  }
  std::stable_sort(shares.begin(), shares.end(),
                   [](const KernelTypeShare& a, const KernelTypeShare& b) {
                     return a.share > b.share;
                   });
  return shares;
}

std::vector<ProviderShare> SummarizeByProvider(const OpProfile& profile) {
  std::vector<ProviderShare> shares;
  double total_ms = 0;
  for (const OpEvent& kernel : profile.kernels) {
    if (!kernel.fused_into.empty()) continue;
    const std::string provider = kernel.provider.empty() ? "unknown" : kernel.provider;
    auto it = std::find_if(shares.begin(), shares.end(),
                           [&](const ProviderShare& share) { return share.provider == provider; });
    if (it == shares.end()) it = shares.insert(shares.end(), ProviderShare{provider, 0, 0});
    it->kernels += 1;
    it->share += kernel.total_ms;  // summed ms until divided below
    total_ms += kernel.total_ms;
  }
  for (ProviderShare& share : shares) share.share = total_ms > 0 ? share.share / total_ms : 0;
  std::stable_sort(shares.begin(), shares.end(), [](const ProviderShare& a, const ProviderShare& b) {
    return a.kernels > b.kernels;
  });
  return shares;
}

bool IsTransferKernelType(const std::string& kernel_type) {
  return kernel_type == "MemcpyFromHost" || kernel_type == "MemcpyToHost";
}

bool IsLayoutKernelType(const std::string& kernel_type) {
  return kernel_type == "ReorderInput" || kernel_type == "ReorderOutput";
}

double LayoutShare(const OpProfile& profile) {
  double total_ms = 0;
  double layout_ms = 0;
  for (const OpEvent& kernel : profile.kernels) {
    if (!kernel.fused_into.empty()) continue;
    total_ms += kernel.total_ms;
    if (IsLayoutKernelType(kernel.kernel_type)) layout_ms += kernel.total_ms;
  }
  return total_ms > 0 ? layout_ms / total_ms : 0;
}

TransferSummary SummarizeTransfers(const OpProfile& profile) {
  TransferSummary summary;
  double total_ms = 0;
  double transfer_ms = 0;
  for (const OpEvent& kernel : profile.kernels) {
    if (!kernel.fused_into.empty()) continue;
    total_ms += kernel.total_ms;
    if (!IsTransferKernelType(kernel.kernel_type)) continue;
    summary.kernels += 1;
    transfer_ms += kernel.total_ms;
  }
  summary.ms_per_inference = profile.profiled_runs > 0 ? transfer_ms / profile.profiled_runs : 0;
  summary.share = total_ms > 0 ? transfer_ms / total_ms : 0;
  return summary;
}

}  // namespace edgebench
