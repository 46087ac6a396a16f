// Analyses across results: does latency follow FLOPs or parameters?
// How much time goes to operators that count zero FLOPs? Pure functions over result documents.
#pragma once

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

struct ModelPoint {
  std::string model;  // ModelName of the result's file
  double latency_ms = 0;  // median
  double flops = 0;
  double params = 0;
  double ms_per_gflop = 0;
  std::optional<double> zero_flop_share;  // of profiled kernel time, when a profile exists
};

// One device (host + CPU) and runtime: the models measured there.
struct GroupAnalysis {
  std::string device;
  std::string runtime;  // "name version"
  std::vector<ModelPoint> points;  // by ms_per_gflop, descending (least efficient first)
  std::optional<double> pearson_flops, spearman_flops, pearson_params, spearman_params;
  std::optional<LineFit> fit_flops;  // latency_ms = intercept + slope * flops (ms, ms per FLOP)
};

// Groups successful results by device and runtime. A result without FLOPs (a TorchScript file)
// borrows them from another result of the same ModelName (its ONNX twin); results still
// without FLOPs, and failed ones, are skipped and named in `skipped`.
std::vector<GroupAnalysis> AnalyzeResults(const std::vector<BenchResult>& results,
                                          std::vector<std::string>* skipped = nullptr);

}  // namespace edgebench
