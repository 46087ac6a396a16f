#include "edgebench/report.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "edgebench/text.h"

namespace edgebench {
namespace {

std::string Printf(const char* format, double value) {
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

// Milliseconds as a CSV number (the header names the unit), about four significant digits.
std::string MsNumber(double ms) {
  if (ms >= 1000) return Printf("%.0f", ms);
  if (ms >= 100) return Printf("%.1f", ms);
  if (ms >= 1) return Printf("%.3f", ms);
  return Printf("%.4f", ms);
}

// A unit for durations around `ms`: how many of it make a millisecond, and its name.
struct TimeUnit {
  double per_ms;
  const char* name;
};
TimeUnit UnitFor(double ms) {
  const double magnitude = std::abs(ms);
  if (magnitude >= 1000) return {1e-3, "s"};
  if (magnitude >= 1 || magnitude == 0) return {1, "ms"};
  if (magnitude >= 1e-3) return {1e3, "us"};
  return {1e6, "ns"};
}

// `ms` in `unit`, four significant digits, no unit.
std::string InUnit(double ms, TimeUnit unit) {
  const double value = ms * unit.per_ms;
  const int magnitude = value == 0 ? 0 : static_cast<int>(std::floor(std::log10(std::abs(value))));
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", std::clamp(3 - magnitude, 0, 6), value);
  return text;
}

std::string Bytes(int64_t bytes) {
  if (bytes >= (int64_t{1} << 30)) return Printf("%.2f GiB", bytes / double(int64_t{1} << 30));
  if (bytes >= (1 << 20)) return Printf("%.1f MiB", bytes / double(1 << 20));
  if (bytes >= (1 << 10)) return Printf("%.1f KiB", bytes / double(1 << 10));
  return std::to_string(bytes) + " B";
}

std::string Specs(const std::vector<TensorSpec>& specs) {
  std::vector<std::string> parts;
  for (const auto& spec : specs) {
    parts.push_back(spec.name + " " + std::string(DataTypeName(spec.type)) + "[" +
                    (spec.rank_known ? FormatShape(spec.shape) : "?") + "]");
  }
  return parts.empty() ? "(none)" : Join(parts, ", ");
}

// Kernel types shown in the text report; the JSON document carries all of them.
constexpr std::size_t kProfileTypesShown = 10;

// The top kernel types of an operator profile by share (operator shares).
std::string ProfileTable(const OpProfile& profile, const std::vector<KernelTypeShare>& by_type) {
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < by_type.size() && i < kProfileTypesShown; ++i) {
    const KernelTypeShare& type = by_type[i];
    rows.push_back({type.kernel_type, std::to_string(type.kernels), FormatDuration(type.ms_per_inference),
                    Printf("%.2f%%", 100 * type.share)});
  }
  std::string text = "\noperator profile (" + profile.source + ", " +
                     std::to_string(profile.profiled_runs) + " runs after the timed ones)\n" +
                     FormatTable({"kernel type", "kernels", "per inference", "share"}, rows,
                                 {false, true, true, true});
  if (by_type.size() > kProfileTypesShown) {
    text += "(" + std::to_string(by_type.size() - kProfileTypesShown) +
            " more kernel types in the JSON document)\n";
  }
  return text + "\n";
}

// The fusion map: source-node patterns and the kernels they became.
std::string FusionTable(const FusionMap& fusion) {
  std::vector<std::vector<std::string>> rows;
  for (const FusionPattern& pattern : fusion.patterns) {
    rows.push_back({PatternName(pattern), pattern.kernel_type, std::to_string(pattern.kernels)});
  }
  auto counts = [](const std::vector<OpTypeCount>& entries) {
    std::string text;
    for (const OpTypeCount& entry : entries) {
      text += (text.empty() ? "" : ", ") + entry.op_type + " x" + std::to_string(entry.count);
    }
    return text.empty() ? std::string("none") : text;
  };
  return "fusion map (" + std::to_string(fusion.source_nodes) + " source nodes -> " +
         std::to_string(fusion.kernels) + " kernels)\n" +
         FormatTable({"source nodes", "kernel", "kernels"}, rows, {false, false, true}) +
         "removed by the runtime: " + counts(fusion.removed) + "\n" +
         "added by the runtime: " + counts(fusion.added) + "\n\n";
}

// Accelerator placement: where the kernels ran, their share of the kernel time, and the host/device copies.
std::string PlacementLine(const std::vector<ProviderShare>& by_provider, const OpProfile* profile) {
  int64_t total = 0;
  for (const ProviderShare& share : by_provider) total += share.kernels;
  std::string text;
  for (const ProviderShare& share : by_provider) {
    text += (text.empty() ? "" : ", ") + std::to_string(share.kernels) + " of " +
            std::to_string(total) + " kernels ran on " + share.provider;
    if (share.share > 0) text += Printf(" (%.1f%% of the time)", 100 * share.share);
  }
  text = "placement  " + text + "\n";
  if (profile != nullptr) {
    const TransferSummary transfers = SummarizeTransfers(*profile);
    text += transfers.kernels == 0
                ? std::string("transfers  no host/device copy kernels reported\n")
                : "transfers  " + std::to_string(transfers.kernels) + " copy kernels, " +
                      FormatDuration(transfers.ms_per_inference) + "/inference" +
                      Printf(" (%.1f%% of the time)\n", 100 * transfers.share);
  }
  return text;
}

}  // namespace

std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows,
                        const std::vector<bool>& numeric) {
  std::vector<std::size_t> widths(header.size(), 0);
  auto measure = [&widths](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  };
  measure(header);
  for (const auto& row : rows) measure(row);
  auto line = [&](const std::vector<std::string>& row) {
    std::string text;
    for (std::size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      const std::string pad(widths[i] - cell.size(), ' ');
      const bool right = i < numeric.size() && numeric[i];
      text += (i ? "  " : "") + (right ? pad + cell : cell + (i + 1 < widths.size() ? pad : ""));
    }
    return text + "\n";
  };
  std::string text = line(header);
  std::vector<std::string> rule;
  for (std::size_t width : widths) rule.emplace_back(width, '-');
  text += line(rule);
  for (const auto& row : rows) text += line(row);
  return text;
}

