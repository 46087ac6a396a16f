// The model files on disk: DIR/<sha256>, content-addressed, written through temporary files in
// the same directory and made durable (fsync, rename, fsync of the directory). Thread-safe.
#pragma once

#include <memory>
#include <string>

#include "edgebench/status.h"

namespace edgebench::server {

class ModelStore {
 public:
  // Creates `dir` when missing.
  static Expected<std::unique_ptr<ModelStore>> Open(const std::string& dir);

  // The file of the model `sha256`.
  std::string PathOf(const std::string& sha256) const;
  // A fresh temporary path in the store (".upload-XXXX<extension>"), for an upload in progress.
  std::string TemporaryPath(const std::string& extension) const;
  // Makes the complete file `temporary` the file of `sha256` and drops it when that content is
  // already stored. False when the rename fails (`temporary` is then removed).
  bool MoveIn(const std::string& temporary, const std::string& sha256) const;
  // Stores `bytes` as the model `sha256` (their hash); false when it cannot be written.
  bool Write(const std::string& bytes, const std::string& sha256) const;

 private:
  explicit ModelStore(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

}  // namespace edgebench::server
