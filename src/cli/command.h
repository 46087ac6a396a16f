// How subcommands plug into the `edgebench` binary: one file per subcommand defines an
// Add<Name>Command function that registers its flags on a CLI11 subcommand and sets, when the
// subcommand runs, the process exit code.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "edgebench/status.h"

namespace edgebench::cli {

// Process exit codes, the same for every subcommand (documented in `edgebench --help`).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;       // the runtime or the system failed
inline constexpr int kExitBadInput = 2;      // bad flag, model file, option, shape, runtime name
inline constexpr int kExitInvalidResult = 3; // INVALID verdict (--fail-invalid), or outputs off tolerance

int ExitCodeFor(const Error& error);

// Prints "edgebench: <message>" on stderr and returns ExitCodeFor(error).
int ReportError(const Error& error);

// Items "KEY=VALUE" of a repeatable flag as a map (a later key wins); an item without '=' or
// with an empty key is an error "bad FLAG 'ITEM': expected FORM".
Expected<std::map<std::string, std::string>> KeyValues(const std::vector<std::string>& items, const std::string& flag,
                                                       const std::string& form = "KEY=VALUE");

// Fails early, before a long run, when `path` ("" or "-" = none) could not be written.
Status CheckOutputPath(const std::string& path);

// Writes `content` to `path` ("-" = stdout) via a temporary file and a rename, so a reader
// never sees a half-written file and a failed write leaves any old file intact.
Status WriteOutput(const std::string& path, const std::string& content);

// Adds --verbose to a command that runs runtimes: their warnings reach stderr (edgebench/log.h;
// default: errors only).
void AddVerboseFlag(CLI::App* command);

// The subcommand `name` of `app` (a group such as `kernels` or `predictor` whose subcommands live
// in several files), created with `description` on first use; it requires one subcommand.
CLI::App* SubcommandGroup(CLI::App& app, const std::string& name, const std::string& description);

// The ONNX files of the zoo's models with fixed input shapes, as `edgebench zoo list` finds them
// ($EDGEBENCH_CACHE_DIR/zoo/<name>/<name>.onnx), by name; kNotFound without a zoo.
Expected<std::vector<std::string>> ZooOnnxModels();

// Each registers one subcommand on `app`; when it runs, it stores its exit code in `exit_code`.
void AddRuntimesCommand(CLI::App& app, int& exit_code);
void AddBenchCommand(CLI::App& app, int& exit_code);
void AddCompareCommand(CLI::App& app, int& exit_code);
void AddSettingsCommand(CLI::App& app, int& exit_code);
// The evaluation service (server_command.cc, agent_command.cc, client_commands.cc).
void AddServerCommand(CLI::App& app, int& exit_code);
void AddAgentCommand(CLI::App& app, int& exit_code);
// submit, job, jobs, tasks, result, devices, cancel.
void AddClientCommands(CLI::App& app, int& exit_code);
void AddInspectCommand(CLI::App& app, int& exit_code);
void AddConvertCommand(CLI::App& app, int& exit_code);
void AddZooCommand(CLI::App& app, int& exit_code);
void AddReportCommand(CLI::App& app, int& exit_code);
void AddAnalyzeCommand(CLI::App& app, int& exit_code);
// kernels generate, kernels detect (kernels_command.cc).
void AddKernelsCommands(CLI::App& app, int& exit_code);
// predictor train, predictor evaluate, predict (predictor_commands.cc).
void AddPredictorCommands(CLI::App& app, int& exit_code);
// kernels measure (kernels_measure_command.cc).
void AddKernelsMeasureCommand(CLI::App& app, int& exit_code);

}  // namespace edgebench::cli
