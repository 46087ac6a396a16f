#include "progress.h"

#include <cstdio>

namespace edgebench::cli {

void ProgressListener::OnStageStart(Stage stage) {
  std::fprintf(stderr, "%-18s", (std::string(StageName(stage)) + "...").c_str());
  next_update_ns_ = kUpdateNs;
}

void ProgressListener::OnStageEnd(Stage stage, double elapsed_ms) {
  if (live_ && stage == Stage::kMeasure) std::fprintf(stderr, "\r%-18s", "measure...");
  std::fprintf(stderr, " %.1f ms%s\n", elapsed_ms, live_ && stage == Stage::kMeasure ? "          " : "");
}

void ProgressListener::OnTimedRun(std::size_t index, int64_t elapsed_ns) {
  if (!live_ || elapsed_ns < next_update_ns_) return;
  next_update_ns_ = elapsed_ns + kUpdateNs;
  std::fprintf(stderr, "\r%-18s %zu %s, %.1f s", "measure...", index + 1, unit_.c_str(), elapsed_ns / 1e9);
}

}  // namespace edgebench::cli
