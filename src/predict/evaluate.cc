// Evaluating a predictor against measured results: accuracy overall and per family, the
// FLOPs-proportional baseline, and the report as text, JSON and a self-contained HTML page.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "edgebench/analysis.h"
#include "edgebench/html_report.h"
#include "edgebench/predictor.h"
#include "edgebench/report.h"
#include "edgebench/text.h"

namespace edgebench {
namespace {

std::string Printf(const char* format, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

std::string FileName(const std::string& path) { return std::filesystem::path(path).filename().string(); }

// Accuracy of the models selected by `pick` (returning the prediction to compare, or nullopt).
template <typename Pick>
Accuracy AccuracyOf(const std::vector<EvaluatedModel>& models, const std::string* family, Pick pick) {
  std::vector<double> predicted, measured;
  for (const auto& model : models) {
    if (family != nullptr && model.family != *family) continue;
    const std::optional<double> value = pick(model);
    if (!value) continue;
    predicted.push_back(*value);
    measured.push_back(model.measured_ms);
  }
  return ComputeAccuracy(predicted, measured);
}

std::vector<std::string> AccuracyCells(const Accuracy& accuracy) {
  return {std::to_string(accuracy.points), Printf("%.1f%%", accuracy.within_10_percent),
          Printf("%.1f%%", accuracy.within_5_percent), FormatDuration(accuracy.rmse_ms),
          Printf("%.1f%%", accuracy.mape_percent)};
}

const std::vector<std::string> kAccuracyHeader = {"models", "within 10%", "within 5%", "RMSE", "MAPE"};

}  // namespace

Expected<std::map<std::string, std::string>> ReadFamilies(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound(path + ": cannot open");
  const auto document = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return InvalidArgument(path + ": not valid JSON");
  std::map<std::string, std::string> families;
  if (!document.is_object() || !document.contains("variants") || !document["variants"].is_array()) {
    return InvalidArgument(path + ": expected {\"variants\": [{\"file\": ..., \"family\": ...}]}");
  }
  for (const auto& variant : document["variants"]) {
    if (!variant.is_object() || !variant.contains("file") || !variant.contains("family") ||
        !variant["file"].is_string() || !variant["family"].is_string()) {
      return InvalidArgument(path + ": a variant without a string 'file' and 'family'");
    }
    families[FileName(variant["file"].get<std::string>())] = variant["family"].get<std::string>();
  }
  return families;
}

Expected<std::string> WhyNotComparable(const Predictor& predictor, const BenchResult& result) {
  if (result.runtime_name != predictor.runtime()) {
    return InvalidArgument(result.model.path + ": measured on " + result.runtime_name + ", the predictor is for " +
                           predictor.runtime());
  }
  if (result.failure) return "failed (" + result.failure->stage + ")";
  if (!result.validity.valid) return "INVALID (" + Join(result.validity.reasons, "; ") + ")";
  return std::string();
}

ShapeOverrides InputShapes(const BenchResult& result) {
  ShapeOverrides shapes;
  for (const auto& input : result.inputs) shapes[input.name] = input.shape;
  return shapes;
}

Expected<std::vector<BenchResult>> ResultsOnReferenceScale(const Predictor& predictor,
                                                           const ComparisonResult& comparison) {
  if (!predictor.reference()) {
    return InvalidArgument("the predictor was trained on kernels measured alone: evaluate it against bench results, "
                           "not a comparison");
  }
  if (comparison.variants.empty()) return InvalidArgument("the comparison has no variants");
  const BenchResult& baseline = comparison.variants[0].result;
  if (baseline.model.sha256 != predictor.reference()->sha256) {
    return InvalidArgument("the comparison's baseline " + baseline.model.path +
                           " is not the predictor's reference model (sha256 " +
                           predictor.reference()->sha256.substr(0, 12) +
                           "...; write it with 'edgebench kernels reference FILE')");
  }
  std::vector<BenchResult> results;
  for (std::size_t i = 1; i < comparison.variants.size(); ++i) {
    BenchResult result = comparison.variants[i].result;
    if (comparison.failure && !result.failure) result.failure = comparison.failure;
    result.validity = comparison.validity;
    if (i < comparison.ratios.size()) {
      result.latency_ms.p50 = comparison.ratios[i].estimate.median * predictor.reference()->median_ms;
    } else if (!result.failure) {
      result.failure = RunFailure{"compare", RuntimeError("no ratio to the reference"), ""};
    }
    results.push_back(std::move(result));
  }
  return results;
}

std::vector<BenchResult> WithMediansOnReferenceScale(std::vector<BenchResult> profiled,
                                                     const std::vector<BenchResult>& on_reference_scale) {
  for (BenchResult& result : profiled) {
    for (const BenchResult& scaled : on_reference_scale) {
      if (scaled.model.sha256 != result.model.sha256 || scaled.runtime_name != result.runtime_name) continue;
      result.latency_ms.p50 = scaled.latency_ms.p50;
      result.validity = scaled.validity;
      if (scaled.failure) result.failure = scaled.failure;
    }
  }
  return profiled;
}

Expected<Evaluation> Evaluate(const Predictor& predictor, const std::vector<BenchResult>& results,
                              const std::map<std::string, std::string>& families) {
  Evaluation evaluation;
  for (const auto& result : results) {
    const std::string name = ModelName(result.model.path);
    auto why_not = WhyNotComparable(predictor, result);
    if (!why_not.ok()) return why_not.error();
    if (!why_not->empty()) {
      evaluation.left_out.push_back(name + ": " + *why_not);
      continue;
    }
    auto prediction = PredictModel(predictor, result.model.path, InputShapes(result));
    if (!prediction.ok()) {
      evaluation.left_out.push_back(name + ": not predicted (" + prediction.error().message + ")");
      continue;
    }
    EvaluatedModel model;
    model.model = name;
    model.path = result.model.path;
    const auto family = families.find(FileName(result.model.path));
    model.family = family != families.end() ? family->second : "";
    model.measured_ms = result.latency_ms.p50;
    model.predicted_ms = prediction->total_ms;
    model.lower_bound = prediction->lower_bound;
    if (result.model_cost && predictor.flops_baseline().ms_per_gflop > 0) {
      model.baseline_ms = predictor.flops_baseline().ms_per_gflop * result.model_cost->flops / 1e9;
    }
    evaluation.models.push_back(std::move(model));
  }
  auto predicted = [](const EvaluatedModel& m) { return std::optional<double>(m.predicted_ms); };
  auto baseline = [](const EvaluatedModel& m) { return m.baseline_ms; };
  evaluation.overall = AccuracyOf(evaluation.models, nullptr, predicted);
  const bool any_baseline = std::any_of(evaluation.models.begin(), evaluation.models.end(),
                                        [](const EvaluatedModel& m) { return m.baseline_ms.has_value(); });
  if (any_baseline) evaluation.baseline_overall = AccuracyOf(evaluation.models, nullptr, baseline);
  for (const auto& model : evaluation.models) {
    if (model.family.empty() || evaluation.per_family.count(model.family) > 0) continue;
    evaluation.per_family[model.family] = AccuracyOf(evaluation.models, &model.family, predicted);
    if (any_baseline) evaluation.baseline_per_family[model.family] = AccuracyOf(evaluation.models, &model.family, baseline);
  }
  return evaluation;
}

std::string FormatEvaluationText(const Evaluation& evaluation, bool with_baseline) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& model : evaluation.models) {
    rows.push_back({model.model, model.family.empty() ? "-" : model.family, FormatDuration(model.measured_ms),
                    (model.lower_bound ? ">= " : "") + FormatDuration(model.predicted_ms),
                    Printf("%+.1f%%", 100 * (model.predicted_ms / model.measured_ms - 1))});
    if (with_baseline) {
      rows.back().push_back(model.baseline_ms ? FormatDuration(*model.baseline_ms) : "-");
    }
  }
  std::vector<std::string> header = {"model", "family", "measured", "predicted", "error"};
  std::vector<bool> numeric = {false, false, true, true, true};
  if (with_baseline) {
    header.push_back("k x FLOPs");
    numeric.push_back(true);
  }
  std::string text = "predicted against measured (median latency)\n" + FormatTable(header, rows, numeric) + "\n";
  std::vector<std::vector<std::string>> accuracy_rows;
  auto add = [&](const std::string& label, const std::string& predictor, const Accuracy& accuracy) {
    auto cells = AccuracyCells(accuracy);
    cells.insert(cells.begin(), {label, predictor});
    accuracy_rows.push_back(std::move(cells));
  };
  add("all", "predictor", evaluation.overall);
  if (with_baseline && evaluation.baseline_overall) add("all", "k x FLOPs", *evaluation.baseline_overall);
  for (const auto& [family, accuracy] : evaluation.per_family) {
    add(family, "predictor", accuracy);
    if (with_baseline && evaluation.baseline_per_family.count(family) > 0) {
      add(family, "k x FLOPs", evaluation.baseline_per_family.at(family));
    }
  }
  std::vector<std::string> accuracy_header = {"family", "by"};
  accuracy_header.insert(accuracy_header.end(), kAccuracyHeader.begin(), kAccuracyHeader.end());
  text += "accuracy\n" + FormatTable(accuracy_header, accuracy_rows, {false, false, true, true, true, true, true});
  if (!evaluation.left_out.empty()) {
    text += "\nleft out (" + std::to_string(evaluation.left_out.size()) + "):\n";
    for (const auto& item : evaluation.left_out) text += "  " + item + "\n";
  }
  return text;
}

