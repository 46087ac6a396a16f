// End to end: real `edgebench bench` results -> `edgebench report --format html` -> the page
// rendered by headless Chromium (DOM, screenshot, console). Chromium comes from tools/setup.sh
// (Debian package chromium); without it these tests fail, they do not skip.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "testing/process.h"
#include "testing/test_models.h"

namespace edgebench {
namespace {

using testing::ProcessResult;
using testing::RunProcess;

constexpr const char* kChartIds[] = {"latency-distribution", "operator-breakdown", "flops-vs-latency",
                                     "runtime-comparison"};

ProcessResult Edgebench(std::vector<std::string> args) {
  args.insert(args.begin(), EDGEBENCH_BINARY);
  return RunProcess(args);
}

// The program `name` on PATH (RunProcess does not search it); "" when there is none.
std::string FindOnPath(const std::string& name) {
  const char* path_env = std::getenv("PATH");
  std::stringstream dirs(path_env ? path_env : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const auto candidate = std::filesystem::path(dir) / name;
    if (std::filesystem::exists(candidate)) return candidate.string();
  }
  return "";
}

// $CHROMIUM, else chromium on PATH; "" when there is none.
std::string ChromiumPath() {
  if (const char* path = std::getenv("CHROMIUM"); path && *path) return path;
  return FindOnPath("chromium");
}

// Headless Chromium as root on a closed network (docs: ../.library machine facts), bounded by
// `timeout 60`, with a fresh profile directory, then `extra` flags, then the page.
ProcessResult Chromium(const std::string& page, std::vector<std::string> extra) {
  std::vector<std::string> argv = {FindOnPath("timeout"), "60", ChromiumPath(), "--headless", "--no-sandbox",
                                   "--disable-gpu", "--disable-quic", "--no-first-run",
                                   "--disable-background-networking", "--disable-component-update",
                                   "--disable-sync", "--hide-scrollbars",
                                   "--user-data-dir=" + testing::MakeTempDir()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back("file://" + page);
  return RunProcess(argv);
}

#define REQUIRE_CHROMIUM()                                                                          \
  if (ChromiumPath().empty())                                                                       \
  FAIL() << "chromium not found on PATH (nor $CHROMIUM): install it with tools/setup.sh (Debian " \
            "package chromium) to run the browser tests"

std::size_t Count(const std::string& text, const std::string& part) {
  std::size_t count = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++count;
  return count;
}

// The lines of Chromium's stderr log that carry a message of the page's console (errors, warnings
// and uncaught exceptions alike appear as "...:INFO:CONSOLE:<line>] "message", source: ...").
std::vector<std::string> ConsoleLines(const std::string& log) {
  std::vector<std::string> lines;
  std::stringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.find(":CONSOLE") != std::string::npos) lines.push_back(line);
  }
  return lines;
}

// Benchmarks three zoo models once (one with an operator profile, one under a name that needs
// escaping) and writes the HTML report of their result documents.
class HtmlReport : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const nlohmann::json listing = nlohmann::json::parse(Edgebench({"runtimes", "--json"}).out);
    for (const auto& runtime : listing["runtimes"]) {
      if (runtime["name"] == "onnxruntime") onnxruntime_ = runtime["available"].get<bool>();
    }
    if (!onnxruntime_) return;
    const std::string dir = testing::MakeTempDir();
    // A model name with markup characters: the report must show it as text.
    const std::string odd_name = dir + "/tiny<&>cnn.onnx";
    std::error_code copied;
    std::filesystem::copy_file(testing::ZooModel("tinycnn", "onnx"), odd_name, copied);
    if (copied) return;  // SetUp names the missing model
    const std::vector<std::pair<std::string, bool>> models = {
        {testing::ZooModel("mobilenetv2", "onnx"), true},
        {testing::ZooModel("squeezenet11", "onnx"), false},
        {odd_name, false}};
    std::vector<std::string> report = {"report"};
    for (std::size_t i = 0; i < models.size(); ++i) {
      const std::string json = dir + "/result" + std::to_string(i) + ".json";
      std::vector<std::string> args = {"bench", models[i].first, "-r", "onnxruntime", "--min-runs", "5",
                                       "--min-duration-ms", "0", "--warmup-runs", "1", "--warmup-min-ms",
                                       "0", "-q", "--json", json};
      if (models[i].second) args.push_back("--profile");
      const ProcessResult bench = Edgebench(args);
      bench_errors_ += bench.exit_code == 0 ? "" : models[i].first + ": " + bench.err + "\n";
      report.push_back(json);
    }
    page_ = dir + "/report.html";
    for (const char* flag : {"--format", "html", "-o"}) report.emplace_back(flag);
    report.push_back(page_);
    const ProcessResult written = Edgebench(report);
    bench_errors_ += written.exit_code == 0 ? "" : "report: " + written.err;
  }

  void SetUp() override {
    if (!onnxruntime_) GTEST_SKIP() << "runtime onnxruntime is not compiled in this build";
    for (const char* model : {"mobilenetv2", "squeezenet11", "tinycnn"}) {
      EB_REQUIRE_FILE(testing::ZooModel(model, "onnx"));
    }
    ASSERT_TRUE(bench_errors_.empty()) << bench_errors_;
    REQUIRE_CHROMIUM();
  }

  static inline bool onnxruntime_ = false;
  static inline std::string page_, bench_errors_;
};

