// One error convention for the whole project: a failing call returns an Error (code + message)
// inside Status or Expected<T>. Exceptions from runtimes are caught at the backend edge and
// converted here; nothing above a backend throws.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace edgebench {

enum class ErrorCode {
  kInvalidArgument,  // bad flag, option, shape or request (user's fault)
  kNotFound,         // a file, runtime or resource that does not exist
  kBadModel,         // the model file is unreadable, truncated, corrupt or of the wrong format
  kUnsupported,      // valid request the runtime or build cannot do
  kRuntimeError,     // the inference runtime failed while running a valid model
  kInternal,         // a bug in edgebench
};

std::string_view ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string message;  // one line, names the object at fault ("model.onnx: truncated protobuf")
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(Error error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return !error_.has_value(); }
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

inline Status OkStatus() { return {}; }

template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : value_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Expected(Error error) : value_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(value_); }
  const T& value() const& { return std::get<T>(value_); }
  T& value() & { return std::get<T>(value_); }
  T&& value() && { return std::get<T>(std::move(value_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }
  const Error& error() const { return std::get<Error>(value_); }
  Status status() const { return ok() ? Status() : Status(error()); }

 private:
  std::variant<T, Error> value_;
};

inline Error InvalidArgument(std::string message) {
  return {ErrorCode::kInvalidArgument, std::move(message)};
}
inline Error NotFound(std::string message) { return {ErrorCode::kNotFound, std::move(message)}; }
inline Error BadModel(std::string message) { return {ErrorCode::kBadModel, std::move(message)}; }
inline Error Unsupported(std::string message) {
  return {ErrorCode::kUnsupported, std::move(message)};
}
inline Error RuntimeError(std::string message) {
  return {ErrorCode::kRuntimeError, std::move(message)};
}
inline Error Internal(std::string message) { return {ErrorCode::kInternal, std::move(message)}; }

}  // namespace edgebench

// Returns early from the enclosing function if `expr` (a Status) failed.
#define EB_RETURN_IF_ERROR(expr)                  \
  do {                                            \
    ::edgebench::Status eb_status_ = (expr);      \
    if (!eb_status_.ok()) return eb_status_.error(); \
  } while (0)
