// `edgebench report` and `edgebench analyze`: tables and analyses over saved result documents
// (`edgebench bench --json FILE`).
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.h"
#include "edgebench/analysis.h"
#include "edgebench/html_report.h"
#include "edgebench/json_text.h"
#include "edgebench/report.h"
#include "edgebench/result_json.h"

namespace edgebench::cli {
namespace {

struct Documents {
  std::vector<BenchResult> results;
  std::vector<ComparisonResult> comparisons;  // only where the command takes them
};

// Reads result documents (and comparison documents when `comparisons_too`): each file holds one
// document or an array of them.
Expected<Documents> ReadDocuments(const std::vector<std::string>& paths, bool comparisons_too) {
  Documents documents;
  for (const auto& path : paths) {
    std::ifstream in(path);
    if (!in) return NotFound(path + ": cannot open");
    const nlohmann::json document = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (document.is_discarded()) return InvalidArgument(path + ": not valid JSON");
    const auto items = document.is_array() ? document : nlohmann::json::array({document});
    for (const auto& item : items) {
      if (item.is_object() && item.value("schema", "") == kComparisonSchema) {
        if (!comparisons_too) {
          return InvalidArgument(path + ": is a comparison document (edgebench compare): 'edgebench report' "
                                        "prints it");
        }
        auto comparison = ComparisonFromJson(item);
        if (!comparison.ok()) return InvalidArgument(path + ": " + comparison.error().message);
        documents.comparisons.push_back(std::move(*comparison));
        continue;
      }
      auto result = BenchResultFromJson(item);
      if (!result.ok()) return InvalidArgument(path + ": " + result.error().message);
      documents.results.push_back(std::move(*result));
    }
  }
  return documents;
}

// Result documents only.
Expected<std::vector<BenchResult>> ReadResults(const std::vector<std::string>& paths) {
  auto documents = ReadDocuments(paths, false);
  if (!documents.ok()) return documents.error();
  return std::move(documents->results);
}

nlohmann::json OptionalJson(const std::optional<double>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

nlohmann::json AnalysisJson(const std::vector<GroupAnalysis>& groups, const std::vector<std::string>& skipped,
                            const VerdictCounts& counts) {
  nlohmann::json list = nlohmann::json::array();
  auto points_json = [](const std::vector<ModelPoint>& points) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& p : points) {
      list.push_back({{"model", p.model}, {"latency_ms", p.latency_ms}, {"results", p.results},
                      {"valid", p.valid}, {"reasons", p.reasons}, {"warnings", p.warnings},
                      {"flops", p.flops}, {"params", p.params}, {"ms_per_gflop", p.ms_per_gflop},
                      {"zero_flop_share", OptionalJson(p.zero_flop_share)}});
    }
    return list;
  };
  for (const auto& g : groups) {
    list.push_back({{"device", g.device}, {"runtime", g.runtime}, {"label", g.label},
                    {"models", points_json(g.points)}, {"left_out_invalid", points_json(g.left_out)},
                    {"pearson_flops", OptionalJson(g.pearson_flops)},
                    {"spearman_flops", OptionalJson(g.spearman_flops)},
                    {"pearson_params", OptionalJson(g.pearson_params)},
                    {"spearman_params", OptionalJson(g.spearman_params)}});
  }
  return {{"groups", list},
          {"skipped", skipped},
          {"verdicts",
           {{"results", counts.results}, {"valid", counts.valid}, {"invalid", counts.invalid},
            {"failed", counts.failed}, {"with_warnings", counts.warned}}}};
}

}  // namespace

