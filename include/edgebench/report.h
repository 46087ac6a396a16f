// Human-readable formatting of results. Formatting only: no arithmetic beyond unit display.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "edgebench/analysis.h"
#include "edgebench/comparison.h"
#include "edgebench/result.h"

namespace edgebench {

// A multi-line summary of one result: model, runtime, stages, latency table, verdict.
std::string FormatResultText(const BenchResult& result);

// A plain-text table with a header row; columns right-aligned when `numeric[i]`.
std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows,
                        const std::vector<bool>& numeric = {});

enum class TableStyle { kText, kMarkdown, kCsv };

// The rows and columns of the latency matrix, shared by every format (text, md, csv, html).
struct LatencyTable {
  struct Cell {
    bool measured = false;  // a result exists for this model and column
    bool failed = false;    // ... and it failed
    double median_ms = 0;
  };
  std::vector<std::string> models;   // ModelName, in order of first appearance
  std::vector<std::string> columns;  // "runtime (hostname)", in order of first appearance
  std::vector<std::vector<Cell>> cells;  // [model][column]
  std::vector<std::optional<double>> flops;  // per model, when a result counted them
  // The table as display strings: header ("model", columns..., "FLOPs") and one row per model.
  std::vector<std::string> HeaderCells() const;
  std::vector<std::vector<std::string>> RowCells() const;
};
inline constexpr const char* kLatencyTableNote =
    "median latency in ms; FLOPs = 2 x MACs (edgebench inspect)";

LatencyTable BuildLatencyTable(const std::vector<BenchResult>& results);

// The latency matrix of any set of results: one row per model (ModelName), one column
// per runtime and device with the median latency in ms, and the model's FLOPs. Failed runs show
// "failed"; a model not measured on a column is empty.
std::string FormatLatencyTable(const std::vector<BenchResult>& results, TableStyle style);

inline constexpr const char* kOperatorShareNote =
    "share of the summed kernel time per kernel type (edgebench bench --profile); kernels = how many ran";

// Operator shares side by side: for each model with operator profiles, its top `top_k`
// kernel types per runtime and device (the columns of the latency matrix) by share of the kernel
// time, with how many kernels of the type ran. Results without a profile are left out; for a
// column measured twice the first result counts. CSV is long format (one line per model, column
// and kernel type).
std::string FormatOperatorShareTables(const std::vector<BenchResult>& results, int top_k, TableStyle style);

inline constexpr const char* kPrecisionTableNote =
    "median latency in ms; vs fp32 = fp32 median / this median (same model, runtime and device); "
    "error = max |output - onnxruntime fp32| / max |onnxruntime fp32 output| and top-1 = argmax "
    "agreement with onnxruntime fp32, measured by the conversion on its samples on the 'checked on' "
    "runtime (tflite for TFLite files, onnxruntime for ONNX ones)";

// The precision table: one row per result whose model the server converted
// (BenchResult::conversion), and per result of such a source model run as submitted (an fp32
// row), grouped by source model, runtime and device, fp32 then fp16 then int8, with the
// latency, the speed-up over the group's fp32 row and the conversion's accuracy cost. Empty
// when no result has a conversion.
std::string FormatPrecisionTable(const std::vector<BenchResult>& results, TableStyle style);

// Milliseconds with about four significant digits, as every report shows them ("3.480").
std::string FormatMilliseconds(double ms);

// The `edgebench compare` report: one row per variant with its runtime, runs per round, median
// per-round time, and its paired ratio to the first variant with the 95% interval; then the
// verdict with its reasons and warnings.
std::string FormatComparisonText(const ComparisonResult& comparison);

// The `edgebench analyze` report: per device and runtime, correlations and the ranking.
std::string FormatAnalysisText(const std::vector<GroupAnalysis>& groups,
                               const std::vector<std::string>& skipped);

}  // namespace edgebench
