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
  EXPECT_NE(html.find("<td class=\"num\">1.100 ms</td>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"num failed\" title=\"INVALID: failed at load: no &lt;layer&gt; &amp; more\">"
                      "failed<sup class=\"mark\">!1</sup></td>"),
            std::string::npos)
      << html;
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
  EXPECT_EQ(table.RowCells()[1], (std::vector<std::string>{"mobile", "1.100 ms", "2.500 ms", "0.300B"}));
  EXPECT_EQ(table.RowCells()[3], (std::vector<std::string>{"broken", "", "failed !1", ""}));
  EXPECT_TRUE(table.cells[3][1].failed());
  EXPECT_FALSE(table.cells[3][0].measured());
}


// The HTML latency matrix: marked cells with a class and the reasons in a tooltip, duplicates
// counted, the verdict summary and the footnotes under the table.
TEST(FormatHtmlReport, MarksVerdictsInTheLatencyMatrix) {
  auto judged = [](const std::string& model, int threads, double median_ms, std::vector<std::string> reasons,
                   std::vector<std::string> warnings) {
    BenchResult r = Measured(model, "onnxruntime", "pi", {median_ms}, 2'000'000'000);
    r.settings.threads = threads;
    r.validity = {reasons.empty(), std::move(reasons), std::move(warnings)};
    return r;
  };
  const std::string html = FormatHtmlReport({judged("valid.onnx", 1, 2.5, {}, {}),
                                             judged("invalid.onnx", 1, 14.08, {"too few runs", "CV <high>"}, {}),
                                             judged("warned.onnx", 1, 0.8753, {}, {"governor unknown"}),
                                             judged("valid.onnx", 2, 1.5, {}, {}),
                                             judged("dup.onnx", 1, 1000, {}, {}),
                                             judged("dup.onnx", 1, 1200, {"too few runs"}, {}),
                                             judged("dup.onnx", 1, 1100, {}, {})});
  EXPECT_NE(html.find("<th class=\"num\">onnxruntime t=1 (pi)</th><th class=\"num\">onnxruntime t=2 (pi)</th>"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<td class=\"num invalid\" title=\"INVALID: too few runs; CV &lt;high&gt;\">14.08 ms"
                      "<sup class=\"mark\">!1,2</sup></td>"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<td class=\"num warned\" title=\"warning: governor unknown\">875.3 us"
                      "<sup class=\"mark\">~1</sup></td>"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<td class=\"num invalid\" title=\"INVALID: too few runs\">1.100 s <small>n=3</small>"
                      "<sup class=\"mark\">!1</sup></td>"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<p class=\"verdicts\">5 of 7 results valid; 2 INVALID (!), 1 with warnings (~)</p>\n"
                      "<ul class=\"footnotes\">\n"
                      "<li class=\"invalid\"><b>!1</b> INVALID: too few runs</li>\n"
                      "<li class=\"invalid\"><b>!2</b> INVALID: CV &lt;high&gt;</li>\n"
                      "<li class=\"warned\"><b>~1</b> warning: governor unknown</li>\n"
                      "</ul>\n"),
            std::string::npos)
      << html;
  // INVALID points are hollow in the scatter and out of its fit.
  EXPECT_NE(html.find("INVALID left out (hollow)"), std::string::npos);
  EXPECT_NE(html.find("<circle class=\"invalid\""), std::string::npos);
}

}  // namespace
}  // namespace edgebench
