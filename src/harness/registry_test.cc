#include "edgebench/registry.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace edgebench {
namespace {

TEST(Registry, ListsCompiledAndMissingBackends) {
  bool has_null = false, has_tensorrt = false;
  for (const auto& entry : AllBackends()) {
    if (entry.name == "null") {
      has_null = true;
      ASSERT_TRUE(entry.available);
      EXPECT_EQ(entry.describe().name, "null");
      EXPECT_NE(entry.create(), nullptr);
    }
    if (entry.name == "tensorrt") {
      has_tensorrt = true;
      EXPECT_FALSE(entry.available);
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

TEST(Registry, LoadedPluginsComeFromThePluginDirectories) {
  auto null = FindBackend("null");
  ASSERT_TRUE(null.ok()) << null.error().message;
  const std::string& path = (*null)->plugin_path;
  EXPECT_NE(path.find("libedgebench_rt_null.so"), std::string::npos) << path;
  bool in_a_directory = false;
  for (const auto& directory : PluginDirectories()) in_a_directory |= path.rfind(directory + "/", 0) == 0;
  EXPECT_TRUE(in_a_directory) << path;
}

TEST(Registry, PluginDirectoryVariableReplacesTheDefaults) {
  ASSERT_EQ(setenv("EDGEBENCH_PLUGIN_DIR", "/a::/b/c:", 1), 0);
  const auto directories = PluginDirectories();
  unsetenv("EDGEBENCH_PLUGIN_DIR");
  EXPECT_EQ(directories, (std::vector<std::string>{"/a", "/b/c"}));
  EXPECT_FALSE(PluginDirectories().empty());  // the build tree's, at least
}

}  // namespace
}  // namespace edgebench
