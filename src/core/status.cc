#include "edgebench/status.h"

namespace edgebench {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kBadModel: return "bad_model";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kRuntimeError: return "runtime_error";
    case ErrorCode::kInternal: return "internal";
  }
  return "internal";
}

}  // namespace edgebench