TEST_F(HtmlReport, RenderedDomHasTheTableAndEveryChart) {
  const ProcessResult dump = Chromium(page_, {"--dump-dom"});
  ASSERT_EQ(dump.exit_code, 0) << dump.err;
  const std::string& dom = dump.out;
  EXPECT_EQ(Count(dom, "<table id=\"latency-table\">"), 1u) << dom;
  for (const char* id : kChartIds) EXPECT_EQ(Count(dom, std::string("<svg id=\"") + id + "\""), 1u) << id;
  // Three runs: three box plots with five sample dots each, at least, and three scatter points.
  EXPECT_GE(Count(dom, "<circle"), 3u * 5 + 3) << dom;
  EXPECT_GE(Count(dom, "<g class=\"box\">"), 3u);
  // The profiled run has stacked bars; the escaped name stays text in table and charts.
  EXPECT_NE(dom.find("Conv: "), std::string::npos);
  EXPECT_GE(Count(dom, "tiny&lt;&amp;&gt;cnn"), 3u);
  EXPECT_EQ(dom.find("<&>"), std::string::npos);
  EXPECT_NE(dom.find("Pearson"), std::string::npos);
  EXPECT_EQ(dom.find("http://"), std::string::npos);
  EXPECT_EQ(dom.find("https://"), std::string::npos);
}

TEST_F(HtmlReport, ScreenshotIsANonTrivialPng) {
  const std::string png = testing::MakeTempDir() + "/report.png";
  const ProcessResult shot = Chromium(page_, {"--screenshot=" + png, "--window-size=1280,2000"});
  ASSERT_EQ(shot.exit_code, 0) << shot.err;
  std::ifstream in(png, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GE(bytes.size(), 24u) << png;
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  auto be32 = [&bytes](std::size_t at) {
    return (uint32_t(uint8_t(bytes[at])) << 24) | (uint32_t(uint8_t(bytes[at + 1])) << 16) |
           (uint32_t(uint8_t(bytes[at + 2])) << 8) | uint32_t(uint8_t(bytes[at + 3]));
  };
  EXPECT_EQ(be32(16), 1280u);  // IHDR width
  EXPECT_EQ(bytes.substr(12, 4), "IHDR");
  EXPECT_EQ(be32(20), 2000u);  // IHDR height
  // A blank or near-blank page compresses to a few KiB; text, tables and charts do not.
  EXPECT_GT(bytes.size(), 40'000u);
}

TEST_F(HtmlReport, PageLogsNoConsoleMessages) {
  // The check itself first: a broken page's messages do show up in the log.
  const std::string broken = testing::MakeTempDir() + "/broken.html";
  std::ofstream(broken) << "<!DOCTYPE html><p>x</p><script>console.error('boom'); undefinedFn();</script>";
  const ProcessResult control = Chromium(broken, {"--enable-logging=stderr", "--v=0", "--dump-dom"});
  ASSERT_EQ(control.exit_code, 0) << control.err;
  ASSERT_EQ(ConsoleLines(control.err).size(), 2u) << control.err;

  const ProcessResult page = Chromium(page_, {"--enable-logging=stderr", "--v=0", "--dump-dom"});
  ASSERT_EQ(page.exit_code, 0) << page.err;
  EXPECT_TRUE(ConsoleLines(page.err).empty()) << page.err;
  EXPECT_NE(page.out.find("<svg id=\"flops-vs-latency\""), std::string::npos);
}

}  // namespace
}  // namespace edgebench
