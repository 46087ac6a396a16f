#include "validation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <regex>
#include <vector>

#include "edgebench/result_json.h"
#include "edgebench/settings.h"
#include "edgebench/text.h"

namespace edgebench::server {

using json = nlohmann::json;

ApiError WrongType(const std::string& field, const std::string& expected) {
  return ApiError{400, "field '" + field + "' must be " + expected};
}

ApiError OutOfRange(const std::string& field, const std::string& range, const json& value) {
  return ApiError{400, "field '" + field + "' is out of range " + range + ": " + value.dump().substr(0, 40)};
}

namespace {

// nlohmann's DOM builder, refusing depth and string length past the limits as it goes: a
// 100,000-deep array stops at level 65, before anything deep is built (or recursed over later).
class LimitedSax {
 public:
  LimitedSax(json& result, const JsonLimits& limits) : dom_(result, /*allow_exceptions=*/false), limits_(limits) {}

  bool null() { return dom_.null(); }
  bool boolean(bool value) { return dom_.boolean(value); }
  bool number_integer(json::number_integer_t value) { return dom_.number_integer(value); }
  bool number_unsigned(json::number_unsigned_t value) { return dom_.number_unsigned(value); }
  bool number_float(json::number_float_t value, const std::string& text) { return dom_.number_float(value, text); }
  bool string(std::string& value) { return Fits(value) && dom_.string(value); }
  bool binary(json::binary_t& value) { return dom_.binary(value); }
  bool key(std::string& value) { return Fits(value) && dom_.key(value); }
  bool start_object(std::size_t size) { return Deeper() && dom_.start_object(size); }
  bool end_object() { --depth_; return dom_.end_object(); }
  bool start_array(std::size_t size) { return Deeper() && dom_.start_array(size); }
  bool end_array() { --depth_; return dom_.end_array(); }
  template <typename Exception>
  bool parse_error(std::size_t position, const std::string&, const Exception&) {
    problem_ = "malformed JSON at byte " + std::to_string(position);
    return false;
  }

  const std::string& problem() const { return problem_; }

 private:
  bool Deeper() {
    if (++depth_ <= limits_.max_depth) return true;
    problem_ = "JSON nested deeper than " + std::to_string(limits_.max_depth) + " levels";
    return false;
  }
  bool Fits(const std::string& value) {
    if (value.size() <= limits_.max_string_bytes) return true;
    problem_ = "a JSON string of " + std::to_string(value.size()) + " bytes exceeds the limit of " +
               std::to_string(limits_.max_string_bytes) + " bytes";
    return false;
  }