nlohmann::json ToJson(const Evaluation& evaluation) {
  nlohmann::json models = nlohmann::json::array();
  for (const auto& model : evaluation.models) {
    models.push_back({{"model", model.model},
                      {"path", model.path},
                      {"family", model.family},
                      {"measured_ms", model.measured_ms},
                      {"predicted_ms", model.predicted_ms},
                      {"lower_bound", model.lower_bound},
                      {"baseline_ms", model.baseline_ms ? nlohmann::json(*model.baseline_ms) : nlohmann::json(nullptr)}});
  }
  nlohmann::json families = nlohmann::json::object();
  for (const auto& [family, accuracy] : evaluation.per_family) {
    families[family] = {{"predictor", ToJson(accuracy)}};
    if (evaluation.baseline_per_family.count(family) > 0) {
      families[family]["flops_baseline"] = ToJson(evaluation.baseline_per_family.at(family));
    }
  }
  return {{"schema", "edgebench.prediction_evaluation/1"},
          {"models", models},
          {"left_out", evaluation.left_out},
          {"overall", ToJson(evaluation.overall)},
          {"flops_baseline", evaluation.baseline_overall ? ToJson(*evaluation.baseline_overall) : nlohmann::json(nullptr)},
          {"families", families}};
}

// --- HTML ------------------------------------------------------------------------------------

