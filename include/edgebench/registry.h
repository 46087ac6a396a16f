// The one table of runtime backends. Each runtime is a plugin module, libedgebench_rt_<name>.so
// (plugin.h), found in the plugin directories and loaded the first time the runtime is asked
// for. The table also lists the runtimes this build left out, with the reason CMake gave, so
// `edgebench runtimes` can say why one is missing. Thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "edgebench/backend.h"

namespace edgebench {

struct BackendEntry {
  std::string name;
  bool available = false;          // the plugin is loaded: describe and create are set
  std::string unavailable_reason;  // set when !available: not built, module missing, loader error
  std::string plugin_path;         // the module file, when one was found
  BackendInfo (*describe)() = nullptr;
  std::unique_ptr<Backend> (*create)() = nullptr;
};

// Where plugins are looked for, in order: the directories in $EDGEBENCH_PLUGIN_DIR (a
// ':'-separated list) when it is set; otherwise <directory of the executable>/../lib/edgebench/
// plugins (an installed binary, the runtime images) and then the build tree's plugin directory.
std::vector<std::string> PluginDirectories();

// Every runtime this build knows or a plugin directory holds, each loaded or with the reason it
// is not. Loads every plugin: use FindBackend for one runtime.
const std::vector<BackendEntry>& AllBackends();

// The runtime called `name` with its plugin loaded, or an error that says why not (unknown
// runtime: lists the known ones; not built; module missing or refused by the loader).
Expected<const BackendEntry*> FindBackend(const std::string& name);

}  // namespace edgebench
