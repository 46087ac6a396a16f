// The flags of the settings table (edgebench/settings.h) on a subcommand: `bench` registers those
// SettingsReader::kBench reads, `submit` and `job` those the service reads.
#pragma once

#include <map>
#include <set>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "edgebench/settings.h"

namespace edgebench::cli {

class SettingsFlags {
 public:
  // Registers one flag per setting `reader` accepts (and its switch flag, if any), except the
  // keys in `leave_out` (a command that takes them its own way).
  SettingsFlags(CLI::App* command, SettingsReader reader, const std::set<std::string>& leave_out = {});
  SettingsFlags(const SettingsFlags&) = delete;
  SettingsFlags& operator=(const SettingsFlags&) = delete;

  // After parsing: the settings object of the flags given (flags not given are left out),
  // checked against the table; errors name the flag.
  Expected<nlohmann::json> Collect() const;

  // The settings of a SettingsReader::kBench command: those of the JSON file `settings_file`
  // ("" = none; checked against the table), overridden by the flags given (a map setting item by
  // item).
  Expected<BenchSettings> BenchSettingsWithFile(const std::string& settings_file) const;

 private:
  struct Flag {
    CLI::Option* option = nullptr;
    CLI::Option* switch_option = nullptr;
    std::string value;                // as typed
    std::vector<std::string> values;  // map settings: one per item
    bool present = false;             // kBool flags and switches
  };
  std::map<std::string, Flag> flags_;  // by key; nodes stay put for CLI11's references
};

}  // namespace edgebench::cli
