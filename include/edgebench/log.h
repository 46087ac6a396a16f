// The one path for what runtimes print about themselves (onnxruntime's graph warnings, TFLite's
// delegate notes, ...): a message reaches stderr only at or above the process's threshold.
// The default shows errors only; `--verbose` (or EDGEBENCH_VERBOSE=1 in the environment) shows
// warnings too.
//
// Runtime plugins hold their own copy of this threshold (each links its own core): the harness
// hands its value over in LoadRequest::log_level and a backend applies it with SetLogLevel
// before it touches its runtime.
#pragma once

#include <string_view>

namespace edgebench {

enum class LogLevel { kVerbose, kInfo, kWarning, kError };

std::string_view LogLevelName(LogLevel level);  // "verbose", "info", "warning", "error"

// kError unless SetLogLevel was called or EDGEBENCH_VERBOSE is set to a value other than "0"
// (then kWarning).
LogLevel CurrentLogLevel();
void SetLogLevel(LogLevel level);

// Whether a message of `level` is shown.
bool ShouldLog(LogLevel level);

// Writes "<source> <level>: <message>" as one line to stderr when ShouldLog(level); `message`
// loses trailing newlines.
void LogMessage(LogLevel level, std::string_view source, std::string_view message);

}  // namespace edgebench
