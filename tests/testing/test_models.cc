#include "testing/test_models.h"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <unistd.h>

namespace edgebench::testing {

std::string CacheDir() {
  if (const char* dir = std::getenv("EDGEBENCH_CACHE_DIR"); dir && *dir) return dir;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "/tmp") + "/.cache/edgebench";
}

std::string ZooModel(const std::string& name, const std::string& extension) {
  return CacheDir() + "/zoo/" + name + "/" + name + "." + extension;
}

std::string DownloadedModel(const std::string& file_name) {
  return CacheDir() + "/models/" + file_name;
}

std::string MakeTempDir() {
  static std::atomic<int> counter{0};
  auto dir = std::filesystem::temp_directory_path() /
             ("edgebench-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace edgebench::testing
