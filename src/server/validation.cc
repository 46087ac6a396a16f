#include "validation.h"

#include <algorithm>
#include <regex>
#include <vector>

#include "edgebench/settings.h"
#include "edgebench/text.h"

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

std::optional<ApiError> CheckKnownFields(const json& object, const std::vector<std::string>& known,
                                         const std::string& field) {
  if (known.empty()) return std::nullopt;
  for (const auto& [key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return ApiError{400, "unknown field '" + (field.empty() ? "" : field + ".") + key + "' (known: " +
                               Join(known, ", ") + ")"};
    }
  }
  return std::nullopt;
}

bool IsSha256(const std::string& text) {
  return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::optional<ApiError> ValidateSettings(const json& settings) {
  if (Status valid = ValidateSettingsJson(settings, SettingsReader::kService); !valid.ok()) {
    return ApiError{400, valid.error().message};
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
