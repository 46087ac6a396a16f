// `edgebench runtimes`: the backends compiled in, their versions and capabilities, and why a
// missing one is missing.
#include <iostream>

#include "command.h"
#include <nlohmann/json.hpp>

#include "edgebench/registry.h"
#include "edgebench/report.h"

namespace edgebench::cli {
namespace {

nlohmann::json RuntimesJson() {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& entry : AllBackends()) {
    if (!entry.compiled) {
      list.push_back({{"name", entry.name}, {"available", false}, {"reason", entry.unavailable_reason}});
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
                    {"options", options}, {"notes", info.notes}});
  }
  return {{"runtimes", list}};
}

}  // namespace

void AddRuntimesCommand(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand("runtimes", "List the inference runtimes in this build");
  auto json = std::make_shared<bool>(false);
  command->add_flag("--json", *json, "Print machine-readable JSON on stdout");
  command->callback([json, &exit_code] {
    if (*json) {
      std::cout << RuntimesJson().dump(2) << "\n";
    } else {
      std::cout << FormatRuntimesText(AllBackends());
    }
    exit_code = kExitOk;
  });
}

}  // namespace edgebench::cli
