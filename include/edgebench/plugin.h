// The contract between edgebench and a runtime plugin: a shared module named
// libedgebench_rt_<name>.so that exports one C function, `edgebench_runtime_plugin`, returning a
// RuntimePlugin that lives as long as the module. The registry (registry.h) loads a module only
// when its runtime is asked for, so a command that needs no runtime loads none.
//
// C++ types (BackendInfo, Backend, Tensor) cross the boundary, so a module must come from the
// same edgebench sources and compiler as the binary that loads it: the loader refuses a module
// whose abi_version or build_id differs, naming both. Modules are built by
// edgebench_add_backend (cmake/EdgebenchBackends.cmake); a backend's sources never include this.
#pragma once

#include <memory>

#include "edgebench/backend.h"

namespace edgebench {

// Raised whenever the layout of RuntimePlugin or of the types it passes changes.
inline constexpr int kRuntimePluginAbiVersion = 2;  // 2: LoadRequest::log_level

// The exported symbol's name and type.
inline constexpr const char* kRuntimePluginSymbol = "edgebench_runtime_plugin";

struct RuntimePlugin {
  int abi_version = 0;             // kRuntimePluginAbiVersion of the module's build
  const char* build_id = nullptr;  // "<version>+<git commit>" of the module's build
  const char* name = nullptr;      // the runtime's registry key; must match the file name
  BackendInfo (*describe)() = nullptr;
  std::unique_ptr<Backend> (*create)() = nullptr;
};

using RuntimePluginEntry = const RuntimePlugin* (*)();

}  // namespace edgebench
