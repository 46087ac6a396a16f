#include "edgebench/report.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
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

// Milliseconds with about four significant digits.
std::string Ms(double ms) {
  if (ms >= 1000) return Printf("%.0f", ms);
  if (ms >= 100) return Printf("%.1f", ms);
  if (ms >= 1) return Printf("%.3f", ms);
  return Printf("%.4f", ms);
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
    rows.push_back({type.kernel_type, std::to_string(type.kernels), Ms(type.ms_per_inference),
                    Printf("%.2f%%", 100 * type.share)});
  }
  std::string text = "\noperator profile (" + profile.source + ", " +
                     std::to_string(profile.profiled_runs) + " runs after the timed ones)\n" +
                     FormatTable({"kernel type", "kernels", "ms/inference", "share"}, rows,
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
                      Ms(transfers.ms_per_inference) + " ms/inference" +
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
      << FormatTable({"stage", "runs", "time (ms)"},
                     {{"load", "1", Ms(r.load_ms)},
                      {"first inference", "1", Ms(r.first_inference_ms)},
                      {"warm-up", std::to_string(r.warmup_runs), Ms(r.warmup_ms)},
                      {"timed runs", std::to_string(r.samples_ms.size()), Ms(r.measure_ms)}},
                     {false, true, true});
  const auto& l = r.latency_ms;
  out << "\n"
      << FormatTable({"latency (ms)", "mean", "std", "min", "p50", "p90", "p95", "p99", "max"},
                     {{"", Ms(l.mean), Ms(l.std), Ms(l.min), Ms(l.p50), Ms(l.p90), Ms(l.p95),
                       Ms(l.p99), Ms(l.max)}},
                     {false, true, true, true, true, true, true, true, true});
  out << "\nmedian " << Ms(l.p50) << " ms, 95% CI [" << Ms(l.median_ci95_low) << ", "
      << Ms(l.median_ci95_high) << "], CV " << Printf("%.1f%%", 100 * l.cv) << ", stopped: "
      << StopReasonName(r.stop_reason) << ", peak memory " << Bytes(r.peak_rss_bytes) << "\n";
  out << "spread   robust CV " << Printf("%.1f%%", 100 * l.robust_cv) << " (MAD " << Ms(l.mad) << " ms), "
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
    out << (v->tolerance ? (v->passed ? ", within " : ", ABOVE ") + Printf("%.3g", *v->tolerance) : "") << "\n";
  }
  if (r.profile) out << ProfileTable(*r.profile, r.profile_by_type);
  if (r.fusion) out << FusionTable(*r.fusion);
  if (!r.profile_by_provider.empty()) out << PlacementLine(r.profile_by_provider, r.profile ? &*r.profile : nullptr);
  out << "verdict  " << (r.validity.valid ? "VALID" : "INVALID") << "\n";
  for (const auto& reason : r.validity.reasons) out << "  reason: " << reason << "\n";
  for (const auto& warning : r.validity.warnings) out << "  warning: " << warning << "\n";
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

// A result's column in the comparison tables: runtime and device.
std::string ColumnName(const BenchResult& r) {
  return r.runtime_name + " (" + r.environment.hostname + ")";
}

std::size_t IndexOf(std::vector<std::string>& names, const std::string& name) {
  auto found = std::find(names.begin(), names.end(), name);
  if (found != names.end()) return static_cast<std::size_t>(found - names.begin());
  names.push_back(name);
  return names.size() - 1;
}

std::string Correlation(const std::optional<double>& value) {
  return value ? Printf("%+.2f", *value) : "n/a";
}

}  // namespace

