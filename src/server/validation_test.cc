// The 4xx answers of request validation, without a process.
#include "validation.h"

#include <gtest/gtest.h>

#include "edgebench/result_json.h"

namespace edgebench::server {
namespace {

using json = nlohmann::json;

void ExpectError(const std::optional<ApiError>& error, int status, const std::string& fragment) {
  ASSERT_TRUE(error) << "no error; wanted " << fragment;
  EXPECT_EQ(error->status, status);
  EXPECT_NE(error->message.find(fragment), std::string::npos) << error->message;
}

TEST(ValidationTest, UnknownFieldsAreNamedWithTheKnownOnes) {
  EXPECT_FALSE(CheckKnownFields({{"models", json::array()}, {"round_ms", 5}}, {"models", "threads", "round_ms"}, "compare"));
  ExpectError(CheckKnownFields({{"warp", 1}}, {"models", "threads"}, "compare"), 400,
              "unknown field 'compare.warp' (known: models, threads)");
  ExpectError(CheckKnownFields({{"colour", "red"}}, {"name"}), 400, "unknown field 'colour' (known: name)");
  EXPECT_FALSE(CheckKnownFields({{"anything", 1}}, {}));  // no list: every key is taken
}

TEST(ValidationTest, SettingsAreCheckedAgainstTheBenchFlags) {
  EXPECT_FALSE(ValidateSettings({{"min_runs", 3}, {"warmup_min_ms", 0.5}, {"options", {{"spin_ns", "10"}}},
                                 {"precision", "int8"}, {"allow_unpinned_governor", true}}));
  ExpectError(ValidateSettings({{"min_runs", "many"}}), 400, "'settings.min_runs' must be an integer");
  ExpectError(ValidateSettings({{"min_runs", 0}}), 400, "'settings.min_runs' is out of range");
  ExpectError(ValidateSettings({{"timeout_s", -1}}), 400, "'settings.timeout_s' is out of range");
  ExpectError(ValidateSettings({{"options", {{"spin_ns", 10}}}}), 400, "'settings.options' item 'spin_ns' must be a string");
  ExpectError(ValidateSettings({{"precision", "int4"}}), 400, "settings.precision");
  ExpectError(ValidateSettings({{"turbo", true}}), 400, "unknown field 'settings.turbo'");
  auto absent = ParseSettings(json::object());
  ASSERT_TRUE(absent.ok());
  EXPECT_EQ(absent.value(), json::object());
  auto wrong = ParseSettings({{"settings", 5}});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().message, "field 'settings' must be an object");
}

TEST(ValidationTest, NamesAndLabels) {
  EXPECT_TRUE(ValidName("rpi4-b.lab_2"));
  EXPECT_FALSE(ValidName("-rpi"));
  EXPECT_FALSE(ValidName(std::string(65, 'a')));
  EXPECT_FALSE(CheckLabels({{"board", "rpi4"}}, "labels"));
  ExpectError(CheckLabels({{"bad key!", "x"}}, "labels"), 400, "labels key");
  ExpectError(CheckLabels({{"board", 5}}, "selector"), 400, "'selector.board' must be a string");
  ExpectError(CheckLabels(json::array(), "selector"), 400, "'selector' must be an object of strings");
  auto name = OptionalName({{"device", "rpi"}}, "device");
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(name.value(), "rpi");
  EXPECT_EQ(OptionalName(json::object(), "device").value(), "");
  EXPECT_EQ(OptionalName({{"device", "a b"}}, "device").error().status, 400);
  EXPECT_TRUE(IsSha256(std::string(64, 'a')));
  EXPECT_FALSE(IsSha256(std::string(64, 'A')));
}

// Issue 18, defect 1: a 100,000-deep array in a result document overflowed the stack.
TEST(ValidationTest, JsonBodiesAreParsedWithinTheDepthAndStringLimits) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto refused = ParseJsonObject("{\"samples_ms\": " + deep + "}", "result document", kResultJsonLimits);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().status, 400);
  EXPECT_EQ(refused.error().message, "result document: JSON nested deeper than 64 levels");
  // 64 levels are taken (the object is the first).
  const std::string deepest = "{\"a\": " + std::string(63, '[') + std::string(63, ']') + "}";
  EXPECT_TRUE(ParseJsonObject(deepest, "request body", kRequestJsonLimits).ok());
  const std::string too_deep = "{\"a\": " + std::string(64, '[') + std::string(64, ']') + "}";
  EXPECT_FALSE(ParseJsonObject(too_deep, "request body", kRequestJsonLimits).ok());
  auto long_string = ParseJsonObject("{\"name\": \"" + std::string(70000, 'x') + "\"}", "request body", kRequestJsonLimits);
  ASSERT_FALSE(long_string.ok());
  EXPECT_EQ(long_string.error().message, "request body: a JSON string of 70000 bytes exceeds the limit of 65536 bytes");
  auto long_key = ParseJsonObject("{\"" + std::string(70000, 'k') + "\": 1}", "request body", kRequestJsonLimits);
  EXPECT_FALSE(long_key.ok());
  auto malformed = ParseJsonObject("{\"a\": ", "request body", kRequestJsonLimits);
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(malformed.error().message.rfind("request body: malformed JSON at byte", 0), 0u) << malformed.error().message;
  EXPECT_EQ(malformed.error().message.find("json.exception"), std::string::npos);
  EXPECT_EQ(ParseJsonObject("[1]", "request body", kRequestJsonLimits).error().message,
            "request body must be a JSON object");
  auto parsed = ParseJsonObject(R"({"a": [1, 2.5, "x", null, true, {"b": -3}]})", "request body", kRequestJsonLimits);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.value(), json::parse(R"({"a": [1, 2.5, "x", null, true, {"b": -3}]})"));
}

