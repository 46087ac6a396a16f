// One gradient-boosted tree regressor of XGBoost (its C API), owned by an RAII handle. libxgboost
// is loaded with dlopen on first use, so commands that predict nothing do not pay for loading
// it at start-up. Every XGBoost failure is an Error (never an exception, never a crash).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "edgebench/status.h"

namespace edgebench {

// Training parameters; fixed seed and one thread make training deterministic.
struct RegressorParams {
  int rounds = 400;        // boosting rounds (trees)
  int max_depth = 6;
  double eta = 0.1;        // learning rate
  uint64_t seed = 1;
};

// Must not outlive main() (no static instances): XGBoost frees a booster through thread-local
// state that is destroyed before static objects are.
class XgbRegressor {
 public:
  // Fits `targets` (one per row of `rows`, every row of the same width) with squared error.
  static Expected<XgbRegressor> Train(const std::vector<std::vector<double>>& rows,
                                      const std::vector<double>& targets, const RegressorParams& params);
  // Reads what SaveJson wrote (XGBoost's own JSON model format).
  static Expected<XgbRegressor> LoadJson(const std::string& model_json);

  Expected<std::string> SaveJson() const;
  Expected<std::vector<double>> Predict(const std::vector<std::vector<double>>& rows) const;

 private:
  struct Booster;
  explicit XgbRegressor(std::shared_ptr<Booster> booster) : booster_(std::move(booster)) {}
  std::shared_ptr<Booster> booster_;  // shared: a regressor is read-only once trained
};

// The loaded libxgboost's version ("1.7.4"), or the error why it could not be loaded.
Expected<std::string> XgboostVersion();

}  // namespace edgebench
