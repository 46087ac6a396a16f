#include <charconv>

#include "edgebench/backend.h"

namespace edgebench {
namespace {

Status CheckValue(const OptionSpec& spec, const std::string& value) {
  const std::string where = "option " + spec.key + "=" + value;
  switch (spec.kind) {
    case OptionSpec::Kind::kInt: {
      int64_t number = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
      if (value.empty() || ec != std::errc() || ptr != value.data() + value.size()) {
        return InvalidArgument(where + ": not an integer");
      }
      if (number < spec.min_value || number > spec.max_value) {
        return InvalidArgument(where + ": out of range [" + std::to_string(spec.min_value) + ", " +
                               std::to_string(spec.max_value) + "]");
      }
      return OkStatus();
    }
    case OptionSpec::Kind::kBool:
      if (value != "true" && value != "false") {
        return InvalidArgument(where + ": expected true or false");
      }
      return OkStatus();
    case OptionSpec::Kind::kChoice: {
      std::string choices;
      for (const auto& choice : spec.choices) {
        if (choice == value) return OkStatus();
        choices += (choices.empty() ? "" : "|") + choice;
      }
      return InvalidArgument(where + ": expected one of " + choices);
    }
    case OptionSpec::Kind::kString:
      return OkStatus();
  }
  return OkStatus();
}

}  // namespace

Expected<BackendOptions> ValidateOptions(const BackendInfo& info, const BackendOptions& options) {
  BackendOptions effective;
  for (const auto& spec : info.options) effective[spec.key] = spec.default_value;
  for (const auto& [key, value] : options) {
    const OptionSpec* spec = nullptr;
    for (const auto& candidate : info.options) {
      if (candidate.key == key) spec = &candidate;
    }
    if (!spec) {
      std::string known;
      for (const auto& candidate : info.options) known += (known.empty() ? "" : ", ") + candidate.key;
      return InvalidArgument("unknown option '" + key + "' for runtime " + info.name +
                             " (its options: " + (known.empty() ? "none" : known) + ")");
    }
    EB_RETURN_IF_ERROR(CheckValue(*spec, value));
    effective[key] = value;
  }
  return effective;
}

}  // namespace edgebench