std::string FormatResultText(const BenchResult& r) {
  std::ostringstream out;
  out << "model    " << r.model.path << " (" << ModelFormatName(r.model.format) << ", "
      << Bytes(r.model.size_bytes) << ", sha256 " << r.model.sha256.substr(0, 12) << ")\n";
  std::vector<std::string> options;
  for (const auto& [key, value] : r.runtime_options) options.push_back(key + "=" + value);
  out << "runtime  " << r.runtime_name << " " << r.runtime_version << ", threads "
      << (r.settings.threads ? std::to_string(r.settings.threads) : "default")
      << (options.empty() ? "" : ", " + Join(options, " ")) << "\n";
  const auto& e = r.environment;
  if (!DeviceName(r).empty()) out << "device   " << DeviceName(r) << "\n";
  out << "machine  " << e.cpu_model << ", " << e.usable_cores << "/" << e.logical_cores
      << " cores, governor " << (e.cpu_governor.empty() ? "unknown" : e.cpu_governor) << ", load "
      << Printf("%.2f", e.load_average_1m) << ", " << e.os << ", "
      << (e.container.empty() ? "native" : e.container) << "\n";
  if (!r.inputs.empty()) out << "inputs   " << Specs(r.inputs) << " (seed " << r.settings.seed << ")\n";

  if (r.failure) {
    out << "\nFAILED at stage '" << r.failure->stage << "': " << r.failure->error.message << "\n";
    return out.str();
  }
  out << "\n"
      << FormatTable({"stage", "runs", "time"},
                     {{"load", "1", FormatDuration(r.load_ms)},
                      {"first inference", "1", FormatDuration(r.first_inference_ms)},
                      {"warm-up", std::to_string(r.warmup_runs), FormatDuration(r.warmup_ms)},
                      {"timed runs", std::to_string(r.samples_ms.size()), FormatDuration(r.measure_ms)}},
                     {false, true, true});
  const auto& l = r.latency_ms;
  const TimeUnit unit = UnitFor(l.p50);
  auto in_unit = [unit](double ms) { return InUnit(ms, unit); };
  out << "\n"
      << FormatTable({"latency (" + std::string(unit.name) + ")", "mean", "std", "min", "p50", "p90", "p95", "p99",
                      "max"},
                     {{"", in_unit(l.mean), in_unit(l.std), in_unit(l.min), in_unit(l.p50), in_unit(l.p90),
                       in_unit(l.p95), in_unit(l.p99), in_unit(l.max)}},
                     {false, true, true, true, true, true, true, true, true});
  VerdictNotes notes;
  const std::string mark = notes.Mark(r.validity.valid, r.validity.reasons, r.validity.warnings);
  out << "\nmedian " << FormatDuration(l.p50) << (mark.empty() ? "" : " " + mark) << ", 95% CI ["
      << in_unit(l.median_ci95_low) << ", " << in_unit(l.median_ci95_high) << " " << unit.name << "], CV "
      << Printf("%.1f%%", 100 * l.cv) << ", stopped: " << StopReasonName(r.stop_reason) << ", peak memory "
      << Bytes(r.peak_rss_bytes) << "\n";
  out << "spread   robust CV " << Printf("%.1f%%", 100 * l.robust_cv) << " (MAD " << FormatDuration(l.mad) << "), "
      << l.outliers << " outliers of " << l.count << " runs\n";
  if (const auto& m = r.memory) {
    auto delta = [](int64_t bytes) { return (bytes < 0 ? "-" : "+") + Bytes(bytes < 0 ? -bytes : bytes); };
    out << "memory   RSS " << Bytes(m->rss_before_load_bytes) << " before load, " << delta(m->load_delta_bytes())
        << " load, " << delta(m->inference_delta_bytes()) << " inference (peak " << Bytes(m->peak_rss_timed_bytes)
        << (m->peak_reset ? " during the runs)" : " since start: peak not resettable)") << "\n";
  }
  if (const auto& i = r.interference) {
    out << "noise    steal " << (i->steal_percent ? Printf("%.1f%%", *i->steal_percent) : "unknown") << ", iowait "
        << (i->iowait_percent ? Printf("%.1f%%", *i->iowait_percent) : "unknown") << ", context switches "
        << i->involuntary_context_switches << " involuntary, " << i->voluntary_context_switches << " voluntary\n";
    std::vector<std::string> sensors;
    if (i->cpu_frequency_min_mhz) {
      sensors.push_back("clock " + Printf("%.0f", *i->cpu_frequency_min_mhz) + "-" +
                        Printf("%.0f MHz", i->cpu_frequency_max_mhz.value_or(0)));
    }
    for (const auto& z : i->thermal_zones) {
      sensors.push_back(z.type + " " + Printf("%.1f", z.start_c) + "-" + Printf("%.1f C", z.max_c));
    }
    if (i->throttled_flags) {
      sensors.push_back("throttling flags: " +
                        (*i->throttled_flags ? Join(ThrottledFlagNames(*i->throttled_flags), ", ") : "none"));
    }
    if (i->throttle_events) sensors.push_back("throttling events " + std::to_string(*i->throttle_events));
    for (const auto& p : i->power) {
      sensors.push_back(p.sensor + " " + Printf("%.2f W", p.average_w) +
                        (p.energy_per_inference_mj ? Printf(", %.3g mJ/inference", *p.energy_per_inference_mj) : ""));
    }
    out << "sensors  " << (sensors.empty() ? "none (no cpufreq, thermal, throttling or power source)" : Join(sensors, "; "))
        << "\n";
  }
  if (const auto& v = r.verification) {
    out << "verify   against " << v->reference_runtime << " " << v->reference_version << ": max abs error "
        << Printf("%.3g", v->max_abs_error);
    for (const auto& o : v->outputs) {
      if (o.top1_agreement) out << ", top-1 agreement (" << o.name << ") " << Printf("%.0f%%", 100 * *o.top1_agreement);
    }
    for (std::size_t i = 0; i < v->input_permutations.size(); ++i) {
      if (!v->input_permutations[i].empty()) out << ", input " << i << " permuted (" << FormatPermutation(v->input_permutations[i]) << ")";
    }
    out << (v->tolerance ? (v->passed ? ", within " : ", ABOVE ") + Printf("%.3g", *v->tolerance) : "") << "\n";
  }
  if (r.profile) out << ProfileTable(*r.profile, r.profile_by_type);
  if (r.fusion) out << FusionTable(*r.fusion);
  if (!r.profile_by_provider.empty()) out << PlacementLine(r.profile_by_provider, r.profile ? &*r.profile : nullptr);
  out << "verdict  " << (r.validity.valid ? "VALID" : "INVALID") << "\n";
  for (std::size_t i = 0; i < notes.reasons().size(); ++i) {
    out << "  !" << i + 1 << " reason: " << notes.reasons()[i] << "\n";
  }
  for (std::size_t i = 0; i < notes.warnings().size(); ++i) {
    out << "  ~" << i + 1 << " warning: " << notes.warnings()[i] << "\n";
  }
  return out.str();
}

