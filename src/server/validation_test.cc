// The 4xx answers of request validation, without a process.
#include "validation.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace edgebench::server
