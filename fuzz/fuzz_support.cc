#include "fuzz_support.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace edgebench::fuzz {

std::string WriteScratchFile(const uint8_t* data, std::size_t size, const std::string& extension) {
  // /dev/shm keeps the per-input write off the disk where it exists.
  static const std::string directory =
      std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path().string();
  const std::string path = directory + "/edgebench-fuzz-" + std::to_string(getpid()) + extension;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out.flush()) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::abort();
  }
  return path;
}

}  // namespace edgebench::fuzz
