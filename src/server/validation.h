// Checks of request fields shared by the handlers (names, labels, model ids, settings). Pure
// functions of JSON values: each bad value gives the 4xx answer that names it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store.h"

namespace edgebench::server {

ApiError WrongType(const std::string& field, const std::string& expected);
// 413 for `what` ("request body", "model", ...) of `size` bytes over `limit`.
ApiError TooLarge(int64_t size, int64_t limit, const std::string& what);

// [A-Za-z0-9][A-Za-z0-9._-]{0,63}: agent, user, runtime, label and format names.
bool ValidName(const std::string& name);
ApiError BadName(const std::string& field, const std::string& name);
// A {key: value} object of strings with valid keys (labels, selectors); `field` names it.
std::optional<ApiError> CheckLabels(const nlohmann::json& labels, const std::string& field);
// An optional string field that must be a valid name when present; "" when absent or null.
ApiResult<std::string> OptionalName(const nlohmann::json& body, const std::string& field);
bool IsSha256(const std::string& text);
// 400 for a key of `object` not in `known` ("unknown field 'compare.warp' (known: models, ...)");
// `field` is the object's own name ("" for a request body). No check when `known` is empty.
std::optional<ApiError> CheckKnownFields(const nlohmann::json& object, const std::vector<std::string>& known,
                                         const std::string& field = "");

// Checks a settings object against the settings table (edgebench/settings.h): 400 naming the field.
std::optional<ApiError> ValidateSettings(const nlohmann::json& settings);
// The request's `settings` (shared by tasks and jobs), validated: absent/null = {}.
ApiResult<nlohmann::json> ParseSettings(const nlohmann::json& body);

}  // namespace edgebench::server
