// Request validation: arbitrary bytes as the body of a server request, through the server's body
// parser (ParseObject) and the field checks the task, job and agent handlers apply
// (src/server/validation.cc).
#include <cstddef>
#include <cstdint>

#include "http.h"
#include "validation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace edgebench::server;
  httplib::Request request;
  request.body.assign(reinterpret_cast<const char*>(data), size);
  auto body = ParseObject(request, 1 << 20, {});
  if (!body.ok()) return 0;
  (void)OptionalName(*body, "runtime");
  (void)OptionalName(*body, "device");
  for (const char* field : {"selector", "labels"}) {
    if (body->contains(field)) (void)CheckLabels((*body)[field], field);
  }
  (void)ParseSettings(*body);
  return 0;
}
