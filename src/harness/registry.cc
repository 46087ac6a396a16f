#include "edgebench/registry.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "built_runtimes.h"
#include "edgebench/plugin.h"
#include "edgebench/text.h"
#include "edgebench/version.h"

namespace edgebench {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPrefix = "libedgebench_rt_";
constexpr const char* kSuffix = ".so";

std::string BuildId() { return std::string(kVersion) + "+" + kGitCommit; }

std::string ModuleName(const std::string& runtime) { return kPrefix + runtime + kSuffix; }

// The runtime a module file stands for, or "" when the file name is not a plugin's.
std::string RuntimeOfModule(const std::string& file) {
  const std::string prefix = kPrefix, suffix = kSuffix;
  if (file.size() <= prefix.size() + suffix.size() || file.rfind(prefix, 0) != 0 ||
      file.compare(file.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return "";
  }
  const std::string name = file.substr(prefix.size(), file.size() - prefix.size() - suffix.size());
  const bool valid = std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
  return valid ? name : "";
}

// Opens `entry.plugin_path` and fills describe/create, or sets unavailable_reason. The caller
// holds the table's mutex (dlerror is not thread-safe).
void LoadPlugin(BackendEntry& entry) {
  const std::string& path = entry.plugin_path;
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    entry.unavailable_reason = "cannot load " + path + ": " + (why ? why : "unknown loader error");
    return;
  }
  auto entry_point = reinterpret_cast<RuntimePluginEntry>(dlsym(handle, kRuntimePluginSymbol));
  const RuntimePlugin* plugin = entry_point ? entry_point() : nullptr;
  std::string why;
  if (plugin == nullptr) {
    why = path + " is not an edgebench runtime plugin (no " + kRuntimePluginSymbol + ")";
  } else if (plugin->abi_version != kRuntimePluginAbiVersion || plugin->build_id == nullptr ||
             BuildId() != plugin->build_id) {
    why = path + " was built for edgebench " + (plugin->build_id ? plugin->build_id : "?") +
          " (plugin ABI " + std::to_string(plugin->abi_version) + "), this is edgebench " + BuildId() +
          " (plugin ABI " + std::to_string(kRuntimePluginAbiVersion) + "): rebuild the plugin";
  } else if (plugin->name == nullptr || entry.name != plugin->name || !plugin->describe || !plugin->create) {
    why = path + " declares runtime '" + (plugin->name ? plugin->name : "") + "', not '" + entry.name + "'";
  }
  if (!why.empty()) {
    dlclose(handle);
    entry.unavailable_reason = why;
    return;
  }
  // The module stays loaded for the life of the process: backends and their runtimes keep
  // threads and static state that must not be unmapped.
  entry.available = true;
  entry.unavailable_reason.clear();
  entry.describe = plugin->describe;
  entry.create = plugin->create;
}

class Table {
 public:
  Table() {
    const std::vector<std::string> directories = PluginDirectories();
    auto find_module = [&](const std::string& runtime) -> std::string {
      std::error_code ignored;
      for (const auto& directory : directories) {
        const std::string path = directory + "/" + ModuleName(runtime);
        if (fs::is_regular_file(path, ignored)) return path;
      }
      return "";
    };
    for (const auto& known : BuiltRuntimes()) {
      BackendEntry entry;
      entry.name = known.name;
      entry.plugin_path = find_module(known.name);
      if (entry.plugin_path.empty()) {
        entry.unavailable_reason =
            known.built ? "plugin " + ModuleName(known.name) + " not found in " +
                              (directories.empty() ? std::string("(no plugin directory)") : Join(directories, ", "))
                        : known.skip_reason;
      }
      entries_.push_back(std::move(entry));
    }
    // Plugins this build does not know (a runtime built elsewhere from the same sources).
    std::vector<std::string> extra;
    for (const auto& directory : directories) {
      std::error_code error;
      for (const auto& file : fs::directory_iterator(directory, error)) {
        const std::string runtime = RuntimeOfModule(file.path().filename().string());
        if (runtime.empty() || Find(runtime) != nullptr ||
            std::find(extra.begin(), extra.end(), runtime) != extra.end()) {
          continue;
        }
        extra.push_back(runtime);
      }
    }
    std::sort(extra.begin(), extra.end());
    for (const auto& runtime : extra) entries_.push_back({runtime, false, "", find_module(runtime), nullptr, nullptr});
    loaded_.assign(entries_.size(), false);
  }

  Expected<const BackendEntry*> Get(const std::string& name) {
    std::lock_guard lock(mutex_);
    BackendEntry* entry = Find(name);
    if (entry == nullptr) {
      std::vector<std::string> present;
      for (const auto& item : entries_) {
        if (!item.plugin_path.empty()) present.push_back(item.name);
      }
      return NotFound("unknown runtime '" + name + "' (available: " + Join(present, ", ") + ")");
    }
    if (entry->plugin_path.empty()) {
      return NotFound("runtime '" + name + "' is not available in this build: " + entry->unavailable_reason);
    }
    Load(*entry);
    if (!entry->available) return NotFound("runtime '" + name + "' cannot be used: " + entry->unavailable_reason);
    return entry;
  }

  const std::vector<BackendEntry>& All() {
    std::lock_guard lock(mutex_);
    for (auto& entry : entries_) Load(entry);
    return entries_;
  }

 private:
  BackendEntry* Find(const std::string& name) {
    for (auto& entry : entries_) {
      if (entry.name == name) return &entry;
    }
    return nullptr;
  }

  void Load(BackendEntry& entry) {
    const std::size_t index = &entry - entries_.data();
    if (loaded_[index]) return;
    loaded_[index] = true;
    if (!entry.plugin_path.empty()) LoadPlugin(entry);
  }

  std::mutex mutex_;
  std::vector<BackendEntry> entries_;  // never resized after construction: pointers stay valid
  std::vector<bool> loaded_;           // a load was tried (an entry never changes afterwards)
};

Table& TheTable() {
  static Table table;
  return table;
}

}  // namespace

std::vector<std::string> PluginDirectories() {
  std::vector<std::string> directories;
  if (const char* list = std::getenv("EDGEBENCH_PLUGIN_DIR")) {
    for (auto& directory : Split(list, ':')) {
      if (!directory.empty()) directories.push_back(std::move(directory));
    }
    return directories;
  }
  std::error_code error;
  const fs::path executable = fs::read_symlink("/proc/self/exe", error);
  if (!error) {
    const fs::path installed = executable.parent_path().parent_path() / "lib" / "edgebench" / "plugins";
    if (fs::is_directory(installed, error)) directories.push_back(installed.lexically_normal().string());
  }
  const std::string build_tree = EDGEBENCH_BUILD_PLUGIN_DIR;
  if (fs::is_directory(build_tree, error) &&
      std::find(directories.begin(), directories.end(), build_tree) == directories.end()) {
    directories.push_back(build_tree);
  }
  return directories;
}

const std::vector<BackendEntry>& AllBackends() { return TheTable().All(); }

Expected<const BackendEntry*> FindBackend(const std::string& name) { return TheTable().Get(name); }

}  // namespace edgebench
