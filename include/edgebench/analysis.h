// Analyses across results: does latency follow FLOPs or parameters?
// How much time goes to operators that count zero FLOPs? Pure functions over result documents.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "edgebench/result.h"

namespace edgebench {

// Pearson correlation coefficient; nullopt for fewer than 3 points or a constant series.
std::optional<double> Pearson(std::span<const double> x, std::span<const double> y);

// Spearman rank correlation: Pearson over ranks, ties get their average rank.
std::optional<double> Spearman(std::span<const double> x, std::span<const double> y);

// Least-squares line y = intercept + slope * x; nullopt for fewer than 2 points or a constant x.
struct LineFit {
  double slope = 0;      // units of y per unit of x
  double intercept = 0;  // units of y
};
std::optional<LineFit> FitLine(std::span<const double> x, std::span<const double> y);

// 1-based ranks with ties averaged: {10, 20, 20, 5} -> {2, 3.5, 3.5, 1}.
std::vector<double> AverageRanks(std::span<const double> values);

// Kernel types that carry FLOPs in docs/inspect.md's convention (convolutions and matrix
// products under each runtime's own names); every other kernel type counts zero FLOPs.
bool IsFlopKernelType(const std::string& kernel_type);

// A model's name across formats: the file name without directories and extension, so that
// mobilenetv2.onnx and mobilenetv2.pt (the zoo's twins) are the same model.
std::string ModelName(const std::string& path);

// The device a result is named by in every table: BenchResult::device, or the hostname of a
// document older than that field.
std::string DeviceName(const BenchResult& result);

// One thing a result's figure depends on besides the model: `key` compares ("threads",
// "option intra_op_spin", ...), `label` says it in a column name ("t=2", "intra_op_spin=0").
struct IdentityPart {
  std::string key, value, label;
};

// What a result's latency depends on besides the model (its sha256): runtime, runtime version,
// device, threads, each requested runtime option, each shape override, precision (of a model the
// server converted), input files and seed (data-dependent kernels, denormals). Results that differ
// in any part are shown apart; results equal in all of them and in the model are duplicates.
// Warm-up, stop rules (runs, durations, target CI) and validity thresholds are left out: they
// change how many samples back the median and the verdict, not what is measured; profiling and
// verification run after the timed runs. The list is TimingIdentity in analysis.cc.
std::vector<IdentityPart> TimingIdentity(const BenchResult& result);

// A string equal for equal identities, different otherwise (a map key).
std::string IdentityKey(const std::vector<IdentityPart>& identity);

// Results of one model with one TimingIdentity: one figure in every table, their medians'
// median, trusted only when every one of them is valid.
struct DuplicateGroup {
  std::string model;  // ModelName, plus "@" and the sha256's first 8 digits when two files of
                      // that name ran with the same identity
  std::vector<IdentityPart> identity;
  std::vector<const BenchResult*> results;  // in input order
  std::size_t Succeeded() const;            // results without a failure
  double MedianMs() const;                  // median of the successful results' p50; 0 when none
  bool Valid() const;                       // every result valid, none failed
  std::vector<std::string> Reasons() const;   // distinct reasons and failures, in order
  std::vector<std::string> Warnings() const;  // distinct warnings, in order
};

// `results` grouped by model and TimingIdentity, in order of first appearance.
std::vector<DuplicateGroup> GroupDuplicates(const std::vector<BenchResult>& results);

// A name per identity, in the same order: the runtime, the parts in which it differs from another
// identity of the same runtime and device, and the device in parentheses
// ("onnxruntime t=2 (pi)"). Parts whose key is in `omit` are never named.
std::vector<std::string> IdentityLabels(const std::vector<std::vector<IdentityPart>>& identities,
                                        const std::vector<std::string>& omit = {});

// IdentityLabels of the distinct identities of `results`, by IdentityKey.
std::map<std::string, std::string> ColumnLabels(const std::vector<BenchResult>& results,
                                                const std::vector<std::string>& omit = {});

struct ModelPoint {
  std::string model;  // ModelName of the result's file
  double latency_ms = 0;  // median (of the duplicates' medians)
  int results = 1;        // duplicates aggregated into the point
  bool valid = true;      // every one of them valid
  std::vector<std::string> reasons, warnings;  // theirs, distinct
  double flops = 0;
  double params = 0;
  double ms_per_gflop = 0;
  std::optional<double> zero_flop_share;  // of profiled kernel time, when a profile exists
};

// One TimingIdentity (device, runtime and settings): the models measured with it.
struct GroupAnalysis {
  std::string device;   // DeviceName (CPU model)
  std::string runtime;  // "name version"
  std::string label;    // IdentityLabels of the groups: "onnxruntime t=2 (pi)"
  std::vector<ModelPoint> points;  // by ms_per_gflop, descending (least efficient first)
  // Points with an INVALID result, kept out of the correlations and the fit (include_invalid
  // false), in input order.
  std::vector<ModelPoint> left_out;
  std::optional<double> pearson_flops, spearman_flops, pearson_params, spearman_params;
  std::optional<LineFit> fit_flops;  // latency_ms = intercept + slope * flops (ms, ms per FLOP)
};

// Groups successful results by TimingIdentity (so two thread counts are two groups); duplicates
// of a model are one point (GroupDuplicates). A result without FLOPs (a TorchScript file)
// borrows them from another result of the same ModelName (its ONNX twin); results still
// without FLOPs, and failed ones, are skipped and named in `skipped`. Points with an INVALID
// result go to `left_out` instead of `points` unless `include_invalid`.
std::vector<GroupAnalysis> AnalyzeResults(const std::vector<BenchResult>& results,
                                          std::vector<std::string>* skipped = nullptr,
                                          bool include_invalid = false);

}  // namespace edgebench