void AddReportCommand(CLI::App& app, int& exit_code) {
  struct Flags {
    std::vector<std::string> results;
    std::string format = "text";
    std::string table = "latency";
    int top_k = 5;
    std::string output = "-";
    bool only_valid = false;
  };
  auto flags = std::make_shared<Flags>();
  auto* command = app.add_subcommand("report", "The latency matrix (or operator shares, or the precision table) of saved results");
  command->footer(
      "Examples:\n  edgebench report results/*.json --format md -o latency.md\n"
      "  edgebench report results/*.json --table ops --top 5   (operator shares per runtime, side by side)\n"
      "  edgebench report results/*.json --table precision   (fp32/fp16/int8 latency and accuracy cost)\n"
      "  edgebench report results/*.json --format html -o report.html  (one self-contained page with charts)");
  command->add_option("results", flags->results,
                      "Result documents (bench --json FILE) and comparison documents (compare --json FILE)")
      ->required();
  command->add_option("--format", flags->format, "text, md, csv or html")
      ->check(CLI::IsMember({"text", "md", "csv", "html"}))
      ->capture_default_str();
  command->add_option("--table", flags->table,
                      "latency: the latency matrix, models x runtime/device; ops: top kernel types per "
                      "runtime/device for each model (operator shares; needs bench --profile results); "
                      "precision: fp32 vs fp16 vs int8 of the models the server converted, latency beside "
                      "the conversion's accuracy cost")
      ->check(CLI::IsMember({"latency", "ops", "precision"}))
      ->capture_default_str();
  command->add_option("--top", flags->top_k, "Kernel types per column with --table ops")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  command->add_option("-o,--output", flags->output, "Output file ('-' = stdout)")->capture_default_str();
  command->add_flag("--only-valid", flags->only_valid,
                    "Leave out INVALID and failed results (by default they show, marked !)");
  command->callback([flags, &exit_code] {
    if (flags->format == "html" && flags->table != "latency") {
      exit_code = ReportError(InvalidArgument("--table " + flags->table +
                                              " has no html form: use text, md or csv"));
      return;
    }
    auto documents = ReadDocuments(flags->results, true);
    if (!documents.ok()) {
      exit_code = ReportError(documents.error());
      return;
    }
    std::vector<BenchResult>* results = &documents->results;
    const auto& comparisons = documents->comparisons;
    if (!comparisons.empty() && (flags->format == "csv" || flags->format == "html" || flags->table != "latency")) {
      exit_code = ReportError(InvalidArgument("comparison documents (edgebench compare) have text and md forms of "
                                              "the latency table only"));
      return;
    }
    if (flags->only_valid) *results = OnlyValid(*results);
    const TableStyle style = flags->format == "md" ? TableStyle::kMarkdown
                             : flags->format == "csv" ? TableStyle::kCsv
                                                      : TableStyle::kText;
    std::string document =
        flags->format == "html"       ? FormatHtmlReport(*results)
        : flags->table == "ops"       ? FormatOperatorShareTables(*results, flags->top_k, style)
        : flags->table == "precision" ? FormatPrecisionTable(*results, style)
        : results->empty() && !comparisons.empty() ? std::string()
                                      : FormatLatencyTable(*results, style);
    // Each comparison after the latency matrix, as `edgebench compare` prints it.
    for (const auto& comparison : comparisons) {
      if (!flags->only_valid || comparison.validity.valid) {
        const std::string text = FormatComparisonText(comparison);
        document += (document.empty() ? "" : "\n") + (style == TableStyle::kMarkdown ? "```\n" + text + "```\n" : text);
      }
    }
    if (document.empty() && !comparisons.empty()) document = "(no valid comparison)\n";
    if (document.empty()) {
      exit_code = ReportError(InvalidArgument(
          "no result has a conversion: --table precision compares models the server converted "
          "(edgebench submit M.onnx --runtime tflite --precision int8)"));
      return;
    }
    Status written = WriteOutput(flags->output, document);
    exit_code = written.ok() ? kExitOk : ReportError(written.error());
  });
}

void AddAnalyzeCommand(CLI::App& app, int& exit_code) {
  struct Flags {
    std::vector<std::string> results;
    bool json = false;
    bool only_valid = false;
    bool include_invalid = false;
  };
  auto flags = std::make_shared<Flags>();
  auto* command = app.add_subcommand(
      "analyze", "Does latency follow FLOPs? Correlations, ms per GFLOP, zero-FLOP operator time");
  command->footer("Example:\n  edgebench analyze results/*.json");
  command->add_option("results", flags->results, "Result documents (bench --json FILE)")->required();
  command->add_flag("--json", flags->json, "Print machine-readable JSON on stdout");
  command->add_flag("--only-valid", flags->only_valid,
                    "Leave out INVALID and failed results entirely (not even listed)");
  command->add_flag("--include-invalid", flags->include_invalid,
                    "Keep INVALID results in the correlations and fits (marked !); by default they are "
                    "left out and listed");
  command->callback([flags, &exit_code] {
    if (flags->only_valid && flags->include_invalid) {
      exit_code = ReportError(InvalidArgument("--include-invalid and --only-valid contradict each other: give one"));
      return;
    }
    auto results = ReadResults(flags->results);
    if (!results.ok()) {
      exit_code = ReportError(results.error());
      return;
    }
    if (flags->only_valid) *results = OnlyValid(*results);
    std::vector<std::string> skipped;
    const auto groups = AnalyzeResults(*results, &skipped, flags->include_invalid);
    if (flags->json) {
      std::cout << DumpJson(AnalysisJson(groups, skipped, CountVerdicts(*results)), 2) << "\n";
    } else {
      std::cout << FormatAnalysisText(groups, skipped, CountVerdicts(*results));
    }
    exit_code = kExitOk;
  });
}

}  // namespace edgebench::cli
