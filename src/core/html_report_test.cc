#include "edgebench/html_report.h"

#include <gtest/gtest.h>

#include "edgebench/report.h"
#include "edgebench/stats.h"

namespace edgebench {
namespace {

BenchResult Measured(const std::string& model, const std::string& runtime, const std::string& host,
                     std::vector<double> samples, std::optional<int64_t> flops) {
  BenchResult r;
  r.model.path = "/zoo/" + model;
  r.runtime_name = runtime;
  r.runtime_version = "1.0";
  r.environment.hostname = host;
  r.environment.cpu_model = "cpu";
  r.samples_ms = std::move(samples);
  r.latency_ms = ComputeLatencyStats(r.samples_ms);
  if (flops) r.model_cost = ModelCost{1'000'000, *flops / 2, *flops};
  return r;
}

std::vector<BenchResult> Results() {
  std::vector<BenchResult> results = {
      Measured("a<b>&c.onnx", "onnxruntime", "pi", {10, 11, 12, 13, 30}, 2'000'000'000),
      Measured("mobile.onnx", "onnxruntime", "pi", {1, 1.1, 1.2}, 300'000'000),
      Measured("big.onnx", "onnxruntime", "pi", {50, 52, 55}, 8'000'000'000),
      Measured("mobile.onnx", "opencv", "pi", {2, 2.5, 3}, 300'000'000)};
  results[1].profile = OpProfile{"onnxruntime profiler", 4, {}};
  results[1].profile_by_type = {{"Conv", 20, 0.8, 0.8}, {"Clip<x>", 10, 0.2, 0.2}};
  results.push_back(Measured("broken.onnx", "opencv", "pi", {}, std::nullopt));
  results.back().failure = RunFailure{"load", Unsupported("no <layer> & more")};
  return results;
}

std::size_t Count(const std::string& text, const std::string& part) {
  std::size_t count = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++count;
  return count;
}

TEST(HtmlEscape, EscapesMarkupCharacters) {
  EXPECT_EQ(HtmlEscape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
  EXPECT_EQ(HtmlEscape("plain"), "plain");
}

TEST(FormatHtmlReport, HasTheTableAndEveryChart) {
  const std::string html = FormatHtmlReport(Results());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(Count(html, "<table id=\"latency-table\">"), 1u);
  for (const char* id : kHtmlChartIds) {
    EXPECT_EQ(Count(html, std::string("<svg id=\"") + id + "\""), 1u) << id;
  }
  EXPECT_EQ(Count(html, "<svg"), Count(html, "</svg>"));
  // The table's cells come from the same rows as the text formats.
  EXPECT_NE(html.find("<td class=\"num\">1.100</td>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"num failed\">failed</td>"), std::string::npos);
  // The scatter shows the fit and the correlations of the onnxruntime group (3 models).
  EXPECT_NE(html.find("Pearson +"), std::string::npos);
  EXPECT_NE(html.find("ms/GFLOP"), std::string::npos);
  // The profiled run's kernel types are in the operator chart.
  EXPECT_NE(html.find("Conv: 20 kernels"), std::string::npos);
}

TEST(FormatHtmlReport, EscapesEveryText) {
  const std::string html = FormatHtmlReport(Results());
  EXPECT_EQ(html.find("a<b>&c"), std::string::npos);
  EXPECT_NE(html.find("a&lt;b&gt;&amp;c"), std::string::npos);
  EXPECT_EQ(html.find("Clip<x>"), std::string::npos);
  EXPECT_NE(html.find("Clip&lt;x&gt;"), std::string::npos);
  EXPECT_EQ(html.find("no <layer> & more"), std::string::npos);
  EXPECT_NE(html.find("no &lt;layer&gt; &amp; more"), std::string::npos);
}

TEST(FormatHtmlReport, IsSelfContained) {
  const std::string html = FormatHtmlReport(Results());
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
}

TEST(FormatHtmlReport, SaysWhyAChartIsEmpty) {
  const std::string html = FormatHtmlReport({Measured("m.pt", "libtorch", "pi", {1, 2, 3}, std::nullopt)});
  for (const char* id : kHtmlChartIds) {
    EXPECT_NE(html.find(std::string("<svg id=\"") + id + "\""), std::string::npos) << id;
  }
  EXPECT_NE(html.find("no run has an operator profile"), std::string::npos);
  EXPECT_NE(html.find("no successful result with FLOPs"), std::string::npos);
  const std::string empty = FormatHtmlReport({});
  EXPECT_NE(empty.find("<svg id=\"latency-distribution\""), std::string::npos);
}

TEST(BuildLatencyTable, SharesRowsWithTheTextFormats) {
  const LatencyTable table = BuildLatencyTable(Results());
  EXPECT_EQ(table.models, (std::vector<std::string>{"a<b>&c", "mobile", "big", "broken"}));
  EXPECT_EQ(table.columns, (std::vector<std::string>{"onnxruntime (pi)", "opencv (pi)"}));
  ASSERT_EQ(table.RowCells().size(), 4u);
  EXPECT_EQ(table.RowCells()[1], (std::vector<std::string>{"mobile", "1.100", "2.500", "0.300B"}));
  EXPECT_EQ(table.RowCells()[3], (std::vector<std::string>{"broken", "", "failed", ""}));
  EXPECT_TRUE(table.cells[3][1].failed);
  EXPECT_FALSE(table.cells[3][0].measured);
}

}  // namespace
}  // namespace edgebench
