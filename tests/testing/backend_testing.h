// Helpers shared by the backend tests: model bytes on disk, load requests, random inputs, runs.
// Functions that check something report through gtest (EXPECT/ASSERT); call them from a test.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "edgebench/backend.h"
#include "edgebench/fusion.h"

namespace edgebench::testing {

// --- Files -------------------------------------------------------------------------------------

// The whole file as bytes ("" when it cannot be read).
std::string ReadFile(const std::string& path);

// Writes `bytes` to `path` and returns `path`.
std::string WriteFile(const std::string& path, std::string_view bytes);

// Writes `bytes` to a file called `name` in a fresh temp dir and returns its path.
std::string WriteTempFile(const std::string& name, std::string_view bytes);

// `size` bytes from std::mt19937(seed), one byte per draw.
std::string RandomBytes(std::size_t size, uint32_t seed);

// --- Loading and running -----------------------------------------------------------------------

// A request for `path` whose options are validated against `info` (a failure is an EXPECT
// failure, and the request then has no options).
LoadRequest MakeLoadRequest(const BackendInfo& info, const std::string& path, ModelFormat format,
                            const BackendOptions& options = {}, int threads = 0);

// Seeded random tensors of the given (concrete) specs.
std::vector<Tensor> RandomInputs(const std::vector<TensorSpec>& specs, uint64_t seed = 42);

// Binds RandomInputs(specs) to the backend.
void BindRandomInputs(Backend& backend, const std::vector<TensorSpec>& specs);

// One RunOnce, then the outputs (empty when either step fails, which is an EXPECT failure).
std::vector<Tensor> RunAndGetOutputs(Backend& backend);

// The tensor's bytes as floats.
std::vector<float> Floats(const Tensor& tensor);

// Whether every float of the tensor is finite.
bool AllFinite(const Tensor& tensor);

// --- Checks shared by backends that run the zoo's models ---------------------------------------

// A backend as the shared checks see it: its factory functions and the model files it reads.
struct BackendUnderTest {
  std::unique_ptr<Backend> (*create)();
  BackendInfo (*describe)();
  ModelFormat format;
  std::string extension;  // of its zoo model files, e.g. "onnx"
};

struct Loaded {
  std::unique_ptr<Backend> backend;
  Status status;
};

// MakeLoadRequest with the backend's info and format.
LoadRequest MakeLoadRequest(const BackendUnderTest& under_test, const std::string& path,
                            const BackendOptions& options = {}, int threads = 0);

// Creates the backend and loads `path` with the validated options.
Loaded Load(const BackendUnderTest& under_test, const std::string& path,
            const BackendOptions& options = {}, int threads = 0);

// Creates the backend and loads `path` with one thread, then runs it once on random inputs:
// ready for Profile(). Null, after a test failure, when a step fails.
std::unique_ptr<Backend> LoadAndRunOnce(const BackendUnderTest& under_test, const std::string& path);

// Loads `path`, expecting a kBadModel error that names the file; returns the error message
// ("" after a test failure when it loads).
std::string LoadBadModel(const BackendUnderTest& under_test, const std::string& path);

// LoadBadModel, and the message is one line.
void ExpectOneLineBadModel(const BackendUnderTest& under_test, const std::string& path);

// Copies of the file `source` cut to half its size and to one byte short, in a fresh temp dir
// as truncated_<size>.<extension>.
std::vector<std::string> WriteTruncatedCopies(const std::string& source,
                                              const std::string& extension);

// Zoo tinycnn: specs input [1,3,32,32] -> output [1,10]; two runs give the same finite floats.
void ExpectRunsTinyCnnDeterministically(const BackendUnderTest& under_test);

// The two loaded backends compute outputs within `tolerance` of each other on the same inputs.
void ExpectSameOutputs(Backend& reference, Backend& other, double tolerance);

// Zoo tinycnn_dynamic: the batch dim is reported dynamic, and batches 1 then 3 both run.
void ExpectDynamicBatchIsReportedAndRuns(const BackendUnderTest& under_test);

// The zoo model `name` reproduces PyTorch's output.f32 for input.f32 (stored next to it).
void ExpectMatchesPyTorch(const BackendUnderTest& under_test, const std::string& name);

// Loading the first half of zoo tinycnn is a one-line kBadModel error naming the file.
void ExpectTruncatedModelIsBadModel(const BackendUnderTest& under_test);

// Loading 4096 random bytes is a kBadModel error naming the file.
void ExpectRandomBytesAreBadModel(const BackendUnderTest& under_test);

// Loading a file that does not exist is a kNotFound error naming the file.
void ExpectMissingFileIsNotFound(const BackendUnderTest& under_test);

// Zoo tinycnn rejects no inputs, an input of the wrong type and one of the wrong shape.
void ExpectRejectsInputsThatDoNotMatchSpecs(const BackendUnderTest& under_test);

// --- Fusion maps --------------------------------------------------------------------------------

// The source graph of an ONNX file (inspector nodes, execution order), as the harness gives it
// to MapFusion.
std::vector<SourceNode> SourceGraph(const std::string& path);

// A fusion map's patterns as (pattern, kernel type, kernels) rows, for exact comparisons.
std::vector<std::tuple<std::string, std::string, int64_t>> FusionRows(const FusionMap& map);

// Removed or added op types as (op type, count) pairs.
std::vector<std::pair<std::string, int64_t>> OpTypeCounts(const std::vector<OpTypeCount>& entries);

}  // namespace edgebench::testing
