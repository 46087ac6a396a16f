#include "command.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <unistd.h>

#include "edgebench/log.h"

namespace edgebench::cli {

void AddVerboseFlag(CLI::App* command) {
  command->add_flag_callback(
      "--verbose", [] { SetLogLevel(LogLevel::kWarning); },
      "Show the runtimes' own warnings on stderr (default: errors only; also EDGEBENCH_VERBOSE=1)");
}

CLI::App* SubcommandGroup(CLI::App& app, const std::string& name, const std::string& description) {
  for (CLI::App* existing : app.get_subcommands({})) {
    if (existing->get_name() == name) return existing;
  }
  CLI::App* group = app.add_subcommand(name, description);
  group->require_subcommand(1);
  return group;
}

int ExitCodeFor(const Error& error) {
  switch (error.code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kNotFound:
    case ErrorCode::kBadModel:
    case ErrorCode::kUnsupported:
      return kExitBadInput;
    case ErrorCode::kRuntimeError:
    case ErrorCode::kInternal:
      return kExitFailure;
  }
  return kExitFailure;
}

Status CheckOutputPath(const std::string& path) {
  if (path.empty() || path == "-") return OkStatus();
  const auto parent = std::filesystem::absolute(path).parent_path();
  if (!std::filesystem::is_directory(parent) || access(parent.c_str(), W_OK) != 0) {
    return InvalidArgument(path + ": cannot write (directory " + parent.string() + " missing or read-only)");
  }
  return OkStatus();
}

int ReportError(const Error& error) {
  std::cerr << "edgebench: " << error.message << "\n";
  return ExitCodeFor(error);
}

Expected<std::map<std::string, std::string>> KeyValues(const std::vector<std::string>& items, const std::string& flag,
                                                       const std::string& form) {
  std::map<std::string, std::string> values;
  for (const auto& item : items) {
    const auto equals = item.find('=');
    if (equals == std::string::npos || equals == 0) {
      return InvalidArgument("bad " + flag + " '" + item + "': expected " + form);
    }
    values[item.substr(0, equals)] = item.substr(equals + 1);
  }
  return values;
}

Status WriteOutput(const std::string& path, const std::string& content) {
  if (path == "-") {
    std::cout << content;
    std::cout.flush();
    return std::cout ? OkStatus() : Status(RuntimeError("cannot write to stdout"));
  }
  const std::string temporary = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << content;
    out.flush();
    if (!out) {
      std::remove(temporary.c_str());
      return InvalidArgument(path + ": cannot write (directory missing, read-only or disk full?)");
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    return InvalidArgument(path + ": cannot replace the file");
  }
  return OkStatus();
}

}  // namespace edgebench::cli
