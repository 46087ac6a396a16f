#include "edgebench/html_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "edgebench/analysis.h"
#include "edgebench/report.h"
#include "edgebench/stats.h"
#include "edgebench/text.h"

namespace edgebench {
namespace {

// Page geometry in CSS pixels: every chart is kChartWidth wide, labels on the left.
constexpr double kChartWidth = 1100;
constexpr double kLabelWidth = 330;  // room for "model · runtime (host)"
constexpr double kPlotLeft = kLabelWidth + 10;
constexpr double kPlotRight = kChartWidth - 130;  // room for a value label on the right
constexpr std::size_t kLabelChars = 48;           // longer labels are cut, the full text in <title>
constexpr std::size_t kKernelTypesColored = 9;    // the rest of the kernel types are "other"

// Categorical colours (Tableau 10), and the grey of "other".
constexpr const char* kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#86bcb6"};
constexpr const char* kOtherColor = "#bab0ac";
constexpr std::size_t kPaletteSize = sizeof kPalette / sizeof kPalette[0];

std::string Color(std::size_t index) { return kPalette[index % kPaletteSize]; }

std::string Printf(const char* format, double value) {
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

// An SVG coordinate.
std::string Px(double value) { return Printf("%.1f", value); }

std::string Cut(const std::string& label) {
  return label.size() <= kLabelChars ? label : label.substr(0, kLabelChars - 1) + "\u2026";
}

std::string Text(double x, double y, const std::string& text, const std::string& attributes = "") {
  return "<text x=\"" + Px(x) + "\" y=\"" + Px(y) + "\"" + (attributes.empty() ? "" : " " + attributes) +
         ">" + HtmlEscape(text) + "</text>\n";
}

std::string Title(const std::string& text) { return "<title>" + HtmlEscape(text) + "</title>"; }

std::string Rect(double x, double y, double width, double height, const std::string& fill,
                 const std::string& tooltip = "", const std::string& attributes = "") {
  return "<rect x=\"" + Px(x) + "\" y=\"" + Px(y) + "\" width=\"" + Px(std::max(width, 0.0)) +
         "\" height=\"" + Px(height) + "\" fill=\"" + fill + "\"" +
         (attributes.empty() ? "" : " " + attributes) + ">" + (tooltip.empty() ? "" : Title(tooltip)) +
         "</rect>\n";
}

std::string Line(double x1, double y1, double x2, double y2, const std::string& attributes) {
  return "<line x1=\"" + Px(x1) + "\" y1=\"" + Px(y1) + "\" x2=\"" + Px(x2) + "\" y2=\"" + Px(y2) +
         "\" " + attributes + "/>\n";
}

std::string SvgOpen(const std::string& id, double height, const std::string& label) {
  return "<svg id=\"" + id + "\" class=\"chart\" role=\"img\" aria-label=\"" + HtmlEscape(label) +
         "\" viewBox=\"0 0 " + Px(kChartWidth) + " " + Px(height) + "\" width=\"" + Px(kChartWidth) +
         "\" height=\"" + Px(height) + "\">\n";
}

// An empty chart that says why it is empty.
std::string EmptyChart(const std::string& id, const std::string& reason) {
  return SvgOpen(id, 50, reason) + Text(20, 30, reason, "class=\"empty\"") + "</svg>\n";
}

// A value axis for values in [low, high] mapped onto [left, right]: logarithmic when `may_be_log`
// and the values span more than a factor of 20, else linear from zero.
class Axis {
 public:
  Axis(double low, double high, double left, double right, bool may_be_log) : left_(left), right_(right) {
    low = std::max(low, 1e-9);
    high = std::max(high, low * 1.0001);
    log_ = may_be_log && high / low > 20;
    if (log_) {
      low_ = std::pow(10, std::floor(std::log10(low)));
      high_ = std::pow(10, std::ceil(std::log10(high)));
    } else {
      low_ = 0;
      high_ = NiceStep(high / 5) * std::ceil(high / NiceStep(high / 5));
    }
  }

  double operator()(double value) const {
    if (log_) {
      const double v = std::log10(std::max(value, low_));
      return left_ + (right_ - left_) * (v - std::log10(low_)) / (std::log10(high_) - std::log10(low_));
    }
    return left_ + (right_ - left_) * (value - low_) / (high_ - low_);
  }

  bool log() const { return log_; }

  std::vector<double> Ticks() const {
    std::vector<double> ticks;
    if (log_) {
      for (double decade = low_; decade <= high_ * 1.0001; decade *= 10) {
        for (double factor : {1.0, 2.0, 5.0}) {
          if (decade * factor <= high_ * 1.0001) ticks.push_back(decade * factor);
        }
      }
    } else {
      const double step = NiceStep(high_ / 5);
      for (double tick = 0; tick <= high_ * 1.0001; tick += step) ticks.push_back(tick);
    }
    return ticks;
  }

 private:
  // 1, 2 or 5 times a power of ten, at least `raw`.
  static double NiceStep(double raw) {
    if (raw <= 0) return 1;
    const double power = std::pow(10, std::floor(std::log10(raw)));
    for (double factor : {1.0, 2.0, 5.0, 10.0}) {
      if (factor * power >= raw) return factor * power;
    }
    return 10 * power;
  }

  double left_, right_;
  double low_ = 0, high_ = 1;
  bool log_ = false;
};

std::string TickLabel(double value) {
  if (value == 0) return "0";
  if (value >= 1000) return Printf("%.0f", value);
  if (value >= 1) return Printf("%g", value);
  return Printf("%g", value);
}

// Vertical grid lines with labels under a horizontal value axis.
std::string HorizontalAxis(const Axis& axis, double top, double bottom, const std::string& unit) {
  std::string svg;
  for (double tick : axis.Ticks()) {
    const double x = axis(tick);
    svg += Line(x, top, x, bottom, "class=\"grid\"");
    svg += Text(x, bottom + 16, TickLabel(tick), "text-anchor=\"middle\" class=\"tick\"");
  }
  svg += Text((kPlotLeft + kPlotRight) / 2, bottom + 34, unit + (axis.log() ? " (log scale)" : ""),
              "text-anchor=\"middle\" class=\"axis-title\"");
  return svg;
}

using Labels = std::map<std::string, std::string>;  // ColumnLabels

std::string RunLabel(const BenchResult& r, const Labels& labels) {
  return ModelName(r.model.path) + " \u00b7 " + labels.at(IdentityKey(TimingIdentity(r)));
}

// The tooltip of a figure's verdict: "INVALID: reason; reason", "warning: ...", "" when clean.
std::string VerdictTooltip(bool valid, const std::vector<std::string>& reasons,
                           const std::vector<std::string>& warnings) {
  std::string text;
  if (!valid) text = "INVALID: " + (reasons.empty() ? std::string("see the result document") : Join(reasons, "; "));
  if (!warnings.empty()) text += (text.empty() ? "" : "\n") + std::string("warning: ") + Join(warnings, "; ");
  return text;
}

// The CSS class of a figure's verdict: "invalid", "warned" or "".
std::string VerdictClass(bool valid, const std::vector<std::string>& warnings) {
  return !valid ? "invalid" : warnings.empty() ? "" : "warned";
}

std::string RowLabel(double y, const std::string& label) {
  return "<text x=\"" + Px(kLabelWidth) + "\" y=\"" + Px(y) + "\" text-anchor=\"end\" class=\"label\">" +
         Title(label) + HtmlEscape(Cut(label)) + "</text>\n";
}

// Box plot per run over its samples: whiskers min..max, box p25..p75, the median, every sample.
// Runs differ by orders of magnitude, so each row has its own linear scale from its fastest to
// its slowest run (labelled under the whiskers); the comparison chart compares medians.
std::string LatencyDistributionChart(const std::vector<BenchResult>& results, const Labels& labels) {
  const char* id = kHtmlChartIds[0];
  if (results.empty()) return EmptyChart(id, "no results");
  constexpr double kRow = 46, kTop = 6;
  const double bottom = kTop + kRow * results.size();
  std::string svg = SvgOpen(id, bottom + 6, "latency distribution per run");
  for (std::size_t i = 0; i < results.size(); ++i) {
    const BenchResult& r = results[i];
    const double middle = kTop + kRow * i + 16;
    if (i) svg += Line(20, kTop + kRow * i - 4, kChartWidth - 20, kTop + kRow * i - 4, "class=\"grid\"");
    svg += RowLabel(middle + 4, RunLabel(r, labels));
    if (r.failure || r.samples_ms.empty()) {
      svg += Text(kPlotLeft + 4, middle + 4,
                  r.failure ? "failed at " + r.failure->stage + ": " + r.failure->error.message : "no samples",
                  "class=\"failed\"");
      continue;
    }
    std::vector<double> sorted = r.samples_ms;
    std::sort(sorted.begin(), sorted.end());
    const double p25 = Percentile(sorted, 25), p75 = Percentile(sorted, 75);
    const auto& l = r.latency_ms;
    // The row's scale: min and max 5% inside the plot's ends.
    const double span = l.max > l.min ? l.max - l.min : std::max(l.max, 1e-6) * 0.01;
    const double width = kPlotRight - kPlotLeft;
    auto x = [&](double ms) { return kPlotLeft + width * (0.05 + 0.9 * (ms - l.min) / span); };
    const std::string color = Color(i);
    svg += "<g class=\"box\">" +
           Title(RunLabel(r, labels) + ": " + std::to_string(sorted.size()) + " runs, min " +
                 FormatDuration(l.min) + ", p25 " + FormatDuration(p25) + ", median " + FormatDuration(l.p50) +
                 ", p75 " + FormatDuration(p75) + ", p99 " + FormatDuration(l.p99) + ", max " +
                 FormatDuration(l.max)) +
           "\n";
    svg += Line(x(l.min), middle, x(l.max), middle, "stroke=\"#555\" stroke-width=\"1\"");
    svg += Line(x(l.min), middle - 6, x(l.min), middle + 6, "stroke=\"#555\" stroke-width=\"1\"");
    svg += Line(x(l.max), middle - 6, x(l.max), middle + 6, "stroke=\"#555\" stroke-width=\"1\"");
    svg += Rect(x(p25), middle - 9, x(p75) - x(p25), 18, color, "",
                "fill-opacity=\"0.3\" stroke=\"" + color + "\"");
    for (std::size_t s = 0; s < r.samples_ms.size(); ++s) {
      // Deterministic jitter so that equal samples do not hide each other.
      const double jitter = (static_cast<double>((s * 7919) % 13) / 12.0 - 0.5) * 12;
      svg += "<circle cx=\"" + Px(x(r.samples_ms[s])) + "\" cy=\"" + Px(middle + jitter) +
             "\" r=\"2.2\" fill=\"" + color + "\" fill-opacity=\"0.7\"/>";
    }
    svg += "\n" + Line(x(l.p50), middle - 11, x(l.p50), middle + 11, "stroke=\"#222\" stroke-width=\"2.5\"");
    svg += "</g>\n";
    svg += Text(x(l.min), middle + 24, FormatDuration(l.min), "text-anchor=\"middle\" class=\"tick\"");
    svg += Text(x(l.max), middle + 24, FormatDuration(l.max), "text-anchor=\"middle\" class=\"tick\"");
    svg += Text(kPlotRight + 10, middle + 4, "p50 " + FormatDuration(l.p50) + (r.validity.valid ? "" : " !"),
                "class=\"value" + std::string(r.validity.valid ? "" : " invalid") + "\"");
    svg += Text(kPlotRight + 10, middle + 19, Printf("CV %.1f%%", 100 * l.cv), "class=\"tick\"");
  }
  return svg + "</svg>\n";
}

// 100% stacked bar per profiled run: the share of operator time of each kernel type.
std::string OperatorBreakdownChart(const std::vector<BenchResult>& results, const Labels& labels) {
  const char* id = kHtmlChartIds[1];
  std::vector<const BenchResult*> profiled;
  std::map<std::string, double> share_sum;
  for (const auto& r : results) {
    if (!r.profile || r.profile_by_type.empty()) continue;
    profiled.push_back(&r);
    for (const auto& type : r.profile_by_type) share_sum[type.kernel_type] += type.share;
  }
  if (profiled.empty()) return EmptyChart(id, "no run has an operator profile (bench --profile)");
  // Colours by the kernel types' summed share over all runs, the same colour in every bar.
  std::vector<std::pair<std::string, double>> types(share_sum.begin(), share_sum.end());
  std::stable_sort(types.begin(), types.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::map<std::string, std::string> colors;
  for (std::size_t i = 0; i < types.size() && i < kKernelTypesColored; ++i) colors[types[i].first] = Color(i);
  const bool has_other = types.size() > kKernelTypesColored;

  constexpr double kRow = 34, kTop = 10;
  const double bottom = kTop + kRow * profiled.size();
  const std::size_t legend_items = colors.size() + (has_other ? 1 : 0);
  const double legend_rows = std::ceil(legend_items / 5.0);
  const double height = bottom + 30 + 22 * legend_rows;
  std::string svg = SvgOpen(id, height, "operator time by kernel type per profiled run");
  const Axis axis(0, 100, kPlotLeft, kPlotRight, /*may_be_log=*/false);
  svg += HorizontalAxis(axis, kTop, bottom, "share of operator time (%)");
  for (std::size_t i = 0; i < profiled.size(); ++i) {
    const BenchResult& r = *profiled[i];
    const double top = kTop + kRow * i + 6, middle = kTop + kRow * i + kRow / 2;
    svg += RowLabel(middle + 4, RunLabel(r, labels));
    double x = kPlotLeft, total_ms = 0, other_share = 0, other_ms = 0;
    int other_kernels = 0;
    auto segment = [&](const std::string& name, double share, double ms, int64_t kernels,
                       const std::string& color) {
      const double width = (kPlotRight - kPlotLeft) * share;
      svg += Rect(x, top, width, kRow - 12, color,
                  name + ": " + std::to_string(kernels) + " kernels, " + FormatDuration(ms) +
                      "/inference, " + Printf("%.1f%%", 100 * share),
                  "stroke=\"#fff\" stroke-width=\"0.5\"");
      if (width > 44) {
        svg += Text(x + width / 2, middle + 4, Printf("%.0f%%", 100 * share),
                    "text-anchor=\"middle\" class=\"in-bar\"");
      }
      x += width;
    };
    for (const auto& type : r.profile_by_type) {
      total_ms += type.ms_per_inference;
      auto color = colors.find(type.kernel_type);
      if (color == colors.end()) {
        other_share += type.share;
        other_ms += type.ms_per_inference;
        other_kernels += static_cast<int>(type.kernels);
        continue;
      }
      segment(type.kernel_type, type.share, type.ms_per_inference, type.kernels, color->second);
    }
    if (other_share > 0) segment("other kernel types", other_share, other_ms, other_kernels, kOtherColor);
    svg += Text(kPlotRight + 10, middle + 4, FormatDuration(total_ms) + "/inf.", "class=\"value\"");
  }
  // Legend, five items a row.
  std::size_t item = 0;
  auto legend = [&](const std::string& name, const std::string& color) {
    const double x = kPlotLeft + 150 * (item % 5) - 120, y = bottom + 48 + 22 * (item / 5);
    svg += Rect(x, y - 10, 12, 12, color) + Text(x + 17, y, Cut(name).substr(0, 22), "class=\"legend\"");
    ++item;
  };
  for (std::size_t i = 0; i < types.size() && i < kKernelTypesColored; ++i) legend(types[i].first, Color(i));
  if (has_other) legend("other", kOtherColor);
  return svg + "</svg>\n";
}

std::string Correlation(const std::optional<double>& value) {
  return value ? Printf("%+.2f", *value) : "n/a";
}

// Median latency against FLOPs, one colour per device and runtime, with each group's
// least-squares line and correlations.
std::string FlopsScatterChart(const std::vector<GroupAnalysis>& groups) {
  const char* id = kHtmlChartIds[2];
  if (groups.empty()) return EmptyChart(id, "no successful result with FLOPs (ONNX models)");
  double max_gflops = 0, max_ms = 0;
  for (const auto& g : groups) {
    for (const auto* points : {&g.points, &g.left_out}) {
      for (const auto& p : *points) {
        max_gflops = std::max(max_gflops, p.flops / 1e9);
        max_ms = std::max(max_ms, p.latency_ms);
      }
    }
  }
  constexpr double kLeft = 90, kRight = kChartWidth - 40, kTop = 20, kPlotHeight = 380;
  const double bottom = kTop + kPlotHeight;
  // Linear axes from zero: a straight line on them is the least-squares fit.
  const Axis x_axis(0, max_gflops * 1.05, kLeft, kRight, /*may_be_log=*/false);
  const Axis y_axis(0, max_ms * 1.05, bottom, kTop, /*may_be_log=*/false);
  const double height = bottom + 56 + 22 * groups.size();
  std::string svg = SvgOpen(id, height, "median latency against FLOPs per runtime and device");
  for (double tick : x_axis.Ticks()) {
    svg += Line(x_axis(tick), kTop, x_axis(tick), bottom, "class=\"grid\"");
    svg += Text(x_axis(tick), bottom + 16, TickLabel(tick), "text-anchor=\"middle\" class=\"tick\"");
  }
  for (double tick : y_axis.Ticks()) {
    svg += Line(kLeft, y_axis(tick), kRight, y_axis(tick), "class=\"grid\"");
    svg += Text(kLeft - 6, y_axis(tick) + 4, TickLabel(tick), "text-anchor=\"end\" class=\"tick\"");
  }
  svg += Text((kLeft + kRight) / 2, bottom + 34, "GFLOPs per inference",
              "text-anchor=\"middle\" class=\"axis-title\"");
  svg += "<text transform=\"translate(24 " + Px((kTop + bottom) / 2) +
         ") rotate(-90)\" text-anchor=\"middle\" class=\"axis-title\">median latency (ms)</text>\n";
  svg += "<rect x=\"" + Px(kLeft) + "\" y=\"" + Px(kTop) + "\" width=\"" + Px(kRight - kLeft) + "\" height=\"" +
         Px(kPlotHeight) + "\" fill=\"none\" stroke=\"#ccc\"/>\n";
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const GroupAnalysis& g = groups[i];
    const std::string color = Color(i);
    svg += "<g class=\"group\">\n";
    if (g.fit_flops) {
      // The fitted line over the group's own FLOPs range, clipped to the plot.
      double from = g.points.front().flops, to = from;
      for (const auto& p : g.points) from = std::min(from, p.flops), to = std::max(to, p.flops);
      auto y_at = [&](double flops) {
        return std::clamp(g.fit_flops->intercept + g.fit_flops->slope * flops, 0.0, max_ms * 1.05);
      };
      svg += Line(x_axis(from / 1e9), y_axis(y_at(from)), x_axis(to / 1e9), y_axis(y_at(to)),
                  "stroke=\"" + color + "\" stroke-width=\"2\" stroke-dasharray=\"6 4\"");
    }
    for (const auto& p : g.points) {
      const double x = x_axis(p.flops / 1e9), y = y_axis(p.latency_ms);
      svg += "<circle cx=\"" + Px(x) + "\" cy=\"" + Px(y) + "\" r=\"5\" fill=\"" + color +
             "\" stroke=\"#fff\">" +
             Title(p.model + ": " + Printf("%.3f", p.flops / 1e9) + " GFLOPs, " + FormatDuration(p.latency_ms) +
                   (p.results > 1 ? " (median of " + std::to_string(p.results) + " results)" : "") + " (" +
                   g.label + ", " + g.runtime + " on " + g.device + ")") +
             "</circle>\n";
      svg += Text(x + 7, y - 6, Cut(p.model), "class=\"point-label\"");
    }
    // INVALID points: hollow, marked, outside the fit.
    for (const auto& p : g.left_out) {
      const double x = x_axis(p.flops / 1e9), y = y_axis(std::min(p.latency_ms, max_ms * 1.05));
      svg += "<circle class=\"invalid\" cx=\"" + Px(x) + "\" cy=\"" + Px(y) + "\" r=\"5\" fill=\"none\" stroke=\"" +
             color + "\" stroke-width=\"2\">" +
             Title(p.model + ": " + FormatDuration(p.latency_ms) + " (" + g.label + "), " +
                   VerdictTooltip(false, p.reasons, p.warnings) + "; left out of the fit") +
             "</circle>\n";
      svg += Text(x + 7, y - 6, Cut(p.model) + " !", "class=\"point-label invalid\"");
    }
    svg += "</g>\n";
    const double y = bottom + 62 + 22 * i;
    std::string fit = "no fit (fewer than 2 models)";
    if (g.fit_flops) {
      fit = "fit: " + Printf("%.3g", g.fit_flops->slope * 1e9) + " ms/GFLOP " +
            (g.fit_flops->intercept < 0 ? "\u2212 " : "+ ") +
            FormatDuration(std::abs(g.fit_flops->intercept));
    }
    svg += Rect(kLeft, y - 10, 12, 12, color);
    svg += Text(kLeft + 18, y, g.label + ", " + g.runtime + " on " + g.device + " (" +
                                   std::to_string(g.points.size()) + " models" +
                                   (g.left_out.empty() ? ""
                                                       : "; " + std::to_string(g.left_out.size()) +
                                                             " INVALID left out (hollow)") +
                                   "): Pearson " + Correlation(g.pearson_flops) + ", Spearman " +
                                   Correlation(g.spearman_flops) + "; " + fit,
                "class=\"legend\"");
  }
  return svg + "</svg>\n";
}

// Grouped bars: per model, the median on each runtime and device (a column of the table).
std::string RuntimeComparisonChart(const LatencyTable& table) {
  const char* id = kHtmlChartIds[3];
  double low = 0, high = 0;
  bool any = false;
  std::size_t bars = 0;
  for (const auto& row : table.cells) {
    for (const auto& cell : row) {
      if (!cell.measured()) continue;
      ++bars;
      if (cell.failed()) continue;
      low = any ? std::min(low, cell.median_ms) : cell.median_ms;
      high = any ? std::max(high, cell.median_ms) : cell.median_ms;
      any = true;
    }
  }
  if (!any) return EmptyChart(id, "no successful run to compare");
  constexpr double kBar = 16, kGap = 12, kTop = 10;
  const double bottom = kTop + kBar * bars + kGap * table.models.size();
  const double legend_rows = std::ceil(table.columns.size() / 3.0);
  std::string svg =
      SvgOpen(id, bottom + 48 + 22 * legend_rows, "median latency per model on each runtime and device");
  // Bars start at the axis origin; a log axis starts at the decade below the fastest run.
  const Axis axis(low, high, kPlotLeft, kPlotRight, /*may_be_log=*/true);
  svg += HorizontalAxis(axis, kTop, bottom, "median latency (ms)");
  double y = kTop + kGap / 2;
  for (std::size_t m = 0; m < table.models.size(); ++m) {
    const double group_top = y;
    std::size_t in_group = 0;
    for (std::size_t c = 0; c < table.columns.size(); ++c) {
      const auto& cell = table.cells[m][c];
      if (!cell.measured()) continue;
      const std::string verdict = VerdictTooltip(cell.valid, cell.reasons, cell.warnings);
      const std::string tooltip = table.models[m] + " on " + table.columns[c] + ": " +
                                  (cell.failed() ? "failed" : FormatDuration(cell.median_ms)) +
                                  (verdict.empty() ? "" : "\n" + verdict);
      if (cell.failed()) {
        svg += Text(kPlotLeft + 4, y + kBar - 4, "failed (" + table.columns[c] + ")", "class=\"failed\"");
      } else {
        const double right = axis(cell.median_ms);
        // An INVALID figure is a pale bar with its mark.
        svg += Rect(kPlotLeft, y + 1, right - kPlotLeft, kBar - 2, Color(c), tooltip,
                    cell.valid ? "" : "fill-opacity=\"0.3\" class=\"invalid\"");
        svg += Text(right + 5, y + kBar - 4,
                    FormatDuration(cell.median_ms) + (cell.mark.empty() ? "" : " " + cell.mark),
                    "class=\"bar-value" + std::string(cell.valid ? "" : " invalid") + "\"");
      }
      y += kBar;
      ++in_group;
    }
    svg += RowLabel(group_top + kBar * in_group / 2 + 4, table.models[m]);
    y += kGap;
  }
  for (std::size_t c = 0; c < table.columns.size(); ++c) {
    const double x = kPlotLeft + 260 * (c % 3) - 120, ly = bottom + 58 + 22 * (c / 3);
    svg += Rect(x, ly - 10, 12, 12, Color(c)) + Text(x + 17, ly, Cut(table.columns[c]), "class=\"legend\"");
  }
  return svg + "</svg>\n";
}

// The verdict summary and the footnotes of the marks, keyed as in the text formats.
std::string VerdictNotesHtml(const VerdictCounts& counts, const VerdictNotes& notes) {
  std::ostringstream out;
  out << "<p class=\"verdicts\">" << HtmlEscape(VerdictSummary(counts)) << "</p>\n";
  if (notes.empty()) return out.str();
  out << "<ul class=\"footnotes\">\n";
  for (std::size_t i = 0; i < notes.reasons().size(); ++i) {
    out << "<li class=\"invalid\"><b>!" << i + 1 << "</b> INVALID: " << HtmlEscape(notes.reasons()[i]) << "</li>\n";
  }
  for (std::size_t i = 0; i < notes.warnings().size(); ++i) {
    out << "<li class=\"warned\"><b>~" << i + 1 << "</b> warning: " << HtmlEscape(notes.warnings()[i]) << "</li>\n";
  }
  out << "</ul>\n";
  return out.str();
}

std::string LatencyTableHtml(const LatencyTable& table) {
  std::ostringstream out;
  out << "<table id=\"latency-table\">\n<thead><tr>";
  const auto header = table.HeaderCells();
  for (std::size_t i = 0; i < header.size(); ++i) {
    out << "<th" << (i ? " class=\"num\"" : "") << ">" << HtmlEscape(header[i]) << "</th>";
  }
  out << "</tr></thead>\n<tbody>\n";
  for (std::size_t m = 0; m < table.models.size(); ++m) {
    out << "<tr><td>" << HtmlEscape(table.models[m]) << "</td>";
    for (const LatencyTable::Cell& cell : table.cells[m]) {
      if (!cell.measured()) {
        out << "<td class=\"num\"></td>";
        continue;
      }
      const std::string verdict = VerdictTooltip(cell.valid, cell.reasons, cell.warnings);
      const std::string cls = cell.failed() ? "failed" : VerdictClass(cell.valid, cell.warnings);
      out << "<td class=\"num" << (cls.empty() ? "" : " " + cls) << "\""
          << (verdict.empty() ? "" : " title=\"" + HtmlEscape(verdict) + "\"") << ">";
      if (cell.failed()) {
        out << "failed<sup class=\"mark\">" << HtmlEscape(cell.mark) << "</sup>";
      } else {
        out << HtmlEscape(FormatDuration(cell.median_ms));
        if (cell.succeeded > 1) out << " <small>n=" << cell.succeeded << "</small>";
        if (!cell.mark.empty()) out << "<sup class=\"mark\">" << HtmlEscape(cell.mark) << "</sup>";
      }
      out << "</td>";
    }
    out << "<td class=\"num\">" << HtmlEscape(table.RowCells()[m].back()) << "</td></tr>\n";
  }
  out << "</tbody>\n</table>\n"
      << VerdictNotesHtml(table.counts, table.notes) << "<p class=\"note\">" << HtmlEscape(kLatencyTableNote)
      << "</p>\n";
  return out.str();
}

std::string RunsTable(const std::vector<BenchResult>& results, const Labels& labels) {
  std::ostringstream out;
  out << "<table id=\"runs\">\n<thead><tr><th>run</th><th class=\"num\">runs</th><th class=\"num\">median</th>"
         "<th class=\"num\">95% CI of median</th><th class=\"num\">CV</th><th>verdict</th></tr></thead>\n<tbody>\n";
  for (const auto& r : results) {
    out << "<tr><td>" << HtmlEscape(RunLabel(r, labels)) << "</td>";
    if (r.failure) {
      out << "<td class=\"failed\" colspan=\"5\">failed at " << HtmlEscape(r.failure->stage) << ": "
          << HtmlEscape(r.failure->error.message) << "</td></tr>\n";
      continue;
    }
    const auto& l = r.latency_ms;
    const std::string cls = VerdictClass(r.validity.valid, r.validity.warnings);
    out << "<td class=\"num\">" << r.samples_ms.size() << "</td><td class=\"num\">" << FormatDuration(l.p50)
        << "</td><td class=\"num\">" << FormatDuration(l.median_ci95_low) << " \u2013 "
        << FormatDuration(l.median_ci95_high) << "</td><td class=\"num\">" << Printf("%.1f%%", 100 * l.cv)
        << "</td><td" << (cls.empty() ? "" : " class=\"" + cls + "\"") << ">"
        << (r.validity.valid ? "VALID" : "INVALID");
    for (const auto& reason : r.validity.reasons) out << "<br><small>" << HtmlEscape(reason) << "</small>";
    for (const auto& warning : r.validity.warnings) {
      out << "<br><small>warning: " << HtmlEscape(warning) << "</small>";
    }
    out << "</td></tr>\n";
  }
  out << "</tbody>\n</table>\n";
  return out.str();
}

constexpr const char* kStyle = R"css(
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: #222; background: #fafafa; margin: 0; }
main { max-width: 1140px; margin: 0 auto; padding: 24px 20px 40px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 4px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
p.sub, p.note, p.caption { color: #666; margin: 2px 0 10px; }
section { background: #fff; border: 1px solid #e3e3e3; border-radius: 6px; padding: 4px 16px 12px;
          margin-top: 16px; overflow-x: auto; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { padding: 4px 12px; border-bottom: 1px solid #eee; text-align: left; white-space: nowrap; }
th { background: #f2f4f7; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.failed { color: #c0392b; }
td.invalid { background: #fdecea; color: #a93226; }
td.warned { background: #fff8e1; }
sup.mark { font-weight: 600; margin-left: 2px; }
p.verdicts { font-weight: 600; margin: 6px 0 2px; }
ul.footnotes { margin: 2px 0 10px; padding-left: 18px; color: #555; }
li.invalid b { color: #a93226; }
svg .invalid { fill: #a93226; }
svg.chart { display: block; max-width: 100%; height: auto; }
svg text { font-family: inherit; font-size: 12px; fill: #333; }
svg .tick { fill: #777; font-size: 11px; }
svg .axis-title { fill: #555; }
svg .grid { stroke: #eee; stroke-width: 1; }
svg .value, svg .bar-value { fill: #444; font-size: 11px; }
svg .in-bar { fill: #fff; font-size: 11px; font-weight: 600; }
svg .point-label { fill: #555; font-size: 11px; }
svg .failed { fill: #c0392b; }
svg .empty { fill: #888; font-style: italic; }
)css";

}  // namespace

std::string HtmlEscape(const std::string& text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': escaped += "&amp;"; break;
      case '<': escaped += "&lt;"; break;
      case '>': escaped += "&gt;"; break;
      case '"': escaped += "&quot;"; break;
      case '\'': escaped += "&#39;"; break;
      default: escaped += c;
    }
  }
  return escaped;
}

std::string FormatHtmlReport(const std::vector<BenchResult>& results) {
  const LatencyTable table = BuildLatencyTable(results);
  const std::vector<GroupAnalysis> groups = AnalyzeResults(results);
  const Labels labels = ColumnLabels(results);
  std::vector<std::string> devices;
  for (const auto& r : results) {
    if (std::find(devices.begin(), devices.end(), DeviceName(r)) == devices.end()) devices.push_back(DeviceName(r));
  }
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      << "<title>edgebench report</title>\n<style>" << kStyle << "</style>\n</head>\n<body>\n<main>\n"
      << "<h1>edgebench report</h1>\n<p class=\"sub\">" << results.size() << " results, "
      << table.models.size() << " models, " << table.columns.size() << " runtime/device columns; devices: "
      << HtmlEscape(devices.empty() ? "none" : Join(devices, ", ")) << "; "
      << HtmlEscape(VerdictSummary(table.counts)) << "</p>\n";
  out << "<section>\n<h2>Median latency: the latency matrix</h2>\n" << LatencyTableHtml(table) << "</section>\n";
  out << "<section>\n<h2>Latency distribution per run</h2>\n<p class=\"caption\">Box: 25th to 75th "
         "percentile; thick line: median; whiskers: min and max (under them); dots: every timed run. "
         "Each row has its own scale.</p>\n"
      << LatencyDistributionChart(results, labels) << RunsTable(results, labels) << "</section>\n";
  out << "<section>\n<h2>Operator time by kernel type</h2>\n<p class=\"caption\">Share of the profiled "
         "kernel time per inference (runs with <code>--profile</code>).</p>\n"
      << OperatorBreakdownChart(results, labels) << "</section>\n";
  out << "<section>\n<h2>Does latency follow FLOPs?</h2>\n<p class=\"caption\">Median latency against "
         "FLOPs per runtime, device and settings; dashed: least-squares line over the valid results; "
         "hollow points marked ! are INVALID and left out of the line and the correlations.</p>\n"
      << FlopsScatterChart(groups) << "</section>\n";
  out << "<section>\n<h2>Runtimes and devices compared</h2>\n<p class=\"caption\">Median latency of each "
         "model on each runtime, device and settings; pale bars with ! are INVALID.</p>\n"
      << RuntimeComparisonChart(table) << "</section>\n";
  out << "</main>\n</body>\n</html>\n";
  return out.str();
}

}  // namespace edgebench
