// Human-readable formatting of results. Formatting only: no arithmetic beyond unit display.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "edgebench/analysis.h"
#include "edgebench/comparison.h"
#include "edgebench/result.h"

namespace edgebench {

// A multi-line summary of one result: model, runtime, device, stages, latency table, verdict; the
// median line carries the verdict's mark ("!1", "~1") and the verdict lists the footnotes.
std::string FormatResultText(const BenchResult& result);

// A plain-text table with a header row; columns right-aligned when `numeric[i]`.
std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows,
                        const std::vector<bool>& numeric = {});

enum class TableStyle { kText, kMarkdown, kCsv };

// A duration given in milliseconds, auto-scaled to ns, us, ms or s, with four significant digits
// and its unit: "875.3 us", "14.08 ms", "1.235 s". Every report shows times this way.
std::string FormatDuration(double ms);

// The verdict markers of a table's figures and their footnotes: each distinct reason of an
// INVALID figure ("!") and each distinct warning ("~") numbered once, in order of first use.
class VerdictNotes {
 public:
  // The marker of one figure: "" when valid without warnings, else "!1,2" (its reasons; "!" when
  // INVALID without a reason) and/or "~1" (its warnings), space-separated.
  std::string Mark(bool valid, const std::vector<std::string>& reasons, const std::vector<std::string>& warnings);
  bool empty() const { return reasons_.empty() && warnings_.empty(); }
  const std::vector<std::string>& reasons() const { return reasons_; }
  const std::vector<std::string>& warnings() const { return warnings_; }
  // One line per footnote, "!1  reason" then "~1  warning" (Markdown: escaped, one paragraph
  // each); "" when there are none.
  std::string Footnotes(TableStyle style) const;

 private:
  std::vector<std::string> reasons_, warnings_;
};

// How many results are valid, INVALID, failed (no figure) and with warnings (valid or not).
struct VerdictCounts {
  std::size_t results = 0, valid = 0, invalid = 0, failed = 0, warned = 0;
};
VerdictCounts CountVerdicts(const std::vector<BenchResult>& results);
// "18 of 20 results valid; 2 INVALID (!), 3 with warnings (~)" (and ", 1 failed").
std::string VerdictSummary(const VerdictCounts& counts);

// The results that are valid (no failure, BenchResult::validity.valid): `--only-valid`.
std::vector<BenchResult> OnlyValid(const std::vector<BenchResult>& results);

// The rows and columns of the latency matrix, shared by every format (text, md, csv, html).
// Rows are models, columns TimingIdentity without the model (IdentityLabels names them by what
// differs); exact duplicates (same model and identity) are one cell (GroupDuplicates).
struct LatencyTable {
  struct Cell {
    std::size_t results = 0;    // results in the cell (0 = not measured)
    std::size_t succeeded = 0;  // ... that did not fail
    double median_ms = 0;       // median of the succeeded results' medians
    bool valid = true;          // every result valid, none failed
    std::vector<std::string> reasons, warnings;  // theirs, distinct
    std::string mark;           // VerdictNotes::Mark
    bool measured() const { return results > 0; }
    bool failed() const { return results > 0 && succeeded == 0; }
  };
  std::vector<std::string> models;   // ModelName, in order of first appearance
  std::vector<std::string> columns;  // IdentityLabels, in order of first appearance
  std::vector<std::vector<IdentityPart>> identities;  // per column
  std::vector<std::vector<Cell>> cells;  // [model][column]
  std::vector<std::optional<double>> flops;  // per model, when a result counted them
  VerdictNotes notes;    // the footnotes of the cells' marks
  VerdictCounts counts;  // over the results
  // The table as display strings: header ("model", columns..., "FLOPs") and one row per model;
  // a cell is "14.08 ms", "8.740 ms n=3" (duplicates), then its mark ("14.08 ms !1 ~2"), or
  // "failed".
  std::vector<std::string> HeaderCells() const;
  std::vector<std::vector<std::string>> RowCells() const;
};
inline constexpr const char* kLatencyTableNote =
    "median latency; n=K: the median of K results with the same model and settings; "
    "FLOPs = 2 x MACs (edgebench inspect)";

LatencyTable BuildLatencyTable(const std::vector<BenchResult>& results);

// The latency matrix of any set of results: one row per model (ModelName), one column per
// runtime, device and timing settings (TimingIdentity) with the median latency, and the model's
// FLOPs. Failed runs show "failed"; a model not measured on a column is empty. Text and Markdown
// follow the table with the verdict summary, the footnotes of the marks and the note; CSV is long
// format, one line per cell: model, column, runtime, runtime_version, device, threads, precision,
// n, median_ms (numeric), valid, reasons, warnings (each "; "-joined), flops.
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
    "median latency; vs fp32 = fp32 median / this median (same model, runtime and device); "
    "error = max |output - onnxruntime fp32| / max |onnxruntime fp32 output| and top-1 = argmax "
    "agreement with onnxruntime fp32, measured by the conversion on its samples on the 'checked on' "
    "runtime (tflite for TFLite files, onnxruntime for ONNX ones)";

// The precision table: one row per result whose model the server converted
// (BenchResult::conversion), and per result of such a source model run as submitted (an fp32
// row), grouped by source model and TimingIdentity without the precision, fp32 then fp16 then
// int8, with the latency (duplicates aggregated and marked as in the latency matrix), the
// speed-up over the group's fp32 row and the conversion's accuracy cost. CSV: numbers without
// units (median_ms, vs_fp32) and the verdict in valid, reasons, warnings. Empty when no result
// has a conversion.
std::string FormatPrecisionTable(const std::vector<BenchResult>& results, TableStyle style);

// The `edgebench compare` report: one row per variant with its runtime, runs per round, median
// per-round time, and its paired ratio to the first variant with the 95% interval; then the
// verdict with its reasons and warnings.
std::string FormatComparisonText(const ComparisonResult& comparison);

// The `edgebench analyze` report: the verdict summary of the analysed results (`counts`), then
// per TimingIdentity the correlations and the ranking, each point marked as in the latency
// matrix, the INVALID points left out, and the footnotes.
std::string FormatAnalysisText(const std::vector<GroupAnalysis>& groups,
                               const std::vector<std::string>& skipped, const VerdictCounts& counts);

}  // namespace edgebench