namespace {

constexpr double kWidth = 560, kHeight = 420, kMargin = 56;

std::string Px(double value) { return Printf("%.1f", value); }

// Predicted against measured on log-log axes, with y = x and the +-10% band.
std::string ScatterSvg(const Evaluation& evaluation) {
  std::string svg = "<svg id=\"predicted-vs-measured\" class=\"chart\" viewBox=\"0 0 " + Px(kWidth) + " " +
                    Px(kHeight) + "\" role=\"img\" aria-label=\"predicted against measured latency\">";
  if (evaluation.models.empty()) return svg + "<text x=\"20\" y=\"40\">no evaluated model</text></svg>";
  double low = 1e300, high = 0;
  for (const auto& m : evaluation.models) {
    low = std::min({low, m.measured_ms, m.predicted_ms});
    high = std::max({high, m.measured_ms, m.predicted_ms});
  }
  const double log_low = std::floor(std::log10(std::max(low, 1e-6)) * 2) / 2;
  const double log_high = std::max(log_low + 0.5, std::ceil(std::log10(high) * 2) / 2);
  const double plot = kHeight - 2 * kMargin;
  auto x = [&](double ms) { return kMargin + (std::log10(ms) - log_low) / (log_high - log_low) * plot; };
  auto y = [&](double ms) { return kHeight - kMargin - (std::log10(ms) - log_low) / (log_high - log_low) * plot; };
  const double a = std::pow(10, log_low), b = std::pow(10, log_high);
  // The +-10% band as a polygon between y = 0.9x and y = 1.1x.
  svg += "<polygon fill=\"#d8ecd8\" points=\"" + Px(x(a)) + "," + Px(y(a * 1.1)) + " " + Px(x(b / 1.1)) + "," +
         Px(y(b)) + " " + Px(x(b)) + "," + Px(y(b)) + " " + Px(x(b)) + "," + Px(y(b * 0.9)) + " " + Px(x(a)) + "," +
         Px(y(a * 0.9)) + "\"><title>within +-10%</title></polygon>";
  svg += "<line x1=\"" + Px(x(a)) + "\" y1=\"" + Px(y(a)) + "\" x2=\"" + Px(x(b)) + "\" y2=\"" + Px(y(b)) +
         "\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>";
  for (double e = log_low; e <= log_high + 1e-9; e += 0.5) {
    const double ms = std::pow(10, e);
    svg += "<text class=\"tick\" x=\"" + Px(x(ms)) + "\" y=\"" + Px(kHeight - kMargin + 16) +
           "\" text-anchor=\"middle\">" + HtmlEscape(FormatDuration(ms)) + "</text>";
    svg += "<text class=\"tick\" x=\"" + Px(kMargin - 6) + "\" y=\"" + Px(y(ms) + 4) + "\" text-anchor=\"end\">" +
           HtmlEscape(FormatDuration(ms)) + "</text>";
  }
  svg += "<rect x=\"" + Px(kMargin) + "\" y=\"" + Px(kMargin) + "\" width=\"" + Px(plot) + "\" height=\"" + Px(plot) +
         "\" fill=\"none\" stroke=\"#bbb\"/>";
  svg += "<text class=\"axis-title\" x=\"" + Px(kMargin + plot / 2) + "\" y=\"" + Px(kHeight - 12) +
         "\" text-anchor=\"middle\">measured median</text>";
  svg += "<text class=\"axis-title\" x=\"14\" y=\"" + Px(kMargin + plot / 2) + "\" transform=\"rotate(-90 14 " +
         Px(kMargin + plot / 2) + ")\" text-anchor=\"middle\">predicted</text>";
  for (const auto& m : evaluation.models) {
    const std::string tip = m.model + (m.family.empty() ? "" : " (" + m.family + ")") + ": measured " +
                            FormatDuration(m.measured_ms) + ", predicted " + (m.lower_bound ? ">= " : "") +
                            FormatDuration(m.predicted_ms);
    svg += "<circle cx=\"" + Px(x(m.measured_ms)) + "\" cy=\"" + Px(y(m.predicted_ms)) + "\" r=\"4\" fill=\"" +
           (m.lower_bound ? "none\" stroke=\"#c0392b" : "#2f6db5") + "\"><title>" + HtmlEscape(tip) +
           "</title></circle>";
  }
  return svg + "</svg>";
}

// Relative errors in 5% bins from -50% to +50%, the outer bins collecting the rest.
std::string HistogramSvg(const Evaluation& evaluation) {
  constexpr int kBins = 20;
  std::vector<int> counts(kBins, 0);
  for (const auto& m : evaluation.models) {
    const double error = 100 * (m.predicted_ms / m.measured_ms - 1);
    const int bin = std::clamp(static_cast<int>(std::floor((error + 50) / 5)), 0, kBins - 1);
    ++counts[bin];
  }
  const int most = std::max(1, *std::max_element(counts.begin(), counts.end()));
  const double plot_w = kWidth - 2 * kMargin, plot_h = kHeight - 2 * kMargin, bar = plot_w / kBins;
  std::string svg = "<svg id=\"error-histogram\" class=\"chart\" viewBox=\"0 0 " + Px(kWidth) + " " + Px(kHeight) +
                    "\" role=\"img\" aria-label=\"histogram of the relative errors\">";
  svg += "<rect x=\"" + Px(kMargin + 8 * bar) + "\" y=\"" + Px(kMargin) + "\" width=\"" + Px(4 * bar) + "\" height=\"" +
         Px(plot_h) + "\" fill=\"#d8ecd8\"><title>within +-10%</title></rect>";
  for (int i = 0; i < kBins; ++i) {
    const double height = plot_h * counts[i] / most;
    const int from = -50 + 5 * i;
    const std::string range = (i == 0 ? "< -45%" : i == kBins - 1 ? ">= +45%" : Printf("%+.0f%%", from) + " to " +
                                                                           Printf("%+.0f%%", from + 5.0));
    svg += "<rect x=\"" + Px(kMargin + i * bar + 1) + "\" y=\"" + Px(kHeight - kMargin - height) + "\" width=\"" +
           Px(bar - 2) + "\" height=\"" + Px(height) + "\" fill=\"#2f6db5\"><title>" + HtmlEscape(range) + ": " +
           std::to_string(counts[i]) + "</title></rect>";
  }
  for (int i = 0; i <= kBins; i += 2) {
    svg += "<text class=\"tick\" x=\"" + Px(kMargin + i * bar) + "\" y=\"" + Px(kHeight - kMargin + 16) +
           "\" text-anchor=\"middle\">" + Printf("%+.0f%%", -50 + 5.0 * i) + "</text>";
  }
  svg += "<text class=\"tick\" x=\"" + Px(kMargin - 6) + "\" y=\"" + Px(kMargin + 4) + "\" text-anchor=\"end\">" +
         std::to_string(most) + "</text>";
  svg += "<text class=\"axis-title\" x=\"" + Px(kWidth / 2) + "\" y=\"" + Px(kHeight - 12) +
         "\" text-anchor=\"middle\">predicted / measured - 1 (models per 5% bin)</text>";
  return svg + "</svg>";
}

std::string AccuracyRowHtml(const std::string& family, const std::string& by, const Accuracy& accuracy) {
  std::string row = "<tr><td>" + HtmlEscape(family) + "</td><td>" + HtmlEscape(by) + "</td>";
  for (const auto& cell : AccuracyCells(accuracy)) row += "<td class=\"num\">" + HtmlEscape(cell) + "</td>";
  return row + "</tr>";
}

}  // namespace

