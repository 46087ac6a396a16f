// Human-readable formatting of results. Formatting only: no arithmetic beyond unit display.
#pragma once

#include <string>
#include <vector>

#include "edgebench/analysis.h"
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

enum class TableStyle { kText, kMarkdown, kCsv };

// Paper A's Table 2 layout from any set of results: one row per model (ModelName), one column
// per runtime and device with the median latency in ms, and the model's FLOPs. Failed runs show
// "failed"; a model not measured on a column is empty.
std::string FormatLatencyTable(const std::vector<BenchResult>& results, TableStyle style);

// The `edgebench analyze` report: per device and runtime, correlations and the ranking.
std::string FormatAnalysisText(const std::vector<GroupAnalysis>& groups,
                               const std::vector<std::string>& skipped);

}  // namespace edgebench
