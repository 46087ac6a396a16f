#include "edgebench/status.h"

#include <gtest/gtest.h>

namespace edgebench {
namespace {

Status FailsWith(ErrorCode code) { return Error{code, "boom"}; }

Status Propagates() {
  EB_RETURN_IF_ERROR(FailsWith(ErrorCode::kBadModel));
  return Internal("not reached");
}

TEST(Status, OkAndError) {
  EXPECT_TRUE(OkStatus().ok());
  Status status = NotFound("x.onnx: no such file");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(status.error().message, "x.onnx: no such file");
}

TEST(Status, ReturnIfErrorPropagatesTheFirstError) {
  Status status = Propagates();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kBadModel);
}

TEST(Expected, HoldsValueOrError) {
  Expected<int> value = 7;
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, 7);
  Expected<int> error = InvalidArgument("bad");
  ASSERT_FALSE(error.ok());
  EXPECT_EQ(error.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(error.status().ok());
}

TEST(Status, CodeNamesAreStable) {
  EXPECT_EQ(ErrorCodeName(ErrorCode::kBadModel), "bad_model");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kRuntimeError), "runtime_error");
}

}  // namespace
}  // namespace edgebench