std::string FormatEvaluationHtml(const Evaluation& evaluation, const Predictor& predictor) {
  std::string table = "<table id=\"accuracy-table\"><tr><th>family</th><th>by</th>";
  for (const auto& cell : kAccuracyHeader) table += "<th class=\"num\">" + HtmlEscape(cell) + "</th>";
  table += "</tr>" + AccuracyRowHtml("all", "predictor", evaluation.overall);
  if (evaluation.baseline_overall) table += AccuracyRowHtml("all", "k x FLOPs", *evaluation.baseline_overall);
  for (const auto& [family, accuracy] : evaluation.per_family) {
    table += AccuracyRowHtml(family, "predictor", accuracy);
    if (evaluation.baseline_per_family.count(family) > 0) {
      table += AccuracyRowHtml(family, "k x FLOPs", evaluation.baseline_per_family.at(family));
    }
  }
  table += "</table>";
  std::string left_out;
  if (!evaluation.left_out.empty()) {
    left_out = "<p class=\"note\">left out:</p><ul>";
    for (const auto& item : evaluation.left_out) left_out += "<li>" + HtmlEscape(item) + "</li>";
    left_out += "</ul>";
  }
  std::string how;  // what the milliseconds are, and the calibration
  if (predictor.reference()) {
    char scale[160];
    std::snprintf(scale, sizeof scale,
                  "; milliseconds at the reference model's %.3f ms (kernels and models timed against it)",
                  predictor.reference()->median_ms);
    how += scale;
  }
  if (predictor.calibration()) {
    how += "; calibrated on " + std::to_string(predictor.calibration()->models) + " profiled models";
  }
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>edgebench latency prediction"
         "</title><style>body{font:14px/1.45 system-ui,sans-serif;color:#222;margin:24px auto;max-width:1180px}"
         "table{border-collapse:collapse}th,td{padding:4px 12px;border-bottom:1px solid #eee;text-align:left}"
         "td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}th{background:#f2f4f7}"
         ".charts{display:flex;flex-wrap:wrap;gap:16px}svg.chart{width:560px;max-width:100%;height:auto}"
         "svg text{font-size:12px;fill:#333}svg .tick{fill:#777;font-size:11px}p.note{color:#666}</style></head>"
         "<body><h1>Latency prediction: predicted against measured</h1><p class=\"note\">predictor for " +
         HtmlEscape(predictor.runtime() + " " + predictor.runtime_version()) + " on " + HtmlEscape(predictor.device()) +
         HtmlEscape(how) + "; " + std::to_string(evaluation.models.size()) +
         " models (blue points); green band: within +-10%; hollow red points: lower bounds (unknown kernels)</p>"
         "<div class=\"charts\">" +
         ScatterSvg(evaluation) + HistogramSvg(evaluation) + "</div><h2>Accuracy per family</h2>" + table + left_out +
         "<p class=\"note\">k x FLOPs: " + HtmlEscape(predictor.flops_baseline().fitted_on) + "</p></body></html>\n";
}

}  // namespace edgebench
