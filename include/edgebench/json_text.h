// JSON text of values that may hold strings from untrusted files (tensor names, paths).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace edgebench {

// `value` as JSON text (`indent` < 0: one line). Bytes of a string that are not valid UTF-8 become
// U+FFFD, where nlohmann's default dump would throw type_error 316.
inline std::string DumpJson(const nlohmann::json& value, int indent = -1) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace edgebench
