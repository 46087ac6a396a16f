// Running work that may crash on hostile input (third-party parsers and shape inference) in a
// child process, so that a crash costs that work, not the process that asked for it.
#pragma once

#include <functional>
#include <string>

#include "edgebench/status.h"

namespace edgebench {

// Forks; the child runs `work` and hands its bytes back through a pipe, then exits without
// running destructors or atexit handlers. Returns those bytes, or kRuntimeError naming
// `what` and how the child ended: killed by a signal ("crashed with signal 11 (SIGSEGV)"), an
// exception from `work`, or still running after `timeout_s` seconds (then killed).
// The child is a copy of a possibly multi-threaded process: `work` must not need a lock that
// another thread may hold at the fork (the store, a server's own mutexes); allocation, file
// I/O and third-party libraries already initialised by the parent are fine, and the timeout
// covers a child that deadlocks anyway.
Expected<std::string> RunIsolated(const std::string& what, const std::function<std::string()>& work,
                                  double timeout_s);

}  // namespace edgebench