namespace {

std::string CsvCell(const std::string& cell) {
  if (cell.find_first_of(",\"\n") == std::string::npos) return cell;
  std::string quoted = "\"";
  for (char c : cell) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string RenderTable(TableStyle style, const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows,
                        const std::vector<bool>& numeric) {
  if (style == TableStyle::kText) return FormatTable(header, rows, numeric);
  std::string text;
  auto line = [&](const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < cells.size(); ++i) {
      text += style == TableStyle::kCsv ? (i ? "," : "") + CsvCell(cells[i]) : "| " + cells[i] + " ";
    }
    text += style == TableStyle::kCsv ? "\n" : "|\n";
  };
  line(header);
  if (style == TableStyle::kMarkdown) {
    std::vector<std::string> rule;
    for (std::size_t i = 0; i < header.size(); ++i) rule.push_back(i < numeric.size() && numeric[i] ? "---:" : "---");
    line(rule);
  }
  for (const auto& row : rows) line(row);
  return text;
}

std::string Billions(double value) { return Printf("%.3fB", value / 1e9); }

std::size_t IndexOf(std::vector<std::string>& names, const std::string& name) {
  auto found = std::find(names.begin(), names.end(), name);
  if (found != names.end()) return static_cast<std::size_t>(found - names.begin());
  names.push_back(name);
  return names.size() - 1;
}

std::string Correlation(const std::optional<double>& value) {
  return value ? Printf("%+.2f", *value) : "n/a";
}

// Numbers in a footnote list: "1,2".
std::string Numbers(const std::vector<std::size_t>& numbers) {
  std::string text;
  for (std::size_t n : numbers) text += (text.empty() ? "" : ",") + std::to_string(n);
  return text;
}

std::size_t NoteNumber(std::vector<std::string>& notes, const std::string& text) {
  return IndexOf(notes, text) + 1;
}

// Markdown renders "~" as strikethrough: escaped in cells and footnotes.
std::string MarkdownText(const std::string& text) {
  std::string escaped;
  for (char c : text) escaped += c == '~' || c == '|' ? std::string("\\") + c : std::string(1, c);
  return escaped;
}

// A figure with its duplicates count and verdict mark: "8.740 ms n=3 !1".
std::string Figure(double ms, std::size_t aggregated, const std::string& mark) {
  return FormatDuration(ms) + (aggregated > 1 ? " n=" + std::to_string(aggregated) : "") +
         (mark.empty() ? "" : " " + mark);
}

// Text and Markdown end a table with the verdict summary and the footnotes.
std::string VerdictLines(const VerdictCounts& counts, const VerdictNotes& notes, TableStyle style) {
  const std::string summary = VerdictSummary(counts);
  return "\n" + (style == TableStyle::kMarkdown ? MarkdownText(summary) + "  " : summary) + "\n" +
         notes.Footnotes(style);
}

}  // namespace

