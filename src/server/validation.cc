#include "validation.h"

#include <algorithm>
#include <regex>
#include <vector>

#include "edgebench/convert.h"

namespace edgebench::server {

using json = nlohmann::json;

ApiError WrongType(const std::string& field, const std::string& expected) {
  return ApiError{400, "field '" + field + "' must be " + expected};
}

ApiError TooLarge(int64_t size, int64_t limit, const std::string& what) {
  return ApiError{413, what + " of " + std::to_string(size) + " bytes exceeds the limit of " +
                           std::to_string(limit) + " bytes"};
}

bool ValidName(const std::string& name) {
  static const std::regex kName("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  return std::regex_match(name, kName);
}

ApiError BadName(const std::string& field, const std::string& name) {
  return ApiError{400, "field '" + field + "': '" + name.substr(0, 80) +
                           "' is not a valid name ([A-Za-z0-9._-], at most 64)"};
}

std::optional<ApiError> CheckLabels(const json& labels, const std::string& field) {
  if (!labels.is_object()) return WrongType(field, "an object of strings");
  for (const auto& [key, value] : labels.items()) {
    if (!ValidName(key)) return BadName(field + " key", key);
    if (!value.is_string()) return WrongType(field + "." + key, "a string");
    if (value.get<std::string>().size() > 256) return ApiError{400, "field '" + field + "." + key + "' is longer than 256"};
  }
  return std::nullopt;
}

ApiResult<std::string> OptionalName(const json& body, const std::string& field) {
  if (!body.contains(field) || body[field].is_null()) return std::string();
  if (!body[field].is_string()) return WrongType(field, "a string");
  const std::string name = body[field].get<std::string>();
  if (!ValidName(name)) return BadName(field, name);
  return name;
}

bool IsSha256(const std::string& text) {
  return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::optional<ApiError> ValidateSettings(const json& settings) {
  static const std::vector<std::string> kIntegers = {"min_runs", "max_runs", "warmup_runs", "threads", "seed"};
  static const std::vector<std::string> kNumbers = {"warmup_min_ms",   "min_duration_ms",   "max_duration_ms",
                                                    "target_ci_percent", "max_cv_percent", "max_drift_percent",
                                                    "timeout_s"};
  static const std::vector<std::string> kStringMaps = {"options", "shapes"};
  auto in = [](const std::vector<std::string>& list, const std::string& key) {
    return std::find(list.begin(), list.end(), key) != list.end();
  };
  for (const auto& [key, value] : settings.items()) {
    const std::string field = "settings." + key;
    if (in(kIntegers, key)) {
      if (!value.is_number_integer()) return WrongType(field, "an integer");
      if (value.get<int64_t>() < (key == "min_runs" || key == "max_runs" ? 1 : 0)) {
        return ApiError{400, "field '" + field + "' is out of range"};
      }
    } else if (in(kNumbers, key)) {
      if (!value.is_number()) return WrongType(field, "a number");
      if (value.get<double>() < 0) return ApiError{400, "field '" + field + "' must be >= 0"};
    } else if (in(kStringMaps, key)) {
      if (!value.is_object()) return WrongType(field, "an object of strings");
      for (const auto& [name, item] : value.items()) {
        if (!item.is_string()) return WrongType(field + "." + name, "a string");
      }
    } else if (key == "allow_unpinned_governor") {
      if (!value.is_boolean()) return WrongType(field, "a boolean");
    } else if (key == "precision") {
      if (!value.is_string() || !ParseConvertPrecision(value.get<std::string>()).ok()) {
        return WrongType(field, "one of \"fp32\", \"fp16\", \"int8\"");
      }
    } else {
      return ApiError{400, "unknown field '" + field + "'"};
    }
  }
  return std::nullopt;
}

ApiResult<json> ParseSettings(const json& body) {
  if (!body.contains("settings") || body["settings"].is_null()) return json::object();
  if (!body["settings"].is_object()) return WrongType("settings", "an object");
  if (auto error = ValidateSettings(body["settings"])) return *error;
  return body["settings"];
}

}  // namespace edgebench::server
