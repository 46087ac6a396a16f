#include "edgebench/registry.h"

#include <gtest/gtest.h>

namespace edgebench {
namespace {

TEST(Registry, ListsCompiledAndMissingBackends) {
  bool has_null = false, has_tensorrt = false;
  for (const auto& entry : AllBackends()) {
    if (entry.name == "null") {
      has_null = true;
      ASSERT_TRUE(entry.compiled);
      EXPECT_EQ(entry.describe().name, "null");
      EXPECT_NE(entry.create(), nullptr);
    }
    if (entry.name == "tensorrt") {
      has_tensorrt = true;
      EXPECT_FALSE(entry.compiled);
      EXPECT_FALSE(entry.unavailable_reason.empty());
    }
  }
  EXPECT_TRUE(has_null);
  EXPECT_TRUE(has_tensorrt);
}

TEST(Registry, FindBackendExplainsMisses) {
  EXPECT_TRUE(FindBackend("null").ok());
  auto unknown = FindBackend("tensorflow");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  EXPECT_NE(unknown.error().message.find("unknown runtime 'tensorflow' (available: null"), std::string::npos);
  auto missing = FindBackend("tensorrt");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("not available in this build"), std::string::npos);
}

}  // namespace
}  // namespace edgebench
