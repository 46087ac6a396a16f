// Progress of a local measurement on stderr: a line per stage; on a terminal also a live count
// while measuring.
#pragma once

#include <cstdint>
#include <string>

#include "edgebench/runner.h"

namespace edgebench::cli {

class ProgressListener final : public RunListener {
 public:
  // `unit` names what OnTimedRun counts: "runs" (bench), "rounds" (compare).
  ProgressListener(bool live, std::string unit) : live_(live), unit_(std::move(unit)) {}
  void OnStageStart(Stage stage) override;
  void OnStageEnd(Stage stage, double elapsed_ms) override;
  void OnTimedRun(std::size_t index, int64_t elapsed_ns) override;

 private:
  static constexpr int64_t kUpdateNs = 250'000'000;
  bool live_;
  std::string unit_;
  int64_t next_update_ns_ = kUpdateNs;
};

}  // namespace edgebench::cli