std::string FormatDuration(double ms) {
  const TimeUnit unit = UnitFor(ms);
  return InUnit(ms, unit) + " " + unit.name;
}

std::string VerdictNotes::Mark(bool valid, const std::vector<std::string>& reasons,
                               const std::vector<std::string>& warnings) {
  std::vector<std::size_t> reason_numbers, warning_numbers;
  for (const auto& reason : reasons) reason_numbers.push_back(NoteNumber(reasons_, reason));
  for (const auto& warning : warnings) warning_numbers.push_back(NoteNumber(warnings_, warning));
  std::string mark = valid && reasons.empty() ? "" : "!" + Numbers(reason_numbers);
  if (!warning_numbers.empty()) mark += (mark.empty() ? "~" : " ~") + Numbers(warning_numbers);
  return mark;
}

std::string VerdictNotes::Footnotes(TableStyle style) const {
  std::string text;
  const bool markdown = style == TableStyle::kMarkdown;
  auto line = [&](const std::string& key, const std::string& kind, const std::string& note) {
    text += markdown ? MarkdownText(key) + " " + kind + ": " + MarkdownText(note) + "  \n"
                     : key + "  " + kind + ": " + note + "\n";
  };
  for (std::size_t i = 0; i < reasons_.size(); ++i) line("!" + std::to_string(i + 1), "INVALID", reasons_[i]);
  for (std::size_t i = 0; i < warnings_.size(); ++i) line("~" + std::to_string(i + 1), "warning", warnings_[i]);
  return text;
}

