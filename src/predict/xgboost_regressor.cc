#include "xgboost_regressor.h"

#include <dlfcn.h>

#include <limits>
#include <type_traits>

#include <xgboost/c_api.h>

namespace edgebench {
namespace {

// The C API functions edgebench calls, resolved from libxgboost once.
struct XgbApi {
  decltype(&XGBGetLastError) GetLastError;
  decltype(&XGBoostVersion) Version;
  decltype(&XGDMatrixCreateFromMat) MatrixCreate;
  decltype(&XGDMatrixSetFloatInfo) MatrixSetFloatInfo;
  decltype(&XGDMatrixFree) MatrixFree;
  decltype(&XGBoosterCreate) BoosterCreate;
  decltype(&XGBoosterFree) BoosterFree;
  decltype(&XGBoosterSetParam) BoosterSetParam;
  decltype(&XGBoosterUpdateOneIter) BoosterUpdateOneIter;
  decltype(&XGBoosterPredict) BoosterPredict;
  decltype(&XGBoosterSaveModelToBuffer) BoosterSaveModelToBuffer;
  decltype(&XGBoosterLoadModelFromBuffer) BoosterLoadModelFromBuffer;
};

Expected<XgbApi> LoadApi() {
  void* library = nullptr;
  std::string why;
  for (const char* name : {EDGEBENCH_XGBOOST_LIBRARY, "libxgboost.so.0", "libxgboost.so"}) {
    library = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (library != nullptr) break;
    if (why.empty()) why = dlerror();
  }
  if (library == nullptr) {
    return Unsupported("latency prediction needs libxgboost (apt-get install libxgboost0): " + why);
  }
  XgbApi api{};
  std::string missing;
  auto resolve = [&](auto& function, const char* symbol) {
    function = reinterpret_cast<std::remove_reference_t<decltype(function)>>(dlsym(library, symbol));
    if (function == nullptr) missing = symbol;
  };
  resolve(api.GetLastError, "XGBGetLastError");
  resolve(api.Version, "XGBoostVersion");
  resolve(api.MatrixCreate, "XGDMatrixCreateFromMat");
  resolve(api.MatrixSetFloatInfo, "XGDMatrixSetFloatInfo");
  resolve(api.MatrixFree, "XGDMatrixFree");
  resolve(api.BoosterCreate, "XGBoosterCreate");
  resolve(api.BoosterFree, "XGBoosterFree");
  resolve(api.BoosterSetParam, "XGBoosterSetParam");
  resolve(api.BoosterUpdateOneIter, "XGBoosterUpdateOneIter");
  resolve(api.BoosterPredict, "XGBoosterPredict");
  resolve(api.BoosterSaveModelToBuffer, "XGBoosterSaveModelToBuffer");
  resolve(api.BoosterLoadModelFromBuffer, "XGBoosterLoadModelFromBuffer");
  if (!missing.empty()) return Unsupported("libxgboost lacks " + missing + " (version 1.6 or later needed)");
  return api;
}

Expected<const XgbApi*> Api() {
  static const Expected<XgbApi> api = LoadApi();  // thread-safe, once per process
  if (!api.ok()) return api.error();
  return &*api;
}

// The Error for a failed C API call: what XGBoost says went wrong.
Error XgbError(const XgbApi& api, const std::string& what) {
  return Internal("XGBoost " + what + " failed: " + api.GetLastError());
}

class Matrix {
 public:
  Matrix(const XgbApi& api) : api_(api) {}
  ~Matrix() {
    if (handle_ != nullptr) api_.MatrixFree(handle_);
  }
  Matrix(const Matrix&) = delete;
  Matrix& operator=(const Matrix&) = delete;

  Status Create(const std::vector<std::vector<double>>& rows) {
    const std::size_t columns = rows.empty() ? 0 : rows.front().size();
    std::vector<float> data;
    data.reserve(rows.size() * columns);
    for (const auto& row : rows) {
      if (row.size() != columns) return InvalidArgument("feature rows of different widths");
      data.insert(data.end(), row.begin(), row.end());
    }
    // NaN marks a missing value; edgebench's features are never missing.
    if (api_.MatrixCreate(data.data(), rows.size(), columns, std::numeric_limits<float>::quiet_NaN(), &handle_) != 0) {
      return XgbError(api_, "creating a matrix");
    }
    return OkStatus();
  }
  DMatrixHandle handle() const { return handle_; }

