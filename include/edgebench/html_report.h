// `edgebench report --format html`: one self-contained HTML page (inline CSS and inline SVG, no
// script, no external resource) with the latency matrix and charts over a set of results.
// Formatting only: the numbers come from report.h (BuildLatencyTable), stats.h and analysis.h.
#pragma once

#include <string>
#include <vector>

#include "edgebench/result.h"

namespace edgebench {

// The id of every chart's <svg> element, in page order; each is present even without data (the
// chart then says why it is empty).
inline constexpr const char* kHtmlChartIds[] = {"latency-distribution", "operator-breakdown",
                                                "flops-vs-latency", "runtime-comparison"};

// `text` with &, <, >, " and ' replaced by character references: safe in element content and
// in quoted attribute values.
std::string HtmlEscape(const std::string& text);

// The whole page: the latency matrix (table id "latency-table"), the latency distribution of each
// run (box plot over samples_ms), the operator time by kernel type of each profiled run, median
// latency against FLOPs per device and runtime with the least-squares line and Pearson/Spearman,
// and the median of each model on each runtime and device as grouped bars.
std::string FormatHtmlReport(const std::vector<BenchResult>& results);

}  // namespace edgebench
