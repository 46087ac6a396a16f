// `edgebench runtimes`: every runtime plugin loaded, with its version and capabilities, and why
// a missing one is missing (not built, module not found, refused by the loader).
#include <iostream>

#include "command.h"
#include <nlohmann/json.hpp>

#include "edgebench/json_text.h"
#include "edgebench/registry.h"
#include "edgebench/report.h"
#include "edgebench/text.h"

namespace edgebench::cli {
namespace {

std::string RuntimesText() {
  std::vector<std::vector<std::string>> rows;
  std::string notes;
  for (const auto& entry : AllBackends()) {
    if (!entry.available) {
      rows.push_back({entry.name, "-", "-", "-", "unavailable: " + entry.unavailable_reason});
      continue;
    }
    const BackendInfo info = entry.describe();
    std::vector<std::string> formats;
    for (auto format : info.formats) formats.emplace_back(ModelFormatName(format));
    std::vector<std::string> options;
    for (const auto& option : info.options) options.push_back(option.key);
    rows.push_back({info.name, info.version, Join(formats, ","), info.op_profiling ? "yes" : "no",
                    options.empty() ? "-" : "options: " + Join(options, ", ")});
    for (const auto& note : info.notes) notes += "  " + info.name + ": " + note + "\n";
  }
  std::string text = FormatTable({"runtime", "version", "formats", "op profile", "status"}, rows);
  if (!notes.empty()) text += "\nnotes:\n" + notes;
  return text + "\nplugins: " + Join(PluginDirectories(), ", ") + "\n";
}

nlohmann::json RuntimesJson() {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& entry : AllBackends()) {
    if (!entry.available) {
      list.push_back({{"name", entry.name}, {"available", false}, {"reason", entry.unavailable_reason},
                      {"plugin", entry.plugin_path.empty() ? nlohmann::json(nullptr) : nlohmann::json(entry.plugin_path)}});
      continue;
    }
    const BackendInfo info = entry.describe();
    nlohmann::json formats = nlohmann::json::array();
    for (auto format : info.formats) formats.push_back(ModelFormatName(format));
    nlohmann::json options = nlohmann::json::array();
    for (const auto& option : info.options) {
      options.push_back({{"key", option.key}, {"default", option.default_value}, {"help", option.help},
                         {"choices", option.choices}});
    }
    list.push_back({{"name", info.name}, {"available", true}, {"version", info.version},
                    {"formats", formats}, {"op_profiling", info.op_profiling},
                    {"options", options}, {"notes", info.notes}, {"plugin", entry.plugin_path}});
  }
  return {{"runtimes", list}, {"plugin_directories", PluginDirectories()}};
}

}  // namespace

void AddRuntimesCommand(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand("runtimes", "List the inference runtimes (loads every runtime plugin)");
  auto json = std::make_shared<bool>(false);
  command->add_flag("--json", *json, "Print machine-readable JSON on stdout");
  command->callback([json, &exit_code] {
    if (*json) {
      std::cout << DumpJson(RuntimesJson(), 2) << "\n";
    } else {
      std::cout << RuntimesText();
    }
    exit_code = kExitOk;
  });
}

}  // namespace edgebench::cli
