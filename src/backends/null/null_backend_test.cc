#include <gtest/gtest.h>

#include "edgebench/backend.h"

namespace edgebench {
namespace backends::null {
BackendInfo Describe();
std::unique_ptr<Backend> Create();
}  // namespace backends::null
namespace {

TEST(NullBackend, RunsWithoutInputs) {
  auto backend = backends::null::Create();
  LoadRequest request;
  auto options = ValidateOptions(backends::null::Describe(), {});
  ASSERT_TRUE(options.ok());
  request.options = *options;
  ASSERT_TRUE(backend->Load(request).ok());
  EXPECT_TRUE(backend->InputSpecs().empty());
  ASSERT_TRUE(backend->SetInputs({}).ok());
  EXPECT_TRUE(backend->RunOnce().ok());
  auto outputs = backend->Outputs();
  ASSERT_TRUE(outputs.ok());
  EXPECT_TRUE(outputs->empty());
}

TEST(NullBackend, RejectsInputs) {
  auto backend = backends::null::Create();
  Tensor tensor;
  tensor.spec = {.name = "x", .type = DataType::kFloat32, .shape = {1}};
  tensor.data.resize(4);
  EXPECT_FALSE(backend->SetInputs({tensor}).ok());
}

}  // namespace
}  // namespace edgebench
