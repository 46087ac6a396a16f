#include <gtest/gtest.h>

#include "edgebench/backend.h"

namespace edgebench {
namespace {

BackendInfo Info() {
  BackendInfo info;
  info.name = "demo";
  info.options = {
      {.key = "level", .kind = OptionSpec::Kind::kChoice, .default_value = "all", .choices = {"basic", "all"}},
      {.key = "threads", .kind = OptionSpec::Kind::kInt, .default_value = "0", .min_value = 0, .max_value = 64},
      {.key = "arena", .kind = OptionSpec::Kind::kBool, .default_value = "true"},
      {.key = "tag", .kind = OptionSpec::Kind::kString, .default_value = ""}};
  return info;
}

TEST(ValidateOptions, FillsDefaultsAndKeepsGivenValues) {
  auto options = ValidateOptions(Info(), {{"level", "basic"}, {"threads", "4"}});
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->at("level"), "basic");
  EXPECT_EQ(options->at("threads"), "4");
  EXPECT_EQ(options->at("arena"), "true");
  EXPECT_EQ(options->at("tag"), "");
}

TEST(ValidateOptions, RejectsBadValuesNamingTheKey) {
  const std::vector<std::pair<BackendOptions, std::string>> cases = {
      {{{"colour", "red"}}, "unknown option 'colour' for runtime demo (its options: level, threads, arena, tag)"},
      {{{"level", "max"}}, "option level=max: expected one of basic|all"},
      {{{"threads", "x"}}, "option threads=x: not an integer"},
      {{{"threads", "65"}}, "option threads=65: out of range [0, 64]"},
      {{{"threads", "4x"}}, "option threads=4x: not an integer"},
      {{{"arena", "yes"}}, "option arena=yes: expected true or false"}};
  for (const auto& [options, message] : cases) {
    auto result = ValidateOptions(Info(), options);
    ASSERT_FALSE(result.ok()) << message;
    EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(result.error().message, message);
  }
}

}  // namespace
}  // namespace edgebench