LatencyTable BuildLatencyTable(const std::vector<BenchResult>& results) {
  LatencyTable table;
  for (const auto& r : results) {
    const std::size_t model = IndexOf(table.models, ModelName(r.model.path));
    const std::size_t column = IndexOf(table.columns, ColumnName(r));
    table.cells.resize(table.models.size());
    table.flops.resize(table.models.size());
    for (auto& row : table.cells) row.resize(table.columns.size());
    table.cells[model][column] = {true, r.failure.has_value(), r.failure ? 0 : r.latency_ms.p50};
    if (r.model_cost) table.flops[model] = static_cast<double>(r.model_cost->flops);
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
      row.push_back(!cell.measured ? "" : cell.failed ? "failed" : Ms(cell.median_ms));
    }
    row.push_back(flops[m] ? Billions(*flops[m]) : "");
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string FormatMilliseconds(double ms) { return Ms(ms); }

std::string FormatLatencyTable(const std::vector<BenchResult>& results, TableStyle style) {
  const LatencyTable table = BuildLatencyTable(results);
  const std::vector<std::string> header = table.HeaderCells();
  std::vector<bool> numeric(header.size(), true);
  numeric[0] = false;
  std::string text = RenderTable(style, header, table.RowCells(), numeric);
  if (style != TableStyle::kCsv) text += std::string("\n") + kLatencyTableNote + "\n";
  return text;
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
  struct Row {
    const BenchResult* result;
    std::string model, precision;
  };
  std::vector<Row> rows_in;
  std::vector<std::string> groups;  // "model|column", in order of first appearance
  for (const auto& r : results) {
    const std::string model = r.conversion ? ModelName(r.conversion->source_model) : ModelName(r.model.path);
    if (!r.conversion && !sources.count(model)) continue;
    rows_in.push_back({&r, model, r.conversion ? r.conversion->precision : "fp32"});
    IndexOf(groups, model + "|" + ColumnName(r));
  }
  auto group_of = [&](const Row& row) { return IndexOf(groups, row.model + "|" + ColumnName(*row.result)); };
  std::stable_sort(rows_in.begin(), rows_in.end(), [&](const Row& a, const Row& b) {
    const std::size_t ga = group_of(a), gb = group_of(b);
    return ga != gb ? ga < gb : rank(a.precision) < rank(b.precision);
  });
  std::map<std::size_t, double> fp32_ms;  // per group
  for (const Row& row : rows_in) {
    if (row.precision == "fp32" && !row.result->failure) fp32_ms.emplace(group_of(row), row.result->latency_ms.p50);
  }
  const std::vector<std::string> header = {"model", "runtime (device)", "precision", "median ms", "vs fp32",
                                           "error", "top-1", "checked on", "file MB"};
  std::vector<std::vector<std::string>> rows;
  for (const Row& in : rows_in) {
    const BenchResult& r = *in.result;
    std::vector<std::string> row = {in.model, ColumnName(r), in.precision};
    if (r.failure) {
      row.insert(row.end(), {"failed", ""});
    } else {
      const auto fp32 = fp32_ms.find(group_of(in));
      row.push_back(Ms(r.latency_ms.p50));
      row.push_back(fp32 != fp32_ms.end() && r.latency_ms.p50 > 0 ? Printf("%.2fx", fp32->second / r.latency_ms.p50)
                                                                  : "");
    }
    if (!r.conversion) {
      row.insert(row.end(), {"", "", "(as submitted)"});
    } else {
      const auto& accuracy = r.conversion->accuracy;
      row.push_back(accuracy ? Printf("%.3g", accuracy->max_rel_error) : "");
      row.push_back(accuracy && accuracy->top1_agreement ? Printf("%.0f%%", 100 * *accuracy->top1_agreement) : "");
      row.push_back(accuracy ? accuracy->runtime : "");
    }
    row.push_back(Printf("%.2f", double(r.model.size_bytes) / (1 << 20)));
    rows.push_back(std::move(row));
  }
  std::string text = RenderTable(style, header, rows, {false, false, false, true, true, true, true, false, true});
  if (style != TableStyle::kCsv) text += std::string("\n") + kPrecisionTableNote + "\n";
  return text;
}

std::string FormatOperatorShareTables(const std::vector<BenchResult>& results, int top_k,
                                      TableStyle style) {
  // Per model, the profiled results in order of first appearance of their column.
  std::vector<std::string> models;
  std::vector<std::vector<const BenchResult*>> profiled;
  for (const auto& r : results) {
    if (!r.profile || r.profile_by_type.empty()) continue;
    const std::size_t model = IndexOf(models, ModelName(r.model.path));
    profiled.resize(models.size());
    auto& columns = profiled[model];
    const auto same_column = [&](const BenchResult* other) { return ColumnName(*other) == ColumnName(r); };
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
          rows.push_back({models[m], ColumnName(*r), std::to_string(i + 1), type.kernel_type,
                          std::to_string(type.kernels), Ms(type.ms_per_inference),
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
      header.insert(header.end(), {ColumnName(*r), "kernels", "share"});
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
                               const std::vector<std::string>& skipped) {
  std::ostringstream out;
  for (const auto& g : groups) {
    out << g.runtime << " on " << g.device << ": " << g.points.size() << " models\n";
    out << "  latency vs FLOPs:  Pearson " << Correlation(g.pearson_flops) << ", Spearman "
        << Correlation(g.spearman_flops) << "\n";
    out << "  latency vs params: Pearson " << Correlation(g.pearson_params) << ", Spearman "
        << Correlation(g.spearman_params) << "\n\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& p : g.points) {
      rows.push_back({p.model, Ms(p.latency_ms), Billions(p.flops), Printf("%.2fM", p.params / 1e6),
                      Printf("%.2f", p.ms_per_gflop),
                      p.zero_flop_share ? Printf("%.1f%%", 100 * *p.zero_flop_share) : "-"});
    }
    out << FormatTable({"model", "median ms", "FLOPs", "params", "ms/GFLOP", "zero-FLOP ops"}, rows,
                       {false, true, true, true, true, true})
        << "\n";
  }
  if (groups.empty()) out << "no result with FLOPs to analyse\n";
  for (const auto& reason : skipped) out << "skipped: " << reason << "\n";
  return out.str();
}

}  // namespace edgebench
