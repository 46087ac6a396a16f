// `edgebench zoo list`: the generated model zoo (tools/zoo, written by tools/setup.sh into
// $EDGEBENCH_CACHE_DIR/zoo): what is there, where, and its size on paper.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.h"
#include "edgebench/json_text.h"
#include "edgebench/report.h"

namespace edgebench::cli {
namespace {

std::filesystem::path ZooDir() {
  if (const char* cache = std::getenv("EDGEBENCH_CACHE_DIR"); cache && *cache) {
    return std::filesystem::path(cache) / "zoo";
  }
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home ? home : "/") / ".cache" / "edgebench" / "zoo";
}

std::string Millions(double value, const char* unit, double scale) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f%s", value / scale, unit);
  return text;
}

// One entry per model directory with a model.json (written last by the generator, so a
// directory without it is an interrupted generation and is skipped).
Expected<nlohmann::json> ReadZoo(const std::filesystem::path& dir) {
  nlohmann::json models = nlohmann::json::array();
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return NotFound(dir.string() + ": no zoo here (run tools/setup.sh, or set EDGEBENCH_CACHE_DIR)");
  }
  std::vector<std::filesystem::path> entries;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) entries.push_back(entry.path());
  std::sort(entries.begin(), entries.end());
  for (const auto& path : entries) {
    std::ifstream in(path / "model.json");
    if (!in) continue;
    nlohmann::json model = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (model.is_discarded() || !model.contains("name")) {
      return BadModel((path / "model.json").string() + ": not valid JSON (regenerate with tools/setup.sh)");
    }
    nlohmann::json files = nlohmann::json::object();
    for (const char* format : {"onnx", "torchscript"}) {
      if (!model.contains(format)) continue;
      const auto file = path / model[format].value("file", "");
      if (std::filesystem::exists(file)) files[format] = file.string();
    }
    models.push_back({{"name", model["name"]},
                      {"input_shape", model["input"].value("shape", nlohmann::json::array())},
                      {"params", model.value("params", int64_t{0})},
                      {"flops", model.value("flops", int64_t{0})},
                      {"description", model.value("description", "")},
                      {"dynamic_axes", model["input"].value("dynamic_axes", nlohmann::json::object())},
                      {"files", files}});
  }
  return models;
}

}  // namespace

Expected<std::vector<std::string>> ZooOnnxModels() {
  auto models = ReadZoo(ZooDir());
  if (!models.ok()) return models.error();
  std::vector<std::string> paths;
  for (const auto& model : *models) {
    if (model["files"].contains("onnx") && model["dynamic_axes"].empty()) paths.push_back(model["files"]["onnx"].get<std::string>());
  }
  return paths;
}

void AddZooCommand(CLI::App& app, int& exit_code) {
  auto* zoo = app.add_subcommand("zoo", "The generated model zoo (tools/zoo)");
  zoo->require_subcommand(1);
  auto* list = zoo->add_subcommand("list", "Models in the zoo, their files and size on paper");
  auto json = std::make_shared<bool>(false);
  list->add_flag("--json", *json, "Print machine-readable JSON on stdout");
  list->callback([json, &exit_code] {
    const auto dir = ZooDir();
    auto models = ReadZoo(dir);
    if (!models.ok()) {
      exit_code = ReportError(models.error());
      return;
    }
    if (*json) {
      std::cout << DumpJson(nlohmann::json{{"zoo", dir.string()}, {"models", *models}}, 2) << "\n";
    } else {
      std::vector<std::vector<std::string>> rows;
      for (const auto& m : *models) {
        std::vector<int64_t> shape = m["input_shape"].get<std::vector<int64_t>>();
        std::string formats;
        for (const auto& [format, path] : m["files"].items()) formats += (formats.empty() ? "" : ",") + format;
        rows.push_back({m["name"], FormatShape(shape), Millions(m["params"].get<double>(), " M", 1e6),
                        Millions(m["flops"].get<double>(), " G", 1e9), formats});
      }
      std::cout << "zoo " << dir.string() << "  (files: <zoo>/<name>/<name>.onnx, .pt)\n\n"
                << FormatTable({"model", "input", "params", "FLOPs", "formats"}, rows,
                               {false, false, true, true, false});
    }
    exit_code = kExitOk;
  });
}

}  // namespace edgebench::cli