VerdictCounts CountVerdicts(const std::vector<BenchResult>& results) {
  VerdictCounts counts;
  counts.results = results.size();
  for (const auto& r : results) {
    if (r.failure) {
      ++counts.failed;
      continue;
    }
    ++(r.validity.valid ? counts.valid : counts.invalid);
    if (!r.validity.warnings.empty()) ++counts.warned;
  }
  return counts;
}

std::string VerdictSummary(const VerdictCounts& counts) {
  std::string text = std::to_string(counts.valid) + " of " + std::to_string(counts.results) + " results valid; " +
                     std::to_string(counts.invalid) + " INVALID (!), " + std::to_string(counts.warned) +
                     " with warnings (~)";
  if (counts.failed > 0) text += ", " + std::to_string(counts.failed) + " failed";
  return text;
}

std::vector<BenchResult> OnlyValid(const std::vector<BenchResult>& results) {
  std::vector<BenchResult> valid;
  for (const auto& r : results) {
    if (!r.failure && r.validity.valid) valid.push_back(r);
  }
  return valid;
}

LatencyTable BuildLatencyTable(const std::vector<BenchResult>& results) {
  LatencyTable table;
  table.counts = CountVerdicts(results);
  const auto labels = ColumnLabels(results);
  for (const DuplicateGroup& group : GroupDuplicates(results)) {
    const std::size_t model = IndexOf(table.models, group.model);
    const std::size_t columns = table.columns.size();
    const std::size_t column = IndexOf(table.columns, labels.at(IdentityKey(group.identity)));
    if (table.columns.size() > columns) table.identities.push_back(group.identity);
    table.cells.resize(table.models.size());
    table.flops.resize(table.models.size());
    for (auto& row : table.cells) row.resize(table.columns.size());
    LatencyTable::Cell& cell = table.cells[model][column];
    cell.results = group.results.size();
    cell.succeeded = group.Succeeded();
    cell.median_ms = group.MedianMs();
    cell.valid = group.Valid();
    cell.reasons = group.Reasons();
    cell.warnings = group.Warnings();
    for (const BenchResult* r : group.results) {
      if (r->model_cost) table.flops[model] = static_cast<double>(r->model_cost->flops);
    }
  }
  // Marks numbered in reading order: row by row.
  for (auto& row : table.cells) {
    for (auto& cell : row) {
      if (cell.measured()) cell.mark = table.notes.Mark(cell.valid, cell.reasons, cell.warnings);
    }
  }
  return table;
}

std::vector<std::string> LatencyTable::HeaderCells() const {
  std::vector<std::string> header = {"model"};
  header.insert(header.end(), columns.begin(), columns.end());
  header.push_back("FLOPs");
  return header;
}

