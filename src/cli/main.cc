// The `edgebench` binary: one CLI11 app, one file per subcommand (see command.h).
#include <signal.h>

#include <iostream>

#include "command.h"
#include "edgebench/version.h"

int main(int argc, char** argv) {
  using namespace edgebench::cli;
  // A peer that closes a connection early (a server refusing an upload, a client gone) is an
  // error the command reports, not a signal that kills it.
  signal(SIGPIPE, SIG_IGN);
  CLI::App app{"edgebench: how fast a neural network really runs on this device and runtime"};
  app.set_version_flag("--version", std::string("edgebench ") + edgebench::kVersion + " (" +
                                        edgebench::kGitCommit + ")");
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 ok; 1 the runtime or system failed; 2 bad input (flag, model file, option,\n"
      "shape, runtime name); 3 measured but INVALID (with --fail-invalid) or outputs above --verify-tolerance.\n"
      "Run 'edgebench COMMAND --help' for a command's options.");
  int exit_code = kExitOk;
  AddRuntimesCommand(app, exit_code);
  AddBenchCommand(app, exit_code);
  AddCompareCommand(app, exit_code);
  AddSettingsCommand(app, exit_code);
  AddServerCommand(app, exit_code);
  AddAgentCommand(app, exit_code);
  AddClientCommands(app, exit_code);
  AddInspectCommand(app, exit_code);
  AddConvertCommand(app, exit_code);
  AddZooCommand(app, exit_code);
  AddReportCommand(app, exit_code);
  AddAnalyzeCommand(app, exit_code);
  AddKernelsCommands(app, exit_code);
  AddKernelsMeasureCommand(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int cli_code = app.exit(error);  // prints help, version or the parse error
    return cli_code == 0 ? kExitOk : kExitBadInput;
  }
  return exit_code;
}