TEST(ValidationTest, Utf8AndTimestamps) {
  EXPECT_TRUE(ValidUtf8("resnet50 \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80.onnx"));  // é € 😀
  EXPECT_FALSE(ValidUtf8("model\xff.onnx"));
  EXPECT_FALSE(ValidUtf8("\xc3"));          // truncated
  EXPECT_FALSE(ValidUtf8("\xc0\xaf"));      // overlong '/'
  EXPECT_FALSE(ValidUtf8("\xed\xa0\x80"));  // a surrogate
  EXPECT_TRUE(ValidTimestamp("2026-11-22T04:48:29Z"));
  EXPECT_TRUE(ValidTimestamp("2026-11-22T04:48:29.123Z"));
  EXPECT_FALSE(ValidTimestamp("x"));
  EXPECT_FALSE(ValidTimestamp("2026-13-22T04:48:29Z"));
  EXPECT_FALSE(ValidTimestamp("2026-11-22 04:48:29"));
}

// Issue 18, defect 5: impossible values in result documents were stored.
TEST(ValidationTest, ResultValuesAreCheckedAgainstTheirRanges) {
  BenchResult result;
  result.started_at_utc = "2026-11-22T04:48:29Z";
  result.samples_ms = {1.5, 2.0};
  result.load_ms = 12;
  const json good = ToJson(result);
  EXPECT_FALSE(CheckResultValues(good)) << CheckResultValues(good)->message;
  auto with = [&good](const std::string& pointer, const json& value) {
    json document = good;
    document[json::json_pointer(pointer)] = value;
    return CheckResultValues(document);
  };
  ExpectError(with("/load_ms", -1), 400, "field 'load_ms' is out of range [0, 1e+12]: -1");
  ExpectError(with("/peak_rss_bytes", -1), 400, "field 'peak_rss_bytes' is out of range");
  ExpectError(with("/peak_rss_bytes", 1.5), 400, "field 'peak_rss_bytes' must be an integer");
  ExpectError(with("/started_at", "x"), 400, "field 'started_at' must be a UTC timestamp");
  ExpectError(with("/latency_ms/p99", "fast"), 400, "field 'latency_ms.p99' must be a number");
  ExpectError(with("/samples_ms/1", -0.5), 400, "field 'samples_ms[1]' is out of range");
  ExpectError(with("/warmup", 5), 400, "field 'warmup' must be an object");
  ExpectError(with("/schema", "other/9"), 400, "result schema 'other/9'");
  json missing = good;
  missing.erase("measure_ms");
  ExpectError(CheckResultValues(missing), 400, "missing field 'measure_ms'");
  // Optional keys of newer documents may be absent (older documents).
  json old = good;
  old["latency_ms"].erase("mad");
  old["latency_ms"].erase("robust_cv");
  old["latency_ms"].erase("outliers");
  EXPECT_FALSE(CheckResultValues(old));
  // A comparison's variants are result documents.
  json comparison = {{"schema", "edgebench.comparison/1"}, {"started_at", "2026-11-22T04:48:29Z"},
                     {"environment", json::object()}, {"settings", json::object()}, {"round_target_ms", 20},
                     {"rounds", 3}, {"measure_ms", 100}, {"ratios", json::array()}, {"validity", json::object()},
                     {"variants", {{{"label", "a"}, {"result", good}}}}};
  EXPECT_FALSE(CheckResultValues(comparison));
  comparison["variants"][0]["result"]["load_ms"] = -2;
  ExpectError(CheckResultValues(comparison), 400, "field 'variants[0].result.load_ms' is out of range");
}

}  // namespace
}  // namespace edgebench::server
