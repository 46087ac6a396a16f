// Checks of request fields shared by the handlers (names, labels, model ids, settings). Pure
// functions of JSON values: each bad value gives the 4xx answer that names it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store.h"

namespace edgebench::server {

ApiError WrongType(const std::string& field, const std::string& expected);
// 400 "field 'FIELD' is out of range [MIN, MAX]: VALUE".
ApiError OutOfRange(const std::string& field, const std::string& range, const nlohmann::json& value);
// 413 for `what` ("request body", "model", ...) of `size` bytes over `limit`.
ApiError TooLarge(int64_t size, int64_t limit, const std::string& what);

// What a JSON body from a client may hold: nesting depth, and the bytes of one string (key or
// value). Deeper or longer input is refused while parsing, before any value is built from it.
struct JsonLimits {
  int max_depth = 64;
  std::size_t max_string_bytes = 64 << 10;
};
inline constexpr JsonLimits kRequestJsonLimits{64, 64 << 10};
inline constexpr JsonLimits kResultJsonLimits{64, 1 << 20};  // runtime logs, operator profiles

// The JSON object in `text` within `limits`; `what` ("request body", "result document") names it
// in the 400 answer ("result document: JSON nested deeper than 64 levels").
ApiResult<nlohmann::json> ParseJsonObject(const std::string& text, const std::string& what, const JsonLimits& limits);

// [A-Za-z0-9][A-Za-z0-9._-]{0,63}: agent, user, runtime, label and format names.
bool ValidName(const std::string& name);
ApiError BadName(const std::string& field, const std::string& name);
// A {key: value} object of strings with valid keys (labels, selectors); `field` names it.
std::optional<ApiError> CheckLabels(const nlohmann::json& labels, const std::string& field);
// An optional string field that must be a valid name when present; "" when absent or null.
ApiResult<std::string> OptionalName(const nlohmann::json& body, const std::string& field);
bool IsSha256(const std::string& text);
// Well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool ValidUtf8(const std::string& text);
// 400 for a key of `object` not in `known` ("unknown field 'compare.warp' (known: models, ...)");
// `field` is the object's own name ("" for a request body). No check when `known` is empty.
std::optional<ApiError> CheckKnownFields(const nlohmann::json& object, const std::vector<std::string>& known,
                                         const std::string& field = "");

// Checks a settings object against the settings table (edgebench/settings.h): 400 naming the field.
std::optional<ApiError> ValidateSettings(const nlohmann::json& settings);
// The request's `settings` (shared by tasks and jobs), validated: absent/null = {}.
ApiResult<nlohmann::json> ParseSettings(const nlohmann::json& body);

// ISO 8601 UTC as edgebench writes it: "2026-11-22T04:48:29Z", with optional fraction of a second.
bool ValidTimestamp(const std::string& text);

// The values of a result document (edgebench.result/1) or comparison document
// (edgebench.comparison/1, each variant's result too) that are quantities or times, against the
// ranges declared here: durations and counts >= 0, sizes >= 0, finite, integers where counts,
// `started_at` a timestamp, and the document's parts of the right JSON type. 400 naming the
// field ("field 'load_ms' is out of range [0, 1e+12]: -1"). BenchResultFromJson reads the rest.
std::optional<ApiError> CheckResultValues(const nlohmann::json& document);

}  // namespace edgebench::server
