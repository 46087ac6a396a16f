// The server's runtime image catalog: (runtime, architecture) -> image reference, handed to
// docker-mode agents with each lease. Entries come from `edgebench server --image` and from the
// admin endpoint POST /v1/images; the catalog is kept in DATA_DIR/images.json (written
// atomically), so images added over the API survive restarts.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "edgebench/status.h"

namespace edgebench::server {

// "amd64" -> "x86_64", "arm64" -> "aarch64" (agents report uname names); others unchanged.
std::string CanonicalArch(const std::string& arch);

class ImageCatalog {
 public:
  // Loads DATA_DIR/images.json if present, then adds `specs` ("RUNTIME/ARCH=REF", the --image
  // flag; they replace stored entries of the same key).
  static Expected<std::unique_ptr<ImageCatalog>> Open(const std::string& data_dir,
                                                      const std::vector<std::string>& specs);

  // Adds or replaces one entry and saves the catalog; InvalidArgument names a bad field.
  Status Add(const std::string& runtime, const std::string& arch, const std::string& reference);
  std::optional<std::string> Find(const std::string& runtime, const std::string& arch) const;
  // [{runtime, arch, image}], sorted; `arch` non-empty keeps that architecture only.
  nlohmann::json ToJson(const std::string& arch = "") const;

 private:
  Status Save() const;
  std::string path_;
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, std::string> images_;
};

}  // namespace edgebench::server
