// `edgebench settings`: the table of bench and service settings (docs/settings.md holds it).
#include <iostream>

#include "command.h"
#include "edgebench/settings.h"

namespace edgebench::cli {

void AddSettingsCommand(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand(
      "settings", "Print the table of settings (bench flags, submit/job flags, task and result JSON keys) as markdown");
  command->callback([&exit_code] {
    std::cout << SettingsMarkdownTable();
    exit_code = kExitOk;
  });
}

}  // namespace edgebench::cli
