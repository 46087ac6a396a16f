#include "edgebench/log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace edgebench {
namespace {

LogLevel InitialLevel() {
  const char* verbose = std::getenv("EDGEBENCH_VERBOSE");
  return verbose && *verbose && std::string_view(verbose) != "0" ? LogLevel::kWarning : LogLevel::kError;
}

std::atomic<LogLevel>& Threshold() {
  static std::atomic<LogLevel> threshold{InitialLevel()};
  return threshold;
}

}  // namespace

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kVerbose: return "verbose";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
  }
  return "error";
}

LogLevel CurrentLogLevel() { return Threshold().load(); }

void SetLogLevel(LogLevel level) { Threshold().store(level); }

bool ShouldLog(LogLevel level) { return level >= CurrentLogLevel(); }

void LogMessage(LogLevel level, std::string_view source, std::string_view message) {
  if (!ShouldLog(level)) return;
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) message.remove_suffix(1);
  const std::string line =
      std::string(source) + " " + std::string(LogLevelName(level)) + ": " + std::string(message) + "\n";
  std::fputs(line.c_str(), stderr);
}

}  // namespace edgebench
