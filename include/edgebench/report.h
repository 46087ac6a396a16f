// Human-readable formatting of results. Formatting only: no arithmetic beyond unit display.
#pragma once

#include <string>
#include <vector>

#include "edgebench/registry.h"
#include "edgebench/result.h"

namespace edgebench {

// A multi-line summary of one result: model, runtime, stages, latency table, verdict.
std::string FormatResultText(const BenchResult& result);

// The `edgebench runtimes` table.
std::string FormatRuntimesText(const std::vector<BackendEntry>& entries);

// A plain-text table with a header row; columns right-aligned when `numeric[i]`.
std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows,
                        const std::vector<bool>& numeric = {});

}  // namespace edgebench
