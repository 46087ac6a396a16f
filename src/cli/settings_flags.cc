#include "settings_flags.h"

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <fstream>

#include "command.h"

namespace edgebench::cli {
namespace {

using json = nlohmann::json;

// The placeholder of a flag's value in --help.
std::string TypeName(const SettingSpec& spec) {
  if (!spec.item_form.empty()) return spec.item_form;
  if (spec.unit == "ms") return "MS";
  if (spec.unit == "%") return "PERCENT";
  if (spec.unit == "s") return "SECONDS";
  switch (spec.type) {
    case SettingType::kInt:
      return "INT";
    case SettingType::kNumber:
      return "NUMBER";
    case SettingType::kChoice: {
      std::string choices;
      for (const auto& choice : spec.choices) choices += (choices.empty() ? "" : "|") + choice;
      return choices;
    }
    default:
      return "TEXT";
  }
}

// The JSON value of a flag as typed (its range is checked by CheckSettingValue).
Expected<json> ParseValue(const SettingSpec& spec, const std::string& text) {
  switch (spec.type) {
    case SettingType::kInt: {
      int64_t number = 0;
      auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
      if (error == std::errc::result_out_of_range) return InvalidArgument(spec.flag + " is out of range: " + text);
      if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
        return InvalidArgument(spec.flag + " must be an integer: '" + text + "'");
      }
      return json(number);
    }
    case SettingType::kNumber: {
      char* end = nullptr;
      errno = 0;
      const double number = std::strtod(text.c_str(), &end);
      if (text.empty() || end != text.c_str() + text.size()) {
        return InvalidArgument(spec.flag + " must be a number: '" + text + "'");
      }
      if (errno == ERANGE) return InvalidArgument(spec.flag + " is out of range: " + text);
      return json(number);
    }
    default:
      return json(text);
  }
}

}  // namespace

SettingsFlags::SettingsFlags(CLI::App* command, SettingsReader reader, const std::set<std::string>& leave_out) {
  for (const auto& spec : SettingsTable()) {
    if (!Accepts(reader, spec.use) || leave_out.count(spec.key)) continue;
    Flag& flag = flags_[spec.key];
    const std::string names = spec.short_flag.empty() ? spec.flag : spec.short_flag + "," + spec.flag;
    if (spec.type == SettingType::kBool) {
      flag.option = command->add_flag(names, flag.present, spec.help);
      continue;
    }
    // A default in words (a service setting's) goes into the help; a value is shown as CLI11 does.
    const bool default_in_words = !spec.read && spec.type != SettingType::kChoice;
    const std::string help = default_in_words ? spec.help + " (default: " + spec.service_default + ")" : spec.help;
    if (spec.type == SettingType::kStringMap || spec.type == SettingType::kShapeMap) {
      flag.option = command->add_option(names, flag.values, help);
    } else {
      flag.option = command->add_option(names, flag.value, help);
    }
    flag.option->type_name(TypeName(spec));
    // A switch's value flag shows the switch's value; an unset optional shows none.
    const std::string default_text = spec.switch_flag.empty() ? DefaultText(spec) : std::to_string(spec.switch_value);
    if (!default_in_words && !spec.nullable && !default_text.empty()) flag.option->default_str(default_text);
    if (!spec.switch_flag.empty()) {
      flag.switch_option = command->add_flag(spec.switch_flag, flag.present, spec.switch_help);
    }
  }
}

Expected<json> SettingsFlags::Collect() const {
  json settings = json::object();
  for (const auto& spec : SettingsTable()) {
    const auto found = flags_.find(spec.key);
    if (found == flags_.end()) continue;
    const Flag& flag = found->second;
    const bool given = flag.option->count() > 0;
    if (flag.switch_option) {
      const bool switched = flag.switch_option->count() > 0;
      if (given && !switched) return InvalidArgument(spec.flag + " needs " + spec.switch_flag);
      if (switched && !given) settings[spec.key] = spec.switch_value;
    }
    if (!given) continue;
    json value;
    if (spec.type == SettingType::kBool) {
      value = true;
    } else if (spec.type == SettingType::kStringMap || spec.type == SettingType::kShapeMap) {
      auto items = KeyValues(flag.values, spec.flag, spec.item_form);
      if (!items.ok()) return items.error();
      value = *items;
    } else {
      auto parsed = ParseValue(spec, flag.value);
      if (!parsed.ok()) return parsed.error();
      value = std::move(*parsed);
    }
    EB_RETURN_IF_ERROR(CheckSettingValue(spec, value, spec.flag));
    if (flag.switch_option && value.get<int64_t>() < 1) {
      return InvalidArgument(spec.flag + " must be at least 1 with " + spec.switch_flag);
    }
    settings[spec.key] = std::move(value);
  }
  return settings;
}

Expected<BenchSettings> SettingsFlags::BenchSettingsWithFile(const std::string& settings_file) const {
  json settings = json::object();
  if (!settings_file.empty()) {
    std::ifstream in(settings_file);
    if (!in) return NotFound(settings_file + ": cannot read the settings file");
    settings = json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (settings.is_discarded()) return InvalidArgument(settings_file + ": not valid JSON");
    if (Status valid = ValidateSettingsJson(settings, SettingsReader::kBench); !valid.ok()) {
      return InvalidArgument(settings_file + ": " + valid.error().message);
    }
  }
  auto given = Collect();
  if (!given.ok()) return given.error();
  for (const auto& [key, value] : given->items()) {
    if (value.is_object() && settings.contains(key)) {
      settings[key].update(value);
    } else {
      settings[key] = value;
    }
  }
  return SettingsFromJson(settings);
}

}  // namespace edgebench::cli