std::vector<std::vector<std::string>> LatencyTable::RowCells() const {
  std::vector<std::vector<std::string>> rows;
  for (std::size_t m = 0; m < models.size(); ++m) {
    std::vector<std::string> row = {models[m]};
    for (const Cell& cell : cells[m]) {
      row.push_back(!cell.measured() ? ""
                    : cell.failed()  ? "failed " + cell.mark
                                     : Figure(cell.median_ms, cell.succeeded, cell.mark));
    }
    row.push_back(flops[m] ? Billions(*flops[m]) : "");
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string FormatLatencyTable(const std::vector<BenchResult>& results, TableStyle style) {
  const LatencyTable table = BuildLatencyTable(results);
  if (style == TableStyle::kCsv) {  // long format: one line per cell
    std::vector<std::vector<std::string>> rows;
    for (std::size_t m = 0; m < table.models.size(); ++m) {
      for (std::size_t c = 0; c < table.columns.size(); ++c) {
        const LatencyTable::Cell& cell = table.cells[m][c];
        if (!cell.measured()) continue;
        std::vector<std::string> row = {table.models[m], table.columns[c]};
        for (const char* key : {"runtime", "runtime version", "device", "threads", "precision"}) {
          const auto& identity = table.identities[c];
          auto part = std::find_if(identity.begin(), identity.end(), [&](const auto& p) { return p.key == key; });
          row.push_back(part == identity.end() ? "" : part->value);
        }
        row.insert(row.end(), {std::to_string(cell.results), cell.failed() ? "" : Printf("%.6g", cell.median_ms),
                               cell.valid ? "true" : "false", Join(cell.reasons, "; "), Join(cell.warnings, "; "),
                               table.flops[m] ? Printf("%.0f", *table.flops[m]) : ""});
        rows.push_back(std::move(row));
      }
    }
    return RenderTable(style,
                       {"model", "column", "runtime", "runtime_version", "device", "threads", "precision", "n",
                        "median_ms", "valid", "reasons", "warnings", "flops"},
                       rows, {});
  }
  const std::vector<std::string> header = table.HeaderCells();
  std::vector<bool> numeric(header.size(), true);
  numeric[0] = false;
  auto rows = table.RowCells();
  if (style == TableStyle::kMarkdown) {
    for (auto& row : rows) {
      for (auto& cell : row) cell = MarkdownText(cell);
    }
  }
  return RenderTable(style, header, rows, numeric) + VerdictLines(table.counts, table.notes, style) + "\n" +
         kLatencyTableNote + "\n";
}

std::string FormatPrecisionTable(const std::vector<BenchResult>& results, TableStyle style) {
  auto rank = [](const std::string& precision) {
    return precision == "fp32" ? 0 : precision == "fp16" ? 1 : precision == "int8" ? 2 : 3;
  };
  // A result of a submitted model run as is (no conversion) is the fp32 row of its group, and the
  // accuracy reference when it ran on the reference runtime.
  std::set<std::string> sources;
  for (const auto& r : results) {
    if (r.conversion) sources.insert(ModelName(r.conversion->source_model));
  }
  if (sources.empty()) return "";
  std::vector<BenchResult> included;
  for (const auto& r : results) {
    if (r.conversion || sources.count(ModelName(r.model.path))) included.push_back(r);
  }
  const auto labels = ColumnLabels(included, {"precision"});
  struct Row {
    DuplicateGroup group;
    std::string model, precision, column;
    std::size_t group_index;  // of "model|column", in order of first appearance
  };
  std::vector<Row> rows_in;
  std::vector<std::string> groups;
  for (DuplicateGroup& group : GroupDuplicates(included)) {
    const BenchResult& first = *group.results.front();
    const std::string model = first.conversion ? ModelName(first.conversion->source_model) : ModelName(first.model.path);
    std::vector<IdentityPart> without_precision;
    for (const auto& part : group.identity) {
      if (part.key != "precision") without_precision.push_back(part);
    }
    const std::string column = labels.at(IdentityKey(group.identity));
    const std::size_t index = IndexOf(groups, model + "|" + IdentityKey(without_precision));
    rows_in.push_back({std::move(group), model, first.conversion ? first.conversion->precision : "fp32", column, index});
  }
  std::stable_sort(rows_in.begin(), rows_in.end(), [&](const Row& a, const Row& b) {
    return a.group_index != b.group_index ? a.group_index < b.group_index : rank(a.precision) < rank(b.precision);
  });
  std::map<std::size_t, double> fp32_ms;  // per group
  for (const Row& row : rows_in) {
    if (row.precision == "fp32" && row.group.Succeeded() > 0) fp32_ms.emplace(row.group_index, row.group.MedianMs());
  }
  const bool csv = style == TableStyle::kCsv;
  const std::vector<std::string> header =
      csv ? std::vector<std::string>{"model", "column", "precision", "n", "median_ms", "vs_fp32", "error", "top1",
                                     "checked_on", "file_mb", "valid", "reasons", "warnings"}
          : std::vector<std::string>{"model", "runtime (device)", "precision", "median", "vs fp32", "error", "top-1",
                                     "checked on", "file MB"};
  VerdictNotes notes;
  std::vector<std::vector<std::string>> rows;
  for (const Row& in : rows_in) {
    const DuplicateGroup& group = in.group;
    const BenchResult& r = *group.results.front();
    const std::string mark = notes.Mark(group.Valid(), group.Reasons(), group.Warnings());
    std::vector<std::string> row = {in.model, in.column, in.precision};
    if (csv) row.push_back(std::to_string(group.results.size()));
    if (group.Succeeded() == 0) {
      row.insert(row.end(), {"failed " + mark, ""});
      if (csv) row[row.size() - 2] = "";
    } else {
      const auto fp32 = fp32_ms.find(in.group_index);
      const double median = group.MedianMs();
      const bool ratio = fp32 != fp32_ms.end() && median > 0;
      row.push_back(csv ? Printf("%.6g", median) : Figure(median, group.Succeeded(), mark));
      row.push_back(!ratio ? "" : Printf(csv ? "%.3f" : "%.2fx", fp32->second / median));
    }
    if (!r.conversion) {
      row.insert(row.end(), {"", "", "(as submitted)"});
    } else {
      const auto& accuracy = r.conversion->accuracy;
      row.push_back(accuracy ? Printf("%.3g", accuracy->max_rel_error) : "");
      row.push_back(accuracy && accuracy->top1_agreement
                        ? Printf(csv ? "%.4g" : "%.0f%%", (csv ? 1 : 100) * *accuracy->top1_agreement)
                        : "");
      row.push_back(accuracy ? accuracy->runtime : "");
    }
    row.push_back(Printf("%.2f", double(r.model.size_bytes) / (1 << 20)));
    if (csv) row.insert(row.end(), {group.Valid() ? "true" : "false", Join(group.Reasons(), "; "), Join(group.Warnings(), "; ")});
    if (style == TableStyle::kMarkdown) {
      for (auto& cell : row) cell = MarkdownText(cell);
    }
    rows.push_back(std::move(row));
  }
  if (csv) return RenderTable(style, header, rows, {});
  return RenderTable(style, header, rows, {false, false, false, true, true, true, true, false, true}) +
         VerdictLines(CountVerdicts(included), notes, style) + "\n" + kPrecisionTableNote + "\n";
}

std::string FormatOperatorShareTables(const std::vector<BenchResult>& results, int top_k,
                                      TableStyle style) {
  // Per model, the profiled results in order of first appearance of their column.
  const auto labels = ColumnLabels(results);
  const auto column_name = [&labels](const BenchResult& r) { return labels.at(IdentityKey(TimingIdentity(r))); };
  std::vector<std::string> models;
  std::vector<std::vector<const BenchResult*>> profiled;
  for (const auto& r : results) {
    if (!r.profile || r.profile_by_type.empty()) continue;
    const std::size_t model = IndexOf(models, ModelName(r.model.path));
    profiled.resize(models.size());
    auto& columns = profiled[model];
    const auto same_column = [&](const BenchResult* other) { return column_name(*other) == column_name(r); };
    if (std::find_if(columns.begin(), columns.end(), same_column) == columns.end()) columns.push_back(&r);
  }
  const auto shown = [top_k](const BenchResult& r) {
    return std::min(r.profile_by_type.size(), static_cast<std::size_t>(std::max(top_k, 0)));
  };
  if (style == TableStyle::kCsv) {  // long format: one line per model, column and kernel type
    std::vector<std::vector<std::string>> rows;
    for (std::size_t m = 0; m < models.size(); ++m) {
      for (const BenchResult* r : profiled[m]) {
        for (std::size_t i = 0; i < shown(*r); ++i) {
          const KernelTypeShare& type = r->profile_by_type[i];
          rows.push_back({models[m], column_name(*r), std::to_string(i + 1), type.kernel_type,
                          std::to_string(type.kernels), MsNumber(type.ms_per_inference),
                          Printf("%.4f", type.share)});
        }
      }
    }
    return RenderTable(style, {"model", "column", "rank", "kernel_type", "kernels", "ms_per_inference", "share"},
                       rows, {});
  }
  std::string text;
  for (std::size_t m = 0; m < models.size(); ++m) {
    std::vector<std::string> header = {"#"};
    std::vector<bool> numeric = {true};
    std::size_t depth = 0;
    for (const BenchResult* r : profiled[m]) {
      header.insert(header.end(), {column_name(*r), "kernels", "share"});
      numeric.insert(numeric.end(), {false, true, true});
      depth = std::max(depth, shown(*r));
    }
    std::vector<std::vector<std::string>> rows;
    for (std::size_t i = 0; i < depth; ++i) {
      std::vector<std::string> row = {std::to_string(i + 1)};
      for (const BenchResult* r : profiled[m]) {
        if (i < shown(*r)) {
          const KernelTypeShare& type = r->profile_by_type[i];
          row.insert(row.end(), {type.kernel_type, std::to_string(type.kernels), Printf("%.1f%%", 100 * type.share)});
        } else {
          row.insert(row.end(), {"", "", ""});
        }
      }
      rows.push_back(std::move(row));
    }
    text += (style == TableStyle::kMarkdown ? "### " : "") + models[m] + "\n" +
            (style == TableStyle::kMarkdown ? "\n" : "") + RenderTable(style, header, rows, numeric) + "\n";
  }
  if (models.empty()) return "no result with an operator profile (run edgebench bench --profile)\n";
  return text + kOperatorShareNote + "\n";
}

std::string FormatAnalysisText(const std::vector<GroupAnalysis>& groups,
                               const std::vector<std::string>& skipped, const VerdictCounts& counts) {
  std::ostringstream out;
  out << VerdictSummary(counts) << "\n\n";
  VerdictNotes notes;
  for (const auto& g : groups) {
    out << g.label << ", " << g.runtime << " on " << g.device << ": " << g.points.size() << " models";
    if (!g.left_out.empty()) {
      out << " (" << g.left_out.size() << " INVALID left out of the correlations; --include-invalid keeps them)";
    }
    out << "\n";
    out << "  latency vs FLOPs:  Pearson " << Correlation(g.pearson_flops) << ", Spearman "
        << Correlation(g.spearman_flops) << "\n";
    out << "  latency vs params: Pearson " << Correlation(g.pearson_params) << ", Spearman "
        << Correlation(g.spearman_params) << "\n\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& p : g.points) {
      rows.push_back({p.model, Figure(p.latency_ms, p.results, notes.Mark(p.valid, p.reasons, p.warnings)),
                      Billions(p.flops), Printf("%.2fM", p.params / 1e6), Printf("%.2f", p.ms_per_gflop),
                      p.zero_flop_share ? Printf("%.1f%%", 100 * *p.zero_flop_share) : "-"});
    }
    if (!rows.empty()) {
      out << FormatTable({"model", "median", "FLOPs", "params", "ms/GFLOP", "zero-FLOP ops"}, rows,
                         {false, true, true, true, true, true});
    }
    for (const auto& p : g.left_out) {
      out << "  left out: " << p.model << " "
          << Figure(p.latency_ms, p.results, notes.Mark(p.valid, p.reasons, p.warnings)) << "\n";
    }
    out << "\n";
  }
  if (groups.empty()) out << "no result with FLOPs to analyse\n";
  out << notes.Footnotes(TableStyle::kText);
  for (const auto& reason : skipped) out << "skipped: " << reason << "\n";
  return out.str();
}

}  // namespace edgebench
