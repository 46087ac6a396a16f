#include "edgebench/settings.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace edgebench {
namespace {

using json = nlohmann::json;

void ExpectRejected(const json& settings, SettingsReader reader, const std::string& fragment) {
  Status status = ValidateSettingsJson(settings, reader);
  ASSERT_FALSE(status.ok()) << settings.dump();
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(status.error().message.find(fragment), std::string::npos) << status.error().message;
}

TEST(SettingsTest, EveryEntryIsComplete) {
  for (const auto& spec : SettingsTable()) {
    SCOPED_TRACE(spec.key);
    EXPECT_FALSE(spec.flag.empty());
    EXPECT_FALSE(spec.help.empty());
    // A bench setting is a BenchSettings field; a service setting says what applies without it.
    EXPECT_EQ(spec.use != SettingUse::kServiceOnly, static_cast<bool>(spec.read) && static_cast<bool>(spec.write));
    EXPECT_EQ(spec.use == SettingUse::kServiceOnly, !spec.service_default.empty());
    if (spec.type == SettingType::kInt || spec.type == SettingType::kNumber) EXPECT_LT(spec.min, spec.max);
    if (spec.type == SettingType::kStringMap || spec.type == SettingType::kShapeMap) {
      EXPECT_FALSE(spec.item_form.empty());
    }
  }
}

// Values a probe once got accepted: too large for their field, or not finite in practice.
TEST(SettingsTest, RangesAreReal) {
  ExpectRejected({{"timeout_s", 1e308}}, SettingsReader::kService, "'settings.timeout_s' is out of range");
  ExpectRejected({{"threads", 2147483648}}, SettingsReader::kService, "'settings.threads' is out of range [0, 1024]");
  ExpectRejected({{"min_runs", 9007199254740993ull}}, SettingsReader::kService, "settings.min_runs");
  ExpectRejected({{"min_runs", 0}}, SettingsReader::kService, "'settings.min_runs' is out of range");
  ExpectRejected({{"warmup_min_ms", -1}}, SettingsReader::kBench, "settings.warmup_min_ms");
  ExpectRejected({{"seed", -1}}, SettingsReader::kBench, "settings.seed");
  ExpectRejected({{"target_ci_percent", 0}}, SettingsReader::kBench, "settings.target_ci_percent");
  EXPECT_TRUE(ValidateSettingsJson({{"threads", 1024}, {"min_runs", 1}, {"timeout_s", 604800}},
                                   SettingsReader::kService)
                  .ok());
}

TEST(SettingsTest, TypesKeysAndReaders) {
  ExpectRejected({{"min_runs", "many"}}, SettingsReader::kService, "'settings.min_runs' must be an integer");
  ExpectRejected({{"min_runs", 2.5}}, SettingsReader::kService, "must be an integer");
  ExpectRejected({{"warmup_min_ms", "1"}}, SettingsReader::kBench, "must be a number");
  ExpectRejected({{"allow_unpinned_governor", 1}}, SettingsReader::kBench, "must be a boolean");
  ExpectRejected({{"precision", "int4"}}, SettingsReader::kService, "\"fp32\", \"fp16\", \"int8\"");
  ExpectRejected({{"options", {{"spin_ns", 5}}}}, SettingsReader::kBench, "'settings.options' item 'spin_ns' must be a string");
  ExpectRejected({{"shapes", {{"input", "1x3xQ"}}}}, SettingsReader::kService, "bad shape");
  ExpectRejected({{"turbo", true}}, SettingsReader::kService, "unknown field 'settings.turbo'");
  ExpectRejected({{"target_ci_percent", nullptr}, {"threads", nullptr}}, SettingsReader::kBench, "settings.threads");
  // Each reader takes only its settings.
  ExpectRejected({{"input_files", {{"x", "x.bin"}}}}, SettingsReader::kService, "edgebench bench --input");
  ExpectRejected({{"timeout_s", 10}}, SettingsReader::kBench, "edgebench submit --timeout-s");
  ExpectRejected(json::array(), SettingsReader::kBench, "settings must be a JSON object");
  EXPECT_EQ(SelectSettings({{"timeout_s", 10}, {"precision", "fp16"}, {"min_runs", 3}}, SettingsReader::kBench),
            json({{"min_runs", 3}}));
}

TEST(SettingsTest, JsonRoundTrip) {
  BenchSettings settings;
  settings.threads = 2;
  settings.options = {{"spin_ns", "10"}};
  settings.shapes = {{"input", {1, 3, 8, 8}}};
  settings.input_files = {{"input", "in.bin"}};
  settings.seed = 7;
  settings.target_ci_percent = 1.5;
  settings.allow_unpinned_governor = true;
  settings.verify_runtime = "opencv";
  settings.verify_tolerance = 1e-4;
  settings.profile_runs = 3;
  const json document = SettingsToJson(settings);
  EXPECT_EQ(document["shapes"], json({{"input", "1x3x8x8"}}));
  EXPECT_TRUE(document["verify_tolerance"].is_number());
  auto back = SettingsFromJson(document);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(SettingsToJson(*back), document);
  EXPECT_EQ(back->shapes, settings.shapes);
  EXPECT_EQ(back->seed, 7u);
  // Every bench setting, and no service one, is in the document.
  for (const auto& spec : SettingsTable()) {
    EXPECT_EQ(document.contains(spec.key), spec.use != SettingUse::kServiceOnly) << spec.key;
  }
}

TEST(SettingsTest, AbsentKeysKeepDefaultsAndAdaptiveRunsHaveNoMinimumDuration) {
  auto plain = SettingsFromJson({{"min_runs", 3}});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->min_runs, 3);
  EXPECT_EQ(plain->min_duration_ms, BenchSettings{}.min_duration_ms);
  EXPECT_FALSE(plain->target_ci_percent);

  auto adaptive = SettingsFromJson({{"target_ci_percent", 2}});
  ASSERT_TRUE(adaptive.ok());
  EXPECT_EQ(adaptive->min_duration_ms, 0);
  auto adaptive_with_minimum = SettingsFromJson({{"target_ci_percent", 2}, {"min_duration_ms", 500}});
  ASSERT_TRUE(adaptive_with_minimum.ok());
  EXPECT_EQ(adaptive_with_minimum->min_duration_ms, 500);
}

// docs/settings.md holds the generated table (`edgebench settings` prints it).
TEST(SettingsTest, DocsHoldTheGeneratedTable) {
  std::ifstream in(std::string(EDGEBENCH_SOURCE_DIR) + "/docs/settings.md");
  ASSERT_TRUE(in) << "docs/settings.md is missing";
  std::stringstream docs;
  docs << in.rdbuf();
  EXPECT_NE(docs.str().find(SettingsMarkdownTable()), std::string::npos)
      << "docs/settings.md differs from the table; regenerate it with `edgebench settings`:\n"
      << SettingsMarkdownTable();
}

}  // namespace
}  // namespace edgebench
