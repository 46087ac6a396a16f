#include "model_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "tokens.h"

namespace edgebench::server {
namespace {

namespace fs = std::filesystem;

void FsyncPath(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

}  // namespace

Expected<std::unique_ptr<ModelStore>> ModelStore::Open(const std::string& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) return InvalidArgument(dir + ": cannot create (" + error.message() + ")");
  return std::unique_ptr<ModelStore>(new ModelStore(dir));
}

std::string ModelStore::PathOf(const std::string& sha256) const { return dir_ + "/" + sha256; }

std::string ModelStore::TemporaryPath(const std::string& extension) const {
  return dir_ + "/.upload-" + NewSecret().substr(0, 16) + extension;
}

bool ModelStore::MoveIn(const std::string& temporary, const std::string& sha256) const {
  std::error_code ignored;
  const std::string final_path = PathOf(sha256);
  if (fs::exists(final_path)) {
    fs::remove(temporary, ignored);  // dedupe: same content already stored
    return true;
  }
  FsyncPath(temporary);
  if (std::rename(temporary.c_str(), final_path.c_str()) != 0) {
    fs::remove(temporary, ignored);
    return false;
  }
  FsyncPath(dir_);
  return true;
}

bool ModelStore::Write(const std::string& bytes, const std::string& sha256) const {
  const std::string temporary = TemporaryPath("");
  std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    std::error_code ignored;
    fs::remove(temporary, ignored);
    return false;
  }
  return MoveIn(temporary, sha256);
}

}  // namespace edgebench::server