 private:
  const XgbApi& api_;
  DMatrixHandle handle_ = nullptr;
};

}  // namespace

struct XgbRegressor::Booster {
  explicit Booster(const XgbApi& api) : api(api) {}
  ~Booster() {
    if (handle != nullptr) api.BoosterFree(handle);
  }
  Booster(const Booster&) = delete;
  Booster& operator=(const Booster&) = delete;

  Status SetParam(const std::string& name, const std::string& value) {
    if (api.BoosterSetParam(handle, name.c_str(), value.c_str()) != 0) return XgbError(api, "setting " + name);
    return OkStatus();
  }

  const XgbApi& api;
  BoosterHandle handle = nullptr;
};

Expected<XgbRegressor> XgbRegressor::Train(const std::vector<std::vector<double>>& rows,
                                           const std::vector<double>& targets, const RegressorParams& params) {
  if (rows.empty()) return InvalidArgument("no training rows");
  if (rows.size() != targets.size()) return InvalidArgument("training rows and targets differ in count");
  auto api = Api();
  if (!api.ok()) return api.error();
  Matrix matrix(**api);
  EB_RETURN_IF_ERROR(matrix.Create(rows));
  const std::vector<float> labels(targets.begin(), targets.end());
  if ((*api)->MatrixSetFloatInfo(matrix.handle(), "label", labels.data(), labels.size()) != 0) {
    return XgbError(**api, "setting labels");
  }
  auto booster = std::make_shared<Booster>(**api);
  DMatrixHandle train[] = {matrix.handle()};
  if ((*api)->BoosterCreate(train, 1, &booster->handle) != 0) return XgbError(**api, "creating a booster");
  // exact tree method and one thread: the same data and seed give the same trees on any machine.
  const std::vector<std::pair<std::string, std::string>> settings = {
      {"objective", "reg:squarederror"}, {"tree_method", "exact"},
      {"nthread", "1"},                  {"seed", std::to_string(params.seed)},
      {"max_depth", std::to_string(params.max_depth)}, {"eta", std::to_string(params.eta)},
      {"verbosity", "0"}};
  for (const auto& [name, value] : settings) EB_RETURN_IF_ERROR(booster->SetParam(name, value));
  for (int round = 0; round < params.rounds; ++round) {
    if ((*api)->BoosterUpdateOneIter(booster->handle, round, matrix.handle()) != 0) {
      return XgbError(**api, "boosting round " + std::to_string(round));
    }
  }
  return XgbRegressor(std::move(booster));
}

Expected<XgbRegressor> XgbRegressor::LoadJson(const std::string& model_json) {
  auto api = Api();
  if (!api.ok()) return api.error();
  auto booster = std::make_shared<Booster>(**api);
  if ((*api)->BoosterCreate(nullptr, 0, &booster->handle) != 0) return XgbError(**api, "creating a booster");
  if ((*api)->BoosterLoadModelFromBuffer(booster->handle, model_json.data(), model_json.size()) != 0) {
    return BadModel(std::string("XGBoost model unreadable: ") + (*api)->GetLastError());
  }
  EB_RETURN_IF_ERROR(booster->SetParam("nthread", "1"));
  return XgbRegressor(std::move(booster));
}

Expected<std::string> XgbRegressor::SaveJson() const {
  bst_ulong length = 0;
  const char* data = nullptr;
  if (booster_->api.BoosterSaveModelToBuffer(booster_->handle, R"({"format": "json"})", &length, &data) != 0) {
    return XgbError(booster_->api, "saving the model");
  }
  return std::string(data, length);
}

Expected<std::vector<double>> XgbRegressor::Predict(const std::vector<std::vector<double>>& rows) const {
  if (rows.empty()) return std::vector<double>{};
  Matrix matrix(booster_->api);
  EB_RETURN_IF_ERROR(matrix.Create(rows));
  bst_ulong length = 0;
  const float* values = nullptr;
  if (booster_->api.BoosterPredict(booster_->handle, matrix.handle(), 0, 0, 0, &length, &values) != 0) {
    return XgbError(booster_->api, "predicting");
  }
  if (length != rows.size()) return Internal("XGBoost returned " + std::to_string(length) + " predictions for " +
                                             std::to_string(rows.size()) + " rows");
  return std::vector<double>(values, values + length);
}

Expected<std::string> XgboostVersion() {
  auto api = Api();
  if (!api.ok()) return api.error();
  int major = 0, minor = 0, patch = 0;
  (*api)->Version(&major, &minor, &patch);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

}  // namespace edgebench
