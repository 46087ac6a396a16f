#include "images.h"

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

namespace edgebench::server {
namespace {

using json = nlohmann::json;

Status Validate(const std::string& runtime, const std::string& arch, const std::string& reference) {
  static const std::regex kWord("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  // A Docker reference: [host[:port]/]path[:tag][@sha256:digest], no spaces or control bytes.
  static const std::regex kReference("[A-Za-z0-9][A-Za-z0-9._:/@-]{0,254}");
  if (!std::regex_match(runtime, kWord)) return InvalidArgument("bad image runtime '" + runtime + "'");
  if (!std::regex_match(arch, kWord)) return InvalidArgument("bad image architecture '" + arch + "'");
  if (!std::regex_match(reference, kReference)) {
    return InvalidArgument("bad image reference '" + reference + "' (expected e.g. host:5000/edgebench/" + runtime +
                           ":tag)");
  }
  return OkStatus();
}

}  // namespace

std::string CanonicalArch(const std::string& arch) {
  if (arch == "amd64" || arch == "x86-64") return "x86_64";
  if (arch == "arm64") return "aarch64";
  return arch;
}

Expected<std::unique_ptr<ImageCatalog>> ImageCatalog::Open(const std::string& data_dir,
                                                           const std::vector<std::string>& specs) {
  auto catalog = std::make_unique<ImageCatalog>();
  catalog->path_ = data_dir + "/images.json";
  if (std::ifstream in(catalog->path_); in) {
    std::stringstream text;
    text << in.rdbuf();
    const json stored = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    if (!stored.is_object() || !stored.value("images", json()).is_array()) {
      return RuntimeError(catalog->path_ + ": not an image catalog (expected {\"images\": [...]})");
    }
    for (const auto& item : stored["images"]) {
      if (!item.is_object() || !item.value("runtime", json()).is_string() || !item.value("arch", json()).is_string() ||
          !item.value("image", json()).is_string()) {
        return RuntimeError(catalog->path_ + ": malformed entry " + item.dump());
      }
      catalog->images_[{item["runtime"], CanonicalArch(item["arch"])}] = item["image"];
    }
  }
  for (const auto& spec : specs) {
    const auto slash = spec.find('/');
    const auto equals = spec.find('=');
    if (slash == std::string::npos || equals == std::string::npos || slash > equals) {
      return InvalidArgument("bad --image '" + spec + "': expected RUNTIME/ARCH=REFERENCE");
    }
    EB_RETURN_IF_ERROR(catalog->Add(spec.substr(0, slash), spec.substr(slash + 1, equals - slash - 1),
                                    spec.substr(equals + 1)));
  }
  return catalog;
}

Status ImageCatalog::Add(const std::string& runtime, const std::string& arch, const std::string& reference) {
  EB_RETURN_IF_ERROR(Validate(runtime, arch, reference));
  std::lock_guard lock(mutex_);
  images_[{runtime, CanonicalArch(arch)}] = reference;
  return Save();
}

std::optional<std::string> ImageCatalog::Find(const std::string& runtime, const std::string& arch) const {
  std::lock_guard lock(mutex_);
  auto it = images_.find({runtime, CanonicalArch(arch)});
  if (it == images_.end()) return std::nullopt;
  return it->second;
}

json ImageCatalog::ToJson(const std::string& arch) const {
  std::lock_guard lock(mutex_);
  json images = json::array();
  const std::string wanted = CanonicalArch(arch);
  for (const auto& [key, reference] : images_) {
    if (!wanted.empty() && key.second != wanted) continue;
    images.push_back({{"runtime", key.first}, {"arch", key.second}, {"image", reference}});
  }
  return images;
}

// Caller holds mutex_. Written to a temporary file and renamed: never a half-written catalog.
Status ImageCatalog::Save() const {
  json images = json::array();
  for (const auto& [key, reference] : images_) {
    images.push_back({{"runtime", key.first}, {"arch", key.second}, {"image", reference}});
  }
  const std::string temporary = path_ + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << json{{"images", images}}.dump(2) << "\n";
    out.flush();
    if (!out) return RuntimeError(temporary + ": cannot write the image catalog");
  }
  if (std::rename(temporary.c_str(), path_.c_str()) != 0) {
    std::remove(temporary.c_str());
    return RuntimeError(path_ + ": cannot replace the image catalog");
  }
  return OkStatus();
}

}  // namespace edgebench::server