  nlohmann::detail::json_sax_dom_parser<json> dom_;
  JsonLimits limits_;
  int depth_ = 0;
  std::string problem_;
};

}  // namespace

ApiResult<json> ParseJsonObject(const std::string& text, const std::string& what, const JsonLimits& limits) {
  json value;
  LimitedSax sax(value, limits);
  if (!json::sax_parse(text, &sax)) {
    return ApiError{400, what + ": " + (sax.problem().empty() ? std::string("malformed JSON") : sax.problem())};
  }
  if (!value.is_object()) return ApiError{400, what + " must be a JSON object"};
  return value;
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

bool ValidUtf8(const std::string& text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    int extra = 0;
    uint32_t code = 0, min = 0;
    if (byte < 0x80) {
      ++i;
      continue;
    } else if ((byte & 0xe0) == 0xc0) {
      extra = 1, code = byte & 0x1f, min = 0x80;
    } else if ((byte & 0xf0) == 0xe0) {
      extra = 2, code = byte & 0x0f, min = 0x800;
    } else if ((byte & 0xf8) == 0xf0) {
      extra = 3, code = byte & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;
    for (int k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      code = (code << 6) | (next & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return false;
    i += extra + 1;
  }
  return true;
}

bool ValidTimestamp(const std::string& text) {
  static const std::regex kTimestamp(R"((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?Z)");
  std::smatch m;
  if (!std::regex_match(text, m, kTimestamp)) return false;
  auto number = [&m](int group) { return std::stoi(m[group].str()); };
  return number(2) >= 1 && number(2) <= 12 && number(3) >= 1 && number(3) <= 31 && number(4) <= 23 &&
         number(5) <= 59 && number(6) <= 60;
}

namespace {

enum class Kind { kCount, kMs, kBytes, kRatio, kObject, kArray, kString, kTimestamp };

// One checked part of a result document: where (a JSON pointer) and what it must be.
struct ResultField {
  const char* pointer;
  Kind kind;
  bool required;
};

// kCount: an integer in [0, 1e12]; kMs, kRatio: a number in [0, 1e12] (ratios of times: cv);
// kBytes: an integer in [0, 2^62].
constexpr double kMaxQuantity = 1e12;
constexpr double kMaxBytes = 4611686018427387904.0;  // 2^62

const std::vector<ResultField>& BenchResultFields() {
  static const std::vector<ResultField> fields = {
      {"/started_at", Kind::kTimestamp, true},   {"/model", Kind::kObject, true},
      {"/model/size_bytes", Kind::kBytes, true}, {"/runtime", Kind::kObject, true},
      {"/environment", Kind::kObject, true},     {"/settings", Kind::kObject, true},
      {"/inputs", Kind::kArray, true},           {"/outputs", Kind::kArray, true},
      {"/load_ms", Kind::kMs, true},             {"/first_inference_ms", Kind::kMs, true},
      {"/warmup", Kind::kObject, true},          {"/warmup/runs", Kind::kCount, true},
      {"/warmup/ms", Kind::kMs, true},           {"/measure_ms", Kind::kMs, true},
      {"/stop_reason", Kind::kString, true},     {"/latency_ms", Kind::kObject, true},
      {"/latency_ms/mean", Kind::kMs, true},     {"/latency_ms/std", Kind::kMs, true},
      {"/latency_ms/min", Kind::kMs, true},      {"/latency_ms/max", Kind::kMs, true},
      {"/latency_ms/p50", Kind::kMs, true},      {"/latency_ms/p90", Kind::kMs, true},
      {"/latency_ms/p95", Kind::kMs, true},      {"/latency_ms/p99", Kind::kMs, true},
      {"/latency_ms/cv", Kind::kRatio, true},    {"/latency_ms/mad", Kind::kMs, false},
      {"/latency_ms/robust_cv", Kind::kRatio, false}, {"/latency_ms/outliers", Kind::kCount, false},
      {"/runs", Kind::kCount, true},             {"/samples_ms", Kind::kArray, true},
      {"/validity", Kind::kObject, true},        {"/peak_rss_bytes", Kind::kBytes, true},
  };
  return fields;
}

const std::vector<ResultField>& ComparisonFields() {
  static const std::vector<ResultField> fields = {
      {"/started_at", Kind::kTimestamp, true}, {"/environment", Kind::kObject, true},
      {"/settings", Kind::kObject, true},      {"/round_target_ms", Kind::kMs, true},
      {"/rounds", Kind::kCount, true},         {"/measure_ms", Kind::kMs, true},
      {"/variants", Kind::kArray, true},       {"/ratios", Kind::kArray, true},
      {"/validity", Kind::kObject, true},
  };
  return fields;
}

// The field's name in messages: "latency_ms.p50", with `prefix` ("variants[1].result.").
std::string FieldName(const std::string& prefix, const char* pointer) {
  std::string name = prefix + (pointer + 1);
  std::replace(name.begin(), name.end(), '/', '.');
  return name;
}

std::optional<ApiError> CheckNumber(const json& value, const std::string& name, bool integer, double max) {
  if (integer ? !value.is_number_integer() : !value.is_number()) {
    return WrongType(name, integer ? "an integer" : "a number");
  }
  const double number = value.get<double>();
  if (!std::isfinite(number) || number < 0 || number > max) {
    char range[64];
    std::snprintf(range, sizeof range, "[0, %g]", max);
    return OutOfRange(name, range, value);
  }
  return std::nullopt;
}

std::optional<ApiError> CheckFields(const json& document, const std::vector<ResultField>& fields,
                                    const std::string& prefix) {
  if (!document.is_object()) return WrongType(prefix.empty() ? "result document" : prefix.substr(0, prefix.size() - 1), "an object");
  for (const ResultField& field : fields) {
    const json::json_pointer pointer(field.pointer);
    const std::string name = FieldName(prefix, field.pointer);
    if (!document.contains(pointer)) {
      if (field.required) return ApiError{400, "missing field '" + name + "'"};
      continue;
    }
    const json& value = document.at(pointer);
    std::optional<ApiError> error;
    switch (field.kind) {
      case Kind::kCount: error = CheckNumber(value, name, true, kMaxQuantity); break;
      case Kind::kMs:
      case Kind::kRatio: error = CheckNumber(value, name, false, kMaxQuantity); break;
      case Kind::kBytes: error = CheckNumber(value, name, true, kMaxBytes); break;
      case Kind::kObject: if (!value.is_object()) error = WrongType(name, "an object"); break;
      case Kind::kArray: if (!value.is_array()) error = WrongType(name, "an array"); break;
      case Kind::kString: if (!value.is_string()) error = WrongType(name, "a string"); break;
      case Kind::kTimestamp:
        if (!value.is_string() || !ValidTimestamp(value.get<std::string>())) {
          error = WrongType(name, "a UTC timestamp like \"2026-11-22T04:48:29Z\"");
        }
        break;
    }
    if (error) return error;
  }
  return std::nullopt;
}

std::optional<ApiError> CheckBenchResult(const json& document, const std::string& prefix) {
  if (auto error = CheckFields(document, BenchResultFields(), prefix)) return error;
  const json& samples = document["samples_ms"];
  for (std::size_t i = 0; i < samples.size(); ++i) {
    if (auto error = CheckNumber(samples[i], prefix + "samples_ms[" + std::to_string(i) + "]", false, kMaxQuantity)) {
      return error;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<ApiError> CheckResultValues(const json& document) {
  if (!document.is_object()) return WrongType("result document", "an object");
  if (!document.contains("schema") || !document["schema"].is_string()) return WrongType("schema", "a string");
  const std::string schema = document["schema"].get<std::string>();
  if (schema == kResultSchema) return CheckBenchResult(document, "");
  if (schema != kComparisonSchema) {
    return ApiError{400, "result schema '" + schema.substr(0, 64) + "' is not " + kResultSchema + " or " + kComparisonSchema};
  }
  if (auto error = CheckFields(document, ComparisonFields(), "")) return error;
  const json& variants = document["variants"];
  for (std::size_t i = 0; i < variants.size(); ++i) {
    const std::string prefix = "variants[" + std::to_string(i) + "]";
    if (!variants[i].is_object() || !variants[i].contains("result")) return WrongType(prefix, "an object with a 'result'");
    if (auto error = CheckBenchResult(variants[i]["result"], prefix + ".result.")) return error;
  }
  return std::nullopt;
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
