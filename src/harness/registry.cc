#include "edgebench/registry.h"

namespace edgebench {

std::vector<BackendEntry> GeneratedBackendEntries();  // registry_generated.cc

const std::vector<BackendEntry>& AllBackends() {
  static const std::vector<BackendEntry> entries = GeneratedBackendEntries();
  return entries;
}

Expected<const BackendEntry*> FindBackend(const std::string& name) {
  std::string compiled;
  for (const auto& entry : AllBackends()) {
    if (entry.name == name) {
      if (!entry.compiled) {
        return NotFound("runtime '" + name + "' is not available in this build: " +
                        entry.unavailable_reason);
      }
      return &entry;
    }
    if (entry.compiled) compiled += (compiled.empty() ? "" : ", ") + entry.name;
  }
  return NotFound("unknown runtime '" + name + "' (available: " + compiled + ")");
}

}  // namespace edgebench
