// End-to-end tests of the `edgebench` binary: real process, real runtimes, real model files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <tuple>

#include "edgebench/kernel_dataset.h"
#include "edgebench/kernel_models.h"
#include "edgebench/settings.h"
#include "testing/backend_testing.h"
#include "testing/process.h"
#include "testing/test_models.h"

namespace edgebench {
namespace {

using testing::RunProcess;

testing::ProcessResult Edgebench(std::vector<std::string> args) {
  args.insert(args.begin(), EDGEBENCH_BINARY);
  return RunProcess(args);
}

// Fast settings: few runs, no minimum durations.
std::vector<std::string> Quick(std::vector<std::string> args) {
  for (const char* flag : {"--min-runs", "5", "--warmup-runs", "1", "--warmup-min-ms", "0",
                           "--min-duration-ms", "0", "-q"}) {
    args.emplace_back(flag);
  }
  return args;
}

bool RuntimeCompiled(const std::string& name) {
  static const nlohmann::json listing = nlohmann::json::parse(Edgebench({"runtimes", "--json"}).out);
  for (const auto& runtime : listing["runtimes"]) {
    if (runtime["name"] == name) return runtime["available"].get<bool>();
  }
  return false;
}

#define REQUIRE_RUNTIME(name) \
  if (!RuntimeCompiled(name)) GTEST_SKIP() << "runtime " << (name) << " is not compiled in this build"

std::string WriteFile(const std::string& name, const std::string& bytes) {
  const std::string path = testing::MakeTempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string Truncated(const std::string& source, const std::string& name) {
  std::ifstream in(source, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return WriteFile(name, bytes.substr(0, bytes.size() / 2));
}

std::string RandomBytes(std::size_t size, const std::string& prefix = "") {
  std::mt19937 engine(7);
  std::string bytes = prefix;
  while (bytes.size() < size) bytes.push_back(static_cast<char>(engine() & 0xff));
  return bytes;
}

// A bad-input run: exit code 2, one line on stderr that contains every fragment.
void ExpectBadInput(const testing::ProcessResult& result, const std::vector<std::string>& fragments) {
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  EXPECT_EQ(result.err.rfind("edgebench: ", 0), 0u) << result.err;
  for (const auto& fragment : fragments) {
    EXPECT_NE(result.err.find(fragment), std::string::npos) << "'" << fragment << "' not in: " << result.err;
  }
}

TEST(Cli, HelpAndUsage) {
  auto help = Edgebench({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("Exit codes"), std::string::npos);
  EXPECT_EQ(Edgebench({"bench", "--help"}).exit_code, 0);
  EXPECT_EQ(Edgebench({}).exit_code, 2);
  EXPECT_EQ(Edgebench({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(Edgebench({"bench", "--runtime", "null"}).exit_code, 2);  // no model
  EXPECT_EQ(Edgebench({"bench", "m.onnx", "--runtime", "null", "--min-runs", "x"}).exit_code, 2);
}

TEST(Cli, RuntimesJsonListsEveryBackend) {
  auto result = Edgebench({"runtimes", "--json"});
  ASSERT_EQ(result.exit_code, 0);
  const auto runtimes = nlohmann::json::parse(result.out)["runtimes"];
  std::set<std::string> names;
  for (const auto& runtime : runtimes) {
    names.insert(runtime["name"]);
    if (!runtime["available"].get<bool>()) EXPECT_FALSE(runtime["reason"].get<std::string>().empty());
  }
  for (const char* name : {"null", "onnxruntime", "opencv", "libtorch", "tflite", "tensorrt"}) {
    EXPECT_TRUE(names.count(name)) << name;
  }
  auto text = Edgebench({"runtimes"});
  EXPECT_NE(text.out.find("tensorrt"), std::string::npos);
}

// The binary links no runtime: each one is a plugin module loaded when asked for.
TEST(Cli, BinaryLinksNoRuntime) {
  auto ldd = RunProcess({"/usr/bin/ldd", EDGEBENCH_BINARY});
  ASSERT_EQ(ldd.exit_code, 0) << ldd.err;
  // Nor XGBoost: the predictor loads it when it needs it, so other commands do not start slower.
  for (const char* library : {"onnxruntime", "opencv_dnn", "libtorch", "tensorflowlite", "armnn", "xgboost"}) {
    EXPECT_EQ(ldd.out.find(library), std::string::npos) << library << " is linked:\n" << ldd.out;
  }
}

TEST(Cli, PluginDirectoryDecidesWhichRuntimesLoad) {
  std::string null_plugin;
  const auto all = nlohmann::json::parse(Edgebench({"runtimes", "--json"}).out);
  for (const auto& runtime : all["runtimes"]) {
    if (runtime["name"] == "null") null_plugin = runtime["plugin"];
  }
  ASSERT_FALSE(null_plugin.empty());
  const std::string directory = testing::MakeTempDir();
  std::filesystem::copy_file(null_plugin, directory + "/libedgebench_rt_null.so");
  std::ofstream(directory + "/libedgebench_rt_broken.so") << "not an ELF file";
  auto in_directory = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"/usr/bin/env", "EDGEBENCH_PLUGIN_DIR=" + directory, EDGEBENCH_BINARY});
    return RunProcess(args);
  };

  auto listing = in_directory({"runtimes", "--json"});
  ASSERT_EQ(listing.exit_code, 0) << listing.err;
  std::map<std::string, nlohmann::json> by_name;
  const auto listed = nlohmann::json::parse(listing.out);
  for (const auto& runtime : listed["runtimes"]) by_name[runtime["name"]] = runtime;
  EXPECT_TRUE(by_name["null"]["available"].get<bool>());
  EXPECT_EQ(by_name["null"]["plugin"], directory + "/libedgebench_rt_null.so");
  ASSERT_TRUE(by_name.count("broken"));  // found in the directory, though this build has no such runtime
  EXPECT_FALSE(by_name["broken"]["available"].get<bool>());
  EXPECT_NE(by_name["broken"]["reason"].get<std::string>().find("cannot load " + directory), std::string::npos)
      << by_name["broken"];
  EXPECT_NE(by_name["onnxruntime"]["reason"].get<std::string>().find("libedgebench_rt_onnxruntime.so not found in " +
                                                                     directory),
            std::string::npos)
      << by_name["onnxruntime"];

  const std::string model = WriteFile("m.onnx", std::string("\x08\x07", 2));
  EXPECT_EQ(in_directory(Quick({"bench", model, "--runtime", "null"})).exit_code, 0);
  auto missing = in_directory(Quick({"bench", model, "--runtime", "onnxruntime"}));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("libedgebench_rt_onnxruntime.so not found"), std::string::npos) << missing.err;
  auto broken = in_directory(Quick({"bench", model, "--runtime", "broken"}));
  EXPECT_EQ(broken.exit_code, 2);
  EXPECT_NE(broken.err.find("cannot load"), std::string::npos) << broken.err;
}

TEST(Cli, NullBenchWritesTheResultDocument) {
  const std::string model = WriteFile("m.onnx", std::string("\x08\x07", 2));
  auto result = Edgebench(Quick({"bench", model, "--runtime", "null", "--json", "-"}));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto document = nlohmann::json::parse(result.out);
  EXPECT_EQ(document["schema"], "edgebench.result/1");
  EXPECT_EQ(document["runs"], 5);
  EXPECT_EQ(document["samples_ms"].size(), 5u);
  EXPECT_TRUE(document["validity"].contains("valid"));

  const std::string json_path = testing::MakeTempDir() + "/result.json";
  auto to_file = Edgebench(Quick({"bench", model, "--runtime", "null", "--json", json_path}));
  ASSERT_EQ(to_file.exit_code, 0);
  EXPECT_NE(to_file.out.find("latency ("), std::string::npos);  // the table still prints
  std::ifstream in(json_path);
  EXPECT_EQ(nlohmann::json::parse(in)["runtime"]["name"], "null");
}

// Every setting of the table is a flag of each command that takes it (edgebench/settings.h).
TEST(Cli, EverySettingIsAFlagOfItsCommands) {
  const std::string bench = Edgebench({"bench", "--help"}).out;
  const std::string submit = Edgebench({"submit", "--help"}).out;
  const std::string job = Edgebench({"job", "--help"}).out;
  for (const auto& spec : SettingsTable()) {
    for (const auto& [command, help, reader] :
         {std::tuple{"bench", bench, SettingsReader::kBench}, std::tuple{"submit", submit, SettingsReader::kService},
          std::tuple{"job", job, SettingsReader::kService}}) {
      const bool listed = help.find(spec.flag + " ") != std::string::npos;
      EXPECT_EQ(listed, Accepts(reader, spec.use)) << command << " " << spec.flag;
    }
  }
  auto table = Edgebench({"settings"});
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_EQ(table.out, SettingsMarkdownTable());
}

// bench --settings FILE: the file's settings, overridden by the flags given; checked like flags.
TEST(Cli, BenchReadsASettingsFileThatFlagsOverride) {
  const std::string model = WriteFile("m.onnx", std::string("\x08\x07", 2));
  const std::string file = WriteFile("settings.json", R"({"min_runs": 4, "max_runs": 4, "warmup_runs": 0,
      "warmup_min_ms": 0, "min_duration_ms": 0, "seed": 5, "options": {"spin_ns": "100"}})");
  auto run = Edgebench({"bench", model, "-r", "null", "--settings", file, "--seed", "9", "-o", "spin_ns=200",
                        "--json", "-", "-q"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto document = nlohmann::json::parse(run.out);
  EXPECT_EQ(document["runs"], 4);
  EXPECT_EQ(document["settings"]["seed"], 9);
  EXPECT_EQ(document["settings"]["options"]["spin_ns"], "200");
  EXPECT_EQ(document["runtime"]["options"]["spin_ns"], "200");

  // A result's settings are a settings file.
  const std::string again = WriteFile("again.json", document["settings"].dump());
  auto rerun = Edgebench({"bench", model, "-r", "null", "--settings", again, "--json", "-", "-q"});
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_EQ(nlohmann::json::parse(rerun.out)["settings"], document["settings"]);

  ExpectBadInput(Edgebench({"bench", model, "-r", "null", "--settings", WriteFile("bad.json", R"({"threads": 4096})")}),
                 {"bad.json", "'settings.threads' is out of range [0, 1024]"});
  ExpectBadInput(Edgebench({"bench", model, "-r", "null", "--settings", WriteFile("svc.json", R"({"timeout_s": 9})")}),
                 {"svc.json", "settings.timeout_s", "edgebench submit --timeout-s"});
  ExpectBadInput(Edgebench({"bench", model, "-r", "null", "--settings", WriteFile("broken.json", "{")}),
                 {"broken.json", "not valid JSON"});
  ExpectBadInput(Edgebench({"bench", model, "-r", "null", "--threads", "2147483648"}),
                 {"--threads is out of range [0, 1024]"});
}

TEST(Cli, ConvertWritesATfliteModelThatTheTfliteRuntimeRuns) {
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(model);
  const std::string dir = testing::MakeTempDir();
  auto converted = Edgebench({"convert", model, "--to", "tflite", "-o", dir + "/tiny.tflite", "--json"});
  ASSERT_EQ(converted.exit_code, 0) << converted.err;
  const auto report = nlohmann::json::parse(converted.out);
  EXPECT_EQ(report["schema"], "edgebench.convert/2");
  EXPECT_TRUE(report["ok"].get<bool>());
  EXPECT_LT(report["accuracy"]["max_rel_error"].get<double>(), 1e-3) << report.dump();
  EXPECT_EQ(report["inputs"][0]["tflite_shape"], (std::vector<int64_t>{1, 32, 32, 3}));
  ASSERT_TRUE(std::filesystem::exists(dir + "/tiny.tflite"));
  if (RuntimeCompiled("tflite")) {
    auto bench = Edgebench(Quick({"bench", dir + "/tiny.tflite", "--runtime", "tflite", "--json", "-"}));
    EXPECT_EQ(bench.exit_code, 0) << bench.err;
  }

  // An operator it cannot express (LRN, an ONNX conformance model): named, exit 2, and no file
  // (not even a partial one); likewise a precision it does not have and sample files that do
  // not fit the input.
  const std::string lrn = "/usr/share/libonnx-testdata/data/node/test_lrn/model.onnx";
  EB_REQUIRE_FILE(lrn);
  auto refused = Edgebench({"convert", lrn, "--to", "tflite", "-o", dir + "/lrn.tflite"});
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
  EXPECT_NE(refused.err.find("(LRN)"), std::string::npos) << refused.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/lrn.tflite"));
  auto precision = Edgebench({"convert", model, "--to", "tflite", "--precision", "int4", "-o", dir + "/int4.tflite"});
  EXPECT_EQ(precision.exit_code, 2) << precision.err;
  EXPECT_NE(precision.err.find("int4"), std::string::npos) << precision.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/int4.tflite"));
  const std::string odd = testing::WriteTempFile("odd.f32", std::string(10, '\0'));
  auto bad_samples = Edgebench({"convert", model, "--to", "tflite", "--precision", "int8", "--samples",
                                "input=" + odd, "-o", dir + "/odd.tflite"});
  EXPECT_EQ(bad_samples.exit_code, 2) << bad_samples.err;
  EXPECT_NE(bad_samples.err.find(odd), std::string::npos) << bad_samples.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/odd.tflite"));
  int files = 0;  // no temporary file left behind either
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 1);

  // INT8 on random calibration samples: quantized, and its accuracy cost in the report.
  auto int8 = Edgebench({"convert", model, "--to", "tflite", "--precision", "int8", "--calibration-samples", "2",
                         "--accuracy-samples", "2", "-o", dir + "/int8.tflite", "--json"});
  ASSERT_EQ(int8.exit_code, 0) << int8.err;
  const auto int8_report = nlohmann::json::parse(int8.out);
  EXPECT_EQ(int8_report["precision"], "int8");
  EXPECT_EQ(int8_report["quantization"]["calibration_samples"], 2);
  EXPECT_NE(int8_report["quantization"]["calibration"].get<std::string>().find("random"), std::string::npos);
  EXPECT_EQ(int8_report["accuracy"]["samples"], 2);
  EXPECT_LT(std::filesystem::file_size(dir + "/int8.tflite"), std::filesystem::file_size(dir + "/tiny.tflite"));

  // --to onnx: a precision variant of the ONNX model; it never overwrites the model itself.
  const auto model_bytes = std::filesystem::file_size(model);
  auto overwrite = Edgebench({"convert", model, "--to", "onnx", "--precision", "fp16", "-o", model});
  EXPECT_EQ(overwrite.exit_code, 2) << overwrite.err;
  EXPECT_NE(overwrite.err.find("overwrite"), std::string::npos) << overwrite.err;
  EXPECT_EQ(std::filesystem::file_size(model), model_bytes);
  auto fp16 = Edgebench({"convert", model, "--to", "onnx", "--precision", "fp16", "-o", dir + "/tiny.fp16.onnx", "--json"});
  ASSERT_EQ(fp16.exit_code, 0) << fp16.err;
  EXPECT_EQ(nlohmann::json::parse(fp16.out)["target"], "onnx");
  EXPECT_TRUE(std::filesystem::exists(dir + "/tiny.fp16.onnx"));
}

TEST(Cli, ZooListShowsTheGeneratedModels) {
  EB_REQUIRE_FILE(testing::ZooModel("mobilenetv1", "onnx"));
  auto result = Edgebench({"zoo", "list", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  bool found = false;
  const auto listing = nlohmann::json::parse(result.out);
  for (const auto& model : listing["models"]) {
    if (model["name"] != "mobilenetv1") continue;
    found = true;
    EXPECT_EQ(model["params"], 4253864);
    EXPECT_EQ(model["files"]["onnx"], testing::ZooModel("mobilenetv1", "onnx"));
    EXPECT_EQ(model["files"]["torchscript"], testing::ZooModel("mobilenetv1", "pt"));
  }
  EXPECT_TRUE(found);
  EXPECT_NE(Edgebench({"zoo", "list"}).out.find("mobilenetv1"), std::string::npos);
}

TEST(Cli, InspectReadsTorchScriptThroughLibTorch) {
  REQUIRE_RUNTIME("libtorch");
  const std::string pt = testing::ZooModel("mobilenetv2", "pt");
  EB_REQUIRE_FILE(pt);
  auto result = Edgebench({"inspect", pt, "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto summary = nlohmann::json::parse(result.out);
  EXPECT_EQ(summary["format"], "torchscript");
  EXPECT_EQ(summary["params"], 3538984);  // the Keras total, as the ONNX twin gives
  EXPECT_FALSE(summary["graph_analysed"].get<bool>());
  EXPECT_TRUE(summary["flops"].is_null());  // unknown, not zero
  EXPECT_EQ(summary["inputs"][0]["shape"], (std::vector<int64_t>{1, 3, 224, 224}));
  ExpectBadInput(Edgebench({"inspect", Truncated(pt, "half.pt")}), {"half.pt"});
}

TEST(Cli, ReportAndAnalyzeReadSavedResults) {
  REQUIRE_RUNTIME("onnxruntime");
  const std::string dir = testing::MakeTempDir();
  std::vector<std::string> files;
  for (const char* model : {"tinycnn", "squeezenet11", "mobilenetv2"}) {
    EB_REQUIRE_FILE(testing::ZooModel(model, "onnx"));
    files.push_back(dir + "/" + model + ".json");
    auto run = Edgebench(Quick({"bench", testing::ZooModel(model, "onnx"), "-r", "onnxruntime", "--json", files.back()}));
    ASSERT_EQ(run.exit_code, 0) << run.err;
  }
  std::vector<std::string> args = {"analyze", "--json", "--include-invalid"};  // quick runs: often INVALID
  args.insert(args.end(), files.begin(), files.end());
  auto analysis = Edgebench(args);
  ASSERT_EQ(analysis.exit_code, 0) << analysis.err;
  const auto groups = nlohmann::json::parse(analysis.out)["groups"];
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0]["models"].size(), 3u);
  EXPECT_TRUE(groups[0]["spearman_flops"].is_number());  // three models: defined
  EXPECT_GT(groups[0]["models"][0]["flops"].get<double>(), 0.0);

  args = {"report", "--format", "md"};
  args.insert(args.end(), files.begin(), files.end());
  auto table = Edgebench(args);
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("| squeezenet11 |"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("onnxruntime ("), std::string::npos) << table.out;
  EXPECT_NE(table.out.find(" of 3 results valid; "), std::string::npos) << table.out;  // the verdict summary
  // --only-valid leaves out whatever these quick runs got judged INVALID.
  args = {"report", "--only-valid"};
  args.insert(args.end(), files.begin(), files.end());
  auto valid_only = Edgebench(args);
  ASSERT_EQ(valid_only.exit_code, 0) << valid_only.err;
  EXPECT_NE(valid_only.out.find("results valid; 0 INVALID (!)"), std::string::npos) << valid_only.out;
  ExpectBadInput(Edgebench({"analyze", "--only-valid", "--include-invalid", files[0]}), {"--include-invalid"});

  // Operator shares side by side from a profiled result.
  const std::string profiled = dir + "/profiled.json";
  auto run = Edgebench(Quick({"bench", testing::ZooModel("tinycnn", "onnx"), "-r", "onnxruntime", "--profile",
                              "--profile-runs", "2", "--json", profiled}));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto ops = Edgebench({"report", "--table", "ops", "--top", "3", "--format", "csv", profiled});
  ASSERT_EQ(ops.exit_code, 0) << ops.err;
  EXPECT_EQ(ops.out.rfind("model,column,rank,kernel_type,kernels,ms_per_inference,share\ntinycnn,onnxruntime (", 0), 0u)
      << ops.out;
  ExpectBadInput(Edgebench({"report", "--table", "ops", "--format", "html", profiled}), {"--table ops", "html"});

  ExpectBadInput(Edgebench({"analyze", WriteFile("broken.json", "{not json")}), {"broken.json", "not valid JSON"});
  ExpectBadInput(Edgebench({"report", WriteFile("other.json", "{\"schema\": \"x/1\"}")}), {"other.json", "schema"});
}

// A kernel data set measured on a synthetic device: conv and add kernels whose time is a known
// function of their FLOPs; with `reference_sha256`, timed against a reference of 0.5 ms.
std::string SyntheticKernelDataSet(const std::string& dir, const std::string& reference_sha256 = "") {
  KernelDataSet data;
  data.provenance.device = "synthetic";
  data.provenance.runtime = "onnxruntime";
  data.provenance.runtime_version = "1.0";
  data.provenance.kernel_models_sources = {{"tinycnn", "0"}};
  data.overhead_ms = 0.01;
  data.overhead.file = "overhead.onnx";
  data.overhead.config = OverheadKernelConfig();
  data.overhead.median_ms = 0.01;
  data.overhead.valid = true;
  data.overhead.attempts = 1;
  int file = 0;
  for (int64_t hw : {8, 16, 32, 64}) {
    for (int64_t channels : {8, 16, 32, 64}) {
      for (const char* type : {"conv", "add"}) {
        KernelPoint point;
        point.config.type = type;
        point.config.hin = point.config.win = hw;
        point.config.cin = point.config.cout = channels;
        if (point.config.type == "conv") {
          point.config.kernel_size = 3;
          point.config.stride = point.config.groups = 1;
        } else {
          point.config.inputs = 2;
        }
        point.file = std::to_string(++file) + ".onnx";
        point.sha256 = "0";
        point.source = "tinycnn";
        point.median_ms = 0.01 + 1e-6 * KernelFlops(point.config);
        point.valid = true;
        point.attempts = 1;
        data.points.push_back(point);
      }
    }
  }
  if (!reference_sha256.empty()) {
    data.reference = KernelReference{reference_sha256, ReferenceKernelConfig()};
    for (KernelPoint* point : {&data.overhead}) {
      point->reference_ratio = *point->median_ms / 0.5;
      point->reference_ms = 0.5;
    }
    for (auto& point : data.points) {
      point.reference_ratio = *point.median_ms / 0.5;
      point.reference_ms = 0.5;
    }
  }
  const std::string path = dir + "/dataset.json";
  std::ofstream(path) << ToJson(data).dump();
  return path;
}

// The synthetic data set (with `reference_sha256`, timed against that reference) and the
// reference rules for onnxruntime written in `dir`, and a predictor trained on them there.
struct SyntheticPredictor {
  std::string dataset, rules_file, predictor;
  testing::ProcessResult train;
};
SyntheticPredictor TrainSyntheticPredictor(const std::string& dir, const std::string& reference_sha256 = "") {
  SyntheticPredictor trained;
  trained.dataset = SyntheticKernelDataSet(dir, reference_sha256);
  KernelRules rules = ReferenceKernelRules();
  rules.runtime = "onnxruntime";
  trained.rules_file = WriteFile("rules.json", ToJson(rules).dump());
  trained.predictor = dir + "/predictor.json";
  trained.train =
      Edgebench({"predictor", "train", trained.dataset, "--rules", trained.rules_file, "--out", trained.predictor});
  return trained;
}

// kernels reference writes the model kernels are timed against; a predictor trained on data sets
// timed against it reads comparisons [reference, model] as ratio x its reference median.
TEST(Cli, PredictorEvaluatesComparisonsAgainstTheReference) {
  REQUIRE_RUNTIME("onnxruntime");
  const std::string dir = testing::MakeTempDir();
  const std::string reference = dir + "/reference.onnx";
  auto written = Edgebench({"kernels", "reference", reference});
  ASSERT_EQ(written.exit_code, 0) << written.err;
  const auto sha_at = written.out.find("sha256 ");
  ASSERT_NE(sha_at, std::string::npos) << written.out;
  const std::string sha256 = written.out.substr(sha_at + 7, 64);
  auto again = Edgebench({"kernels", "reference", dir + "/again.onnx"});
  EXPECT_EQ(again.out.substr(again.out.find("sha256 ")), written.out.substr(sha_at));  // the same file every time

  const SyntheticPredictor trained = TrainSyntheticPredictor(dir, sha256);
  ASSERT_EQ(trained.train.exit_code, 0) << trained.train.err;
  const std::string& predictor = trained.predictor;
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(testing::ReadFile(predictor))["reference"]["median_ms"].get<double>(), 0.5);

  const std::string model = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(model);
  const std::string compared = dir + "/tinycnn.comparison.json";
  auto compare = Edgebench(Quick({"compare", reference, model, "-r", "onnxruntime", "--threads", "1", "--round-ms",
                                  "2", "--json", compared}));
  ASSERT_NE(compare.exit_code, 1) << compare.err;
  const auto comparison = nlohmann::json::parse(testing::ReadFile(compared));
  auto evaluate = Edgebench({"predictor", "evaluate", predictor, "--results", compared, "--json"});
  ASSERT_EQ(evaluate.exit_code, 0) << evaluate.err;
  const auto evaluation = nlohmann::json::parse(evaluate.out);
  if (comparison["validity"]["valid"].get<bool>()) {
    ASSERT_EQ(evaluation["models"].size(), 1u) << evaluate.out;
    EXPECT_DOUBLE_EQ(evaluation["models"][0]["measured_ms"].get<double>(),
                     comparison["ratios"][1]["median"].get<double>() * 0.5);
  } else {
    ASSERT_EQ(evaluation["left_out"].size(), 1u) << evaluate.out;
    EXPECT_NE(evaluation["left_out"][0].get<std::string>().find("INVALID"), std::string::npos);
  }

  // A comparison whose first model is not the reference is refused; a comparison gives no
  // profile to calibrate on by itself.
  const std::string other = dir + "/other.comparison.json";
  ASSERT_NE(Edgebench(Quick({"compare", model, reference, "-r", "onnxruntime", "--round-ms", "2", "--json", other}))
                .exit_code,
            1);
  ExpectBadInput(Edgebench({"predictor", "evaluate", predictor, "--results", other}),
                 {"other.comparison.json", "not the predictor's reference model"});
  ExpectBadInput(Edgebench({"predictor", "calibrate", predictor, "--results", compared, "--out", dir + "/c.json"}),
                 {"no profiled, valid result to calibrate on"});
}

TEST(Cli, PredictorTrainPredictAndEvaluate) {
  REQUIRE_RUNTIME("onnxruntime");
  const std::string dir = testing::MakeTempDir();
  const SyntheticPredictor trained = TrainSyntheticPredictor(dir);
  const auto& [dataset, rules_file, predictor, train] = trained;
  ASSERT_EQ(train.exit_code, 0) << train.err;
  EXPECT_NE(train.out.find("conv"), std::string::npos) << train.out;
  EXPECT_NE(train.out.find("wrote " + predictor), std::string::npos) << train.out;

  // tinycnn's pools and fc have no regressor: listed as unknown, a warning, a lower bound.
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(model);
  auto predict = Edgebench({"predict", model, "--predictor", predictor});
  ASSERT_EQ(predict.exit_code, 0) << predict.err;
  EXPECT_NE(predict.out.find("predicted latency: >= "), std::string::npos) << predict.out;
  EXPECT_NE(predict.out.find("unknown"), std::string::npos) << predict.out;
  EXPECT_NE(predict.err.find("warning: "), std::string::npos) << predict.err;
  auto as_json = Edgebench({"predict", model, "--predictor", predictor, "--json", "-r", "onnxruntime"});
  ASSERT_EQ(as_json.exit_code, 0) << as_json.err;
  const auto prediction = nlohmann::json::parse(as_json.out);
  EXPECT_TRUE(prediction["lower_bound"].get<bool>());
  EXPECT_GT(prediction["predicted_ms"].get<double>(), 0.01);

  ExpectBadInput(Edgebench({"predict", model, "--predictor", predictor, "-r", "tflite"}),
                 {"predicts onnxruntime, not tflite"});
  std::ifstream in(predictor);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ExpectBadInput(Edgebench({"predict", model, "--predictor", WriteFile("cut.json", text.substr(0, text.size() / 2))}),
                 {"cut.json", "truncated or corrupt"});
  auto future = nlohmann::json::parse(text);
  future["format_version"] = "3.0";
  ExpectBadInput(Edgebench({"predict", model, "--predictor", WriteFile("future.json", future.dump())}),
                 {"future.json", "needs a later edgebench"});

  // adapt: the predictor with at most 10 points of a data set (here of the same runtime).
  const std::string adapted = dir + "/adapted.json";
  auto adapt = Edgebench({"predictor", "adapt", predictor, dataset, "--rules", rules_file, "--max-points", "10",
                          "--out", adapted});
  ASSERT_EQ(adapt.exit_code, 0) << adapt.err;
  EXPECT_NE(adapt.err.find("with 10 kernel points"), std::string::npos) << adapt.err;
  std::ifstream adapted_in(adapted);
  EXPECT_EQ(nlohmann::json::parse(adapted_in)["adaptation"]["points"], 10);
  auto no_points = Edgebench({"predictor", "adapt", predictor, dataset, "--rules", rules_file, "--max-points", "0",
                              "--out", adapted});
  EXPECT_EQ(no_points.exit_code, 2);
  EXPECT_NE(no_points.err.find("--max-points"), std::string::npos) << no_points.err;

  // evaluate: one valid and one INVALID result of tinycnn (the verdict forced either way).
  const std::string measured = dir + "/tinycnn.json";
  auto bench = Edgebench(Quick({"bench", model, "-r", "onnxruntime", "--json", measured}));
  ASSERT_EQ(bench.exit_code, 0) << bench.err;
  std::ifstream result_in(measured);
  auto result = nlohmann::json::parse(result_in);
  result["validity"] = {{"valid", true}, {"reasons", nlohmann::json::array()}, {"warnings", nlohmann::json::array()}};
  const std::string valid = WriteFile("valid.json", result.dump());
  result["validity"] = {{"valid", false}, {"reasons", {"forced"}}, {"warnings", nlohmann::json::array()}};
  const std::string invalid = WriteFile("invalid.json", result.dump());
  const std::string families =
      WriteFile("variants.json", R"({"variants": [{"file": "tinycnn.onnx", "family": "tiny"}]})");
  const std::string html = dir + "/page.html";
  auto evaluate = Edgebench({"predictor", "evaluate", predictor, "--results", valid, invalid, "--families", families,
                             "--json", "--html", html});
  ASSERT_EQ(evaluate.exit_code, 0) << evaluate.err;
  const auto evaluation = nlohmann::json::parse(evaluate.out);
  EXPECT_EQ(evaluation["models"].size(), 1u);
  EXPECT_EQ(evaluation["models"][0]["family"], "tiny");
  ASSERT_EQ(evaluation["left_out"].size(), 1u);
  EXPECT_NE(evaluation["left_out"][0].get<std::string>().find("INVALID (forced)"), std::string::npos);
  EXPECT_EQ(evaluation["families"]["tiny"]["predictor"]["points"], 1);
  EXPECT_TRUE(std::filesystem::exists(html));
  auto text_report = Edgebench({"predictor", "evaluate", predictor, "--results", valid, "--flops-baseline"});
  ASSERT_EQ(text_report.exit_code, 0) << text_report.err;
  EXPECT_NE(text_report.out.find("k x FLOPs"), std::string::npos) << text_report.out;

  // calibrate: on a profiled result (the verdict forced valid), every prediction is scaled by its
  // working-set class's factor; a result without a profile cannot calibrate.
  const std::string profiled = dir + "/profiled.json";
  auto profile = Edgebench(Quick({"bench", model, "-r", "onnxruntime", "--profile", "--json", profiled}));
  ASSERT_EQ(profile.exit_code, 0) << profile.err;
  std::ifstream profiled_in(profiled);
  auto profiled_result = nlohmann::json::parse(profiled_in);
  profiled_result["validity"] = result["validity"];
  profiled_result["validity"]["valid"] = true;
  profiled_result["validity"]["reasons"] = nlohmann::json::array();
  const std::string calibrated = dir + "/calibrated.json";
  auto calibrate = Edgebench({"predictor", "calibrate", predictor, "--results",
                              WriteFile("profiled-valid.json", profiled_result.dump()), "--out", calibrated, "--json"});
  ASSERT_EQ(calibrate.exit_code, 0) << calibrate.err;
  const auto calibration = nlohmann::json::parse(calibrate.out)["calibration"];
  EXPECT_EQ(calibration["models"], 1);
  EXPECT_GT(calibration["kernels"].get<int>(), 0);
  ASSERT_FALSE(calibration["log_factors"].empty()) << calibration;
  auto before = nlohmann::json::parse(Edgebench({"predict", model, "--predictor", predictor, "--json"}).out);
  auto after = nlohmann::json::parse(Edgebench({"predict", model, "--predictor", calibrated, "--json"}).out);
  ASSERT_EQ(before["kernels"].size(), after["kernels"].size());
  for (std::size_t i = 0; i < before["kernels"].size(); ++i) {
    if (before["kernels"][i]["predicted_ms"].is_null()) continue;
    const double ratio = after["kernels"][i]["predicted_ms"].get<double>() / before["kernels"][i]["predicted_ms"].get<double>();
    bool matches_a_factor = std::abs(std::log(ratio) - calibration["default_log_factor"].get<double>()) < 1e-9;
    for (const auto& [working_set, log_factor] : calibration["log_factors"].items()) {
      matches_a_factor |= std::abs(std::log(ratio) - log_factor.get<double>()) < 1e-9;
    }
    EXPECT_TRUE(matches_a_factor) << i << ": x" << ratio << " " << calibration;
  }
  ExpectBadInput(Edgebench({"predictor", "calibrate", predictor, "--results", valid, "--out", calibrated}),
                 {"no profiled, valid result"});
}

TEST(Cli, FailInvalidExitsThree) {
  const std::string model = WriteFile("m.onnx", std::string("\x08\x07", 2));
  // One 2 ms run exceeds the 1 ms maximum duration: too few runs, so INVALID.
  auto result = Edgebench({"bench", model, "--runtime", "null", "-o", "spin_ns=2000000",
                           "--max-duration-ms", "1", "--min-duration-ms", "0", "--warmup-runs",
                           "0", "--warmup-min-ms", "0", "--fail-invalid", "-q"});
  EXPECT_EQ(result.exit_code, 3) << result.err;
  EXPECT_NE(result.out.find("INVALID"), std::string::npos);
}

TEST(Cli, CompareTimesVariantsInterleavedAndGivesPairedRatios) {
  const std::string model = WriteFile("m.onnx", std::string("\x08\x07", 2));
  // The null runtime busy-waits spin_ns per run: the second variant takes twice the first's time.
  // Rounds of one short run each, so that most rounds escape preemption on a loaded machine and
  // the median of 31 per-round ratios is the spin ratio.
  auto result = Edgebench({"compare", model, "-r", "null", "--vary-option", "spin_ns=100000,200000", "--round-ms",
                           "0.05", "--min-runs", "31", "--min-duration-ms", "0", "--warmup-runs", "1",
                           "--warmup-min-ms", "0", "-q", "--json", "-"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto document = nlohmann::json::parse(result.out);
  EXPECT_EQ(document["schema"], "edgebench.comparison/1");
  ASSERT_EQ(document["variants"].size(), 2u);
  EXPECT_EQ(document["variants"][0]["label"], "spin_ns=100000");
  EXPECT_EQ(document["variants"][1]["label"], "spin_ns=200000");
  const int rounds = document["rounds"].get<int>();
  EXPECT_GE(rounds, 31);
  for (const auto& variant : document["variants"]) {
    EXPECT_EQ(variant["result"]["samples_ms"].size(), static_cast<std::size_t>(rounds));  // one figure per round
    EXPECT_GE(variant["runs_per_round"].get<int>(), 1);
    EXPECT_EQ(variant["result"]["schema"], "edgebench.result/1");
  }
  EXPECT_EQ(document["ratios"][0]["median"], 1.0);
  const auto& ratio = document["ratios"][1];
  EXPECT_LE(ratio["ci95"][0].get<double>(), ratio["median"].get<double>());
  EXPECT_GE(ratio["ci95"][1].get<double>(), ratio["median"].get<double>());
  EXPECT_GT(ratio["median"].get<double>(), 1.5);  // the slower variant over the faster, not the reverse
  EXPECT_LT(ratio["median"].get<double>(), 3.0);
  EXPECT_TRUE(document["validity"].contains("valid"));

  // The saved document: `report` prints its table (beside any latency matrix), `analyze` refuses it.
  const std::string saved = WriteFile("comparison.json", result.out);
  auto report = Edgebench({"report", saved});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  EXPECT_NE(report.out.find("comparison of 2 variants"), std::string::npos) << report.out;
  EXPECT_NE(report.out.find("spin_ns=200000"), std::string::npos) << report.out;
  ExpectBadInput(Edgebench({"analyze", saved}), {"comparison.json", "is a comparison document"});
  ExpectBadInput(Edgebench({"report", saved, "--format", "csv"}), {"text and md"});

  auto text = Edgebench(Quick({"compare", model, model, "-r", "null", "--round-ms", "1"}));
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("m #1"), std::string::npos) << text.out;  // the same model twice: numbered
  EXPECT_NE(text.out.find("(baseline)"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("verdict"), std::string::npos) << text.out;
}

TEST(Cli, CompareSweepsThreadsOnARealRuntime) {
  REQUIRE_RUNTIME("onnxruntime");
  auto result = Edgebench(Quick({"compare", testing::ZooModel("tinycnn", "onnx"), "-r", "onnxruntime",
                                 "--threads", "1,2", "--round-ms", "2", "--json", "-"}));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto document = nlohmann::json::parse(result.out);
  ASSERT_EQ(document["variants"].size(), 2u);
  EXPECT_EQ(document["variants"][0]["label"], "t=1");
  EXPECT_EQ(document["variants"][1]["result"]["settings"]["threads"], 2);
  EXPECT_EQ(document["variants"][1]["result"]["runtime"]["name"], "onnxruntime");
  EXPECT_GT(document["ratios"][1]["median"].get<double>(), 0);
}

TEST(Cli, CompareBadInputGetsOneLineAndExitTwo) {
  const std::string model = WriteFile("m.onnx", std::string("\x08\x07", 2));
  ExpectBadInput(Edgebench({"compare", model, "-r", "null"}), {"at least two variants"});
  ExpectBadInput(Edgebench({"compare", model, "-r", "null", "-r", "tensorflow"}),
                 {"tensorflow: ", "unknown runtime 'tensorflow'"});
  ExpectBadInput(Edgebench({"compare", model, "-r", "null", "--threads", "1,2,3,4,5,6,7,8,9", "--vary-option",
                            "spin_ns=1,2"}),
                 {"18 variants", "at most 16"});
  ExpectBadInput(Edgebench({"compare", model, "-r", "null", "--vary-option", "spin_ns"}), {"bad --vary-option"});
  if (RuntimeCompiled("onnxruntime")) {
    // An input file that fits the first model and not the second.
    const std::string input = WriteFile("input.f32", std::string(3 * 32 * 32 * 4, '\0'));
    ExpectBadInput(Edgebench({"compare", testing::ZooModel("tinycnn", "onnx"), testing::ZooModel("mobilenetv2", "onnx"),
                              "-r", "onnxruntime", "--input", "input=" + input, "-q"}),
                   {"mobilenetv2: "});
  }
}

// A kernel models directory as `edgebench kernels generate` writes it; the files are what the null
// runtime accepts (it reads no graph), two different ones.
std::string FakeKernelModelsDir() {
  const std::string dir = testing::MakeTempDir();
  std::ofstream(dir + "/0001_conv.onnx", std::ios::binary) << std::string("\x08\x07", 2);
  std::ofstream(dir + "/0002_add.onnx", std::ios::binary) << std::string("\x08\x08", 2);
  const nlohmann::json index = {
      {"schema", "edgebench.kernel_models/1"}, {"seed", 1}, {"edgebench_version", "test"},
      {"sources", {{{"name", "tinycnn"}, {"sha256", "00"}}}},
      {"kernels",
       {{{"file", "0001_conv.onnx"}, {"source", "tinycnn"},
         {"config", {{"type", "conv"}, {"hin", 8}, {"win", 8}, {"cin", 8}, {"cout", 8}, {"kernel_size", 3},
                     {"stride", 1}, {"groups", 1}}}},
        {{"file", "0002_add.onnx"}, {"source", "tinycnn"},
         {"config", {{"type", "add"}, {"hin", 8}, {"win", 8}, {"cin", 8}, {"cout", 8}, {"inputs", 2}}}}}}};
  std::ofstream(dir + "/kernels.json") << index.dump(2);
  return dir;
}

// kernels measure: the data set has a point per kernel model and the overhead; INVALID points
// are kept with valid false and counted apart from the valid ones; --resume keeps valid points.
TEST(Cli, KernelsMeasureWritesTheDataSetAndKeepsInvalidPoints) {
  const std::string dir = FakeKernelModelsDir();
  const std::string out = testing::MakeTempDir() + "/null.kernels.json";
  // Runs of 1 ms within at most 0.5 ms: one timed run where 5 are required, INVALID every time.
  auto invalid = Edgebench(Quick({"kernels", "measure", dir, "-r", "null", "--out", out, "-o", "spin_ns=1000000",
                                  "--max-duration-ms", "0.5", "--repeat-invalid", "1"}));
  ASSERT_EQ(invalid.exit_code, 0) << invalid.err;
  EXPECT_NE(invalid.out.find("2 points, 0 valid (trained on), 2 INVALID or failed"), std::string::npos) << invalid.out;
  nlohmann::json data_set = nlohmann::json::parse(testing::ReadFile(out));
  EXPECT_EQ(data_set["schema"], "edgebench.kernels/3");
  EXPECT_EQ(data_set["reference"]["config"]["cin"], 64);  // timed against the reference by default
  EXPECT_EQ(data_set["provenance"]["runtime"], "null");
  EXPECT_EQ(data_set["provenance"]["settings"]["max_duration_ms"], 0.5);
  ASSERT_EQ(data_set["points"].size(), 2u);
  for (const auto& point : data_set["points"]) {
    EXPECT_EQ(point["valid"], false);
    EXPECT_EQ(point["attempts"], 2);
    EXPECT_NE(point["reasons"][0].get<std::string>().find("fewer than the minimum 5"), std::string::npos) << point;
  }
  EXPECT_EQ(data_set["points"][1]["config"]["type"], "add");

  const std::vector<std::string> valid_flags = {"kernels", "measure", dir, "-r", "null", "--out", out, "--json",
                                                "--max-cv", "1000", "--max-drift", "1000", "--max-outliers", "100",
                                                "--allow-unpinned-governor"};
  // The previous file was measured with other settings: --resume refuses it.
  std::vector<std::string> resume = valid_flags;
  resume.push_back("--resume");
  ExpectBadInput(Edgebench(Quick(resume)), {"--resume", out, "other settings"});
  auto valid = Edgebench(Quick(valid_flags));
  ASSERT_EQ(valid.exit_code, 0) << valid.err;
  const nlohmann::json summary = nlohmann::json::parse(valid.out);
  EXPECT_EQ(summary["points"], 2);
  EXPECT_EQ(summary["valid"], 2);
  EXPECT_GT(summary["overhead_ms"].get<double>(), 0);
  data_set = nlohmann::json::parse(testing::ReadFile(out));
  auto resumed = Edgebench(Quick(resume));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  const nlohmann::json again = nlohmann::json::parse(testing::ReadFile(out));
  EXPECT_EQ(again["points"], data_set["points"]);  // both kept, not measured again

  ExpectBadInput(Edgebench({"kernels", "measure", dir + "/absent", "-r", "null", "--out", out}),
                 {"absent/kernels.json", "cannot open"});
  ExpectBadInput(Edgebench({"kernels", "measure", dir, "-r", "null", "--out", out, "--device", "rpi4"}),
                 {"--device and --select need --server"});
  ExpectBadInput(Edgebench({"kernels", "measure", dir, "-r", "null", "--out", out, "--server", "http://127.0.0.1:1",
                            "--token-file", out}),
                 {"exactly one of --device NAME and --select"});
  std::ofstream(dir + "/kernels.json") << R"({"schema": "edgebench.kernel_models/1", "seed": 1})";
  ExpectBadInput(Edgebench({"kernels", "measure", dir, "-r", "null", "--out", out}),
                 {"kernels.json", "field 'edgebench_version' is missing"});
}

TEST(Cli, BadInputGetsOneLineAndExitTwo) {
  const std::string dir = testing::MakeTempDir();
  ExpectBadInput(Edgebench({"bench", dir + "/missing.onnx", "-r", "null"}),
                 {"missing.onnx", "no such file"});
  ExpectBadInput(Edgebench({"bench", WriteFile("empty.onnx", ""), "-r", "null"}),
                 {"empty.onnx", "empty file"});
  ExpectBadInput(Edgebench({"bench", WriteFile("notes.txt", "hello"), "-r", "null"}),
                 {"notes.txt", "unrecognised model format"});
  const std::string model = WriteFile("m.onnx", std::string("\x08\x07", 2));
  ExpectBadInput(Edgebench({"bench", model, "-r", "tensorflow"}), {"unknown runtime 'tensorflow'"});
  ExpectBadInput(Edgebench({"bench", model, "-r", "tensorrt"}), {"not available in this build"});
  ExpectBadInput(Edgebench({"bench", model, "-r", "null", "-o", "spin_ns"}), {"bad --option 'spin_ns'"});
  ExpectBadInput(Edgebench({"bench", model, "-r", "null", "-o", "spin_ns=fast"}),
                 {"spin_ns=fast", "not an integer"});
  ExpectBadInput(Edgebench({"bench", model, "-r", "null", "--shape", "input=1x3xQ"}),
                 {"bad shape 'input=1x3xQ'"});
  ExpectBadInput(Edgebench({"bench", model, "-r", "null", "--json", dir + "/no/such/dir/r.json"}),
                 {"r.json", "cannot write"});
}

// Runtime x model pairs that every build with all backends must run.
struct RealModel {
  std::string runtime;
  std::string path;
  std::vector<std::string> extra;
};

std::vector<RealModel> RealModels() {
  return {{"onnxruntime", testing::ZooModel("tinycnn", "onnx"), {}},
          {"onnxruntime", testing::ZooModel("tinycnn_dynamic", "onnx"), {"--shape", "input=2x3x32x32"}},
          {"opencv", testing::ZooModel("tinycnn", "onnx"), {}},
          {"libtorch", testing::ZooModel("tinycnn", "pt"), {}},
          {"tflite", testing::DownloadedModel("face_detection_short_range.tflite"), {}}};
}

TEST(Cli, EveryRuntimeBenchmarksARealModel) {
  for (const auto& model : RealModels()) {
    SCOPED_TRACE(model.runtime + " " + model.path);
    if (!RuntimeCompiled(model.runtime)) {
      ADD_FAILURE() << "runtime " << model.runtime << " is not compiled in this build";
      continue;
    }
    EB_REQUIRE_FILE(model.path);
    auto args = Quick({"bench", model.path, "--runtime", model.runtime, "--json", "-"});
    args.insert(args.end(), model.extra.begin(), model.extra.end());
    auto result = Edgebench(args);
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const auto document = nlohmann::json::parse(result.out);
    EXPECT_EQ(document["runtime"]["name"], model.runtime);
    EXPECT_FALSE(document["runtime"]["version"].get<std::string>().empty());
    EXPECT_EQ(document["runs"], 5);
    EXPECT_GT(document["latency_ms"]["p50"].get<double>(), 0.0);
    EXPECT_GT(document["load_ms"].get<double>(), 0.0);
    EXPECT_FALSE(document["inputs"].empty());
  }
}

TEST(Cli, VerifyComparesOutputsAcrossRuntimes) {
  REQUIRE_RUNTIME("onnxruntime");
  REQUIRE_RUNTIME("opencv");
  REQUIRE_RUNTIME("libtorch");
  const std::string onnx = testing::ZooModel("tinycnn", "onnx"), pt = testing::ZooModel("tinycnn", "pt");
  EB_REQUIRE_FILE(onnx);
  EB_REQUIRE_FILE(pt);
  auto agree = Edgebench(Quick({"bench", onnx, "-r", "onnxruntime", "--verify", "opencv",
                                "--verify-tolerance", "1e-4", "--json", "-"}));
  ASSERT_EQ(agree.exit_code, 0) << agree.err;
  auto v = nlohmann::json::parse(agree.out)["verification"];
  EXPECT_EQ(v["reference_runtime"], "opencv");
  EXPECT_LE(v["max_abs_error"].get<double>(), 1e-4);
  EXPECT_EQ(v["outputs"][0]["top1_agreement"], 1.0);
  EXPECT_TRUE(v["passed"].get<bool>());

  auto torch = Edgebench(Quick({"bench", onnx, "-r", "onnxruntime", "--verify", "libtorch",
                                "--verify-model", pt, "--json", "-"}));
  ASSERT_EQ(torch.exit_code, 0) << torch.err;
  EXPECT_LE(nlohmann::json::parse(torch.out)["verification"]["max_abs_error"].get<double>(), 1e-4);

  // A zero tolerance can only pass when both runtimes agree bit for bit; compare with the
  // reported error so the assertion holds either way.
  auto strict = Edgebench(Quick({"bench", onnx, "-r", "onnxruntime", "--verify", "opencv",
                                 "--verify-tolerance", "0", "--json", "-"}));
  const auto strict_v = nlohmann::json::parse(strict.out)["verification"];
  EXPECT_EQ(strict.exit_code, strict_v["max_abs_error"].get<double>() > 0 ? 3 : 0);
  EXPECT_EQ(strict_v["passed"].get<bool>(), strict_v["max_abs_error"].get<double>() == 0);

  ExpectBadInput(Edgebench(Quick({"bench", onnx, "-r", "onnxruntime", "--verify", "libtorch"})),
                 {"reference runtime libtorch accepts torchscript", "--verify-model"});
  ExpectBadInput(Edgebench(Quick({"bench", onnx, "-r", "onnxruntime", "--verify-tolerance", "1"})),
                 {"need --verify RUNTIME"});
}

TEST(Cli, ProfileAddsOperatorTimesAfterTheTimedRuns) {
  REQUIRE_RUNTIME("onnxruntime");
  const std::string onnx = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(onnx);
  auto result = Edgebench(Quick({"bench", onnx, "-r", "onnxruntime", "--profile", "--json", "-"}));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto document = nlohmann::json::parse(result.out);
  EXPECT_EQ(document["runs"], 5);  // the profiled runs are not samples
  EXPECT_EQ(document["settings"]["profile_runs"], 20);
  const auto& profile = document["profile"];
  ASSERT_TRUE(profile.is_object()) << profile;
  EXPECT_EQ(profile["source"], "onnxruntime profiler");
  EXPECT_EQ(profile["profiled_runs"], 20);
  ASSERT_FALSE(profile["kernels"].empty());
  EXPECT_EQ(profile["kernels"][0]["provider"], "CPUExecutionProvider");
  ASSERT_FALSE(profile["by_kernel_type"].empty());
  EXPECT_GT(profile["by_kernel_type"][0]["share"].get<double>(), 0.0);
  EXPECT_EQ(profile["by_provider"][0]["provider"], "CPUExecutionProvider");
  const auto& fusion = document["fusion"];
  ASSERT_TRUE(fusion.is_object()) << fusion;
  EXPECT_GT(fusion["source_nodes"].get<int>(), 0);
  EXPECT_FALSE(fusion["patterns"].empty());

  auto text = Edgebench(Quick({"bench", onnx, "-r", "onnxruntime", "--profile", "--profile-runs", "3"}));
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("operator profile (onnxruntime profiler, 3 runs"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("kernel type"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("fusion map ("), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("kernels ran on CPUExecutionProvider"), std::string::npos) << text.out;

  auto without = Edgebench(Quick({"bench", onnx, "-r", "onnxruntime", "--json", "-"}));
  ASSERT_EQ(without.exit_code, 0) << without.err;
  EXPECT_TRUE(nlohmann::json::parse(without.out)["profile"].is_null());
  EXPECT_TRUE(nlohmann::json::parse(without.out)["fusion"].is_null());
  ExpectBadInput(Edgebench(Quick({"bench", onnx, "-r", "onnxruntime", "--profile-runs", "3"})),
                 {"--profile-runs needs --profile"});
  ExpectBadInput(Edgebench(Quick({"bench", onnx, "-r", "onnxruntime", "--profile", "--profile-runs", "0"})),
                 {"--profile-runs must be at least 1"});
}

TEST(Cli, ProfileOnARuntimeWithoutProfilerIsAWarning) {
  REQUIRE_RUNTIME("tflite");
  const std::string model = testing::DownloadedModel("face_detection_short_range.tflite");
  EB_REQUIRE_FILE(model);
  auto result = Edgebench(Quick({"bench", model, "-r", "tflite", "--profile", "--json", "-"}));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto document = nlohmann::json::parse(result.out);
  EXPECT_TRUE(document["profile"].is_null());
  EXPECT_TRUE(document["error"].is_null());
  bool warned = false;
  for (const auto& warning : document["validity"]["warnings"]) {
    warned |= warning.get<std::string>().starts_with("no operator profile from tflite");
  }
  EXPECT_TRUE(warned) << document["validity"];
}

TEST(Cli, BrokenModelFilesOnRealRuntimes) {
  struct Case {
    std::string runtime, source, name;
  };
  const std::vector<Case> cases = {
      {"onnxruntime", testing::ZooModel("tinycnn", "onnx"), "half.onnx"},
      {"opencv", testing::ZooModel("tinycnn", "onnx"), "half.onnx"},
      {"libtorch", testing::ZooModel("tinycnn", "pt"), "half.pt"},
      {"tflite", testing::DownloadedModel("face_detection_short_range.tflite"), "half.tflite"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.runtime);
    if (!RuntimeCompiled(c.runtime)) {
      ADD_FAILURE() << "runtime " << c.runtime << " is not compiled in this build";
      continue;
    }
    EB_REQUIRE_FILE(c.source);
    ExpectBadInput(Edgebench({"bench", Truncated(c.source, c.name), "-r", c.runtime, "-q"}), {c.name});
  }
  if (RuntimeCompiled("onnxruntime")) {
    ExpectBadInput(Edgebench({"bench", WriteFile("noise.onnx", RandomBytes(4096)), "-r", "onnxruntime", "-q"}),
                   {"noise.onnx"});
    // A TFLite file handed to an ONNX runtime: the format is detected from content.
    ExpectBadInput(Edgebench({"bench", WriteFile("disguised.onnx", RandomBytes(64, std::string("\x1c\0\0\0TFL3", 8))),
                              "-r", "onnxruntime", "-q"}),
                   {"disguised.onnx", "is a tflite model", "accepts onnx"});
    ExpectBadInput(Edgebench({"bench", testing::ZooModel("tinycnn", "onnx"), "-r", "onnxruntime", "-q",
                              "-o", "graph_optimization_level=max"}),
                   {"graph_optimization_level=max"});
    ExpectBadInput(Edgebench({"bench", testing::ZooModel("tinycnn", "onnx"), "-r", "onnxruntime", "-q",
                              "--shape", "input=1x3x64x64"}),
                   {"contradicts", "1x3x32x32"});
    ExpectBadInput(Edgebench({"bench", testing::ZooModel("tinycnn_dynamic", "onnx"), "-r", "onnxruntime", "-q"}),
                   {"dynamic shape", "--shape input="});
  }
  if (RuntimeCompiled("tflite")) {
    ExpectBadInput(Edgebench({"bench", WriteFile("noise.tflite", RandomBytes(4096, std::string("\x1c\0\0\0TFL3", 8))),
                              "-r", "tflite", "-q"}),
                   {"noise.tflite"});
  }
}

// Fusion rules from measured profiles: every multi-node pattern and every removed op type of the
// fusion map `bench --profile` records is in the rules, and the model splits under them into as
// many kernels as its profile showed.
TEST(Cli, KernelsDetectTakesTheRulesFromMeasuredFusionMaps) {
  REQUIRE_RUNTIME("onnxruntime");
  const std::string onnx = testing::ZooModel("mobilenetv2", "onnx");
  EB_REQUIRE_FILE(onnx);
  const std::string rules_path = testing::MakeTempDir() + "/rules.json";
  auto detect = Edgebench(Quick({"kernels", "detect", "-r", "onnxruntime", onnx, "--threads", "1", "--out",
                                 rules_path, "--json"}));
  ASSERT_EQ(detect.exit_code, 0) << detect.err;
  std::ifstream in(rules_path);
  const auto rules = nlohmann::json::parse(in);
  EXPECT_EQ(nlohmann::json::parse(detect.out)["rules"], rules);
  EXPECT_EQ(rules["runtime"], "onnxruntime");
  EXPECT_EQ(rules["source"], "fusion maps of 1 model");

  auto bench = Edgebench(Quick({"bench", onnx, "-r", "onnxruntime", "--threads", "1", "--profile",
                                "--profile-runs", "1", "--json", "-"}));
  ASSERT_EQ(bench.exit_code, 0) << bench.err;
  const auto document = nlohmann::json::parse(bench.out);
  EXPECT_EQ(rules["runtime_version"], document["runtime"]["version"]);
  const auto& fusion = document["fusion"];
  ASSERT_TRUE(fusion.is_object()) << document;
  std::set<std::vector<std::string>> patterns, detected;
  for (const auto& pattern : fusion["patterns"]) {
    const auto ops = pattern["source_op_types"].get<std::vector<std::string>>();
    if (ops.size() > 1) patterns.insert(ops);
  }
  for (const auto& pattern : rules["fused_patterns"]) detected.insert(pattern.get<std::vector<std::string>>());
  EXPECT_FALSE(patterns.empty());
  EXPECT_EQ(detected, patterns);
  std::set<std::string> removed;
  for (const auto& entry : fusion["removed"]) removed.insert(entry["op_type"].get<std::string>());
  EXPECT_EQ(rules["removed_op_types"].get<std::set<std::string>>(), removed);

  const auto check = nlohmann::json::parse(detect.out)["models"][0];
  EXPECT_EQ(check["model"], "mobilenetv2");
  EXPECT_EQ(check["split_kernels"], check["profiled_kernels"]) << check;
}

// The blocked layout (onnxruntime's NCHWc on x86): where the profiles of models whose channels
// meet it in different ways show layout conversions, the detected block makes the splitter
// insert as many as each profile shows (residual adds, concatenations of unaligned channels,
// channel shuffles, squeeze-excite multiplications, a classifier reading a blocked tensor).
TEST(Cli, KernelsDetectFindsTheBlockedLayoutsConversions) {
  REQUIRE_RUNTIME("onnxruntime");
  std::vector<std::string> args = {"kernels", "detect", "-r", "onnxruntime", "--threads", "1"};
  for (const char* name : {"mobilenetv2", "shufflenetv2", "squeezenet11", "mobilenetv3small", "resnet18", "xception"}) {
    const std::string onnx = testing::ZooModel(name, "onnx");
    EB_REQUIRE_FILE(onnx);
    args.push_back(onnx);
  }
  args.insert(args.end(), {"--out", testing::MakeTempDir() + "/rules.json", "--json"});
  auto detect = Edgebench(Quick(args));
  ASSERT_EQ(detect.exit_code, 0) << detect.err;
  const auto document = nlohmann::json::parse(detect.out);
  int64_t measured = 0;
  for (const auto& check : document["models"]) {
    SCOPED_TRACE(check.dump());
    EXPECT_EQ(check["split_layout_conversions"], check["profiled_layout_conversions"]);
    measured += check["profiled_layout_conversions"].get<int64_t>();
  }
  // On a CPU without a blocked layout (no conversions measured) the rules have none.
  EXPECT_EQ(document["rules"]["layout_block_channels"].get<int64_t>() > 0, measured > 0) << document["rules"];
}

TEST(Cli, KernelsGenerateWritesModelsAndTheirIndex) {
  const std::string onnx = testing::ZooModel("mobilenetv2", "onnx");
  EB_REQUIRE_FILE(onnx);
  const std::string dir = testing::MakeTempDir() + "/kernels";
  auto generate = Edgebench({"kernels", "generate", "--out", dir, "--from", onnx, "--per-type", "2", "--types",
                             "conv,dwconv,add,resize", "--seed", "5"});
  ASSERT_EQ(generate.exit_code, 0) << generate.err;
  std::ifstream in(dir + "/kernels.json");
  const auto index = nlohmann::json::parse(in);
  EXPECT_EQ(index["schema"], "edgebench.kernel_models/1");
  EXPECT_EQ(index["seed"], 5);
  ASSERT_EQ(index["sources"].size(), 1u);
  EXPECT_EQ(index["sources"][0]["name"], "mobilenetv2");
  EXPECT_EQ(index["sources"][0]["sha256"].get<std::string>().size(), 64u);
  // 2 per type, mobilenetv2 has no resize, and 1 more conv around its image-reading stem, last.
  ASSERT_EQ(index["kernels"].size(), 7u);
  EXPECT_EQ(index["kernels"][6]["config"]["type"], "conv");
  EXPECT_EQ(index["kernels"][6]["config"]["cin"], 3);
  for (const auto& kernel : index["kernels"]) {
    EXPECT_TRUE(std::filesystem::exists(dir + "/" + kernel["file"].get<std::string>())) << kernel;
    EXPECT_EQ(kernel["source"], "mobilenetv2");
  }
  EXPECT_EQ(index["kernels"][0]["file"], "0001_conv.onnx");
  EXPECT_NE(generate.out.find("7 kernel models from 1 models"), std::string::npos) << generate.out;

  ExpectBadInput(Edgebench({"kernels", "generate", "--out", dir, "--types", "conv,deconv"}),
                 {"unknown kernel type 'deconv'"});
  auto no_out = Edgebench({"kernels", "detect", "-r", "onnxruntime", onnx});
  EXPECT_EQ(no_out.exit_code, 2);
  EXPECT_NE(no_out.err.find("--out is required"), std::string::npos) << no_out.err;
}

// Small malformed model files written by tests/data/malformed/generate.py.
std::string Malformed(const std::string& name) { return std::string(EDGEBENCH_MALFORMED_DIR) + "/" + name; }

TEST(Cli, InspectJsonReplacesInvalidUtf8InNames) {
  auto result = Edgebench({"inspect", Malformed("onnx_invalid_utf8_name.onnx"), "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto summary = nlohmann::json::parse(result.out);  // throws on invalid UTF-8
  const std::string name = summary["inputs"][0]["name"];
  EXPECT_EQ(name, "in\xEF\xBF\xBD\xEF\xBF\xBDput!") << "each invalid byte becomes U+FFFD";
  EXPECT_EQ(Edgebench({"inspect", Malformed("onnx_invalid_utf8_name.onnx")}).exit_code, 0);
}

// 1x3x2^32x32 is under the 2^40-element bound but needs 1.5 TiB: refused before allocating.
TEST(Cli, HugeInputShapeIsRefusedNamingTheInput) {
  const std::string model = Malformed("onnx_huge_input.onnx");
  const std::vector<std::string> fragments = {"input 'input'", "1x3x4294967296x32", "bytes of memory"};
  REQUIRE_RUNTIME("onnxruntime");
  ExpectBadInput(Edgebench({"bench", model, "-r", "onnxruntime", "-q"}), fragments);
  const std::string dir = testing::MakeTempDir();
  // convert stops earlier: TFLite's dims are 32-bit.
  ExpectBadInput(Edgebench({"convert", model, "--to", "tflite", "-o", dir + "/huge.tflite"}),
                 {"tensor 'input' has a dimension of 4294967296"});
  EXPECT_FALSE(std::filesystem::exists(dir + "/huge.tflite"));
}

// Files that TFLite 2.2 crashes on (SIGFPE) or reads out of bounds, and files whose defect it
// would report itself: the structure check refuses each with exit 2 in bench and inspect alike.
TEST(Cli, TfliteStructureCheckRefusesWhatTheRuntimeTrusts) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"tflite_conv_stride0.tflite", "operator 0 (CONV_2D): stride_w is 0, must be at least 1"},
      {"tflite_conv_dilation0.tflite", "dilation_w_factor is 0"},
      {"tflite_conv_no_options.tflite", "Conv2DOptions are missing"},
      {"tflite_conv_bias_omitted.tflite", "required input 2 is missing"},
      {"tflite_conv_filter_channels.tflite", "the input has 3 channels, the filter 4x3x3x5 takes 5"},
      {"tflite_conv_short_buffer.tflite", "tensor 1 ('filter') holds 100 bytes of data"},
      {"tflite_pool_filter0.tflite", "operator 0 (MAX_POOL_2D): filter_width is 0"},
      {"tflite_fully_connected_zero_columns.tflite", "4x0, a dimension of 0"},
  };
  for (const auto& [file, message] : cases) {
    SCOPED_TRACE(file);
    ExpectBadInput(Edgebench({"inspect", Malformed(file)}), {file, message});
    if (RuntimeCompiled("tflite")) ExpectBadInput(Edgebench({"bench", Malformed(file), "-r", "tflite", "-q"}), {file, message});
  }
}

// Valid structures the check must let through: an omitted optional input (-1), a variable tensor
// and a constant of no elements (an empty buffer) read before any operator writes them - as in a
// third-party keyword-spotting model that TFLite 2.2 runs.
TEST(Cli, TfliteStructureCheckAcceptsOptionalVariableAndEmptyTensors) {
  for (const char* file : {"tflite_conv_valid.tflite", "tflite_fully_connected_valid.tflite",
                           "tflite_empty_shape_valid.tflite"}) {
    SCOPED_TRACE(file);
    auto inspect = Edgebench({"inspect", Malformed(file), "--json"});
    EXPECT_EQ(inspect.exit_code, 0) << inspect.err;
    if (!RuntimeCompiled("tflite")) continue;
    auto bench = Edgebench(Quick({"bench", Malformed(file), "-r", "tflite", "--json", "-"}));
    ASSERT_EQ(bench.exit_code, 0) << bench.err;
    EXPECT_GT(nlohmann::json::parse(bench.out)["runs"].get<int>(), 0);
  }
}

}  // namespace
}  // namespace edgebench
