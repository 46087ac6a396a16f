// FormatComparisonText (edgebench/report.h).
#include <cstdio>
#include <sstream>

#include "edgebench/report.h"
#include "edgebench/text.h"

namespace edgebench {
namespace {

std::string Fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

// Three decimals (a ratio's interval is usually a few thousandths wide); tiny or huge ratios
// (the null runtime against a model) with four significant digits.
std::string Ratio(double value) {
  char text[64];
  std::snprintf(text, sizeof text, value >= 0.01 && value < 1000 ? "%.3f" : "%.4g", value);
  return text;
}

std::string Threads(int threads) { return threads ? std::to_string(threads) : "default"; }

}  // namespace

std::string FormatComparisonText(const ComparisonResult& c) {
  std::ostringstream out;
  const std::string where = c.device.empty() ? c.environment.hostname : c.device;
  out << "comparison of " << c.variants.size() << " variants on " << where << " ("
      << c.environment.cpu_model << "), " << c.rounds << " rounds interleaved in "
      << Fixed(c.measure_ms / 1000, 1) << " s, stopped: " << StopReasonName(c.stop_reason) << "\n";
  if (c.failure) {
    out << "\nFAILED at stage '" << c.failure->stage << "': " << c.failure->error.message << "\n";
    return out.str();
  }
  std::vector<std::vector<std::string>> rows;
  VerdictNotes notes;  // each variant's own verdict on its per-round figures
  for (std::size_t i = 0; i < c.variants.size(); ++i) {
    const BenchResult& r = c.variants[i].result;
    const std::string mark = notes.Mark(r.validity.valid, r.validity.reasons, r.validity.warnings);
    std::vector<std::string> row = {c.variants[i].label, r.runtime_name + " " + r.runtime_version,
                                    Threads(r.settings.threads), std::to_string(c.variants[i].runs_per_round),
                                    FormatDuration(r.latency_ms.p50) + (mark.empty() ? "" : " " + mark)};
    if (i == 0 || i >= c.ratios.size()) {
      row.insert(row.end(), {"1", "(baseline)"});
    } else {
      const RatioEstimate& e = c.ratios[i].estimate;
      row.insert(row.end(), {Ratio(e.median), "[" + Ratio(e.ci95.low) + ", " + Ratio(e.ci95.high) + "] +/-" +
                                                  Fixed(e.HalfWidthPercent(), 1) + "%"});
    }
    rows.push_back(std::move(row));
  }
  out << "\n"
      << FormatTable({"variant", "runtime", "threads", "runs/round", "median", "ratio", "95% CI"}, rows,
                     {false, false, true, true, true, true, false});
  out << "\nratio = the variant's time / " << c.variants.front().label
      << "'s, median over rounds of the per-round ratio; 95% CI from order statistics of the rounds' ratios\n";
  if (const auto& i = c.interference) {
    auto percent = [](const std::optional<double>& value) { return value ? Fixed(*value, 1) + "%" : "unknown"; };
    out << "noise: steal " << percent(i->steal_percent) << ", iowait " << percent(i->iowait_percent) << ", "
        << i->involuntary_context_switches << " involuntary context switches over all rounds\n";
  }
  if (!notes.empty()) {
    out << "marks: each variant's own verdict on its per-round times; drift that hits every variant alike "
           "does not void the ratios\n"
        << notes.Footnotes(TableStyle::kText);
  }
  out << "\nverdict  " << (c.validity.valid ? "VALID" : "INVALID") << "\n";
  for (const auto& reason : c.validity.reasons) out << "  reason:  " << reason << "\n";
  for (const auto& warning : c.validity.warnings) out << "  warning: " << warning << "\n";
  return out.str();
}

}  // namespace edgebench
