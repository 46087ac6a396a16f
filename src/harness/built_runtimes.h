// The runtimes CMake knew when this binary was built (cmake/EdgebenchBackends.cmake generates
// the definition): the ones built as plugins and the ones left out, with the reason.
#pragma once

#include <vector>

namespace edgebench {

struct BuiltRuntime {
  const char* name;
  bool built;                 // a plugin module was built for it
  const char* skip_reason;    // why not, when !built
};

// In the listing order of src/backends/CMakeLists.txt.
std::vector<BuiltRuntime> BuiltRuntimes();

}  // namespace edgebench
